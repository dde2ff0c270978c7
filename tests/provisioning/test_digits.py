"""DigitCollector: keys + virtual time in, dial/tone/invalid events out."""

from __future__ import annotations

from pathlib import Path

from firmware.provisioning.dialplan import parse_dialplan
from firmware.provisioning.digits import (
    DialEvent,
    DialNumber,
    DigitCollector,
    InvalidNumber,
    SecondaryDialTone,
)
from hal.clock import VirtualClock

PLAN = parse_dialplan((Path(__file__).resolve().parents[2] / "config" / "dialplan.xml")
                      .read_bytes())


def drain(c: DigitCollector) -> list[DialEvent]:
    out = []
    while (ev := c.next_event()) is not None:
        out.append(ev)
    return out


def dial(c: DigitCollector, keys: str, now: float = 0.0) -> list[DialEvent]:
    for k in keys:
        c.press(k, now)
    return drain(c)


def run_timers(c: DigitCollector, clock: VirtualClock, until: float) -> None:
    """Fire the collector's timer the way the shell would, on virtual time."""
    while (deadline := c.get_timer()) is not None and deadline <= until:
        clock.call_at(deadline, lambda: c.handle_timer(clock.time()))
        clock.advance_to(deadline)
    clock.advance_to(max(until, clock.time()))


def test_complete_match_with_timeout_zero_dials_at_once_with_user_and_rewrite() -> None:
    c = DigitCollector(PLAN)
    events = dial(c, "912125551234")
    assert events[0] == SecondaryDialTone(dialled="9")
    assert events[1] == DialNumber(number="12125551234", dialled="912125551234", user="phone",
                                   template="9,1..........")
    assert c.done and c.get_timer() is None


def test_emergency_number_goes_out_without_waiting() -> None:
    c = DigitCollector(PLAN)
    events = dial(c, "911")
    assert events[-1] == DialNumber(number="911", dialled="911", user="phone", template="911")


def test_catch_all_waits_its_timeout_then_dials(clock: VirtualClock) -> None:
    c = DigitCollector(PLAN, interdigit_timeout=10)
    assert dial(c, "30", clock.time()) == []
    assert c.get_timer() == clock.time() + 4  # the "*" template's Timeout
    run_timers(c, clock, 3.9)
    assert drain(c) == []
    run_timers(c, clock, 4.0)
    assert drain(c) == [DialNumber(number="30", dialled="30", user=None, template="*")]


def test_each_key_restarts_the_timer(clock: VirtualClock) -> None:
    c = DigitCollector(PLAN)
    c.press("3", clock.time())
    clock.advance(3)
    c.press("4", clock.time())
    assert c.get_timer() == 7.0
    run_timers(c, clock, 6.9)
    assert drain(c) == []


def test_pound_ends_dialling_at_a_terminator_marker() -> None:
    c = DigitCollector(PLAN)
    events = dial(c, "9011442071234567#")
    assert events[-1] == DialNumber(number="011442071234567", dialled="9011442071234567",
                                    user="phone", template="9011*>#")


def test_pound_sends_when_no_template_uses_it_and_can_be_disabled() -> None:
    plan = parse_dialplan("<DIALTEMPLATE><TEMPLATE MATCH='7....' Timeout='0'/>"
                          "</DIALTEMPLATE>")
    c = DigitCollector(plan, pound_sends=True)
    assert dial(c, "712#") == [DialNumber(number="712", dialled="712", user=None,
                                          template=None)]
    strict = DigitCollector(plan, pound_sends=False)
    assert dial(strict, "712#") == [InvalidNumber(dialled="712#",
                                                  reason="no dial plan template matches")]


def test_literal_pound_in_a_template_is_a_digit() -> None:
    plan = parse_dialplan("<DIALTEMPLATE><TEMPLATE MATCH='\\*72*#' Timeout='0'/>"
                          "</DIALTEMPLATE>")
    c = DigitCollector(plan)
    assert dial(c, "*725551#") == [DialNumber(number="*725551#", dialled="*725551#",
                                              user=None, template="\\*72*#")]


def test_no_match_is_reported_at_once() -> None:
    plan = parse_dialplan("<DIALTEMPLATE><TEMPLATE MATCH='2...' Timeout='0'/></DIALTEMPLATE>")
    c = DigitCollector(plan)
    assert dial(c, "3") == [InvalidNumber(dialled="3", reason="no dial plan template matches")]
    c.press("2", 0.0)  # ignored once done
    assert drain(c) == [] and c.dialled == "3"


def test_partial_without_fallback_times_out_as_incomplete(clock: VirtualClock) -> None:
    plan = parse_dialplan("<DIALTEMPLATE><TEMPLATE MATCH='2...' Timeout='0'/></DIALTEMPLATE>")
    c = DigitCollector(plan, interdigit_timeout=6)
    dial(c, "20", clock.time())
    assert c.get_timer() == 6.0
    run_timers(c, clock, 6.0)
    assert drain(c) == [InvalidNumber(dialled="20", reason="incomplete number")]


def test_outranked_complete_match_is_dialled_when_the_interdigit_timer_fires(
        clock: VirtualClock) -> None:
    plan = parse_dialplan("<DIALTEMPLATE><TEMPLATE MATCH='1...' Timeout='0' User='IP'/>"
                          "<TEMPLATE MATCH='1...5..' Timeout='0'/></DIALTEMPLATE>")
    c = DigitCollector(plan, interdigit_timeout=5)
    assert dial(c, "1234", clock.time()) == []
    run_timers(c, clock, 5.0)
    assert drain(c) == [DialNumber(number="1234", dialled="1234", user="ip", template="1...")]


def test_dial_softkey_sends_what_is_entered() -> None:
    plan = parse_dialplan("<DIALTEMPLATE><TEMPLATE MATCH='2...' Timeout='0'/></DIALTEMPLATE>")
    c = DigitCollector(plan)
    dial(c, "20")
    c.send(1.0)
    assert drain(c) == [DialNumber(number="20", dialled="20", user=None, template=None)]
    empty = DigitCollector(plan)
    empty.send(0.0)
    assert drain(empty) == [InvalidNumber(dialled="", reason="nothing dialled")]


def test_without_a_dial_plan_numbers_dial_after_the_interdigit_timeout(
        clock: VirtualClock) -> None:
    c = DigitCollector(None, interdigit_timeout=3)
    dial(c, "5550002", clock.time())
    run_timers(c, clock, 3.0)
    assert drain(c) == [DialNumber(number="5550002", dialled="5550002", user=None,
                                   template=None)]
    c2 = DigitCollector(None)
    assert dial(c2, "12#") == [DialNumber(number="12", dialled="12", user=None, template=None)]


def test_cancel_and_reset(clock: VirtualClock) -> None:
    c = DigitCollector(PLAN)
    dial(c, "30")
    c.cancel()
    assert c.get_timer() is None
    run_timers(c, clock, 100)
    assert drain(c) == []
    c.reset()
    assert dial(c, "911")[-1].number == "911"  # type: ignore[union-attr]


def test_non_keypad_keys_are_ignored_and_length_is_bounded() -> None:
    c = DigitCollector(None, max_digits=4)
    for k in ("softkey1", "A", "", "12"):
        c.press(k, 0.0)
    assert c.dialled == ""
    assert dial(c, "12345") == [InvalidNumber(dialled="1234", reason="more than 4 keys")]
