"""Digits to a call target: the dial-plan seam and SIP URI building.

Why a protocol: the Cisco ``dialplan.xml`` engine (TEMPLATE MATCH / Timeout /
Rewrite) lives in provisioning; call control only needs "is this number
complete, and if not, how long to wait for the next digit". ``SimpleDialPlan``
is the 7960's behaviour without a dial plan: ``#`` sends, and the
inter-digit timeout sends what was dialled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

#: Longest number or URI the phone accepts from the keypad or the API.
MAX_TARGET = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class DialMatch:
    """What the keys dialled so far mean.

    ``complete``: dial ``target`` after ``timeout`` seconds (None or 0: now) unless
    another key comes. ``partial``: wait ``timeout`` seconds for another key
    (None: the phone's inter-digit timeout), then dial ``target``, or, when
    ``target`` is None, give up (reorder). ``invalid``: no number starts like this.
    """

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
        return DialMatch(kind="partial", target=digits or None,
                         timeout=self.interdigit_timeout if digits else None)


class CiscoDialPlan:
    """Adapts the provisioning ``dialplan.xml`` matcher to ``DialPlan``.

    ``match(keys)`` / ``terminate(keys)`` are the provisioning functions bound
    to a parsed plan; their results have ``kind`` (an Enum whose value is
    complete/partial/none), ``timeout``, ``template`` and ``number`` (the
    rewritten number). ``#`` ends dialling where a template's ``>#`` allows it
    (``terminate``); elsewhere, if no template takes ``#`` as a key, it sends
    what was dialled, as the 7960 does without a dial plan.
    """

    def __init__(self, match: Callable[[str], Any], terminate: Callable[[str], Any], *,
                 interdigit_timeout: float = 10.0) -> None:
        self._match, self._terminate = match, terminate
        self.interdigit_timeout = interdigit_timeout

    def match(self, digits: str) -> DialMatch:
        if digits.endswith("#") and len(digits) > 1:
            ended = self._terminate(digits[:-1])
            if _kind(ended) == "complete":
                return DialMatch(kind="complete", target=ended.number or digits[:-1])
            if _kind(self._match(digits)) == "none":
                return DialMatch(kind="complete", target=digits[:-1])
        result = self._match(digits)
        kind = _kind(result)
        if kind == "complete":
            return DialMatch(kind="complete", target=result.number or digits,
                             timeout=result.timeout or None)
        if kind == "partial":
            fallback = (result.number or digits) if result.template is not None else None
            return DialMatch(kind="partial", target=fallback, timeout=self.interdigit_timeout)
        return DialMatch(kind="invalid")


def _kind(result: Any) -> str:
    kind = getattr(result, "kind", None)
    return str(getattr(kind, "value", kind)).lower()


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
