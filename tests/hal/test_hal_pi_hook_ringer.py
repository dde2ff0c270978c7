"""The real Pi hookswitch and ringer code (hal.pi.hook, hal.pi.ringer) on gpiozero's MockFactory."""

from __future__ import annotations

from typing import Any

import pytest
from peers_proc import require_module

from hal.base import RING_WAITING_BEEP, HookEvent
from hal.clock import VirtualClock
from hal.settings import HalSettings

require_module("gpiozero")

from gpiozero.pins.mock import MockPin  # noqa: E402

from hal.pi.hook import PiHookswitch  # noqa: E402
from hal.pi.ringer import PiRinger  # noqa: E402

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def hook_on(pin_factory: Any, clock: VirtualClock, **kw: Any) -> tuple[PiHookswitch, Any, list[HookEvent]]:
    pin = pin_factory.pin(4)
    hook = PiHookswitch(HalSettings(**kw), pin_factory, clock, clock.call_soon)
    events: list[HookEvent] = []
    hook.set_sink(events.append)  # type: ignore[arg-type]
    return hook, pin, events


def test_lift_and_replace_normally_open_contact(pin_factory: Any, clock: VirtualClock) -> None:
    hook, pin, events = hook_on(pin_factory, clock, hook_debounce=0.1)
    assert not hook.off_hook
    pin.drive_low()  # NO contact closes when lifted
    clock.advance(1.0)
    assert hook.off_hook
    pin.drive_high()
    clock.advance(1.0)
    assert [(e.off_hook, e.at) for e in events] == [(True, pytest.approx(0.1)), (False, pytest.approx(1.1))]
    hook.close()


def test_chatter_never_yields_a_spurious_hang_up(pin_factory: Any, clock: VirtualClock) -> None:
    hook, pin, events = hook_on(pin_factory, clock, hook_debounce=0.1)
    pin.drive_low()
    clock.advance(0.5)
    assert events == [HookEvent(off_hook=True, at=pytest.approx(0.1))]  # type: ignore[arg-type]
    # The handset is knocked against the cradle: 30 bounces of 1-40 ms open, all shorter than 0.1 s.
    for i in range(30):
        pin.drive_high()
        clock.advance(0.001 + (i % 5) * 0.009)
        pin.drive_low()
        clock.advance(0.002 + (i % 3) * 0.03)
    clock.advance(2.0)
    assert len(events) == 1, f"chatter produced {events[1:]}"
    assert hook.off_hook
    assert hook.edges > 60
    hook.close()


def test_chatter_while_hanging_up_gives_exactly_one_hang_up(pin_factory: Any, clock: VirtualClock) -> None:
    hook, pin, events = hook_on(pin_factory, clock, hook_debounce=0.1)
    pin.drive_low()
    clock.advance(0.5)
    for _ in range(5):
        pin.drive_high()
        clock.advance(0.01)
        pin.drive_low()
        clock.advance(0.01)
    pin.drive_high()
    clock.advance(1.0)
    assert [e.off_hook for e in events] == [True, False]
    assert events[1].at == pytest.approx(0.5 + 0.1 + 0.1)
    hook.close()


class _ClosedAtBoot(MockPin):
    """A contact already closed to ground when the pull-up is switched on."""

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        self.drive_low()


def test_normally_closed_contact_opens_when_lifted(pin_factory: Any, clock: VirtualClock) -> None:
    pin = pin_factory.pin(4, pin_class=_ClosedAtBoot)  # on the cradle, NC contact closed
    hook = PiHookswitch(HalSettings(hook_polarity="NC"), pin_factory, clock, clock.call_soon)
    events: list[HookEvent] = []
    hook.set_sink(events.append)  # type: ignore[arg-type]
    assert not hook.off_hook
    pin.drive_high()
    clock.advance(0.5)
    assert hook.off_hook and [e.off_hook for e in events] == [True]
    hook.close()


def test_handset_already_lifted_at_boot_is_the_initial_state(pin_factory: Any, clock: VirtualClock) -> None:
    pin_factory.pin(4, pin_class=_ClosedAtBoot)
    hook = PiHookswitch(HalSettings(), pin_factory, clock, clock.call_soon)
    assert hook.off_hook
    hook.close()


def test_buzzer_follows_the_cadence_on_the_loop_clock(pin_factory: Any, clock: VirtualClock) -> None:
    ringer = PiRinger(HalSettings(ring_cadence=((0.4, 0.2), (0.4, 2.0))), pin_factory, clock)
    pin = pin_factory.pin(12)
    seen: list[tuple[float, bool]] = []

    def sample() -> None:
        seen.append((round(clock.time(), 3), bool(pin.state)))

    ringer.ring()
    for t in (0.1, 0.5, 0.7, 1.1, 2.0, 3.1, 3.5):
        clock.call_at(t, sample)
    clock.advance(4.0)
    assert seen == [(0.1, True), (0.5, False), (0.7, True), (1.1, False), (2.0, False), (3.1, True), (3.5, False)]
    assert ringer.ringing
    ringer.stop()
    clock.advance(10.0)
    assert not pin.state and not ringer.ringing
    ringer.close()


def test_tonal_buzzer_plays_the_configured_pitch(clock: VirtualClock) -> None:
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    pin_factory = MockFactory(pin_class=MockPWMPin)
    pin = pin_factory.pin(12)
    ringer = PiRinger(HalSettings(buzzer_tone_hz=1000.0), pin_factory, clock)
    ringer.ring(RING_WAITING_BEEP)
    assert pin.frequency == pytest.approx(1000.0)
    clock.advance(0.35)
    assert pin.frequency is None  # silent after the 0.3 s chirp
    clock.advance(9.7)  # t = 10.05
    assert pin.frequency == pytest.approx(1000.0)  # the next chirp, 10 s after the first
    ringer.close()
    pin_factory.reset()
