"""The 7960's fixed keys and screens in call control, one event at a time (issue 14).

Directories and call lists, settings, services, the local directory naming
callers, message waiting (NOTIFY trust, stutter tone, Messages key),
intercom auto-answer, UPDATE with an offer and INFO DTMF.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.app.prefs_file import JsonPrefsFile
from firmware.phone.actions import PlayTone, PrefsChanged, SetAudio
from firmware.phone.audio_controls import UserPrefs, Volumes
from firmware.phone.callops import PhoneError
from firmware.phone.history import HistoryEntry
from firmware.phone.mwi import parse_message_summary
from firmware.phone.sipextras import dtmf_from_info
from firmware.provisioning.directory import DirectoryError, parse_directory
from firmware.sip import events as ev

from .fakes import FakeRequest, Harness, answered_call, offer_sdp

PROXY = ("10.0.0.9", 5060)
DIRECTORY = b"""<CiscoIPPhoneDirectory><Title>Office</Title>
<DirectoryEntry><Name>Zed</Name><Telephone>5550007</Telephone></DirectoryEntry>
<DirectoryEntry><Name>Alice Cooper</Name><Telephone>5550001</Telephone></DirectoryEntry>
</CiscoIPPhoneDirectory>"""


def _rows(h: Harness) -> list[str]:
    return h.phone.screen(h.now).text_rows()


def test_directories_lists_newest_first_and_dial_from_an_entry() -> None:
    h = Harness()
    h.phone.wall_offset = 1_700_000_000.0
    for i, number in enumerate(("5550005", "5550006")):
        h.phone.history.add(HistoryEntry(kind="placed", remote=f"sip:{number}@10.0.0.2",
                                         display=None, at=1_700_000_000.0 + 60 * i))
    h.phone.history.add(HistoryEntry(kind="missed", remote="sip:5550001@10.0.0.1",
                                     display="Alice", at=1_700_000_100.0))
    assert h.phone.history.unseen_missed == 1
    h.phone.press_button("directories", h.now)
    screen = h.phone.screen(h.now)
    assert screen.status == "Directories" and screen.lines[:3] == (
        "1 Missed calls", "2 Received calls", "3 Placed calls")
    assert screen.softkeys == ("Select", "Next", "Prev", "Exit")
    h.phone.press_key("1", h.now)  # a digit opens that list
    assert h.phone.screen(h.now).status == "Missed Calls"
    assert h.phone.history.unseen_missed == 0  # seen now
    h.phone.press_softkey("exit", h.now)
    h.phone.press_softkey("next", h.now)
    h.phone.press_softkey("next", h.now)
    h.phone.press_softkey("select", h.now)
    placed = h.phone.screen(h.now)
    assert placed.status == "Placed Calls"
    assert placed.lines[0].startswith("5550006") and placed.lines[1].startswith("5550005")
    assert placed.lines[0].endswith("\t22:14") and placed.inverted_line == 0
    h.phone.press_softkey("next", h.now)
    h.phone.press_softkey("dial", h.now)
    (invite,) = h.sent("invite")
    assert invite[2]["target"].startswith("sip:5550005@")
    assert h.phone.menu is None and h.phone.speaker  # dialled hands-free
    with pytest.raises(PhoneError) as refused:
        h.phone.press_softkey("select", h.now)  # the menu is gone: not on the call screen
    assert refused.value.status == 409


def test_local_directory_lists_and_names_callers() -> None:
    h = Harness()
    h.phone.directory = parse_directory(DIRECTORY)
    h.incoming(display="")  # From 5550001 without a display name
    assert h.phone.calls()[0].remote_display == "Alice Cooper"
    assert "Alice Cooper" in _rows(h)[1]
    h.phone.press_softkey("decline", h.now)
    h.phone.press_button("directories", h.now)
    h.phone.press_key("4", h.now)
    screen = h.phone.screen(h.now)
    assert screen.status == "Office"
    assert screen.lines == ("Alice Cooper\t5550001", "Zed\t5550007")  # sorted by name
    h.phone.press_softkey("next", h.now)
    h.phone.press_softkey("dial", h.now)
    assert h.sent("invite")[-1][2]["target"].startswith("sip:5550007@")
    assert h.phone.calls()[-1].remote_display == "Zed"  # the name of the number we called


def test_directory_formats_and_refusals() -> None:
    plain = parse_directory(b"# office\nBob Smith, 555-0002\nVoicemail, *97#\n", filename="pb.txt")
    assert [(e.name, e.number) for e in plain.entries] == [("Bob Smith", "5550002"),
                                                           ("Voicemail", "*97#")]
    for bad, why in ((b"<!DOCTYPE x><CiscoIPPhoneDirectory/>", "DTD"),
                     (b"<Other/>", "expected <CiscoIPPhoneDirectory>"),
                     (b"Bob 5550002\n", "line 1"),
                     (b"Bob, http://x\n", "not a number")):
        with pytest.raises(DirectoryError) as exc:
            parse_directory(bad, filename="d.xml")
        assert why in str(exc.value) and "d.xml" in str(exc.value)


def test_settings_change_levels_and_dnd_services_says_none() -> None:
    h = Harness()
    h.phone.press_button("settings", h.now)
    screen = h.phone.screen(h.now)
    assert screen.status == "Settings" and screen.lines[0] == "1 Ring vol\t8"
    h.phone.press_softkey("raise", h.now)
    h.drain()
    assert h.phone.volumes.ringer == 9 and h.of(PrefsChanged)
    h.phone.press_key("4", h.now)
    h.phone.press_softkey("raise", h.now)
    assert h.phone.dnd and h.phone.screen(h.now).lines[3] == "4 Do not disturb\ton"
    h.phone.press_button("settings", h.now)  # the key again closes the screen
    assert h.phone.menu is None and "dnd" in h.phone.screen(h.now).icons
    h.phone.press_button("services", h.now)
    services = h.phone.screen(h.now)
    assert services.lines == ("No services", "configured") and services.softkeys == ("Exit",)
    h.phone.dnd = False
    h.incoming()  # a ringing call takes the screen from a menu
    assert h.phone.menu is None
    with pytest.raises(PhoneError) as ringing:
        h.phone.press_button("directories", h.now)
    assert ringing.value.status == 409 and h.phone.menu is None


def test_volume_rocker_acts_on_the_mode_in_use_and_clamps() -> None:
    h = Harness()
    for _ in range(20):
        h.phone.press_button("volup", h.now)  # idle: the ringer
    assert h.phone.volumes == Volumes(ringer=15)
    h.incoming()
    h.phone.press_button("voldown", h.now)  # ringing: the ringer
    assert h.phone.volumes.ringer == 14
    h.phone.hook(True, h.now)  # answered with the handset
    h.feed(ev.CallConfirmed(session="in1"))
    h.phone.press_button("voldown", h.now)
    assert h.phone.volumes.handset == 7
    h.drain()
    audio = h.of(SetAudio)[-1]
    assert audio.route == "handset" and audio.gain == pytest.approx(10 ** (-2 / 20))
    with pytest.raises(PhoneError) as no_line:
        h.phone.press_button("line3", h.now)
    assert no_line.value.status == 409
    with pytest.raises(PhoneError) as unknown:
        h.phone.press_button("line9", h.now)
    assert unknown.value.status == 400


def test_prefs_file_roundtrip_and_a_corrupt_file(tmp_path: Path) -> None:
    store = JsonPrefsFile(tmp_path)
    assert store.load() == UserPrefs()
    store.save(UserPrefs(volumes=Volumes(handset=3, speaker=12, ringer=0)))
    assert store.load().volumes == Volumes(handset=3, speaker=12, ringer=0)
    (tmp_path / "prefs.json").write_text('{"format": 1, "volume": {"handset": 99}}')
    assert store.load().volumes == Volumes()  # the bad level keeps its default
    (tmp_path / "prefs.json").write_text("{not json")
    assert store.load() == UserPrefs()


def _notify(body: bytes, *, source: tuple[str, int] = PROXY, headers: dict[str, str] | None = None
            ) -> ev.OutOfDialogRequest:
    hdrs = {"Event": "message-summary", **(headers or {})}
    return ev.OutOfDialogRequest(request_id="n1", method="NOTIFY", body=body,
                                 content_type="application/simple-message-summary",
                                 request=FakeRequest(hdrs), source=source)


def test_unsolicited_mwi_from_the_proxy_only_and_the_stutter_tone() -> None:
    h = Harness(proxy_hosts=frozenset({PROXY[0]}), stutter_msg_waiting=True,
                messages_uri="*97")
    h.feed(_notify(b"Messages-Waiting: yes\r\nVoice-Message: 2/8 (0/1)\r\n",
                   source=("10.6.6.6", 5060)))
    assert h.sent("respond")[-1][2]["status"] == 403 and not h.phone.mwi.waiting
    h.feed(_notify(b"Messages-Waiting: maybe\r\n"))
    assert h.sent("respond")[-1][2]["status"] == 400 and not h.phone.mwi.waiting
    h.feed(_notify(b"Messages-Waiting: yes\r\nMessage-Account: sip:*97@10.0.0.9\r\n"
                   b"Voice-Message: 2/8 (0/1)\r\n"))
    assert h.sent("respond")[-1][2]["status"] == 200
    assert h.phone.mwi.to_json() == {"waiting": True, "new": 2, "old": 8}
    screen = h.phone.screen(h.now)
    assert "mwi" in screen.icons and screen.badge == "2" and "2 new voice msgs" in screen.lines
    h.phone.hook(True, h.now)
    h.drain()
    assert h.of(PlayTone)[-1].tone == "stutter"
    h.phone.hook(False, h.now)
    h.phone.press_button("messages", h.now)
    assert h.sent("invite")[-1][2]["target"].startswith("sip:*97@")
    h.feed(_notify(b"Messages-Waiting: no\r\n"))
    assert h.phone.mwi.to_json() == {"waiting": False, "new": None, "old": None}


def test_message_summary_parser() -> None:
    s = parse_message_summary(b"Messages-Waiting: yes\nVoice-Message: 3/0\n")
    assert (s.waiting, s.new, s.old) == (True, 3, 0)
    with pytest.raises(ValueError):
        parse_message_summary(b"Voice-Message: 3/0\n")


def test_mwi_subscription_refreshes_in_its_dialog_and_retries() -> None:
    h = Harness(mwi_subscribe=True, proxy_hosts=frozenset({PROXY[0]}))
    h.advance(0.0)
    (sub,) = h.sent("subscribe")
    assert sub[1] == "sip:5550002@10.0.0.2" and sub[2]["headers"]["Event"] == "message-summary"
    assert sub[2]["dialog"] is None
    resp = FakeRequest({"Expires": "600", "From": "<sip:5550002@10.0.0.2>;tag=ours",
                        "To": "<sip:5550002@10.0.0.2>;tag=theirs",
                        "Contact": "<sip:mwi@10.0.0.9:5060>"})
    resp.call_id = "sub-1"  # type: ignore[attr-defined]
    h.sip.take()
    h.feed(ev.RequestAnswered(request_id=sub[2]["rid"], session=None, method="SUBSCRIBE",
                              status=200, reason="OK", response=resp))
    h.advance(539.0)
    assert h.sent("subscribe") == []
    h.advance(2.0)  # 90 % of 600 s
    (refresh,) = h.sent("subscribe")
    assert refresh[2]["dialog"] == ("sub-1", "ours", "theirs")
    assert refresh[1] == "sip:mwi@10.0.0.9:5060"
    # a NOTIFY in that dialog is taken from any address; another dialog's is not ours
    in_dialog = _notify(b"Messages-Waiting: yes\r\n", source=("10.7.7.7", 5060),
                        headers={"To": "<sip:5550002@10.0.0.2>;tag=ours"})
    in_dialog.request.call_id = "sub-1"  # type: ignore[attr-defined]
    h.feed(in_dialog)
    assert h.phone.mwi.waiting and h.sent("respond")[-1][2]["status"] == 200
    h.sip.take()
    h.feed(ev.RequestAnswered(request_id=refresh[2]["rid"], session=None, method="SUBSCRIBE",
                              status=404, reason="Not Found"))
    h.advance(29.0)
    assert h.sent("subscribe") == []
    h.advance(2.0)  # retried after 30 s
    assert len(h.sent("subscribe")) == 1


def _intercom(h: Harness, source: tuple[str, int], headers: dict[str, str]) -> None:
    h.feed(ev.IncomingCall(session="ic1", call_id="cid-ic1", from_uri="sip:page@10.0.0.9",
                           from_display="Paging", to_uri="sip:5550002@10.0.0.2",
                           request_uri="sip:5550002@10.0.0.2", sdp=offer_sdp(),
                           request=FakeRequest(headers), source=source))


@pytest.mark.parametrize("headers", [{"Call-Info": "<sip:10.0.0.9>;answer-after=0"},
                                     {"Alert-Info": "<http://x>;info=alert-autoanswer"}])
def test_intercom_auto_answers_muted_with_a_warning(headers: dict[str, str]) -> None:
    h = Harness(auto_answer=True, proxy_hosts=frozenset({PROXY[0]}))
    _intercom(h, PROXY, headers)
    assert h.sent("answer") and h.phone.muted and h.phone.route == "speaker"
    assert h.of(PlayTone)[-1].tone == "intercom"
    assert h.of(SetAudio)[-1].muted
    h.advance(1.0)
    assert h.phone.tone is None  # the beeps are over; the microphone stays off
    h.phone.press_button("mute", h.now)
    assert not h.phone.muted


def test_intercom_refused_from_elsewhere_or_when_not_configured() -> None:
    ask = {"Call-Info": "<sip:x>;answer-after=0"}
    h = Harness(auto_answer=True, proxy_hosts=frozenset({PROXY[0]}))
    _intercom(h, ("10.6.6.6", 5060), ask)
    assert not h.sent("answer") and h.phone.ringing
    off = Harness(proxy_hosts=frozenset({PROXY[0]}))
    _intercom(off, PROXY, ask)
    assert not off.sent("answer") and off.phone.ringing


def test_update_with_an_offer_is_answered_and_info_dtmf_is_a_digit() -> None:
    h = Harness()
    session = answered_call(h)
    h.feed(ev.InDialogRequest(session=session, request_id="u1", method="UPDATE",
                              body=offer_sdp(port=4010), content_type="application/sdp",
                              request=FakeRequest({})))
    (ok,) = h.sent("respond")
    assert ok[2]["status"] == 200 and ok[2]["content_type"] == "application/sdp"
    assert b"m=audio" in ok[2]["body"]
    h.sip.take()
    h.feed(ev.InDialogRequest(session=session, request_id="i1", method="INFO",
                              body=b"Signal=5\r\nDuration=160\r\n",
                              content_type="application/dtmf-relay", request=FakeRequest({})))
    assert h.sent("respond")[-1][2]["status"] == 200
    assert any("DTMF: 5" in row for row in _rows(h))
    h.feed(ev.InDialogRequest(session=session, request_id="i2", method="INFO", body=b"<x/>",
                              content_type="application/xml", request=FakeRequest({})))
    assert h.sent("respond")[-1][2]["status"] == 415
    assert dtmf_from_info("application/dtmf-relay", b"Signal=11\r\n") == "#"
    assert dtmf_from_info("application/dtmf", b"*") == "*"
    assert dtmf_from_info("application/dtmf-relay", b"Signal=x") is None


def test_headset_key_like_the_speaker_key_with_its_own_route() -> None:
    h = Harness()
    h.incoming()
    h.phone.press_button("headset", h.now)  # answers on the headset
    h.feed(ev.CallConfirmed(session="in1"))
    assert h.phone.route == "headset" and h.phone.calls()[0].state == "connected"
    h.phone.press_button("volup", h.now)
    assert h.phone.volumes.handset == 9  # the headset shares the handset's level
    h.phone.press_button("speaker", h.now)  # over to the speaker
    assert h.phone.route == "speaker"
    h.phone.press_button("headset", h.now)  # and back to the headset
    h.phone.hook(True, h.now)  # lifting the handset takes the call over
    assert h.phone.route == "handset"
    h.phone.press_button("headset", h.now)
    h.phone.hook(False, h.now)  # the handset goes down, the call stays on the headset
    assert h.phone.route == "headset" and h.phone.calls()[0].state == "connected"
    h.phone.press_button("headset", h.now)  # ends a headset call
    assert h.sent("bye") and h.phone.route == "idle"


def test_ring_volume_zero_rings_silently() -> None:
    from hal.clock import VirtualClock
    from hal.mock import MockRinger

    clock = VirtualClock()
    ringer = MockRinger(clock)
    ringer.set_volume(0)
    ringer.ring()
    clock.advance(3.0)
    assert ringer.ringing and not any(on for _t, on in ringer.states)
    ringer.set_volume(5)
    clock.advance(6.0)
    assert ringer.volume == 5 and any(on for _t, on in ringer.states)
