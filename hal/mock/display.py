"""Mock display and ringer: what the handset shows and rings, on virtual time.

Why: tests and the control API read the screen as text rows and as the PNG the
panel would show (drawn by ``hal.render``, the same code as the Pi), and read
the ringer's on/off history with exact virtual timestamps.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from hal.base import RING_NORMAL, Display, RingCadence, Screen
from hal.cadence import CadenceRinger
from hal.clock import VirtualClock

if TYPE_CHECKING:  # Pillow loads with the first picture asked for, not at boot
    from PIL import Image

__all__ = ["MockDisplay", "MockRinger"]

HISTORY = 10_000


class MockDisplay(Display):
    """Keeps the current ``Screen`` and a bounded history of (time, Screen) changes."""

    def __init__(self, clock: VirtualClock, width: int = 128, height: int = 64) -> None:
        self._clock = clock
        self.width = width
        self.height = height
        self.current = Screen()
        self.history: deque[tuple[float, Screen]] = deque(maxlen=HISTORY)
        self.redraws = 0  # screens that differed from the previous one

    def show(self, screen: Screen) -> None:
        if screen == self.current and self.history:
            return
        self.current = screen
        self.redraws += 1
        self.history.append((self._clock.time(), screen))

    def text_rows(self) -> list[str]:
        return self.current.text_rows()

    def image(self) -> Image.Image:
        from hal.render import render

        return render(self.current, self.width, self.height)

    def png(self, scale: int = 1) -> bytes:
        from hal.render import render_png

        return render_png(self.current, self.width, self.height, scale)


class MockRinger(CadenceRinger):
    """Records every on/off switch of the ringer as (virtual time, on)."""

    def __init__(self, clock: VirtualClock, default: RingCadence = RING_NORMAL) -> None:
        self._clock = clock
        self.states: deque[tuple[float, bool]] = deque(maxlen=HISTORY)
        super().__init__(clock, default)

    def _output(self, on: bool) -> None:
        self.states.append((self._clock.time(), on))

    @property
    def on(self) -> bool:
        """Whether the ringer is sounding at this instant (inside an 'on' phase)."""
        return bool(self.states) and self.states[-1][1]

    @property
    def cadence(self) -> RingCadence:
        return self._player.cadence
