"""Who may talk to the control API: Host, Origin and content-type rules.

Why: the API can take the handset off hook and dial. Bound to loopback it
needs no token, so any web page open in a browser on the same desktop could
otherwise drive it: by a cross-site ``fetch``/form POST (CSRF) or by pointing
a name it controls at 127.0.0.1 (DNS rebinding, which makes the browser treat
the phone as same-origin with the attacker's page). The defences, in order:

* ``Host`` must name this server: its bound address (or, bound to a wildcard
  address, any IP literal), ``localhost`` when bound to loopback, or a name
  listed in ``control_hosts``; a rebound name fails here (421).
* A state-changing request (anything but GET/HEAD) that carries ``Origin`` must
  come from this server's own origin; ``Origin: null`` and
  ``Sec-Fetch-Site: cross-site`` are refused too (403).
* A POST must say ``Content-Type: application/json`` (415): a browser cannot
  send that cross-origin without a CORS preflight, which this server never
  grants, so even a browser that sends no Origin cannot forge a write.

Pure functions over a parsed ``RequestHead``; the server applies them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from firmware.control.http import HttpError, RequestHead

__all__ = ["Site", "check_origin", "check_host", "check_content_type", "split_host"]

_SAFE_METHODS = frozenset({"GET", "HEAD"})


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def split_host(value: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (lower-case host, port or None).

    Raises ``ValueError`` on anything else.
    """
    value = value.strip()
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(value)
        port_s = rest[1:] if rest else None
    elif value.count(":") == 1:
        host, port_s = value.split(":")
    elif ":" in value:
        raise ValueError(value)  # a bare IPv6 literal must be bracketed
    else:
        host, port_s = value, None
    if not host:
        raise ValueError(value)
    if port_s is None:
        return host.lower(), None
    if not port_s.isdecimal() or len(port_s) > 5 or int(port_s) > 65535:
        raise ValueError(value)
    return host.lower(), int(port_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """The addresses this server answers to: scheme, bound host and port, extra names."""

    scheme: str  # "http" or "https"
    bind_host: str
    port: int
    names: frozenset[str] = frozenset()

    def _host_ok(self, host: str) -> bool:
        if host in self.names:
            return True
        bound = _ip(self.bind_host)
        addr = _ip(host)
        if host == "localhost":
            return bound is not None and bound.is_loopback or self.bind_host == "localhost"
        if addr is None:
            return False  # a DNS name we were not told about: the rebinding case
        if bound is None:
            return self.bind_host == "localhost" and addr.is_loopback
        if bound.is_unspecified:
            return True  # bound everywhere: any of our addresses, by IP literal
        return addr == bound

    def _port_ok(self, port: int | None) -> bool:
        default = 443 if self.scheme == "https" else 80
        return (port if port is not None else default) == self.port

    def accepts_host(self, value: str) -> bool:
        """True when a ``Host`` header value names this server."""
        try:
            host, port = split_host(value)
        except ValueError:
            return False
        return self._host_ok(host) and (port is None or port == self.port)

    def accepts_origin(self, value: str) -> bool:
        """True when an ``Origin`` header value is this server's own origin."""
        scheme, sep, rest = value.strip().partition("://")
        if not sep or scheme.lower() != self.scheme or "/" in rest:
            return False
        try:
            host, port = split_host(rest)
        except ValueError:
            return False
        return self._host_ok(host) and self._port_ok(port)


def check_host(head: RequestHead, site: Site) -> None:
    """Raise 400 without Host on HTTP/1.1, 421 when Host is not one of ours."""
    host = head.headers.get("host")
    if host is None:
        if head.version == "HTTP/1.1":
            raise HttpError(400, "HTTP/1.1 requests need a Host header")
        return
    if not site.accepts_host(host):
        raise HttpError(421, f"Host {host[:80]!r} is not this phone's address; "
                             "add the name to control_hosts to use it")


def check_origin(head: RequestHead, site: Site) -> None:
    """Raise 403 for a state-changing request from another origin."""
    if head.method in _SAFE_METHODS:
        return
    if head.headers.get("sec-fetch-site", "").lower() == "cross-site":
        raise HttpError(403, "cross-site request refused")
    origin = head.headers.get("origin")
    if origin is not None and not site.accepts_origin(origin):
        raise HttpError(403, f"cross-origin request from {origin[:80]!r} refused")


def check_content_type(head: RequestHead) -> None:
    """Raise 415 for a POST that does not declare a JSON body."""
    if head.method != "POST":
        return
    ctype = head.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        raise HttpError(415, "POST bodies must be sent as Content-Type: application/json",
                        close=False)
