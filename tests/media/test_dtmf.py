"""RFC 4733 telephone-events: sender packet pattern and receiver de-duplication."""

from __future__ import annotations

from firmware.media.dtmf import DtmfReceiver, DtmfSender, TelephoneEvent, event_code, parse_event


def test_event_codes() -> None:
    assert [event_code(d) for d in "0159*#AD"] == [0, 1, 5, 9, 10, 11, 12, 15]
    assert event_code("x") is None and event_code("11") is None


def test_payload_round_trip() -> None:
    ev = TelephoneEvent(event=11, end=True, volume=10, duration=800)
    assert ev.to_bytes() == bytes([11, 0x8A, 0x03, 0x20])
    assert parse_event(ev.to_bytes()) == ev
    assert parse_event(b"\x01\x02") is None


def test_sender_pattern_marker_duration_and_three_ends() -> None:
    tx = DtmfSender(samples_per_packet=160, duration_samples=800)
    assert tx.queue("5") and tx.queue("#") and not tx.queue("x")
    pkts = []
    ts = 1000
    while tx.active:
        p = tx.next_packet(ts)
        assert p is not None
        pkts.append(p)
        ts += 160
    first = pkts[:7]
    evs = [parse_event(p.payload) for p in first]
    assert [p.marker for p in first] == [True] + [False] * 6
    assert {p.timestamp for p in first} == {1000}
    assert [e.duration for e in evs] == [160, 320, 480, 640, 800, 800, 800]  # type: ignore[union-attr]
    assert [e.end for e in evs] == [False] * 4 + [True] * 3  # type: ignore[union-attr]
    second = pkts[7:]
    assert second[0].marker and parse_event(second[0].payload).digit == "#"  # type: ignore[union-attr]
    assert second[0].timestamp == 1000 + 7 * 160
    assert tx.sent_digits == 2 and tx.next_packet(ts) is None


def test_receiver_reports_each_event_once() -> None:
    tx = DtmfSender()
    rx = DtmfReceiver()
    got = []
    for digit in "19":
        tx.queue(digit)
    ts = 0
    while tx.active:
        p = tx.next_packet(ts)
        assert p is not None
        for _ in range(2):  # every packet duplicated on the wire
            d = rx.receive(p.payload, p.timestamp, ssrc=5, now=ts / 8000)
            if d:
                got.append(d.digit)
        ts += 160
    assert got == ["1", "9"]
    assert rx.receive(b"\x10\x00", 0, 5, 0.0) is None and rx.malformed == 1
    assert rx.receive(bytes([200, 0x80, 0, 0]), 99, 5, 0.0) is None  # not a DTMF event
