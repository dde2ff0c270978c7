"""The corpus of real-world-style 7940/7960 sets (tests/provisioning/corpus/):
each loads as a 7960 would, and says what it skipped, where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.provisioning.boot import load_local
from firmware.provisioning.dialplan import MatchKind, match
from firmware.provisioning.keys import KNOWN_UNUSED
from firmware.provisioning.schema import PhoneConfig

pytestmark = pytest.mark.arm64

CORPUS = Path(__file__).resolve().parent / "corpus"


def load(name: str, mac: str) -> PhoneConfig:
    return load_local(CORPUS / name, mac)


def lines(cfg: PhoneConfig) -> list[tuple[int, str, str]]:
    return [(ln.index, ln.name, ln.shortname) for ln in cfg.lines]


def test_vendor_sample_with_semicolon_notes_after_every_value() -> None:
    cfg = load("vendor-sample", "00112233AABB")
    assert lines(cfg) == [(1, "2001", "2001")]
    line = cfg.lines[0]
    assert line.proxy is not None and line.proxy.address == "192.0.2.10"
    assert (line.displayname, line.auth_user, line.password) == ("Lab Bench", "2001",
                                                                   "lab-pw-2001")
    # values with '; Default ...' notes kept their value, not the note
    assert (cfg.timer_t1, cfg.timer_t2, cfg.sip_retx, cfg.sip_invite_retx) == (500, 4000, 10, 6)
    assert cfg.proxy_register and cfg.phone_label == "" and cfg.messages_uri == "*97"
    assert (cfg.time_zone, cfg.dst_start_month, cfg.dst_stop_month) == ("EST", 3, 11)
    assert (cfg.dst_start_week_of_month, cfg.dst_stop_week_of_month) == (2, 1)
    assert (cfg.dst_stop_time, cfg.time_format_24hr, cfg.date_format) == (120, False, "D/M/Y")
    assert cfg.dialplan is not None and len(cfg.dialplan.templates) == 4
    # only known-but-unused keys warn, once each, naming file and line
    assert all(": accepted, not used by piphone: " in w for w in cfg.warnings), cfg.warnings
    assert "SIPDefault.cnf:29: sntp_server: accepted, not used by piphone: " \
        "SNTP server (the Pi keeps time with the OS's NTP client)" in cfg.warnings
    assert not any("cisco" in w for w in cfg.warnings)  # phone_password's value never shown


def test_small_office_tabs_quotes_hash_notes_long_label_bad_template() -> None:
    cfg = load("small-office", "A0B1C2D3E4F5")
    assert lines(cfg) == [(1, "3001", "Reception"), (2, "3002", "Reception Desk 1")]
    assert (cfg.phone_label, cfg.time_zone, cfg.dst_auto_adjust) == ("Acme Ltd", "JST", False)
    assert (cfg.dtmf_outofband, cfg.dtmf_avt_payload, cfg.call_stats) == ("avt_always", 96, True)
    assert (cfg.user_info, cfg.remote_party_id, cfg.sync) == ("none", True, 42)
    assert cfg.cfwd_noanswer_timeout == 0 and cfg.date_format == "Y-M-D"
    assert cfg.warnings == (
        "SIPA0B1C2D3E4F5.cnf:8: line2_shortname: 17 characters, cut to 16",
        "office-plan.xml: template 4: MATCH='1?': character '?' is not allowed in MATCH; "
        "template skipped",
        "SIPDefault.cnf:21: preferred_codec: g729a is not supported by piphone; "
        "the first of codec_order is offered instead",
    )
    plan = cfg.dialplan
    assert plan is not None and [t.match for t in plan.templates] == ["3...", "0,0*", "8500", "*"]
    assert match(plan, "3001").kind is MatchKind.COMPLETE  # the rest of the plan stands


def test_windows_edited_crlf_latin1_blank_values_duplicates() -> None:
    cfg = load("windows-edited", "001A2B3C4D5E")
    assert lines(cfg) == [(1, "4410", "Bar")]
    line = cfg.lines[0]
    assert line.displayname == "Andr\u00e9 M\u00fcller" and line.auth_user == "4410"
    assert cfg.phone_label == "Caf\u00e9 Bar" and cfg.timer_t1 == 1000  # the last one wins
    assert (cfg.nat_address, cfg.outbound_proxy, cfg.cfwd_url) == ("", "", "")
    assert (cfg.sip_retx, cfg.sip_invite_retx, cfg.timer_invite_expires) == (4, 3, 30)
    assert cfg.dtmf_outofband == "none" and cfg.proxy_register is True
    assert cfg.warnings == (
        "SIPDefault.cnf: not UTF-8 (byte 238); read as Latin-1",
        "SIPDefault.cnf:5: timer_t1: set again; the last value wins",
        "SIP001A2B3C4D5E.cnf: not UTF-8 (byte 87); read as Latin-1",
    )
    assert cfg.dialplan is not None and len(cfg.dialplan.templates) == 2


def test_later_firmware_and_sister_model_keys_typos_and_bad_values() -> None:
    cfg = load("later-firmware", "0050569A0B0C")
    # line 2's name is no SIP user: that line is skipped, line 1 stands
    assert lines(cfg) == [(1, "5101", "Operator Console")]
    assert (cfg.timer_t1, cfg.timer_register_expires, cfg.preferred_codec) == (
        500, 3600, "g711ulaw")  # bad values: the defaults stay
    assert cfg.hold_method == "sendonly" and cfg.dnd_control == 1
    assert cfg.call_waiting is True and cfg.dst_start_week_of_month == 1
    w = "\n".join(cfg.warnings)
    for key in ("local_cfwd_enable", "encrypt_key", "xml_card_type", "user_locale", "load_id"):
        assert f": {key}: accepted, not used by piphone: {KNOWN_UNUSED[key]}" in w
    assert "0123456789abcdef" not in w  # a secret's value is never repeated
    assert "SIPDefault.cnf:18: timer_t1: bad value ('fast'): not an integer; accepted: " \
        "an integer 100..10000 ms; skipped, the default stays" in cfg.warnings
    assert w.count("did you mean") == 2
    assert "SIPDefault.cnf:20: preferred_codec: bad value ('g711ulw')" in w
    assert "did you mean 'g711ulaw'?" in w
    assert "SIPDefault.cnf:23: call_waitng: unknown key ignored; did you mean " \
        "'call_waiting'?" in cfg.warnings
    assert "SIPDefault.cnf:24: line7_name: ignored: this handset has 6 lines" in cfg.warnings
    assert "SIP0050569A0B0C.cnf:3: line1_shortname: 18 characters, cut to 16" in cfg.warnings
    assert "SIP0050569A0B0C.cnf:5: line2_name: bad value ('bob smith')" in w
    plan = cfg.dialplan
    assert plan is not None and [t.match for t in plan.templates] == [
        "5...", "9,1..........", "*"]
    assert len(plan.warnings) == 5 and all(x.startswith("dialplan.xml: ") for x in plan.warnings)


def test_peer_to_peer_phone_without_a_proxy() -> None:
    cfg = load("peer-to-peer", "0000DEADBEEF")
    assert lines(cfg) == [(1, "bench", "Bench")] and cfg.lines[0].proxy is None
    assert cfg.proxy_register is False and cfg.warnings == ()
    assert cfg.dialplan is None  # dialplan.xml is not there: dial without one


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir() if p.is_dir()))
def test_every_corpus_set_gives_a_usable_line(name: str) -> None:
    macs = [p.name[3:15] for p in (CORPUS / name).glob("SIP????????????.cnf")]
    assert len(macs) == 1
    assert load(name, macs[0]).lines
