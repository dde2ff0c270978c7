"""SIP NOTIFY ``Event: check-sync``: the registrar asks the phone to resync now.

Cisco and Polycom phones accept an out-of-dialog NOTIFY with ``Event:
check-sync`` (no subscription: an unsolicited NOTIFY, which RFC 6665 §4.1.2
otherwise leaves to the package) and fetch their provisioning files at once
instead of waiting for ``resync_interval``. Anyone who can send a datagram
could make the phone hammer its TFTP server, so it is accepted only from the
configured proxy's address (403 otherwise). Without a resyncer (a phone
started from files, not ``--tftp``) the phone does not support the package,
and RFC 6665 (§4.1.3, a subscriber's NOTIFY handling) answers a NOTIFY whose
event package it does not understand with 489 Bad Event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["CheckSyncAnswer", "check_sync_answer", "is_check_sync", "proxy_hosts"]

EVENT_PACKAGE = "check-sync"


@dataclass(frozen=True, kw_only=True)
class CheckSyncAnswer:
    """The status to send, and whether to resync."""

    status: int
    reason: str | None = None
    resync: bool = False


def _event_package(request: Any) -> str | None:
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    try:
        value = headers.get("Event")
    except Exception:  # noqa: BLE001 - a malformed header is simply not check-sync
        return None
    if not value:
        return None
    return str(value).split(";", 1)[0].strip().lower()


def is_check_sync(event: Any) -> bool:
    """True for an ``OutOfDialogRequest`` NOTIFY whose Event package is check-sync."""
    return (str(getattr(event, "method", "")).upper() == "NOTIFY"
            and _event_package(getattr(event, "request", None)) == EVENT_PACKAGE)


def proxy_hosts(endpoint_config: Any) -> frozenset[str]:
    """The addresses a check-sync may come from: the registrar/proxy and outbound proxy hosts."""
    hosts = set()
    if getattr(endpoint_config, "domain", None):
        hosts.add(str(endpoint_config.domain).lower())
    outbound = getattr(endpoint_config, "outbound_proxy", None)
    if outbound:
        hosts.add(str(outbound[0]).lower())
    return frozenset(hosts)


def check_sync_answer(event: Any, proxies: frozenset[str], can_resync: bool) -> CheckSyncAnswer:
    """What to answer a check-sync NOTIFY from ``event.source`` (see module doc)."""
    source = getattr(event, "source", None)
    if source is None or str(source[0]).lower() not in proxies:
        log.warning("check-sync NOTIFY from %s refused: not the proxy (%s)",
                    source, ", ".join(sorted(proxies)) or "none configured")
        return CheckSyncAnswer(status=403, reason="Forbidden")
    if not can_resync:
        log.info("check-sync NOTIFY from %s: no provisioning server to resync from", source)
        return CheckSyncAnswer(status=489, reason="Bad Event")
    log.info("check-sync NOTIFY from %s: resyncing now", source)
    return CheckSyncAnswer(status=200, resync=True)
