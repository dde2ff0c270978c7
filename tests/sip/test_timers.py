"""Timer values of RFC 3261 Table 4, derived from configurable T1/T2/T4."""

from __future__ import annotations

import pytest

from firmware.sip.timers import DEFAULT_TIMERS, TimerConfig

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def test_defaults_are_table_4() -> None:
    t = DEFAULT_TIMERS
    assert (t.t1, t.t2, t.t4) == (0.5, 4.0, 5.0)
    assert t.timer_b == t.timer_f == t.timer_h == 32.0
    assert t.timer_d(reliable=False) == 32.0 and t.timer_d(reliable=True) == 0.0
    assert t.timer_i(reliable=False) == 5.0 and t.timer_i(reliable=True) == 0.0
    assert t.timer_j(reliable=False) == 32.0 and t.timer_j(reliable=True) == 0.0
    assert t.timer_k(reliable=False) == 5.0 and t.timer_k(reliable=True) == 0.0
    assert t.trying_delay == 0.2


def test_timer_e_doubles_and_caps_at_t2() -> None:
    t = DEFAULT_TIMERS
    assert [t.timer_e(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert t.timer_e(0, proceeding=True) == 4.0


def test_timer_a_doubles_without_cap() -> None:
    assert [DEFAULT_TIMERS.timer_a(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_timer_g_and_2xx_cap_at_t2() -> None:
    t = TimerConfig(t1=0.1, t2=0.3)
    assert [t.timer_g(n) for n in range(4)] == [0.1, 0.2, 0.3, 0.3]
    assert [t.retransmit_2xx(n) for n in range(4)] == [0.1, 0.2, 0.3, 0.3]


def test_custom_t1_moves_64t1_timers() -> None:
    t = TimerConfig(t1=0.25)
    assert t.timer_b == t.timer_f == t.timer_h == t.ack_timeout_2xx == 16.0
    assert t.timer_j(reliable=False) == 16.0


@pytest.mark.parametrize("kw", [{"t1": 0.0}, {"t1": 5.0, "t2": 4.0}, {"t4": -1.0}])
def test_invalid_config_rejected(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TimerConfig(**kw)
