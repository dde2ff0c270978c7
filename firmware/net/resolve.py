"""RFC 3263 §4: from a proxy's host (and maybe port) to an ordered list of IP targets.

Why here and on the loop: a phone's proxy is often a name (``pbx.example``)
that the provider publishes with NAPTR and ``_sip._udp``/``_sips._tcp`` SRV
records so that clients fail over between servers.  Resolving with
``dnspython``'s asyncio resolver never blocks the calls in progress, and it
reads the system's resolver configuration (``/etc/resolv.conf``) like any
program, so nothing here is configured twice.

The rules (RFC 3263 §4.1, §4.2, RFC 2782):

* an IP address is used as it is (port 5060, 5061 for TLS, if none is given);
* a name with a port gets A/AAAA lookups only;
* a name without a port: NAPTR records whose service matches our transport
  (``SIP+D2U``, ``SIP+D2T``, ``SIPS+D2T``) name the SRV owner, else
  ``_sip._udp.NAME`` (``_sip._tcp``, ``_sips._tcp``); SRV targets are ordered
  by priority, and within one priority by a weighted random draw; with no
  SRV record at all the name's A/AAAA records on the default port;
* answers are cached for their (smallest) TTL; a failed lookup for a few
  seconds, so a broken DNS is not hammered.

Which of the targets is in use, and which ones failed, is ``router.py``'s job.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Srv", "Target", "TargetResolver", "is_ip_literal", "order_srv"]

log = logging.getLogger(__name__)

#: How long an unanswered or empty lookup is remembered (seconds).
NEGATIVE_TTL = 5.0
#: Cap on any cached answer, so a changed zone is seen within the hour.
MAX_TTL = 3600.0
#: Floor on a cached answer: a TTL of 0 (dnsmasq's default for its own records)
#: must not mean a DNS round trip before every retransmission.
MIN_TTL = 10.0

_NAPTR_SERVICE = {"udp": "SIP+D2U", "tcp": "SIP+D2T", "tls": "SIPS+D2T"}
_SRV_PREFIX = {"udp": "_sip._udp.", "tcp": "_sip._tcp.", "tls": "_sips._tcp."}


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def default_port(transport: str) -> int:
    return 5061 if transport.lower() == "tls" else 5060


@dataclass(frozen=True, slots=True)
class Target:
    """One place to send to: an IP address and port."""

    host: str
    port: int

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


@dataclass(frozen=True, slots=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str


def order_srv(records: Sequence[Srv], rng: random.Random | None = None) -> list[Srv]:
    """RFC 2782's order: lowest priority first; inside one priority, repeatedly draw
    a record with probability proportional to its weight (weight 0 records first
    in the running sum, so they are picked only rarely when others weigh more)."""
    rng = rng or random.Random()
    out: list[Srv] = []
    for prio in sorted({r.priority for r in records}):
        pool = sorted((r for r in records if r.priority == prio), key=lambda r: r.weight)
        while pool:
            total = sum(r.weight for r in pool)
            pick = rng.randint(0, total)
            running = 0
            for i, r in enumerate(pool):
                running += r.weight
                if running >= pick:
                    out.append(pool.pop(i))
                    break
    return [r for r in out if r.target not in (".", "")]


class TargetResolver:
    """NAPTR → SRV → A/AAAA with a TTL cache (see the module docstring).

    ``family`` limits the address records asked for (AF_INET: A only, AF_INET6:
    AAAA then A, AF_UNSPEC: both): a socket bound to 0.0.0.0 cannot reach an
    IPv6 target.  ``resolver`` is a ``dns.asyncresolver.Resolver`` (tests may
    pass one pointed elsewhere); by default the system's configuration.
    """

    def __init__(self, *, family: int = socket.AF_INET, resolver: Any = None,
                 timeout: float = 3.0, rng: random.Random | None = None,
                 max_entries: int = 64) -> None:
        self.family = family
        self._resolver = resolver
        self.timeout = timeout
        self._rng = rng or random.Random()
        self._max = max_entries
        self._cache: dict[tuple[str, int | None, str], tuple[float, list[Target]]] = {}
        self.lookups = 0

    def _dns(self) -> Any:
        if self._resolver is None:
            import dns.asyncresolver

            self._resolver = dns.asyncresolver.Resolver()
            self._resolver.lifetime = self.timeout
        return self._resolver

    def cached(self, host: str, port: int | None, transport: str, now: float) -> list[Target] | None:
        hit = self._cache.get((host.lower(), port, transport.lower()))
        if hit is not None and hit[0] > now:
            return hit[1]
        return None

    async def resolve(self, host: str, port: int | None, transport: str = "udp") -> list[Target]:
        """The targets for ``host`` (``port`` None: none given), best first; [] if none."""
        transport = transport.lower()
        if is_ip_literal(host):
            return [Target(host.strip("[]"), port or default_port(transport))]
        loop = asyncio.get_running_loop()
        key = (host.lower(), port, transport)
        hit = self.cached(host, port, transport, loop.time())
        if hit is not None:
            return hit
        self.lookups += 1
        try:
            targets, ttl = await self._lookup(host, port, transport)
        except Exception as exc:  # noqa: BLE001 - any DNS trouble is "no target", never a crash
            log.info("resolving %s failed: %s", host, exc)
            targets, ttl = [], NEGATIVE_TTL
        if not targets:
            ttl = NEGATIVE_TTL
        if len(self._cache) >= self._max:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (loop.time() + max(min(ttl, MAX_TTL), MIN_TTL if targets else 0.0),
                            targets)
        log.info("%s%s/%s -> %s (for %.0fs)", host, f":{port}" if port else "", transport,
                 ", ".join(f"{t.host}:{t.port}" for t in targets) or "nothing", ttl)
        return targets

    async def _lookup(self, host: str, port: int | None, transport: str) -> tuple[list[Target], float]:
        if port is not None:
            return await self._addresses(host, port)
        ttls: list[float] = []
        srv_name = await self._naptr(host, transport, ttls) or _SRV_PREFIX[transport] + host
        records = await self._srv(srv_name, ttls)
        if not records:
            found, ttl = await self._addresses(host, default_port(transport))
            return found, min([ttl, *ttls])
        out: list[Target] = []
        for rec in order_srv(records, self._rng):
            found, ttl = await self._addresses(rec.target, rec.port)
            ttls.append(ttl)
            out.extend(t for t in found if t not in out)
        return out, min(ttls) if ttls else NEGATIVE_TTL

    async def _query(self, name: str, rdtype: str) -> Any:
        import dns.exception
        import dns.resolver

        try:
            return await self._dns().resolve(name, rdtype, lifetime=self.timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return None
        except dns.exception.Timeout:
            log.info("DNS %s %s: no answer in %.1fs", rdtype, name, self.timeout)
            return None

    async def _naptr(self, host: str, transport: str, ttls: list[float]) -> str | None:
        answer = await self._query(host, "NAPTR")
        if answer is None:
            return None
        ttls.append(float(answer.rrset.ttl))
        wanted = _NAPTR_SERVICE[transport]
        rows = sorted(answer, key=lambda r: (r.order, r.preference))
        for r in rows:
            service = r.service.decode("ascii", "replace").upper()
            if r.flags.decode("ascii", "replace").lower() == "s" and service == wanted:
                return str(r.replacement).rstrip(".")
        return None

    async def _srv(self, name: str, ttls: list[float]) -> list[Srv]:
        answer = await self._query(name, "SRV")
        if answer is None:
            return []
        ttls.append(float(answer.rrset.ttl))
        return [Srv(r.priority, r.weight, r.port, str(r.target).rstrip(".")) for r in answer]

    async def _addresses(self, host: str, port: int) -> tuple[list[Target], float]:
        if is_ip_literal(host):
            return [Target(host.strip("[]"), port)], MAX_TTL
        kinds = {socket.AF_INET: ("A",), socket.AF_INET6: ("AAAA", "A")}.get(
            self.family, ("AAAA", "A"))
        out: list[Target] = []
        ttl = MAX_TTL
        for rdtype in kinds:
            answer = await self._query(host, rdtype)
            if answer is None:
                continue
            ttl = min(ttl, float(answer.rrset.ttl))
            out.extend(Target(str(r.address), port) for r in answer)
        return out, ttl if out else NEGATIVE_TTL
