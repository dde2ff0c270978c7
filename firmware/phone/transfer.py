"""Call transfer helpers: REFER (RFC 3515), Replaces (RFC 3891), BYE/Also (seed B-3, B-7, B-8).

Why here: the 7960 of the seed transfers with ``BYE`` + ``Also:`` (an RFC 2543
draft header); later firmware sends ``REFER`` and follows the ``NOTIFY``
``message/sipfrag`` progress (RFC 3515 §2.4.5), falling back to BYE/Also when
the peer answers the REFER with 405/501. Attended transfer puts the
consultation dialog in ``Refer-To`` as an escaped ``Replaces`` header
(RFC 3891 §3, RFC 3261 §19.1.1 URI headers).

Tags in ``Replaces``: the header names the dialog as the *receiver* sees it,
so ``to-tag`` is the receiver's local tag and ``from-tag`` its remote tag
(RFC 3891 §3). The transferor, whose dialog with the target is the other
side of the same dialog, writes its remote tag as ``to-tag``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

__all__ = [
    "FALLBACK_TO_ALSO",
    "Replaces",
    "TransferPhase",
    "TransferPlan",
    "also_header",
    "build_refer_to",
    "notify_headers",
    "parse_name_addr_uri",
    "parse_refer_to",
    "parse_sipfrag",
    "sipfrag",
]

#: Statuses to a REFER after which the 7960's later firmware retries with BYE/Also.
FALLBACK_TO_ALSO = frozenset({405, 501})
SIPFRAG_TYPE = "message/sipfrag;version=2.0"
_MAX_HEADER = 1024
_SIPFRAG = re.compile(rb"^\s*SIP/2\.0\s+([1-6]\d\d)(?:\s+([^\r\n]*))?")


@dataclass(frozen=True, slots=True, kw_only=True)
class Replaces:
    """A dialog id as in the ``Replaces`` header: ``call-id;to-tag=..;from-tag=..``."""

    call_id: str
    to_tag: str
    from_tag: str
    early_only: bool = False

    def __str__(self) -> str:
        text = f"{self.call_id};to-tag={self.to_tag};from-tag={self.from_tag}"
        return text + (";early-only" if self.early_only else "")

    @classmethod
    def parse(cls, value: str) -> Replaces:
        """Parse a ``Replaces`` header value; raises ValueError when a part is missing."""
        if len(value) > _MAX_HEADER:
            raise ValueError("Replaces header too long")
        parts = [p.strip() for p in value.split(";")]
        call_id, params = parts[0], parts[1:]
        to_tag = from_tag = None
        early = False
        for p in params:
            name, _, val = p.partition("=")
            name = name.strip().lower()
            if name == "to-tag":
                to_tag = val.strip()
            elif name == "from-tag":
                from_tag = val.strip()
            elif name == "early-only":
                early = True
        if not call_id or to_tag is None or from_tag is None:
            raise ValueError("Replaces needs call-id, to-tag and from-tag")
        return cls(call_id=call_id, to_tag=to_tag, from_tag=from_tag, early_only=early)


def build_refer_to(target: str, replaces: Replaces | None = None) -> str:
    """The ``Refer-To`` value: ``<target>`` or ``<target?Replaces=escaped>`` (RFC 3891 §3)."""
    uri = target.strip().strip("<>")
    if replaces is not None:
        sep = "&" if "?" in uri else "?"
        uri = f"{uri}{sep}Replaces={quote(str(replaces), safe='')}"
    return f"<{uri}>"


def parse_name_addr_uri(value: str) -> str:
    """The URI of a name-addr or addr-spec (``"Bob" <sip:b@h>;p=1`` -> ``sip:b@h``)."""
    value = value.strip()
    if "<" in value and ">" in value.split("<", 1)[1]:
        return value.split("<", 1)[1].split(">", 1)[0].strip()
    return value.split(";", 1)[0].strip()


def parse_refer_to(value: str) -> tuple[str, Replaces | None]:
    """Split a ``Refer-To`` into the URI to INVITE and its embedded ``Replaces``.

    Raises ValueError for an empty or oversized value; an unparsable embedded
    Replaces is dropped (the referral still works as a blind transfer).
    """
    if not value or len(value) > _MAX_HEADER:
        raise ValueError("bad Refer-To")
    uri = parse_name_addr_uri(value)
    if not uri:
        raise ValueError("bad Refer-To")
    base, _, headers = uri.partition("?")
    replaces = None
    for h in headers.split("&") if headers else ():
        name, _, val = h.partition("=")
        if name.strip().lower() == "replaces":
            try:
                replaces = Replaces.parse(unquote(val))
            except ValueError:
                replaces = None
    return base, replaces


def also_header(target: str) -> str:
    """The value of the seed's ``Also:`` header (``<sip:...>``)."""
    return f"<{target.strip().strip('<>')}>"


def sipfrag(status: int, reason: str) -> bytes:
    """A ``message/sipfrag`` body with just the status line (RFC 3515 §2.4.5)."""
    return f"SIP/2.0 {status} {reason}\r\n".encode()


def parse_sipfrag(body: bytes) -> tuple[int, str] | None:
    """The status line of a sipfrag NOTIFY body, or None when it is not one."""
    m = _SIPFRAG.match(body[:512])
    if m is None:
        return None
    return int(m.group(1)), (m.group(2) or b"").decode("utf-8", "replace").strip()


def notify_headers(status: int, *, expires: int = 60) -> list[tuple[str, str]]:
    """Headers of a refer NOTIFY: the subscription ends with the first final status."""
    state = (f"active;expires={expires}" if status < 200
             else "terminated;reason=noresource")
    return [("Event", "refer"), ("Subscription-State", state), ("Content-Type", SIPFRAG_TYPE)]


class TransferPhase(enum.StrEnum):
    WAITING_TARGET = "waiting-target"  # Transfer pressed, consultation call being dialled
    ENDING_CONSULTATION = "ending-consultation"  # BYE/Also waits for the target's 200 to BYE
    REFER_SENT = "refer-sent"
    ACCEPTED = "accepted"              # 202 received, following NOTIFYs
    DONE = "done"
    FAILED = "failed"


@dataclass(kw_only=True)
class TransferPlan:
    """The transferor's side of one transfer, kept on the call being transferred."""

    method: str                 # "refer" or "also"
    target: str = ""
    consultation_id: str | None = None
    replaces: Replaces | None = None
    phase: TransferPhase = TransferPhase.WAITING_TARGET
    refer_request: str | None = None
    last_status: int | None = None

    def on_refer_answer(self, status: int) -> str:
        """What a final answer to our REFER means: 'wait', 'fallback' or 'failed'."""
        self.last_status = status
        if 200 <= status < 300:
            self.phase = TransferPhase.ACCEPTED
            return "wait"
        if status in FALLBACK_TO_ALSO:
            return "fallback"
        self.phase = TransferPhase.FAILED
        return "failed"

    def on_notify(self, body: bytes) -> str:
        """A NOTIFY's sipfrag: 'progress', 'done' (2xx: hang up) or 'failed'."""
        frag = parse_sipfrag(body)
        if frag is None:
            return "progress"
        status = frag[0]
        self.last_status = status
        if status < 200:
            return "progress"
        if status < 300:
            self.phase = TransferPhase.DONE
            return "done"
        self.phase = TransferPhase.FAILED
        return "failed"
