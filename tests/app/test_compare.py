"""The strict figure matcher (firmware.demo.match) and every table it is used with.

The negative tests are the point: for every figure of the seed (B-1..B-17),
every RFC 5359 example, and at every place between two steps, a recording with
one extra final response there is rejected, by the matcher itself, by the
demo's ``figures.compare`` and by the demo's index (``runner.summary``).
"""

from __future__ import annotations

import itertools

import pytest

from firmware.demo import figures, rfc5359
from firmware.demo.ladder import LadderMessage, MessageLog
from firmware.demo.match import FigureSpec, compare, trying
from firmware.demo.runner import FigureOutcome, summary
from firmware.demo.seed import FIGURES as SEED

_ids = itertools.count(1)


def _msgs(steps: list[tuple[str, str, str]]) -> list[LadderMessage]:
    """Messages of distinct transactions (nothing here is a retransmission)."""
    return [LadderMessage(at=i, src=s, dst=d, label=label, call_id="c", cseq=f"{next(_ids)} X")
            for i, (s, d, label) in enumerate(steps)]


def _extra_final(src: str, dst: str) -> LadderMessage:
    return LadderMessage(at=0, src=src, dst=dst, label="200 OK", call_id="c",
                         cseq=f"{next(_ids)} INVITE")


SPEC = FigureSpec(steps=(("A", "B", "INVITE"), ("B", "A", "200 OK"), ("A", "B", "ACK")),
                  extras=trying(("A", "B")), after=(("A", "B", "BYE"), ("B", "A", "200 OK")))


def _all_specs() -> dict[str, FigureSpec]:
    specs = {**SEED, **{f"RFC {k}": v for k, v in rfc5359.SPECS.items()}}
    specs["B-14"] = SEED["B-14"].with_step(3, ("Phone", "Gateway 1", "488 Not Acceptable Here"))
    return specs


def test_the_whole_table_in_order_with_named_extras_and_the_named_tail() -> None:
    ok = [("A", "B", "INVITE"), ("B", "A", "100 Trying"), ("B", "A", "200 OK"), ("A", "B", "ACK"),
          ("A", "B", "BYE"), ("B", "A", "200 OK")]
    assert compare(_msgs(ok), SPEC) is None
    assert "recording ends before it" in compare(_msgs(ok[:-1]), SPEC)  # the tail is checked too
    swapped = [ok[0], ok[3], ok[2], *ok[4:]]
    assert compare(_msgs(swapped), SPEC) is not None  # order counts
    stray = [*ok[:3], ("B", "A", "180 Ringing"), *ok[3:]]
    assert "not a step here" in compare(_msgs(stray), SPEC)  # a 180 the spec does not name
    after_end = [*ok, ("A", "B", "INFO")]
    assert "after the last step" in compare(_msgs(after_end), SPEC)


def test_retransmissions_are_the_same_transaction_only() -> None:
    invite, ok, ack = _msgs([("A", "B", "INVITE"), ("B", "A", "200 OK"), ("A", "B", "ACK")])
    bye, bye_ok = _msgs([("A", "B", "BYE"), ("B", "A", "200 OK")])
    assert compare([invite, invite, ok, ok, ack, ack, bye, bye_ok], SPEC) is None
    # a second 200 OK of another transaction is no retransmission
    other = LadderMessage(at=0, src="B", dst="A", label="200 OK", call_id="c", cseq="99 INVITE")
    assert compare([invite, ok, other, ack, bye, bye_ok], SPEC) is not None
    # plain tuples carry no transaction: no repeat is taken for a retransmission
    assert compare([("A", "B", "INVITE"), ("A", "B", "INVITE"), ("B", "A", "200 OK"),
                    ("A", "B", "ACK"), ("A", "B", "BYE"), ("B", "A", "200 OK")], SPEC) is not None


def test_responses_compare_by_code_requests_by_method_with_also() -> None:
    spec = FigureSpec(steps=(("A", "P", "INVITE"), ("P", "A", "407 Authentication Error"),
                             ("B", "A", "BYE (Also)")))
    rec = [("A", "P", "INVITE (SDP)"), ("P", "A", "407 Proxy Authentication Required"),
           ("B", "A", "BYE (Also)")]
    assert compare(rec, spec) is None
    assert compare([*rec[:2], ("B", "A", "BYE")], spec) is not None  # the BYE must carry Also


def test_a_floating_step_stays_in_its_window() -> None:
    spec = FigureSpec(steps=(("P", "B", "CANCEL"), ("B", "P", "200 OK"), ("P", "C", "INVITE"),
                             ("C", "P", "200 OK")), floats={2: (1, 4)})
    early = [("P", "B", "CANCEL"), ("P", "C", "INVITE"), ("B", "P", "200 OK"), ("C", "P", "200 OK")]
    assert compare(early, spec) is None
    late = [("P", "B", "CANCEL"), ("P", "C", "INVITE"), ("C", "P", "200 OK"), ("B", "P", "200 OK")]
    assert "must come before" in compare(late, spec)


def test_registrations_and_other_parties_are_no_part_of_a_figure() -> None:
    spec = FigureSpec(steps=(("A", "Proxy", "INVITE"),), registrations=True)
    reg = LadderMessage(at=0, src="A", dst="Proxy", label="REGISTER", call_id="r", cseq="1 REGISTER")
    reg_ok = LadderMessage(at=0, src="Proxy", dst="A", label="200 OK", call_id="r", cseq="1 REGISTER")
    other = LadderMessage(at=0, src="X", dst="A", label="486 Busy Here", call_id="x", cseq="1 INVITE")
    assert compare([reg, reg_ok, other, *_msgs([("A", "Proxy", "INVITE")])], spec) is None
    assert compare([reg, *_msgs([("A", "Proxy", "INVITE")])], FigureSpec(steps=spec.steps)) \
        is not None


@pytest.mark.parametrize("name", list(_all_specs()))
def test_every_table_rejects_one_extra_final_response_anywhere(name: str) -> None:
    spec = _all_specs()[name]
    good = list(spec.steps) + list(spec.after)
    assert compare(_msgs(good), spec) is None, "the table itself must match"
    for k in range(1, len(good)):
        src, dst, _label = good[k - 1]
        for extra in (_extra_final(dst, src), _extra_final(src, dst)):
            rec = _msgs(good)
            rec.insert(k, extra)
            diff = compare(rec, spec)
            assert diff is not None, f"{name}: a {extra.label} {extra.src}->{extra.dst} " \
                                     f"after message {k} was accepted"


@pytest.mark.parametrize("figure", figures.DEMO_FIGURES)
def test_the_demo_and_its_index_reject_an_extra_final_response(figure: str) -> None:
    steps = list(SEED[figure].steps) + list(SEED[figure].after)
    rec = _msgs(steps)
    assert figures.compare(rec, figure) is None
    src, dst, _ = steps[1]
    rec.insert(2, _extra_final(dst, src))
    mismatch = figures.compare(rec, figure)
    assert mismatch is not None
    log = MessageLog(messages=rec)
    row = summary([FigureOutcome(figure=figure, log=log, run=None, error=None, mismatch=mismatch)])
    assert f"| {figure} | {len(rec)} | no |" in row
    clean = MessageLog(messages=_msgs(steps))
    row = summary([FigureOutcome(figure=figure, log=clean, run=None, error=None, mismatch=None)])
    assert f"| {figure} | {len(steps)} | yes |" in row


def test_b8_seed_table_has_the_bye_also_after_c_answers_the_bye() -> None:
    steps = list(SEED["B-8"].steps)
    assert steps[11:15] == [("B", "C", "BYE"), ("C", "B", "200 OK"), ("B", "A", "BYE (Also)"),
                            ("A", "B", "200 OK")]
    both_at_once = [*steps[:12], steps[13], steps[12], *steps[14:], *SEED["B-8"].after]
    assert compare(_msgs(both_at_once), SEED["B-8"]) is not None
