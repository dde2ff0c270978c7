"""The step-table comparison used by the demo and the flow tests."""

from __future__ import annotations

from firmware.demo.figures import compare

STEPS = [("A", "B", "INVITE"), ("B", "A", "100 Trying"), ("B", "A", "200 OK"), ("A", "B", "ACK")]


def test_exact_match_with_100_optional_and_trailing_messages() -> None:
    rec = [("A", "B", "INVITE"), ("B", "A", "200 OK"), ("A", "B", "ACK"), ("A", "B", "BYE")]
    assert compare(rec, STEPS) is None
    assert compare([("A", "B", "INVITE"), ("B", "A", "100 Trying"), *rec[1:]], STEPS) is None


def test_retransmissions_are_not_steps_but_missing_steps_are_reported() -> None:
    rec = [("A", "B", "INVITE"), ("A", "B", "INVITE"), ("B", "A", "200 OK")]
    assert compare(rec, STEPS) == (
        "step 3: expected ('A', 'B', 'ACK'), but the recording ends after 2 messages")


def test_wrong_order_is_a_mismatch_unless_legwise() -> None:
    steps = [("B", "C", "BYE"), ("C", "B", "200 OK"), ("B", "A", "BYE"), ("A", "B", "200 OK")]
    rec = [("B", "C", "BYE"), ("B", "A", "BYE"), ("C", "B", "200 OK"), ("A", "B", "200 OK")]
    assert compare(rec, steps) == "step 2: expected ('C', 'B', '200 OK'), got ('B', 'A', 'BYE')"
    assert compare(rec, steps, legwise=True) is None
    bad = [("B", "C", "BYE"), ("A", "B", "200 OK"), ("B", "A", "BYE"), ("C", "B", "200 OK")]
    assert compare(bad, steps, legwise=True) is not None  # within a leg the order still counts


def test_extras_are_skipped_wherever_they_occur() -> None:
    steps = [("A", "P", "INVITE"), ("P", "A", "200 OK")]
    rec = [("A", "P", "INVITE"), ("P", "A", "180 Ringing"), ("P", "A", "200 OK")]
    assert compare(rec, steps) is not None
    assert compare(rec, steps, extras=[("P", "A", "180 Ringing")]) is None
