"""Ladder diagrams are drawn from wire bytes: labels, hold hints, order, SVG validity."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from firmware.demo.ladder import MessageLog, render_svg, render_text, sip_label

A = ("127.0.0.1", 5060)
B = ("127.0.0.1", 5062)
G = ("127.0.0.1", 5070)

SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"


def _invite(extra_sdp: bytes = b"") -> bytes:
    return (
        b"INVITE sip:b@127.0.0.1 SIP/2.0\r\nCall-ID: abc@h\r\nCSeq: 1 INVITE\r\n"
        b"Content-Type: application/sdp\r\n\r\n" + SDP + extra_sdp
    )


def test_sip_label_request_response_and_hold() -> None:
    assert sip_label(_invite()) == ("INVITE (SDP)", "abc@h", "1 INVITE")
    assert sip_label(_invite(b"a=sendonly\r\n"))[0] == "INVITE (SDP hold)"
    hold_2543 = _invite().replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 0.0.0.0")
    assert sip_label(hold_2543)[0] == "INVITE (SDP hold)"
    assert sip_label(b"SIP/2.0 486 Busy Here\r\ni: x\r\n\r\n") == ("486 Busy Here", "x", "")
    assert sip_label(b"BYE sip:a@h SIP/2.0\r\n\r\n")[0] == "BYE"


def test_non_sip_is_ignored() -> None:
    for data in (b"\x80\x00\x01\x02" * 10, b"", b"\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n", b"hello"):
        assert sip_label(data) is None
    log = MessageLog()
    assert log.record(0.0, A, B, b"\x80\x08rtp") is None
    assert log.messages == []


def test_log_names_parties_and_keeps_order() -> None:
    log = MessageLog()
    log.name(G, "Gateway 1")
    log.name(B, "Phone B")
    log.record(1.0, G, B, _invite())
    log.record(1.1, B, G, b"SIP/2.0 180 Ringing\r\n\r\n")
    log.record(1.2, A, G, b"SIP/2.0 200 OK\r\n\r\n")
    assert log.sequence() == [
        ("Gateway 1", "Phone B", "INVITE"),
        ("Phone B", "Gateway 1", "180 Ringing"),
        ("127.0.0.1:5060", "Gateway 1", "200 OK"),
    ]


def test_log_is_bounded() -> None:
    log = MessageLog(max_messages=3)
    for i in range(5):
        log.record(float(i), A, B, b"OPTIONS sip:x SIP/2.0\r\n\r\n")
    assert len(log.messages) == 3 and log.dropped == 2


def test_text_ladder_arrows_point_the_right_way() -> None:
    log = MessageLog()
    log.name(G, "GW")
    log.name(B, "Phone")
    log.record(0.0, G, B, _invite())
    log.record(0.25, B, G, b"SIP/2.0 200 OK\r\n\r\n")
    text = render_text(log.messages, ["GW", "Phone"], title="Figure B-1")
    lines = text.splitlines()
    assert lines[0] == "Figure B-1"
    invite = next(line for line in lines if "1. INVITE (SDP)" in line)
    ok = next(line for line in lines if "2. 200 OK" in line)
    assert invite.rstrip().endswith(">|") and "|-" in invite
    assert "|<" in ok and ok.startswith("   0.250s")
    # Columns: GW's lifeline is left of Phone's on every row.
    assert lines[2].index("GW") < lines[2].index("Phone")


def test_long_label_goes_above_the_arrow() -> None:
    log = MessageLog()
    log.record(0.0, A, B, b"SIP/2.0 407 Proxy Authentication Required\r\n\r\n")
    text = render_text(log.messages, col=12)
    above, arrow = [line for line in text.splitlines() if "|" in line][1:3]
    assert "407 Proxy Authentication Required" in above
    assert set(arrow.split("|")[1]) <= {"-", ">", "<"}


def test_svg_is_well_formed_and_has_one_arrow_per_message() -> None:
    log = MessageLog()
    log.name(A, "A & <co>")
    log.record(0.0, A, B, _invite())
    log.record(0.1, B, A, b"SIP/2.0 603 Decline\r\n\r\n")
    svg = render_svg(log.messages, title="Figure <B-14>")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    arrows = [e for e in root.iter(f"{ns}line") if e.get("marker-end")]
    assert len(arrows) == 2
    assert arrows[1].get("stroke") == "#cf222e"  # 6xx drawn as an error
    texts = "".join(e.text or "" for e in root.iter(f"{ns}text"))
    assert "A & <co>" in texts and "Figure <B-14>" in texts


def test_empty_ladder() -> None:
    assert "no messages" in render_text([])
    ET.fromstring(render_svg([]))


def test_bye_with_also_is_labelled() -> None:
    bye = b"BYE sip:a@h SIP/2.0\r\nAlso: <sip:c@h>\r\nCall-ID: x\r\n\r\n"
    assert sip_label(bye)[0] == "BYE (Also)"
    log = MessageLog()
    log.record(0.0, A, B, bye)
    assert log.sequence() == [("127.0.0.1:5060", "127.0.0.1:5062", "BYE")]


def test_svg_label_longer_than_its_arrow_is_shortened() -> None:
    log = MessageLog()
    log.record(0.0, A, B, b"SIP/2.0 100 trying -- your call is important to us\r\n\r\n")
    root = ET.fromstring(render_svg(log.messages))
    ns = "{http://www.w3.org/2000/svg}"
    label = [e.text for e in root.iter(f"{ns}text") if e.text and e.text.startswith("1. ")][0]
    assert label.endswith("\u2026") and len(label) < len("1. 100 trying -- your call is important to us")
