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

Typed accessors parse on first use and raise ``SipParseError`` when the header
is malformed, or, for From/To/Call-ID/CSeq, missing or repeated. Messages
compare equal when start line, headers (names case-insensitive, compact forms
expanded) and body are equal; Content-Length is left out of the comparison
because serialization derives it from the body.

Why lazy: the parser splits the header section into ``(name, value)`` lines
and validates only what framing needs (start line, Content-Length). A UA that
only matches a retransmission never pays for parsing a Record-Route.
"""

from __future__ import annotations

import re
from typing import Any

from firmware.sip.errors import DEFAULT_LIMITS, ParseLimits, SipParseError
from firmware.sip.fields import (
    CSeq,
    NameAddr,
    Via,
    parse_cseq,
    parse_name_addr,
    parse_via,
)
from firmware.sip.headers import Headers, lookup_name
from firmware.sip.uri import SipUri, parse_uri

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
_DIGITS = re.compile(r"[0-9]{1,10}")


def _one(headers: Headers, name: str) -> str:
    values = headers.lines(name)
    if not values:
        raise SipParseError(f"missing {name}")
    if len(values) > 1:
        raise SipParseError(f"more than one {name}")
    return values[0]


def _int_header(headers: Headers, name: str, maximum: int) -> int | None:
    values = headers.lines(name)
    if not values:
        return None
    if len(values) > 1 and len(set(values)) > 1:
        raise SipParseError(f"conflicting {name} values")
    if not _DIGITS.fullmatch(values[0]):
        raise SipParseError(f"bad {name}")
    number = int(values[0])
    if number > maximum:
        raise SipParseError(f"{name} too large")
    return number


def _call_id(h: Headers) -> str:
    value = _one(h, "Call-ID")
    if not value or any(c in value for c in " \t"):
        raise SipParseError("bad Call-ID")
    return value


def _contacts(h: Headers) -> list[NameAddr]:
    values = h.get_all("Contact")
    if values == ["*"]:
        return []
    return [parse_name_addr(v) for v in values]


def _content_type(h: Headers) -> str | None:
    value = h.get("Content-Type")
    if value is None:
        return None
    media = value.partition(";")[0].strip(" \t").lower()
    kind, slash, sub = media.partition("/")
    if not slash or not kind.strip() or not sub.strip():
        raise SipParseError("bad Content-Type")
    return "/".join(p.strip(" \t") for p in (kind, sub))


_PARSERS: dict[str, Any] = {
    "vias": lambda h: [parse_via(v) for v in h.get_all("Via")],
    "call_id": _call_id,
    "cseq": lambda h: parse_cseq(_one(h, "CSeq")),
    "from": lambda h: parse_name_addr(_one(h, "From")),
    "to": lambda h: parse_name_addr(_one(h, "To")),
    "contacts": _contacts,
    "routes": lambda h: [parse_name_addr(v) for v in h.get_all("Route")],
    "record_routes": lambda h: [parse_name_addr(v) for v in h.get_all("Record-Route")],
    "content_length": lambda h: _int_header(h, "Content-Length", 0xFFFFFFFF) or 0,
    "max_forwards": lambda h: _int_header(h, "Max-Forwards", 255),
    "expires": lambda h: _int_header(h, "Expires", 0xFFFFFFFF),
    "content_type": _content_type,
}


class Message:
    """Common part of ``Request`` and ``Response``: headers, body, typed accessors."""

    __slots__ = ("headers", "body", "version")

    headers: Headers
    body: bytes
    version: str

    def _typed(self, name: str) -> Any:
        return self.headers.typed(name, _PARSERS[name])

    @property
    def vias(self) -> list[Via]:
        return self._typed("vias")

    @property
    def top_via(self) -> Via:
        vias = self._typed("vias")
        if not vias:
            raise SipParseError("missing Via")
        return vias[0]

    @property
    def call_id(self) -> str:
        return self._typed("call_id")

    @property
    def cseq(self) -> CSeq:
        return self._typed("cseq")

    @property
    def from_(self) -> NameAddr:
        return self._typed("from")

    @property
    def to(self) -> NameAddr:
        return self._typed("to")

    @property
    def contacts(self) -> list[NameAddr]:
        return self._typed("contacts")

    @property
    def routes(self) -> list[NameAddr]:
        return self._typed("routes")

    @property
    def record_routes(self) -> list[NameAddr]:
        return self._typed("record_routes")

    @property
    def content_length(self) -> int:
        return self._typed("content_length")

    @property
    def max_forwards(self) -> int | None:
        return self._typed("max_forwards")

    @property
    def expires(self) -> int | None:
        return self._typed("expires")

    @property
    def content_type(self) -> str | None:
        return self._typed("content_type")

    def _start_line(self) -> str:
        raise NotImplementedError

    def __bytes__(self) -> bytes:
        lines = [self._start_line(), *self.headers._lines_out("content-length")]
        lines.append(f"Content-Length: {len(self.body)}\r\n\r\n")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape") + self.body

    def _same_parts(self, other: Message) -> bool:
        return (
            self.version == other.version
            and self.body == other.body
            and self.headers.equal_except(other.headers, "Content-Length")
        )


def _as_headers(headers: Headers | Any) -> Headers:
    return headers if isinstance(headers, Headers) else Headers(headers)


class Request(Message):
    """A SIP request. ``uri`` is the Request-URI."""

    __slots__ = ("method", "uri")

    def __init__(
        self,
        method: str,
        uri: SipUri,
        headers: Headers | Any = (),
        body: bytes = b"",
        *,
        version: str = "SIP/2.0",
    ) -> None:
        self.method = method
        self.uri = uri
        self.headers = _as_headers(headers)
        self.body = bytes(body)
        self.version = version

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Request):
            return NotImplemented
        return self.method == other.method and self.uri == other.uri and self._same_parts(other)

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Request:
        """A copy with its own ``Headers`` (values are immutable, so this is deep enough)."""
        return Request(self.method, self.uri, self.headers.copy(), self.body, version=self.version)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri} ({len(self.headers)} headers, {len(self.body)} B)>"


class Response(Message):
    """A SIP response."""

    __slots__ = ("status", "reason")

    def __init__(
        self,
        status: int,
        reason: str = "",
        headers: Headers | Any = (),
        body: bytes = b"",
        *,
        version: str = "SIP/2.0",
    ) -> None:
        self.status = status
        self.reason = reason.replace("\r", " ").replace("\n", " ")
        self.headers = _as_headers(headers)
        self.body = bytes(body)
        self.version = version

    def _start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Response):
            return NotImplemented
        return (
            self.status == other.status
            and self.reason == other.reason
            and self._same_parts(other)
        )

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Response:
        return Response(self.status, self.reason, self.headers.copy(), self.body, version=self.version)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} ({len(self.headers)} headers)>"


def _parse_headers(lines: list[str], limits: ParseLimits) -> list[tuple[str, str, str]]:
    if len(lines) > limits.max_headers:
        raise SipParseError("too many header fields", 513)
    items: list[tuple[str, str, str]] = []
    vias = 0
    for line in lines:
        if len(line) > limits.max_header_line:
            raise SipParseError("header line too long", 513)
        name, colon, value = line.partition(":")
        if not colon:
            raise SipParseError("header line without colon")
        found = lookup_name(name.rstrip(" \t"))
        if found is None:
            raise SipParseError("bad header name")
        if found[0] == "via":
            vias += value.count(",") + 1
            if vias > limits.max_vias:
                raise SipParseError("too many Via values", 513)
        items.append((found[0], found[1], value.strip(" \t")))
    return items


def _content_length(items: list[tuple[str, str, str]]) -> int | None:
    values = {v for k, _, v in items if k == "content-length"}
    if not values:
        return None
    if len(values) > 1:
        raise SipParseError("conflicting Content-Length values")
    (value,) = values
    if not _DIGITS.fullmatch(value):
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
        headers = Headers._from_parsed(_parse_headers(lines, limits))
    except SipParseError:
        return None
    return Request(words[0], uri, headers, version=words[-1].upper())


def parse_head(head: str, limits: ParseLimits = DEFAULT_LIMITS) -> Request | Response:
    """Parse a start line and header section (decoded, without the final CRLFCRLF)."""
    if "\r\n " in head or "\r\n\t" in head:
        head = _FOLD.sub(" ", head)
    if head.count("\r") != head.count("\n") or head.count("\r\n") != head.count("\n"):
        raise SipParseError("bare CR or LF in header section")
    lines = head.split("\r\n")
    first = lines[0]
    if first[:4].upper() == "SIP/":
        match = _STATUS_LINE.fullmatch(first)
        if match is None:
            raise SipParseError("bad status line")
        return Response(
            int(match.group(2)),
            match.group(3) or "",
            Headers._from_parsed(_parse_headers(lines[1:], limits)),
            version=match.group(1).upper(),
        )
    match = _REQUEST_LINE.fullmatch(first)
    uri = None
    if match is not None:
        try:
            uri = parse_uri(match.group(2))
        except SipParseError:
            pass
    if match is None or uri is None:
        reason = "bad request line" if match is None else "bad Request-URI"
        raise SipParseError(reason, partial=_lenient_request(first, lines[1:], limits))
    return Request(
        match.group(1),
        uri,
        Headers._from_parsed(_parse_headers(lines[1:], limits)),
        version=match.group(3).upper(),
    )


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
    msg = parse_head(data[start:end].decode("utf-8", "surrogateescape"), limits)
    body_start = end + 4
    try:
        length = _content_length(msg.headers._items)
    except SipParseError as exc:
        exc.partial = msg
        raise
    if length is None:
        if stream:
            raise SipParseError("missing Content-Length on a stream", partial=msg)
        msg.body = data[body_start:]
    else:
        if length > len(data) - body_start:
            raise SipParseError("Content-Length larger than the message", partial=msg)
        msg.body = data[body_start : body_start + length]
    return msg
