"""Per-source admission of new server transactions: a token bucket per address.

Why: a phone reachable from the internet gets INVITE floods and scanner sweeps
("friendly-scanner") at hundreds of requests a second. Each admitted request
costs a transaction (and, for an INVITE, a session and a ringing call), so a
single source must not be able to create them faster than a person could
dial. Requests over the limit are dropped before any state is built (and
counted); the core may answer a stateless 503 with Retry-After instead when
configured, which costs the same as a drop plus one datagram.

Retransmissions, ACKs, CANCELs and in-dialog requests are never counted here:
they match state that exists already (the transaction layer asks only when it
would create a new transaction).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AdmissionConfig:
    """Limits per source address (the IP, whatever the port)."""

    #: New transactions per second a source may open, sustained.
    rate: float = 2.0
    #: ... and in a burst (a phone's REGISTER + SUBSCRIBEs at boot, a proxy's burst).
    burst: float = 10.0
    #: Sources remembered; the least recently seen is forgotten beyond this (bounded memory).
    max_sources: int = 512
    #: Answer an over-limit request 503 + Retry-After (True) or drop it silently (False).
    answer_503: bool = False
    #: Retry-After seconds in that 503.
    retry_after: int = 5


class SourceAdmission:
    """Token buckets keyed by source address, bounded in number (LRU)."""

    def __init__(self, config: AdmissionConfig | None = None,
                 exempt: Collection[str] = frozenset()) -> None:
        self.config = config or AdmissionConfig()
        #: Addresses never limited (the registrar / outbound proxy: a PBX relays for many);
        #: may be a live set that the shell fills as it resolves the proxy's name.
        self.exempt = exempt
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.refused = 0

    def admit(self, host: str, now: float) -> bool:
        """Take one token from ``host``'s bucket; False (counted) when it is empty."""
        if host in self.exempt:
            return True
        cfg = self.config
        tokens, last = self._buckets.pop(host, (cfg.burst, now))
        tokens = min(cfg.burst, tokens + (now - last) * cfg.rate)
        admitted = tokens >= 1.0
        if admitted:
            tokens -= 1.0
        else:
            self.refused += 1
        self._buckets[host] = (tokens, now)
        if len(self._buckets) > cfg.max_sources:
            self._buckets.popitem(last=False)
        return admitted

    def __len__(self) -> int:
        return len(self._buckets)
