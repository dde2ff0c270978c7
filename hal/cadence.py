"""Ring cadences played on a clock: the on/off timing of the ringer.

Why on the event loop's clock and not gpiozero's ``blink()`` threads: the
cadence is then exact on the ``VirtualClock`` in tests (``states ==
[(0.0, True), (2.0, False), ...]``), and no thread touches the handset state.
The same player drives the mock ringer and the Pi buzzer.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable
from typing import Any

from hal.base import RingCadence, Ringer
from hal.clock import Cancellable, Clock

__all__ = ["CadencePlayer", "CadenceRinger"]

log = logging.getLogger(__name__)


class CadencePlayer:
    """Switches ``output(on)`` through a repeating (on, off) cadence until stopped."""

    def __init__(self, clock: Clock, output: Callable[[bool], Any]) -> None:
        self._clock = clock
        self._output = output
        self._timer: Cancellable | None = None
        self._cadence: RingCadence = ()
        self._step = 0
        self._on = False

    @property
    def active(self) -> bool:
        return bool(self._cadence)

    @property
    def cadence(self) -> RingCadence:
        return self._cadence

    def start(self, cadence: RingCadence) -> None:
        """(Re)start ``cadence`` from its first 'on' phase, now."""
        if not cadence or any(on <= 0 or off < 0 for on, off in cadence):
            raise ValueError(f"bad ring cadence {cadence!r}")
        self._cancel()
        self._cadence = tuple(cadence)
        self._step = 0
        self._phase()

    def stop(self) -> None:
        self._cancel()
        self._cadence = ()
        self._switch(False)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _switch(self, on: bool) -> None:
        if on != self._on:
            self._on = on
            self._output(on)

    def _phase(self) -> None:
        """Enter step ``_step`` (even: on phase, odd: off phase) and arm the next."""
        self._timer = None
        on_s, off_s = self._cadence[(self._step // 2) % len(self._cadence)]
        turning_on = self._step % 2 == 0
        duration = on_s if turning_on else off_s
        self._step = (self._step + 1) % (2 * len(self._cadence))
        if not turning_on and duration == 0:
            self._phase()  # back-to-back 'on' phases: no off gap to show
            return
        self._switch(turning_on)
        self._timer = self._clock.call_at(self._clock.time() + duration, self._phase)


class CadenceRinger(Ringer):
    """A ``Ringer`` timed by a ``CadencePlayer``; subclasses only switch the sound.

    Why: the mock ringer and the Pi buzzer differ only in what ``_output(on)``
    does (record it, or drive a GPIO pin); ringing, stopping and the default
    cadence are the same.
    """

    def __init__(self, clock: Clock, default: RingCadence) -> None:
        self._default = default
        self._player = CadencePlayer(clock, self._sound)

    def _sound(self, on: bool) -> None:
        # ring volume 0 keeps the cadence (call control still "rings") but never sounds
        self._output(on and self.volume > 0)

    @abc.abstractmethod
    def _output(self, on: bool) -> None: ...

    def ring(self, cadence: RingCadence | None = None) -> None:
        self._player.start(cadence or self._default)

    def stop(self) -> None:
        self._player.stop()

    @property
    def ringing(self) -> bool:
        return self._player.active

    def close(self) -> None:
        self._player.stop()
