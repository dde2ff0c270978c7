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
from firmware.sip.uri import Param, SipUri, parse_uri, split_hostport

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
_QUOTED = r'"(?:[^"\\\r\n]|\\[^\r\n])*"'
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
        if key.lower() == lname:
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
    return CSeq(seq=seq, method=match.group(2))


@dataclass(frozen=True, kw_only=True)
class NameAddr:
    """``"Display" <uri>;params`` as in From, To, Contact, Route (§20.10, §25.1).

    ``display_name`` is unquoted text (``None`` when absent); parameter values
    keep their quotes as written.
    """

    uri: SipUri
    display_name: str | None = None
    params: tuple[Param, ...] = ()

    @property
    def tag(self) -> str | None:
        return get_param(self.params, "tag")

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def with_tag(self, tag: str) -> NameAddr:
        return replace(self, params=_set_param(self.params, "tag", tag))

    def with_param(self, name: str, value: str | None) -> NameAddr:
        return replace(self, params=_set_param(self.params, name, value))

    def __str__(self) -> str:
        display = "" if self.display_name is None else quote(self.display_name) + " "
        return f"{display}<{self.uri}>{format_params(self.params)}"


def parse_name_addr(value: str) -> NameAddr:
    """Parse ``name-addr / addr-spec`` followed by header parameters."""
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
