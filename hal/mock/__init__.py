"""Mock backends on a virtual clock: the whole firmware runs headless.

``MockHal(clock)`` bundles a keypad and hookswitch that tests press, a display
whose screen reads back as text or PNG, a ringer with a timestamped history,
and the mock audio device (``hal.mock.audio``, when present).
"""

from __future__ import annotations

import logging

from hal.base import Audio, Hal
from hal.clock import VirtualClock
from hal.mock.display import MockDisplay, MockRinger
from hal.mock.keypad import MockHookswitch, MockKeypad
from hal.settings import HalSettings

__all__ = ["MockDisplay", "MockHal", "MockHookswitch", "MockKeypad", "MockRinger"]

log = logging.getLogger(__name__)

_DEFAULT = object()


def _default_audio(clock: VirtualClock) -> Audio | None:
    """The media team's MockAudio, or None (logged) on a checkout without it."""
    try:
        from hal.mock.audio import MockAudio  # type: ignore[import-not-found]
    except ImportError:
        log.warning("mock HAL: hal.mock.audio is not available; running without audio")
        return None
    return MockAudio(clock)


class MockHal(Hal):
    """The HAL bundle for headless runs; every device shares ``clock``."""

    keypad: MockKeypad
    hook: MockHookswitch
    display: MockDisplay
    ringer: MockRinger

    def __init__(
        self,
        clock: VirtualClock | None = None,
        settings: HalSettings | None = None,
        *,
        audio: Audio | None | object = _DEFAULT,
    ) -> None:
        self.clock = clock if clock is not None else VirtualClock()
        self.settings = settings or HalSettings()
        s = self.settings
        super().__init__(
            keypad=MockKeypad(self.clock),
            hook=MockHookswitch(self.clock),
            display=MockDisplay(self.clock, s.width, s.height),
            ringer=MockRinger(self.clock, s.ring_cadence),
            audio=_default_audio(self.clock) if audio is _DEFAULT else audio,  # type: ignore[arg-type]
            name="mock",
        )
