"""SIP and RTP/RTCP carried in memory between whole apps on one ``VirtualClock``.

Why: a call can then run many seconds of media (RTCP reports, timers, keys acting on
the wire) in milliseconds, with every datagram kept for the test to read. Tests that
build their phones differently subclass it and add their own ``phone()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from firmware.app.core import App
from hal.clock import VirtualClock

Address = tuple[str, int]

#: one hop on the in-memory wire
HOP = 0.001


class MemoryNet:
    """A datagram sent at t arrives at t + 1 ms; ``sent`` and ``rtp_sent`` keep them all."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.sip: dict[Address, App] = {}
        self.rtp: dict[Address, Callable[..., None]] = {}
        self.sent: list[tuple[float, Address, Address, bytes]] = []
        self.rtp_sent: list[tuple[Address, bytes]] = []

    def send_sip(self, src: Address) -> Any:
        def send(data: bytes, dest: Address, transport: str) -> None:
            self.sent.append((self.clock.time(), src, (dest[0], int(dest[1])), data))
            app = self.sip.get((dest[0], int(dest[1])))
            if app is not None:
                self.clock.call_later(HOP, lambda: app.receive_sip(data, src, transport))
        return send

    def media_io(self, host: str) -> Any:
        net = self

        class IO:
            def open(self, port: int, deliver: Callable[..., None]) -> bool:
                net.rtp[(host, port)] = lambda d, s: deliver(d, s, False)
                net.rtp[(host, port + 1)] = lambda d, s: deliver(d, s, True)
                return True

            def send(self, port: int, data: bytes, dest: Address, rtcp: bool) -> None:
                if not rtcp:
                    net.rtp_sent.append(((host, port), data))
                target = net.rtp.get((dest[0], int(dest[1])))
                src = (host, port + 1 if rtcp else port)
                if target is not None:
                    net.clock.call_later(HOP, lambda: target(data, src))

            def close(self, port: int) -> None:
                net.rtp.pop((host, port), None)
                net.rtp.pop((host, port + 1), None)

        return IO()
