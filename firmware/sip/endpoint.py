"""The SIP user agent as one sans-IO object (RFC 3261 §8, §12-§17, §18.2.2, RFC 3581).

Why one object: the shell (``firmware.net``) should not know about
transactions, dialogs or registrations. It feeds datagrams in, flushes
``datagrams_to_send()``, arms one timer at ``get_timer()`` and hands
``next_event()`` results to call control. Call control drives calls with
the commands below, by session id, and never builds a SIP message.

Theory of operation::

    receive_datagram -> parse/validate -> TransactionLayer (§17)
        responses -> client transaction -> its owner (Session / Registration / request)
        requests  -> server transaction -> dialog match (§12.2.2) -> Session or 481,
                     or out of dialog -> INVITE (new Session) / OPTIONS (answered here)
                     / REGISTER (405) / other (OutOfDialogRequest event)
    commands (invite, answer, bye, ...) -> Session -> Dialog builds the request
        -> TransactionLayer -> Outgoing datagrams

Nothing here raises on bad input: unparseable datagrams are answered 400 when
Via, CSeq and Call-ID can be recovered, else dropped and counted in ``stats``.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable
from typing import Any

from firmware.sip.admission import SourceAdmission
from firmware.sip.auth import DigestClient
from firmware.sip.build import (
    IdSource,
    is_reliable,
    uri_destination,
)
from firmware.sip.dialog import Dialog, DialogId
from firmware.sip.endpoint_commands import SessionCommandsMixin
from firmware.sip.endpoint_config import EndpointConfig, EndpointError, EndpointStats
from firmware.sip.endpoint_net import NetworkMixin
from firmware.sip.endpoint_receive import ReceiveMixin
from firmware.sip.errors import SipParseError
from firmware.sip.events import (
    Address,
    Event,
    Outgoing,
)
from firmware.sip.message import (
    NameAddr,
    Request,
    Response,
    SipUri,
    Via,
    parse_message,
    parse_uri,
)
from firmware.sip.outside_dialog import OutsideDialog
from firmware.sip.registration import Registration
from firmware.sip.session import InviteSession, SessionError
from firmware.sip.timers import TimerConfig
from firmware.sip.transaction import ClientTransaction, ServerTransaction
from firmware.sip.transaction_layer import TableFull, TransactionLayer
from firmware.sip.trust import SourceTrust
from firmware.sip.uri import split_hostport
from firmware.sip.validate import (
    UaPolicy,
    answer_parse_error,
)

__all__ = ["Endpoint", "EndpointConfig", "EndpointStats", "EndpointError"]  # config re-exported

log = logging.getLogger(__name__)


class Endpoint(ReceiveMixin, SessionCommandsMixin, NetworkMixin):
    """One SIP user agent (UAC + UAS + registrations), sans-IO.

    Input verbs: ``receive_datagram``, ``handle_timer`` and the commands (the
    per-call ones live in ``endpoint_commands.py``).
    Output verbs: ``datagrams_to_send``, ``next_event``, ``get_timer``.
    Every verb takes ``now`` (seconds, the shell's monotonic clock).
    ``rng`` draws branches, tags, Call-IDs, the glare wait and the app's RTP
    SSRC/sequence/timestamp: the OS CSPRNG by default, a seeded
    ``random.Random`` in tests.
    """

    def __init__(self, config: EndpointConfig, *, rng: random.Random | None = None) -> None:
        self.config = config
        self.timers: TimerConfig = config.effective_timers()
        self.stats = EndpointStats()
        self.ids = IdSource(rng)
        self.policy = UaPolicy(allow=config.allow, accept=config.accept,
                               supported=config.supported)
        self._out: list[Outgoing] = []
        self._events: deque[Event] = deque()
        self.layer = TransactionLayer(timers=self.timers, sink=self._out.append,
                                      max_transactions=config.max_transactions)
        self.sessions: dict[str, InviteSession] = {}
        self._dialogs: dict[DialogId, InviteSession] = {}
        self._by_call_id: dict[str, InviteSession] = {}
        # Sessions with work left (not ``finished``): the only ones whose timers are read.
        self._live: dict[str, InviteSession] = {}
        # Finished sessions, kept 64*T1 to re-ACK late 2xx retransmissions: sid -> forget at.
        self._reap_queue: dict[str, float] = {}
        self.registrations: dict[str, Registration] = {}
        self._ood = OutsideDialog(self, config.request_answer_timeout)
        self.trust = SourceTrust.for_config(config)
        # The proxy relays for many callers: never rate-limited as one source.
        self.admission = SourceAdmission(config.admission, exempt=self.trust.hosts)
        self._seq = 0

    # ================================================= host services
    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq}"

    def new_request_id(self) -> str:
        return self._next("r")

    def new_tag(self) -> str:
        return self.ids.tag()

    def new_cseq(self) -> int:
        return self.ids.cseq()

    def random_uniform(self, low: float, high: float) -> float:
        return self.ids.rng.uniform(low, high)

    def via(self, transport: str) -> Via:
        host, port = self.config.local_address
        return Via(transport=transport.upper(), host=host, port=port,
                   params=(("branch", self.ids.branch()), ("rport", None)))

    def contact(self, transport: str) -> NameAddr:
        host, port = self.config.local_address
        params: tuple[tuple[str, str | None], ...] = ()
        if transport.lower() != "udp":
            params = (("transport", transport.lower()),)
        return NameAddr(uri=SipUri(user=self.config.user, host=host, port=port, params=params))

    def common_headers(self) -> list[tuple[str, str]]:
        h = [("User-Agent", self.config.user_agent), ("Allow", ", ".join(self.config.allow))]
        if self.config.supported:
            h.append(("Supported", ", ".join(self.config.supported)))
        return h

    def digest_client(self, user: str | None = None) -> DigestClient:
        """Digest state for one usage sent as ``user`` (picks that line's credentials)."""
        return DigestClient(self.config.credentials, user=user)

    def start_client(self, request: Request, dest: Address, transport: str, now: float,
                     on_response: Callable[[ClientTransaction, int, Any, float], None],
                     on_timeout: Callable[[ClientTransaction, float], None]) -> ClientTransaction:
        on_response, on_timeout = self._watch_target(dest, transport, on_response, on_timeout)
        try:
            return self.layer.send_request(request, dest, transport, now,
                                           on_response=on_response, on_timeout=on_timeout)
        except TableFull as exc:
            raise EndpointError(f"transaction table full ({exc})") from exc

    def abandon_client(self, tx: ClientTransaction) -> None:
        self.layer.abandon(tx)

    def send_response(self, tx: ServerTransaction, response: Response, now: float) -> None:
        self.layer.send_response(tx, response, now)

    def send_direct(self, message: Request | Response, dest: Address, transport: str) -> None:
        self._out.append(Outgoing(data=bytes(message), dest=dest, transport=transport))

    def send_direct_bytes(self, data: bytes, dest: Address, transport: str) -> None:
        self._out.append(Outgoing(data=data, dest=dest, transport=transport))

    def emit(self, event: Event) -> None:
        if len(self._events) >= self.config.max_events:
            self._events.popleft()
            self._count("events_dropped")
        self._events.append(event)

    def bind_dialog(self, dialog: Dialog, session: InviteSession) -> None:
        self._dialogs[dialog.id] = session

    def unbind_dialog(self, dialog: Dialog) -> None:
        if self._dialogs.get(dialog.id) is not None:
            del self._dialogs[dialog.id]

    def _count(self, name: str) -> None:
        self.stats.extra[name] = self.stats.extra.get(name, 0) + 1

    # ================================================= shell verbs
    def receive_datagram(self, data: bytes, source: Address, transport: str, now: float) -> None:
        """Feed one datagram (or one framed stream message) received from ``source``."""
        self.stats.received += 1
        if not data.strip(b"\r\n"):
            return  # CRLF keep-alive (RFC 5626 §4.4.1)
        try:
            msg = parse_message(data, stream=is_reliable(transport))
        except SipParseError as exc:
            self._answer_unparseable(exc, source, transport)
            return
        try:
            if isinstance(msg, Request):
                self._on_request(msg, source, transport, now)
            else:
                if msg.cseq.method == "REGISTER":
                    self.trust.add(source[0])  # the registrar's name, resolved
                self._on_response(msg, now)
        except SipParseError as exc:
            log.info("dropping message from %s: %s", source, exc.reason)
            self.stats.dropped_unparseable += 1
        except Exception:  # noqa: BLE001 - the loop must survive our own bugs too
            log.exception("internal error on a message from %s", source)
            self._count("internal_errors")
        self._reap(now)

    def _answer_unparseable(self, exc: SipParseError, source: Address, transport: str) -> None:
        try:
            resp = answer_parse_error(exc)
            if resp is not None:
                # An unparseable request's Via was never stamped with received/rport
                # and cannot be trusted: answer the address it came from, never a
                # third party named in the garbage (no reflection off-host).
                dest = source
        except (SipParseError, ValueError):
            resp = None
        if resp is None:
            log.info("dropping unparseable datagram from %s: %s", source, exc.reason)
            self.stats.dropped_unparseable += 1
            return
        self.stats.answered_400 += 1
        self.send_direct(resp, dest, transport)

    def datagrams_to_send(self) -> list[Outgoing]:
        """Everything queued for the wire since the last call, in order."""
        out, self._out[:] = list(self._out), []
        return out

    def next_event(self) -> Event | None:
        """The oldest unread event, or None."""
        return self._events.popleft() if self._events else None

    def pending_requests(self) -> int:
        """How many requests we sent still wait for a final response.

        Why: at shutdown the shell waits (bounded) for this to reach 0 so the
        un-REGISTER and BYEs get their answers; the transaction table stays private.
        """
        return self.layer.pending_client_count()

    def get_timer(self) -> float | None:
        """The earliest absolute deadline of any timer, or None."""
        times = [self.layer.get_timer()]
        times += [s.get_timer() for s in self._live.values()]
        times += [r.get_timer() for r in self.registrations.values()]
        times.append(self._ood.get_timer())
        times.append(next(iter(self._reap_queue.values()), None))
        valid = [t for t in times if t is not None]
        return min(valid) if valid else None

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at ``now`` (calling early or late is harmless)."""
        try:
            self.layer.handle_timer(now)
            for s in list(self._live.values()):
                t = s.get_timer()
                if t is not None and t <= now:
                    s.handle_timer(now)
            for r in list(self.registrations.values()):
                t = r.get_timer()
                if t is not None and t <= now:
                    r.handle_timer(now)
            t = self._ood.get_timer()
            if t is not None and t <= now:
                self._ood.handle_timer(now)
        except Exception:  # noqa: BLE001
            log.exception("internal error in timers")
            self._count("internal_errors")
        self._reap(now)

    def _reap(self, now: float) -> None:
        for sid, s in list(self._live.items()):
            if s.finished:
                del self._live[sid]
                if s.lingers:
                    self._reap_queue[sid] = now + self.timers.timer_b
                else:
                    self._forget(self.sessions.pop(sid))
        while self._reap_queue:
            sid, when = next(iter(self._reap_queue.items()))
            if when > now:
                break
            del self._reap_queue[sid]
            self._forget(self.sessions.pop(sid))
        for rid, r in list(self.registrations.items()):
            if r.finished:
                del self.registrations[rid]

    def _forget(self, s: InviteSession) -> None:
        s.release()
        if self._by_call_id.get(s.call_id) is s:
            del self._by_call_id[s.call_id]

    # ================================================= commands
    def _touch(self, session: InviteSession) -> None:
        """A finished session got input again: read its timers until it is finished again."""
        if session.id not in self._live and session.id in self.sessions:
            self._live[session.id] = session
            self._reap_queue.pop(session.id, None)

    def _local_aor(self, from_: str | None) -> NameAddr:
        if from_:
            try:
                return NameAddr(uri=parse_uri(from_), display_name=self.config.display_name)
            except SipParseError as exc:
                raise EndpointError(f"bad From URI {from_!r}: {exc.reason}") from exc
        port: int | None = None
        if self.config.domain:
            try:
                host, port = split_hostport(self.config.domain)  # "example.com" or "10.0.0.1:5070"
            except SipParseError as exc:
                raise EndpointError(f"bad domain {self.config.domain!r}") from exc
        else:
            host = self.config.local_address[0]
        return NameAddr(uri=SipUri(user=self.config.user, host=host, port=port),
                        display_name=self.config.display_name)

    def _route(self, uri: SipUri) -> tuple[Address, str]:
        if self.config.outbound_proxy is not None:
            return self.config.outbound_proxy, self.config.transport
        dest, transport = uri_destination(uri)
        if uri.transport is None and uri.scheme != "sips":
            transport = self.config.transport
            if transport == "tls" and uri.port is None:
                dest = (dest[0], 5061)
        return dest, transport

    @staticmethod
    def _parse_target(target: str) -> SipUri:
        try:
            uri = parse_uri(target)
        except SipParseError as exc:
            raise EndpointError(f"bad target URI {target!r}: {exc.reason}") from exc
        if not uri.is_sip:
            raise EndpointError(f"not a SIP URI: {target!r}")
        return uri

    def register(
        self, registrar: str, aor: str, *, now: float, expires: int = 3600,
        contact_params: str = "",
    ) -> str:
        """Start registering ``aor`` (a SIP URI) at ``registrar`` (a SIP URI); returns its id.

        The core refreshes before expiry, retries failures with capped
        exponential back-off and answers digest challenges with the configured
        credentials. Emits ``Registered`` / ``RegistrationFailed``.
        """
        if not 0 < expires <= 0xFFFFFFFF:
            raise EndpointError(f"expires must be 1..2**32-1, not {expires} (use unregister)")
        reg_uri = self._parse_target(registrar)
        aor_addr = NameAddr(uri=self._parse_target(aor), display_name=self.config.display_name)
        dest, transport = self._route(reg_uri)
        rid = self._next("reg")
        reg = Registration(self, rid, registrar=reg_uri, aor=aor_addr, expires=expires,
                           dest=dest, transport=transport,
                           call_id=self.ids.call_id(self.config.local_address[0]),
                           retry_base=self.config.register_retry_base,
                           retry_max=self.config.register_retry_max)
        self.registrations[rid] = reg
        reg.start(now)
        return rid

    def unregister(self, registration: str | None = None, *, now: float) -> None:
        """Send REGISTER with Expires: 0 for one registration (or all); emits ``Unregistered``."""
        if registration is not None and registration not in self.registrations:
            raise EndpointError(f"unknown registration {registration!r}")
        for rid, reg in list(self.registrations.items()):
            if registration is None or rid == registration:
                reg.unregister(now)
        self._reap(now)

    def invite(
        self, target: str, sdp_offer: bytes | None, *, now: float, from_: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> str:
        """Call ``target`` (a SIP URI); returns the session id used by every later event/command."""
        uri = self._parse_target(target)
        frm = self._local_aor(from_)
        dest, transport = self._route(uri)
        sid = self._next("s")
        session = InviteSession(self, sid, "uac", transport)
        call_id = self.ids.call_id(self.config.local_address[0])
        self.sessions[sid] = session
        self._live[sid] = session
        self._by_call_id[call_id] = session
        try:
            session.start_uac(target=uri, from_=frm, sdp=sdp_offer, headers=headers,
                              call_id=call_id, dest=dest, now=now)
        except EndpointError:
            del self.sessions[sid]
            del self._live[sid]
            del self._by_call_id[call_id]
            raise
        return sid

    def send_request(
        self, method: str, target: str, *, now: float, body: bytes = b"",
        content_type: str | None = None, headers: tuple[tuple[str, str], ...] = (),
        dialog: tuple[str, str, str | None] | None = None,
    ) -> str:
        """Send an out-of-dialog non-INVITE request (OPTIONS, MESSAGE, SUBSCRIBE ...); returns
        a request id. ``dialog`` (Call-ID, our tag, their tag) refreshes a subscription."""
        if method in ("INVITE", "ACK", "CANCEL", "BYE", "REGISTER"):
            raise EndpointError(f"use the dedicated command for {method}")
        uri = self._parse_target(target)
        dest, transport = self._route(uri)
        return self._ood.send(method, uri, self._local_aor(None), dest, transport, now,
                              body=body, content_type=content_type, headers=headers,
                              dialog=dialog)

    def respond(
        self, request_id: str, status: int, *, now: float, reason: str | None = None,
        body: bytes = b"", content_type: str | None = None,
        headers: tuple[tuple[str, str], ...] = (), to_tag: str | None = None,
    ) -> None:
        """Answer an ``InDialogRequest`` / ``OutOfDialogRequest`` by its request id
        (``to_tag``: the dialog a 2xx to a SUBSCRIBE makes, ``OutsideDialog.respond``)."""
        if not 100 <= status <= 699:
            raise EndpointError(f"bad status {status}")
        if self._ood.respond(request_id, status, now, reason=reason, body=body,
                             content_type=content_type, headers=headers, to_tag=to_tag):
            return
        for s in self._live.values():
            if s.requests.owns(request_id):
                s.requests.respond(request_id, status, now, reason=reason, body=body,
                                   content_type=content_type, headers=headers)
                self._reap(now)
                return
        raise EndpointError(f"unknown request {request_id!r}")

    def shutdown(self, *, now: float) -> None:
        """Hang up every call and un-REGISTER everything (systemd stop path)."""
        for s in list(self._live.values()):
            if not s.ended:
                try:
                    s.hangup(now)
                except SessionError as exc:
                    log.info("shutdown: %s", exc)
        self.unregister(now=now)
