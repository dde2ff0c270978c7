"""Typed SIP header values: Via, CSeq, name-addr (RFC 3261 §20, §25.1; RFC 3581).

Why a separate module: header values are kept as raw strings in ``Headers``
(so a message that is only forwarded or matched is never fully parsed); the
first access through a typed accessor parses them here. Every parser accepts
the linear white space RFC 3261 allows around ``/ ; = :`` (SWS, RFC 4475
§3.1.1.1) and raises ``SipParseError`` on anything else; every value prints
back canonically with ``str()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from firmware.sip.errors import SipParseError
from firmware.sip.uri import Param, SipUri, _check_host, fast_new, parse_uri, split_hostport

__all__ = [
    "Via",
    "CSeq",
    "NameAddr",
    "parse_via",
    "parse_cseq",
    "parse_name_addr",
    "parse_params",
    "split_commas",
    "quote",
    "unquote",
    "format_params",
    "get_param",
    "TOKEN",
]

TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_QUOTED = r'"[^"\\\r\n]*(?:\\[^\r\n][^"\\\r\n]*)*"'
_GEN_VALUE = rf"{_QUOTED}|[A-Za-z0-9\-.!%*_+`'~:\[\]]+"
_PARAM = re.compile(rf"[ \t]*;[ \t]*({TOKEN})(?:[ \t]*=[ \t]*({_GEN_VALUE}))?")
_QUOTED_RE = re.compile(_QUOTED)
_TOKEN_RE = re.compile(TOKEN)
_DISPLAY_TOKENS = re.compile(rf"{TOKEN}(?:[ \t]+{TOKEN})*")
_WS = re.compile(r"[ \t]+")
_VIA = re.compile(
    rf"[ \t]*({TOKEN})[ \t]*/[ \t]*({TOKEN})[ \t]*/[ \t]*({TOKEN})[ \t]+"
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+)(?:[ \t]*:[ \t]*([0-9]{1,5}))?"
)
_CSEQ = re.compile(rf"([0-9]{{1,10}})[ \t]+({TOKEN})")
# Fast paths for the canonical forms nearly every peer sends (no LWS, no quoted
# parameter values); anything else falls through to the general parsers.
_PLAIN_PARAMS = rf"((?:;{TOKEN}(?:=[A-Za-z0-9\-.!%*_+`'~:\[\]]+)?)*)"
_FAST_VIA = re.compile(
    r"SIP/2\.0/([A-Za-z0-9\-.!%*_+`'~]+) ([A-Za-z0-9\-._]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?"
    + _PLAIN_PARAMS
)
_FAST_NAME_ADDR = re.compile(
    r'(?:"([^"\\\r\n]*(?:\\[^\r\n][^"\\\r\n]*)*)" ?)?<([^<>\s"]+)>' + _PLAIN_PARAMS
)


def _plain_params(text: str) -> tuple[Param, ...]:
    if not text:
        return ()
    out: list[Param] = []
    for item in text[1:].split(";"):
        name, eq, value = item.partition("=")
        out.append((name, value if eq else None))
    return tuple(out)
_UNQUOTE = re.compile(r"\\(.)", re.DOTALL)
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')


def quote(text: str) -> str:
    """A quoted-string for ``text`` (backslash-escaping what qdtext cannot hold).

    CR and LF cannot be carried even escaped (§25.1 quoted-pair), so they become
    spaces: a display name from the user must never inject a header line.
    """
    text = text.replace("\r", " ").replace("\n", " ")
    return '"' + _NEEDS_ESCAPE.sub(lambda m: "\\" + m.group(), text) + '"'


def unquote(quoted: str) -> str:
    """The content of a quoted-string, quoted-pairs resolved."""
    return _UNQUOTE.sub(r"\1", quoted[1:-1])


def parse_params(text: str, pos: int = 0) -> tuple[tuple[Param, ...], int]:
    """Scan ``*( SEMI generic-param )`` from ``pos``; return params and the end position."""
    params: list[Param] = []
    while True:
        match = _PARAM.match(text, pos)
        if match is None:
            return tuple(params), pos
        params.append((match.group(1), match.group(2)))
        pos = match.end()


def _params_to_end(text: str, pos: int, what: str) -> tuple[Param, ...]:
    params, end = parse_params(text, pos)
    if text[end:].strip(" \t"):
        raise SipParseError(f"bad parameters in {what}")
    return params


def format_params(params: tuple[Param, ...]) -> str:
    """``;name=value;flag`` text for a parameter tuple."""
    return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in params)


def get_param(params: tuple[Param, ...], name: str) -> str | None:
    """Value of a parameter by case-insensitive name; ``""`` for a flag, ``None`` if absent.

    A quoted value is returned without its quotes.
    """
    lname = name.lower()
    for key, value in params:
        if key == name or key.lower() == lname:
            if value is None:
                return ""
            return unquote(value) if value.startswith('"') else value
    return None


def _set_param(params: tuple[Param, ...], name: str, value: str | None) -> tuple[Param, ...]:
    lname = name.lower()
    out = [(k, v) for k, v in params if k.lower() != lname]
    for index, (key, _) in enumerate(params):
        if key.lower() == lname:
            out.insert(index, (name, value))
            return tuple(out)
    return tuple(out) + ((name, value),)


def split_commas(value: str) -> list[str]:
    """Split a header value at commas outside quotes and angle brackets (§7.3.1)."""
    if '"' not in value and "<" not in value:
        return [part.strip(" \t") for part in value.split(",")]
    parts: list[str] = []
    start = 0
    in_quote = in_angle = False
    i, n = 0, len(value)
    while i < n:
        char = value[i]
        if in_quote:
            if char == "\\":
                i += 1
            elif char == '"':
                in_quote = False
        elif char == '"':
            in_quote = True
        elif char == "<":
            in_angle = True
        elif char == ">":
            in_angle = False
        elif char == "," and not in_angle:
            parts.append(value[start:i].strip(" \t"))
            start = i + 1
        i += 1
    parts.append(value[start:].strip(" \t"))
    return parts


@dataclass(frozen=True, kw_only=True)
class Via:
    """One Via value: ``SIP/2.0/UDP host:port;branch=...;received=...;rport=...``."""

    transport: str
    host: str
    port: int | None = None
    params: tuple[Param, ...] = ()
    protocol: str = "SIP/2.0"

    @property
    def branch(self) -> str | None:
        return get_param(self.params, "branch")

    @property
    def received(self) -> str | None:
        return get_param(self.params, "received")

    @property
    def rport(self) -> int | None:
        """The filled-in ``rport`` value (RFC 3581 §4); ``None`` if absent or empty."""
        value = get_param(self.params, "rport")
        return int(value) if value and value.isascii() and value.isdigit() and len(value) <= 5 else None

    @property
    def rport_requested(self) -> bool:
        """Whether the sender asked for symmetric response routing (``;rport``)."""
        return get_param(self.params, "rport") is not None

    @property
    def maddr(self) -> str | None:
        return get_param(self.params, "maddr")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host, self.port

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def with_param(self, name: str, value: str | None) -> Via:
        """A copy with ``name`` set (in place if present), e.g. ``received``/``rport``."""
        return replace(self, params=_set_param(self.params, name, value))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port is None else f":{self.port}"
        return f"{self.protocol}/{self.transport} {host}{port}{format_params(self.params)}"


def parse_via(value: str) -> Via:
    """Parse one Via value (already split at commas)."""
    fast = _FAST_VIA.fullmatch(value)
    if fast is not None:
        transport, host, port_text, ptext = fast.groups()
        host = _check_host(host) if host[0] == "[" else host
        port = None if port_text is None else int(port_text)
        if port is not None and port > 65535:
            raise SipParseError("bad Via port")
        return fast_new(
            Via,
            transport=transport.upper(),
            host=host,
            port=port,
            params=_plain_params(ptext),
            protocol="SIP/2.0",
        )
    match = _VIA.match(value)
    if match is None:
        raise SipParseError("bad Via")
    name, version, transport, host_text, port_text = match.groups()
    host, _ = split_hostport(host_text)
    port = None
    if port_text is not None:
        port = int(port_text)
        if port > 65535:
            raise SipParseError("bad Via port")
    params = _params_to_end(value, match.end(), "Via")
    return Via(
        transport=transport.upper(),
        host=host,
        port=port,
        params=params,
        protocol=f"{name.upper()}/{version}",
    )


@dataclass(frozen=True, kw_only=True)
class CSeq:
    """``CSeq: seq METHOD`` (§20.16); seq fits 32 bits."""

    seq: int
    method: str

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


def parse_cseq(value: str) -> CSeq:
    match = _CSEQ.fullmatch(value.strip(" \t"))
    if match is None:
        raise SipParseError("bad CSeq")
    seq = int(match.group(1))
    if seq > 0xFFFFFFFF:
        raise SipParseError("CSeq number too large")
    return fast_new(CSeq, seq=seq, method=match.group(2))


class NameAddr:
    """``"Display" <uri>;params`` as in From, To, Contact, Route (§20.10, §25.1).

    An immutable value: ``NameAddr(uri=..., display_name=None, params=())``.
    ``display_name`` is unquoted text (``None`` when absent); parameter values
    keep their quotes as written.

    Why not a dataclass: a parsed name-addr keeps its URI text and builds the
    ``SipUri`` on first access of ``uri`` (raising ``SipParseError`` then if
    it is malformed). Matching a transaction or dialog needs only the tags,
    so most From/To URIs are never built.
    """

    __slots__ = ("_uri", "_uri_text", "display_name", "params")

    _uri: SipUri | None
    _uri_text: str | None
    display_name: str | None
    params: tuple[Param, ...]

    def __init__(
        self, *, uri: SipUri, display_name: str | None = None, params: tuple[Param, ...] = ()
    ) -> None:
        setter = object.__setattr__
        setter(self, "_uri", uri)
        setter(self, "_uri_text", None)
        setter(self, "display_name", display_name)
        setter(self, "params", tuple(params))

    @classmethod
    def _lazy(cls, uri_text: str, display_name: str | None, params: tuple[Param, ...]) -> NameAddr:
        self = object.__new__(cls)
        setter = object.__setattr__
        setter(self, "_uri", None)
        setter(self, "_uri_text", uri_text)
        setter(self, "display_name", display_name)
        setter(self, "params", params)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"NameAddr is immutable (tried to set {name})")

    @property
    def uri(self) -> SipUri:
        uri = self._uri
        if uri is None:
            uri = parse_uri(self._uri_text or "")
            object.__setattr__(self, "_uri", uri)
        return uri

    @property
    def uri_text(self) -> str:
        """The URI as text, without building it."""
        return self._uri_text if self._uri_text is not None else str(self._uri)

    @property
    def tag(self) -> str | None:
        return get_param(self.params, "tag")

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def _replace_params(self, params: tuple[Param, ...]) -> NameAddr:
        if self._uri is None:
            return NameAddr._lazy(self._uri_text or "", self.display_name, params)
        return NameAddr(uri=self._uri, display_name=self.display_name, params=params)

    def with_tag(self, tag: str) -> NameAddr:
        return self._replace_params(_set_param(self.params, "tag", tag))

    def with_param(self, name: str, value: str | None) -> NameAddr:
        return self._replace_params(_set_param(self.params, name, value))

    def _key(self) -> tuple[object, ...]:
        try:
            uri: object = self.uri
        except SipParseError:
            uri = self._uri_text
        return (uri, self.display_name, self.params)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NameAddr):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"NameAddr(uri={self.uri_text!r}, display_name={self.display_name!r}, "
            f"params={self.params!r})"
        )

    def __str__(self) -> str:
        display = "" if self.display_name is None else quote(self.display_name) + " "
        return f"{display}<{self.uri_text}>{format_params(self.params)}"


def parse_name_addr(value: str) -> NameAddr:
    """Parse ``name-addr / addr-spec`` followed by header parameters."""
    fast = _FAST_NAME_ADDR.fullmatch(value)
    if fast is not None:
        quoted, uri_text, ptext = fast.groups()
        if quoted is not None and "\\" in quoted:
            quoted = _UNQUOTE.sub(r"\1", quoted)
        return NameAddr._lazy(uri_text, quoted, _plain_params(ptext))
    text = value.strip(" \t")
    display: str | None = None
    if text.startswith('"'):
        match = _QUOTED_RE.match(text)
        if match is None:
            raise SipParseError("unterminated quoted string")
        display = unquote(match.group())
        pos = match.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if not text.startswith("<", pos):
            raise SipParseError("display name without <uri>")
    else:
        pos = text.find("<")
        if pos > 0:
            words = text[:pos].rstrip(" \t")
            if words:
                if not _DISPLAY_TOKENS.fullmatch(words):
                    raise SipParseError("bad display name")
                display = _WS.sub(" ", words)
    if pos >= 0:
        end = text.find(">", pos)
        if end < 0:
            raise SipParseError("missing > after URI")
        uri = parse_uri(text[pos + 1 : end])
        return NameAddr(uri=uri, display_name=display, params=_params_to_end(text, end + 1, "name-addr"))
    semi = text.find(";")
    uri_text = (text if semi < 0 else text[:semi]).rstrip(" \t")
    if "?" in uri_text or "," in uri_text:
        raise SipParseError("URI with ? or , must be in <>")
    uri = parse_uri(uri_text)
    params = _params_to_end(text, semi, "addr-spec") if semi >= 0 else ()
    return NameAddr(uri=uri, params=params)


def is_token(text: str) -> bool:
    """Whether ``text`` is an RFC 3261 token."""
    return _TOKEN_RE.fullmatch(text) is not None
