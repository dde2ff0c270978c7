"""Flood protection in the SIP core: per-source admission and state shed early.

Why: an INVITE flood during a call grew the phone by 185 MB (issue 16): every
INVITE kept a parsed request, a session and a dialog for 32 s after it had
been refused. These tests pin the two fixes on the sans-IO endpoint: a source
opening transactions faster than its bucket allows is refused before any state
exists, and an incoming call refused before any 2xx is forgotten at once (its
transaction alone answers retransmissions and the ACK).
"""

from __future__ import annotations

from firmware.sip.admission import AdmissionConfig, SourceAdmission
from firmware.sip.endpoint import Endpoint, EndpointConfig
from firmware.sip.events import IncomingCall

LOCAL = ("127.0.0.1", 5062)


def request(i: int, *, source_port: int = 7777, method: str = "INVITE", to_tag: str = "",
            branch: str | None = None) -> bytes:
    to = "<sip:bob@127.0.0.1:5062>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{source_port};branch={branch or f'z9hG4bKf{i}'}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:scanner@127.0.0.1>;tag=t{i}\r\nTo: {to}\r\n"
        f"Call-ID: flood-{i}@x\r\nCSeq: 1 {method}\r\n"
        "Contact: <sip:scanner@127.0.0.1:7777>\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def drain_events(e: Endpoint) -> list[object]:
    out = []
    while (ev := e.next_event()) is not None:
        out.append(ev)
    return out


def test_token_bucket_refuses_past_the_burst_and_refills_at_the_rate() -> None:
    adm = SourceAdmission(AdmissionConfig(rate=10.0, burst=5.0))
    assert [adm.admit("192.0.2.7", 0.0) for _ in range(7)] == [True] * 5 + [False] * 2
    assert adm.admit("192.0.2.8", 0.0)  # another source has its own bucket
    assert not adm.admit("192.0.2.7", 0.05)  # half a token after 50 ms
    assert adm.admit("192.0.2.7", 0.15)  # 1.5 tokens after 150 ms
    assert adm.refused == 3


def test_exempt_source_and_bounded_table() -> None:
    adm = SourceAdmission(AdmissionConfig(rate=1.0, burst=1.0, max_sources=3),
                          exempt=frozenset({"10.0.0.1"}))
    assert all(adm.admit("10.0.0.1", 0.0) for _ in range(50))  # the proxy is never limited
    for i in range(10):
        adm.admit(f"192.0.2.{i}", 0.0)
    assert len(adm) == 3


def test_invite_flood_from_one_source_is_refused_before_state() -> None:
    e = Endpoint(EndpointConfig(local_address=LOCAL, admission=AdmissionConfig(rate=5, burst=10)))
    for i in range(200):
        e.receive_datagram(request(i), ("127.0.0.1", 7777), "udp", 0.0)
    calls = [ev for ev in drain_events(e) if isinstance(ev, IncomingCall)]
    assert len(calls) == 10
    assert e.stats.extra.get("rate_limited") == 190
    assert len(e.layer) == 10  # no transaction for the refused ones
    assert not [o for o in e.datagrams_to_send() if o.data.startswith(b"SIP/2.0 503")]


def test_refused_requests_can_be_answered_503_with_retry_after() -> None:
    e = Endpoint(EndpointConfig(local_address=LOCAL,
                                admission=AdmissionConfig(rate=1, burst=1, answer_503=True, retry_after=7)))
    e.receive_datagram(request(1, method="OPTIONS"), ("127.0.0.1", 7777), "udp", 0.0)
    e.datagrams_to_send()
    e.receive_datagram(request(2, method="OPTIONS"), ("127.0.0.1", 7777), "udp", 0.0)
    [out] = e.datagrams_to_send()
    assert out.data.startswith(b"SIP/2.0 503") and b"Retry-After: 7\r\n" in out.data


def test_retransmissions_and_in_dialog_requests_are_not_counted() -> None:
    e = Endpoint(EndpointConfig(local_address=LOCAL, admission=AdmissionConfig(rate=0.001, burst=1)))
    src = ("127.0.0.1", 7777)
    e.receive_datagram(request(1, method="OPTIONS"), src, "udp", 0.0)
    for _ in range(5):  # the same request again: the transaction replays its answer
        e.receive_datagram(request(1, method="OPTIONS"), src, "udp", 0.1)
    e.receive_datagram(request(2, method="BYE", to_tag="x"), src, "udp", 0.2)  # in-dialog: 481, not refused
    statuses = [o.data.split(b"\r\n", 1)[0] for o in e.datagrams_to_send()]
    assert statuses.count(b"SIP/2.0 200 OK") == 6
    assert b"SIP/2.0 481 Call/Transaction Does Not Exist" in statuses
    assert "rate_limited" not in e.stats.extra


def test_refused_incoming_call_is_forgotten_at_once_and_its_transaction_keeps_only_the_answer() -> None:
    e = Endpoint(EndpointConfig(local_address=LOCAL, admission=AdmissionConfig(burst=1000)))
    for i in range(100):  # a busy phone refuses every one (the app's 486)
        e.receive_datagram(request(i, source_port=8000 + i), ("127.0.0.1", 8000 + i), "udp", 1.0)
        for ev in drain_events(e):
            if isinstance(ev, IncomingCall):
                e.reject(ev.session, 486, now=1.0)
        e.handle_timer(1.0)
    assert len(e.sessions) == 0  # no 32 s linger for calls that never had a 2xx
    txs = list(e.layer.servers.values())
    assert len(txs) == 100 and all(tx.request is None and tx.owner is None for tx in txs)
    # The 486 is still replayed to a retransmitted INVITE, and the ACK is absorbed.
    e.datagrams_to_send()
    e.receive_datagram(request(5, source_port=8005), ("127.0.0.1", 8005), "udp", 1.2)
    [again] = e.datagrams_to_send()
    assert again.data.startswith(b"SIP/2.0 486")
