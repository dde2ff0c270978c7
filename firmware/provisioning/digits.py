"""Sans-IO digit collector: keypad keys in, "dial this" out, per the dial plan.

Call control feeds each key with ``press(key, now)``, arms one timer at
``get_timer()`` and calls ``handle_timer(now)`` when it fires, then drains
``next_event()``. No clock is read here (see docs/architecture.md).

Behaviour (Cisco 7960 dial plan, see ``dialplan.py``):

* a COMPLETE match dials after its template's Timeout (0 = at once);
* a PARTIAL match waits ``interdigit_timeout``; on expiry it dials the
  outranked complete match if there is one, else reports an incomplete number;
* no possible match reports an invalid number at once (the phone plays reorder);
* '#' ends dialling where a template has '>#', is an ordinary key where a
  template has a literal '#', and otherwise means "send now" if
  ``pound_sends`` (the handset's habit; ``dial_pound_sends`` in the config);
* ``send(now)`` is the Dial softkey: dial what is entered, as entered if no
  template completes it.
* without a dial plan every number is complete and dials after the inter-digit
  timeout (or '#', or Dial).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from firmware.provisioning.dialplan import (
    DIAL_KEYS,
    MAX_INPUT,
    DialPlan,
    MatchKind,
    MatchResult,
    Template,
    match,
    terminate,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DialNumber:
    """Dial this: ``number`` (rewritten) as a ``user`` ("phone"/"ip"/None) URI user part."""

    number: str
    dialled: str
    user: str | None
    template: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SecondaryDialTone:
    """The keys so far reached a ',' in the dial plan: play secondary dial tone."""

    dialled: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidNumber:
    """Nothing will match (or the number was left incomplete): play reorder."""

    dialled: str
    reason: str


DialEvent = DialNumber | SecondaryDialTone | InvalidNumber


class DigitCollector:
    """Collects one number. Create a new one (or ``reset``) per call attempt."""

    def __init__(
        self,
        plan: DialPlan | None = None,
        *,
        interdigit_timeout: float = 10.0,
        pound_sends: bool = True,
        max_digits: int = 32,
    ) -> None:
        self._plan = plan
        self._interdigit = interdigit_timeout
        self._pound_sends = pound_sends
        self._max = min(max_digits, MAX_INPUT)
        self._events: deque[DialEvent] = deque()
        self.reset()

    def reset(self) -> None:
        self._keys = ""
        self._deadline: float | None = None
        self._on_expiry: MatchResult | None = None
        self._done = False
        self._tone_at: str | None = None

    @property
    def dialled(self) -> str:
        return self._keys

    @property
    def done(self) -> bool:
        return self._done

    def _classify(self, keys: str) -> MatchResult:
        if self._plan is None:
            return MatchResult(kind=MatchKind.COMPLETE, timeout=self._interdigit, number=keys)
        return match(self._plan, keys)

    def press(self, key: str, now: float) -> None:
        """One keypad key ('0'-'9', '*', '#'). Keys after the number is done are ignored."""
        if self._done or key not in DIAL_KEYS:
            return
        if key == "#" and self._keys:
            if self._plan is not None and self._classify(self._keys).terminable:
                self._finish(terminate(self._plan, self._keys), as_entered=True)
                return
            pound_is_a_digit = (self._plan is not None and
                                self._classify(self._keys + "#").kind is not MatchKind.NONE)
            if self._pound_sends and not pound_is_a_digit:
                self.send(now)
                return
        if len(self._keys) >= self._max:
            self._invalid(f"more than {self._max} keys")
            return
        self._keys += key
        result = self._classify(self._keys)
        if result.kind is MatchKind.NONE:
            self._invalid("no dial plan template matches")
            return
        if result.secondary_tone and self._tone_at != self._keys:
            self._tone_at = self._keys
            self._events.append(SecondaryDialTone(dialled=self._keys))
        if result.kind is MatchKind.COMPLETE and result.timeout == 0:
            self._finish(result, as_entered=False)
            return
        wait = self._interdigit if result.timeout is None else result.timeout
        self._deadline = now + wait
        self._on_expiry = result

    def send(self, now: float) -> None:
        """Dial softkey: dial now. A complete (or outranked complete) match is used
        with its rewrite; otherwise the keys are dialled as entered."""
        if self._done:
            return
        if not self._keys:
            self._invalid("nothing dialled")
            return
        self._finish(self._classify(self._keys), as_entered=True)

    def cancel(self) -> None:
        """Abandon the number (on-hook): no event, no timer."""
        self._done = True
        self._deadline = None

    def get_timer(self) -> float | None:
        return self._deadline

    def handle_timer(self, now: float) -> None:
        if self._deadline is None or now < self._deadline or self._done:
            return
        result = self._on_expiry
        if result is None:
            return
        if result.kind is MatchKind.COMPLETE or result.template is not None:
            self._finish(result, as_entered=False)
        else:
            self._invalid("incomplete number")

    def next_event(self) -> DialEvent | None:
        return self._events.popleft() if self._events else None

    def _finish(self, result: MatchResult, *, as_entered: bool) -> None:
        tpl: Template | None = result.template
        if result.kind is MatchKind.NONE or (tpl is None and not as_entered
                                              and self._plan is not None):
            self._invalid("incomplete number")
            return
        number = result.number if (tpl is not None or self._plan is None) else self._keys
        self._events.append(DialNumber(
            number=number or self._keys, dialled=self._keys,
            user=tpl.user if tpl else None, template=tpl.match if tpl else None,
        ))
        self._done = True
        self._deadline = None

    def _invalid(self, reason: str) -> None:
        self._events.append(InvalidNumber(dialled=self._keys, reason=reason))
        self._done = True
        self._deadline = None
