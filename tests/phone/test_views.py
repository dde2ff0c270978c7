"""Softkeys and screens as pure functions of a PhoneView."""

from __future__ import annotations

from dataclasses import replace

from firmware.phone.call import CallState, CallView
from firmware.phone.screens import call_timer, caller_id, render, uri_user
from firmware.phone.softkeys import label_for_key, normalise, softkeys
from firmware.phone.view import PhoneView

S = CallState


def _cv(state: CallState, *, display: str | None = "Alice", remote: str = "sip:5550001@h",
        connected_at: float | None = None, reason: str | None = None, cid: str = "c1") -> CallView:
    return CallView(id=cid, line=1, direction="in", state=state, remote=remote,
                    remote_display=display, call_id="x", reason=reason,
                    connected_at=connected_at)


def _view(focused: CallView | None = None, other: CallView | None = None, **kw: object) -> PhoneView:
    base: dict[str, object] = dict(now=100.0, line_name="5550002", registered=True,
                                   off_hook=focused is not None)
    base.update(kw)
    return PhoneView(focused=focused, other=other, **base)  # type: ignore[arg-type]


def test_idle_row_is_the_7960s() -> None:
    assert softkeys(_view()) == ("Redial", "NewCall", "CFwdAll", "DND")


def test_rows_per_state() -> None:
    assert softkeys(_view(_cv(S.INCOMING))) == ("Answer", "Decline")
    assert softkeys(_view(_cv(S.RINGBACK))) == ("EndCall",)
    assert softkeys(_view(_cv(S.CONNECTED))) == ("Hold", "Transfer", "EndCall", "Confrn")
    assert softkeys(_view(_cv(S.HOLDING))) == ("Resume", "NewCall", "EndCall")
    assert softkeys(_view(_cv(S.HELD))) == ("Hold", "EndCall")
    assert softkeys(_view(_cv(S.DIALING, remote=""))) == ("Redial", "EndCall")
    assert softkeys(_view(_cv(S.DIALING, remote="55"))) == ("Dial", "<<", "EndCall")
    assert softkeys(_view(_cv(S.DIALING, remote="55"), transferring=True))[0] == "Transfer"


def test_call_waiting_offers_answer_over_the_live_call() -> None:
    row = softkeys(_view(_cv(S.CONNECTED), _cv(S.INCOMING, cid="c2")))
    assert row == ("Answer", "Decline", "EndCall")


def test_two_calls_offer_swap() -> None:
    row = softkeys(_view(_cv(S.CONNECTED), _cv(S.HOLDING, cid="c2")))
    assert row == ("Hold", "Transfer", "EndCall", "Swap")


def test_conference_rows() -> None:
    """Confrn's consultation offers Confrn where Transfer was; a conference only EndCall."""
    row = softkeys(_view(_cv(S.CONNECTED), _cv(S.HOLDING, cid="c2"), conferencing=True))
    assert row == ("Hold", "Confrn", "EndCall", "Swap")
    conf = replace(_cv(S.CONNECTED), conference=True)
    assert softkeys(_view(conf, replace(_cv(S.CONNECTED, cid="c2"), conference=True))) == ("EndCall",)


def test_every_row_fits_the_panel() -> None:
    for state in CallState:
        for other in (None, _cv(S.HOLDING, cid="c2"), _cv(S.INCOMING, cid="c2")):
            for transferring in (False, True):
                assert len(softkeys(_view(_cv(state), other, transferring=transferring))) <= 4


def test_api_names_and_hardware_keys() -> None:
    assert normalise("endcall") == "EndCall"
    assert normalise("CFWDALL") == "CFwdAll"
    assert normalise("launch-missiles") is None
    view = _view(_cv(S.CONNECTED))
    assert label_for_key(view, "softkey1") == "Hold"
    assert label_for_key(view, "softkey4") == "Confrn"
    assert normalise("confrn") == "Confrn"
    assert label_for_key(view, "softkey9") is None
    assert label_for_key(view, "softkeyX") is None


def test_caller_id_prefers_display_name() -> None:
    assert caller_id(_cv(S.INCOMING)) == "Alice"
    assert caller_id(_cv(S.INCOMING, display=None, remote="sip:5550001@10.0.0.1;user=phone")) \
        == "5550001"
    assert uri_user("<sips:bob@example.com>") == "bob"
    assert uri_user("5550003") == "5550003"


def test_call_timer() -> None:
    assert call_timer(_cv(S.CONNECTED, connected_at=10.0), 75.9) == "01:05"
    assert call_timer(_cv(S.CONNECTED, connected_at=0.0), 3725.0) == "1:02:05"
    assert call_timer(_cv(S.RINGBACK), 10.0) == ""


def test_incoming_screen_shows_caller_id_and_number() -> None:
    screen = render(_view(_cv(S.INCOMING)))
    assert screen.lines == ("Alice", "Incoming call", "5550001")
    assert screen.softkeys == ("Answer", "Decline")
    assert "registered" in screen.icons


def test_connected_screen_has_timer_and_waiting_indicator() -> None:
    screen = render(_view(_cv(S.CONNECTED, connected_at=40.0),
                          _cv(S.INCOMING, display="Carol", cid="c2")))
    assert screen.lines[:2] == ("Alice", "Connected 01:00")
    assert "Waiting: Carol" in screen.lines
    assert "waiting" in screen.icons


def test_hold_indicator_and_end_reason() -> None:
    held = render(_view(_cv(S.CONNECTED, connected_at=0.0), _cv(S.HOLDING, display="Bob", cid="c2")))
    assert "hold" in held.icons and "On hold: Bob" in held.lines
    ended = render(_view(_cv(S.ENDED, reason="busy")))
    assert ended.lines[-2:] == ("Call ended", "busy")
    auth = render(_view(_cv(S.ENDED, reason="rejected 407 Proxy Authentication Required")))
    assert auth.lines[-3:] == ("rejected 407 Proxy", "Authentication", "Required")


def test_idle_screen_shows_dnd_forward_and_missed() -> None:
    screen = render(_view(dnd=True, cfwd_to="sip:5550003@h", missed=2, registered=False))
    assert screen.status.endswith("(unreg)")
    assert screen.lines == ("Registering...", "Fwd all: 5550003", "Do not disturb", "2 missed calls")
    assert {"dnd", "cfwd"} <= screen.icons and "registered" not in screen.icons


def test_idle_screen_shows_the_phone_label() -> None:
    """phone_label takes the status bar (the 7960's top line); the number moves to a row."""
    screen = render(_view(label="Front desk"))
    assert screen.status == "Front desk" and screen.lines == ("Ready", "Line: 5550002")
    assert render(_view(label="Front desk", registered=False)).status == "Front desk (unreg)"
    plain = render(_view())
    assert plain.status == "5550002" and plain.lines == ("Ready",)


def test_rows_fit_the_panel_width() -> None:
    long = _cv(S.INCOMING, display="A" * 60)
    for row in render(_view(long)).text_rows()[:-1]:
        assert len(row) <= 21


def test_status_bar_clock_turns_over_on_the_minute() -> None:
    from .fakes import Harness

    h = Harness(utc_offset_minutes=60)
    h.phone.wall_offset = 1_700_000_000.0 - 100.0     # epoch 1700000000 = 22:13:20 UTC
    h.now = 100.0
    h.phone.start(h.now)
    h.drain()
    assert h.phone.screen(h.now).clock == "23:13"
    assert h.phone.get_timer() == 140.0                # 23:14:00 local
    h.advance(40.0)
    assert h.phone.screen(h.now).clock == "23:14"
    from firmware.phone.actions import ShowScreen

    assert h.of(ShowScreen)[-1].screen.clock == "23:14"
    assert Harness().phone.screen(0.0).clock == ""     # no wall clock known: none shown
