"""UAS request checks (RFC 3261 §8.2) and response building (§8.2.6)."""

from __future__ import annotations

import pytest

from firmware.sip.message import Request, Response, parse_message
from firmware.sip.validate import (
    DEFAULT_POLICY,
    UaPolicy,
    build_response,
    check_request,
    check_response,
    reason_phrase,
)

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def _request(method: str = "INVITE", extra: str = "", body: bytes = b"", cseq: str | None = None) -> Request:
    head = (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport\r\n"
        "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKdef\r\n"
        "From: <sip:alice@example.com>;tag=f1\r\n"
        "To: Bob <sip:bob@example.com>\r\n"
        "Call-ID: c1@192.0.2.1\r\n"
        f"CSeq: {cseq or '1 ' + method}\r\n"
        "Max-Forwards: 70\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    msg = parse_message(head.encode() + body)
    assert isinstance(msg, Request)
    return msg


def _status(req: Request, policy: UaPolicy = DEFAULT_POLICY) -> int | None:
    rejection = check_request(req, policy)
    return None if rejection is None else rejection.status


def test_ordinary_requests_pass() -> None:
    assert _status(_request()) is None
    assert _status(_request("INVITE", "Content-Type: application/sdp\r\n", b"v=0\r\n")) is None
    assert _status(_request("OPTIONS", "Accept: text/html\r\n")) is None
    assert _status(_request("INVITE", "Accept: application/*\r\n")) is None
    assert _status(_request("BYE", "Require: replaces\r\n")) is None


def test_max_forwards_zero_is_processed_by_a_ua() -> None:
    req = _request("OPTIONS")
    req.headers.set("Max-Forwards", "0")
    assert req.max_forwards == 0 and _status(req) is None


def test_method_checks() -> None:
    assert _status(_request("FROBNICATE")) == 501
    assert _status(_request("REGISTER")) == 405
    assert _status(_request("PUBLISH")) == 405
    assert _status(_request("OPTIONS", cseq="1 INVITE")) == 400
    allow = check_request(_request("PUBLISH"))
    assert allow is not None and dict(allow.headers)["Allow"].startswith("INVITE, ACK")


def test_require_and_content_checks() -> None:
    rej = check_request(_request("INVITE", "Require: 100rel, timer\r\n"))
    assert rej is not None and rej.status == 420
    assert dict(rej.headers) == {"Unsupported": "100rel, timer"}
    # CANCEL and ACK never fail on Require (§8.2.2.3).
    assert _status(_request("CANCEL", "Require: 100rel\r\n")) is None
    assert _status(_request("INVITE", "Content-Type: text/html\r\n", b"<b>")) == 415
    assert _status(_request("INVITE", "Content-Type: application/sdp\r\nContent-Encoding: gzip\r\n", b"x")) == 415
    assert _status(_request("INVITE", "Accept: text/plain\r\n")) == 406
    assert _status(_request("NOTIFY", "Content-Type: message/sipfrag;version=2.0\r\n", b"SIP/2.0 200 OK")) is None


def test_ack_rejections_are_never_answered() -> None:
    rej = check_request(_request("ACK", "Require: x\r\n", cseq="1 INVITE"))
    assert rej is not None and rej.status == 400 and not rej.respond


def test_missing_and_broken_headers() -> None:
    for name in ("Call-ID", "From", "To", "CSeq", "Via"):
        req = _request()
        req.headers.remove(name)
        rej = check_request(req)
        assert rej is not None and rej.status == 400 and name in rej.reason
    req = _request()
    req.headers.add("Contact", "sip:a@b?x=y")
    assert _status(req) == 400
    req = _request()
    req.headers.set("Max-Forwards", "256")
    assert _status(req) == 400
    req = _request()
    req.version = "SIP/3.0"
    assert _status(req) == 505


def test_policy_is_configurable() -> None:
    policy = UaPolicy(allow=("INVITE", "ACK", "BYE", "CANCEL"), uri_schemes=("sip", "sips", "tel"),
                      supported=("100rel",))
    assert _status(_request("OPTIONS"), policy) == 405
    assert _status(_request("INVITE", "Require: 100rel\r\n"), policy) is None


def test_build_response_copies_the_dialog_headers() -> None:
    req = _request("INVITE", "Timestamp: 54\r\n")
    ringing = build_response(req, 180, to_tag="bobtag")
    assert ringing.reason == "Ringing"
    assert ringing.headers.lines("Via") == req.headers.lines("Via")
    assert ringing.to.tag == "bobtag" and ringing.to.display_name == "Bob"
    assert ringing.from_ == req.from_ and ringing.call_id == req.call_id and ringing.cseq == req.cseq
    assert "Timestamp" not in ringing.headers
    trying = build_response(req, 100)
    assert trying.to.tag is None and trying.headers.get("Timestamp") == "54"
    generated = build_response(req, 486)
    assert generated.to.tag and len(generated.to.tag) >= 8
    ok = build_response(req, 200, extra_headers=[("Contact", "<sip:bob@192.0.2.2>")],
                        body=b"v=0\r\n", content_type="application/sdp")
    parsed = parse_message(bytes(ok))
    assert isinstance(parsed, Response) and parsed.content_type == "application/sdp"
    assert parsed.body == b"v=0\r\n" and parsed.contacts[0].uri.host == "192.0.2.2"


def test_existing_to_tag_is_kept() -> None:
    req = _request("BYE")
    req.headers.set("To", "Bob <sip:bob@example.com>;tag=already")
    assert build_response(req, 200, to_tag="other").to.tag == "already"


def test_check_response() -> None:
    resp = build_response(_request(), 200, to_tag="x")
    assert check_response(resp) is None
    resp.headers.set("CSeq", "99999999999 INVITE")
    assert check_response(resp) is not None
    assert check_response(Response(200, "OK", [("Call-ID", "x")])) == "missing Via"


def test_reason_phrases() -> None:
    assert reason_phrase(481) == "Call/Transaction Does Not Exist"
    assert reason_phrase(499) == "Bad Request"
    assert reason_phrase(299) == "OK"


def test_bad_name_addr_uris_are_caught_by_validation() -> None:
    # The parser builds name-addr URIs lazily; check_request must still refuse them.
    for header in ("From", "To", "Contact", "Record-Route"):
        req = _request()
        req.headers.set(header, "<sip:a@b:99999>;tag=x")
        rej = check_request(req)
        assert rej is not None and rej.status == 400, header


def test_record_route_copied_into_dialog_creating_responses() -> None:
    req = _request("INVITE", "Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\nRecord-Route: <sip:p3;lr>\r\n")
    assert build_response(req, 180).headers.lines("Record-Route") == ["<sip:p1;lr>, <sip:p2;lr>", "<sip:p3;lr>"]
    assert "Record-Route" not in build_response(req, 486).headers
    bye = _request("BYE", "Record-Route: <sip:p1;lr>\r\n")
    assert "Record-Route" not in build_response(bye, 200).headers
    reinvite = _request("INVITE", "Record-Route: <sip:p1;lr>\r\n")
    reinvite.headers.set("To", "<sip:bob@example.com>;tag=b1")
    assert "Record-Route" not in build_response(reinvite, 200).headers
