"""SIP over stream connections (RFC 3261 §18): one pool of TCP connections.

Why apart from ``transport.py``: the UDP side is a socket and a send call;
the stream side is a table of connections with its own rules, and the
transport only asks it to ``send`` or hands it accepted connections. The
pool

* reuses one connection per destination (client side) and remembers
  accepted connections by their peer address, so a response addressed to the
  Via ``received``/``rport`` of a request that came over TCP goes back on the
  very connection it came on (§18.2.2); a response whose destination has no
  connection falls back to the connection its request arrived on (matched by
  the top Via branch) before a new connection is opened;
* frames streams by Content-Length with the message layer's ``StreamFramer``
  and closes a connection whose stream cannot be framed (a byte stream cannot
  resynchronise), after answering the offending request (400/413/513) when
  its head was readable enough to route a response;
* bounds what a peer controls: number of connections (the idlest is evicted
  at the limit, and any connection idle for ``idle_timeout`` is closed),
  bytes queued per pending connect, remembered request branches;
* hands a §18.1.1 switched request back to UDP (``send_udp``) when the
  connect fails.

Nothing here raises into the event loop: errors are logged and counted in
the shared ``TransportStats``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from firmware.net.tls import describe_failure, open_tls_connection
from firmware.net.transport_stats import Address, TransportStats
from firmware.net.wire import is_request, top_via_branch
from firmware.sip.errors import ParseLimits, SipParseError
from firmware.sip.framing import StreamFramer
from firmware.sip.validate import answer_parse_error

__all__ = [
    "ConnectionPool", "Framer", "StreamConnection", "StreamLimits", "default_framer",
]

log = logging.getLogger(__name__)


class Framer(Protocol):
    """What a connection needs from a stream framer (``firmware.sip.framing.StreamFramer``).

    ``feed`` returns the whole messages now available; after a framing error
    it sets ``error`` (a ``SipParseError``) and returns nothing more.
    """

    error: SipParseError | None

    def feed(self, data: bytes) -> list[bytes]: ...


def default_framer(max_message: int) -> Framer:
    return StreamFramer(ParseLimits(max_message_size=max_message))


class StreamConnection(asyncio.Protocol):
    """One TCP connection, accepted or opened by us; framed by Content-Length."""

    def __init__(self, pool: ConnectionPool, *, accepted: bool = False, kind: str = "tcp") -> None:
        self.pool = pool
        self.accepted = accepted
        self.kind = kind  # "tcp" or "tls" (the transport name messages are delivered with)
        self.transport: asyncio.Transport | None = None
        self.peer: Address | None = None
        self.framer = pool.framer_factory(pool.limits.max_message)
        self.closed = False
        self.last_active = pool.loop().time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = (peer[0], peer[1]) if peer else None
        self.pool.opened(self)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        pool = self.pool
        self.last_active = pool.loop().time()
        pings = getattr(self.framer, "pings", 0)
        try:
            messages = self.framer.feed(data)
        except Exception:  # noqa: BLE001 - a framer bug must not kill the loop
            pool.stats.framing_errors += 1
            log.exception("stream framer failed on data from %s", self.peer)
            self.abort()
            return
        for message in messages:
            pool.stats.tcp_received += 1
            if is_request(message):
                branch = top_via_branch(message)
                if branch:
                    pool.remember_branch(branch, self)
            assert self.peer is not None
            pool.deliver(message, self.peer, self.kind)
        if self.framer.error is not None:
            self._framing_failed(self.framer.error)
        elif self.accepted and getattr(self.framer, "pings", 0) > pings:
            self.write(b"\r\n")  # RFC 5626 §4.4.1: a CRLFCRLF ping gets a CRLF pong
            pool.stats.pongs_sent += 1

    def _framing_failed(self, error: SipParseError) -> None:
        """§18.3 / RFC 4475 §3.1.2.3: answer the request if it can be routed back, then close."""
        self.pool.stats.framing_errors += 1
        log.info("closing TCP connection from %s: %s", self.peer, error.reason)
        try:
            answer = answer_parse_error(error)
        except Exception:  # noqa: BLE001
            log.exception("building the answer to an unframeable request failed")
            answer = None
        if answer is not None and self.transport is not None:
            self.transport.write(bytes(answer))
            self.pool.stats.tcp_sent += 1
            self.closed = True
            self.transport.close()  # flushes the answer first
        else:
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.kind == "tls" and isinstance(exc, ssl.SSLError) and self.peer is not None:
            # TLS 1.3: a proxy refusing our (missing) client certificate says so after
            # the handshake looked complete to us
            self.pool.tls_lost(self, exc)
        self.pool.forget(self)

    def write(self, data: bytes) -> bool:
        if self.closed or self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        self.last_active = self.pool.loop().time()
        return True

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


@dataclass
class _Pending:
    data: bytes
    fallback_udp: bytes | None  # the original bytes when this is a §18.1.1 switch


@dataclass(frozen=True)
class StreamLimits:
    """Bounds on what peers can make the pool hold (see ``SipTransport`` for defaults)."""

    max_message: int
    max_connections: int
    max_pending_bytes: int
    max_branches: int
    idle_timeout: float


class ConnectionPool:
    """The stream connections of one ``SipTransport``; see the module docstring.

    ``loop`` is a getter because the transport learns its loop only when it
    starts; ``deliver`` takes every framed message, ``send_udp`` the §18.1.1
    fallbacks.
    """

    def __init__(
        self,
        stats: TransportStats,
        limits: StreamLimits,
        *,
        loop: Callable[[], asyncio.AbstractEventLoop],
        deliver: Callable[[bytes, Address, str], None],
        send_udp: Callable[[bytes, Address], None],
        framer_factory: Callable[[int], Framer],
    ) -> None:
        self.stats, self.limits = stats, limits
        self.loop, self.deliver, self.send_udp = loop, deliver, send_udp
        self.framer_factory = framer_factory
        self._sweeper: asyncio.TimerHandle | None = None
        self._conns: dict[Address, StreamConnection] = {}
        self._all: set[StreamConnection] = set()
        self._branches: OrderedDict[str, StreamConnection] = OrderedDict()
        self._pending: dict[Address, list[_Pending]] = {}
        self._connecting: dict[Address, asyncio.Task[None]] = {}
        self._closed = False
        #: SIP over TLS (``firmware.net.tls``): the client context, the local address
        #: outgoing TLS connections are bound to (connection reuse), and who hears of
        #: a connect or handshake that failed (destination, sentence for the screen).
        self.tls_context: ssl.SSLContext | None = None
        #: Makes ``tls_context`` at the first TLS connect when it is still None: loading
        #: the system CA store costs ~30 ms, which a phone on UDP or TCP never needs and
        #: a TLS phone pays once (``firmware.app.secure``).
        self.tls_context_factory: Callable[[], ssl.SSLContext | None] | None = None
        self.tls_local: Address | None = None
        self.on_tls_failure: Callable[[Address, str], None] | None = None
        #: Called with a destination whose connect failed and the messages queued for
        #: it (§18.1.1 switches excepted); True when it took them (to send elsewhere).
        self.on_connect_failed: Callable[[Address, list[bytes]], bool] | None = None

    def accept(self) -> StreamConnection:
        """Protocol factory for the listening server."""
        return StreamConnection(self, accepted=True)

    @property
    def open_connections(self) -> int:
        return len(self._all)

    def connections(self) -> list[StreamConnection]:
        """Every open connection (for keep-alives, ``firmware.net.keepalive``)."""
        return [c for c in self._all if not c.closed]

    def drop_all(self) -> None:
        """Close every connection (our address changed: they are dead anyway)."""
        for conn in list(self._all):
            conn.abort()
            self.forget(conn)

    # -- idle sweep and shutdown ---------------------------------------------
    def start_sweeping(self) -> None:
        if self.limits.idle_timeout > 0 and not self._closed:
            self._sweeper = self.loop().call_later(self.limits.idle_timeout / 2, self._sweep)

    def _sweep(self) -> None:
        """Close connections idle for longer than ``idle_timeout`` (both directions)."""
        cutoff = self.loop().time() - self.limits.idle_timeout
        for conn in [c for c in self._all if c.last_active < cutoff]:
            self.stats.tcp_idle_closed += 1
            log.debug("closing idle TCP connection to %s", conn.peer)
            conn.abort()
            self.forget(conn)
        self.start_sweeping()

    def close(self) -> None:
        """Close every connection, cancel pending connects, drop what was queued."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for task in list(self._connecting.values()):
            task.cancel()
        for conn in list(self._all):
            conn.abort()
        self._pending.clear()

    # -- the connection table -------------------------------------------------
    def remember_branch(self, branch: str, conn: StreamConnection) -> None:
        self._branches[branch] = conn
        self._branches.move_to_end(branch)
        while len(self._branches) > self.limits.max_branches:
            self._branches.popitem(last=False)

    def opened(self, conn: StreamConnection) -> None:
        self.stats.tcp_accepted += conn.accepted
        if len(self._all) >= self.limits.max_connections:
            # Evict the connection quiet for longest: a peer holding many idle
            # connections cannot lock out the ones in use.
            victim = min(self._all, key=lambda c: c.last_active)
            self.stats.tcp_evicted += 1
            log.warning(
                "%d TCP connections open; closing the idlest, to %s", len(self._all), victim.peer
            )
            victim.abort()
            self.forget(victim)
        self._all.add(conn)
        if conn.peer is not None:
            self._conns.setdefault(conn.peer, conn)

    def forget(self, conn: StreamConnection) -> None:
        self._all.discard(conn)
        for key in [k for k, c in self._conns.items() if c is conn]:
            del self._conns[key]

    # -- sending --------------------------------------------------------------
    def send(self, data: bytes, dest: Address, *, fallback_udp: bytes | None,
             tls: bool = False, server_name: str | None = None) -> None:
        """Write on the connection to ``dest`` (or the request's), else connect and queue."""
        kind = "tls" if tls else "tcp"
        conn = self._conns.get(dest)
        if conn is None and not is_request(data):
            branch = top_via_branch(data)
            conn = self._branches.get(branch) if branch else None
        if conn is not None and conn.kind != kind:
            conn = None  # never send TLS-bound bytes in the clear, nor the reverse
        if conn is not None and conn.write(data):
            self.stats.tcp_sent += 1
            return
        if self._closed:
            return
        queue = self._pending.setdefault(dest, [])
        if sum(len(p.data) for p in queue) + len(data) > self.limits.max_pending_bytes:
            self.stats.dropped_queue_full += 1
            log.warning("TCP queue to %s full; dropped a %d-byte message", dest, len(data))
            return
        queue.append(_Pending(data, fallback_udp))
        if dest not in self._connecting:
            self._connecting[dest] = self.loop().create_task(
                self._connect(dest, tls, server_name))

    async def _connect(self, dest: Address, tls: bool = False,
                       server_name: str | None = None) -> None:
        loop = self.loop()
        try:
            try:
                if tls:
                    conn = await self._connect_tls(dest, server_name)
                    if conn is None:
                        return
                else:
                    _, conn = await asyncio.wait_for(
                        loop.create_connection(lambda: StreamConnection(self), dest[0], dest[1]),
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

    async def _connect_tls(self, dest: Address,
                           server_name: str | None) -> StreamConnection | None:
        """A TLS connection to ``dest`` whose certificate names ``server_name`` (default:
        ``dest``'s host), or None (logged, reported, queue failed)."""
        if self.tls_context is None and self.tls_context_factory is not None:
            factory, self.tls_context_factory = self.tls_context_factory, None
            self.tls_context = factory()
        if self.tls_context is None:
            self._tls_failed(dest, "TLS: not configured", None)
            return None
        try:
            _, conn = await asyncio.wait_for(open_tls_connection(
                self.loop(), lambda: StreamConnection(self, kind="tls"), dest,
                self.tls_context, self.tls_local, server_name=server_name), timeout=15.0)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            self._tls_failed(dest, describe_failure(exc), exc)
            return None
        assert isinstance(conn, StreamConnection)
        log.info("TLS to %s:%d: %s, certificate subject %s", dest[0], dest[1],
                 conn.transport.get_extra_info("ssl_object").version() if conn.transport else "?",
                 (conn.transport.get_extra_info("peercert") or {}).get("subject", "unchecked")
                 if conn.transport else "?")
        return conn

    def tls_lost(self, conn: StreamConnection, exc: BaseException) -> None:
        """A TLS connection the peer ended with a TLS alert: report it like a failed connect."""
        dest = next((d for d, c in self._conns.items() if c is conn), conn.peer)
        assert dest is not None
        self._tls_failed(dest, describe_failure(exc), exc)

    def _tls_failed(self, dest: Address, sentence: str, exc: BaseException | None) -> None:
        self.stats.tcp_connect_failures += 1
        self.stats.tls_failures += 1
        log.error("SIP over TLS to %s:%d refused: %s (%s)", dest[0], dest[1], sentence,
                  getattr(exc, "verify_message", None) or exc or "no TLS settings")
        self._fail_pending(dest)
        if self.on_tls_failure is not None:
            try:
                self.on_tls_failure(dest, sentence)
            except Exception:  # noqa: BLE001
                log.exception("TLS failure handler failed for %s", dest)

    def _fail_pending(self, dest: Address) -> None:
        if self.on_connect_failed is not None:
            items = self._pending.get(dest, [])
            try:
                taken = self.on_connect_failed(
                    dest, [i.data for i in items if i.fallback_udp is None])
            except Exception:  # noqa: BLE001
                log.exception("connect-failed handler failed for %s", dest)
                taken = False
            if taken:
                self._pending[dest] = [i for i in items if i.fallback_udp is not None]
        for item in self._pending.pop(dest, []):
            if item.fallback_udp is not None:
                self.stats.fell_back_to_udp += 1
                self.send_udp(item.fallback_udp, dest)
            else:
                self.stats.send_errors += 1
