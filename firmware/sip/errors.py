"""Errors and limits of the SIP message layer (RFC 3261 §7, §18.3, §21.4.11/§21.5.13).

Why one exception type: the shell must never let bad input escape its loop,
so everything the parser, the typed header accessors and the framers can
object to is a ``SipParseError``. It carries the status a server would answer
with (``status_hint``: 400 for bad syntax, 413/513 for things too large,
505 for a version we do not speak) so the layer above can answer without
re-deciding, and, when the start line and header section were readable, the
partially parsed message (``partial``) so a 400 can still be built from its
Via, From, To, Call-ID and CSeq.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SipParseError", "ParseLimits", "DEFAULT_LIMITS"]


class SipParseError(ValueError):
    """Input that is not an acceptable SIP message (or header value).

    ``reason`` is a short human phrase suitable for a Warning header or a log
    line; it never contains the offending input in full (bounded at 80 chars).
    """

    def __init__(self, reason: str, status_hint: int = 400, *, partial: Any = None) -> None:
        reason = reason if len(reason) <= 80 else reason[:77] + "..."
        super().__init__(reason)
        self.reason = reason
        self.status_hint = status_hint
        self.partial = partial

    def __repr__(self) -> str:
        return f"SipParseError({self.reason!r}, status_hint={self.status_hint})"


@dataclass(frozen=True, kw_only=True)
class ParseLimits:
    """Bounds on everything a sender controls.

    The defaults fit every RFC 4475 torture message (34 Via values, 600-octet
    lines) with room to spare, and keep one message's cost small: a UA never
    needs more. 64 KiB is the largest UDP datagram (RFC 3261 §18.1.1).
    """

    max_message_size: int = 65536
    max_headers: int = 256
    max_vias: int = 64
    max_header_line: int = 8192


DEFAULT_LIMITS = ParseLimits()
