"""RTP port pairs for calls (``start_media_port``..``end_media_port``, RFC 3550 §11).

Why in call control: the SDP offer/answer must name the port before the
shell opens the socket; RTP takes the even port, RTCP the odd one above it.
Ports are handed out round-robin so a just-closed port is not reused at once
(late packets of the old call would land in the new one).
"""

from __future__ import annotations


class PortPool:
    """Even ports in ``[start, end)``; ``allocate`` raises RuntimeError when all are in use."""

    def __init__(self, start: int, end: int) -> None:
        first = start + (start % 2)
        self._ports = list(range(first, max(first, end - 1), 2)) or [first]
        self._in_use: set[int] = set()
        self._next = 0

    def allocate(self) -> int:
        for _ in range(len(self._ports)):
            port = self._ports[self._next]
            self._next = (self._next + 1) % len(self._ports)
            if port not in self._in_use:
                self._in_use.add(port)
                return port
        raise RuntimeError("no free RTP port in the configured media range")

    def release(self, port: int) -> None:
        self._in_use.discard(port)
