"""``python -m firmware run``: one asyncio loop running one handset.

Why this is the only place with sockets and signals: every core is sans-IO
and ``firmware.app.App`` runs on any ``Clock``; this module supplies the
real ones (``LoopClock``, UDP/TCP SIP transport, RTP sockets, the control
API server), and the process life cycle a desk phone needs under systemd:
READY once every line's first REGISTER is answered (bounded), WATCHDOG pings while the loop
turns, and on SIGTERM a clean exit (un-REGISTER, BYE every call, release the
GPIO/ALSA devices) bounded by a grace period.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firmware.app import App
from firmware.app_control import AppControl
from firmware.appconfig import endpoint_config, phone_settings, registrations
from firmware.control.server import ControlConfig, ControlServer, parse_hostport
from firmware.net.rtp import drain_stamped, timestamped_socket
from firmware.net.transport import SipTransport
from firmware.sip.endpoint import Endpoint
from hal.base import Hal
from hal.clock import LoopClock

log = logging.getLogger(__name__)

Address = tuple[str, int]
SHUTDOWN_GRACE = 2.0
MAX_RTP_DATAGRAM = 2048
#: ``deliver(data, source, rtcp, arrived=None)``: one datagram for the app
Deliver = Callable[..., None]

#: .cnf keys a resync applies to the running handset (call control and the dial plan
#: only); a change of any other key, or of the lines, restarts it (re-REGISTER).
LIVE_KEYS = frozenset({
    "phone_label", "call_waiting", "dnd_control", "dnd_response", "cfwd_url", "cfwd_busy_url",
    "cfwd_noanswer_url", "cfwd_noanswer_timeout", "ring_timeout", "hold_method", "rfc_2543_hold",
    "transfer_method", "reject_488_as_400", "preferred_codec", "interdigit_timeout",
    "dial_pound_sends", "start_media_port", "end_media_port", "time_zone", "resync_interval",
    "sync", "image_version", "dial_template", "messages_uri",
})


def applies_live(diff: Any) -> bool:
    """True when a resync's ``ConfigDiff`` needs no restart (and so no re-REGISTER)."""
    return not diff.reregister and all(k in LIVE_KEYS for k in diff.changed_keys)


class UdpMediaIO:
    """RTP/RTCP socket pairs on ``host`` for ``App`` (``firmware.app.MediaIO``).

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
        self._polled: dict[int, Deliver] = {}
        self.send_errors = 0

    def open(self, port: int, deliver: Deliver, poll: bool = False) -> bool:
        pair: list[socket.socket] = []
        try:
            if poll:
                pair.append(timestamped_socket(self.host, port))
            for p in (port, port + 1)[len(pair):]:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                pair.append(s)
                s.setblocking(False)
                s.bind((self.host, p))
        except OSError as exc:
            log.error("RTP: cannot bind %s:%d/%d: %s", self.host, port, port + 1, exc)
            for s in pair:
                s.close()
            return False
        self._socks[port] = (pair[0], pair[1])
        if poll:
            self._polled[port] = deliver
        else:
            self.loop.add_reader(pair[0].fileno(), self._readable, pair[0], False, deliver)
        self.loop.add_reader(pair[1].fileno(), self._readable, pair[1], True, deliver)
        return True

    def drain(self, port: int) -> int:
        """Deliver the RTP datagrams waiting on a ``poll`` port (bounded); how many."""
        deliver = self._polled.get(port)
        pair = self._socks.get(port)
        if deliver is None or pair is None:
            return 0
        return drain_stamped(pair[0], self.loop.time(),
                             lambda data, addr, at: deliver(data, addr, False, at))

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
        if pair is None:
            return
        for s in pair:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(s.fileno())
            s.close()

    def close_all(self) -> None:
        for port in list(self._socks):
            self.close(port)


def build_phone(config: Any, settings: Any, endpoint: Endpoint, clock: Any,
                history_file: Any = None) -> Any:
    """Call control for ``settings``, commanding ``endpoint``, with the dial plan and history."""
    from firmware.phone.phone import Phone

    history = history_file.load(settings.history_size) if history_file is not None else None
    return Phone(settings, endpoint, dial_plan=getattr(config, "dialplan", None), history=history,
                 wall_offset=time.time() - clock.time())


class PhoneHost:
    """One handset on the running loop: transport, app, media sockets, optional control API."""

    def __init__(self) -> None:
        self.app: App | None = None
        self.transport: SipTransport | None = None
        self.media: UdpMediaIO | None = None
        self.control: ControlServer | None = None
        self.control_api: AppControl | None = None
        self._audio_fds: list[int] = []
        self._pace_handle: asyncio.TimerHandle | None = None
        self._media_address = "127.0.0.1"

    @classmethod
    async def start(
        cls,
        config: Any,
        hal: Hal,
        *,
        sip_host: str = "127.0.0.1",
        sip_port: int | None = None,
        control: ControlConfig | None = None,
        on_wire: Callable[..., None] | None = None,
        name: str = "phone",
        autostart: bool = True,
        state_dir: Any = None,
    ) -> PhoneHost:
        """Bind, build and (unless ``autostart`` is False: call ``app.start()`` yourself) start."""
        self = cls()
        loop = asyncio.get_running_loop()
        clock = LoopClock(loop)
        port = getattr(config, "voip_control_port", 5060) if sip_port is None else sip_port
        self.transport = SipTransport(sip_host, port)
        await self.transport.start()
        local = self.transport.local_address
        endpoint = Endpoint(endpoint_config(config, local_address=local))
        self._media_address = sip_host
        settings = phone_settings(config, media_address=sip_host)
        history_file = None
        if state_dir is not None:
            from firmware.phone.history import JsonHistoryFile

            history_file = JsonHistoryFile(state_dir)
        phone = build_phone(config, settings, endpoint, clock, history_file)
        self.media = UdpMediaIO(loop, sip_host)
        self.app = App(
            clock=clock, hal=hal, endpoint=endpoint, phone=phone,
            send_sip=self.transport.send, media_io=self.media,
            registrations=registrations(config), on_wire=on_wire, name=name,
            history_file=history_file,
            rtp_latch=bool(getattr(config, "nat_enable", False) or getattr(config, "rtp_latch", False)),
        )  # fmt: skip
        self.transport.on_receive = self.app.receive_sip
        names = {ln.index: ln.name for ln in config.lines}
        self.control_api = AppControl(self.app, names)
        if autostart:
            self.start_app()
        if control is not None:
            self.control = ControlServer(self.control_api, control)
            await self.control.start()
        log.info("%s: SIP on %s:%d", name, *local)
        return self

    def reconfigure(self, config: Any) -> None:
        """Apply a resync's config to the running phone (``applies_live`` said it may);
        raises ``PhoneError`` (409) when the phone cannot take it now."""
        assert self.app is not None
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
        audio = self.app.hal.audio
        if self.app.audio_has_clock and audio is not None:
            loop = asyncio.get_running_loop()
            try:
                for fd, _mask in audio.poll_descriptors():
                    loop.add_reader(fd, self.app.audio_ready)
                    self._audio_fds.append(fd)
            except (OSError, ValueError) as exc:
                # Some ALSA plugins (null, file) hand out descriptors epoll refuses:
                # then the loop clock paces the periods, as for a device without clock.
                log.warning("audio: cannot wait on the device (%s); pacing by the clock", exc)
                for fd in self._audio_fds:
                    loop.remove_reader(fd)
                self._audio_fds.clear()
                self._pace(loop, loop.time(), audio.format.period_seconds)

    def _pace(self, loop: asyncio.AbstractEventLoop, t0: float, period: float, k: int = 1) -> None:
        """Call ``audio_ready`` at t0 + k*period (absolute deadlines: no drift)."""
        if self.app is None or self.app.stopping:
            return

        def tick() -> None:
            assert self.app is not None
            self.app.audio_ready()
            self._pace(loop, t0, period, k + 1)

        self._pace_handle = loop.call_at(t0 + k * period, tick)

    @property
    def sip_address(self) -> Address:
        assert self.transport is not None
        return self.transport.local_address

    async def stop(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Un-REGISTER and hang up, give the answers ``grace`` seconds, then release everything."""
        if self.app is not None:
            self.app.shutdown()
            await _settle(self.app, grace)
        if self.control is not None:
            await self.control.close()
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


def load_config(args: argparse.Namespace) -> Any:
    """``--config FILE|DIR`` (SIPDefault.cnf and the dial plan beside it are read too)."""
    from firmware.provisioning.boot import load_local

    return load_local(args.config, getattr(args, "mac", None))


async def fetch_config(server: str, mac: str, cache_dir: Any = None) -> Any:
    """``--tftp HOST[:PORT] --mac MAC``: the 7960 boot sequence, with the cache as fallback."""
    from firmware.provisioning.boot import default_cache_dir, provision

    return await provision(server, mac, cache_dir if cache_dir is not None else default_cache_dir())


def state_path(hal_name: str, explicit: str | None = None) -> Path:
    """Where the TFTP cache (and the history) live.

    ``--state-dir``, else ``$STATE_DIRECTORY`` (systemd's StateDirectory=), else
    /var/lib/piphone on the Pi and, for a mock-HAL run by a user,
    ``$XDG_STATE_HOME/piphone`` (~/.local/state/piphone): a desktop run must not
    need root to keep its last good configuration.
    """
    from firmware.provisioning.boot import default_cache_dir

    if explicit:
        return Path(explicit)
    if hal_name == "pi" or os.environ.get("STATE_DIRECTORY", "").split(":")[0]:
        return default_cache_dir()
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "piphone"


def _state_dir(hal_name: str, explicit: str | None = None) -> Any:
    """Where the call history lives; None when not writable.

    A mock-HAL run keeps no history on disk unless --state-dir or
    $STATE_DIRECTORY says where.
    """
    if not explicit and hal_name != "pi" and not os.environ.get("STATE_DIRECTORY"):
        return None
    path = state_path(hal_name, explicit)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def _local_ip_towards(config: Any) -> str:
    """The address other hosts reach us at: the source the kernel picks towards the proxy.

    A UDP ``connect`` sends nothing; it only asks the routing table.
    """
    target = "192.0.2.1"  # TEST-NET-1: any routable address does when no proxy is set
    for line in getattr(config, "lines", ()):
        proxy = getattr(line, "proxy", None)
        if proxy is not None and getattr(proxy, "address", ""):
            target = proxy.address
            break
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((target, 5060))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _notify(state: str) -> None:
    from firmware import sdnotify

    sdnotify.notify(state)


def _control_config(args: argparse.Namespace, config: Any) -> ControlConfig | None:
    if args.control:
        host, port = parse_hostport(args.control)
        return ControlConfig(host=host, port=port, token=getattr(config, "control_token", "") or None)
    if getattr(config, "control_bind", None):
        host, port = config.control_bind
        return ControlConfig(host=host, port=port, token=config.control_token or None)
    return None


class _Reload:
    """A resync's changed config waiting to be applied (the latest one wins)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.config: Any = None
        self.summary = ""
        self.live = True

    def take(self) -> Any:
        """The config to apply now; clears the pending state."""
        config, self.config = self.config, None
        self.live = True
        self.event.clear()
        return config

    def __call__(self, result: Any) -> None:
        self.config = result.config
        self.summary = result.diff.summary()
        # Several resyncs before one is applied: a restart once needed stays needed.
        self.live = applies_live(result.diff) and (self.live or not self.event.is_set())
        self.event.set()


async def _first(*events: asyncio.Event) -> None:
    """Return once any of ``events`` is set."""
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


async def _until_idle(phone: PhoneHost, stop: asyncio.Event, poll: float = 1.0) -> None:
    """A new configuration waits for the calls in progress to end (as the 7960 does)."""
    while not stop.is_set() and phone.app is not None and phone.app.phone.calls():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll)


async def _serve_until_restart(phone: PhoneHost, stop: asyncio.Event, reload: _Reload) -> bool:
    """Run until SIGTERM (False) or a resync that needs a restart (True).

    A new set waits for the calls in progress to end; one that changes only
    call control (label, dial plan, timers, forwarding...) is applied in place,
    the registrations untouched.
    """
    while True:
        await _first(stop, reload.event)
        if not stop.is_set():
            await _until_idle(phone, stop)
        if stop.is_set():
            return False
        if not reload.live:
            return True
        summary = reload.summary
        config = reload.take()
        try:
            phone.reconfigure(config)
        except Exception as exc:  # noqa: BLE001 - e.g. a call came in meanwhile: restart
            log.info("resync: cannot apply in place (%s); restarting", exc)
            reload.config, reload.summary, reload.live = config, summary, False
            return True
        log.info("resync: applied to the running phone (%s)", summary)


def _check_sync_trigger(loop: asyncio.AbstractEventLoop, resyncer: Any,
                        tasks: set[asyncio.Task[Any]]) -> Callable[[], None]:
    """A NOTIFY check-sync starts ``resyncer.check_now()`` (serialised by the resyncer;
    a change it finds is applied like a timed resync's)."""

    def trigger() -> None:
        task = loop.create_task(resyncer.check_now())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return trigger


async def amain(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    state = state_path(args.hal, getattr(args, "state_dir", None))
    config = await fetch_config(args.tftp, args.mac, state) if args.tftp else load_config(args)
    import hal as hal_pkg

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reload = _Reload()
    resync_task: asyncio.Task[None] | None = None
    resyncer: Any = None
    checks: set[asyncio.Task[Any]] = set()  # check-sync resyncs in flight (kept referenced)
    if args.tftp:
        from firmware.provisioning.resync import Resyncer

        resyncer = Resyncer(config, args.tftp, args.mac, state, on_change=reload)
        resync_task = loop.create_task(resyncer.run())
    from firmware.app_notify import LoopWatchdog, announce_ready

    watchdog = LoopWatchdog(loop)
    ready: asyncio.Task[str] | None = None
    phone: PhoneHost | None = None
    try:
        while True:
            control = _control_config(args, config)
            if control is not None and control.token_required and not control.token:
                log.error("the control API on %s needs control_token (off loopback)", control.host)
                return 1
            clock = LoopClock(loop)
            try:
                hal = hal_pkg.load(args.hal, getattr(config, "hal_settings", None), clock=clock)
            except Exception as exc:  # no GPIO library, no display on the bus...: say so, exit 1
                log.error("cannot start the %s hardware: %s", args.hal, exc)
                return 1
            host_ip = "127.0.0.1" if args.hal == "mock" else _local_ip_towards(config)
            try:
                phone = await PhoneHost.start(config, hal, sip_host=host_ip, control=control,
                                              name="phone",
                                              state_dir=_state_dir(args.hal, getattr(args, "state_dir", None)))
            except BaseException:
                hal.close()
                raise
            if resyncer is not None and phone.app is not None:
                phone.app.on_check_sync = _check_sync_trigger(loop, resyncer, checks)
            if ready is None and phone.app is not None:
                watchdog.start()
                ready = loop.create_task(announce_ready(phone.app))  # READY once lines answer
            if not await _serve_until_restart(phone, stop, reload):
                break
            log.info("resync: restarting with the new configuration (%s)", reload.summary)
            config = reload.take()
            await phone.stop()
            phone = None
    finally:
        if resync_task is not None:
            resync_task.cancel()
        for task in list(checks):
            task.cancel()
        if ready is not None:
            ready.cancel()
        watchdog.cancel()
        _notify("STOPPING=1")
        if phone is not None:
            await phone.stop()
    return 0


def run_main(args: argparse.Namespace) -> int:
    """Entry point of ``python -m firmware run`` (see ``firmware.__main__``)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.config and not args.tftp:
        log.error("give --config FILE or --tftp HOST --mac MAC")
        return 2
    if args.tftp and not args.mac:
        log.error("--tftp needs --mac")
        return 2
    from firmware.provisioning.boot import ProvisioningError

    try:
        return asyncio.run(amain(args))
    except (OSError, ValueError, ProvisioningError) as exc:
        log.error("cannot start: %s", exc)
        return 1
