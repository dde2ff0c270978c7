"""Bounded recorders for the admin page: the SIP messages of the last hours, the log tail.

Why kept in memory and bounded: a trace is most useful for the problem that
just happened, and a phone on an SD card should not write every message to
disk. The trace keeps at most ``max_messages`` messages and ``max_bytes``
bytes (oldest dropped first); the log ring keeps the last formatted lines of
the firmware's own log, which never contains a SIP password.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from firmware.surface import WirePacket

Address = tuple[str, int]
WireTap = Callable[[str, bytes, Address, str, float], None]
#: What the trace keeps per message: (wall, src, dst, transport, data). A plain tuple,
#: made a ``WirePacket`` when the admin page asks: the first REGISTER is recorded
#: before anything has loaded the control API's types (``firmware.surface``).
_Kept = tuple[float, Address, Address, str, bytes]


class SipTrace:
    """Every SIP message the phone sent or received, with wall-clock time."""

    def __init__(self, *, max_messages: int = 5000, max_bytes: int = 8 * 1024 * 1024,
                 wall: Callable[[], float] = time.time) -> None:
        self._packets: deque[_Kept] = deque()
        self._bytes = 0
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._wall = wall
        self.dropped = 0

    def record(self, direction: str, data: bytes, peer: Address, transport: str,
               local: Address) -> None:
        src, dst = (local, peer) if direction == "out" else (peer, local)
        kept = (self._wall(), (str(src[0]), int(src[1])), (str(dst[0]), int(dst[1])), transport,
                bytes(data))
        self._packets.append(kept)
        self._bytes += len(kept[4])
        while self._packets and (len(self._packets) > self.max_messages
                                 or self._bytes > self.max_bytes):
            self._bytes -= len(self._packets.popleft()[4])
            self.dropped += 1

    def tap(self, local: Callable[[], Address], chain: WireTap | None = None) -> WireTap:
        """An ``App`` wire tap recording here, then calling ``chain`` (another tap) if given."""

        def on_wire(direction: str, data: bytes, peer: Address, transport: str, at: float) -> None:
            self.record(direction, data, peer, transport, local())
            if chain is not None:
                chain(direction, data, peer, transport, at)

        return on_wire

    def since(self, wall: float) -> list[WirePacket]:
        from firmware.surface import WirePacket

        return [WirePacket(wall=w, src=src, dst=dst, transport=transport, data=data)
                for w, src, dst, transport, data in self._packets if w >= wall]

    def __len__(self) -> int:
        return len(self._packets)


class LogRing(logging.Handler):
    """The last ``capacity`` log lines, formatted as the console shows them."""

    def __init__(self, capacity: int = 1000) -> None:
        super().__init__(level=logging.INFO)
        self.lines: deque[str] = deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a bad log call must not break the caller
            self.handleError(record)

    def tail(self, n: int) -> list[str]:
        return list(self.lines)[-n:]


_ring: LogRing | None = None


def log_ring() -> LogRing:
    """The process's one log ring, attached to the root logger on first use."""
    global _ring
    if _ring is None:
        _ring = LogRing()
        logging.getLogger().addHandler(_ring)
    return _ring


def describe(value: Any) -> str:
    """A config value as one line of text (tuples and None as a person reads them)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple | list):
        return ", ".join(describe(v) for v in value)
    return str(value)
