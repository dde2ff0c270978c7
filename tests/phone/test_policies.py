"""Forwarding, redirection and transfer helpers (pure policy)."""

from __future__ import annotations

from typing import Any

import pytest

from firmware.phone.forwarding import Forward, Redirector, Refuse, Ring, decide_incoming, order_by_q
from firmware.phone.settings import MAX_REDIRECTS
from firmware.phone.transfer import (
    Replaces,
    TransferPlan,
    build_refer_to,
    notify_headers,
    parse_refer_to,
    parse_sipfrag,
    sipfrag,
)


def _decide(**kw: Any) -> Any:
    base: dict[str, Any] = dict(now=10.0, cfwd_all_to=None, dnd=False, dnd_response=480,
                                line_busy=False, line_full=False, call_waiting=True,
                                cfwd_busy_url=None, cfwd_noanswer_url=None,
                                cfwd_noanswer_timeout=20.0)
    base.update(kw)
    return decide_incoming(**base)


def test_incoming_decisions_in_7960_order() -> None:
    assert _decide() == Ring(waiting=False)
    assert _decide(cfwd_all_to="sip:c@h", dnd=True) == Forward(target="sip:c@h", why="all")
    assert _decide(dnd=True) == Refuse(status=480, reason="Temporarily Unavailable")
    assert _decide(dnd=True, dnd_response=486).status == 486
    assert _decide(line_busy=True) == Ring(waiting=True)
    assert _decide(line_busy=True, call_waiting=False) == Refuse(status=486, reason="Busy Here")
    assert _decide(line_busy=True, line_full=True, cfwd_busy_url="sip:c@h") == \
        Forward(target="sip:c@h", why="busy")
    assert _decide(cfwd_noanswer_url="sip:v@h") == \
        Ring(waiting=False, forward_at=30.0, forward_to="sip:v@h")


def test_contacts_by_q() -> None:
    assert order_by_q([("a", 0.5), ("b", None), ("c", 0.9), ("d", 0.5)]) == ["b", "c", "a", "d"]


def test_redirector_follows_3xx_and_moves_on_after_busy() -> None:
    r = Redirector()
    r.start("sip:b@proxy")
    assert r.after_failure(300, ("sip:b@phone", "sip:c@phone")) == "sip:b@phone"
    assert r.after_failure(486) == "sip:c@phone"          # B-10
    assert r.after_failure(486) is None                   # nothing left: show busy


def test_redirector_policy_per_class() -> None:
    r = Redirector(pending=["sip:x@h", "sip:y@h"])
    assert r.after_failure(503) == "sip:x@h"               # 5xx: next location
    assert r.after_failure(404) is None                    # 4xx: stop
    r = Redirector(pending=["sip:x@h"])
    assert r.after_failure(603) is None and not r.pending  # 6xx: stop searching


def test_redirect_loops_end() -> None:
    r = Redirector()
    r.start("sip:a@h")
    assert r.after_failure(302, ("sip:a@h",)) is None      # points back at itself
    r = Redirector()
    hops = 0
    while r.after_failure(302, (f"sip:{hops}@h",)) is not None:
        hops += 1
    assert hops == MAX_REDIRECTS


def test_replaces_round_trip_through_refer_to() -> None:
    rep = Replaces(call_id="abc@h", to_tag="t1", from_tag="f1")
    refer_to = build_refer_to("sip:c@10.0.0.3:5062", rep)
    assert refer_to == "<sip:c@10.0.0.3:5062?Replaces=abc%40h%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>"
    assert parse_refer_to(refer_to) == ("sip:c@10.0.0.3:5062", rep)
    assert parse_refer_to('"C" <sip:c@h>') == ("sip:c@h", None)


@pytest.mark.parametrize("bad", ["", "x" * 5000])
def test_bad_refer_to(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_refer_to(bad)


def test_replaces_needs_both_tags() -> None:
    with pytest.raises(ValueError):
        Replaces.parse("abc;to-tag=1")
    assert Replaces.parse("abc; to-tag=1 ;from-tag=2;early-only").early_only


def test_sipfrag_and_notify() -> None:
    assert sipfrag(200, "OK") == b"SIP/2.0 200 OK\r\n"
    assert parse_sipfrag(b"SIP/2.0 180 Ringing\r\n") == (180, "Ringing")
    assert parse_sipfrag(b"hello") is None
    assert ("Subscription-State", "terminated;reason=noresource") in notify_headers(200)
    assert ("Subscription-State", "active;expires=60") in notify_headers(100)


def test_transfer_plan_outcomes() -> None:
    plan = TransferPlan(method="refer", target="sip:c@h")
    assert plan.on_refer_answer(405) == "fallback"
    assert plan.on_refer_answer(202) == "wait"
    assert plan.on_notify(b"SIP/2.0 100 Trying\r\n") == "progress"
    assert plan.on_notify(b"SIP/2.0 200 OK\r\n") == "done"
    assert TransferPlan(method="refer").on_refer_answer(403) == "failed"
    assert TransferPlan(method="refer").on_notify(b"SIP/2.0 486 Busy Here\r\n") == "failed"
