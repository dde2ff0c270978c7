"""Sans-IO TFTP client: RFC 1350/2347/2348/2349 behaviour without a network."""

from __future__ import annotations

import struct

import pytest

from firmware.provisioning.tftp_proto import (
    ACK,
    DATA,
    ERROR,
    OACK,
    RRQ,
    FailureKind,
    TftpDone,
    TftpFailed,
    TftpRead,
)

SERVER = ("192.0.2.1", 69)
TID = ("192.0.2.1", 40001)


def data(block: int, payload: bytes) -> bytes:
    return struct.pack("!HH", DATA, block) + payload


def oack(**opts: int) -> bytes:
    body = b"".join(k.encode() + b"\0" + str(v).encode() + b"\0" for k, v in opts.items())
    return struct.pack("!H", OACK) + body


def error(code: int, msg: str) -> bytes:
    return struct.pack("!HH", ERROR, code) + msg.encode() + b"\0"


def ack(block: int) -> bytes:
    return struct.pack("!HH", ACK, block)


def make(**kw: object) -> TftpRead:
    args: dict[str, object] = {"filename": "SIPDefault.cnf", "server": SERVER, "now": 0.0}
    args.update(kw)
    return TftpRead(**args)  # type: ignore[arg-type]


def test_rrq_carries_octet_mode_and_the_three_options() -> None:
    t = make(blksize=1428, timeout=2.0)
    [(pkt, dest)] = t.datagrams_to_send()
    assert dest == SERVER
    assert pkt == (struct.pack("!H", RRQ) + b"SIPDefault.cnf\0octet\0"
                   b"blksize\0" b"1428\0" b"tsize\0" b"0\0" b"timeout\0" b"2\0")
    assert t.get_timer() == 2.0


def test_oack_is_acknowledged_with_block_zero_and_options_reported() -> None:
    t = make(blksize=1024)
    t.datagrams_to_send()
    t.receive_datagram(oack(blksize=1024, tsize=1500), TID, 0.1)
    assert t.datagrams_to_send() == [(ack(0), TID)]
    t.receive_datagram(data(1, b"a" * 1024), TID, 0.2)
    assert t.datagrams_to_send() == [(ack(1), TID)]
    t.receive_datagram(data(2, b"b" * 476), TID, 0.3)
    assert t.datagrams_to_send() == [(ack(2), TID)]
    ev = t.next_event()
    assert isinstance(ev, TftpDone)
    assert ev.data == b"a" * 1024 + b"b" * 476
    assert ev.options == {"blksize": 1024, "tsize": 1500}
    assert t.finished and t.get_timer() is None


def test_server_that_ignores_options_falls_back_to_512_byte_blocks() -> None:
    t = make(blksize=1428)
    t.datagrams_to_send()
    t.receive_datagram(data(1, b"x" * 512), TID, 0.1)
    t.receive_datagram(data(2, b""), TID, 0.2)
    assert t.datagrams_to_send() == [(ack(1), TID), (ack(2), TID)]
    ev = t.next_event()
    assert isinstance(ev, TftpDone) and ev.data == b"x" * 512 and ev.options == {}


def test_error_8_makes_the_client_retry_without_options() -> None:
    t = make()
    t.datagrams_to_send()
    t.receive_datagram(error(8, "no options"), TID, 0.1)
    [(pkt, dest)] = t.datagrams_to_send()
    assert dest == SERVER and pkt == struct.pack("!H", RRQ) + b"SIPDefault.cnf\0octet\0"
    t.receive_datagram(data(1, b"ok"), ("192.0.2.1", 40002), 0.2)
    assert isinstance(t.next_event(), TftpDone)


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (oack(blksize=2000), "above the 1428 requested"),
        (oack(blksize=4), "above the 1428 requested"),
        (oack(windowsize=4), "was not requested"),
        (oack(timeout=0), "bad timeout option"),
        (struct.pack("!H", OACK) + b"blksize\0" b"512", "malformed OACK"),
        (struct.pack("!H", OACK) + b"blksize\0", "malformed OACK"),
    ],
)
def test_bad_option_acknowledgements_are_refused_with_error_8(reply: bytes, fragment: str) -> None:
    t = make(blksize=1428)
    t.datagrams_to_send()
    t.receive_datagram(reply, TID, 0.1)
    [(pkt, dest)] = t.datagrams_to_send()
    assert dest == TID and pkt[:4] == struct.pack("!HH", ERROR, 8)
    ev = t.next_event()
    assert isinstance(ev, TftpFailed) and ev.kind is FailureKind.PROTOCOL
    assert fragment in ev.message


def test_announced_size_over_the_cap_is_refused_before_any_data() -> None:
    t = make(max_size=1000)
    t.datagrams_to_send()
    t.receive_datagram(oack(blksize=1428, tsize=5000), TID, 0.1)
    [(pkt, _)] = t.datagrams_to_send()
    assert pkt[:4] == struct.pack("!HH", ERROR, 3)
    ev = t.next_event()
    assert isinstance(ev, TftpFailed) and ev.kind is FailureKind.TOO_LARGE


def test_received_bytes_over_the_cap_abort_even_without_tsize() -> None:
    t = make(max_size=1000, blksize=None, request_tsize=False)
    t.datagrams_to_send()
    t.receive_datagram(data(1, b"x" * 512), TID, 0.1)
    t.receive_datagram(data(2, b"x" * 512), TID, 0.2)
    out = t.datagrams_to_send()
    assert out[-1][0][:4] == struct.pack("!HH", ERROR, 3)
    ev = t.next_event()
    assert isinstance(ev, TftpFailed) and ev.kind is FailureKind.TOO_LARGE


def test_oversized_data_block_is_a_protocol_error() -> None:
    t = make(blksize=None, request_tsize=False)
    t.datagrams_to_send()
    t.receive_datagram(data(1, b"x" * 600), TID, 0.1)
    ev = t.next_event()
    assert isinstance(ev, TftpFailed) and ev.kind is FailureKind.PROTOCOL


def test_packets_from_another_port_get_error_5_and_do_not_disturb() -> None:
    t = make()
    t.datagrams_to_send()
    t.receive_datagram(oack(blksize=1428, tsize=3), TID, 0.1)
    t.datagrams_to_send()
    stranger = ("192.0.2.1", 50000)
    t.receive_datagram(data(1, b"EVIL"), stranger, 0.2)
    [(pkt, dest)] = t.datagrams_to_send()
    assert dest == stranger and pkt[:4] == struct.pack("!HH", ERROR, 5)
    t.receive_datagram(data(1, b"abc"), TID, 0.3)
    ev = t.next_event()
    assert isinstance(ev, TftpDone) and ev.data == b"abc" and t.dropped == 1


def test_answers_from_another_host_are_dropped_before_the_tid_is_known() -> None:
    t = make()
    t.datagrams_to_send()
    t.receive_datagram(data(1, b"EVIL"), ("198.51.100.7", 69), 0.1)
    assert t.datagrams_to_send() == [] and t.next_event() is None and t.dropped == 1


def test_duplicate_data_is_reacknowledged_not_appended() -> None:
    t = make(blksize=None, request_tsize=False)
    t.datagrams_to_send()
    t.receive_datagram(data(1, b"a" * 512), TID, 0.1)
    t.receive_datagram(data(1, b"a" * 512), TID, 0.2)
    t.receive_datagram(data(2, b"end"), TID, 0.3)
    assert t.datagrams_to_send() == [(ack(1), TID), (ack(1), TID), (ack(2), TID)]
    ev = t.next_event()
    assert isinstance(ev, TftpDone) and ev.data == b"a" * 512 + b"end"


def test_lost_packets_are_retransmitted_then_the_transfer_times_out() -> None:
    t = make(timeout=1.0, retries=2)
    [(rrq, _)] = t.datagrams_to_send()
    t.handle_timer(0.5)  # early: nothing
    assert t.datagrams_to_send() == []
    t.handle_timer(1.0)
    assert t.datagrams_to_send() == [(rrq, SERVER)] and t.get_timer() == 2.0
    t.handle_timer(2.0)
    assert t.datagrams_to_send() == [(rrq, SERVER)]
    t.handle_timer(3.0)
    ev = t.next_event()
    assert isinstance(ev, TftpFailed) and ev.kind is FailureKind.TIMEOUT
    assert "after 3 tries" in ev.message and t.retransmits == 2


def test_last_ack_is_retransmitted_when_the_next_block_is_late() -> None:
    t = make(blksize=None, request_tsize=False, timeout=1.0)
    t.datagrams_to_send()
    t.receive_datagram(data(1, b"a" * 512), TID, 0.5)
    t.datagrams_to_send()
    t.handle_timer(1.5)
    assert t.datagrams_to_send() == [(ack(1), TID)]


def test_block_numbers_roll_over_after_65535() -> None:
    t = make(blksize=8, request_tsize=False, max_size=1 << 20)
    t.datagrams_to_send()
    t.receive_datagram(oack(blksize=8), TID, 0.0)
    for n in range(1, 65536 + 2):
        t.receive_datagram(data(n & 0xFFFF, b"12345678"), TID, 0.0)
    t.receive_datagram(data((65536 + 2) & 0xFFFF, b"!"), TID, 0.0)
    ev = t.next_event()
    assert isinstance(ev, TftpDone) and len(ev.data) == (65536 + 1) * 8 + 1


def test_remote_errors_are_reported_with_their_code() -> None:
    t = make()
    t.datagrams_to_send()
    t.receive_datagram(error(1, "File not found"), TID, 0.1)
    ev = t.next_event()
    assert isinstance(ev, TftpFailed) and ev.kind is FailureKind.NOT_FOUND
    assert ev.error_code == 1 and "File not found" in ev.message
    t2 = make()
    t2.receive_datagram(error(2, "Access violation"), TID, 0.1)
    ev2 = t2.next_event()
    assert isinstance(ev2, TftpFailed) and ev2.kind is FailureKind.REMOTE_ERROR


@pytest.mark.parametrize("junk", [b"", b"\x00", b"\x00\x03\x00", b"\x00\x09\x00\x01",
                                  b"\x00\x02abc\x00octet\x00", b"\x00\x04\x00\x01"])
def test_malformed_or_unexpected_packets_are_dropped_and_counted(junk: bytes) -> None:
    t = make()
    t.datagrams_to_send()
    t.receive_datagram(junk, TID, 0.1)
    assert t.next_event() is None and t.dropped == 1 and not t.finished


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        make(filename="")
    with pytest.raises(ValueError):
        make(filename="a\0b")
    with pytest.raises(ValueError):
        make(blksize=4)
