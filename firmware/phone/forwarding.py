"""Forwarding and redirection decisions (seed B-9..B-11, B-12..B-14; RFC 3261 §8.1.3.4, §21).

Why pure functions: what the phone does with a new INVITE (ring, ring as a
call waiting, forward with 302, refuse with 480/486) and what a caller does
after a failure (follow a 3xx, try the next location, stop) are policies the
7960 documents; tests check them as tables, without any SIP.

Callee side (local forwarding, like the 7960's ``cfwd_*`` keys): forward-all
answers ``302 Moved Temporarily`` with the ``cfwd_url`` Contact; busy forwards
to ``cfwd_busy_url`` (else 486); no answer forwards to ``cfwd_noanswer_url``
after ``cfwd_noanswer_timeout``.

Caller side (seed B-14): a 3xx gives new locations (q order, B-10's 300);
a 5xx tries the next location; a 6xx stops the search; a 4xx stops, except
busy/unavailable/ring-timeout at one of several locations (B-10, B-11).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from firmware.phone.settings import MAX_CONTACTS, MAX_REDIRECTS

__all__ = [
    "Forward",
    "IncomingDecision",
    "Redirector",
    "Refuse",
    "Ring",
    "decide_incoming",
    "order_by_q",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ring:
    """Alert the user. ``waiting``: another call is live, so beep in the earpiece
    instead of ringing (B-6). ``forward_at``: forward-on-no-answer deadline."""

    waiting: bool
    forward_at: float | None = None
    forward_to: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Forward:
    """Answer ``302 Moved Temporarily`` with ``Contact: <target>``."""

    target: str
    why: Literal["all", "busy", "noanswer"]
    status: int = 302


@dataclass(frozen=True, slots=True, kw_only=True)
class Refuse:
    """Answer a final failure (486 busy, 480/486 do-not-disturb)."""

    status: int
    reason: str


IncomingDecision = Ring | Forward | Refuse


def decide_incoming(
    *,
    now: float,
    cfwd_all_to: str | None,
    dnd: bool,
    dnd_response: int,
    line_busy: bool,
    line_full: bool,
    call_waiting: bool,
    cfwd_busy_url: str | None,
    cfwd_noanswer_url: str | None,
    cfwd_noanswer_timeout: float,
) -> IncomingDecision:
    """What to do with a new INVITE, in the 7960's order: forward-all, DND, busy, ring."""
    if cfwd_all_to:
        return Forward(target=cfwd_all_to, why="all")
    if dnd:
        phrase = "Busy Here" if dnd_response == 486 else "Temporarily Unavailable"
        return Refuse(status=dnd_response, reason=phrase)
    if line_full or (line_busy and not call_waiting):
        if cfwd_busy_url:
            return Forward(target=cfwd_busy_url, why="busy")
        return Refuse(status=486, reason="Busy Here")
    if cfwd_noanswer_url:
        return Ring(waiting=line_busy, forward_at=now + cfwd_noanswer_timeout,
                    forward_to=cfwd_noanswer_url)
    return Ring(waiting=line_busy)


def order_by_q(contacts: list[tuple[str, float | None]]) -> list[str]:
    """Contact URIs by decreasing q (absent q counts as 1.0); ties keep their order."""
    indexed = [(-(1.0 if q is None else q), i, uri) for i, (uri, q) in enumerate(contacts)]
    return [uri for _, _, uri in sorted(indexed)]


#: 4xx at one location that still let a caller try the next one (B-10 486, B-11 ring timeout).
_MOVE_ON_4XX = frozenset({408, 480, 486, 487})


@dataclass(kw_only=True)
class Redirector:
    """The locations a call tries, in order, with loops and fan-out bounded.

    ``visited`` keeps every URI already tried so a redirect loop ends;
    ``redirects`` counts 3xx followed (``MAX_REDIRECTS``).
    """

    pending: list[str] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)
    redirects: int = 0

    def start(self, target: str) -> None:
        self.visited.add(_key(target))

    def after_failure(self, status: int, contacts: tuple[str, ...] | list[str] = ()) -> str | None:
        """The next URI to INVITE after a final ``status``, or None to stop (show the reason)."""
        if 300 <= status < 400:
            if self.redirects >= MAX_REDIRECTS:
                return None
            self.redirects += 1
            fresh = [c for c in contacts if _key(c) not in self.visited][:MAX_CONTACTS]
            self.pending[:0] = fresh
            del self.pending[MAX_CONTACTS:]
        elif 600 <= status < 700:
            self.pending.clear()
            return None
        elif 400 <= status < 500 and status not in _MOVE_ON_4XX:
            return None
        while self.pending:
            nxt = self.pending.pop(0)
            if _key(nxt) not in self.visited:
                self.visited.add(_key(nxt))
                return nxt
        return None


def _key(uri: str) -> str:
    return uri.strip().strip("<>").lower()
