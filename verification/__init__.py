"""Public verification (查验) and the reimbursing parties' service interface.

The public query page and the verification API arrive with issue #5; the package is
part of the project layout from the start so that URLs and imports have their home.
"""
