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
    split_commas,
)
from firmware.sip.headers import _MISSING, _NAMES, Headers, lookup_name
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
_DIGITS = re.compile(r"[0-9]{1,10}")


def _one(headers: Headers, name: str) -> str:
    values = headers._lookup().get(name.lower())
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


def _top_via(h: Headers) -> Via:
    first = h.get("Via")
    if first is None:
        raise SipParseError("missing Via")
    return parse_via(split_commas(first)[0] if "," in first else first)


_PARSERS: dict[str, Any] = {
    "vias": lambda h: [parse_via(v) for v in h.get_all("Via")],
    "top_via": _top_via,
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

    # Each accessor reads the per-Headers cache directly: they run on every
    # message, so the extra call layers of ``_typed`` are worth avoiding.
    @property
    def vias(self) -> list[Via]:
        value = self.headers._cache.get("vias", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["vias"] = _PARSERS["vias"](self.headers)
        return value

    @property
    def top_via(self) -> Via:
        """The first Via value (parsed alone: the others are often never needed)."""
        value = self.headers._cache.get("top_via", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["top_via"] = _PARSERS["top_via"](self.headers)
        return value

    @property
    def call_id(self) -> str:
        value = self.headers._cache.get("call_id", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["call_id"] = _PARSERS["call_id"](self.headers)
        return value

    @property
    def cseq(self) -> CSeq:
        value = self.headers._cache.get("cseq", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["cseq"] = _PARSERS["cseq"](self.headers)
        return value

    @property
    def from_(self) -> NameAddr:
        value = self.headers._cache.get("from", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["from"] = _PARSERS["from"](self.headers)
        return value

    @property
    def to(self) -> NameAddr:
        value = self.headers._cache.get("to", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["to"] = _PARSERS["to"](self.headers)
        return value

    @property
    def contacts(self) -> list[NameAddr]:
        """Contact values; ``Contact: *`` gives []."""
        value = self.headers._cache.get("contacts", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["contacts"] = _PARSERS["contacts"](self.headers)
        return value

    @property
    def routes(self) -> list[NameAddr]:
        value = self.headers._cache.get("routes", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["routes"] = _PARSERS["routes"](self.headers)
        return value

    @property
    def record_routes(self) -> list[NameAddr]:
        value = self.headers._cache.get("record_routes", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["record_routes"] = _PARSERS["record_routes"](self.headers)
        return value

    @property
    def content_length(self) -> int:
        value = self.headers._cache.get("content_length", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["content_length"] = _PARSERS["content_length"](self.headers)
        return value

    @property
    def max_forwards(self) -> int | None:
        value = self.headers._cache.get("max_forwards", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["max_forwards"] = _PARSERS["max_forwards"](self.headers)
        return value

    @property
    def expires(self) -> int | None:
        value = self.headers._cache.get("expires", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["expires"] = _PARSERS["expires"](self.headers)
        return value

    @property
    def content_type(self) -> str | None:
        """Lower-case ``type/subtype`` without parameters."""
        value = self.headers._cache.get("content_type", _MISSING)
        if value is _MISSING:
            value = self.headers._cache["content_type"] = _PARSERS["content_type"](self.headers)
        return value

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
    """A SIP request. ``uri`` is the Request-URI.

    A parsed request keeps the Request-URI text it arrived with (already
    validated) and builds the ``SipUri`` on first access; serialization uses
    that text until ``uri`` is assigned.
    """

    __slots__ = ("method", "_uri", "_uri_text")

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
        self._uri: SipUri | None = uri
        self._uri_text: str | None = None
        self.headers = _as_headers(headers)
        self.body = bytes(body)
        self.version = version

    @classmethod
    def _parsed(cls, method: str, uri_text: str, headers: Headers, version: str) -> Request:
        self = cls.__new__(cls)
        self.method = method
        self._uri = None
        self._uri_text = uri_text
        self.headers = headers
        self.body = b""
        self.version = version
        return self

    @property
    def uri(self) -> SipUri:
        uri = self._uri
        if uri is None:
            uri = self._uri = parse_uri(self._uri_text or "")
        return uri

    @uri.setter
    def uri(self, value: SipUri) -> None:
        self._uri = value
        self._uri_text = None

    def _start_line(self) -> str:
        uri_text = self._uri_text if self._uri_text is not None else str(self._uri)
        return f"{self.method} {uri_text} {self.version}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Request):
            return NotImplemented
        return self.method == other.method and self.uri == other.uri and self._same_parts(other)

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Request:
        """A copy with its own ``Headers`` (values are immutable, so this is deep enough)."""
        return Request(self.method, self.uri, self.headers.copy(), self.body, version=self.version)

    def __repr__(self) -> str:
        uri = self._uri_text if self._uri_text is not None else self._uri
        return f"<Request {self.method} {uri} ({len(self.headers)} headers, {len(self.body)} B)>"


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
