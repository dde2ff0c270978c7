"""asyncio shell for media: RTP/RTCP sockets driving a MediaStream, and the
audio device driving a MediaEngine.

Why a thin shell: all decisions live in the sans-IO ``MediaStream`` and
``MediaEngine``. This module only binds an even/odd UDP port pair from the
configured range (RFC 3550 §11), feeds datagrams in with ``loop.time()``,
flushes ``datagrams_to_send()``, and keeps exactly one ``call_at`` armed per
core at its ``get_timer()`` deadline. A sound card with a clock wakes the
loop through its ALSA poll descriptors (``add_reader``), no thread.

One wake-up per period (``poll_rx``): a call's CPU is mostly the cost of
waking the loop, and a socket reader wakes it a second time every 20 ms for
the incoming packet. With ``poll_rx`` the RTP socket is not watched at all:
the AudioPump drains it (``drain``) at the start of each audio period, just
before the earpiece pulls from the jitter buffer, so a packet that arrived
at any point of the period is played exactly when it would have been had it
been read at once. Its arrival time (which the RFC 3550 jitter estimate
needs) comes from the kernel's receive timestamp (SO_TIMESTAMPNS), not from
the time it was read.
"""

from __future__ import annotations

import asyncio
import logging
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from firmware.media.grid import EARLY_S

if TYPE_CHECKING:  # the stream and engine (numpy, codecs) load with the first call
    from firmware.media.engine import MediaEngine
    from firmware.media.ports import PortAllocator
    from firmware.media.stream import MediaEvent, MediaStream

# asyncio wakes 0..1 ms after a deadline (epoll's millisecond timeout is
# rounded up); arming half of that early centres sends on the 20 ms grid.
ARM_EARLY = EARLY_S / 2
# When an AudioPump drives the stream (``tick`` right after each captured
# period), the stream's own timer is armed a hair after the pump's for the
# same instant: asyncio runs due timers in deadline order, so a tick never
# goes out before the period it carries was captured (that would add a
# standing 20 ms of capture-to-wire delay). Deadlines that fall between audio
# periods (a ptime other than the period) are still sent on time.
AUDIO_AFTER = 1e-6

log = logging.getLogger(__name__)

# Linux's receive timestamp as a struct timespec in ancillary data (the values are
# the same on x86_64, arm and aarch64; Python's socket module does not name them)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@ll")
_ANC_SIZE = socket.CMSG_SPACE(_TIMESPEC.size)
MAX_DRAIN = 64  # datagrams read per period at most: a flood cannot hold the loop
RECV_SIZE = 2048


def timestamped_socket(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to ``host:port`` asking the kernel for receive
    timestamps (SO_TIMESTAMPNS), for ``drain_stamped``. Raises OSError if it cannot bind."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:  # no kernel timestamps: arrival is taken as the read time
        pass
    return sock


def readiness(sock: socket.socket) -> Callable[[int], list[tuple[int, int]]]:
    """``poll(0)`` of ``sock`` alone, for ``drain_stamped``'s ``more``: true while a
    datagram waits."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return poller.poll


def drain_stamped(sock: socket.socket, now: float,
                  receive: Callable[[bytes, tuple[str, int], float], None],
                  limit: int = MAX_DRAIN,
                  more: Callable[[int], list[tuple[int, int]]] | None = None) -> int:
    """Hand ``receive(data, addr, arrived)`` every datagram waiting on ``sock`` (at most
    ``limit``: a flood cannot hold the loop); returns how many.

    ``arrived`` is on the clock of ``now`` (the loop's), from the kernel's receive
    timestamp when there is one, clamped to the last second (a stale stamp cannot
    reach far into the past): RFC 3550's jitter estimate needs when a packet
    arrived, not when it was read.

    ``more`` (``readiness(sock)``) is asked after each datagram whether another waits:
    a call's period usually finds exactly one, and the read that would end the loop
    with EAGAIN costs a raised ``BlockingIOError`` (its message formatted through the
    C library's locale machinery) every period; a ``poll`` answers the same in a
    third of the time and touches far less code right after the loop woke.
    """
    wall = time.time()
    got = 0
    for i in range(limit):
        if i and more is not None and not more(0):
            break
        try:
            data, anc, _flags, addr = sock.recvmsg(RECV_SIZE, _ANC_SIZE)
        except (BlockingIOError, InterruptedError):
            break
        except OSError as exc:  # ICMP port unreachable reported on a later read
            log.debug("RTP socket error: %s", exc)
            continue
        at = now
        if anc:
            level, kind, raw = anc[0]
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= _TIMESPEC.size:
                sec, nsec = _TIMESPEC.unpack_from(raw)
                at = max(now - 1.0, min(now, now - (wall - (sec + nsec * 1e-9))))
        receive(data, (addr[0], addr[1]), at)
        got += 1
    return got


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, sink: Callable[[bytes, Any], None]) -> None:
        self.sink = sink
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.sink(data, addr)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.
        log.debug("RTP socket error: %s", exc)


class RtpEndpoint:
    """One call's media on the loop: sockets, the stream's timer, events upward."""

    def __init__(self, stream: MediaStream, *, loop: asyncio.AbstractEventLoop | None = None,
                 on_event: Callable[[MediaEvent], None] | None = None,
                 audio_driven: bool = False,
                 audio_next: Callable[[], float | None] | None = None,
                 poll_rx: bool = False) -> None:
        self.stream = stream
        # read RTP in ``drain()`` (called by the AudioPump each period) instead of
        # on readability: one loop wake-up per period instead of two
        self.poll_rx = poll_rx
        self._rtp_sock: socket.socket | None = None
        self._rtp_more: Callable[[int], list[tuple[int, int]]] | None = None
        self.audio_driven = audio_driven or audio_next is not None
        # the pump's next period (``engine.get_timer``): a stream deadline that falls on
        # it needs no timer of its own, the pump's tick() sends it (one wake-up, not two)
        self.audio_next = audio_next
        self.loop = loop or asyncio.get_running_loop()
        self.on_event = on_event
        self.port: int | None = None
        self._rtp: asyncio.DatagramTransport | None = None
        self._rtcp: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when: float | None = None
        self._allocator: PortAllocator | None = None
        self.send_errors = 0

    async def open(self, host: str, allocator: PortAllocator) -> int:
        """Bind an RTP/RTCP pair on ``host``; returns the RTP port. Raises OSError if none."""
        self._allocator = allocator
        for _ in range(allocator.capacity):
            port = allocator.allocate()
            if port is None:
                break
            try:
                if self.poll_rx:
                    self._rtp_sock = self._bind_polled(host, port)
                else:
                    self._rtp = await self._bind(host, port, self._on_rtp)
                try:
                    self._rtcp = await self._bind(host, port + 1, self._on_rtcp)
                except OSError:
                    self._close_rtp()
                    raise
            except OSError:
                allocator.mark_busy(port)
                continue
            self.port = port
            return port
        raise OSError("no free RTP port pair")

    async def _bind(self, host: str, port: int, sink: Callable[[bytes, Any], None]) -> Any:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        transport, _ = await self.loop.create_datagram_endpoint(lambda: _Proto(sink), sock=sock)
        return transport

    def _bind_polled(self, host: str, port: int) -> socket.socket:
        sock = timestamped_socket(host, port)
        self._rtp_more = readiness(sock)
        return sock

    def _close_rtp(self) -> None:
        if self._rtp is not None:
            self._rtp.close()
            self._rtp = None
        if self._rtp_sock is not None:
            self._rtp_sock.close()
            self._rtp_sock = None
            self._rtp_more = None

    def drain(self) -> None:
        """Read every RTP datagram waiting on the socket (``poll_rx``), each with the
        loop time it arrived at. Called at the start of an audio period; what the
        packets produced (a DTMF event, say) is flushed by the ``tick`` that always
        follows in the same wake-up (``_fire``, ``AudioPump``), not here as well."""
        sock = self._rtp_sock
        if sock is None:
            return
        drain_stamped(sock, self.loop.time(), self.stream.receive_rtp, more=self._rtp_more)

    def _on_rtp(self, data: bytes, addr: Any) -> None:
        self.stream.receive_rtp(data, (addr[0], addr[1]), self.loop.time())
        self.kick()

    def _on_rtcp(self, data: bytes, addr: Any) -> None:
        self.stream.receive_rtcp(data, (addr[0], addr[1]), self.loop.time())
        self.kick()

    def kick(self) -> None:
        """Flush output, deliver events, re-arm the one timer (after every input)."""
        self._flush()
        self._rearm()

    def _flush(self) -> None:
        for d in self.stream.datagrams_to_send():
            try:
                if d.rtcp or self._rtp_sock is None:
                    transport = self._rtcp if d.rtcp else self._rtp
                    if transport is not None:
                        transport.sendto(d.data, d.addr)
                else:
                    self._rtp_sock.sendto(d.data, d.addr)
            except OSError as exc:  # full socket buffer, unreachable: the packet is lost
                self.send_errors += 1
                log.debug("RTP send failed: %s", exc)
        while (ev := self.stream.next_event()) is not None:
            if self.on_event is not None:
                self.on_event(ev)

    def _rearm(self) -> None:
        when = self.stream.get_timer()
        if when is not None and self.audio_next is not None:
            nxt = self.audio_next()
            if nxt is not None and abs(nxt - when) < 1e-4:
                when = None  # the audio period at that instant ticks us
        if when == self._timer_when and self._timer is not None:
            return  # already armed for that deadline: no churn 100 times a second
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_when = when
        if when is not None:
            at = when - ARM_EARLY + (AUDIO_AFTER if self.audio_driven else 0.0)
            self._timer = self.loop.call_at(at, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_when = None
        if self.poll_rx:
            self.drain()
        self.tick()

    def tick(self) -> None:
        """Send whatever is due now; the AudioPump calls it right after each audio period
        so a fresh capture goes out in the same wake-up (no extra loop iteration)."""
        self.stream.handle_timer(self.loop.time())
        self.kick()

    def close(self) -> None:
        self.stream.stop(self.loop.time())
        self.kick()
        if self._timer is not None:
            self._timer.cancel()
        self._close_rtp()
        if self._rtcp is not None:
            self._rtcp.close()
        if self._allocator is not None and self.port is not None:
            self._allocator.release(self.port)
        self._rtcp = None


class AudioPump:
    """Paces a MediaEngine: by the sound card's poll descriptors, else by the loop clock."""

    def __init__(self, engine: MediaEngine, *, loop: asyncio.AbstractEventLoop | None = None,
                 after_period: Callable[[], None] | None = None,
                 before_period: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.loop = loop or asyncio.get_running_loop()
        self.after_period = after_period
        # e.g. ``RtpEndpoint.drain``: incoming audio reaches the jitter buffer just
        # before the period pulls from it, in the same wake-up
        self.before_period = before_period
        self._timer: asyncio.TimerHandle | None = None
        self._fds: list[int] = []

    def start(self) -> bool:
        ok = self.engine.start(self.loop.time())
        if ok and self.engine.audio.has_clock:
            for fd, _mask in self.engine.audio.poll_descriptors():
                self.loop.add_reader(fd, self._ready)
                self._fds.append(fd)
        self._arm()
        return ok

    def _ready(self) -> None:
        if self.before_period is not None:
            self.before_period()
        self.engine.on_period(self.loop.time())
        if self.after_period is not None:
            self.after_period()

    def _arm(self) -> None:
        when = self.engine.get_timer()
        if when is not None:
            self._timer = self.loop.call_at(when - ARM_EARLY, self._fire)

    def _fire(self) -> None:
        if self.before_period is not None:
            self.before_period()
        self.engine.handle_timer(self.loop.time())
        if self.after_period is not None:
            self.after_period()
        self._arm()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for fd in self._fds:
            self.loop.remove_reader(fd)
        self._fds.clear()
        self.engine.stop()
