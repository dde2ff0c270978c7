"""RFC 3261 §12 dialogs: identity, CSeq, route set, remote target, in-dialog requests.

Why apart from the INVITE usage: the dialog is the state every usage shares
(an INVITE session, a REFER subscription ...): Call-ID, tags, the two CSeq
spaces, the route set and the remote target. ``create_request`` is the only
place that decides loose vs. strict routing (§12.2.1.1, §16.12.1.1).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field

from firmware.sip.build import uri_destination
from firmware.sip.events import Address
from firmware.sip.message import Headers, NameAddr, Request, Response, SipUri, Via

__all__ = ["Dialog", "DialogState", "DialogId"]

log = logging.getLogger(__name__)

#: (Call-ID, local tag, remote tag)
DialogId = tuple[str, str, str]

MAX_CSEQ = 0xFFFFFFFF


class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


def _strip_tag(addr: NameAddr) -> NameAddr:
    return NameAddr(
        uri=addr.uri,
        display_name=addr.display_name,
        params=tuple((k, v) for k, v in addr.params if k.lower() != "tag"),
    )


@dataclass(kw_only=True)
class Dialog:
    """One dialog (§12.1). ``local_seq`` is the last CSeq we used."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: NameAddr
    remote_uri: NameAddr
    remote_target: SipUri
    route_set: list[NameAddr] = field(default_factory=list)
    local_seq: int = 0
    remote_seq: int | None = None
    secure: bool = False
    state: DialogState = DialogState.EARLY

    @property
    def id(self) -> DialogId:
        return (self.call_id, self.local_tag, self.remote_tag)

    # -- creation -------------------------------------------------------
    @classmethod
    def from_uac(cls, request: Request, response: Response) -> Dialog:
        """The UAC's dialog from a 1xx-with-tag or 2xx to ``request`` (§12.1.2)."""
        contacts = response.contacts
        target = contacts[0].uri if contacts else request.uri
        tag = response.to.tag
        if tag is None:
            raise ValueError("response without To tag cannot create a dialog")
        return cls(
            call_id=request.call_id,
            local_tag=request.from_.tag or "",
            remote_tag=tag,
            local_uri=_strip_tag(request.from_),
            remote_uri=_strip_tag(response.to),
            remote_target=target,
            route_set=list(reversed(response.record_routes)),
            local_seq=request.cseq.seq,
            remote_seq=None,
            secure=request.uri.scheme == "sips",
            state=DialogState.CONFIRMED if 200 <= response.status < 300 else DialogState.EARLY,
        )

    @classmethod
    def from_uas(cls, request: Request, local_tag: str, *, local_seq: int,
                 confirmed: bool = False) -> Dialog:
        """The UAS's dialog from a request it answers with a tagged 1xx/2xx (§12.1.1)."""
        contacts = request.contacts
        target = contacts[0].uri if contacts else request.from_.uri
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_.tag or "",
            local_uri=_strip_tag(request.to),
            remote_uri=_strip_tag(request.from_),
            remote_target=target,
            route_set=list(request.record_routes),
            local_seq=local_seq,
            remote_seq=request.cseq.seq,
            secure=request.uri.scheme == "sips",
            state=DialogState.CONFIRMED if confirmed else DialogState.EARLY,
        )

    # -- updates --------------------------------------------------------
    def confirm_uac(self, response: Response) -> None:
        """A 2xx confirms an early dialog: recompute the route set, refresh the target (§12.1.2, §13.2.2.4)."""
        self.route_set = list(reversed(response.record_routes))
        self.target_refresh(response)
        self.state = DialogState.CONFIRMED

    def target_refresh(self, message: Request | Response) -> None:
        """Take a new remote target from the Contact of a target refresh (§12.2)."""
        contacts = message.contacts
        if contacts:
            self.remote_target = contacts[0].uri

    def check_remote_cseq(self, request: Request) -> bool:
        """§12.2.2: False when the CSeq is lower than (or equal to) the last one: answer 500.

        ACK and CANCEL carry the CSeq of the request they refer to and are not checked.
        """
        if request.method in ("ACK", "CANCEL"):
            return True
        seq = request.cseq.seq
        if self.remote_seq is not None and seq <= self.remote_seq:
            return False
        self.remote_seq = seq
        return True

    def next_cseq(self) -> int:
        self.local_seq = (self.local_seq + 1) % (MAX_CSEQ + 1) or 1
        return self.local_seq

    # -- building -------------------------------------------------------
    def request_uri_and_routes(self) -> tuple[SipUri, list[str]]:
        """Request-URI and Route values per §12.2.1.1 (loose or strict first hop)."""
        if not self.route_set:
            return self.remote_target, []
        first = self.route_set[0]
        if first.uri.has_param("lr"):
            return self.remote_target, [str(r) for r in self.route_set]
        # Strict router: it becomes the Request-URI; the remote target goes last.
        ruri = first.uri.without_params("method", "maddr", "ttl", "transport", "lr")
        routes = [str(r) for r in self.route_set[1:]] + [f"<{self.remote_target}>"]
        return ruri, routes

    def next_hop(self) -> tuple[Address, str]:
        """Address and transport of the first hop (§8.1.2): first Route, else the target."""
        if self.route_set:
            return uri_destination(self.route_set[0].uri)
        return uri_destination(self.remote_target)

    def create_request(
        self,
        method: str,
        *,
        via: Via,
        contact: NameAddr | None = None,
        cseq: int | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """A request inside this dialog (§12.2.1.1). ``cseq`` given for ACK/CANCEL."""
        ruri, routes = self.request_uri_and_routes()
        h = Headers()
        h.add("Via", str(via))
        h.add("Max-Forwards", "70")
        for r in routes:
            h.add("Route", r)
        h.add("From", str(self.local_uri.with_tag(self.local_tag)))
        h.add("To", str(self.remote_uri.with_tag(self.remote_tag)))
        h.add("Call-ID", self.call_id)
        seq = cseq if cseq is not None else self.next_cseq()
        h.add("CSeq", f"{seq} {method}")
        if contact is not None and method in ("INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"):
            h.add("Contact", str(contact))
        for name, value in headers:
            h.add(name, value)
        if body and content_type:
            h.add("Content-Type", content_type)
        return Request(method, ruri, h, body)
