"""RFC 3261 §10.2 registration: REGISTER, refresh before expiry, back-off, un-REGISTER.

Why its own state machine: a phone must stay registered through registrar
restarts and network loss without call control's help. The refresh is
scheduled from what the registrar *granted* (our Contact's ``expires``
parameter in the 2xx, else its Expires header, §10.2.4), at
min(0.9 * granted, granted - 5) seconds. Failures (final non-2xx after any
digest retry, or Timer F) are retried after min(base * 2**n, cap) seconds
(RFC 5626 §4.5 style), honouring Retry-After and 423 Min-Expires.
One Call-ID is used for every REGISTER to the same registrar, with CSeq
incrementing (§10.2.4).
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from firmware.sip.auth import DigestClient
from firmware.sip.events import Address, Registered, RegistrationFailed, Unregistered
from firmware.sip.message import Headers, NameAddr, Request, Response, SipUri
from firmware.sip.transaction import ClientTransaction

__all__ = ["Registration", "RegState", "refresh_delay", "backoff_delay"]

log = logging.getLogger(__name__)

RETRY_BASE = 30.0
RETRY_MAX = 1800.0
#: Digest retries in a row before a failure is declared (DigestClient also bounds them).
MAX_AUTH_RETRIES = 3


class RegState(enum.Enum):
    IDLE = "idle"
    REGISTERING = "registering"
    REGISTERED = "registered"
    WAITING_RETRY = "waiting-retry"
    UNREGISTERING = "unregistering"
    DONE = "done"


def refresh_delay(granted: int) -> float:
    """Seconds after a successful REGISTER to refresh it: min(0.9*g, g-5), at least g/2."""
    delay = min(granted * 0.9, granted - 5.0)
    return delay if delay > 0 else granted / 2.0


def backoff_delay(failures: int, base: float = RETRY_BASE, cap: float = RETRY_MAX) -> float:
    """Wait before retry number ``failures`` (1-based): base, 2*base, 4*base ... capped."""
    return min(base * (2 ** max(failures - 1, 0)), cap)


class Registration:
    """One address-of-record registered at one registrar."""

    def __init__(self, host: Any, rid: str, *, registrar: SipUri, aor: NameAddr, expires: int,
                 dest: Address, transport: str, call_id: str, retry_base: float = RETRY_BASE,
                 retry_max: float = RETRY_MAX) -> None:
        self.host = host
        self.id = rid
        self.registrar = registrar
        self.aor = aor
        self.expires = expires
        self.dest = dest
        self.transport = transport
        self.call_id = call_id
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.state = RegState.IDLE
        self.cseq = host.new_cseq()
        self.tag = host.new_tag()
        self.auth: DigestClient = host.digest_client(aor.uri.user)
        self.granted: int | None = None
        self.failures = 0
        self._auth_tries = 0
        self._tx: ClientTransaction | None = None
        self._next_at: float | None = None
        self._unregister_wanted = False
        self._resend_wanted = False
        self._sent_expires = expires
        self._quick_retries = 0
        self.failover_retries = int(getattr(host.config, "failover_retries", 0) or 0)

    @property
    def aor_text(self) -> str:
        return str(self.aor.uri)

    def start(self, now: float) -> None:
        self._send(now, self.expires)

    def _contact(self, expires: int) -> str:
        contact: NameAddr = self.host.contact(self.transport)
        return str(contact.with_param("expires", str(expires)))

    def _send(self, now: float, expires: int) -> None:
        self.cseq += 1
        h = Headers()
        h.add("Via", str(self.host.via(self.transport)))
        h.add("Max-Forwards", "70")
        h.add("From", str(self.aor.with_tag(self.tag)))
        h.add("To", str(self.aor))
        h.add("Call-ID", self.call_id)
        h.add("CSeq", f"{self.cseq} REGISTER")
        h.add("Contact", self._contact(expires))
        h.add("Expires", str(expires))
        for name, value in self.host.common_headers():
            h.add(name, value)
        for name, value in self.auth.authorization_headers("REGISTER", str(self.registrar)):
            h.add(name, value)
        req = Request("REGISTER", self.registrar, h)
        self._next_at = None
        self.state = RegState.UNREGISTERING if expires == 0 else RegState.REGISTERING
        self._sent_expires = expires
        self._tx = self.host.start_client(req, self.dest, self.transport, now, self._on_response,
                                          self._on_timeout)

    def _on_response(self, tx: ClientTransaction, status: int, resp: Response, now: float) -> None:
        if tx is not self._tx or status < 200:
            return
        self._tx = None
        unregistering = self._sent_expires == 0
        if status in (401, 407) and self._auth_tries < MAX_AUTH_RETRIES:
            proxy = status == 407
            values = resp.headers.get_all("Proxy-Authenticate" if proxy else "WWW-Authenticate")
            decision = self.auth.handle_challenges(values, proxy=proxy)
            if decision.retry:
                self._auth_tries += 1
                self._send(now, self._sent_expires)
                return
            self._failed(now, status, f"{resp.reason} ({decision.reason})", unregistering)
            return
        self._auth_tries = 0
        if 200 <= status < 300:
            self.auth.succeeded()
            if unregistering:
                self._done()
                return
            self.failures = 0
            self._quick_retries = 0
            self.granted = self._granted(resp)
            self.state = RegState.REGISTERED
            self._next_at = now + refresh_delay(self.granted)
            self.host.emit(Registered(registration=self.id, aor=self.aor_text,
                                      expires=self.granted))
            if self._learned_address(resp, now):
                return
            if self._unregister_wanted:
                self.unregister(now)
            elif self._resend_wanted:
                self.refresh_now(now)
            return
        if status == 423 and not unregistering:
            try:
                minimum = int(resp.headers.get("Min-Expires") or "0")
            except ValueError:
                minimum = 0
            if minimum > self.expires:
                self.expires = min(minimum, 0xFFFFFFFF)
                self._send(now, self.expires)
                return
        retry_after = None
        value = resp.headers.get("Retry-After")
        if value:
            try:
                retry_after = float(value.split(";", 1)[0].split("(", 1)[0].strip())
            except ValueError:
                retry_after = None
        self._failed(now, status, resp.reason, unregistering, retry_after)

    def _learned_address(self, resp: Response, now: float) -> bool:
        """RFC 3581 §4: the address the registrar saw us at, if we are to use it and it is
        new (the endpoint then re-registers every line from it)."""
        if not getattr(self.host.config, "learn_public_address", False):
            return False
        try:
            via = resp.top_via
        except ValueError:
            return False
        host, port = via.received or via.host, via.rport or via.port
        if not host or not port or (host, port) == tuple(self.host.config.local_address):
            return False
        log.info("the registrar sees us at %s:%d (NAT): registering that address", host, port)
        return bool(self.host.set_local_address((host, port), now=now))

    def _granted(self, resp: Response) -> int:
        ours = self.host.contact(self.transport).uri
        try:
            for c in resp.contacts:
                if c.uri.equivalent(ours) or (c.uri.user, c.uri.host, c.uri.port) == (
                    ours.user, ours.host, ours.port
                ):
                    value = c.param("expires")
                    if value and value.isdecimal():
                        return int(value)
            if resp.expires is not None:
                return resp.expires
        except ValueError:
            pass
        return self.expires

    def _on_timeout(self, tx: ClientTransaction, now: float) -> None:
        if tx is not self._tx:
            return
        self._tx = None
        self._failed(now, 408, "Request Timeout", self._sent_expires == 0)

    def transport_failed(self, now: float, reason: str) -> None:
        """The REGISTER in flight could not be delivered: a 503 with ``reason`` (§8.1.3.1)."""
        if self._tx is None:
            return
        self._tx = None
        self._failed(now, 503, reason, self._sent_expires == 0)

    def _failed(self, now: float, status: int, reason: str, unregistering: bool,
                retry_after: float | None = None) -> None:
        self._auth_tries = 0
        if unregistering or self._unregister_wanted:
            self._done()
            return
        self.failures += 1
        delay = backoff_delay(self.failures, self.retry_base, self.retry_max)
        if retry_after is not None and retry_after > delay:
            delay = min(retry_after, self.retry_max)
        if status in (408, 503) and self._quick_retries < self.failover_retries:
            # RFC 3263 §4.3: the next server, now. The retry fires on the next
            # timer turn, after the shell has seen TargetFailed and moved on.
            self._quick_retries += 1
            delay = 0.0
        elif self._resend_wanted:  # the address changed meanwhile: try from the new one now
            self._resend_wanted = False
            delay = 0.0
        self.state = RegState.WAITING_RETRY
        self._next_at = now + delay
        log.info("REGISTER %s failed: %d %s; retry in %.0fs", self.aor_text, status, reason, delay)
        self.host.emit(RegistrationFailed(registration=self.id, aor=self.aor_text, status=status,
                                          reason=reason, retry_in=delay))

    def _done(self) -> None:
        self.state = RegState.DONE
        self._next_at = None
        self.host.emit(Unregistered(registration=self.id, aor=self.aor_text))

    def refresh_now(self, now: float) -> None:
        """REGISTER again now (new address, or the proxy moved); after the one in flight."""
        self._resend_wanted = False
        if self.state in (RegState.DONE, RegState.UNREGISTERING) or self._unregister_wanted:
            return
        if self._tx is not None:
            self._resend_wanted = True
            return
        self._quick_retries = 0
        self._send(now, self.expires)

    def unregister(self, now: float) -> None:
        """REGISTER with Expires: 0 (§10.2.2); waits for an in-flight REGISTER first."""
        if self.state is RegState.DONE or self.state is RegState.UNREGISTERING:
            return
        if self._tx is not None:
            self._unregister_wanted = True
            return
        if self.granted is None and self.state is not RegState.REGISTERED:
            self._done()  # never registered: nothing to remove
            return
        self._send(now, 0)

    def get_timer(self) -> float | None:
        return self._next_at

    def handle_timer(self, now: float) -> None:
        if self._next_at is not None and now >= self._next_at:
            self._next_at = None
            if self.state in (RegState.REGISTERED, RegState.WAITING_RETRY):
                self._send(now, self.expires)

    @property
    def finished(self) -> bool:
        return self.state is RegState.DONE
