"""Endpoint request handling: 481, 482, 500 CSeq, OPTIONS, rport routing, RFC 2543, bad input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.sip.admission import AdmissionConfig
from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.events import IncomingCall, OutOfDialogRequest
from firmware.sip.message import parse_message

pytestmark = [pytest.mark.timeout(30), pytest.mark.arm64]  # arm64: the emulated subset

LOCAL = ("127.0.0.1", 5062)
PEER = ("127.0.0.1", 7777)


def ep() -> Endpoint:
    return Endpoint(EndpointConfig(local_address=LOCAL, user="bob"))


def invite(branch: str = "z9hG4bKabc", *, via_host: str = "127.0.0.1:7777;rport",
           to_tag: str = "", cseq: str = "1 INVITE", method: str = "INVITE",
           call_id: str = "c1@x", from_tag: str = "ft") -> bytes:
    to = "<sip:bob@127.0.0.1:5062>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {via_host};branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:alice@127.0.0.1:7777>;tag={from_tag}\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq}\r\n"
        "Contact: <sip:alice@127.0.0.1:7777>\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def sent(e: Endpoint) -> list[tuple[str, tuple[str, int]]]:
    return [(o.data.split(b"\r\n", 1)[0].decode(), o.dest) for o in e.datagrams_to_send()]


def test_in_dialog_request_for_unknown_dialog_gets_481() -> None:
    e = ep()
    e.receive_datagram(invite(method="BYE", cseq="2 BYE", to_tag="nope"), PEER, "udp", 0.0)
    assert sent(e) == [("SIP/2.0 481 Call/Transaction Does Not Exist", PEER)]
    assert e.stats.answered_481 == 1


def test_cancel_matching_nothing_gets_481() -> None:
    e = ep()
    e.receive_datagram(invite(method="CANCEL", cseq="1 CANCEL"), PEER, "udp", 0.0)
    assert sent(e) == [("SIP/2.0 481 Call/Transaction Does Not Exist", PEER)]


def test_merged_request_gets_482() -> None:
    e = ep()
    e.receive_datagram(invite("z9hG4bK1"), PEER, "udp", 0.0)
    e.receive_datagram(invite("z9hG4bK2"), ("127.0.0.1", 7778), "udp", 0.05)  # same request, other path
    assert sent(e) == [("SIP/2.0 482 Loop Detected", ("127.0.0.1", 7778))]  # rport: back to sender
    assert e.stats.answered_482 == 1
    assert isinstance(e.next_event(), IncomingCall) and e.next_event() is None


def test_retransmitted_invite_is_absorbed_and_100_after_200ms() -> None:
    e = ep()
    e.receive_datagram(invite(), PEER, "udp", 0.0)
    e.receive_datagram(invite(), PEER, "udp", 0.1)
    assert sent(e) == [] and e.stats.retransmissions_absorbed == 1
    assert e.get_timer() == pytest.approx(0.2)
    e.handle_timer(0.2)
    assert sent(e) == [("SIP/2.0 100 Trying", PEER)]
    e.receive_datagram(invite(), PEER, "udp", 0.3)
    assert sent(e) == [("SIP/2.0 100 Trying", PEER)]  # retransmission answered with the 100


def test_rfc2543_branchless_retransmission_and_cancel_match() -> None:
    e = ep()
    old = invite("1234").replace(b";branch=1234", b"")
    e.receive_datagram(old, PEER, "udp", 0.0)
    ev = e.next_event()
    assert isinstance(ev, IncomingCall)
    e.receive_datagram(old, PEER, "udp", 0.1)
    assert e.stats.retransmissions_absorbed == 1
    cancel = old.replace(b"INVITE sip:", b"CANCEL sip:").replace(b"1 INVITE", b"1 CANCEL")
    e.receive_datagram(cancel, PEER, "udp", 0.2)
    lines = [s for s, _ in sent(e)]
    assert lines == ["SIP/2.0 200 OK", "SIP/2.0 487 Request Terminated"]


def test_response_goes_to_received_rport() -> None:
    e = ep()
    data = invite(via_host="10.9.9.9:5060;rport")
    e.receive_datagram(data, ("192.0.2.7", 40000), "udp", 0.0)
    ev = e.next_event()
    e.reject(ev.session, 486, now=0.1)
    [out] = e.datagrams_to_send()
    assert out.dest == ("192.0.2.7", 40000)
    resp = parse_message(out.data)
    assert resp.top_via.received == "192.0.2.7" and resp.top_via.rport == 40000


def test_response_without_rport_goes_to_received_and_sent_by_port() -> None:
    e = ep()
    e.receive_datagram(invite(via_host="10.9.9.9:5070"), ("192.0.2.7", 40000), "udp", 0.0)
    e.reject(e.next_event().session, 603, now=0.1)
    [out] = e.datagrams_to_send()
    assert out.dest == ("192.0.2.7", 5070)


def test_lower_cseq_in_dialog_gets_500() -> None:
    e = ep()
    e.receive_datagram(invite(cseq="5 INVITE"), PEER, "udp", 0.0)
    sid = e.next_event().session
    e.answer(sid, None, now=0.0)
    ok = parse_message(e.datagrams_to_send()[0].data)
    tag = ok.to.tag
    e.receive_datagram(invite("z9hG4bKack", method="ACK", cseq="5 ACK", to_tag=tag), PEER, "udp", 0.1)
    e.receive_datagram(invite("z9hG4bKi1", method="INFO", cseq="7 INFO", to_tag=tag), PEER, "udp", 0.2)
    e.respond(next(x for x in iter(e.next_event, None) if hasattr(x, "request_id")).request_id,
              200, now=0.2)
    e.receive_datagram(invite("z9hG4bKi2", method="INFO", cseq="6 INFO", to_tag=tag), PEER, "udp", 0.3)
    assert [s for s, _ in sent(e)] == ["SIP/2.0 200 OK", "SIP/2.0 500 CSeq Out of Order"]


def test_options_answered_with_allow_accept() -> None:
    e = ep()
    e.receive_datagram(invite(method="OPTIONS", cseq="1 OPTIONS"), PEER, "udp", 0.0)
    [out] = e.datagrams_to_send()
    resp = parse_message(out.data)
    assert resp.status == 200
    assert "INVITE" in resp.headers.get("Allow") and "BYE" in resp.headers.get("Allow")
    assert "application/sdp" in resp.headers.get("Accept")
    assert resp.headers.get("Supported") == "replaces"
    assert resp.to.tag


def test_out_of_dialog_message_is_passed_up() -> None:
    e = ep()
    data = invite(method="MESSAGE", cseq="1 MESSAGE").replace(
        b"Content-Length: 0\r\n\r\n", b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi")
    e.receive_datagram(data, PEER, "udp", 0.0)
    ev = e.next_event()
    assert isinstance(ev, OutOfDialogRequest) and ev.body == b"hi"
    e.respond(ev.request_id, 200, now=0.1)
    assert sent(e) == [("SIP/2.0 200 OK", PEER)]


def test_unparseable_with_headers_gets_400_and_garbage_is_counted() -> None:
    e = ep()
    bad = invite().replace(b"Content-Length: 0", b"Content-Length: 99")
    e.receive_datagram(bad, PEER, "udp", 0.0)
    [(line, dest)] = sent(e)
    assert line.startswith("SIP/2.0 400 ") and dest == PEER
    e.receive_datagram(b"\x00\x01garbage", PEER, "udp", 0.0)
    e.receive_datagram(b"INVITE sip:x SIP/2.0\r\nCall-ID: 1\r\n\r\n", PEER, "udp", 0.0)
    assert sent(e) == []  # nothing to route a response by: dropped
    e.receive_datagram(b"INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n", PEER, "udp", 0.0)
    assert sent(e) == [("SIP/2.0 400 bad Via", PEER)]  # unreadable Via: back to the sender
    assert e.stats.dropped_unparseable == 2 and e.stats.answered_400 == 2


def test_unparseable_request_is_answered_at_its_source_not_its_via() -> None:
    e = ep()
    bad = invite(via_host="192.0.2.53:5060").replace(b"Content-Length: 0", b"Content-Length: -5")
    e.receive_datagram(bad, PEER, "udp", 0.0)
    [(line, dest)] = sent(e)
    assert line.startswith("SIP/2.0 400 ") and dest == PEER


def test_missing_call_id_gets_400_with_reason() -> None:
    e = ep()
    e.receive_datagram(invite().replace(b"Call-ID: c1@x\r\n", b""), PEER, "udp", 0.0)
    [(line, _)] = sent(e)
    assert line.startswith("SIP/2.0 400") and "Call-ID" in line


def test_transaction_table_is_bounded() -> None:
    e = Endpoint(EndpointConfig(local_address=LOCAL, max_transactions=8,
                                admission=AdmissionConfig(burst=100)))
    for i in range(20):  # answered at once: finished transactions make room for new ones
        e.receive_datagram(invite(f"z9hG4bK{i}", method="OPTIONS", cseq="1 OPTIONS",
                                  call_id=f"c{i}"), PEER, "udp", 0.0)
    assert [s for s, _ in sent(e)] == ["SIP/2.0 200 OK"] * 20
    assert len(e.layer) == 8 and e.layer.evicted == 12
    for i in range(12):  # left pending for the layer above: they fill the table
        e.receive_datagram(invite(f"z9hG4bKm{i}", method="MESSAGE", cseq="1 MESSAGE",
                                  call_id=f"m{i}"), PEER, "udp", 0.0)
    assert len(e.layer) == 8
    assert [s for s, _ in sent(e)] == ["SIP/2.0 503 Service Unavailable"] * 4
    assert e.stats.dropped_table_full == 4


def test_response_with_two_vias_is_discarded() -> None:
    e = ep()
    resp = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKzz\r\n"
            b"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKyy\r\n"
            b"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: q\r\nCSeq: 1 OPTIONS\r\n"
            b"Content-Length: 0\r\n\r\n")
    e.receive_datagram(resp, PEER, "udp", 0.0)
    assert e.stats.dropped_unparseable == 1 and e.stats.dropped_stray_response == 0


def test_stray_response_is_dropped_and_counted() -> None:
    e = ep()
    resp = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKzz\r\n"
            b"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: q\r\nCSeq: 1 OPTIONS\r\n"
            b"Content-Length: 0\r\n\r\n")
    e.receive_datagram(resp, PEER, "udp", 0.0)
    assert e.stats.dropped_stray_response == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600) | st.builds(
    lambda a, b, c: a[: len(a) // 2] + c + a[len(a) // 2 + b:],
    st.just(invite()), st.integers(0, 40), st.binary(max_size=20)))
def test_no_input_raises(data: bytes) -> None:
    e = ep()
    e.receive_datagram(data, PEER, "udp", 0.0)
    e.handle_timer(40.0)
    assert e.stats.extra.get("internal_errors", 0) == 0


def test_provisional_then_final_for_an_out_of_dialog_request() -> None:
    e = ep()
    e.receive_datagram(invite(method="MESSAGE", cseq="1 MESSAGE"), PEER, "udp", 0.0)
    rid = e.next_event().request_id
    e.respond(rid, 180, now=0.1)
    e.respond(rid, 202, now=0.2)
    assert [s for s, _ in sent(e)] == ["SIP/2.0 180 Ringing", "SIP/2.0 202 Accepted"]
    with pytest.raises(Exception, match="unknown request"):
        e.respond(rid, 200, now=0.3)


def test_register_rejects_bad_expires() -> None:
    from firmware.sip.endpoint import EndpointError

    with pytest.raises(EndpointError):
        ep().register("sip:127.0.0.1", "sip:bob@127.0.0.1", now=0.0, expires=0)


def _answer(request: bytes, status: str) -> bytes:
    """A response to ``request`` copying its Via, From, To, Call-ID and CSeq lines."""
    keep = ("via:", "from:", "to:", "call-id:", "cseq:")
    lines = [ln for ln in request.split(b"\r\n")[1:] if ln.decode().lower().startswith(keep)]
    return b"\r\n".join([f"SIP/2.0 {status}".encode(), *lines, b"Content-Length: 0", b"", b""])


def test_pending_requests_counts_requests_until_their_final_response() -> None:
    e = ep()
    assert e.pending_requests() == 0
    e.send_request("OPTIONS", "sip:alice@127.0.0.1:7777", now=0.0)
    (out,) = e.datagrams_to_send()
    assert e.pending_requests() == 1
    e.receive_datagram(_answer(out.data, "100 Trying"), PEER, "udp", 0.1)
    assert e.pending_requests() == 1  # a provisional is not an answer
    e.receive_datagram(_answer(out.data, "200 OK"), PEER, "udp", 0.2)
    assert e.pending_requests() == 0
