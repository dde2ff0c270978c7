"""Digits to a call target: the dial-plan seam and SIP URI building.

Why a protocol: the Cisco ``dialplan.xml`` engine (TEMPLATE MATCH / Timeout /
Rewrite) lives in provisioning; call control only needs "is this number
complete, and if not, how long to wait for the next digit". ``SimpleDialPlan``
is the 7960's behaviour without a dial plan: ``#`` sends, and the
inter-digit timeout sends what was dialled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

#: Longest number or URI the phone accepts from the keypad or the API.
MAX_TARGET = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class DialMatch:
    """``complete`` with the (possibly rewritten) target, ``partial`` with the
    seconds to wait for another digit (None: wait forever), or ``invalid``."""

    kind: Literal["complete", "partial", "invalid"]
    target: str | None = None
    timeout: float | None = None


class DialPlan(Protocol):
    def match(self, digits: str) -> DialMatch: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SimpleDialPlan:
    """``#`` ends the number; otherwise send after ``interdigit_timeout`` seconds."""

    interdigit_timeout: float = 5.0

    def match(self, digits: str) -> DialMatch:
        if digits.endswith("#") and len(digits) > 1:
            return DialMatch(kind="complete", target=digits[:-1])
        if digits == "#":
            return DialMatch(kind="invalid")
        return DialMatch(kind="partial", timeout=self.interdigit_timeout if digits else None)


def target_uri(target: str, domain: str) -> str:
    """``5550002`` -> ``sip:5550002@domain``; a SIP URI (or user@host) is kept.

    Raises ValueError for an empty or oversized target.
    """
    text = target.strip().strip("<>")
    if not text or len(text) > MAX_TARGET or any(c in text for c in " \r\n\t<>\""):
        raise ValueError("not a number or SIP URI")
    low = text.lower()
    if low.startswith(("sip:", "sips:", "tel:")):
        return text
    if "@" in text:
        return f"sip:{text}"
    return f"sip:{text}@{domain}"
