"""Every formerly inert 7960 key acts: each test builds phones from ``.cnf`` text
through the real schema and the same wiring as ``PhoneHost`` (config_map), runs
them on a VirtualClock with SIP and RTP carried in memory, and fails if the key
stops changing what the phone does on the wire or on its screen."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from memnet import MemoryNet

from firmware.app.config_map import (
    dtmf_policy,
    endpoint_config,
    phone_settings,
    registrations,
    sip_sender,
)
from firmware.app.control_adapter import AppControl
from firmware.app.core import App
from firmware.app.mediakeys import MediaKeys
from firmware.media.rtp import parse_rtp
from firmware.phone.phone import Phone
from firmware.provisioning.cnf import parse_cnf
from firmware.provisioning.schema import PhoneConfig, build_config
from firmware.sip.endpoint import Endpoint
from hal.clock import VirtualClock
from hal.mock import MockHal

Address = tuple[str, int]
A_ADDR, B_ADDR = ("127.0.0.1", 5061), ("127.0.0.2", 5062)


def config(text: str, name: str = "SIP00112233AABB.cnf") -> PhoneConfig:
    return build_config([parse_cnf(text, filename=name)])


class Net(MemoryNet):
    """SIP and RTP in memory (1 ms per hop); every datagram sent is kept."""

    def phone(self, addr: Address, text: str, number: str) -> AppControl:
        cfg = config(f"line1_name: {number}\nstart_media_port: {20000 + addr[1]}\n"
                     f"end_media_port: {20100 + addr[1]}\n" + text)
        endpoint = Endpoint(endpoint_config(cfg, local_address=addr))
        phone = Phone(phone_settings(cfg, media_address=addr[0]), endpoint)
        box: list[App] = []
        keys = MediaKeys(dtmf_policy(cfg))  # as PhoneHost wires them
        app = App(clock=self.clock, hal=MockHal(self.clock, audio=None), endpoint=endpoint,
                  phone=phone,
                  send_sip=sip_sender(cfg, self.send_sip(addr), lambda: box[0], keys),
                  media_io=self.media_io(addr[0]), registrations=registrations(cfg),
                  name=number)
        box.append(app)
        keys.attach(app)
        self.sip[addr] = app
        app.start()
        return AppControl(app, {1: number})

    def messages(self, start: str, src: Address | None = None) -> list[bytes]:
        return [d for _t, s, _d, d in self.sent
                if d.startswith(start.encode()) and (src is None or s == src)]

    def times(self, start: str) -> list[float]:
        return [t for t, _s, _d, d in self.sent if d.startswith(start.encode())]


@pytest.fixture
def net(clock: VirtualClock) -> Net:
    return Net(clock)


def _call(net: Net, clock: VirtualClock, a_keys: str = "", b_keys: str = "",
          answer: bool = True) -> tuple[AppControl, AppControl]:
    a = net.phone(A_ADDR, a_keys, "5550001")
    b = net.phone(B_ADDR, b_keys, "5550002")
    a.dial("sip:5550002@127.0.0.2:5062")
    clock.advance(0.1)
    if answer:
        b.set_hook(True)
        clock.advance(0.2)
        assert [c.state for c in a.status().calls] == ["connected"]
    return a, b


# ---------------------------------------------------------------- the clock


NOON_DEC = dt.datetime(2026, 12, 15, 12, 0, tzinfo=dt.UTC).timestamp()
NOON_JUL = dt.datetime(2026, 7, 15, 12, 0, tzinfo=dt.UTC).timestamp()


def status_bar(text: str, utc: float) -> str:
    """The rendered status bar (text row 0) of an idle phone at UTC instant ``utc``."""
    cfg = config("line1_name: 1001\n" + text)
    phone = Phone(phone_settings(cfg, media_address="127.0.0.1"),
                  Endpoint(endpoint_config(cfg, local_address=("127.0.0.1", 5060))),
                  wall_offset=utc - 100.0)
    screen = phone.screen(100.0)
    row = screen.text_rows()[0]
    assert row.endswith(screen.clock)
    return screen.clock


@pytest.mark.parametrize(("keys", "utc", "shown"), [
    ("", NOON_DEC, "12:00 12/15"),                                   # UTC, M/D
    ("time_zone: JST\n", NOON_DEC, "21:00 12/15"),                   # UTC+9
    ("time_zone: EST\ndst_auto_adjust: 1\n", NOON_DEC, "07:00 12/15"),  # UTC-5 in December
    ("time_zone: EST\n", NOON_JUL, "08:00 07/15"),                   # summer: UTC-4
    ("time_zone: EST\ndst_auto_adjust: 0\n", NOON_JUL, "07:00 07/15"),
    ("time_zone: JST\ndst_auto_adjust: 1\n", NOON_JUL, "21:00 07/15"),  # no DST in Japan
    ("time_zone: UTC+05:30\n", NOON_DEC, "17:30 12/15"),
    ("time_zone: EST\ntime_format_24hr: 0\n", NOON_DEC, "7:00a 12/15"),
    ("time_zone: JST\ntime_format_24hr: 0\n", NOON_DEC, "9:00p 12/15"),
    ("time_zone: JST\ndate_format: D/M/Y\n", NOON_DEC, "21:00 15/12"),
    ("time_zone: JST\ndate_format: Y-M-D\n", NOON_DEC, "21:00 12-15"),
    ("time_zone: Asia/Tokyo\n", NOON_DEC, "21:00 12/15"),            # an IANA name
])
def test_time_zone_dst_and_formats_on_the_status_bar(keys: str, utc: float, shown: str) -> None:
    assert status_bar(keys, utc) == shown


CET_EU = ("time_zone: CET\ndst_start_month: March\ndst_start_week_of_month: 8\n"
          "dst_start_day_of_week: Sun\ndst_start_time: 02/00\ndst_stop_month: Oct\n"
          "dst_stop_week_of_month: 8\ndst_stop_day_of_week: Sun\ndst_stop_time: 03/00\n")


@pytest.mark.parametrize(("utc", "shown"), [
    (dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC), "01:59 03/29"),  # last Sunday of March
    (dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC), "03:00 03/29"),   # 02:00 -> 03:00
    (dt.datetime(2026, 10, 25, 0, 59, tzinfo=dt.UTC), "02:59 10/25"),  # last Sunday of Oct
    (dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC), "02:00 10/25"),  # 03:00 -> 02:00
])
def test_relative_dst_rule_last_sunday(utc: dt.datetime, shown: str) -> None:
    assert status_bar(CET_EU, utc.timestamp()) == shown


def test_absolute_dst_rule_and_offset() -> None:
    keys = ("time_zone: PST\ndst_start_month: 4\ndst_start_day: 10\ndst_start_time: 02/00\n"
            "dst_stop_month: 9\ndst_stop_day: 20\ndst_stop_time: 02/00\ndst_offset: 00/30\n")
    before = dt.datetime(2026, 4, 10, 9, 59, tzinfo=dt.UTC).timestamp()
    after = dt.datetime(2026, 4, 10, 10, 0, tzinfo=dt.UTC).timestamp()
    assert status_bar(keys, before) == "01:59 04/10"
    assert status_bar(keys, after) == "02:30 04/10"  # half an hour forward, on April 10


def test_an_unknown_zone_says_so_and_shows_utc() -> None:
    cfg = config("time_zone: ESTT\n")
    assert any("time_zone: unknown zone 'ESTT'; the clock shows UTC; did you mean 'EST'?"
               in w for w in cfg.warnings), cfg.warnings
    assert status_bar("time_zone: ESTT\n", NOON_DEC) == "12:00 12/15"


# ---------------------------------------------------------------- SIP timers


def test_timer_invite_expires_is_the_invites_expires_and_cancels_it(
        clock: VirtualClock, net: Net) -> None:
    a, b = _call(net, clock, a_keys="timer_invite_expires: 30\n", answer=False)
    invite = net.messages("INVITE", A_ADDR)[0]
    assert b"\r\nExpires: 30\r\n" in invite
    start = net.times("INVITE")[0]
    clock.advance(29.0)
    assert net.messages("CANCEL") == [] and b.status().ringer
    clock.advance(1.5)
    (cancel_at,) = net.times("CANCEL")
    assert cancel_at - start == pytest.approx(30.0, abs=0.01)
    assert [c.state for c in a.status().calls] in ([], ["ended"])


def test_sip_invite_retx_bounds_the_invite_retransmissions(
        clock: VirtualClock, net: Net) -> None:
    a = net.phone(A_ADDR, "sip_invite_retx: 2\n", "5550001")
    a.dial("sip:5550009@127.0.0.9:5099")  # nobody there
    clock.advance(10.0)
    times = net.times("INVITE")
    assert [round(t - times[0], 3) for t in times] == [0.0, 0.5, 1.5]  # 1 + 2 retransmissions
    call = a.status().calls[0]
    assert call.state == "ended"


def test_sip_retx_bounds_the_register_retransmissions(clock: VirtualClock, net: Net) -> None:
    net.phone(A_ADDR, "proxy1_address: 127.0.0.9\nproxy1_port: 5099\nproxy_register: 1\n"
              "sip_retx: 3\n", "5550001")
    clock.advance(7.6)
    first = net.times("REGISTER")
    assert [round(t - first[0], 3) for t in first] == [0.0, 0.5, 1.5, 3.5]  # 1 + 3


# ---------------------------------------------------------------- DTMF


def _rtp(net: Net, src_host: str) -> list[Any]:
    return [p for (s, d) in net.rtp_sent if s[0] == src_host
            if (p := parse_rtp(d)) is not None]


def _send_digit(clock: VirtualClock, net: Net, a: AppControl) -> list[Any]:
    clock.advance(0.5)
    before = len(_rtp(net, A_ADDR[0]))
    a.press_keys("5")
    clock.advance(0.5)
    return _rtp(net, A_ADDR[0])[before:]


def test_dtmf_avt_payload_is_offered_and_used(clock: VirtualClock, net: Net) -> None:
    a, _b = _call(net, clock, a_keys="dtmf_avt_payload: 96\n")
    assert b"a=rtpmap:96 telephone-event/8000" in net.messages("INVITE", A_ADDR)[0]
    pts = {p.payload_type for p in _send_digit(clock, net, a)}
    assert 96 in pts and 101 not in pts


def test_dtmf_outofband_none_sends_the_digit_in_band(clock: VirtualClock, net: Net) -> None:
    a, _b = _call(net, clock, a_keys="dtmf_outofband: none\n")
    assert b"telephone-event" not in net.messages("INVITE", A_ADDR)[0]
    packets = _send_digit(clock, net, a)
    assert {p.payload_type for p in packets} == {0}
    loud = [p for p in packets if any(b not in (0xFF, 0x7F) for b in p.payload)]
    assert 4 <= len(loud) <= 6  # 100 ms of tone pair in 20 ms packets (mic is silent)


def test_dtmf_inband_off_and_no_events_sends_nothing(clock: VirtualClock, net: Net) -> None:
    a, _b = _call(net, clock, a_keys="dtmf_outofband: none\ndtmf_inband: 0\n")
    packets = _send_digit(clock, net, a)
    assert not [p for p in packets if any(b not in (0xFF, 0x7F) for b in p.payload)]


def test_dtmf_outofband_avt_falls_back_in_band_when_the_peer_takes_no_events(
        clock: VirtualClock, net: Net) -> None:
    a, _b = _call(net, clock, b_keys="dtmf_outofband: none\n")
    packets = _send_digit(clock, net, a)
    assert {p.payload_type for p in packets} == {0}
    assert [p for p in packets if any(b not in (0xFF, 0x7F) for b in p.payload)]


def test_dtmf_outofband_avt_always_sends_events_anyway(clock: VirtualClock, net: Net) -> None:
    a, _b = _call(net, clock, a_keys="dtmf_outofband: avt_always\n",
                  b_keys="dtmf_outofband: none\n")
    packets = _send_digit(clock, net, a)
    assert 101 in {p.payload_type for p in packets}
    assert not [p for p in packets if p.payload_type == 0
                and any(b not in (0xFF, 0x7F) for b in p.payload)]


# ---------------------------------------------------------------- identity


def test_user_info_marks_the_registered_address(clock: VirtualClock, net: Net) -> None:
    base = "proxy1_address: 127.0.0.9\nproxy1_port: 5099\nproxy_register: 1\n"
    net.phone(A_ADDR, base + "user_info: phone\n", "5550001")
    net.phone(B_ADDR, base, "5550002")
    clock.advance(0.1)
    reg_a = net.messages("REGISTER", A_ADDR)[0].decode()
    reg_b = net.messages("REGISTER", B_ADDR)[0].decode()
    assert "<sip:5550001@127.0.0.9:5099;user=phone>" in reg_a
    assert "user=" not in reg_b


def test_remote_party_id_is_sent_in_the_invite(clock: VirtualClock, net: Net) -> None:
    _call(net, clock, a_keys='remote_party_id: 1\nline1_displayname: "Front Desk"\n',
          answer=False)
    invite = net.messages("INVITE", A_ADDR)[0].decode()
    assert ('\r\nRemote-Party-ID: "Front Desk" <sip:5550001@127.0.0.1>;party=calling;'
            "screen=no;privacy=off\r\n") in invite
    net2 = Net(VirtualClock())
    _call(net2, net2.clock, answer=False)  # type: ignore[arg-type]
    assert b"Remote-Party-ID" not in net2.messages("INVITE", A_ADDR)[0]


def test_line_shortname_labels_the_line(clock: VirtualClock, net: Net) -> None:
    a = net.phone(A_ADDR, "line1_shortname: Bench\nline1_displayname: Bench phone\n", "5550001")
    assert a.status().display[0].startswith("Bench")
    assert not a.status().display[0].startswith("Bench phone")
    b = net.phone(B_ADDR, "line1_displayname: Bench phone\n", "5550002")
    assert b.status().display[0].startswith("Bench phone")


# ---------------------------------------------------------------- call_stats


def test_call_stats_puts_rtp_stat_headers_in_the_bye_and_its_200(
        clock: VirtualClock, net: Net) -> None:
    a, _b = _call(net, clock, a_keys="call_stats: 1\n", b_keys="call_stats: 1\n")
    clock.advance(4.0)
    a.press_softkey("endcall")
    clock.advance(0.2)
    (bye,) = net.messages("BYE", A_ADDR)
    text = bye.decode()
    rx = next(ln for ln in text.split("\r\n") if ln.startswith("RTP-RxStat: "))
    tx = next(ln for ln in text.split("\r\n") if ln.startswith("RTP-TxStat: "))
    fields = dict(f.split("=") for f in rx[len("RTP-RxStat: "):].split(","))
    assert list(fields) == ["Dur", "Pkt", "Oct", "LatePkt", "LostPkt", "AvgJit"]
    assert int(fields["Dur"]) == 4 and 190 <= int(fields["Pkt"]) <= 215
    assert int(fields["Oct"]) == 160 * int(fields["Pkt"])  # G.711: 160 bytes a packet
    assert fields["LostPkt"] == "0"
    assert tx.startswith("RTP-TxStat: Dur=4,Pkt=")
    ok = [d for d in net.messages("SIP/2.0 200", B_ADDR) if b"CSeq: 2 BYE" in d
          or b" BYE\r\n" in d]
    assert ok and b"RTP-RxStat: Dur=4," in ok[-1] and b"RTP-TxStat: " in ok[-1]


def test_without_call_stats_the_bye_has_no_rtp_stat(clock: VirtualClock, net: Net) -> None:
    a, _b = _call(net, clock)
    clock.advance(1.0)
    a.press_softkey("endcall")
    clock.advance(0.2)
    (bye,) = net.messages("BYE", A_ADDR)
    assert b"RTP-RxStat" not in bye and b"RTP-TxStat" not in bye


# ---------------------------------------------------------------- forwarding, codecs


@pytest.mark.parametrize(("timeout", "forwarded_at"), [("0", None), ("5", 5.0), ("", 20.0)])
def test_cfwd_noanswer_timeout_zero_is_off(clock: VirtualClock, net: Net, timeout: str,
                                           forwarded_at: float | None) -> None:
    keys = "cfwd_noanswer_url: sip:5550009@127.0.0.9:5099\n"
    if timeout:
        keys += f"cfwd_noanswer_timeout: {timeout}\n"
    _a, b = _call(net, clock, b_keys=keys, answer=False)
    start = net.times("INVITE")[0]
    clock.advance(60.0)
    moved = [t for t, s, _d, d in net.sent if s == B_ADDR and d.startswith(b"SIP/2.0 302")]
    if forwarded_at is None:
        assert moved == [] and b.status().ringer
    else:
        assert moved and moved[0] - start == pytest.approx(forwarded_at, abs=0.05)


def test_an_unsupported_codec_name_says_so() -> None:
    cfg = config("preferred_codec: g729a\n")
    assert any("preferred_codec: g729a is not supported by piphone" in w
               for w in cfg.warnings), cfg.warnings
    assert config("preferred_codec: g711alaw\n").warnings == ()


def test_messages_uri_is_what_the_messages_key_calls(clock: VirtualClock, net: Net) -> None:
    a = net.phone(A_ADDR, "messages_uri: sip:8500@127.0.0.2:5062\n", "5550001")
    b = net.phone(B_ADDR, "", "5550002")
    a._phone("press_key", "messages")  # noqa: SLF001 - the Messages hardware key
    clock.advance(0.1)
    assert net.messages("INVITE", A_ADDR)[0].startswith(b"INVITE sip:8500@127.0.0.2:5062 ")
    assert b.status().ringer
    c = net.phone(("127.0.0.3", 5063), "", "5550003")  # none configured: the key says so
    with pytest.raises(Exception, match="messages_uri"):
        c._phone("press_key", "messages")  # noqa: SLF001
