"""RTP/RTCP sockets for the app: the media edge of ``firmware.app.core.App``.

Why a module of its own: it is the only place the media path touches sockets,
and the choice it makes (poll RTP once per audio period, read RTCP on
readability) is what keeps a call's wake-ups at one per period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from firmware.net.rtp import drain_stamped, readiness, timestamped_socket

log = logging.getLogger(__name__)

Address = tuple[str, int]
MAX_RTP_DATAGRAM = 2048
#: ``deliver(data, source, rtcp, arrived=None)``: one datagram for the app
Deliver = Callable[..., None]


class UdpMediaIO:
    """RTP/RTCP socket pairs on ``host`` for ``App`` (``firmware.app.media_ports.MediaIO``).

    RTCP (a packet every few seconds) is read on readability. RTP is too, unless
    opened with ``poll``: then nothing watches the socket and the app ``drain``s it
    at the start of each audio period, so a call wakes the loop once per period
    instead of twice (see ``firmware.net.rtp``); each datagram carries the loop time
    it arrived at, from the kernel's receive timestamp.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str) -> None:
        self.loop = loop
        self.host = host
        self._socks: dict[int, tuple[socket.socket, socket.socket]] = {}
        #: where sockets are made: a context manager factory (a test's network namespace)
        self.bind_context: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
        #: pairs bound for a call whose media has not started yet (``reserve``)
        self._reserved: dict[int, tuple[socket.socket, socket.socket]] = {}
        self._polled: dict[int, Callable[[bytes, Address, float], None]] = {}
        self._more: dict[int, Callable[[int], list[tuple[int, int]]]] = {}
        self.send_errors = 0

    def reserve(self, port: int) -> bool:
        """Bind ``port`` and ``port + 1`` now, before call control puts the port in an
        SDP offer or answer; False when another program holds either (call control
        then tries the next pair). ``open`` takes the pair over."""
        if port in self._socks or port in self._reserved:
            return True
        pair = self._bind_pair(port)
        if pair is None:
            return False
        self._reserved[port] = pair
        return True

    def unreserve(self, port: int) -> None:
        """A reserved pair whose call ended (opened pairs are ``close``d by the app)."""
        for s in self._reserved.pop(port, ()):
            s.close()

    def _bind_pair(self, port: int) -> tuple[socket.socket, socket.socket] | None:
        pair: list[socket.socket] = []
        try:
            with self.bind_context():
                pair.append(timestamped_socket(self.host, port))  # stamps cost nothing unpolled
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                pair.append(s)
                s.setblocking(False)
                s.bind((self.host, port + 1))
        except OSError as exc:
            log.info("RTP: %s:%d/%d taken (%s)", self.host, port, port + 1, exc)
            for s in pair:
                s.close()
            return None
        return (pair[0], pair[1])

    def open(self, port: int, deliver: Deliver, poll: bool = False) -> bool:
        pair = self._reserved.pop(port, None) or self._bind_pair(port)
        if pair is None:
            log.error("RTP: cannot bind %s:%d/%d", self.host, port, port + 1)
            return False
        self._socks[port] = pair
        if poll:
            # drain_stamped's ``receive(data, addr, arrived)``, made once per call, not per period
            self._polled[port] = lambda data, addr, at: deliver(data, addr, False, at)
            self._more[port] = readiness(pair[0])
        else:
            self.loop.add_reader(pair[0].fileno(), self._readable, pair[0], False, deliver)
        self.loop.add_reader(pair[1].fileno(), self._readable, pair[1], True, deliver)
        return True

    def drain(self, port: int) -> int:
        """Deliver the RTP datagrams waiting on a ``poll`` port (bounded); how many."""
        receive = self._polled.get(port)
        pair = self._socks.get(port)
        if receive is None or pair is None:
            return 0
        return drain_stamped(pair[0], self.loop.time(), receive, more=self._more.get(port))

    @staticmethod
    def _readable(s: socket.socket, rtcp: bool, deliver: Deliver) -> None:
        for _ in range(64):  # bounded per wake-up
            try:
                data, addr = s.recvfrom(MAX_RTP_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # ICMP unreachable and friends
                log.debug("RTP recv: %s", exc)
                return
            deliver(data, (addr[0], addr[1]), rtcp)

    def send(self, port: int, data: bytes, dest: Address, rtcp: bool) -> None:
        pair = self._socks.get(port)
        if pair is None:
            return
        try:
            pair[1 if rtcp else 0].sendto(data, dest)
        except OSError as exc:
            self.send_errors += 1
            log.debug("RTP send to %s: %s", dest, exc)

    def close(self, port: int) -> None:
        pair = self._socks.pop(port, None)
        self._polled.pop(port, None)
        self._more.pop(port, None)
        if pair is None:
            return
        for s in pair:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(s.fileno())
            s.close()

    def close_all(self) -> None:
        for port in list(self._socks):
            self.close(port)
        for port in list(self._reserved):
            self.unreserve(port)
