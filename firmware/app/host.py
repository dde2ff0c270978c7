"""One handset on the running loop: SIP transport, App, media sockets, control API.

Why apart from the run loop: the demo network and the tests start several
``PhoneHost``s on one loop; the run loop (``firmware.app.runloop``) starts one
and restarts it when a resync needs it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from firmware.app.config_map import (
    dtmf_policy,
    endpoint_config,
    phone_settings,
    registrations,
    sip_sender,
)
from firmware.app.core import App
from firmware.app.media_io import UdpMediaIO
from firmware.app.mediakeys import MediaKeys
from firmware.app.netplan import advertised_host, bind_host, route_specs, sip_transport
from firmware.app.netwatch import NetWatch
from firmware.app.recorders import SipTrace
from firmware.app.secure import attach_tls
from firmware.net.addresses import family_of, is_wildcard
from firmware.net.keepalive import StreamKeepAlive
from firmware.net.resolve import TargetResolver
from firmware.net.router import Router
from firmware.net.transport import SipTransport
from firmware.sip.endpoint import Endpoint
from firmware.sip.events import TargetFailed
from hal.base import Hal
from hal.clock import LoopClock

if TYPE_CHECKING:  # the API's modules load when it is used: not on the way to the first REGISTER
    from firmware.app.control_adapter import AppControl
    from firmware.control.server import ControlConfig, ControlServer

log = logging.getLogger(__name__)

Address = tuple[str, int]
SHUTDOWN_GRACE = 2.0
#: How long start-up waits for DNS to name the proxy before announcing a guess.
START_DNS_WAIT = 5.0


def build_phone(config: Any, settings: Any, endpoint: Endpoint, clock: Any,
                history_file: Any = None, prefs_file: Any = None) -> Any:
    """Call control for ``settings``, commanding ``endpoint``, with the dial plan, history,
    remembered volumes and local directory."""
    from firmware.phone.phone import Phone

    history = history_file.load(settings.history_size) if history_file is not None else None
    prefs = prefs_file.load() if prefs_file is not None else None
    return Phone(settings, endpoint, dial_plan=getattr(config, "dialplan", None), history=history,
                 wall_offset=time.time() - clock.time(), prefs=prefs,
                 directory=getattr(config, "directory", None))


class PhoneHost:
    """One handset on the running loop: transport, app, media sockets, optional control API."""

    def __init__(self) -> None:
        self.app: App | None = None
        self.transport: SipTransport | None = None
        self.router: Router | None = None
        self.netwatch: NetWatch | None = None
        self.keepalive: StreamKeepAlive | None = None
        self._config: Any = None
        self.media: UdpMediaIO | None = None
        self.control: ControlServer | None = None
        self._control_api: AppControl | None = None
        self._line_names: dict[int, str] = {}
        self._audio_fds: list[int] = []
        self._pace_handle: asyncio.TimerHandle | None = None
        self._media_address = "127.0.0.1"
        #: The SIP messages of the last hours, for the admin page's pcap download.
        self.trace = SipTrace()
        #: Set by the run loop: restart the handset (the admin page's Restart button).
        self.on_restart: Callable[[], None] | None = None

    @classmethod
    async def start(
        cls,
        config: Any,
        hal: Hal,
        *,
        sip_host: str | None = None,
        sip_port: int | None = None,
        control: ControlConfig | None = None,
        on_wire: Callable[..., None] | None = None,
        name: str = "phone",
        autostart: bool = True,
        state_dir: Any = None,
        resolver: TargetResolver | None = None,
        check_interval: float = 2.0,
    ) -> PhoneHost:
        """Bind, build and (unless ``autostart`` is False: call ``app.start()`` yourself) start.

        ``sip_host`` is the address SIP and RTP listen on (default: the config's
        ``bind_address``, else every interface); what messages carry is decided
        by ``firmware.app.netplan`` (``nat_address``, the bound address, or the
        one routing towards the proxy) and followed by ``NetWatch``.
        """
        self = cls()
        self._config = config
        loop = asyncio.get_running_loop()
        clock = LoopClock(loop)
        bind = bind_host(config, sip_host)
        port = getattr(config, "voip_control_port", 5060) if sip_port is None else sip_port
        self.transport = SipTransport(bind, port)
        try:
            await self.transport.start()
        except OSError as exc:
            if sip_port is not None or not port:
                raise
            # voip_control_port comes from the provisioning files: a port another program
            # holds must not stop the phone (it takes direct calls at the port it got)
            log.error("%s: cannot bind SIP port %d (%s); using a free port", name, port, exc)
            self.transport = SipTransport(bind, 0)
            await self.transport.start()
        port = self.transport.local_address[1]
        self.router = Router(self.transport, resolver or TargetResolver(family=family_of(bind)),
                             retry_interval=float(getattr(config, "proxy_retry_interval", 60)))
        routes = route_specs(config)
        for key, spec in routes.items():
            self.router.add(key, spec)
        self.transport.on_unreachable = self.router.unreachable
        self.keepalive = StreamKeepAlive(self.transport.streams,
                                         float(getattr(config, "keepalive_interval", 30) or 0))
        self.transport.streams.on_connect_failed = self.router.connect_failed
        route_key = next(iter(routes), None)
        known: set[str] = set()  # every server the proxy routes name (trusted like the proxy)
        self.router.on_targets = lambda targets: known.update(t.host for t in targets)
        toward = await self._first_target(route_key)
        announced = (advertised_host(config, bind, toward)
                     or (bind if not is_wildcard(bind) else "127.0.0.1"))
        local = (announced, port)
        endpoint = Endpoint(endpoint_config(config, local_address=local,
                                            transport=sip_transport(config)))
        for host in known:
            endpoint.trust.add(host)
        self.router.on_targets = lambda targets: [endpoint.trust.add(t.host) for t in targets]
        self._media_address = announced
        settings = phone_settings(config, media_address=announced)
        history_file = prefs_file = None
        if state_dir is not None:
            from firmware.app.history_file import JsonHistoryFile
            from firmware.app.prefs_file import JsonPrefsFile

            history_file = JsonHistoryFile(state_dir)
            prefs_file = JsonPrefsFile(state_dir)
        phone = build_phone(config, settings, endpoint, clock, history_file, prefs_file)
        self.media = UdpMediaIO(loop, bind)
        phone.reserve_ports_with(self.media.reserve, self.media.unreserve)
        media_keys = MediaKeys(dtmf_policy(config))  # dtmf_* and call_stats act per stream
        self.app = App(
            clock=clock, hal=hal, endpoint=endpoint, phone=phone,
            send_sip=sip_sender(config, self.router.send, lambda: self.app, media_keys),
            media_io=self.media,
            registrations=registrations(config), name=name,
            on_wire=self.trace.tap(lambda: self.sip_address if self.app else local, on_wire),
            history_file=history_file, prefs_file=prefs_file,
            rtp_latch=bool(getattr(config, "nat_enable", False) or getattr(config, "rtp_latch", False)),
        )  # fmt: skip
        media_keys.attach(self.app)
        self.transport.on_receive = self.app.receive_sip
        attach_tls(self.transport, config, self.app)
        app = self.app
        self._route_target_failures()
        self.router.on_failback = lambda _key: app.sip.input(endpoint.reregister)
        self.netwatch = NetWatch(
            self.app, self.router, config, bind=bind, port=port, route_key=route_key,
            registrars=[r.registrar for r in registrations(config)],
            on_address=self._address_changed, check_interval=check_interval)
        self._line_names = {ln.index: ln.name for ln in config.lines}
        if autostart:
            self.start_app()
        if control is not None:
            from firmware.control.server import ControlServer

            self.control = ControlServer(self.control_api, control,
                                         front=self._web_front(config, control),
                                         media_next=self.next_audio_period)
            await self.control.start()
        log.info("%s: SIP on %s:%d, announced as %s:%d", name, bind, port, *local)
        return self

    @property
    def control_api(self) -> AppControl | None:
        """The control API's view of the app (``firmware.surface.PhoneControl``), made at
        first use: a phone nobody drives never loads it."""
        if self._control_api is None and self.app is not None:
            from firmware.app.control_adapter import AppControl

            self._control_api = AppControl(self.app, self._line_names)
        return self._control_api

    def _route_target_failures(self) -> None:
        """The endpoint's ``TargetFailed`` goes to the router (it picks the next server),
        never to call control: the SIP pump's event handler is wrapped for it."""
        assert self.app is not None and self.router is not None
        router, to_app, app = self.router, self.app.sip.on_event, self.app

        def on_event(ev: Any) -> None:
            if isinstance(ev, TargetFailed):
                if router.target_failed(ev.dest, "timed out" if ev.status == 408
                                        else f"answered {ev.status}"):
                    # RFC 3263 §4.3: what failed there is sent again, to the next server
                    app.sip.input(app.endpoint.fail_over, ev.dest)
            elif to_app is not None:
                to_app(ev)

        self.app.sip.on_event = on_event

    async def _first_target(self, key: Address | None) -> str | None:
        """The IP of the proxy's first server (bounded wait for DNS), to pick our address."""
        if key is None or self.router is None:
            return None
        try:
            targets = await asyncio.wait_for(self.router.targets(key), START_DNS_WAIT)
        except (TimeoutError, OSError):
            return None
        return targets[0].host if targets else None

    def _address_changed(self, address: str) -> None:
        """New calls offer media at ``address``; stream connections from the old one are dead."""
        self._media_address = address
        if self.transport is not None:
            self.transport.drop_connections()
        if self.app is not None and self._config is not None:
            try:
                self.reconfigure(self._config)
            except Exception:  # noqa: BLE001 - e.g. a call in progress: the next idle check
                log.info("media address stays until the calls end")
    def _web_front(self, config: Any, control: ControlConfig) -> Any:
        """The web page in front of the API: passwords from the configuration, a login
        required exactly where the token is (off loopback)."""
        from firmware.app.web_adapter import WebAdapter
        from firmware.control.web.front import WebFront

        assert self.control_api is not None
        passwords = {role: str(getattr(config, f"web_{role}_password", "") or "")
                     for role in ("user", "admin")}
        return WebFront(self.control_api, WebAdapter(self, config, self.trace, control),
                        passwords={k: v for k, v in passwords.items() if v},  # type: ignore[misc]
                        login_required=control.token_required,
                        secure=control.scheme == "https")

    def reconfigure(self, config: Any) -> None:
        """Apply a resync's config to the running phone (``applies_live`` said it may);
        raises ``PhoneError`` (409) when the phone cannot take it now."""
        assert self.app is not None
        self._config = config
        settings = phone_settings(config, media_address=self._media_address)
        try:
            self.app.phone.reconfigure(settings, getattr(config, "dialplan", None),
                                       self.app.clock.time())
        finally:
            self.app.phone_pump.flush()  # the new idle screen goes out

    def start_app(self) -> None:
        """Start the app; a sound card with its own clock paces the audio by its poll fds."""
        assert self.app is not None
        self.app.start()
        if self.netwatch is not None:
            self.netwatch.start()
        if self.keepalive is not None:
            self.keepalive.start()
        audio = self.app.hal.audio
        if self.app.audio_has_clock and audio is not None:
            loop = asyncio.get_running_loop()
            try:
                self._watch_audio(loop)
                self.app.on_audio_reopened = lambda: self._watch_audio(loop)
            except (OSError, ValueError) as exc:
                # Some ALSA plugins (null, file) hand out descriptors epoll refuses:
                # then the loop clock paces the periods, as for a device without clock.
                log.warning("audio: cannot wait on the device (%s); pacing by the clock", exc)
                for fd in self._audio_fds:
                    loop.remove_reader(fd)
                self._audio_fds.clear()
                self._pace(loop, loop.time(), audio.format.period_seconds)

    def _watch_audio(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait on the sound card's poll fds (again after it reopened at a call's rate)."""
        assert self.app is not None and self.app.hal.audio is not None
        for fd in self._audio_fds:
            loop.remove_reader(fd)
        self._audio_fds.clear()
        for fd, _mask in self.app.hal.audio.poll_descriptors():
            loop.add_reader(fd, self.app.audio_ready)
            self._audio_fds.append(fd)

    def _pace(self, loop: asyncio.AbstractEventLoop, t0: float, period: float, k: int = 1) -> None:
        """Call ``audio_ready`` at t0 + k*period (absolute deadlines: no drift)."""
        if self.app is None or self.app.stopping:
            return

        def tick() -> None:
            assert self.app is not None
            self.app.audio_ready()
            self._pace(loop, t0, period, k + 1)

        self._pace_handle = loop.call_at(t0 + k * period, tick)

    def next_audio_period(self) -> float | None:
        """Loop time of the next audio period of a call (None without one): the control
        server and the page's pushes work in the gap after it (``firmware.control.pacing``)."""
        engine = self.app.engine if self.app is not None else None
        if engine is None or not engine.legs:
            return None
        at = engine.get_timer()
        if at is None and engine.last_period_at is not None:  # paced by the sound card
            at = engine.last_period_at + engine.period_s
        return at

    @property
    def control_port(self) -> int | None:
        return self.control.port if self.control is not None else None

    @property
    def sip_address(self) -> Address:
        """The address other hosts reach this phone at (what Contact says)."""
        assert self.app is not None
        host, port = self.app.endpoint.config.local_address
        return (str(host), int(port))

    async def stop(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Un-REGISTER and hang up, give the answers ``grace`` seconds, then release everything."""
        if self.app is not None:
            self.app.shutdown()
            await _settle(self.app, grace)
        if self.control is not None:
            await self.control.close()
        for helper in (self.netwatch, self.keepalive, self.router):  # the network's helpers
            if helper is not None:
                helper.close()
        loop = asyncio.get_running_loop()
        for fd in self._audio_fds:
            loop.remove_reader(fd)
        self._audio_fds.clear()
        if self._pace_handle is not None:
            self._pace_handle.cancel()
        if self.app is not None:
            self.app.close()
        if self.media is not None:
            self.media.close_all()
        if self.transport is not None:
            await self.transport.close()


async def _settle(app: App, grace: float) -> None:
    """Wait until every request sent at shutdown has its answer, or ``grace`` passes."""
    loop = asyncio.get_running_loop()
    end = loop.time() + grace
    await asyncio.sleep(0)  # let the datagrams go out first
    while loop.time() < end and app.requests_in_flight():
        await asyncio.sleep(0.01)
