"""Only the proxy may ring the phone: source trust for out-of-dialog requests.

Why: a phone reachable on port 5060 gets "friendly-scanner" INVITEs and
OPTIONS floods from the internet every night; a registered phone should only
take new requests from the proxy it registered with (the registrar and the
outbound proxy), as Yealink's "trust control" does. Requests inside an
existing dialog pass (their dialog was opened through the proxy or by us).
Peer-to-peer phones (no proxy) are not filtered at all.

Trusted is judged by IP address, not port: a proxy answers from its listening
port but may open TCP/TLS connections from any. The set starts with the proxy
hosts that are IP literals and learns the addresses that answered our
REGISTERs (the registrar's name, resolved) and any the shell adds.

Verdicts: ``403`` (answered statelessly, counted) or ``drop`` (counted
only), per ``trust_proxy_only``. A trusted request whose Request-URI names a
user that is not one of our lines gets 404 (the proxy routed it wrongly, or
someone is probing extensions through it).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SourceTrust", "Verdict"]

#: None: accept; otherwise the status to answer (403/404) or 0 to drop silently.
Verdict = int | None


def _norm(host: str) -> str:
    host = host.strip().lower().strip("[]")
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return host


@dataclass
class SourceTrust:
    """Which sources may start dialogs and send out-of-dialog requests."""

    #: "403", "drop" or "off" (off: everybody is trusted).
    action: str = "off"
    #: Our lines' user parts (Request-URI check); empty: not checked.
    users: frozenset[str] = frozenset()
    hosts: set[str] = field(default_factory=set)

    @classmethod
    def for_config(cls, config: Any) -> SourceTrust:
        """From an ``EndpointConfig``: its action, lines, and proxy hosts."""
        trust = cls(action=config.trust_proxy_only,
                    users=frozenset(config.local_users or (config.user,)))
        for host in (config.domain, config.outbound_proxy[0] if config.outbound_proxy else None):
            if host:
                trust.add(host)
        return trust

    @property
    def active(self) -> bool:
        return self.action in ("403", "drop")

    def add(self, host: str) -> None:
        """Trust ``host`` (an IP address; names are kept but only match a name)."""
        self.hosts.add(_norm(host))

    def trusts(self, source_host: str) -> bool:
        return not self.active or _norm(source_host) in self.hosts

    def verdict(self, source_host: str, ruri_user: str | None) -> Verdict:
        """None to accept; 403/404 to answer; 0 to drop."""
        if not self.active:
            return None
        if _norm(source_host) not in self.hosts:
            return 403 if self.action == "403" else 0
        if self.users and ruri_user is not None and ruri_user not in self.users:
            return 404
        return None
