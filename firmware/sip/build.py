"""Building UA messages: responses (RFC 3261 §8.2.6), ids (§8.1.1.4, §8.1.1.7, §19.3), routing (§18.2.2).

Why a module: the transaction layer, dialogs, sessions and registrations
all build responses the same way and all need fresh branches, tags and
Call-IDs. Randomness comes from an injected ``random.Random`` so a test can
seed it; in production it is ``random.SystemRandom`` (the OS CSPRNG), since a
guessable Call-ID, tag or branch lets an off-path attacker forge a BYE or a
CANCEL into a call (RFC 3261 §26.1.4: they must be cryptographically random).
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from firmware.sip.events import Address
from firmware.sip.message import Headers, Request, Response, SipUri, Via

__all__ = [
    "MAGIC_COOKIE",
    "REASONS",
    "IdSource",
    "make_response",
    "resubmit_with_credentials",
    "response_destination",
    "uri_destination",
    "is_reliable",
]

#: §8.1.1.7: branches of RFC 3261 compliant requests start with this.
MAGIC_COOKIE = "z9hG4bK"

REASONS: dict[int, str] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 300: "Multiple Choices",
    301: "Moved Permanently", 302: "Moved Temporarily", 305: "Use Proxy", 380: "Alternative Service",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 410: "Gone", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type", 416: "Unsupported URI Scheme",
    420: "Bad Extension", 421: "Extension Required", 423: "Interval Too Brief",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    491: "Request Pending", 493: "Undecipherable", 500: "Server Internal Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Server Time-out", 505: "Version Not Supported", 513: "Message Too Large",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


class IdSource:
    """Fresh branches, tags, Call-IDs (and media SSRC/sequence/timestamp) from one generator.

    Default: the OS CSPRNG. Tests inject a seeded ``random.Random``.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng: random.Random = rng if rng is not None else random.SystemRandom()

    def _hex(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def branch(self) -> str:
        return MAGIC_COOKIE + self._hex(64)

    def tag(self) -> str:
        return self._hex(48)

    def call_id(self, host: str) -> str:
        return f"{self._hex(96)}@{host}"

    def bits(self, bits: int) -> int:
        """A random integer of ``bits`` bits (RTP SSRC, initial sequence and timestamp)."""
        return self.rng.getrandbits(bits)

    def cseq(self) -> int:
        """An initial local CSeq (< 2**31, §8.1.1.5)."""
        return self.rng.randrange(1, 1 << 16)


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Response:
    """A response to ``request`` (§8.2.6.2): Via, From, To(+tag), Call-ID, CSeq copied.

    ``to_tag`` is added only when the request's To has none; 100 Trying
    copies Timestamp (§8.2.6.1).
    """
    h = Headers()
    for value in request.headers.lines("Via"):
        h.add("Via", value)
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.headers.get(name)
        if value is not None:
            if name == "To" and to_tag is not None:
                to = request.to
                if to.tag is None:
                    value = str(to.with_tag(to_tag))
            h.add(name, value)
    if status == 100:
        ts = request.headers.get("Timestamp")
        if ts is not None:
            h.add("Timestamp", ts)
    for name, value in headers:
        h.add(name, value)
    if body and content_type:
        h.set("Content-Type", content_type)
    return Response(status, reason if reason is not None else REASONS.get(status, ""), h, body)


def resubmit_with_credentials(
    old: Request, *, via: str, cseq: int, credentials: Iterable[tuple[str, str]]
) -> Request:
    """§22.2: ``old`` sent again after a 401/407, as a new transaction.

    Why one place: in-dialog and out-of-dialog retries must both drop the old
    credentials, take a fresh top Via (new branch) and the next CSeq.
    """
    h = old.headers.copy()
    h.remove("Authorization")
    h.remove("Proxy-Authorization")
    h.pop_first("Via")
    h.add("Via", via, first=True)
    h.set("CSeq", f"{cseq} {old.method}")
    for name, value in credentials:
        h.add(name, value)
    return Request(old.method, old.uri, h, old.body)


def is_reliable(transport: str) -> bool:
    return transport.lower() in ("tcp", "tls", "ws", "wss", "sctp")


def response_destination(via: Via, source: Address, transport: str) -> Address:
    """Where a response goes (§18.2.2, RFC 3581 §4).

    Reliable transports answer on the connection the request came from (the
    shell keys connections by peer address). Datagrams go to ``maddr``, else
    to ``received``:``rport`` (or the sent-by port), else to sent-by.
    """
    if is_reliable(transport):
        return source
    default_port = 5060
    if via.maddr:
        return via.maddr, via.port or default_port
    rport = via.rport
    if via.received:
        return via.received, rport or via.port or default_port
    if rport:
        return via.host, rport
    return via.host, via.port or default_port


def uri_destination(uri: SipUri) -> tuple[Address, str]:
    """Next-hop address and transport for a URI without DNS (§8.1.2, RFC 3263 simplified).

    ``maddr`` wins over host; the transport comes from ``;transport=``, and
    a sips: URI is always TLS (RFC 5630 §3.1.3: its ``transport=tcp`` means
    TLS over TCP); the port defaults to 5061 for TLS, else 5060.
    """
    transport = (uri.transport or "udp").lower()
    if uri.scheme == "sips" and transport in ("udp", "tcp"):
        transport = "tls"
    host = uri.param("maddr") or uri.host
    port = uri.port or (5061 if transport == "tls" else 5060)
    return (host, port), transport
