"""Hypothesis fuzzing of the message layer: only SipParseError may ever escape.

Inputs: random bytes, RFC 4475 torture messages with random byte edits
(flips, insertions of SIP-significant characters, deletions), truncations,
and random stream splits through ``StreamFramer``. Whatever parses must also
validate without raising, serialize, and parse back to an equal message.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.sip.errors import SipParseError
from firmware.sip.framing import StreamFramer
from firmware.sip.message import Request, parse_message
from firmware.sip.validate import (
    answer_parse_error,
    build_response,
    check_request,
    check_response,
)

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

DATA = Path(__file__).resolve().parent.parent / "data" / "rfc4475"
CORPUS = [p.read_bytes() for p in sorted(DATA.glob("*.dat"))]
SPECIAL = [b"\r\n", b" ", b"\t", b":", b";", b",", b"<", b">", b'"', b"\\", b"%", b"@", b"[", b"]",
           b"=", b"?", b"\x00", b"\xff", b"\r", b"\n", b"/", b"9" * 12, b"-1", b"\r\n "]

FUZZ = settings(
    # PIPHONE_FUZZ_EXAMPLES=50000 for a long hunt; the suite default keeps this to ~2 s.
    max_examples=int(os.environ.get("PIPHONE_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

_ACCESSORS = ("vias", "call_id", "cseq", "from_", "to", "contacts", "routes", "record_routes",
              "content_length", "max_forwards", "expires", "content_type")


def _exercise(data: bytes) -> None:
    """Run everything a receiving UA would run; only SipParseError is acceptable."""
    try:
        msg = parse_message(data)
    except SipParseError as exc:
        answer = answer_parse_error(exc, to_tag="t")
        if answer is not None:
            bytes(answer)
        return
    for name in _ACCESSORS:
        try:
            getattr(msg, name)
        except SipParseError:
            pass
    if isinstance(msg, Request):
        rejection = check_request(msg)
        reply = build_response(msg, rejection.status if rejection else 200, to_tag="t")
        parse_message(bytes(reply))
    else:
        check_response(msg)
    wire = bytes(msg)
    again = parse_message(wire)
    assert again == msg
    assert bytes(again) == wire


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        action = draw(st.integers(0, 3))
        if action == 0:
            data[pos] = draw(st.integers(0, 255))
        elif action == 1:
            data[pos:pos] = draw(st.sampled_from(SPECIAL))
        elif action == 2:
            del data[pos : pos + draw(st.integers(1, 20))]
        else:
            data[pos:pos] = data[draw(st.integers(0, len(data) - 1)) :][:40]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    _exercise(data)


@FUZZ
@given(st.sampled_from(CORPUS).flatmap(lambda d: st.tuples(st.just(d), st.integers(0, len(d)))))
def test_truncations(case: tuple[bytes, int]) -> None:
    data, cut = case
    _exercise(data[:cut])


@FUZZ
@given(mutated())
def test_mutated_torture_messages(data: bytes) -> None:
    _exercise(data)


@FUZZ
@given(mutated(), st.lists(st.integers(1, 200), min_size=1, max_size=30))
def test_stream_framer_never_raises(data: bytes, sizes: list[int]) -> None:
    framer = StreamFramer()
    pos = 0
    stream = data + b"\r\n\r\n" + data
    for size in sizes:
        for frame in framer.feed(stream[pos : pos + size]):
            try:
                parse_message(frame, stream=True)
            except SipParseError:
                pass
        pos += size
    framer.feed(stream[pos:])
