"""Raspberry Pi keypad: a 4x3/4x4 key matrix scanned with gpiozero, plus plain GPIO keys.

Why scan on the loop: gpiozero has no keypad class, and a matrix cannot be
read by edge callbacks alone (which key closed depends on which row is
driven). While idle every row is driven low, so any key pulls its column low
and the column's edge callback (on a gpiozero thread) only posts a wake-up to
the loop. The loop then scans row by row every ``scan_interval`` until all keys
are up, and goes back to idle. So an idle keypad costs nothing, and all key
state lives on the loop thread.

Per key, on the loop clock:
- debounce: a key changes state only after its raw level held for ``key_debounce``;
- repeat suppression: a held key gives one key-down, never auto-repeat;
- stuck keys: held longer than ``stuck_key_after`` is logged once, reported up
  (so call control does not see it held forever) and ignored until released;
- ghosting: a keypad without diodes shows a phantom fourth key when three
  keys of a rectangle are held; a scan whose keys form a rectangle is
  ambiguous and changes nothing.

Softkeys, line keys and feature keys are single GPIO contacts (pulled up,
closing to ground), debounced with ``hal.debounce.Debouncer``. A feature
contact is named by ``feature_pins`` after the 7960's fixed keys
(``hal.base.FIXED_KEYS``: mute, speaker, headset, volup, voldown, messages,
directories, settings, services, info) or the rocker (``NAV_KEYS``), and
emits a ``KeyEvent`` with that name, which call control acts on exactly
like ``POST /api/button`` (docs/wiring.md has the table).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hal.base import EventSink, KeyEvent, Keypad
from hal.clock import Cancellable, Clock
from hal.debounce import Debouncer
from hal.settings import HalSettings

__all__ = ["MatrixScanner", "PiKeypad", "Post"]

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], Any]], Any]
"""Hands a callable from a gpiozero thread to the loop (``loop.call_soon_threadsafe``)."""

STUCK_SCAN_INTERVAL = 0.05  # while only stuck keys are held: slower scanning


@dataclass
class _KeyState:
    raw: bool = False
    raw_since: float = 0.0
    down: bool = False
    down_since: float = 0.0
    stuck: bool = False


class MatrixScanner:
    """Scans a key matrix: rows are outputs (active low), columns pulled-up inputs."""

    def __init__(
        self,
        rows: list[Any],
        cols: list[Any],
        keys: tuple[tuple[str, ...], ...],
        clock: Clock,
        post: Post,
        emit: Callable[[KeyEvent], None],
        *,
        debounce: float,
        interval: float,
        stuck_after: float,
    ) -> None:
        self._rows = rows
        self._cols = cols
        self._keys = keys
        self._clock = clock
        self._post = post
        self._emit = emit
        self._debounce = debounce
        self._interval = interval
        self._stuck_after = stuck_after
        self._state = {k: _KeyState() for row in keys for k in row}
        self._timer: Cancellable | None = None
        self._armed = False  # column edge callbacks installed (idle mode)
        self._closed = False
        self.scans = 0
        self.ghost_scans = 0  # scans ignored because a key rectangle made them ambiguous
        self._idle()

    # -- idle: all rows low, wait for a column edge -------------------------
    def _idle(self) -> None:
        for row in self._rows:
            row.on()
        self._arm(True)
        if any(col.is_active for col in self._cols):
            self._wake()  # a key went down while we were switching to idle

    def _wake_from_thread(self) -> None:
        self._post(self._wake)

    def _wake(self) -> None:
        if self._timer is not None or self._closed:
            return  # already scanning, or a wake-up posted just before close()
        self._arm(False)
        self._timer = self._clock.call_at(self._clock.time(), self._tick)

    # -- scanning -------------------------------------------------------------
    def scan(self) -> set[str]:
        """One pass over the matrix: which keys are closed right now (raw)."""
        for row in self._rows:
            row.off()
        closed = self.scan_positions()
        return {self._keys[r][c] for r, c in closed}

    def scan_positions(self) -> set[tuple[int, int]]:
        """One pass over the matrix: the (row, column) of every closed contact."""
        for row in self._rows:
            row.off()
        closed: set[tuple[int, int]] = set()
        for r, row in enumerate(self._rows):
            row.on()
            for c, col in enumerate(self._cols):
                if col.is_active:
                    closed.add((r, c))
            row.off()
        self.scans += 1
        return closed

    @staticmethod
    def _ambiguous(closed: set[tuple[int, int]]) -> bool:
        """True when closed keys form a rectangle: in a matrix without diodes any
        corner of it may be a phantom ("ghost") of the other three."""
        cols_by_row: dict[int, set[int]] = {}
        for r, c in closed:
            cols_by_row.setdefault(r, set()).add(c)
        rows = [cs for cs in cols_by_row.values() if len(cs) >= 2]
        return any(len(a & b) >= 2 for i, a in enumerate(rows) for b in rows[i + 1:])

    def _tick(self) -> None:
        self._timer = None
        if self._closed:
            return
        now = self._clock.time()
        closed = self.scan_positions()
        if self._ambiguous(closed):
            self.ghost_scans += 1
            hits = {k for k, st in self._state.items() if st.raw}  # keep what we knew
        else:
            hits = {self._keys[r][c] for r, c in closed}
        busy = False
        live = False
        for key, st in self._state.items():
            raw = key in hits
            if raw != st.raw:
                st.raw, st.raw_since = raw, now
            if st.raw != st.down and now - st.raw_since >= self._debounce:
                self._commit(key, st, now)
            elif st.down and not st.stuck and now - st.down_since >= self._stuck_after:
                st.stuck = True
                log.warning("keypad: key %r held for %.0f s, treating it as stuck", key, now - st.down_since)
                self._emit(KeyEvent(key=key, down=False, at=now))
            if st.raw or st.down or st.raw != st.down:
                busy = True
                live = live or not st.stuck
        if busy:
            step = self._interval if live else STUCK_SCAN_INTERVAL
            self._timer = self._clock.call_at(now + step, self._tick)
        else:
            self._idle()

    def _commit(self, key: str, st: _KeyState, now: float) -> None:
        st.down = st.raw
        if st.down:
            st.down_since = now
            self._emit(KeyEvent(key=key, down=True, at=now))
        elif st.stuck:
            st.stuck = False
            log.info("keypad: stuck key %r released", key)
        else:
            self._emit(KeyEvent(key=key, down=False, at=now))

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._arm(False)

    def _arm(self, on: bool) -> None:
        """Install or remove the columns' edge callbacks (only while idle: a scan
        toggles the columns on every row, and those edges need no wake-up)."""
        if on == self._armed:
            return
        self._armed = on
        for col in self._cols:
            col.when_activated = self._wake_from_thread if on else None


class PiKeypad(Keypad):
    """The matrix plus softkeys, line keys and feature keys, from ``HalSettings``."""

    def __init__(self, settings: HalSettings, pin_factory: Any, clock: Clock, post: Post) -> None:
        from gpiozero import DigitalInputDevice, DigitalOutputDevice

        self._sink: EventSink | None = None
        self._clock = clock
        self.pin_factory = pin_factory
        self.dropped = 0
        self._devices: list[Any] = []
        self._debouncers: list[Debouncer] = []

        def inp(pin: int) -> Any:
            dev = DigitalInputDevice(pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
            self._devices.append(dev)
            return dev

        rows = []
        for pin in settings.keypad_rows:
            dev = DigitalOutputDevice(pin, active_high=False, initial_value=False, pin_factory=pin_factory)
            self._devices.append(dev)
            rows.append(dev)
        cols = [inp(pin) for pin in settings.keypad_cols]
        self.matrix = MatrixScanner(
            rows, cols, settings.keypad_keys, clock, post, self._emit,
            debounce=settings.key_debounce,
            interval=settings.scan_interval,
            stuck_after=settings.stuck_key_after,
        )
        singles = [(f"softkey{i + 1}", p) for i, p in enumerate(settings.softkey_pins)]
        singles += [(f"line{i + 1}", p) for i, p in enumerate(settings.line_pins)]
        singles += list(settings.feature_pins)
        for name, pin in singles:
            self._single(name, inp(pin), settings.key_debounce, post)

    def _single(self, name: str, dev: Any, debounce: float, post: Post) -> None:
        def changed(down: bool, at: float) -> None:
            self._emit(KeyEvent(key=name, down=down, at=at))

        deb = Debouncer(self._clock, debounce, lambda: dev.is_active, changed, initial=bool(dev.is_active))
        dev.when_activated = dev.when_deactivated = lambda: post(deb.edge)
        self._debouncers.append(deb)

    def _emit(self, event: KeyEvent) -> None:
        if self._sink is None:
            self.dropped += 1
            return
        self._sink(event)

    def set_sink(self, sink: EventSink) -> None:
        self._sink = sink

    def close(self) -> None:
        self.matrix.close()
        for deb in self._debouncers:
            deb.close()
        for dev in self._devices:
            dev.close()
        self._devices.clear()
