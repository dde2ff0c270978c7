"""The 49 RFC 4475 torture messages through parse + validate (+ the stream framer).

Each file's expected outcome at this layer is listed in ``EXPECTED`` and
checked against ``verdicts.csv``: a status we answer must be the one the CSV
names. Where the CSV's answer belongs to a later layer the outcome here is:

- ``accept``: validation passes; the endpoint then processes it (INVITE rings,
  OPTIONS gets 200 - RFC 4475 §3.3.11 Max-Forwards 0 included).
- ``response``: a response that parses and is usable; the transaction layer
  matches or discards it (§3.3.10: top Via not ours).
- ``discard``: a response the layer above must drop.

Documented choices: §3.1.2.12 (bad Date) is accepted, as the CSV allows;
§3.2.1 (branch "z9hG4bK" alone) is answered 400 rather than matched RFC 2543
style; §3.1.1.11 (valid multipart MESSAGE) is answered 415 by a UA whose
policy does not list multipart/mixed, and accepted by one that does.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from firmware.sip.errors import SipParseError
from firmware.sip.framing import StreamFramer
from firmware.sip.message import Request, Response, parse_message
from firmware.sip.uri import parse_uri, unescape
from firmware.sip.validate import (
    DEFAULT_POLICY,
    UaPolicy,
    answer_parse_error,
    check_request,
    check_response,
    response_for,
)

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

DATA = Path(__file__).resolve().parent.parent / "data" / "rfc4475"
VERDICTS = {row["file"]: row for row in csv.DictReader((DATA / "verdicts.csv").open())}
ANSWER = "expected behaviour of a user agent (RFC 4475 text)"

EXPECTED: dict[str, tuple[str, int | None]] = {
    "3.1.1.1": ("accept", None),
    "3.1.1.2": ("reject", 501),
    "3.1.1.3": ("accept", None),
    "3.1.1.4": ("reject", 405),
    "3.1.1.5": ("reject", 501),
    "3.1.1.6": ("accept", None),
    "3.1.1.7": ("accept", None),
    "3.1.1.8": ("reject", 405),
    "3.1.1.9": ("accept", None),
    "3.1.1.10": ("accept", None),
    "3.1.1.11": ("reject", 415),
    "3.1.1.12": ("response", None),
    "3.1.1.13": ("response", None),
    "3.1.2.1": ("reject", 400),
    "3.1.2.2": ("reject", 400),
    "3.1.2.3": ("reject", 400),
    "3.1.2.4": ("reject", 400),
    "3.1.2.5": ("discard", None),
    "3.1.2.6": ("reject", 400),
    "3.1.2.7": ("reject", 400),
    "3.1.2.8": ("reject", 400),
    "3.1.2.9": ("reject", 400),
    "3.1.2.10": ("reject", 400),
    "3.1.2.11": ("reject", 400),
    "3.1.2.12": ("accept", None),
    "3.1.2.13": ("reject", 400),
    "3.1.2.14": ("reject", 400),
    "3.1.2.15": ("reject", 400),
    "3.1.2.16": ("reject", 505),
    "3.1.2.17": ("reject", 400),
    "3.1.2.18": ("reject", 501),
    "3.1.2.19": ("discard", None),
    "3.2.1": ("reject", 400),
    "3.3.1": ("reject", 400),
    "3.3.2": ("reject", 416),
    "3.3.3": ("reject", 416),
    "3.3.4": ("reject", 405),
    "3.3.5": ("reject", 420),
    "3.3.6": ("reject", 415),
    "3.3.7": ("reject", 405),
    "3.3.8": ("reject", 400),
    "3.3.9": ("reject", 400),
    "3.3.10": ("response", None),
    "3.3.11": ("accept", None),
    "3.3.12": ("reject", 405),
    "3.3.13": ("reject", 405),
    "3.3.14": ("reject", 405),
    "3.3.15": ("reject", 406),
    "3.4.1": ("accept", None),
}


#: Statuses the CSV does not name because it only says "parse": our answer and why.
BEYOND_CSV = {
    "3.1.1.4": "REGISTER to a UA: 405, as the CSV says for 3.1.1.8 and 3.3.12-3.3.14",
    "3.1.1.11": "multipart/mixed is not in the default Accept: 415",
}


def _files() -> list[str]:
    return sorted(VERDICTS)


def _load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _outcome(data: bytes, policy: UaPolicy = DEFAULT_POLICY) -> tuple[str, int | None, object]:
    """What parse + validate make of one datagram: (kind, status, response-or-message)."""
    try:
        msg = parse_message(data)
    except SipParseError as exc:
        answer = answer_parse_error(exc, to_tag="t1")
        if answer is None:
            return "discard", None, exc
        return "reject", answer.status, answer
    if isinstance(msg, Response):
        return ("response" if check_response(msg) is None else "discard"), None, msg
    rejection = check_request(msg, policy)
    if rejection is None:
        return "accept", None, msg
    return "reject", rejection.status, response_for(msg, rejection, to_tag="t1")


def test_all_49_messages_present() -> None:
    assert len(VERDICTS) == 49 == len(list(DATA.glob("*.dat")))
    assert {row["section"] for row in VERDICTS.values()} == set(EXPECTED)


def test_expectations_agree_with_the_csv() -> None:
    for row in VERDICTS.values():
        kind, status = EXPECTED[row["section"]]
        answer = row[ANSWER]
        if status is not None and row["section"] not in BEYOND_CSV:
            assert str(status) in re.findall(r"\b[1-6]\d\d\b", answer), row["section"]
        if row["verdict"] in ("invalid", "semantic-reject") and row["section"] != "3.1.2.12":
            assert kind in ("reject", "discard"), row["section"]
        if row["verdict"] == "valid":
            assert kind in ("accept", "response") or status in (405, 501, 415), row["section"]


@pytest.mark.parametrize("name", _files())
def test_torture_message(name: str) -> None:
    row = VERDICTS[name]
    data = _load(name)
    kind, status, result = _outcome(data)
    assert (kind, status) == EXPECTED[row["section"]], row[ANSWER]
    if row["verdict"] == "valid":
        msg = parse_message(data)
        again = parse_message(bytes(msg))
        assert again == msg
        assert bytes(again) == bytes(msg)
    if kind == "reject":
        # A rejection carries what §8.2.6 demands and itself parses.
        assert isinstance(result, Response)
        reply = parse_message(bytes(result))
        assert isinstance(reply, Response) and reply.status == status
        request = parse_message(data) if status not in (400, 505) else None
        if request is not None:
            assert reply.headers.lines("Via") == request.headers.lines("Via")
            assert reply.call_id == request.call_id and reply.cseq == request.cseq
            assert reply.to.tag == "t1"
        assert reply.headers.lines("Via") and reply.headers.lines("CSeq")


def test_rejections_carry_the_right_extra_headers() -> None:
    def reply(section: str) -> Response:
        (name,) = [n for n, r in VERDICTS.items() if r["section"] == section]
        result = _outcome(_load(name))[2]
        assert isinstance(result, Response)
        return result

    assert reply("3.3.5").headers.get_all("Unsupported") == [
        "nothingSupportsThis", "nothingSupportsThisEither",
    ]
    assert "application/sdp" in reply("3.3.6").headers.get_all("Accept")
    assert "REGISTER" not in reply("3.3.4").headers.get("Allow", "")
    assert "INVITE" in reply("3.1.1.2").headers.get("Allow", "")
    assert reply("3.3.15").headers.get("Accept") == "application/sdp"


def test_multipart_accepted_by_a_policy_that_lists_it() -> None:
    policy = UaPolicy(accept=("application/sdp", "multipart/mixed"))
    kind, _, msg = _outcome(_load("3.1.1.11_Multipart_MIME_Message.dat"), policy)
    assert kind == "accept" and isinstance(msg, Request)
    assert len(msg.body) == 553 and b"\x00" in msg.body
    assert msg.body.endswith(b"--7a9cbec02ceef655--\r\n")


def _msg(section: str) -> Request | Response:
    (name,) = [n for n, r in VERDICTS.items() if r["section"] == section]
    return parse_message(_load(name))


def test_specific_facts_of_valid_messages() -> None:
    tortuous = _msg("3.1.1.1")
    assert tortuous.max_forwards == 68 and tortuous.cseq.seq == 9
    assert [v.branch for v in tortuous.vias] == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"]
    assert tortuous.from_.display_name == 'J Rosenberg \\"'
    assert tortuous.contacts[0].param("q") == "0.33"
    assert tortuous.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"

    wide = _msg("3.1.1.2")
    assert wide.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert wide.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert wide.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert wide.from_.tag == "_token~1'+`*%!-."

    pct = _msg("3.1.1.3")
    assert unescape(pct.uri.user or "") == b"sips:user@example.com" and pct.uri.host == "example.net"
    assert pct.to.uri.equivalent(parse_uri("sip:user@example.com"))
    assert unescape(pct.contacts[0].uri.params[1][1] or "") == b"value%41"

    nulls = _msg("3.1.1.4")
    assert [unescape(c.uri.user or "") for c in nulls.contacts] == [b"\x00", b"\x00\x00"]
    assert unescape(nulls.to.uri.user or "") == b"null-\x00-null"

    not_escape = _msg("3.1.1.5")
    assert not_escape.method == "RE%47IST%45R"
    assert [c.uri.host for c in not_escape.contacts] == ["host1.example.com", "host3.example.com"]
    assert not_escape.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"

    assert _msg("3.1.1.6").from_.display_name == "caller"
    long_values = _msg("3.1.1.7")
    assert len(long_values.vias) == 34
    assert _msg("3.1.1.8").method == "REGISTER" and _msg("3.1.1.8").body == b""
    semi = _msg("3.1.1.9")
    assert semi.uri.user == "user;par=u%40example.net" and semi.uri.host == "example.com"
    assert len(semi.headers.get_all("Accept")) == 6
    assert [v.transport for v in _msg("3.1.1.10").vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    unusual = _msg("3.1.1.12")
    assert isinstance(unusual, Response) and "2**3 * 5**2" in unusual.reason
    assert "\u043d\u043e" in unusual.reason  # Cyrillic, decoded as UTF-8
    empty = _msg("3.1.1.13")
    assert isinstance(empty, Response) and (empty.status, empty.reason) == (100, "")
    rfc2543 = _msg("3.4.1")
    assert rfc2543.top_via.branch is None and rfc2543.from_.tag is None
    assert rfc2543.max_forwards is None and rfc2543.body.startswith(b"v=0")


def test_stream_framing_of_the_content_length_cases() -> None:
    # §3.1.2.2 on TCP: wait for the bytes that Content-Length promises.
    framer = StreamFramer()
    assert framer.feed(_load("3.1.2.2_Content_Length_Larger_Than_Message.dat")) == []
    assert framer.error is None and framer.buffered > 0
    # §3.1.2.3 and §3.3.9 on TCP: a framing error; answer 400 if possible, then close.
    for name in ("3.1.2.3_Negative_Content_Length.dat", "3.3.9_Multiple_Content_Length_Values.dat"):
        framer = StreamFramer()
        assert framer.feed(_load(name)) == []
        assert framer.error is not None and framer.error.status_hint == 400
        answer = answer_parse_error(framer.error)
        assert answer is not None and answer.status == 400
    # §3.1.1.8 on TCP: the two messages come out one after the other.
    framer = StreamFramer()
    frames = framer.feed(_load("3.1.1.8_Extra_Trailing_Octets_in_a_UDP_Datagram.dat"))
    assert [parse_message(f, stream=True).method for f in frames] == ["REGISTER", "INVITE"]
