"""Only the proxy may ring the phone (firmware.sip.trust), at the endpoint.

The interop half (a registered phone behind real Kamailio, a ghost INVITE
from another address) is tests/security/test_ghost_call.py.
"""

from __future__ import annotations

import pytest

from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.events import IncomingCall

PHONE = ("127.0.0.1", 5062)
PROXY = ("127.0.0.7", 5060)
GHOST = ("127.0.0.9", 5060)


def ep(action: str = "403", **kw) -> Endpoint:
    return Endpoint(EndpointConfig(local_address=PHONE, user="5550002", domain=PROXY[0],
                                   trust_proxy_only=action, local_users=("5550002", "5550003"),
                                   **kw))


def invite(user: str = "5550002", *, method: str = "INVITE", to_tag: str = "",
           branch: str = "z9hG4bKg1", call_id: str = "ghost@x", src: tuple = GHOST) -> bytes:
    to = f"<sip:{user}@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    return (f"{method} sip:{user}@127.0.0.1:5062 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {src[0]}:{src[1]};branch={branch}\r\n"
            "Max-Forwards: 70\r\nFrom: \"friendly-scanner\" <sip:100@x>;tag=f\r\n"
            f"To: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 {method}\r\n"
            f"Contact: <sip:100@{src[0]}:{src[1]}>\r\nContent-Length: 0\r\n\r\n").encode()


def out(e: Endpoint) -> list[tuple[str, tuple[str, int]]]:
    return [(o.data.split(b"\r\n", 1)[0].decode(), o.dest) for o in e.datagrams_to_send()]


def test_ghost_invite_is_refused_and_does_not_ring() -> None:
    e = ep()
    e.receive_datagram(invite(), GHOST, "udp", 0.0)
    assert out(e) == [("SIP/2.0 403 Forbidden", GHOST)]
    assert e.next_event() is None and e.sessions == {}
    assert e.stats.extra["untrusted_refused"] == 1
    # its ACK and its retransmissions cost nothing more than another stateless 403
    e.receive_datagram(invite(method="ACK", to_tag="x"), GHOST, "udp", 0.1)
    assert out(e) == [] and e.stats.extra["untrusted_dropped"] == 1


def test_the_proxy_rings_the_phone() -> None:
    e = ep()
    e.receive_datagram(invite(src=PROXY), PROXY, "udp", 0.0)
    assert isinstance(e.next_event(), IncomingCall)


def test_drop_mode_answers_nothing_and_counts() -> None:
    e = ep("drop")
    for method in ("INVITE", "OPTIONS", "MESSAGE"):
        e.receive_datagram(invite(method=method, branch=f"z9hG4bK{method}"), GHOST, "udp", 0.0)
    assert out(e) == [] and e.next_event() is None
    assert e.stats.extra["untrusted_dropped"] == 3


def test_unknown_user_via_the_proxy_gets_404_and_our_other_line_rings() -> None:
    e = ep()
    e.receive_datagram(invite("5559999", src=PROXY), PROXY, "udp", 0.0)
    assert out(e) == [("SIP/2.0 404 Not Found", PROXY)] and e.next_event() is None
    e.receive_datagram(invite("5550003", src=PROXY, branch="z9hG4bKl2"), PROXY, "udp", 0.0)
    assert isinstance(e.next_event(), IncomingCall)


def test_registrar_learned_from_its_answer() -> None:
    """A proxy configured by name is trusted at the address its REGISTER answers come from."""
    e = Endpoint(EndpointConfig(local_address=PHONE, user="5550002", domain="pbx.test",
                                trust_proxy_only="403"))
    e.receive_datagram(invite(src=GHOST), GHOST, "udp", 0.0)
    assert out(e)[0][0] == "SIP/2.0 403 Forbidden"
    ok = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKr\r\n"
          b"From: <sip:5550002@pbx.test>;tag=a\r\nTo: <sip:5550002@pbx.test>;tag=b\r\n"
          b"Call-ID: r@x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n")
    e.receive_datagram(ok, GHOST, "udp", 0.1)  # stray, but it proves GHOST is the registrar
    e.receive_datagram(invite(src=GHOST, branch="z9hG4bKg2", call_id="c2"), GHOST, "udp", 0.2)
    assert isinstance(e.next_event(), IncomingCall)


@pytest.mark.parametrize("action", ["off"])
def test_peer_to_peer_phones_keep_accepting(action: str) -> None:
    e = ep(action)
    e.receive_datagram(invite("anyone"), GHOST, "udp", 0.0)
    assert isinstance(e.next_event(), IncomingCall)
