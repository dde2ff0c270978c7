"""CorePump: one timer per core on a Clock, output flushed after every input, errors contained."""

from __future__ import annotations

from typing import Any

import pytest

from firmware.app.pump import CorePump
from hal.clock import VirtualClock


class Ticker:
    """A toy sans-IO core: after ``start`` it emits one datagram every ``period`` seconds."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.next: float | None = None
        self.out: list[str] = []
        self.events: list[str] = []
        self.fail_next_input = False

    def start(self, *, now: float) -> None:
        if self.fail_next_input:
            raise ValueError("boom")
        self.next = now + self.period
        self.events.append(f"started@{now}")

    def stop(self, *, now: float) -> None:
        self.next = None

    def get_timer(self) -> float | None:
        return self.next

    def handle_timer(self, now: float) -> None:
        if self.next is not None and now >= self.next:
            self.out.append(f"tick@{now:.1f}")
            self.next += self.period

    def datagrams_to_send(self) -> list[str]:
        out, self.out = self.out, []
        return out

    def next_event(self) -> str | None:
        return self.events.pop(0) if self.events else None


def test_timer_drives_output_at_exact_virtual_instants() -> None:
    clock = VirtualClock(start=100.0)
    core = Ticker(0.5)
    sent: list[Any] = []
    events: list[Any] = []
    pump = CorePump(core, clock, send=sent.append, on_event=events.append)
    pump.input(core.start)
    assert events == ["started@100.0"]
    clock.advance(1.6)
    assert sent == ["tick@100.5", "tick@101.0", "tick@101.5"]
    pump.input(core.stop)
    clock.advance(10)
    assert len(sent) == 3
    assert clock.next_deadline() is None  # the cancelled timer is gone


@pytest.mark.internal_errors_expected  # the core raises on purpose
def test_failing_input_is_logged_and_counted_not_raised() -> None:
    clock = VirtualClock()
    core = Ticker(1.0)
    core.fail_next_input = True
    pump = CorePump(core, clock, send=lambda _x: None)
    assert pump.input(core.start) is None
    assert pump.errors == 1
    core.fail_next_input = False
    pump.input(core.start)
    clock.advance(1.0)
    assert pump.timer_fired == 1


def test_handler_that_feeds_the_core_is_flushed_again() -> None:
    clock = VirtualClock()
    core = Ticker(1.0)
    sent: list[str] = []

    def on_event(ev: str) -> None:
        core.out.append(f"reply-to-{ev}")
        pump.flush()  # re-entrant: must not recurse, must still send

    pump = CorePump(core, clock, send=sent.append, on_event=on_event)
    pump.input(core.start)
    assert sent == ["reply-to-started@0.0"]


def test_close_stops_the_timer() -> None:
    clock = VirtualClock()
    core = Ticker(1.0)
    sent: list[str] = []
    pump = CorePump(core, clock, send=sent.append)
    pump.input(core.start)
    pump.close()
    clock.advance(5)
    assert sent == []


def test_deferred_core_is_ticked_by_the_other_pumps_wakeup() -> None:
    """Two cores on one grid: only the leader arms a timer; the follower's output goes
    out in the leader's wake-up, after the leader's ``before_timer`` hook and period."""
    clock = VirtualClock(start=0.0)
    leader, follower = Ticker(0.02), Ticker(0.02)
    order: list[str] = []
    sent: list[str] = []
    lead = CorePump(leader, clock, send=lambda x: order.append(f"lead {x}"),
                    before_timer=lambda: order.append("drain"))
    follow = CorePump(follower, clock, send=sent.append,
                      defer=lambda when: leader.next is not None and abs(leader.next - when) < 1e-9)
    lead.after = follow.tick
    lead.input(leader.start)
    follow.input(follower.start)
    assert lead._handle is not None and follow._handle is None  # one armed timer for both
    fired_before = follow.timer_fired
    clock.advance(0.1)
    assert len(sent) == 5 and follow.timer_fired == fired_before  # never its own timer
    assert order[:2] == ["drain", "lead tick@0.0"]


def test_tick_before_the_deadline_does_nothing_and_off_grid_deadlines_arm() -> None:
    clock = VirtualClock(start=0.0)
    core = Ticker(0.03)
    sent: list[str] = []
    pump = CorePump(core, clock, send=sent.append, defer=lambda when: abs(when % 0.02) < 1e-9)
    pump.input(core.start)
    pump.tick()
    assert sent == []
    clock.advance(0.031)  # 0.03 is not on the 20 ms grid: the core's own timer fired
    assert len(sent) == 1


class EarlyTicker(Ticker):
    """A core that counts a deadline due 1 ms early (as the media engine does)."""

    def __init__(self, period: float) -> None:
        super().__init__(period)
        self.fired: list[float] = []

    def handle_timer(self, now: float) -> None:
        self.fired.append(now)
        if self.next is not None and now >= self.next - 0.001:
            self.next += self.period


def test_arm_early_fires_before_the_deadline_and_keeps_it() -> None:
    """``arm_early``: the clock is asked for ``deadline - arm_early`` (asyncio wakes late,
    never early); the pump still reports the core's own deadline as the one armed."""
    clock = VirtualClock(start=0.0)
    core = EarlyTicker(0.5)
    pump = CorePump(core, clock, arm_early=0.0005)
    pump.input(core.start)
    assert pump.deadline == 0.5
    clock.advance(1.1)
    assert core.fired == [pytest.approx(0.4995), pytest.approx(0.9995)]
    assert pump.deadline == pytest.approx(1.5)
