"""Which local address a message should carry (RFC 3261 §18.1.1 Via sent-by, §8.1.1.8 Contact).

Why: a phone listening on every interface (``0.0.0.0``) cannot put "0.0.0.0"
in Via, Contact or SDP; it must name the address its peer can reach, which
is the source address the kernel picks for packets towards that peer.  A
UDP ``connect`` asks the routing table for exactly that and sends nothing,
so it is cheap enough to ask again every few seconds and notice when the
interface or route changes (``firmware.app.netwatch``).
"""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["WILDCARDS", "family_of", "is_wildcard", "route_source"]

#: Bind addresses meaning "every interface".
WILDCARDS = frozenset({"", "0.0.0.0", "::", "*"})


def is_wildcard(host: str) -> bool:
    return host.strip("[]") in WILDCARDS


def family_of(host: str) -> int:
    """AF_INET6 for an IPv6 literal (or ``::``), else AF_INET."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def route_source(target: str, *, port: int = 5060) -> str | None:
    """The local address the kernel would send from towards IP ``target``; None if no route.

    ``target`` must be an IP literal (resolve names first): a name here would
    block the loop on DNS.
    """
    try:
        ip = ipaddress.ip_address(target.strip("[]"))
    except ValueError:
        return None
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((str(ip), port))
            return str(s.getsockname()[0])
        except OSError:
            return None
