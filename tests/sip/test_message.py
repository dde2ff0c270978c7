"""Request/response parsing, typed accessors and canonical serialization (RFC 3261 §7, §20)."""

from __future__ import annotations

import pytest

from firmware.sip.message import (
    CSeq,
    Headers,
    Request,
    Response,
    SipParseError,
    parse_message,
    parse_uri,
)

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b'From: "Alice A." <sip:alice@atlanta.example.com>;tag=1928301774\r\n'
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)

RESPONSE = (
    b"SIP/2.0 180 Ringing\r\n"
    b"v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;received=198.51.100.7;rport=40000\r\n"
    b"v: SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKdef\r\n"
    b"f: <sip:alice@example.com>;tag=a1\r\n"
    b"t: <sip:bob@example.com>;tag=b2\r\n"
    b"i: call-1@example.com\r\n"
    b"CSeq: 2 INVITE\r\n"
    b"l: 0\r\n"
    b"\r\n"
)


def test_request_fields_and_accessors() -> None:
    msg = parse_message(INVITE)
    assert isinstance(msg, Request)
    assert msg.method == "INVITE"
    assert msg.uri.user == "bob" and msg.uri.host == "biloxi.example.com"
    assert msg.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert msg.cseq == CSeq(seq=314159, method="INVITE")
    assert msg.from_.display_name == "Alice A." and msg.from_.tag == "1928301774"
    assert msg.to.tag is None and msg.to.display_name == "Bob"
    assert msg.max_forwards == 70
    assert msg.content_length == 4
    assert msg.content_type == "application/sdp"
    assert msg.body == b"v=0\n"
    (via,) = msg.vias
    assert via.branch == "z9hG4bK776asdhds"
    assert via.rport_requested and via.rport is None
    assert via.sent_by == ("pc33.atlanta.example.com", None)
    assert [str(c.uri) for c in msg.contacts] == ["sip:alice@pc33.atlanta.example.com"]


def test_response_compact_forms_and_ipv6_via() -> None:
    msg = parse_message(RESPONSE)
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason) == (180, "Ringing")
    assert msg.headers.get("Call-ID") == msg.headers.get("i") == "call-1@example.com"
    top, second = msg.vias
    assert top.received == "198.51.100.7" and top.rport == 40000
    assert second.host == "2001:db8::9" and second.port == 5070 and second.transport == "TCP"
    assert str(second) == "SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKdef"
    wire = bytes(msg)
    assert b"\r\nVia: SIP/2.0/UDP" in wire and b"\r\nCall-ID: call-1" in wire
    assert b"\r\nv:" not in wire


def test_round_trip_is_stable() -> None:
    for data in (INVITE, RESPONSE):
        msg = parse_message(data)
        again = parse_message(bytes(msg))
        assert again == msg
        assert bytes(again) == bytes(msg)


def test_build_and_serialize_request() -> None:
    req = Request(
        "OPTIONS",
        parse_uri("sip:[2001:db8::1]:5062;transport=tcp"),
        [("Via", "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK1"), ("CSeq", "1 OPTIONS")],
    )
    wire = bytes(req)
    assert wire.startswith(b"OPTIONS sip:[2001:db8::1]:5062;transport=tcp SIP/2.0\r\n")
    assert wire.endswith(b"Content-Length: 0\r\n\r\n")
    assert parse_message(wire) == req


def test_content_length_follows_body() -> None:
    msg = parse_message(INVITE)
    msg.body = b"longer body"
    assert b"Content-Length: 11\r\n\r\nlonger body" in bytes(msg)


def test_headers_container_operations() -> None:
    headers = Headers([("v", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("Route", "<sip:p1;lr>, <sip:p2;lr>")])
    headers.add("Via", "SIP/2.0/UDP b;branch=z9hG4bK2", first=True)
    assert headers.get_all("VIA")[0].endswith("z9hG4bK2")
    assert headers.get_all("route") == ["<sip:p1;lr>", "<sip:p2;lr>"]
    assert headers.pop_first("Route") == "<sip:p1;lr>"
    assert headers.get_all("Route") == ["<sip:p2;lr>"]
    headers.set("Max-Forwards", 69)
    assert headers.get("max-forwards") == "69"
    assert headers.remove("Via") == 2 and "v" not in headers
    with pytest.raises(ValueError):
        headers.add("X-Evil", "a\r\nInjected: yes")
    with pytest.raises(ValueError):
        headers.add("Bad Name", "x")


def test_auth_headers_are_never_split() -> None:
    value = 'Digest realm="a,b", nonce="n", algorithm=MD5'
    headers = Headers([("WWW-Authenticate", value), ("Authorization", value)])
    assert headers.get_all("WWW-Authenticate") == [value]
    assert headers.get_all("Authorization") == [value]


def test_typed_cache_invalidated_by_mutation() -> None:
    msg = parse_message(INVITE)
    assert msg.cseq.seq == 314159
    msg.headers.set("CSeq", "7 INVITE")
    assert msg.cseq.seq == 7


def test_line_folding_and_whitespace() -> None:
    data = INVITE.replace(b"CSeq: 314159 INVITE", b"CSeq :  314159\r\n   INVITE")
    assert parse_message(data).cseq == CSeq(seq=314159, method="INVITE")


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n", "no empty line"),
        (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", "bad request line"),
        (b"SIP/2.0 99 Low\r\n\r\n", "bad status line"),
        (b"INVITE sip:a@b SIP/2.0\r\nNoColon\r\n\r\n", "colon"),
        (b"INVITE sip:a@b SIP/2.0\r\nX: a\nb\r\n\r\n", "bare CR or LF"),
        (b"INVITE sip:a@b SIP/2.0\r\nl: 10\r\n\r\nabc", "larger than"),
    ],
)
def test_malformed_messages(data: bytes, reason: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert reason in info.value.reason
    assert info.value.status_hint == 400


def test_stream_requires_content_length() -> None:
    data = INVITE.replace(b"Content-Length: 4\r\n", b"")
    assert parse_message(data).body == b"v=0\n"
    with pytest.raises(SipParseError) as info:
        parse_message(data, stream=True)
    assert isinstance(info.value.partial, Request)


def test_limits_on_what_a_sender_controls() -> None:
    from firmware.sip.errors import ParseLimits

    many_vias = INVITE.replace(b"Max-Forwards", b"Via: SIP/2.0/UDP h;branch=z9hG4bKx, " + b"SIP/2.0/UDP h, " * 70 + b"SIP/2.0/UDP h\r\nMax-Forwards")
    with pytest.raises(SipParseError) as info:
        parse_message(many_vias)
    assert info.value.status_hint == 513 and "Via" in info.value.reason
    many_headers = INVITE.replace(b"Max-Forwards", b"X-A: 1\r\n" * 300 + b"Max-Forwards")
    with pytest.raises(SipParseError) as info:
        parse_message(many_headers)
    assert info.value.status_hint == 513
    long_line = INVITE.replace(b"Max-Forwards: 70", b"Subject: " + b"s" * 9000 + b"\r\nMax-Forwards: 70")
    with pytest.raises(SipParseError) as info:
        parse_message(long_line)
    assert info.value.status_hint == 513
    with pytest.raises(SipParseError) as info:
        parse_message(INVITE, limits=ParseLimits(max_message_size=100))
    assert info.value.status_hint == 513
    assert parse_message(INVITE, limits=ParseLimits(max_vias=1)).call_id


def test_bad_request_line_keeps_a_partial_for_the_400() -> None:
    data = INVITE.replace(b"INVITE sip:bob@biloxi.example.com SIP/2.0", b"INVITE <sip:bob@biloxi.example.com> SIP/2.0")
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    partial = info.value.partial
    assert isinstance(partial, Request) and partial.method == "INVITE"
    assert partial.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    with pytest.raises(SipParseError) as info:
        parse_message(b"garbage line\r\nVia: x\r\n\r\n")
    assert info.value.partial is None


def test_leading_crlfs_are_skipped() -> None:
    assert parse_message(b"\r\n\r\n" + INVITE).method == "INVITE"


def test_trailing_octets_beyond_content_length_ignored() -> None:
    assert parse_message(INVITE + b"junk after the body").body == b"v=0\n"


def test_request_uri_text_kept_until_reassigned() -> None:
    data = INVITE.replace(b"INVITE sip:bob@biloxi.example.com", b"INVITE SIP:bob@biloxi.example.com")
    msg = parse_message(data)
    assert isinstance(msg, Request)
    assert bytes(msg).startswith(b"INVITE SIP:bob@biloxi.example.com SIP/2.0")
    assert msg.uri.scheme == "sip" and msg.uri.user == "bob"
    msg.uri = parse_uri("sip:carol@example.com")
    assert bytes(msg).startswith(b"INVITE sip:carol@example.com SIP/2.0")
    assert msg.copy() == msg and msg.copy() is not msg


def test_constructor_refuses_what_would_break_the_start_line() -> None:
    with pytest.raises(ValueError):
        Request("IN VITE", parse_uri("sip:a@b"))
    with pytest.raises(ValueError):
        Request("INVITE", parse_uri("sip:a@b").with_params(x="y\r\nVia: evil"))
    assert bytes(Response(200, "OK\r\nX: y")).split(b"\r\n")[0] == b"SIP/2.0 200 OK  X: y"
