"""Stream framing by Content-Length and CRLF keep-alives (RFC 3261 §18.3, RFC 5626 §3.5.1)."""

from __future__ import annotations

import pytest

from firmware.sip.errors import ParseLimits
from firmware.sip.framing import StreamFramer, is_keepalive
from firmware.sip.message import parse_message

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def _msg(body: bytes = b"hello", cl_name: str = "Content-Length", call_id: str = "c1") -> bytes:
    return (
        "MESSAGE sip:bob@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\n"
        f"Call-ID: {call_id}\r\n"
        f"{cl_name}: {len(body)}\r\n\r\n"
    ).encode() + body


def test_whole_messages_from_arbitrary_pieces() -> None:
    stream = _msg(b"one", call_id="a") + b"\r\n\r\n" + _msg(b"second", "l", "b") + _msg(b"", call_id="c")
    for size in (1, 2, 3, 7, 64, len(stream)):
        framer = StreamFramer()
        frames: list[bytes] = []
        for i in range(0, len(stream), size):
            frames += framer.feed(stream[i : i + size])
        assert [parse_message(f, stream=True).call_id for f in frames] == ["a", "b", "c"]
        assert [parse_message(f, stream=True).body for f in frames] == [b"one", b"second", b""]
        assert framer.buffered == 0 and framer.error is None
        assert framer.pings == 1


def test_keepalive_pings_are_counted_not_framed() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n\r\n") == []
    assert framer.feed(b"\r") == [] and framer.feed(b"\n") == []
    assert framer.pings == 2 and framer.buffered == 0
    assert is_keepalive(b"\r\n\r\n") and is_keepalive(b"") and not is_keepalive(_msg())


def test_waits_for_the_body_content_length_promises() -> None:
    framer = StreamFramer()
    data = _msg(b"0123456789")
    assert framer.feed(data[:-4]) == []
    assert framer.buffered == len(data) - 4
    assert framer.feed(data[-4:]) == [data]


def test_folded_and_lowercase_content_length() -> None:
    data = _msg(b"abc").replace(b"Content-Length: 3", b"content-LENGTH :\r\n 3")
    assert StreamFramer().feed(data) == [data]


def test_missing_content_length_is_fatal_on_streams() -> None:
    framer = StreamFramer()
    data = _msg().replace(b"Content-Length: 5\r\n", b"")
    assert framer.feed(data) == []
    assert framer.error is not None and "missing Content-Length" in framer.error.reason
    assert framer.error.partial is not None and framer.error.partial.call_id == "c1"
    assert framer.feed(_msg()) == []  # nothing more after an error


def test_conflicting_and_bad_content_length() -> None:
    for cl in (b"Content-Length: 5\r\nl: 6", b"Content-Length: -5", b"Content-Length: 5 5",
               b"Content-Length: 99999999999"):
        framer = StreamFramer()
        framer.feed(_msg().replace(b"Content-Length: 5", cl))
        assert framer.error is not None and framer.error.status_hint == 400, cl


def test_size_limits() -> None:
    limits = ParseLimits(max_message_size=1024)
    framer = StreamFramer(limits)
    assert framer.feed(_msg(b"x" * 2000)[:200]) == []
    assert framer.error is not None and framer.error.status_hint == 413
    framer = StreamFramer(limits)
    framer.feed(b"INVITE sip:a@b SIP/2.0\r\nX: " + b"y" * 2000)
    assert framer.error is not None and framer.error.status_hint == 513
    assert framer.buffered == 0


def test_messages_before_an_error_are_still_returned() -> None:
    framer = StreamFramer()
    frames = framer.feed(_msg(b"ok") + _msg().replace(b"Content-Length: 5", b"Content-Length: x"))
    assert frames == [_msg(b"ok")] and framer.error is not None
