"""SIP requests and responses: parse and serialize (RFC 3261 §7, §20, §25; RFC 3581).

API (what the rest of the stack uses)::

    from firmware.sip.message import (
        Request, Response, Headers, SipUri, NameAddr, Via, CSeq,
        parse_message, parse_uri, parse_name_addr, SipParseError,
    )

    msg = parse_message(data)            # Request | Response, or SipParseError(reason, status_hint)
    msg = parse_message(data, stream=True)   # TCP: Content-Length mandatory
    bytes(msg)                           # canonical wire form; Content-Length = len(body)

    Request(method="INVITE", uri=parse_uri("sip:bob@example.com"),
            headers=Headers([("Via", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1"), ...]),
            body=b"...")                 # positional (method, uri, headers, body) works too
    Response(status=200, reason="OK", headers=..., body=b"")

    msg.headers.get("v") / get_all("Contact") / lines(n) / set(n, v) / add(n, v, first=True)
        / remove(n) / pop_first(n) / count(n)     names case-insensitive, compact forms ok
    msg.vias -> list[Via]          Via.branch .received .rport .rport_requested .sent_by
                                   .transport .host .port .with_param(name, value)
    msg.top_via -> Via             msg.call_id -> str        msg.cseq -> CSeq(seq, method)
    msg.from_ / msg.to -> NameAddr (.uri, .display_name, .tag, .with_tag(t))
    msg.contacts -> list[NameAddr] ("*" gives [])   msg.routes / msg.record_routes
    msg.content_length -> int      msg.max_forwards -> int | None
    msg.content_type -> str | None (lower-case media type without parameters)
    msg.expires -> int | None
    SipUri: scheme user password host port params headers opaque; str(uri);
            uri.param(n), uri.equivalent(other) (RFC 3261 §19.1.4)

    validate.check_request(req) -> Rejection | None   (run it before using a request)
    validate.build_response(req, status, reason=None, extra_headers=(), to_tag=None)
    framing.StreamFramer().feed(bytes) -> list[bytes]; .error; .pings

Typed accessors parse on first use and raise ``SipParseError`` when the header
is malformed, or, for From/To/Call-ID/CSeq, missing or repeated. The URIs of
a parsed request (``req.uri``, checked by the parser) and of name-addrs
(``msg.from_.uri``, checked by ``check_request``) are built on first access;
``NameAddr.uri_text`` gives the text without building. Messages compare equal
when start line, headers (names case-insensitive, compact forms expanded) and
body are equal; Content-Length is left out of the comparison because
serialization derives it from the body. Serialization writes header values as
received (unfolded, trimmed) under their full names, and the Request-URI as
received until ``req.uri`` is assigned.

Why lazy: the parser splits the header section into ``(name, value)`` lines,
indexes them, and validates only the start line and Content-Length. A UA that
only matches a retransmission never pays for parsing a Record-Route. The
model classes live in ``model.py``; this module is the parser and the API.
"""

from __future__ import annotations

import re

from firmware.sip.errors import DEFAULT_LIMITS, ParseLimits, SipParseError
from firmware.sip.fields import CSeq, NameAddr, Via, parse_name_addr
from firmware.sip.headers import _NAMES, Headers, lookup_name
from firmware.sip.model import Message, Request, Response
from firmware.sip.uri import SipUri, check_uri, parse_uri

__all__ = [
    "Request",
    "Response",
    "Message",
    "Headers",
    "SipUri",
    "NameAddr",
    "Via",
    "CSeq",
    "SipParseError",
    "ParseLimits",
    "parse_message",
    "parse_head",
    "parse_uri",
    "parse_name_addr",
]

_REQUEST_LINE = re.compile(
    r"([A-Za-z0-9\-.!%*_+`'~]+) (\S+) ([Ss][Ii][Pp]/[0-9]{1,3}\.[0-9]{1,3})"
)
_STATUS_LINE = re.compile(r"([Ss][Ii][Pp]/[0-9]{1,3}\.[0-9]{1,3}) ([1-6][0-9]{2})(?: (.*))?")
_FOLD = re.compile(r"\r\n[ \t]+")
_METHOD = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_VERSION = re.compile(r"[Ss][Ii][Pp]/[0-9]{1,3}\.[0-9]{1,3}")
_INVALID_URI = SipUri(scheme="x-invalid", opaque="-")
def _parse_headers(
    lines: list[str], limits: ParseLimits
) -> tuple[list[tuple[str, str, str]], dict[str, list[str]]] | None:
    """``(key, name, value)`` per line, and the key -> values index.

    Returns None when a line is a continuation (starts with SP/HT): the
    caller unfolds and calls again. Kept tight: this runs for every message,
    and building the index here is cheaper than a second pass later.
    """
    if len(lines) > limits.max_headers:
        raise SipParseError("too many header fields", 513)
    items: list[tuple[str, str, str]] = []
    append = items.append
    index: dict[str, list[str]] = {}
    index_get = index.get
    names_get = _NAMES.get
    for line in lines:
        name, colon, value = line.partition(":")
        found = names_get(name)
        if found is None or not colon:
            if line[:1] in (" ", "\t"):
                return None
            if not colon:
                raise SipParseError("header line without colon")
            found = lookup_name(name.rstrip(" \t"))
            if found is None:
                raise SipParseError("bad header name")
        key = found[0]
        value = value.strip(" \t")
        append((key, found[1], value))
        values = index_get(key)
        if values is None:
            index[key] = [value]
        else:
            values.append(value)
    return items, index


def _header_lines(lines: list[str], limits: ParseLimits) -> tuple[Headers, list[str]]:
    """Headers from the lines after the start line, plus the Content-Length values."""
    if (
        lines
        and sum(map(len, lines)) > limits.max_header_line
        and max(map(len, lines)) > limits.max_header_line
    ):
        raise SipParseError("header line too long", 513)
    parsed = _parse_headers(lines, limits)
    if parsed is None:
        unfolded = _FOLD.sub(" ", "\r\n".join(lines))
        if unfolded[:1] in (" ", "\t"):
            raise SipParseError("continuation line without a header")
        parsed = _parse_headers(unfolded.split("\r\n"), limits)
        assert parsed is not None
    items, index = parsed
    vias = index.get("via")
    if vias is not None and ",".join(vias).count(",") >= limits.max_vias:
        raise SipParseError("too many Via values", 513)
    return Headers._from_parsed(items, index), index.get("content-length", [])


def _content_length(values: list[str]) -> int | None:
    if not values:
        return None
    if len(values) > 1 and len(set(values)) > 1:
        raise SipParseError("conflicting Content-Length values")
    value = values[0]
    # isdigit() alone accepts non-ASCII digits that int() would take.
    if not (value.isdigit() and value.isascii() and len(value) <= 10):
        raise SipParseError("bad Content-Length")
    return int(value)


def _lenient_request(first: str, lines: list[str], limits: ParseLimits) -> Request | None:
    """A stand-in Request for a bad request line, so a 400 can still be routed back.

    Only when the line still looks like ``METHOD ... SIP/x.y`` and the headers
    parse; the URI is kept only if it parses on its own.
    """
    words = first.split()
    if len(words) < 3 or not _METHOD.fullmatch(words[0]) or not _VERSION.fullmatch(words[-1]):
        return None
    try:
        uri = parse_uri(" ".join(words[1:-1]))
    except SipParseError:
        uri = _INVALID_URI
    try:
        headers, _ = _header_lines(lines, limits)
    except SipParseError:
        return None
    return Request(words[0], uri, headers, version=words[-1].upper())


def _parse_head(head: str, limits: ParseLimits) -> tuple[Request | Response, list[str]]:
    lines = head.split("\r\n")
    if head.count("\n") >= len(lines) or head.count("\r") >= len(lines):
        raise SipParseError("bare CR or LF in header section")
    first = lines[0]
    if first[:4].upper() == "SIP/":
        match = _STATUS_LINE.fullmatch(first)
        if match is None:
            raise SipParseError("bad status line")
        headers, length = _header_lines(lines[1:], limits)
        response = Response(int(match.group(2)), match.group(3) or "", headers,
                            version=match.group(1).upper())
        return response, length
    match = _REQUEST_LINE.fullmatch(first)
    if match is not None:
        try:
            check_uri(match.group(2))
        except SipParseError:
            match = None
    if match is None:
        raise SipParseError("bad request line", partial=_lenient_request(first, lines[1:], limits))
    headers, length = _header_lines(lines[1:], limits)
    version = match.group(3)
    if version != "SIP/2.0":
        version = version.upper()
    return Request._parsed(match.group(1), match.group(2), headers, version), length


def parse_head(head: str, limits: ParseLimits = DEFAULT_LIMITS) -> Request | Response:
    """Parse a start line and header section (decoded, without the final CRLFCRLF).

    Content-Length is not interpreted and the body is left empty: this is for
    answering a message whose framing failed.
    """
    return _parse_head(head, limits)[0]


def parse_message(
    data: bytes, *, stream: bool = False, limits: ParseLimits = DEFAULT_LIMITS
) -> Request | Response:
    """Parse one whole message (a datagram, or one framed stream message).

    Datagrams: octets beyond Content-Length are ignored (RFC 4475 §3.1.1.8),
    a Content-Length larger than what arrived is an error, and without
    Content-Length the body is the rest of the datagram (§18.3). Streams
    (``stream=True``): Content-Length is mandatory. Leading CRLFs are skipped
    (§7.5). Raises ``SipParseError`` and nothing else; when the start line
    and headers were readable the error's ``partial`` holds them.
    """
    if len(data) > limits.max_message_size:
        raise SipParseError("message too large", 513)
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise SipParseError("no empty line after the header section")
    msg, lengths = _parse_head(data[start:end].decode("utf-8", "surrogateescape"), limits)
    try:
        length = _content_length(lengths)
    except SipParseError as exc:
        exc.partial = msg
        raise
    body_start = end + 4
    if length is None:
        if stream:
            raise SipParseError("missing Content-Length on a stream", partial=msg)
        msg.body = data[body_start:]
    else:
        if length > len(data) - body_start:
            raise SipParseError("Content-Length larger than the message", partial=msg)
        msg.body = data[body_start : body_start + length]
    return msg
