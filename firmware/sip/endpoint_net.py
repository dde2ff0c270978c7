"""What the endpoint does when the network under it changes (RFC 3261 §10.2.4, RFC 3263 §4.3).

Why apart from ``endpoint.py``: the shell notices a new local address, a
proxy that failed or one that is back; the core's part is small and of one
kind: put the new address in Via/Contact from now on, re-REGISTER, and tell
the shell which destination failed (``TargetFailed``) so it can pick the
next server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from firmware.sip.events import Address, Event, TargetFailed

__all__ = ["NetworkMixin"]


class NetworkMixin:
    """Address changes, re-registration and target failures for ``Endpoint``."""

    if TYPE_CHECKING:  # provided by Endpoint
        from firmware.sip.endpoint_config import EndpointConfig
        from firmware.sip.registration import Registration

        config: EndpointConfig
        registrations: dict[str, Registration]

        from firmware.sip.outside_dialog import OutsideDialog
        from firmware.sip.session import InviteSession

        _live: dict[str, InviteSession]
        _ood: OutsideDialog

        def emit(self, event: Event) -> None: ...
        def _reap(self, now: float) -> None: ...

    def set_local_address(self, address: Address, *, now: float) -> bool:
        """Use ``address`` in Via/Contact from now on; re-REGISTER every line if it changed.

        New calls carry the new address; calls in progress keep the dialog's
        Contact (a re-INVITE would be needed to move them, and their media
        is bound to the old address anyway). Returns whether it changed.
        """
        address = (str(address[0]), int(address[1]))
        if address == tuple(self.config.local_address):
            return False
        self.config = replace(self.config, local_address=address)
        self.reregister(now=now)
        return True

    def reregister(self, *, now: float) -> None:
        """REGISTER every registration again now (the proxy moved, or our address did)."""
        for reg in list(self.registrations.values()):
            reg.refresh_now(now)
        self._reap(now)

    @property
    def failover_retries(self) -> int:
        """How many times one request may move on to another server (sessions read it)."""
        return int(getattr(self.config, "failover_retries", 0) or 0)

    def fail_over(self, dest: Address, *, now: float) -> None:
        """The shell has another server for ``dest`` (after ``TargetFailed``): the
        INVITEs and out-of-dialog requests that just failed there are sent again,
        as new transactions, and go to it (RFC 3263 §4.3). Registrations retry
        on their own (``failover_retries``)."""
        dest = (str(dest[0]), int(dest[1]))
        for session in list(self._live.values()):
            session.fail_over(dest, now)
        self._ood.fail_over(dest, now)
        self._reap(now)

    def _watch_target(
        self, dest: Address, transport: str,
        on_response: Callable[[Any, int, Any, float], None],
        on_timeout: Callable[[Any, float], None],
    ) -> tuple[Callable[[Any, int, Any, float], None], Callable[[Any, float], None]]:
        """The owner's callbacks, wrapped to emit ``TargetFailed`` first on 503 or timeout.

        RFC 3261 §16.7 has a proxy turn a 503 from downstream into 500, so a
        503 we receive speaks of the server we sent to; but proxies in the field
        (Kamailio's default) relay a callee's 503 as it is, so one that follows
        a provisional response (the server took the request on) is the far
        end's, not a failure of the server. Only a shell that fails over
        (``failover_retries``) is told.
        """
        if not getattr(self.config, "failover_retries", 0):
            return on_response, on_timeout
        proceeding = False

        def response(tx: Any, status: int, resp: Any, now: float) -> None:
            nonlocal proceeding
            if status < 200:
                proceeding = True
            elif status == 503 and not proceeding:
                self.emit(TargetFailed(dest=dest, transport=transport, status=503))
            on_response(tx, status, resp, now)

        def timeout(tx: Any, now: float) -> None:
            self.emit(TargetFailed(dest=dest, transport=transport, status=408))
            on_timeout(tx, now)

        return response, timeout
