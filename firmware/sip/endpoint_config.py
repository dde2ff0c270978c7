"""Configuration, counters and errors of the SIP endpoint (what ``Endpoint`` is and reports).

Why apart: the shell and call control build an ``EndpointConfig`` from the
provisioning files without needing the endpoint's machinery, and tests read
``EndpointStats`` to check that bad input was counted, not raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from firmware.sip.admission import AdmissionConfig
from firmware.sip.auth import Credentials
from firmware.sip.events import Address
from firmware.sip.timers import DEFAULT_TIMERS, TimerConfig
from firmware.sip.validate import DEFAULT_POLICY

__all__ = ["EndpointConfig", "EndpointStats", "EndpointError"]


class EndpointError(Exception):
    """A command the endpoint cannot carry out (unknown session, wrong state).

    Raised to the caller of a command (a bug or race in the layer above),
    never out of ``receive_datagram``/``handle_timer``.
    """


@dataclass(frozen=True, kw_only=True)
class EndpointConfig:
    """What the UA is: its address, identity, credentials and limits.

    ``local_address`` goes into Via and Contact. ``outbound_proxy``, when set,
    receives every out-of-dialog request (RFC 3261 §8.1.2). Otherwise the
    request goes to the Request-URI's host/port (an IP literal, or a name the
    shell resolves when it sends).
    """

    local_address: Address
    transport: str = "udp"
    user: str = "piphone"
    display_name: str | None = None
    domain: str | None = None
    outbound_proxy: Address | None = None
    credentials: tuple[Credentials, ...] = ()
    timers: TimerConfig = DEFAULT_TIMERS
    user_agent: str = "piphone/0.1"
    #: one list for the Allow header and for what the validator takes (405 otherwise)
    allow: tuple[str, ...] = DEFAULT_POLICY.allow
    accept: tuple[str, ...] = DEFAULT_POLICY.accept
    supported: tuple[str, ...] = DEFAULT_POLICY.supported
    #: REGISTER failure back-off: min(base * 2**n, max) seconds.
    register_retry_base: float = 30.0
    register_retry_max: float = 1800.0
    #: The proxy may stand for several servers (a name, or a backup proxy): a
    #: REGISTER that times out or gets 503 is retried at once (the shell then
    #: sends it to the next server), up to this many times in a row, before
    #: the back-off above applies.  0: no such retry (one server).
    failover_retries: int = 0
    #: Behind a NAT with no ``nat_address`` (RFC 3581): when a REGISTER's 2xx says
    #: in its top Via that the registrar saw us at another ``received``/``rport``,
    #: use that address in Via/Contact from then on and register it.
    learn_public_address: bool = False
    max_transactions: int = 1024
    max_sessions: int = 64
    max_events: int = 4096
    #: A tagged INVITE for an unknown dialog starts a new call (True) or gets 481 (False).
    recreate_dialogs: bool = True
    #: Seconds an incoming non-INVITE request waits for ``respond`` before the core answers 500.
    request_answer_timeout: float = 16.0
    #: When an incoming INVITE gets its 100 Trying (RFC 3261 §17.2.1 allows
    #: either): ``None`` keeps ``timers.trying_delay`` (200 ms, sent only if the
    #: TU has said nothing by then); ``0.0`` sends it at once, as the Cisco 7960
    #: does in the seed's flows (Figure B-1 step 2, B-12, B-13).
    trying_delay: float | None = None
    #: Per-source limits on new server transactions (flood and scanner protection).
    admission: AdmissionConfig = AdmissionConfig()
    #: Only the proxy may ring the phone (``firmware.sip.trust``): "403", "drop" or
    #: "off". The app sets it from ``trust_proxy_only`` when a line has a proxy.
    trust_proxy_only: str = "off"
    #: Our lines' SIP users: while ``trust_proxy_only`` is on, another user in the
    #: Request-URI of a new request gets 404.
    local_users: tuple[str, ...] = ()

    def effective_timers(self) -> TimerConfig:
        """``timers`` with ``trying_delay`` applied (the transaction layer reads only timers)."""
        if self.trying_delay is None:
            return self.timers
        if self.trying_delay < 0:
            raise ValueError(f"trying_delay must be >= 0, got {self.trying_delay}")
        return replace(self.timers, trying_delay=self.trying_delay)


@dataclass
class EndpointStats:
    """Counters for what was dropped or refused, for diagnostics and tests."""

    received: int = 0
    dropped_unparseable: int = 0
    answered_400: int = 0
    dropped_stray_response: int = 0
    dropped_table_full: int = 0
    answered_481: int = 0
    answered_482: int = 0
    retransmissions_absorbed: int = 0
    extra: dict[str, int] = field(default_factory=dict)
