"""Row ids as they arrive from URLs and clients: anything outside a positive 64-bit integer cannot exist."""

MAX_ID = 2**63 - 1


def valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID
