"""What a UAS answers to an unacceptable request, before any transaction logic (RFC 3261 §8.2).

Why a separate step: the parser is deliberately lazy (it checks only what
framing needs), so a request can parse and still be unusable: no Call-ID,
two different To values, a CSeq beyond 2^32-1, an unknown Require option.
``check_request`` forces the typed parse of every header a UA relies on and
walks §8.2.1-§8.2.3 in order, returning the ``Rejection`` to send, or
``None`` when the request may go on to the transaction layer. The order
follows RFC 4475's verdicts: 505 (version), 400 (syntax of the headers a UA
needs), 501 (unknown method: before the CSeq method check, §3.1.2.18), 400
(CSeq method mismatch), 405, 416, 420, 415, 406. Max-Forwards 0 is a proxy
matter (483); a UA processes the request (RFC 4475 §3.3.11).

``build_response`` makes a response from a request per §8.2.6: Via lines,
From, To (plus a tag), Call-ID and CSeq copied as written, so it works even
for a request whose other headers did not parse. ``check_response`` says
whether a received response is too broken to hand to a transaction.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from firmware.sip.build import REASONS
from firmware.sip.errors import SipParseError
from firmware.sip.fields import is_token, parse_name_addr
from firmware.sip.message import Request, Response

__all__ = [
    "UaPolicy",
    "DEFAULT_POLICY",
    "Rejection",
    "check_request",
    "check_response",
    "build_response",
    "response_for",
    "answer_parse_error",
    "reason_phrase",
    "KNOWN_METHODS",
]

log = logging.getLogger(__name__)

#: Methods defined by RFC 3261 and the extensions a phone meets; others get 501.
KNOWN_METHODS = frozenset(
    {
        "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "INFO", "PRACK", "UPDATE",
        "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH",
    }
)

_DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE", "REFER"})

#: The §21 phrases (one table, build.REASONS) plus 402, which only this lookup names.
_REASONS = {**REASONS, 402: "Payment Required"}


def reason_phrase(status: int) -> str:
    """The RFC 3261 §21 reason phrase, or a class-generic one."""
    return _REASONS.get(status) or _REASONS.get(status // 100 * 100, "Unknown")


@dataclass(frozen=True, kw_only=True)
class UaPolicy:
    """What this UA accepts. Defaults match ``EndpointConfig``'s Allow/Accept/Supported."""

    allow: tuple[str, ...] = (
        "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "REFER", "NOTIFY", "MESSAGE", "UPDATE",
        "SUBSCRIBE",  # RFC 4235 dialog state, for automatic redial (phone/dialogstate.py)
    )
    #: Body types understood (415 otherwise, §8.2.3); sipfrag for REFER's NOTIFY.
    accept: tuple[str, ...] = (
        "application/sdp", "message/sipfrag", "application/dtmf-relay", "application/dtmf",
        "application/simple-message-summary", "application/dialog-info+xml", "text/plain",
    )
    #: Option tags understood in Require (420 otherwise, §8.2.2.3).
    supported: tuple[str, ...] = ("replaces",)
    uri_schemes: tuple[str, ...] = ("sip", "sips")
    #: Methods whose answer carries SDP, so their Accept must allow it (406).
    sdp_answer_methods: tuple[str, ...] = ("INVITE", "UPDATE")


DEFAULT_POLICY = UaPolicy()


@dataclass(frozen=True, kw_only=True)
class Rejection:
    """The final response a UAS sends instead of processing the request.

    ``respond`` is False for ACK, which is never answered (§17.2.3): the caller
    drops it and counts it.
    """

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()
    respond: bool = True


def _reject(req: Request, status: int, reason: str | None = None, headers=()) -> Rejection:
    return Rejection(
        status=status,
        reason=reason or reason_phrase(status),
        headers=tuple(headers),
        respond=req.method != "ACK",
    )


_NEEDED = ("call_id", "cseq", "from_", "to", "max_forwards", "contacts", "record_routes", "content_type")


#: A quoted-pair (RFC 3261 §25.1) may escape any octet up to 0x7F, NUL included.
_QUOTED_PAIR = re.compile(r"\\[\x00-\x7f]")
#: What ``surrogateescape`` turns an octet that is not valid UTF-8 into.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def check_header_octets(headers: Iterable[tuple[str, str]]) -> None:
    """Raise SipParseError (400) for a raw NUL or invalid UTF-8 in a header value.

    Why: RFC 3261's grammar allows NUL only as a quoted-pair and header text
    only as UTF-8 (TEXT-UTF8char); a value that is neither cannot be shown on
    the screen or logged safely, so the request is refused rather than guessed.
    """
    for name, value in headers:
        if _UNDECODABLE.search(value):
            raise SipParseError(f"invalid UTF-8 in {name}")
        if "\x00" in value and "\x00" in _QUOTED_PAIR.sub("", value):
            raise SipParseError(f"NUL octet in {name}")


def _force_parse(req: Request) -> None:
    """Parse every header a UA core relies on; raises SipParseError."""
    check_header_octets(req.headers)
    if not req.vias:
        raise SipParseError("missing Via")
    branch = req.vias[0].branch
    if branch is not None and branch.lower() == "z9hg4bk":
        raise SipParseError("branch has the magic cookie and nothing else")
    for accessor in _NEEDED:
        getattr(req, accessor)
    # Name-addr URIs are built lazily; build them now so a bad one is a 400 here.
    for addr in (req.from_, req.to, *req.contacts, *req.record_routes):
        addr.uri  # noqa: B018
    if req.headers.count("Content-Type") > 1:
        raise SipParseError("more than one Content-Type")
    if req.uri.headers:
        raise SipParseError("headers in the Request-URI")


def check_request(req: Request, policy: UaPolicy = DEFAULT_POLICY) -> Rejection | None:
    """The response a UAS must give instead of processing ``req``, or None to go on."""
    if req.version != "SIP/2.0":
        return _reject(req, 505)
    try:
        _force_parse(req)
    except SipParseError as exc:
        return _reject(req, exc.status_hint if exc.status_hint != 505 else 400, exc.reason)
    allow = ("Allow", ", ".join(policy.allow))
    if req.method not in KNOWN_METHODS and req.method not in policy.allow:
        return _reject(req, 501, headers=[allow])
    if req.cseq.method != req.method:
        return _reject(req, 400, "CSeq method does not match the request method")
    if req.method not in policy.allow:
        return _reject(req, 405, headers=[allow])
    if req.uri.scheme not in policy.uri_schemes:
        return _reject(req, 416)
    if req.method not in ("ACK", "CANCEL"):
        unknown = [
            tag for tag in _tokens(req.headers.get_all("Require")) if tag not in policy.supported
        ]
        if unknown:
            return _reject(req, 420, headers=[("Unsupported", ", ".join(unknown))])
    if req.body or req.content_type is not None:
        ctype = req.content_type or "application/sdp"
        encodings = [e.lower() for e in _tokens(req.headers.get_all("Content-Encoding"))]
        if ctype not in policy.accept or any(e != "identity" for e in encodings):
            return _reject(
                req,
                415,
                headers=[("Accept", ", ".join(policy.accept)), ("Accept-Encoding", "identity")],
            )
    if req.method in policy.sdp_answer_methods and "Accept" in req.headers:
        if not _accepts(req.headers.get_all("Accept"), "application/sdp"):
            return _reject(req, 406, headers=[("Accept", "application/sdp")])
    return None


def _tokens(values: Iterable[str]) -> list[str]:
    return [v for v in values if v and is_token(v)]


def _accepts(values: list[str], media: str) -> bool:
    kind = media.split("/")[0]
    for value in values:
        if not value:
            continue
        wanted = value.partition(";")[0].strip(" \t").lower()
        if wanted in (media, f"{kind}/*", "*/*"):
            return True
    return False


def check_response(resp: Response) -> str | None:
    """Why a received response must be discarded (§18.1.2), or None if usable."""
    if resp.version != "SIP/2.0":
        return "unsupported SIP version"
    try:
        for accessor in ("top_via", "call_id", "cseq", "from_", "to", "content_length"):
            getattr(resp, accessor)
    except SipParseError as exc:
        return exc.reason
    return None


def build_response(
    request: Request,
    status: int,
    reason: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
    *,
    to_tag: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
) -> Response:
    """A response to ``request`` per §8.2.6: Via, From, To, Call-ID, CSeq copied as written.

    A To tag is added to every response but 100 when the request had none
    (``to_tag`` or a fresh random one); a 100 also copies Timestamp (§8.2.6.1);
    a 1xx/2xx to a dialog-creating request (no To tag yet) copies Record-Route
    (§12.1.1).
    """
    resp = Response(status, reason or reason_phrase(status))
    out = resp.headers
    src = request.headers
    copied = ["Via", "From", "To", "Call-ID", "CSeq"]
    if 100 < status < 300 and request.method in _DIALOG_CREATING and _out_of_dialog(request):
        copied.append("Record-Route")  # §12.1.1
    for name in copied:
        for value in src.lines(name):
            if name == "To" and status > 100:
                value = _with_tag(value, to_tag)
            out.add(name, value)
    if status == 100:
        for value in src.lines("Timestamp"):
            out.add("Timestamp", value)
    for name, value in extra_headers:
        out.add(name, value)
    if body:
        resp.body = bytes(body)
        if content_type:
            out.set("Content-Type", content_type)
    return resp


def _out_of_dialog(request: Request) -> bool:
    try:
        return request.to.tag is None
    except SipParseError:
        return False


def _with_tag(to_value: str, to_tag: str | None) -> str:
    try:
        if parse_name_addr(to_value).tag is not None:
            return to_value
    except SipParseError:
        pass
    return f"{to_value};tag={to_tag or secrets.token_hex(6)}"


def response_for(request: Request, rejection: Rejection, *, to_tag: str | None = None) -> Response:
    """The response carrying a ``Rejection`` (its reason phrase says what was wrong)."""
    extra = list(rejection.headers)
    return build_response(request, rejection.status, rejection.reason, extra, to_tag=to_tag)


def answer_parse_error(error: SipParseError, *, to_tag: str | None = None) -> Response | None:
    """A 4xx/5xx for a request that failed to parse, when one can be routed back.

    Needs the partially parsed request (start line and headers readable) with
    at least a Via, Call-ID, CSeq, From and To line; never answers an ACK or a
    response. Otherwise returns None: drop and count.
    """
    req = error.partial
    if not isinstance(req, Request) or req.method == "ACK":
        return None
    headers = req.headers
    if not all(name in headers for name in ("Via", "Call-ID", "CSeq", "From", "To")):
        return None
    status = error.status_hint if 400 <= error.status_hint < 600 else 400
    return build_response(req, status, error.reason, to_tag=to_tag)

