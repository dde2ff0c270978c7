"""The phone's network upkeep on the loop: follow address changes, keep NAT bindings open.

Why: a desk phone lives for months while DHCP hands out a new lease, a cable
is pulled and put back, or a laptop running the simulated handset moves to
another network.  Every ``check_interval`` seconds this asks the routing
table which local address reaches the proxy (``firmware.net.addresses``;
nothing is sent).  When it changes, the endpoint puts the new address in
Via/Contact and re-registers, new calls offer media there, and stream
connections from the old address are dropped; when the route comes back
after having gone (interface down, then up) the phone re-registers too, as
the registrar may have lost us meanwhile.

With ``nat_enable``, a UDP binding in the NAT in front of the phone is kept
open by an OPTIONS to each registrar every ``keepalive_interval`` seconds
(stream connections get RFC 5626 CRLF pings from ``firmware.net.keepalive``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from firmware.app.netplan import advertised_host
from firmware.net.resolve import is_ip_literal

__all__ = ["NetWatch"]

log = logging.getLogger(__name__)

Address = tuple[str, int]


class NetWatch:
    """Address watch and UDP keep-alive for one ``App`` (see the module docstring)."""

    def __init__(self, app: Any, router: Any, cfg: Any, *, bind: str, port: int,
                 route_key: Address | None, registrars: list[str],
                 on_address: Callable[[str], None] | None = None,
                 check_interval: float = 2.0) -> None:
        self.app = app
        self.router = router
        self.cfg = cfg
        self.bind = bind
        self.port = port
        self.route_key = route_key
        self.registrars = list(dict.fromkeys(registrars))
        self.on_address = on_address
        self.check_interval = check_interval
        self.keepalive_interval = float(getattr(cfg, "keepalive_interval", 0) or 0)
        self.offline = False
        #: The address the routing table gave last (what a change is judged against:
        #: the endpoint's may be a NAT's public address learned from the registrar).
        self.route_address: str | None = None
        self.media_address: str | None = None
        self.changes = 0
        self.keepalives_sent = 0
        self._handles: list[asyncio.TimerHandle] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def address(self) -> str:
        return str(self.app.endpoint.config.local_address[0])

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.route_address = self.media_address = self.address
        if self.check_interval > 0:
            self._every(self.check_interval, self.check)
        nat_udp = (getattr(self.cfg, "nat_enable", False)
                   and self.app.endpoint.config.transport == "udp")
        if nat_udp and self.keepalive_interval > 0 and self.registrars:
            self._every(self.keepalive_interval, self.keepalive)

    def _every(self, interval: float, fn: Callable[[], None]) -> None:
        assert self._loop is not None
        loop = self._loop

        def tick() -> None:
            try:
                fn()
            except Exception:  # noqa: BLE001 - upkeep must never stop the loop
                log.exception("network upkeep failed")
            self._handles.remove(handle)
            if not self.app.stopping:
                self._every(interval, fn)

        handle = loop.call_later(interval, tick)
        self._handles.append(handle)

    def toward(self) -> str | None:
        """The IP of the server the proxy route uses now (None before DNS answered)."""
        if self.route_key is None:
            return None
        target = self.router.current(self.route_key)
        if target is not None:
            return str(target.host)
        return self.route_key[0] if is_ip_literal(self.route_key[0]) else None

    def check(self) -> None:
        """Compare the address towards the proxy with the one in use; act on a change."""
        if self.app.stopping:
            return
        toward = self.toward()
        if toward is None and self.route_key is not None:
            return  # the proxy's name is not resolved yet: nothing to compare with
        new = advertised_host(self.cfg, self.bind, toward)
        if new is None:
            if not self.offline:
                log.warning("no route towards the proxy: the network is down")
            self.offline = True
            return
        came_back, self.offline = self.offline, False
        self._follow_endpoint()
        if new != self.route_address:
            self.route_address = self.media_address = new
            log.info("local address changed: %s -> %s; re-registering", self.address, new)
            self.changes += 1
            if self.on_address is not None:
                self.on_address(new)
            self.app.sip.input(self.app.endpoint.set_local_address, (new, self.port))
        elif came_back:
            self.media_address = self.address
            log.info("network back (address %s); re-registering", new)
            self.changes += 1
            if self.on_address is not None:
                self.on_address(self.address)
            self.app.sip.input(self.app.endpoint.reregister)

    def _follow_endpoint(self) -> None:
        """New calls offer media where the endpoint now says we are (a learned NAT address)."""
        if self.media_address is None:
            self.media_address = self.address
        elif self.address != self.media_address:
            self.media_address = self.address
            if self.on_address is not None:
                self.on_address(self.address)

    def keepalive(self) -> None:
        """An OPTIONS to each registrar (a NAT keeps the UDP binding open while it sees traffic)."""
        if self.app.stopping or self.offline:
            return
        for registrar in self.registrars:
            self.keepalives_sent += 1
            self.app.sip.input(self.app.endpoint.send_request, "OPTIONS", registrar)

    def close(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()
