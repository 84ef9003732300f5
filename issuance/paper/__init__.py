"""Paper conversion (换开纸质票据) and paper stock (纸质票据库存).

A unit records the paper receipt forms its bureau handed down (ranges of paper
numbers), prints an e-receipt onto one of them, voids a misprinted or recovered
copy, and accounts for every number: printed, voided or on hand.
"""
