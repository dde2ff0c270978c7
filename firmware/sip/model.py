"""The SIP message model: Request, Response and their typed accessors (RFC 3261 §7, §20).

Why separate from the parser (``message.py``): the model is what every
layer holds and builds; the parser is one way of producing it. The typed
accessors (``msg.vias``, ``msg.cseq``...) parse header values on first use
and cache the result in the message's ``Headers`` until it changes. Import
these names from ``firmware.sip.message``, which re-exports them.
"""

from __future__ import annotations

import re
from typing import Any

from firmware.sip.errors import SipParseError
from firmware.sip.fields import (
    CSeq,
    NameAddr,
    Via,
    is_token,
    parse_cseq,
    parse_name_addr,
    parse_via,
    split_commas,
)
from firmware.sip.headers import _MISSING, Headers
from firmware.sip.uri import SipUri, parse_uri

__all__ = ["Message", "Request", "Response"]

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


def _checked(uri: SipUri) -> SipUri:
    """Refuse a URI whose text would break the request line (a caller bug, not input)."""
    text = str(uri)
    if not text or any(c in text for c in " \t\r\n"):
        raise ValueError(f"URI cannot go on a request line: {text!r}")
    return uri


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
        if not is_token(method):
            raise ValueError(f"not a SIP method: {method!r}")
        self.method = method
        self._uri: SipUri | None = _checked(uri)
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
        self._uri = _checked(value)
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
