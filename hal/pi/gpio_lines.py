"""The RPi.GPIO-shaped object luma's SPI interface needs, on gpiozero's pin factory.

Why: luma drives the panel's DC (data/command) and RST lines through an
object with RPi.GPIO's API, importing RPi.GPIO itself when given none. On a
Pi 5 RPi.GPIO does not work, and in tests there is no GPIO at all. Handing
luma this adapter makes the SPI panel use the same pin factory as the keypad
(RPi.GPIO, lgpio or gpiozero's MockFactory), chosen once at boot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["GpioZeroLines"]


class GpioZeroLines:
    """``setup``/``output``/``cleanup`` with RPi.GPIO's constants, on gpiozero output devices."""

    OUT = 0
    IN = 1
    LOW = 0
    HIGH = 1
    BCM = 11

    def __init__(self, pin_factory: Any) -> None:
        self._factory = pin_factory
        self._lines: dict[int, Any] = {}

    def setmode(self, mode: int) -> None:
        """Pins are always BCM numbers here."""

    def setwarnings(self, flag: bool) -> None:
        """gpiozero reports its own warnings."""

    def setup(self, pin: int, direction: int, initial: int | None = None, **_: Any) -> None:
        from gpiozero import DigitalOutputDevice

        if direction != self.OUT:
            raise ValueError("only output lines are needed by the display")
        if pin not in self._lines:
            self._lines[pin] = DigitalOutputDevice(pin, initial_value=bool(initial), pin_factory=self._factory)

    def output(self, pin: int, value: int) -> None:
        self._lines[pin].value = 1 if value else 0

    def cleanup(self, pins: int | Iterable[int] | None = None) -> None:
        if pins is None:
            chosen = list(self._lines)
        elif isinstance(pins, int):
            chosen = [pins]
        else:
            chosen = list(pins)
        for pin in chosen:
            dev = self._lines.pop(pin, None)
            if dev is not None:
                dev.close()
