"""§17.1.3 / §17.2.3 matching, §9.2 CANCEL matching, 482 detection, table bound and reaping."""

from __future__ import annotations

from typing import Any

import pytest

from firmware.sip.build import make_response
from firmware.sip.events import Outgoing
from firmware.sip.message import Request, parse_message
from firmware.sip.timers import TimerConfig
from firmware.sip.transaction import TxState
from firmware.sip.transaction_layer import Match, TableFull, TransactionLayer, build_non_2xx_ack

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

SRC = ("127.0.0.1", 7000)


def request(method: str = "INVITE", branch: str = "z9hG4bKa1", *, cseq: int = 1,
            via: str = "127.0.0.1:7000", uri: str = "sip:bob@127.0.0.1",
            to_tag: str | None = None) -> Request:
    to = "<sip:bob@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    branch_param = f";branch={branch}" if branch else ""
    data = (
        f"{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {via}{branch_param}\r\n"
        f"Route: <sip:proxy.example;lr>\r\nFrom: <sip:alice@x>;tag=f1\r\nTo: {to}\r\n"
        f"Call-ID: cid\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    msg = parse_message(data)
    assert isinstance(msg, Request)
    return msg


def layer(max_transactions: int = 16) -> tuple[TransactionLayer, list[Outgoing]]:
    out: list[Outgoing] = []
    return TransactionLayer(timers=TimerConfig(), sink=out.append,
                            max_transactions=max_transactions), out


def test_response_matched_by_branch_and_cseq_method() -> None:
    tl, out = layer()
    seen: list[tuple[str, int]] = []

    def on_resp(tx: Any, status: int, resp: Any, now: float) -> None:
        seen.append((tx.key[1], status))

    inv = request()
    tl.send_request(inv, SRC, "udp", 0.0, on_response=on_resp, on_timeout=lambda *a: None)
    cancel = request("CANCEL")  # same branch, other method: its own transaction (§9.1)
    tl.send_request(cancel, SRC, "udp", 0.1, on_response=on_resp, on_timeout=lambda *a: None)
    assert tl.receive_response(make_response(cancel, 200, to_tag="t"), 0.2)
    assert tl.receive_response(make_response(inv, 487, to_tag="t"), 0.3)
    assert not tl.receive_response(make_response(request(branch="z9hG4bKother"), 200), 0.3)
    assert seen == [("CANCEL", 200), ("INVITE", 487)]


def test_non_2xx_ack_reuses_branch_route_and_response_to_tag() -> None:
    inv = request()
    ack = build_non_2xx_ack(inv, make_response(inv, 486, to_tag="xyz"))
    assert ack.method == "ACK" and ack.uri == inv.uri
    assert ack.top_via.branch == "z9hG4bKa1" and len(ack.vias) == 1
    assert ack.to.tag == "xyz" and ack.cseq.seq == 1 and ack.cseq.method == "ACK"
    assert ack.headers.get_all("Route") == ["<sip:proxy.example;lr>"]


def test_server_matching_uses_sent_by_and_method() -> None:
    tl, _ = layer()
    m1, tx1 = tl.receive_request(request(), SRC, "udp", 0.0)
    m2, tx2 = tl.receive_request(request(), SRC, "udp", 0.1)
    m3, tx3 = tl.receive_request(request(via="10.0.0.9:5060"), SRC, "udp", 0.1)
    m4, tx4 = tl.receive_request(request("CANCEL"), SRC, "udp", 0.2)
    assert (m1, m2, m3, m4) == (Match.NEW, Match.RETRANSMISSION, Match.NEW, Match.NEW)
    assert tx2 is tx1 and tx3 is not tx1 and tx4 is not tx1
    assert tl.find_cancel_target(request("CANCEL")) is tx1
    assert tl.find_cancel_target(request("CANCEL", branch="z9hG4bKzz")) is None


def test_ack_for_non_2xx_absorbed_and_ack_for_2xx_passed_up() -> None:
    tl, _ = layer()
    _, tx = tl.receive_request(request(), SRC, "udp", 0.0)
    assert tx is not None
    tl.send_response(tx, make_response(request(), 486, to_tag="t1"), 0.1)
    assert tl.receive_request(request("ACK", to_tag="t1"), SRC, "udp", 0.2)[0] is Match.ACK_NON_2XX
    assert tx.state is TxState.CONFIRMED
    assert tl.receive_request(request("ACK", "z9hG4bKnew", to_tag="t1"), SRC, "udp", 0.3)[0] \
        is Match.ACK_2XX


def test_rfc2543_ack_must_carry_the_to_tag_we_sent() -> None:
    tl, _ = layer()
    _, tx = tl.receive_request(request(branch=""), SRC, "udp", 0.0)
    assert tx is not None
    tl.send_response(tx, make_response(request(branch=""), 404, to_tag="mine"), 0.1)
    assert tl.receive_request(request("ACK", "", to_tag="other"), SRC, "udp", 0.2)[0] \
        is Match.ACK_2XX
    assert tl.receive_request(request("ACK", "", to_tag="mine"), SRC, "udp", 0.2)[0] \
        is Match.ACK_NON_2XX


def test_merged_request_detected_only_for_live_other_transaction() -> None:
    tl, _ = layer()
    _, tx1 = tl.receive_request(request(branch="z9hG4bK1"), SRC, "udp", 0.0)
    _, tx2 = tl.receive_request(request(branch="z9hG4bK2"), SRC, "udp", 0.0)
    assert tx1 is not None and tx2 is not None
    assert not tl.is_merged(request(branch="z9hG4bK1"), tx1)
    assert tl.is_merged(request(branch="z9hG4bK2"), tx2)
    _, tx3 = tl.receive_request(request(branch="z9hG4bK3", cseq=2), SRC, "udp", 0.0)
    assert tx3 is not None and not tl.is_merged(request(branch="z9hG4bK3", cseq=2), tx3)


def test_table_bounded_evicts_finished_and_reaps_after_timers() -> None:
    tl, _ = layer(max_transactions=2)
    txs = []
    for i in range(2):
        m, tx = tl.receive_request(request("OPTIONS", f"z9hG4bK{i}"), SRC, "udp", 0.0)
        assert m is Match.NEW and tx is not None
        txs.append(tx)
    # both still waiting for the TU: no room
    assert tl.receive_request(request("OPTIONS", "z9hG4bK9"), SRC, "udp", 0.0)[0] is Match.FULL
    try:
        tl.send_request(request("OPTIONS", "z9hG4bKc"), SRC, "udp", 0.0,
                        on_response=lambda *a: None, on_timeout=lambda *a: None)
    except TableFull:
        pass
    else:
        raise AssertionError("TableFull expected")
    tl.send_response(txs[0], make_response(request("OPTIONS", "z9hG4bK0"), 200), 0.0)
    assert tl.get_timer() == 32.0  # Timer J
    # a finished (absorbing) transaction is evicted to make room
    assert tl.receive_request(request("OPTIONS", "z9hG4bK9"), SRC, "udp", 0.0)[0] is Match.NEW
    assert tl.evicted == 1 and len(tl) == 2
    for tx in list(tl.servers.values()):
        if tx.state is TxState.TRYING:
            tl.send_response(tx, make_response(tx.request, 200), 1.0)
    tl.handle_timer(33.0)
    assert len(tl) == 0 and tl.get_timer() is None
