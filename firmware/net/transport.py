"""SIP over UDP and TCP on asyncio (RFC 3261 §18, RFC 3581 §4).

Why this shape: the sans-IO core hands the shell finished messages with a
destination and a transport name; this module only moves bytes.  It

* listens on one UDP socket and one TCP server socket with the same port;
* reuses one TCP connection per destination (client side) and remembers
  accepted connections by their peer address, so a response addressed to the
  Via ``received``/``rport`` of a request that came over TCP goes back on the
  very connection it came on (§18.2.2); a response whose destination has no
  connection falls back to the connection its request arrived on (matched by
  the top Via branch) before a new connection is opened;
* applies §18.1.1: a request bound for UDP that is larger than 1300 bytes is
  sent over TCP with its top Via rewritten to TCP, and if the TCP connect
  fails it is sent over UDP as built;
* frames TCP streams by Content-Length with the message layer's
  ``StreamFramer``, and closes a connection whose stream cannot be framed
  (a byte stream cannot resynchronise), after answering the offending
  request (400/413/513) when its head was readable enough to route a response.

Nothing here raises into the event loop: socket errors, ICMP errors, refused
connects and bad streams are logged and counted in ``TransportStats``.
Everything a peer controls is bounded: message size (via the framer),
number of TCP connections (the idlest is evicted at the limit, and any
connection idle for ``idle_timeout`` is closed), bytes queued per pending
connect, remembered request branches.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from firmware.net.namecache import NameCache
from firmware.net.resolve import is_ip_literal
from firmware.net.wire import (
    MTU_SWITCH_THRESHOLD,
    is_request,
    set_top_via_transport,
    top_via_branch,
)
from firmware.sip.errors import ParseLimits, SipParseError
from firmware.sip.framing import StreamFramer
from firmware.sip.validate import answer_parse_error

__all__ = ["Address", "Receiver", "SipTransport", "TransportStats", "open_sip_transport"]

log = logging.getLogger(__name__)

Address = tuple[str, int]
#: Called with (message bytes, source address, "udp" | "tcp") for every message received.
Receiver = Callable[[bytes, Address, str], None]


class Framer(Protocol):
    """What the transport needs from a stream framer (``firmware.sip.framing.StreamFramer``).

    ``feed`` returns the whole messages now available; after a framing error
    it sets ``error`` (a ``SipParseError``) and returns nothing more.
    """

    error: SipParseError | None

    def feed(self, data: bytes) -> list[bytes]: ...


@dataclass
class TransportStats:
    """Counters for diagnostics and tests (never reset)."""

    udp_sent: int = 0
    udp_received: int = 0
    tcp_sent: int = 0
    tcp_received: int = 0
    send_errors: int = 0
    udp_socket_errors: int = 0
    receiver_errors: int = 0
    framing_errors: int = 0
    tcp_connects: int = 0
    tcp_connect_failures: int = 0
    tcp_accepted: int = 0
    tcp_evicted: int = 0
    tcp_idle_closed: int = 0
    switched_to_tcp: int = 0
    fell_back_to_udp: int = 0
    dropped_no_route: int = 0
    dropped_queue_full: int = 0
    dropped_unresolved: int = 0


def _default_framer(max_message: int) -> Framer:
    return StreamFramer(ParseLimits(max_message_size=max_message))


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[override]
        self.owner.stats.udp_received += 1
        self.owner._deliver(data, (addr[0], addr[1]), "udp")

    def error_received(self, exc: Exception) -> None:
        # sendto() failures (asyncio reports them here, not to the caller), and
        # ICMP errors on platforms that report them for unconnected sockets.
        self.owner.stats.udp_socket_errors += 1
        log.info("UDP error reported by the kernel: %s", exc)


class _Connection(asyncio.Protocol):
    """One TCP connection, accepted or opened by us; framed by Content-Length."""

    def __init__(self, owner: SipTransport, *, accepted: bool = False) -> None:
        self.owner = owner
        self.accepted = accepted
        self.transport: asyncio.Transport | None = None
        self.peer: Address | None = None
        self.framer = owner._framer_factory(owner.max_message)
        self.closed = False
        self.last_active = owner.loop.time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = (peer[0], peer[1]) if peer else None
        self.owner._connection_opened(self)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.last_active = self.owner.loop.time()
        try:
            messages = self.framer.feed(data)
        except Exception:  # noqa: BLE001 - a framer bug must not kill the loop
            self.owner.stats.framing_errors += 1
            log.exception("stream framer failed on data from %s", self.peer)
            self.abort()
            return
        for message in messages:
            self.owner.stats.tcp_received += 1
            if is_request(message):
                branch = top_via_branch(message)
                if branch:
                    self.owner._remember_branch(branch, self)
            assert self.peer is not None
            self.owner._deliver(message, self.peer, "tcp")
        if self.framer.error is not None:
            self._framing_failed(self.framer.error)

    def _framing_failed(self, error: SipParseError) -> None:
        """§18.3 / RFC 4475 §3.1.2.3: answer the request if it can be routed back, then close."""
        self.owner.stats.framing_errors += 1
        log.info("closing TCP connection from %s: %s", self.peer, error.reason)
        try:
            answer = answer_parse_error(error)
        except Exception:  # noqa: BLE001
            log.exception("building the answer to an unframeable request failed")
            answer = None
        if answer is not None and self.transport is not None:
            self.transport.write(bytes(answer))
            self.owner.stats.tcp_sent += 1
            self.closed = True
            self.transport.close()  # flushes the answer first
        else:
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.owner._connection_closed(self)

    def write(self, data: bytes) -> bool:
        if self.closed or self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        self.last_active = self.owner.loop.time()
        return True

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


@dataclass
class _Pending:
    data: bytes
    fallback_udp: bytes | None  # the original bytes when this is a §18.1.1 switch


class SipTransport:
    """UDP + TCP SIP transport on one local address; see the module docstring.

    Build with ``await open_sip_transport(host, port)``; set ``on_receive``
    (the driver does) before traffic is expected.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        on_receive: Receiver | None = None,
        udp: bool = True,
        tcp: bool = True,
        max_message: int = 65535,
        max_connections: int = 128,
        max_pending_bytes: int = 256 * 1024,
        max_branches: int = 4096,
        idle_timeout: float = 300.0,
        framer_factory: Callable[[int], Framer] = _default_framer,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.on_receive = on_receive
        self.enable_udp = udp
        self.enable_tcp = tcp
        self.max_message = max_message
        self.max_connections = max_connections
        self.max_pending_bytes = max_pending_bytes
        self.max_branches = max_branches
        self.idle_timeout = idle_timeout
        self._sweeper: asyncio.TimerHandle | None = None
        self._framer_factory = framer_factory
        self._loop = loop
        self.stats = TransportStats()
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.base_events.Server | None = None
        self._conns: dict[Address, _Connection] = {}
        self._all_conns: set[_Connection] = set()
        self._branches: OrderedDict[str, _Connection] = OrderedDict()
        self._pending: dict[Address, list[_Pending]] = {}
        self._connecting: dict[Address, asyncio.Task[None]] = {}
        self._closed = False
        self._names: NameCache | None = None

    # -- lifecycle ----------------------------------------------------------
    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop or asyncio.get_running_loop()

    @property
    def local_address(self) -> Address:
        return (self.host, self.port)

    async def start(self) -> None:
        """Bind UDP and TCP on (host, port); port 0 picks one free for both."""
        self._loop = self._loop or asyncio.get_running_loop()
        for _attempt in range(20):
            try:
                await self._bind()
                self._schedule_sweep()
                return
            except OSError:
                await self._unbind()
                if self.port_was_chosen:
                    self.port = 0
                    continue
                raise
        raise OSError(f"could not bind UDP and TCP on one port on {self.host}")

    async def _bind(self) -> None:
        self.port_was_chosen = self.port == 0
        if self.enable_udp:
            udp, _ = await self.loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, self.port)
            )
            self._udp = udp  # type: ignore[assignment]
            self.port = udp.get_extra_info("sockname")[1]
        if self.enable_tcp:
            self._server = await self.loop.create_server(
                lambda: _Connection(self, accepted=True), self.host, self.port, reuse_address=True
            )
            self.port = self._server.sockets[0].getsockname()[1]

    async def _unbind(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _schedule_sweep(self) -> None:
        if self.enable_tcp and self.idle_timeout > 0 and not self._closed:
            self._sweeper = self.loop.call_later(self.idle_timeout / 2, self._sweep)

    def _sweep(self) -> None:
        """Close connections idle for longer than ``idle_timeout`` (both directions)."""
        cutoff = self.loop.time() - self.idle_timeout
        for conn in [c for c in self._all_conns if c.last_active < cutoff]:
            self.stats.tcp_idle_closed += 1
            log.debug("closing idle TCP connection to %s", conn.peer)
            conn.abort()
            self._connection_closed(conn)
        self._schedule_sweep()

    async def close(self) -> None:
        """Stop listening, close every connection, cancel pending connects."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for task in list(self._connecting.values()):
            task.cancel()
        for conn in list(self._all_conns):
            conn.abort()
        if self._server is not None:
            self._server.close()
        await self._unbind()
        self._pending.clear()
        if self._names is not None:
            self._names.close()
        await asyncio.sleep(0)

    # -- receiving ----------------------------------------------------------
    def _deliver(self, data: bytes, source: Address, transport: str) -> None:
        if self.on_receive is None:
            return
        try:
            self.on_receive(data, source, transport)
        except Exception:  # noqa: BLE001 - a bug above must not kill the socket
            self.stats.receiver_errors += 1
            log.exception(
                "receiver failed on a %d-byte %s message from %s", len(data), transport, source
            )

    def _remember_branch(self, branch: str, conn: _Connection) -> None:
        self._branches[branch] = conn
        self._branches.move_to_end(branch)
        while len(self._branches) > self.max_branches:
            self._branches.popitem(last=False)

    def _connection_opened(self, conn: _Connection) -> None:
        self.stats.tcp_accepted += conn.accepted
        if len(self._all_conns) >= self.max_connections:
            # Evict the connection quiet for longest: a peer holding many idle
            # connections cannot lock out the ones in use.
            victim = min(self._all_conns, key=lambda c: c.last_active)
            self.stats.tcp_evicted += 1
            log.warning(
                "%d TCP connections open; closing the idlest, to %s",
                len(self._all_conns),
                victim.peer,
            )
            victim.abort()
            self._connection_closed(victim)
        self._all_conns.add(conn)
        if conn.peer is not None:
            self._conns.setdefault(conn.peer, conn)

    def _connection_closed(self, conn: _Connection) -> None:
        self._all_conns.discard(conn)
        for key in [k for k, c in self._conns.items() if c is conn]:
            del self._conns[key]

    @property
    def open_connections(self) -> int:
        return len(self._all_conns)

    # -- sending ------------------------------------------------------------
    def send(self, data: bytes, dest: Address, transport: str = "udp") -> None:
        """Queue ``data`` for ``dest`` over ``transport`` ("udp"/"tcp"); never raises."""
        try:
            kind = transport.lower()
            if kind == "tcp" and self.enable_tcp:
                self._send_tcp(data, dest, fallback_udp=None)
            elif kind == "udp" and self.enable_udp:
                if self.enable_tcp and len(data) > MTU_SWITCH_THRESHOLD and is_request(data):
                    self.stats.switched_to_tcp += 1
                    switched = set_top_via_transport(data, "TCP")
                    self._send_tcp(switched, dest, fallback_udp=data)
                else:
                    self._send_udp(data, dest)
            else:
                self.stats.dropped_no_route += 1
                log.warning("no %s transport enabled; dropped a message to %s", transport, dest)
        except Exception:  # noqa: BLE001 - the loop must survive anything
            self.stats.send_errors += 1
            log.exception("sending %d bytes to %s over %s failed", len(data), dest, transport)

    def _send_udp(self, data: bytes, dest: Address) -> None:
        if self._udp is None:
            self.stats.dropped_no_route += 1
            return
        if not is_ip_literal(dest[0]):
            self._send_udp_to_name(data, dest)
            return
        try:
            self._udp.sendto(data, dest)
            self.stats.udp_sent += 1
        except OSError as exc:
            self.stats.send_errors += 1
            log.info("UDP send to %s failed: %s", dest, exc)

    def _send_udp_to_name(self, data: bytes, dest: Address) -> None:
        """Resolve ``dest``'s host without blocking the loop, then send (cached per TTL)."""
        if self._names is None:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            self._names = NameCache(self.loop, family=family)

        def then(address: str | None) -> None:
            if address is None:
                self.stats.dropped_unresolved += 1
                return
            self._send_udp(data, (address, dest[1]))

        if not self._names.resolve(dest[0], then):
            self.stats.dropped_queue_full += 1
            log.warning("too many messages waiting for %s to resolve; dropped one", dest[0])

    def _send_tcp(self, data: bytes, dest: Address, *, fallback_udp: bytes | None) -> None:
        conn = self._conns.get(dest)
        if conn is None and not is_request(data):
            branch = top_via_branch(data)
            conn = self._branches.get(branch) if branch else None
        if conn is not None and conn.write(data):
            self.stats.tcp_sent += 1
            return
        if self._closed:
            return
        queue = self._pending.setdefault(dest, [])
        if sum(len(p.data) for p in queue) + len(data) > self.max_pending_bytes:
            self.stats.dropped_queue_full += 1
            log.warning("TCP queue to %s full; dropped a %d-byte message", dest, len(data))
            return
        queue.append(_Pending(data, fallback_udp))
        if dest not in self._connecting:
            self._connecting[dest] = self.loop.create_task(self._connect(dest))

    async def _connect(self, dest: Address) -> None:
        try:
            try:
                _, conn = await asyncio.wait_for(
                    self.loop.create_connection(lambda: _Connection(self), dest[0], dest[1]),
                    timeout=5.0,
                )
            except (OSError, TimeoutError) as exc:
                self.stats.tcp_connect_failures += 1
                log.info("TCP connect to %s failed: %s", dest, exc)
                self._fail_pending(dest)
                return
            except Exception:  # noqa: BLE001 - never leave the queue stranded
                self.stats.tcp_connect_failures += 1
                log.exception("TCP connect to %s failed unexpectedly", dest)
                self._fail_pending(dest)
                return
            self.stats.tcp_connects += 1
            if conn.closed:  # refused over the limit
                self._fail_pending(dest)
                return
            self._conns[dest] = conn
            for item in self._pending.pop(dest, []):
                if conn.write(item.data):
                    self.stats.tcp_sent += 1
                else:
                    self.stats.send_errors += 1
        finally:
            self._connecting.pop(dest, None)

    def _fail_pending(self, dest: Address) -> None:
        for item in self._pending.pop(dest, []):
            if item.fallback_udp is not None:
                self.stats.fell_back_to_udp += 1
                self._send_udp(item.fallback_udp, dest)
            else:
                self.stats.send_errors += 1


async def open_sip_transport(
    host: str = "127.0.0.1", port: int = 0, **kwargs: object
) -> SipTransport:
    """Create and bind a ``SipTransport`` (UDP and TCP on the same port)."""
    transport = SipTransport(host, port, **kwargs)  # type: ignore[arg-type]
    await transport.start()
    return transport
