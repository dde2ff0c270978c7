"""§17 transaction state machines: exact deadlines for every timer, with plain bytes."""

from __future__ import annotations

from typing import Any

import pytest

from firmware.sip.events import Outgoing
from firmware.sip.timers import TimerConfig
from firmware.sip.transaction import ClientTransaction, ServerTransaction, TxState

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

DEST = ("127.0.0.1", 5060)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[float, bytes]] = []
        self.responses: list[tuple[int, float]] = []
        self.timeouts: list[float] = []
        self.now = 0.0

    def sink(self, out: Outgoing) -> None:
        self.sent.append((self.now, out.data))

    def on_response(self, tx: Any, status: int, response: Any, now: float) -> None:
        self.responses.append((status, now))

    def on_timeout(self, tx: Any, now: float) -> None:
        self.timeouts.append(now)


def client(rec: Recorder, *, invite: bool, reliable: bool = False,
           timers: TimerConfig | None = None) -> ClientTransaction:
    tx = ClientTransaction(
        key=("z9hG4bK1", "INVITE" if invite else "OPTIONS"), invite=invite, data=b"REQ",
        dest=DEST, transport="tcp" if reliable else "udp", reliable=reliable,
        timers=timers or TimerConfig(), sink=rec.sink, on_response=rec.on_response,
        on_timeout=rec.on_timeout, build_ack=lambda resp: b"ACK",
    )
    tx.start(0.0)
    return tx


def run(tx: Any, rec: Recorder, until: float) -> list[float]:
    """Fire the transaction's timers in order up to ``until``; return the instants they fired."""
    fired = []
    while (t := tx.get_timer()) is not None and t <= until:
        rec.now = t
        tx.handle_timer(t)
        fired.append(t)
    return fired


def test_timer_e_non_invite_retransmits_capped_at_t2_then_f_times_out() -> None:
    rec = Recorder()
    tx = client(rec, invite=False)
    assert tx.get_timer() == 0.5
    run(tx, rec, 100.0)
    times = [t for t, d in rec.sent]
    # 0.5, 1.5, 3.5, then every 4.0 (T2) until Timer F at 32.
    assert times[:6] == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5]
    assert times[-1] == 31.5
    assert rec.timeouts == [32.0]
    assert tx.terminated and tx.get_timer() is None


def test_timer_e_in_proceeding_is_t2() -> None:
    rec = Recorder()
    tx = client(rec, invite=False)
    run(tx, rec, 0.5)  # one retransmission at 0.5, next due at 1.5
    tx.receive_response(100, None, 0.7)
    assert tx.state is TxState.PROCEEDING
    assert tx.get_timer() == 1.5
    rec.now = 1.5
    tx.handle_timer(1.5)
    assert tx.deadlines["E"] == 5.5  # T2 flat from now on


def test_non_invite_final_then_timer_k_absorbs() -> None:
    rec = Recorder()
    tx = client(rec, invite=False)
    tx.receive_response(200, None, 0.2)
    tx.receive_response(200, None, 0.3)  # retransmission absorbed
    assert rec.responses == [(200, 0.2)]
    assert tx.get_timer() == pytest.approx(5.2)
    run(tx, rec, 10)
    assert tx.terminated and rec.timeouts == []


def test_timer_a_and_b_with_custom_t1() -> None:
    rec = Recorder()
    tx = client(rec, invite=True, timers=TimerConfig(t1=0.25, t2=4.0))
    assert tx.deadlines == {"A": 0.25, "B": 16.0}
    run(tx, rec, 100)
    times = [t for t, _ in rec.sent]
    assert times == [0.0, 0.25, 0.75, 1.75, 3.75, 7.75, 15.75]
    assert rec.timeouts == [16.0]


def test_invite_non_2xx_acked_inside_transaction_and_timer_d() -> None:
    rec = Recorder()
    tx = client(rec, invite=True)
    tx.receive_response(180, None, 0.1)
    assert tx.state is TxState.PROCEEDING and tx.deadlines == {}  # no A, and B only in Calling
    tx.receive_response(486, None, 1.0)
    assert rec.sent[-1] == (0.0, b"ACK")
    assert tx.state is TxState.COMPLETED and tx.deadlines == {"D": 33.0}
    tx.receive_response(486, None, 2.0)  # retransmitted 486 -> same ACK again
    assert [d for _, d in rec.sent].count(b"ACK") == 2
    assert rec.responses == [(180, 0.1), (486, 1.0)]
    run(tx, rec, 40)
    assert tx.terminated


def test_invite_2xx_accepted_passes_retransmissions_up() -> None:
    rec = Recorder()
    tx = client(rec, invite=True)
    tx.receive_response(200, None, 0.3)
    tx.receive_response(200, None, 0.8)
    assert rec.responses == [(200, 0.3), (200, 0.8)]
    assert b"ACK" not in [d for _, d in rec.sent]  # 2xx ACK is the TU's job
    assert tx.deadlines == {"M": 32.3}


def test_reliable_transport_no_retransmissions_zero_timer_d() -> None:
    rec = Recorder()
    tx = client(rec, invite=True, reliable=True)
    assert tx.deadlines == {"B": 32.0}
    tx.receive_response(404, None, 1.0)
    assert tx.deadlines == {"D": 1.0}


def server(rec: Recorder, *, invite: bool, reliable: bool = False) -> ServerTransaction:
    return ServerTransaction(
        key=("z9hG4bK2", "h", 5060, "INVITE"), invite=invite, dest=DEST,
        transport="udp", reliable=reliable, timers=TimerConfig(), sink=rec.sink, now=0.0,
        on_timeout=rec.on_timeout, build_trying=(lambda: b"100") if invite else None,
    )


def test_server_invite_sends_100_after_200ms_only_if_tu_silent() -> None:
    rec = Recorder()
    tx = server(rec, invite=True)
    assert tx.get_timer() == 0.2
    run(tx, rec, 1.0)
    assert rec.sent == [(0.2, b"100")]
    rec2 = Recorder()
    tx2 = server(rec2, invite=True)
    tx2.send_response(180, b"180", 0.1)
    run(tx2, rec2, 1.0)
    assert [d for _, d in rec2.sent] == [b"180"]


def test_server_invite_timer_g_h_for_non_2xx() -> None:
    rec = Recorder()
    tx = server(rec, invite=True)
    tx.send_response(486, b"486", 0.0)
    assert tx.deadlines == {"G": 0.5, "H": 32.0}
    run(tx, rec, 40)
    times = [t for t, _ in rec.sent]
    assert times[:6] == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5]
    assert rec.timeouts == [32.0]


def test_server_invite_ack_confirms_then_timer_i() -> None:
    rec = Recorder()
    tx = server(rec, invite=True)
    tx.send_response(603, b"603", 0.0)
    tx.receive_retransmission(0.3)  # INVITE again -> 603 again
    assert [d for _, d in rec.sent] == [b"603", b"603"]
    assert tx.receive_ack(0.4) is True
    assert tx.receive_ack(0.5) is False
    assert tx.state is TxState.CONFIRMED and tx.deadlines == {"I": 5.4}
    run(tx, rec, 10)
    assert tx.terminated and rec.timeouts == []


def test_server_invite_2xx_accepted_state_timer_l() -> None:
    rec = Recorder()
    tx = server(rec, invite=True)
    tx.send_response(200, b"200", 0.0)
    tx.receive_retransmission(0.1)  # absorbed: the core retransmits 2xx
    tx.send_response(200, b"200", 0.5)  # core retransmission passes through
    assert [d for _, d in rec.sent] == [b"200", b"200"]
    assert tx.deadlines == {"L": 32.0}


def test_server_non_invite_timer_j_and_retransmissions() -> None:
    rec = Recorder()
    tx = server(rec, invite=False)
    tx.receive_retransmission(0.1)  # Trying: absorbed silently
    assert rec.sent == []
    tx.send_response(200, b"200", 0.2)
    tx.receive_retransmission(0.3)
    assert [d for _, d in rec.sent] == [b"200", b"200"]
    assert tx.deadlines == {"J": 32.2}
    tx.send_response(500, b"500", 0.4)  # already completed: dropped
    assert len(rec.sent) == 2


def test_server_non_invite_reliable_timer_j_zero() -> None:
    rec = Recorder()
    tx = server(rec, invite=False, reliable=True)
    tx.send_response(200, b"200", 3.0)
    assert tx.deadlines == {"J": 3.0}
