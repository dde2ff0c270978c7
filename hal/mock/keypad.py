"""Mock keypad and hookswitch: a test or the control API presses keys on virtual time.

Why: the firmware must be driven headless exactly as a person drives the
handset, with key-down and key-up at times the test controls. Events reach the
sink synchronously at ``clock.time()`` (or when the clock reaches a scheduled
press), on the one thread there is.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable

from hal.base import EventSink, HookEvent, Hookswitch, InputEvent, KeyEvent, Keypad
from hal.clock import VirtualClock
from hal.settings import valid_key_name

__all__ = ["MockHookswitch", "MockKeypad"]

log = logging.getLogger(__name__)

HISTORY = 10_000  # events kept for inspection; a long soak test must not grow memory
MAX_DIAL = 256  # keys in one dial() call: the control API passes user input here


class _Emitter:
    def __init__(self) -> None:
        self._sink: EventSink | None = None
        self.events: deque[InputEvent] = deque(maxlen=HISTORY)
        self.dropped = 0

    def set_sink(self, sink: EventSink) -> None:
        self._sink = sink

    def _emit(self, event: InputEvent) -> None:
        self.events.append(event)
        if self._sink is None:
            self.dropped += 1
            log.debug("no sink yet, dropped %r", event)
            return
        self._sink(event)


class MockKeypad(_Emitter, Keypad):
    """Keys '0'-'9', '*', '#', softkeyN, lineN and feature keys, pressed on a VirtualClock."""

    def __init__(self, clock: VirtualClock, keys: Iterable[str] | None = None) -> None:
        super().__init__()
        self._clock = clock
        self._keys = frozenset(keys) if keys is not None else None
        self._down: set[str] = set()

    def check(self, key: str) -> None:
        """Raise ValueError unless this handset has ``key``."""
        ok = key in self._keys if self._keys is not None else valid_key_name(key)
        if not ok:
            raise ValueError(f"no such key: {key!r}")

    @property
    def held(self) -> frozenset[str]:
        return frozenset(self._down)

    def key_down(self, key: str) -> None:
        self.check(key)
        if key in self._down:
            return  # a real key cannot go down twice
        self._down.add(key)
        self._emit(KeyEvent(key=key, down=True, at=self._clock.time()))

    def key_up(self, key: str) -> None:
        self.check(key)
        if key not in self._down:
            return
        self._down.discard(key)
        self._emit(KeyEvent(key=key, down=False, at=self._clock.time()))

    def press(self, key: str, hold: float = 0.1) -> float:
        """Key down now, up after ``hold`` seconds of virtual time; returns the release time."""
        self.check(key)
        self.key_down(key)
        release = self._clock.time() + hold
        self._clock.call_at(release, lambda: self.key_up(key))
        return release

    def dial(self, keys: str | Iterable[str], gap: float = 0.2, hold: float = 0.1) -> float:
        """Schedule ``keys`` in order: each held ``hold`` s, ``gap`` s between keys.

        A string is split into characters ("5550002#"); pass a list for named
        keys. All keys are checked before any is pressed. Returns the time the
        last key is released; advance the clock to it.
        """
        seq = list(keys)
        if len(seq) > MAX_DIAL:
            raise ValueError(f"at most {MAX_DIAL} keys at once, got {len(seq)}")
        for key in seq:
            self.check(key)
        t = self._clock.time()
        for key in seq:
            self._clock.call_at(t, lambda k=key: self.key_down(k))
            self._clock.call_at(t + hold, lambda k=key: self.key_up(k))
            t += hold + gap
        return t - gap if seq else t


class MockHookswitch(_Emitter, Hookswitch):
    """The handset cradle: ``lift()`` and ``replace()`` at the clock's current time."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self._clock = clock
        self._off_hook = False

    @property
    def off_hook(self) -> bool:
        return self._off_hook

    def lift(self) -> None:
        self._set(True)

    def replace(self) -> None:
        self._set(False)

    hang_up = replace

    def _set(self, off_hook: bool) -> None:
        if off_hook == self._off_hook:
            return
        self._off_hook = off_hook
        self._emit(HookEvent(off_hook=off_hook, at=self._clock.time()))
