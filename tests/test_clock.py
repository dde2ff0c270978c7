from __future__ import annotations

import pytest

from hal.clock import VirtualClock

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def test_callbacks_run_in_deadline_order_with_exact_time() -> None:
    clock = VirtualClock()
    seen: list[tuple[str, float]] = []
    clock.call_at(2.0, lambda: seen.append(("b", clock.time())))
    clock.call_at(1.0, lambda: seen.append(("a", clock.time())))
    clock.call_at(2.0, lambda: seen.append(("c", clock.time())))
    assert clock.advance(1.5) == 1
    assert seen == [("a", 1.0)]
    assert clock.time() == 1.5
    clock.advance(10)
    assert seen == [("a", 1.0), ("b", 2.0), ("c", 2.0)]


def test_cancel_and_timer_b_in_no_real_time() -> None:
    clock = VirtualClock()
    fired: list[float] = []
    handle = clock.call_later(0.5, lambda: fired.append(clock.time()))
    handle.cancel()
    clock.call_later(32.0, lambda: fired.append(clock.time()))  # RFC 3261 Timer B = 64*T1
    clock.run_until_idle()
    assert fired == [32.0]
    assert clock.next_deadline() is None


def test_callbacks_scheduled_from_callbacks_run_in_same_advance() -> None:
    clock = VirtualClock()
    fired: list[float] = []

    def tick() -> None:
        fired.append(clock.time())
        if len(fired) < 5:
            clock.call_later(0.02, tick)

    clock.call_at(0.0, tick)
    clock.advance(1.0)
    assert [round(t, 3) for t in fired] == [0.0, 0.02, 0.04, 0.06, 0.08]
