"""Hostile input never escapes as anything but the documented refusal."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.provisioning.cnf import ConfigError, parse_cnf
from firmware.provisioning.dhcp import parse_lease
from firmware.provisioning.dialplan import DialPlanError, match, parse_dialplan
from firmware.provisioning.digits import DialNumber, DigitCollector, InvalidNumber
from firmware.provisioning.schema import build_config
from firmware.provisioning.tftp_proto import TftpRead

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = st.sampled_from(["proxy1_address", "line1_name", "timer_t1", "hook_pin", "keypad_rows",
                        "control_bind", "display_address", "cfwd_url", "dnd_response", "x"])
LINE = st.one_of(
    st.text(max_size=60),
    st.builds(lambda k, v: f"{k}: {v}", KEYS, st.text(max_size=30)),
)


@FAST
@given(st.lists(LINE, max_size=20))
def test_cnf_files_parse_or_are_refused(lines: list[str]) -> None:
    try:
        build_config([parse_cnf("\n".join(lines), filename="f.cnf")])
    except ConfigError as exc:
        assert exc.file == "f.cnf"


@FAST
@given(st.binary(max_size=400))
def test_raw_bytes_as_cnf(data: bytes) -> None:
    try:
        parse_cnf(data, filename="f.cnf")
    except ConfigError:
        pass


PATTERN = st.text(alphabet="0123456789.*,#>\\x", min_size=1, max_size=12)


@FAST
@given(st.lists(PATTERN, min_size=1, max_size=5), st.text(alphabet="0123456789*#", max_size=20))
def test_dial_plans_parse_or_are_refused_and_matching_never_raises(
        patterns: list[str], keys: str) -> None:
    xml = "<DIALTEMPLATE>" + "".join(
        f'<TEMPLATE MATCH="{p}" Timeout="1" Rewrite="%1.%s"/>' for p in patterns) + \
        "</DIALTEMPLATE>"
    try:
        plan = parse_dialplan(xml)
    except DialPlanError:
        return
    match(plan, keys)
    c = DigitCollector(plan, interdigit_timeout=1)
    for i, k in enumerate(keys):
        c.press(k, float(i))
    c.handle_timer(1e9)
    c.send(1e9)
    events = []
    while (ev := c.next_event()) is not None:
        events.append(ev)
    finals = [e for e in events if isinstance(e, DialNumber | InvalidNumber)]
    assert len(finals) <= 1  # exactly one outcome per number at most


@FAST
@given(st.binary(max_size=300))
def test_xml_junk_is_refused_cleanly(data: bytes) -> None:
    try:
        parse_dialplan(data)
    except DialPlanError:
        pass


@FAST
@given(st.lists(st.tuples(st.binary(max_size=40), st.sampled_from([40001, 40002])),
                max_size=30))
def test_tftp_core_survives_any_datagrams(packets: list[tuple[bytes, int]]) -> None:
    t = TftpRead(filename="f", server=("192.0.2.1", 69), now=0.0, max_size=4096)
    for i, (data, port) in enumerate(packets):
        t.receive_datagram(data, ("192.0.2.1", port), float(i))
        t.handle_timer(float(i))
        for pkt, _ in t.datagrams_to_send():
            assert len(pkt) <= 4 + 1428 or pkt[:2] == b"\x00\x01"
    assert t.next_event() is None or t.finished


@FAST
@given(st.binary(max_size=600))
def test_lease_junk_yields_a_hint_or_none(data: bytes) -> None:
    parse_lease(data)
    parse_lease(bytes(236) + b"\x63\x82\x53\x63" + data)
