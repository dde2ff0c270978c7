"""systemd readiness and watchdog for ``python -m firmware run`` (sd_notify(3)).

Why a unit of its own: the unit is ``Type=notify``, so "started" must mean
"every line has had its first REGISTER answered" (registered, refused or
timed out), not "the sockets are bound"; otherwise ``systemctl start``
returns while the phone still shows "Registering...". The wait is bounded
(``READY_WAIT``): a registrar that never answers must not hold the boot, so
READY then goes out with a STATUS naming the lines still pending.

The watchdog ping is a ``call_later`` chain on the event loop itself, so a
stalled loop (a blocking call, a busy callback) stops the pings and systemd
restarts the service; a thread or timer outside the loop would hide that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from firmware.app import sdnotify

log = logging.getLogger(__name__)

#: Longest wait for the first REGISTER answers before READY goes out anyway (s).
READY_WAIT = 30.0


def readiness(outcomes: dict[int, str | None]) -> tuple[bool, str]:
    """(every line answered, STATUS text) from ``App.reg_outcome``.

    ``outcomes`` maps a line to ``"registered"``, a failure ("403 Forbidden")
    or None (no answer yet).
    """
    if not outcomes:
        return True, "no lines to register"
    ok = sorted(n for n, o in outcomes.items() if o == "registered")
    failed = sorted((n, o) for n, o in outcomes.items() if o not in (None, "registered"))
    pending = sorted(n for n, o in outcomes.items() if o is None)
    parts = []
    if ok:
        parts.append(f"{len(ok)} line{'s' if len(ok) != 1 else ''} registered")
    parts += [f"line {n} failed: {o}" for n, o in failed]
    parts += [f"line {n} pending" for n in pending]
    return not pending, "; ".join(parts)


async def announce_ready(app: Any, wait: float = READY_WAIT) -> str:
    """Send ``READY=1`` with a STATUS once every line is answered, or after ``wait``.

    Returns the STATUS sent (for the log and the tests).
    """
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    app.on_registration = changed.set
    deadline = loop.time() + wait
    try:
        while True:
            done, status = readiness(dict(app.reg_outcome))
            remaining = deadline - loop.time()
            if done or remaining <= 0:
                break
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
    finally:
        if app.on_registration == changed.set:
            app.on_registration = None
    if not done:
        status += f" (no answer after {wait:g} s)"
    log.info("systemd: READY (%s)", status)
    sdnotify.notify(f"READY=1\nSTATUS={status}")
    return status


class LoopWatchdog:
    """``WATCHDOG=1`` every half ``$WATCHDOG_USEC`` from a ``call_later`` chain."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float | None = None) -> None:
        self._loop = loop
        self.interval = interval if interval is not None else sdnotify.watchdog_interval()
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Ping now, then every ``interval``; no-op when systemd asked for no watchdog."""
        if self.interval is not None and self._handle is None:
            self._tick()

    def _tick(self) -> None:
        sdnotify.notify("WATCHDOG=1")
        assert self.interval is not None
        self._handle = self._loop.call_later(self.interval, self._tick)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
