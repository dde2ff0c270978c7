"""The run loop of ``python -m firmware run``: one asyncio loop running one handset.

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
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firmware.app import codecache
from firmware.app.cli import (
    _control_config,
    _notify,
    _state_dir,
    fetch_config,
    load_config,
    state_path,
)
from firmware.app.host import PhoneHost
from hal.clock import LoopClock

log = logging.getLogger(__name__)

#: .cnf keys a resync applies to the running handset (call control and the dial plan
#: only); a change of any other key, or of the lines, restarts it (re-REGISTER).
LIVE_KEYS = frozenset({
    "phone_label", "call_waiting", "dnd_control", "dnd_response", "cfwd_url", "cfwd_busy_url",
    "cfwd_noanswer_url", "cfwd_noanswer_timeout", "ring_timeout", "hold_method", "rfc_2543_hold",
    "transfer_method", "reject_488_as_400", "preferred_codec", "interdigit_timeout",
    "dial_pound_sends", "start_media_port", "end_media_port", "time_zone", "resync_interval",
    "sync", "image_version", "dial_template", "messages_uri", "stutter_msg_waiting",
    "auto_answer", "time_format_24hr",
    "date_format", "dst_auto_adjust", "dst_offset", "dst_start_month", "dst_start_day",
    "dst_start_day_of_week", "dst_start_week_of_month", "dst_start_time", "dst_stop_month",
    "dst_stop_day", "dst_stop_day_of_week", "dst_stop_week_of_month", "dst_stop_time",
    "timer_invite_expires", "remote_party_id", "codec_order",
})


def uses_local_files(args: argparse.Namespace) -> bool:
    """``--config`` files, unless ``--tftp``/``--provision`` names a server (they win, as the
    service passes ``--config`` always) or the file is not there (then DHCP names one)."""
    if getattr(args, "tftp", None) or getattr(args, "provision", None) or not args.config:
        return False
    return Path(args.config).exists()


def applies_live(diff: Any) -> bool:
    """True when a resync's ``ConfigDiff`` needs no restart (and so no re-REGISTER)."""
    return not diff.reregister and all(k in LIVE_KEYS for k in diff.changed_keys)


class _Reload:
    """A resync's changed config waiting to be applied (the latest one wins)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.config: Any = None
        self.summary = ""
        self.live = True

    def restart(self, config: Any) -> None:
        """Restart with ``config`` (the admin page's Restart button)."""
        self.config, self.summary, self.live = config, "restart requested", False
        self.event.set()

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
    source: Any = None
    degraded = False
    if uses_local_files(args):
        config = load_config(args)
    else:  # provisioned: never fails for a provisioning problem (runs line-less, retries)
        from firmware.app.provsource import lease_paths, resolve

        source = resolve(args)
        result = await fetch_config(source.server, source.mac, state, source.fetcher,
                                    lease_paths=lease_paths())
        config, degraded = result.config, result.origin != "tftp"
        if result.problem:
            log.warning("provisioning from %s: %s (origin: %s)", source.where, result.problem,
                        result.origin)
    import hal as hal_pkg

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reload = _Reload()
    resync_task: asyncio.Task[None] | None = None
    resyncer: Any = None
    checks: set[asyncio.Task[Any]] = set()  # check-sync resyncs in flight (kept referenced)
    if source is not None:
        from firmware.app.provsource import lease_paths
        from firmware.provisioning.resync import Resyncer

        resyncer = Resyncer(config, source.server, source.mac, state, on_change=reload,
                            degraded=degraded, fetcher=source.fetcher,
                            lease_paths=lease_paths(),
                            retry_interval=float(getattr(args, "provision_retry", 60.0)))
        resync_task = loop.create_task(resyncer.run())
    from firmware.app.notify import LoopWatchdog, announce_ready

    watchdog = LoopWatchdog(loop)
    ready: asyncio.Task[str] | None = None
    phone: PhoneHost | None = None
    good: Any = None  # the last config the handset ran with: a resynced one that fails goes back
    try:
        while True:
            control = _control_config(args, config)
            logins = any(getattr(config, f"web_{r}_password", "") for r in ("user", "admin"))
            if control is not None and control.token_required and not control.token and not logins:
                log.error("the control API on %s needs control_token or web passwords (off "
                          "loopback)", control.host)
                if good is None:
                    return 1
                log.error("resync: keeping the previous configuration")
                config = good  # a resync must not take the phone down
                continue
            clock = LoopClock(loop)
            try:
                hal = hal_pkg.load(args.hal, getattr(config, "hal_settings", None), clock=clock)
            except Exception as exc:  # no GPIO library, no display on the bus...: say so, exit 1
                log.error("cannot start the %s hardware: %s", args.hal, exc)
                if good is None or config is good:
                    return 1
                log.error("resync: keeping the previous configuration")
                config = good
                continue
            try:
                # the mock HAL swaps the hardware only: same addresses as on a Pi
                phone = await PhoneHost.start(config, hal, control=control,
                                              name="phone",
                                              state_dir=_state_dir(args.hal, getattr(args, "state_dir", None)))
            except Exception as exc:
                hal.close()
                if good is None or config is good:
                    raise
                log.error("resync: the new configuration does not start (%s); keeping the "
                          "previous one", exc)
                config = good
                continue
            except BaseException:
                hal.close()
                raise
            codecache.uninstall()  # started: what loads from now on compiles as usual
            good = config
            phone.on_restart = lambda c=config: reload.restart(c)
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
