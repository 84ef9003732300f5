"""The platform side of the national platform (全国财政电子票据平台): outbox, delivery, client.

See docs/national.md for the contract.
"""
