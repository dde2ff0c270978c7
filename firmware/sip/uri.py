"""SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966) and their comparison (§19.1.4).

Why components are kept as written (still %-escaped): serialization must give
back what was received, and RFC 3261 §19.1.4 says escapes are decoded exactly
once, at comparison time (RFC 4475 §3.1.1.3). ``SipUri.equivalent`` does that
decoding; ``==`` is plain structural equality, which is what a round trip
needs.

Schemes other than sip/sips/tel are kept opaque (``opaque``), so a request
for ``nobodyKnowsThisScheme:...`` parses and the validator can answer 416
(RFC 4475 §3.3.2) instead of failing as a syntax error.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any
from urllib.parse import unquote_to_bytes

from firmware.sip.errors import SipParseError

__all__ = ["SipUri", "parse_uri", "check_uri", "Param", "unescape", "fast_new"]

#: One parameter: name and value (``None`` for a flag parameter such as ``lr``).
Param = tuple[str, "str | None"]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_ESC = r"%[0-9A-Fa-f]{2}"
# RFC 3261 §25.1 character classes (unreserved, escaped and the per-part extras).
_PARAMCHARS = re.compile(rf"(?:[A-Za-z0-9\-_.!~*'()\[\]/:&+$]|{_ESC})+")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-_.]*[A-Za-z0-9_])?\.?")
_PORT = re.compile(r"[0-9]{1,5}")
_TEL_NUMBER = re.compile(rf"(?:[0-9A-Fa-f*#+\-.()pwPW]|{_ESC})+")
_OPAQUE_BAD = re.compile(r"[\s<>\"\x00-\x1f\x7f]")

_COMPARE_PARAMS = (b"user", b"ttl", b"method", b"maddr", b"transport")


def fast_new(cls: type, **values: object) -> Any:
    """Build a frozen dataclass instance without its generated ``__init__``.

    Why: the parser creates several of these per message, and the frozen
    ``__init__`` pays an ``object.__setattr__`` per field. Every field must be
    given (``tests/sip/test_headers.py`` checks parsed values against the normal
    constructor).
    """
    obj = object.__new__(cls)
    obj.__dict__.update(values)
    return obj


def unescape(text: str) -> bytes:
    """Decode %HH escapes once (never recursively), as octets."""
    if "%" not in text:
        return text.encode("utf-8", "surrogateescape")
    return unquote_to_bytes(text)


def _check_host(host: str) -> str:
    """Validate a host (hostname, IPv4 or bracketed IPv6 reference); return it unbracketed."""
    if host.startswith("["):
        if not host.endswith("]"):
            raise SipParseError("bad IPv6 reference")
        inner = host[1:-1]
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            raise SipParseError("bad IPv6 reference") from None
        return inner
    if not host or not _HOSTNAME.fullmatch(host):
        raise SipParseError("bad host in URI")
    return host


def split_hostport(text: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` (host may be an IPv6 reference); validate both."""
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise SipParseError("bad IPv6 reference")
        host, rest = text[: close + 1], text[close + 1 :]
        if rest and not rest.startswith(":"):
            raise SipParseError("bad host:port")
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text = text.partition(":")
        if not sep:
            port_text = None
    port: int | None = None
    if port_text is not None:
        if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
            raise SipParseError("bad port")
        port = int(port_text)
    return _check_host(host), port


def _parse_uri_params(text: str) -> tuple[Param, ...]:
    params: list[Param] = []
    for item in text.split(";"):
        name, eq, value = item.partition("=")
        if not _PARAMCHARS.fullmatch(name) or (eq and not _PARAMCHARS.fullmatch(value)):
            raise SipParseError("bad URI parameter")
        params.append((name, value if eq else None))
    return tuple(params)


@dataclass(frozen=True, kw_only=True)
class SipUri:
    """A parsed URI. ``str(uri)`` is its canonical text.

    sip/sips: ``user``/``password`` (as written, %-escapes kept), ``host``
    (IPv6 without brackets), ``port``, ``params`` and ``headers``.
    tel: ``user`` holds the number, ``params`` its parameters, ``host`` is "".
    Other schemes: only ``opaque`` (everything after ``scheme:``).
    """

    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: tuple[Param, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    opaque: str | None = None

    @property
    def is_sip(self) -> bool:
        """True for sip: and sips: URIs."""
        return self.scheme in ("sip", "sips")

    def param(self, name: str, default: str | None = None) -> str | None:
        """Value of a URI parameter (case-insensitive name); ``""`` for a flag."""
        lname = name.lower()
        for key, value in self.params:
            if key.lower() == lname:
                return "" if value is None else value
        return default

    def has_param(self, name: str) -> bool:
        """Whether the URI carries the parameter (e.g. ``lr``)."""
        return self.param(name) is not None

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lower-cased."""
        value = self.param("transport")
        return value.lower() if value else None

    def with_params(self, **params: str | None) -> SipUri:
        """A copy with parameters set (``None`` for flags); existing ones replaced."""
        keep = [(k, v) for k, v in self.params if k.lower() not in {p.lower() for p in params}]
        return replace(self, params=tuple(keep) + tuple(params.items()))

    def without_params(self, *names: str) -> SipUri:
        """A copy without the named parameters."""
        drop = {n.lower() for n in names}
        return replace(self, params=tuple((k, v) for k, v in self.params if k.lower() not in drop))

    @cached_property
    def _text(self) -> str:
        if self.opaque is not None:
            return f"{self.scheme}:{self.opaque}"
        parts = [self.scheme, ":"]
        if self.scheme == "tel":
            parts.append(self.user or "")
        else:
            if self.user is not None:
                parts.append(self.user)
                if self.password is not None:
                    parts += [":", self.password]
                parts.append("@")
            parts.append(f"[{self.host}]" if ":" in self.host else self.host)
            if self.port is not None:
                parts += [":", str(self.port)]
        for name, value in self.params:
            parts += [";", name] if value is None else [";", name, "=", value]
        if self.headers:
            parts += ["?", "&".join(f"{n}={v}" for n, v in self.headers)]
        return "".join(parts)

    def __str__(self) -> str:
        return self._text

    def equivalent(self, other: SipUri) -> bool:
        """RFC 3261 §19.1.4 URI comparison (RFC 3966 §4 for tel, scheme + text otherwise)."""
        if self.scheme != other.scheme:
            return False
        if self.opaque is not None or other.opaque is not None:
            return self.opaque == other.opaque
        if self.scheme == "tel":
            strip = str.maketrans("", "", "-.()")
            mine = unescape(self.user or "").decode("latin-1").translate(strip).lower()
            theirs = unescape(other.user or "").decode("latin-1").translate(strip).lower()
            return mine == theirs and _norm_params(self.params) == _norm_params(other.params)
        if unescape(self.user or "") != unescape(other.user or "") or (self.user is None) != (
            other.user is None
        ):
            return False
        if unescape(self.password or "") != unescape(other.password or ""):
            return False
        if _norm_host(self.host) != _norm_host(other.host) or self.port != other.port:
            return False
        mine, theirs = _norm_params(self.params), _norm_params(other.params)
        for name in set(mine) & set(theirs):
            if mine[name] != theirs[name]:
                return False
        for name in _COMPARE_PARAMS:
            if (name in mine) != (name in theirs):
                return False
        return _norm_headers(self.headers) == _norm_headers(other.headers)


def _norm_host(host: str) -> str:
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            return host.lower()
    return host.lower().rstrip(".")


def _norm_params(params: tuple[Param, ...]) -> dict[bytes, bytes | None]:
    return {
        unescape(k).lower(): (None if v is None else unescape(v).lower()) for k, v in params
    }


def _norm_headers(headers: tuple[tuple[str, str], ...]) -> set[tuple[bytes, bytes]]:
    return {(unescape(k).lower(), unescape(v)) for k, v in headers}


_USER_CH = r"A-Za-z0-9\-_.!~*'()&=+$,;?/%"
_PW_CH = r"A-Za-z0-9\-_.!~*'()&=+$,%"
_PARAM_CH = r"A-Za-z0-9\-_.!~*'()\[\]/:&+$%"
_HNV_CH = r"A-Za-z0-9\-_.!~*'()\[\]/?:+$%"
_SIP_TAIL = (
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-_.]+)(?::([0-9]{1,5}))?"
    rf"((?:;[{_PARAM_CH}]+(?:=[{_PARAM_CH}]+)?)*)"
    rf"(?:\?([{_HNV_CH}]+=[{_HNV_CH}]*(?:&[{_HNV_CH}]+=[{_HNV_CH}]*)*))?"
)
# One anchored pattern per shape, so matching is linear: the character classes
# exclude the delimiters that end each part, and userinfo is tried only when
# an "@" is present.
_SIP_WITH_USER = re.compile(rf"([{_USER_CH}]+)(?::([{_PW_CH}]*))?@" + _SIP_TAIL)
_SIP_NO_USER = re.compile(_SIP_TAIL)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _sip_parts(text: str, colon: int) -> tuple[str | None, str | None, str, int | None, str, str]:
    """Validate a sip/sips URI; return (user, password, host, port, param text, header text)."""
    rest = text[colon + 1 :]
    if "@" in rest:
        match = _SIP_WITH_USER.fullmatch(rest)
        if match is None:
            raise SipParseError("bad SIP URI")
        user, password, host, port, ptext, htext = match.groups()
    else:
        match = _SIP_NO_USER.fullmatch(rest)
        if match is None:
            raise SipParseError("bad SIP URI")
        user = password = None
        host, port, ptext, htext = match.groups()
    if "%" in rest and _BAD_ESCAPE.search(rest):
        raise SipParseError("bad %-escape in URI")
    if host[0] == "[":
        host = _check_host(host)
    elif not _HOSTNAME.fullmatch(host):
        raise SipParseError("bad host in URI")
    port_number = None
    if port is not None:
        port_number = int(port)
        if port_number > 65535:
            raise SipParseError("bad port")
    return user, password, host, port_number, ptext, htext


def check_uri(text: str) -> None:
    """Raise ``SipParseError`` if ``text`` is not a valid URI, without building it."""
    if len(text) > 4096:
        raise SipParseError("URI too long", 414)
    colon = text.find(":")
    if text[:colon].lower() in ("sip", "sips"):
        _sip_parts(text, colon)
    else:
        parse_uri(text)


def parse_uri(text: str) -> SipUri:
    """Parse a URI; raise ``SipParseError`` if it is malformed.

    The split follows RFC 3261 §25.1: userinfo ends at the first ``@`` (it may
    contain ``;``, ``?`` and ``/``, RFC 4475 §3.1.1.2/§3.1.1.9), then
    ``;`` starts parameters and ``?`` headers.
    """
    if len(text) > 4096:
        raise SipParseError("URI too long", 414)
    colon = text.find(":")
    scheme = text[:colon].lower()
    if scheme in ("sip", "sips"):
        user, password, host, port_number, ptext, htext = _sip_parts(text, colon)
        params: tuple[Param, ...] = ()
        if ptext:
            params = tuple(
                (n, v if eq else None) for n, eq, v in (p.partition("=") for p in ptext[1:].split(";"))
            )
        headers: tuple[tuple[str, str], ...] = ()
        if htext:
            headers = tuple((n, v) for n, _, v in (h.partition("=") for h in htext.split("&")))
        return fast_new(
            SipUri,
            scheme=scheme,
            user=user,
            password=password,
            host=host,
            port=port_number,
            params=params,
            headers=headers,
            opaque=None,
        )
    match = _SCHEME.match(text)
    if match is None:
        raise SipParseError("bad URI scheme")
    scheme = match.group(1).lower()
    rest = text[match.end() :]
    if not rest or _OPAQUE_BAD.search(rest):
        raise SipParseError("bad URI")
    if scheme == "tel":
        number, _, ptext = rest.partition(";")
        if not _TEL_NUMBER.fullmatch(number):
            raise SipParseError("bad tel number")
        return SipUri(scheme="tel", user=number, params=_parse_uri_params(ptext) if ptext else ())
    return SipUri(scheme=scheme, opaque=rest)
