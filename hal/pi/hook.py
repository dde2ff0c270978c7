"""Raspberry Pi hookswitch: one GPIO contact, polarity and debounce from config.

Why a long quiet time on the loop clock instead of gpiozero's ``bounce_time``:
gpiozero's bounce time drops edges that follow an accepted edge, so a chattering
contact can leave it reporting the wrong final level, and its mock factory
ignores it entirely. ``hal.debounce.Debouncer`` accepts a level only after the
contact has been quiet for ``hook_debounce`` seconds and re-reads the pin then:
chatter shorter than that never produces a hang-up.

Polarity: the contact closes to ground through the pin's pull-up.
``NO`` (normally open): the contact closes when the handset is lifted.
``NC`` (normally closed): the contact opens when the handset is lifted.
"""

from __future__ import annotations

import logging
from typing import Any

from hal.base import EventSink, HookEvent, Hookswitch
from hal.clock import Clock
from hal.debounce import Debouncer
from hal.pi.keypad import Post
from hal.settings import HalSettings

__all__ = ["PiHookswitch"]

log = logging.getLogger(__name__)


class PiHookswitch(Hookswitch):
    def __init__(self, settings: HalSettings, pin_factory: Any, clock: Clock, post: Post) -> None:
        from gpiozero import DigitalInputDevice

        self._sink: EventSink | None = None
        self._lift_closes = settings.hook_polarity == "NO"
        self._dev = DigitalInputDevice(settings.hook_pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
        self._debouncer = Debouncer(
            clock, settings.hook_debounce, self._read, self._changed, initial=self._read()
        )
        self._dev.when_activated = self._dev.when_deactivated = lambda: post(self._debouncer.edge)
        log.info("hookswitch on GPIO %d (%s), %s at boot", settings.hook_pin,
                 settings.hook_polarity, "off-hook" if self.off_hook else "on-hook")

    def _read(self) -> bool:
        closed = bool(self._dev.is_active)
        return closed if self._lift_closes else not closed

    def _changed(self, off_hook: bool, at: float) -> None:
        if self._sink is not None:
            self._sink(HookEvent(off_hook=off_hook, at=at))

    @property
    def off_hook(self) -> bool:
        return self._debouncer.state

    @property
    def edges(self) -> int:
        """Raw edges seen, chatter included (diagnostics)."""
        return self._debouncer.edges

    def set_sink(self, sink: EventSink) -> None:
        self._sink = sink

    def close(self) -> None:
        self._debouncer.close()
        self._dev.close()
