"""SIP over UDP, TCP and TLS on asyncio (RFC 3261 §18, §26.2, RFC 3581 §4).

Why this shape: the sans-IO core hands the shell finished messages with a
destination and a transport name; this module only moves bytes.  It

* listens on one UDP socket and one TCP server socket with the same port;
* sends UDP itself (resolving a host name without blocking the loop) and
  hands stream traffic to ``connections.ConnectionPool``, which keeps the
  TCP and TLS connections, frames them and bounds what a peer can hold open
  (TLS: outgoing only, verified by ``firmware.net.tls``; set
  ``streams.tls_context``);
* applies §18.1.1: a request bound for UDP that is larger than 1300 bytes is
  sent over TCP with its top Via rewritten to TCP, and if the TCP connect
  fails it is sent over UDP as built.

Nothing here raises into the event loop: socket errors, ICMP errors, refused
connects and bad streams are logged and counted in ``TransportStats``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from firmware.net.addresses import family_of
from firmware.net.connections import ConnectionPool, Framer, StreamLimits, default_framer
from firmware.net.icmp import read_refused, udp_socket
from firmware.net.namecache import NameCache
from firmware.net.resolve import is_ip_literal
from firmware.net.transport_stats import Address, Receiver, TransportStats
from firmware.net.wire import MTU_SWITCH_THRESHOLD, is_request, set_top_via_transport

__all__ = ["Address", "Receiver", "SipTransport", "TransportStats", "open_sip_transport"]

log = logging.getLogger(__name__)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[override]
        self.owner.stats.udp_received += 1
        self.owner._deliver(data, (addr[0], addr[1]), "udp")

    def error_received(self, exc: Exception) -> None:
        # sendto() failures (asyncio reports them here, not to the caller), and
        # ICMP errors: with IP_RECVERR (firmware.net.icmp) the error queue names
        # the destination that refused.
        self.owner.stats.udp_socket_errors += 1
        sock = self.owner._udp_sock
        refused = read_refused(sock) if sock is not None else []
        log.info("UDP error reported by the kernel: %s %s", exc, refused or "")
        for dest in refused:
            self.owner._unreachable(dest)


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
        framer_factory: Callable[[int], Framer] = default_framer,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.on_receive = on_receive
        #: Called with a destination the kernel refused (ICMP error; TCP: the pool's
        #: ``on_connect_failed``), e.g. ``firmware.net.router.Router.unreachable``.
        self.on_unreachable: Callable[[Address], object] | None = None
        self.enable_udp = udp
        self.enable_tcp = tcp
        self.max_message = max_message
        self._loop = loop
        self.stats = TransportStats()
        limits = StreamLimits(max_message, max_connections, max_pending_bytes, max_branches,
                              idle_timeout)
        self.streams = ConnectionPool(
            self.stats, limits, loop=lambda: self.loop, deliver=self._deliver,
            send_udp=self._send_udp, framer_factory=framer_factory,
        )
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_sock: socket.socket | None = None
        self._server: asyncio.base_events.Server | None = None
        self._names: NameCache | None = None

    # -- lifecycle ----------------------------------------------------------
    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop or asyncio.get_running_loop()

    @property
    def local_address(self) -> Address:
        return (self.host, self.port)

    @property
    def open_connections(self) -> int:
        return self.streams.open_connections

    async def start(self) -> None:
        """Bind UDP and TCP on (host, port); port 0 picks one free for both."""
        self._loop = self._loop or asyncio.get_running_loop()
        for _attempt in range(20):
            try:
                await self._bind()
                if self.enable_tcp:
                    self.streams.start_sweeping()
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
            # our own socket: ICMP errors queued with their destination (icmp.py)
            host = self.host or "0.0.0.0"
            self._udp_sock = udp_socket(host, self.port, family_of(host))
            udp, _ = await self.loop.create_datagram_endpoint(
                lambda: _Udp(self), sock=self._udp_sock
            )
            self._udp = udp  # type: ignore[assignment]
            self.port = udp.get_extra_info("sockname")[1]
        if self.enable_tcp:
            _claim_tcp_port(self.host, self.port)
            self._server = await self.loop.create_server(
                self.streams.accept, self.host or "0.0.0.0", self.port, reuse_address=True,
                reuse_port=True,  # outgoing TLS connections share the port (firmware.net.tls)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            self.streams.tls_local = (self.host or "0.0.0.0", self.port)

    async def _unbind(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        elif self._udp_sock is not None:
            self._udp_sock.close()
        self._udp_sock = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def close(self) -> None:
        """Stop listening, close every connection, cancel pending connects."""
        self.streams.close()
        if self._server is not None:
            self._server.close()
        await self._unbind()
        if self._names is not None:
            self._names.close()
        await asyncio.sleep(0)

    def drop_connections(self) -> None:
        """Close every stream connection (the local address changed)."""
        self.streams.drop_all()

    def _unreachable(self, dest: Address) -> None:
        self.stats.icmp_unreachable += 1
        if self.on_unreachable is not None:
            try:
                self.on_unreachable(dest)
            except Exception:  # noqa: BLE001
                log.exception("unreachable handler failed for %s", dest)

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

    # -- sending ------------------------------------------------------------
    def send(self, data: bytes, dest: Address, transport: str = "udp", *,
             server_name: str | None = None) -> None:
        """Queue ``data`` for ``dest`` over ``transport`` ("udp"/"tcp"/"tls"); never raises.

        ``server_name``: for TLS, the name the certificate must carry (the proxy's
        configured domain when ``dest`` is the address DNS gave); default ``dest``'s host.
        """
        try:
            kind = transport.lower()
            if kind == "tcp" and self.enable_tcp:
                self.streams.send(data, dest, fallback_udp=None)
            elif kind == "tls" and self.enable_tcp:
                self.streams.send(data, dest, fallback_udp=None, tls=True,
                                  server_name=server_name)
            elif kind == "udp" and self.enable_udp:
                if self.enable_tcp and len(data) > MTU_SWITCH_THRESHOLD and is_request(data):
                    self.stats.switched_to_tcp += 1
                    switched = set_top_via_transport(data, "TCP")
                    self.streams.send(switched, dest, fallback_udp=data)
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


def _claim_tcp_port(host: str, port: int) -> None:
    """Raise OSError if any socket holds TCP ``port``: the listener sets SO_REUSEPORT
    (for TLS connection reuse), which alone would let it share another socket's port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: TIME_WAIT leftovers do not count, another listener does
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host or "0.0.0.0", port))


async def open_sip_transport(
    host: str = "127.0.0.1", port: int = 0, **kwargs: object
) -> SipTransport:
    """Create and bind a ``SipTransport`` (UDP and TCP on the same port)."""
    transport = SipTransport(host, port, **kwargs)  # type: ignore[arg-type]
    await transport.start()
    return transport
