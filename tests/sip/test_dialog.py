"""§12 dialogs: creation from 1xx/2xx, route sets, loose/strict routing, target refresh, CSeq."""

from __future__ import annotations

import pytest

from firmware.sip.build import make_response
from firmware.sip.dialog import Dialog, DialogState
from firmware.sip.message import Headers, Request, Via, parse_message, parse_uri

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK74bf9\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    b"CSeq: 2 INVITE\r\n"
    b"Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n"
    b"Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def req() -> Request:
    msg = parse_message(INVITE)
    assert isinstance(msg, Request)
    return msg


def ok(request: Request, status: int = 200, rr: bool = True) -> object:
    h = [("Contact", "<sip:bob@client.biloxi.example.com>")]
    if rr:
        h.append(("Record-Route", "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>"))
    return make_response(request, status, to_tag="314159", headers=h)


def via() -> Via:
    return Via(transport="UDP", host="pc33.atlanta.example.com", params=(("branch", "z9hG4bKn"),))


def test_uac_dialog_from_2xx_reverses_record_route() -> None:
    r = req()
    d = Dialog.from_uac(r, ok(r))  # type: ignore[arg-type]
    assert d.id == ("3848276298220188511@atlanta.example.com", "9fxced76sl", "314159")
    assert d.state is DialogState.CONFIRMED
    assert [str(x.uri) for x in d.route_set] == ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]
    assert str(d.remote_target) == "sip:bob@client.biloxi.example.com"
    assert d.local_seq == 2 and d.remote_seq is None
    bye = d.create_request("BYE", via=via())
    assert str(bye.uri) == "sip:bob@client.biloxi.example.com"
    assert bye.headers.get_all("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert bye.cseq.seq == 3 and bye.to.tag == "314159" and bye.from_.tag == "9fxced76sl"
    assert d.next_hop() == (("p1.example.com", 5060), "udp")


def test_early_dialog_from_180_then_2xx_recomputes_route_set() -> None:
    r = req()
    d = Dialog.from_uac(r, ok(r, 180, rr=False))  # type: ignore[arg-type]
    assert d.state is DialogState.EARLY and d.route_set == []
    d.confirm_uac(ok(r))  # type: ignore[arg-type]
    assert d.state is DialogState.CONFIRMED and len(d.route_set) == 2


def test_uas_dialog_keeps_record_route_order_and_checks_cseq() -> None:
    r = req()
    d = Dialog.from_uas(r, "localtag", local_seq=100, confirmed=True)
    assert d.id == (r.call_id, "localtag", "9fxced76sl")
    assert [str(x.uri) for x in d.route_set] == ["sip:p2.example.com;lr", "sip:p1.example.com;lr"]
    assert str(d.remote_target) == "sip:alice@client.atlanta.example.com;transport=udp"
    assert d.next_hop() == (("p2.example.com", 5060), "udp")

    def inreq(method: str, seq: int) -> Request:
        h = Headers([("CSeq", f"{seq} {method}")])
        return Request(method, r.uri, h)

    assert not d.check_remote_cseq(inreq("BYE", 2))  # equal: out of order
    assert d.check_remote_cseq(inreq("ACK", 2))
    assert d.check_remote_cseq(inreq("INFO", 3)) and d.remote_seq == 3
    assert not d.check_remote_cseq(inreq("INFO", 1))


def test_strict_router_becomes_request_uri() -> None:
    r = req()
    d = Dialog.from_uac(r, ok(r))  # type: ignore[arg-type]
    d.route_set = [d.route_set[0].__class__(uri=parse_uri("sip:strict.example.com"))] + d.route_set
    bye = d.create_request("BYE", via=via())
    assert str(bye.uri) == "sip:strict.example.com"
    assert bye.headers.get_all("Route")[-1] == "<sip:bob@client.biloxi.example.com>"


def test_target_refresh_from_reinvite_contact() -> None:
    r = req()
    d = Dialog.from_uas(r, "lt", local_seq=1)
    re = parse_message(INVITE.replace(b"client.atlanta", b"new.atlanta").replace(b"2 INVITE",
                                                                                 b"3 INVITE"))
    d.target_refresh(re)  # type: ignore[arg-type]
    assert d.remote_target.host == "new.atlanta.example.com"


def test_in_dialog_request_serializes_and_reparses() -> None:
    r = req()
    d = Dialog.from_uac(r, ok(r))  # type: ignore[arg-type]
    info = d.create_request("INFO", via=via(), body=b"x", content_type="text/plain")
    again = parse_message(bytes(info))
    assert again == info and again.content_type == "text/plain"
