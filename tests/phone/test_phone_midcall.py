"""Phone decisions during calls: hold, call waiting, several calls and lines (seed B-6).

One SIP event at a time, on a recording endpoint (see fakes.py).
"""

from __future__ import annotations

import pytest

from firmware.phone.actions import (
    UpdateMedia,
)
from firmware.sip import events as ev
from hal.base import HookEvent, KeyEvent

from .fakes import FakeRequest, Harness, answered_call, offer_sdp


@pytest.mark.parametrize(("method", "marker"), [("c0", b"c=IN IP4 0.0.0.0"),
                                                ("sendonly", b"a=sendonly")])
def test_hold_and_resume_by_reinvite(method: str, marker: bytes) -> None:
    h = Harness(hold_method=method)
    sid = answered_call(h)
    h.phone.press_softkey("hold", 1.0)
    (re,) = h.sip.take()
    assert re[0] == "reinvite" and marker in re[2]["sdp"]
    answer = offer_sdp(address="10.0.0.1", direction="recvonly")
    h.feed(ev.ReInviteAnswered(session=sid, sdp=answer))
    assert h.phone.calls()[0].state == "holding"
    assert not h.of(UpdateMedia)[-1].negotiated.send        # no RTP while held (B-2 step 13)
    assert "hold" in h.phone.screen(1.0).icons
    h.phone.press_softkey("resume", 2.0)
    (re2,) = h.sip.take()
    assert b"a=sendrecv" in re2[2]["sdp"] and b"0.0.0.0" not in re2[2]["sdp"]
    h.feed(ev.ReInviteAnswered(session=sid, sdp=offer_sdp()))
    assert h.phone.calls()[0].state == "connected" and h.of(UpdateMedia)[-1].negotiated.send


@pytest.mark.parametrize("kw", [{"direction": "sendonly"},
                                {"direction": "sendonly", "hold_style": "connection"}])
def test_peer_hold_in_both_forms_is_held(kw: dict[str, str]) -> None:
    h = Harness()
    sid = answered_call(h)
    h.feed(ev.ReInviteReceived(session=sid, sdp=offer_sdp(**kw)))
    (ans,) = h.sip.take()
    assert ans[0] == "answer"
    assert h.phone.calls()[0].state == "held"
    h.feed(ev.ReInviteReceived(session=sid, sdp=offer_sdp()))
    assert h.phone.calls()[0].state == "connected"


def test_b6_call_waiting_answer_holds_the_first_then_swap() -> None:
    h = Harness()
    first = answered_call(h)
    h.incoming("in2", display="Carol")
    assert h.sip.take() == [("ringing", "in2", {})]
    assert h.phone.tone == "waiting" and not h.phone.ringing
    screen = h.phone.screen(h.now)
    assert "waiting" in screen.icons and "Waiting: Carol" in screen.lines
    h.phone.press_softkey("answer", 1.0)
    (hold,) = h.sip.take()
    assert hold[:2] == ("reinvite", first)                  # B-6 step 7 before step 10
    h.feed(ev.ReInviteAnswered(session=first, sdp=offer_sdp(direction="recvonly")))
    (ans,) = h.sip.take()
    assert ans[:2] == ("answer", "in2")
    h.feed(ev.CallConfirmed(session="in2"))
    assert {c.id: c.state for c in h.phone.calls()} == {"c1": "holding", "c2": "connected"}
    h.phone.press_softkey("swap", 2.0)
    (hold2,) = h.sip.take()
    assert hold2[:2] == ("reinvite", "in2")                 # B-6 step 12
    h.feed(ev.ReInviteAnswered(session="in2", sdp=offer_sdp(direction="recvonly")))
    (resume,) = h.sip.take()
    assert resume[:2] == ("reinvite", first)                # B-6 step 15
    h.feed(ev.ReInviteAnswered(session=first, sdp=offer_sdp()))
    assert {c.id: c.state for c in h.phone.calls()} == {"c1": "connected", "c2": "holding"}


def test_hanging_up_one_call_offers_the_remaining_one() -> None:
    h = Harness()
    first = answered_call(h)
    h.incoming("in2")
    h.phone.press_softkey("answer", 1.0)
    h.feed(ev.ReInviteAnswered(session=first, sdp=offer_sdp(direction="recvonly")))
    h.feed(ev.CallConfirmed(session="in2"))
    h.sip.take()
    h.phone.press_softkey("endcall", 3.0)                  # ends the talking call only
    h.drain()
    assert h.sip.take() == [("bye", "in2", {"headers": {}})]
    assert h.phone.ringing                                  # the seed's "notification"
    h.phone.receive_input(HookEvent(off_hook=True, at=4.0), 4.0)
    h.drain()
    (resume,) = h.sip.take()
    assert resume[:2] == ("reinvite", first) and b"a=sendrecv" in resume[2]["sdp"]


def test_in_dialog_requests_are_answered() -> None:
    h = Harness()
    sid = answered_call(h)
    for method, status in (("OPTIONS", 200), ("INFO", 200), ("SUBSCRIBE", 501)):
        h.feed(ev.InDialogRequest(session=sid, request_id=f"q-{method}", method=method, body=b"",
                                  content_type=None, request=FakeRequest({})))
        assert h.sip.take()[-1][2]["status"] == status
    h.feed(ev.InDialogRequest(session="nope", request_id="q9", method="OPTIONS", body=b"",
                              content_type=None, request=FakeRequest({})))
    assert h.sip.take()[-1][2]["status"] == 481


def test_both_sides_on_hold() -> None:
    h = Harness()
    sid = answered_call(h)
    h.feed(ev.ReInviteReceived(session=sid, sdp=offer_sdp(direction="sendonly")))
    assert h.phone.calls()[0].state == "held"
    h.sip.take()
    h.phone.press_softkey("hold", 1.0)
    h.feed(ev.ReInviteAnswered(session=sid, sdp=offer_sdp(direction="inactive")))
    assert h.phone.calls()[0].state == "holding"
    h.phone.press_softkey("resume", 2.0)
    h.feed(ev.ReInviteAnswered(session=sid, sdp=offer_sdp(direction="recvonly")))
    assert h.phone.calls()[0].state == "held"              # they still hold us
    h.feed(ev.ReInviteReceived(session=sid, sdp=offer_sdp()))
    assert h.phone.calls()[0].state == "connected"
    assert h.of(UpdateMedia)[-1].negotiated.send


def test_line_buttons_pick_the_line() -> None:
    from firmware.phone.settings import LineSettings

    h = Harness(lines=(LineSettings(number="5550002", domain="10.0.0.2"),
                       LineSettings(number="5550012", display_name="Sales", domain="10.0.0.2")))
    h.phone.receive_input(KeyEvent(key="line2", down=True, at=0.0), 0.0)
    h.drain()
    assert h.phone.screen(0.0).status == "Sales (unreg)" and h.phone.tone == "dial"
    h.phone.press_keys("5550003#", 0.5)
    (inv,) = h.sip.take()
    assert inv[2]["target"] == "sip:5550003@10.0.0.2"
    assert h.phone.calls()[0].line == 2
    h.phone.receive_input(KeyEvent(key="line7", down=True, at=1.0), 1.0)
    assert h.phone.errors == 0


def test_a_call_on_another_line_does_not_steal_the_screen() -> None:
    from firmware.phone.settings import LineSettings

    h = Harness(lines=(LineSettings(number="5550002", domain="10.0.0.2"),
                       LineSettings(number="5550012", domain="10.0.0.2")))
    answered_call(h)
    h.phone.receive_sip_event(ev.IncomingCall(
        session="in7", call_id="c7", from_uri="sip:a@h", from_display="Line Two Caller",
        to_uri="sip:5550012@10.0.0.2", request_uri="sip:5550012@10.0.0.2", sdp=offer_sdp(),
        request=FakeRequest({})), 1.0)
    assert h.phone.current_line == 1 and h.phone.tone == "waiting"
    h.phone.receive_input(KeyEvent(key="line2", down=True, at=2.0), 2.0)
    assert h.sip.take()[-1][:2] == ("reinvite", "in1")     # line 1's call is held first


def test_taking_another_line_holds_the_call_in_conversation() -> None:
    from firmware.phone.settings import LineSettings

    h = Harness(lines=(LineSettings(number="5550002", domain="10.0.0.2"),
                       LineSettings(number="5550012", domain="10.0.0.2")))
    answered_call(h)
    h.phone.receive_input(KeyEvent(key="line2", down=True, at=1.0), 1.0)
    assert [s[:2] for s in h.sip.take()] == [("reinvite", "in1")]
    assert h.phone.current_line == 2 and h.phone.calls()[-1].state == "dialing"
