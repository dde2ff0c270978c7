"""Random users and random (possibly hostile) SIP events never break the phone (h2-style).

Hypothesis drives a Phone on the recording endpoint with keys, hook changes,
softkeys, time and every kind of endpoint event for live and unknown
sessions, with good, garbage and missing SDP. Only ``PhoneError`` may come out
of a user verb; nothing may come out of a SIP event or a timer; the line never
carries more than two live calls; no deadline is left in the past.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.phone.line import MAX_CALLS_PER_LINE
from firmware.phone.phone import PhoneError
from firmware.phone.settings import LineSettings
from firmware.phone.softkeys import ALL_SOFTKEYS
from firmware.sip import events as ev
from hal.base import HookEvent, KeyEvent

from .fakes import FakeRequest, Harness, offer_sdp
from .test_dialing import PLAN

#: FUZZ_EXAMPLES=5000 for a long local run; the suite default stays a couple of seconds.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "400"))

SDPS = st.sampled_from([None, b"", b"garbage\r\n", offer_sdp(), offer_sdp(direction="sendonly"),
                        offer_sdp(hold_style="connection", direction="sendonly")])
STATUSES = st.sampled_from([100, 180, 183, 200, 202, 300, 302, 401, 405, 407, 408, 480, 486,
                            487, 488, 500, 501, 503, 600, 603])
HEADERS = st.sampled_from([{}, {"Refer-To": "<sip:x@10.0.0.9>"}, {"Refer-To": "<<<"},
                           {"Also": "<sip:y@10.0.0.9>"}, {"Replaces": "cid-in1;to-tag=ltag-in1;from-tag=rtag-in1"},
                           {"Replaces": ";;;"}, {"Event": "refer"}, {"Event": "dialog"}])

user_step = st.one_of(
    st.tuples(st.just("hook"), st.booleans()),
    st.tuples(st.just("key"), st.sampled_from(list("0123456789*#") + [
        "softkey1", "softkey2", "softkey3", "softkey4", "speaker", "hold", "bogus", "line1",
        "line2"])),
    st.tuples(st.just("softkey"), st.sampled_from(sorted(ALL_SOFTKEYS) + ["nope"])),
    st.tuples(st.just("dial"), st.sampled_from(["5550003", "sip:c@10.0.0.3", "", "x y"])),
    st.tuples(st.just("transfer_to"), st.sampled_from(["5550004", ""])),
    st.tuples(st.just("time"), st.floats(min_value=0.0, max_value=70.0)),
)
sip_step = st.tuples(
    st.just("sip"),
    st.sampled_from(["IncomingCall", "CallProgress", "CallAnswered", "CallConfirmed", "CallFailed",
                     "CallEnded", "ReInviteReceived", "ReInviteAnswered", "ReInviteFailed",
                     "InDialogRequest", "RequestAnswered", "Registered", "OutOfDialogRequest"]),
    st.integers(min_value=0, max_value=6), STATUSES, SDPS, HEADERS,
    st.sampled_from(["REFER", "NOTIFY", "INFO", "BYE", "OPTIONS"]),
)


def _session(h: Harness, pick: int) -> str:
    """Mostly a session the phone knows (live calls first), sometimes a stranger."""
    live = [c.session for c in h.phone._all_calls() if c.session and not c.ended]
    known = live + [c.session for c in h.phone._all_calls() if c.session] + ["zz"]
    return known[pick % len(known)] if pick < 5 or not live else live[0]


def _event(h: Harness, kind: str, pick: int, status: int, sdp: Any, headers: dict[str, str],
           method: str) -> Any:
    session = _session(h, pick)
    req = FakeRequest(dict(headers))
    if kind == "IncomingCall":
        session = f"in{pick}"
        h.sip.dialogs[session] = (f"cid-{session}", f"ltag-{session}", f"rtag-{session}")
        to = f"sip:55500{'1' if pick % 2 else '0'}2@10.0.0.2"
        return ev.IncomingCall(session=session, call_id="c", from_uri="sip:a@10.0.0.1",
                               from_display=None, to_uri=to, request_uri=to, sdp=sdp,
                               request=req)
    if kind == "CallProgress":
        return ev.CallProgress(session=session, status=status, reason="x", sdp=sdp)
    if kind == "CallAnswered":
        return ev.CallAnswered(session=session, status=200, sdp=sdp)
    if kind == "CallConfirmed":
        return ev.CallConfirmed(session=session, sdp=sdp)
    if kind == "CallFailed":
        return ev.CallFailed(session=session, status=status, reason="x",
                             contacts=("sip:r@10.0.0.7",) if 300 <= status < 400 else ())
    if kind == "CallEnded":
        ended = ev.CallEnded(session=session, by="remote", reason="bye")
        object.__setattr__(ended, "request", req)
        return ended
    if kind == "ReInviteReceived":
        return ev.ReInviteReceived(session=session, sdp=sdp)
    if kind == "ReInviteAnswered":
        return ev.ReInviteAnswered(session=session, sdp=sdp)
    if kind == "ReInviteFailed":
        return ev.ReInviteFailed(session=session, status=status, reason="x")
    if kind == "InDialogRequest":
        return ev.InDialogRequest(session=session, request_id="q", method=method,
                                  body=sdp or b"", content_type=None, request=req)
    if kind == "RequestAnswered":
        rid = next((s[2]["rid"] for s in reversed(h.sip.sent) if "rid" in s[2]), "r0")
        return ev.RequestAnswered(request_id=rid, session=session, method="REFER",
                                  status=status, reason="x")
    if kind == "Registered":
        return ev.Registered(registration="g1", aor="sip:5550002@10.0.0.2", expires=3600)
    return ev.OutOfDialogRequest(request_id="o", method=method, body=b"", content_type=None,
                                 request=req)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(user_step, sip_step), max_size=40),
       st.sampled_from(["c0", "sendonly"]), st.sampled_from(["refer", "also"]), st.booleans(),
       st.booleans(), st.booleans())
def test_phone_survives_anything(steps: list[Any], hold: str, transfer: str, waiting: bool,
                                 with_plan: bool, two_lines: bool) -> None:
    lines = (LineSettings(number="5550002", domain="10.0.0.2"),
             LineSettings(number="5550012", domain="10.0.0.2"))
    h = Harness(hold_method=hold, transfer_method=transfer, call_waiting=waiting,
                cfwd_noanswer_url="sip:vm@10.0.0.9", lines=lines if two_lines else lines[:1])
    p = h.phone
    p.dial_plan = PLAN if with_plan else None
    for step in steps:
        kind = step[0]
        try:
            if kind == "hook":
                p.receive_input(HookEvent(off_hook=step[1], at=h.now), h.now)
            elif kind == "key":
                p.receive_input(KeyEvent(key=step[1], down=True, at=h.now), h.now)
            elif kind == "softkey":
                p.press_softkey(step[1], h.now)
            elif kind == "dial":
                p.dial(step[1], h.now)
            elif kind == "transfer_to":
                p.transfer_to(step[1], h.now)
            elif kind == "time":
                h.advance(step[1])
                timer = p.get_timer()
                assert timer is None or timer > h.now
            else:
                p.receive_sip_event(_event(h, *step[1:]), h.now)
        except PhoneError as exc:
            assert kind in ("softkey", "dial", "transfer_to") and exc.status in (400, 409)
        h.drain()
        assert p.errors == 0
        for line in p.lines:
            assert len(line.live) <= MAX_CALLS_PER_LINE
        screen = p.screen(h.now)
        assert len(screen.softkeys) <= 4
        if p.ringing:
            assert any(c.state in ("incoming", "holding") for c in p.calls())
