"""RTP port pairs for calls (``start_media_port``..``end_media_port``, RFC 3550 §11).

Why in call control: the SDP offer/answer must name the port before the
shell opens the socket; RTP takes the even port, RTCP the odd one above it.
Ports are handed out round-robin so a just-closed port is not reused at once
(late packets of the old call would land in the new one).

Another program on the handset may hold a port of the range. So the shell can
give the pool a ``reserve`` check (it binds the pair there and then, and keeps
it for the call) and an ``unreserve``: a pair that cannot be reserved is passed
over for the next, and the SDP never names a port the phone cannot receive on.
"""

from __future__ import annotations

from collections.abc import Callable

#: ``reserve(port) -> bool``: the shell bound ``port`` and ``port + 1`` for this call
Reserve = Callable[[int], bool]
#: ``unreserve(port)``: the call is over; the shell lets a pair it reserved go
Unreserve = Callable[[int], None]


class PortPool:
    """Even ports in ``[start, end)``; ``allocate`` raises RuntimeError when none is free."""

    def __init__(self, start: int, end: int, reserve: Reserve | None = None,
                 unreserve: Unreserve | None = None) -> None:
        first = start + (start % 2)
        self._ports = list(range(first, max(first, end - 1), 2)) or [first]
        self._in_use: set[int] = set()
        self._next = 0
        self._reserve = reserve
        self._unreserve = unreserve
        #: pairs passed over because the shell could not reserve them (another program)
        self.busy_skipped = 0

    def allocate(self) -> int:
        for _ in range(len(self._ports)):
            port = self._ports[self._next]
            self._next = (self._next + 1) % len(self._ports)
            if port in self._in_use:
                continue
            if self._reserve is not None and not self._reserve(port):
                self.busy_skipped += 1
                continue
            self._in_use.add(port)
            return port
        raise RuntimeError("no free RTP port in the configured media range")

    def release(self, port: int) -> None:
        if port in self._in_use:
            self._in_use.discard(port)
            if self._unreserve is not None:
                self._unreserve(port)
