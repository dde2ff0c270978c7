"""Asyncio shell around the sans-IO TFTP client (``tftp_proto.TftpRead``).

Thin on purpose: one UDP endpoint per file, datagrams in -> core, core's
datagrams out -> socket, one ``loop.call_at`` for the core's deadline. All
protocol decisions live in ``tftp_proto.py`` where tests drive them without a
network.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import cast

from firmware.provisioning.tftp_proto import (
    Address,
    FailureKind,
    TftpDone,
    TftpFailed,
    TftpRead,
)

log = logging.getLogger(__name__)


class TftpError(Exception):
    """A fetch failed; ``kind`` tells a missing file from an unreachable server."""

    def __init__(self, failure: TftpFailed) -> None:
        self.kind = failure.kind
        self.filename = failure.filename
        self.error_code = failure.error_code
        super().__init__(f"TFTP {failure.filename}: {failure.message}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TftpSettings:
    """How hard to try. ``timeout`` is also sent as the RFC 2349 option."""

    blksize: int | None = 1428
    request_tsize: bool = True
    timeout: float = 1.0
    retries: int = 5
    max_size: int = 1 << 20


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, core: TftpRead, loop: asyncio.AbstractEventLoop) -> None:
        self.core = core
        self.loop = loop
        self.done: asyncio.Future[TftpDone] = loop.create_future()
        self.transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self._pump()

    def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[override]
        self.core.receive_datagram(data, (addr[0], addr[1]), self.loop.time())
        self._pump()

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable etc.: the retransmission timer decides.
        log.debug("TFTP socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()

    def _fire(self) -> None:
        self._timer = None
        self.core.handle_timer(self.loop.time())
        self._pump()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _pump(self) -> None:
        if self.transport is None:
            return
        for pkt, dest in self.core.datagrams_to_send():
            self.transport.sendto(pkt, dest)
        while (ev := self.core.next_event()) is not None:
            if not self.done.done():
                if isinstance(ev, TftpDone):
                    self.done.set_result(ev)
                else:
                    self.done.set_exception(TftpError(ev))
        self._cancel_timer()
        deadline = self.core.get_timer()
        if deadline is not None and not self.done.done():
            self._timer = self.loop.call_at(deadline, self._fire)


async def tftp_get(
    server: Address, filename: str, settings: TftpSettings | None = None
) -> TftpDone:
    """Fetch one file; raises ``TftpError`` (kind TIMEOUT, NOT_FOUND, TOO_LARGE...)."""
    s = settings or TftpSettings()
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(server[0], server[1], family=0, type=socket.SOCK_DGRAM)
        family, _, _, _, sockaddr = infos[0]
        server = (str(sockaddr[0]), int(sockaddr[1]))
    except OSError as exc:
        raise TftpError(TftpFailed(filename=filename, kind=FailureKind.TIMEOUT,
                                   message=f"cannot resolve {server[0]}: {exc}")) from None
    core = TftpRead(filename=filename, server=server, now=loop.time(), blksize=s.blksize,
                    request_tsize=s.request_tsize, timeout=s.timeout, retries=s.retries,
                    max_size=s.max_size)
    local = "::" if family == socket.AF_INET6 else "0.0.0.0"
    if server[0] in ("127.0.0.1", "::1"):
        local = server[0]
    transport, proto = await loop.create_datagram_endpoint(
        lambda: _Protocol(core, loop), local_addr=(local, 0), family=family)
    try:
        result = await proto.done
    finally:
        # Flush any last ACK/ERROR before closing.
        for pkt, dest in core.datagrams_to_send():
            transport.sendto(pkt, dest)
        transport.close()
    log.info("TFTP %s from %s:%d: %d bytes, options %s", filename, server[0], server[1],
             len(result.data), result.options or "none")
    return result
