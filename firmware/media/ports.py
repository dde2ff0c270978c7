"""RTP/RTCP port pairs from ``start_media_port``..``end_media_port``.

Why: RFC 3550 §11 puts RTP on an even port and RTCP on the next odd one;
the Cisco config bounds the range (defaults 16384..32766). The allocator is
sans-IO: the shell asks for a pair, tries to bind it, and reports a busy
port with ``mark_busy`` so the next ``allocate`` skips it. Allocation walks
the range round-robin so a just-released pair is not reused at once (late
packets of the old call would land in the new one).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

DEFAULT_START = 16384
DEFAULT_END = 32766


class PortRangeError(ValueError):
    pass


class PortAllocator:
    def __init__(self, start: int = DEFAULT_START, end: int = DEFAULT_END) -> None:
        start += start % 2  # RTP on even ports
        if not (1024 <= start < end <= 65535) or end - start < 1:
            raise PortRangeError(f"bad media port range {start}..{end}")
        self.start = start
        self.end = end
        self._next = start
        self._in_use: set[int] = set()
        self._busy: set[int] = set()

    @property
    def capacity(self) -> int:
        return (self.end - self.start + 1) // 2

    def allocate(self) -> int | None:
        """An even RTP port whose pair (port, port+1) is free, or None when exhausted."""
        for _ in range(self.capacity):
            port = self._next
            self._next += 2
            if self._next + 1 > self.end:
                self._next = self.start
            if port in self._in_use or port in self._busy:
                continue
            self._in_use.add(port)
            return port
        log.warning("no free RTP port pair in %d..%d", self.start, self.end)
        return None

    def release(self, port: int) -> None:
        self._in_use.discard(port)

    def mark_busy(self, port: int) -> None:
        """The OS refused to bind ``port`` or ``port+1``: skip it from now on."""
        self._in_use.discard(port)
        self._busy.add(port)

    @property
    def in_use(self) -> frozenset[int]:
        return frozenset(self._in_use)
