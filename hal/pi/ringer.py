"""Raspberry Pi ringer: a GPIO buzzer switched through a cadence on the loop clock.

Why not gpiozero's ``beep()``: its background thread times the cadence, which
the tests cannot drive and which would touch state off the loop. Here
``hal.cadence.CadencePlayer`` decides when to switch; gpiozero only drives the
pin. A plain (active) buzzer is switched on and off; with ``buzzer_tone_hz``
set, a passive buzzer is driven by ``TonalBuzzer`` at that pitch (PWM pin).
"""

from __future__ import annotations

import logging
from typing import Any

from hal.cadence import CadenceRinger
from hal.clock import Clock
from hal.settings import HalSettings

__all__ = ["PiRinger"]

log = logging.getLogger(__name__)


class PiRinger(CadenceRinger):
    def __init__(self, settings: HalSettings, pin_factory: Any, clock: Clock) -> None:
        from gpiozero import Buzzer, TonalBuzzer
        from gpiozero.tones import Tone

        assert settings.buzzer_pin is not None
        self._tone: Any = None
        if settings.buzzer_tone_hz is None:
            self._dev: Any = Buzzer(settings.buzzer_pin, pin_factory=pin_factory)
        else:
            self._tone = Tone.from_frequency(settings.buzzer_tone_hz)
            self._dev = TonalBuzzer(settings.buzzer_pin, mid_tone=self._tone, octaves=1, pin_factory=pin_factory)
        super().__init__(clock, settings.ring_cadence)

    def _output(self, on: bool) -> None:
        if self._tone is not None:
            self._dev.play(self._tone) if on else self._dev.stop()
        else:
            self._dev.on() if on else self._dev.off()

    def close(self) -> None:
        super().close()
        self._dev.close()
