"""Message framing on datagrams and streams (RFC 3261 §7.5, §18.3; RFC 5626 §3.5.1 keep-alives).

Why a framer separate from the parser: on TCP the only way to find where a
message ends is its Content-Length (mandatory on streams, §18.3), and bytes
arrive in arbitrary pieces. ``StreamFramer`` accumulates them and hands out
whole messages as bytes, which then go through ``parse_message(...,
stream=True)`` like any datagram. A framing error (no or bad Content-Length,
a header section or body beyond the limits) cannot be recovered from on a
stream: the framer records it in ``error`` and stops; the transport answers
if it can (``error.partial``) and closes the connection (RFC 4475 §3.1.2.3,
§3.3.9).

Datagrams need no framer: ``parse_message`` ignores octets beyond
Content-Length. ``is_keepalive`` recognises the CRLF keep-alives that are
not messages at all.
"""

from __future__ import annotations

import logging
import re

from firmware.sip.errors import DEFAULT_LIMITS, ParseLimits, SipParseError
from firmware.sip.message import parse_head

__all__ = ["StreamFramer", "is_keepalive"]

log = logging.getLogger(__name__)

_CONTENT_LENGTH = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)
_FOLD = re.compile(rb"\r\n[ \t]+")
_DIGITS = re.compile(rb"[0-9]{1,10}")


def is_keepalive(data: bytes) -> bool:
    """True for an empty datagram or one made only of CRLFs (a ping, not a message)."""
    return not data.strip(b"\r\n")


class StreamFramer:
    """Cuts a byte stream into whole SIP messages by Content-Length.

    ``feed(data)`` returns the complete messages now available (possibly
    none). CRLFs between messages are skipped; each CRLFCRLF counts as one
    RFC 5626 ping in ``pings`` (the transport may answer a CRLF pong). After
    an error ``error`` is set, ``feed`` returns nothing more, and the
    connection should be closed.
    """

    def __init__(self, limits: ParseLimits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._buf = bytearray()
        self._scan = 0
        self._crlfs = 0
        self.pings = 0
        self.error: SipParseError | None = None

    @property
    def buffered(self) -> int:
        """Octets held waiting for the rest of a message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        if self.error is not None:
            return []
        self._buf += data
        out: list[bytes] = []
        try:
            while self._next(out):
                pass
        except SipParseError as exc:
            self.error = exc
            self._buf.clear()
            log.debug("stream framing error: %s", exc.reason)
        return out

    def _skip_crlfs(self) -> None:
        buf = self._buf
        skip = 0
        while buf.startswith(b"\r\n", skip):
            skip += 2
            self._crlfs += 1
            if self._crlfs == 2:
                self.pings += 1
                self._crlfs = 0
        if skip:
            del buf[:skip]
            self._scan = 0
        if buf and buf != b"\r":
            self._crlfs = 0

    def _next(self, out: list[bytes]) -> bool:
        self._skip_crlfs()
        buf = self._buf
        if not buf or buf == b"\r":
            return False
        end = buf.find(b"\r\n\r\n", self._scan)
        if end < 0:
            if len(buf) > self._limits.max_message_size:
                raise SipParseError("header section too large", 513)
            self._scan = max(0, len(buf) - 3)
            return False
        head = bytes(buf[:end])
        length = self._content_length(head)
        total = end + 4 + length
        if total > self._limits.max_message_size:
            raise SipParseError("message too large", 413, partial=self._partial(head))
        if len(buf) < total:
            self._scan = end
            return False
        out.append(bytes(buf[:total]))
        del buf[:total]
        self._scan = 0
        return True

    def _content_length(self, head: bytes) -> int:
        if b"\r\n " in head or b"\r\n\t" in head:
            head = _FOLD.sub(b" ", head)
        values = {m.group(1).strip(b" \t") for m in _CONTENT_LENGTH.finditer(head)}
        if not values:
            raise SipParseError("missing Content-Length on a stream", partial=self._partial(head))
        if len(values) > 1:
            raise SipParseError("conflicting Content-Length values", partial=self._partial(head))
        (value,) = values
        if not _DIGITS.fullmatch(value):
            raise SipParseError("bad Content-Length", partial=self._partial(head))
        return int(value)

    def _partial(self, head: bytes) -> object:
        """The request or response whose framing failed, for a 400 before closing."""
        try:
            return parse_head(head.decode("utf-8", "surrogateescape"), self._limits)
        except SipParseError as exc:
            return exc.partial
