"""Sans-IO SIP core (RFC 3261): messages, transactions, dialogs, digest auth.

No I/O, no asyncio, no clock reads: every entry point takes ``now``.
"""
