"""A line key and the calls it carries (7960: two calls per line).

Why two: the 7960 line holds the call you talk on plus one more, either a
call waiting (seed B-6) or a consultation call (B-5, B-8). A third INVITE is
busy (486, or forwarded on busy, B-10). The line also remembers which call
has the focus: the one the softkeys and the handset act on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from firmware.phone.call import Call, CallState
from firmware.phone.settings import LineSettings

#: Calls a line carries at once: the talking call plus a waiting/consultation one.
MAX_CALLS_PER_LINE = 2


def registration_error(outcome: str | None) -> str | None:
    """A failed REGISTER's outcome ("403 Forbidden", "408 Request Timeout") in the
    words the idle screen and ``lines[].error`` show; None when there is no failure."""
    if not outcome or outcome == "registered":
        return None
    code = outcome.split(" ", 1)[0]
    if code == "408":
        return "No answer from proxy"
    if code == "503" and "(" not in outcome:
        return "Proxy unavailable (503)"
    return f"Registration failed: {outcome}"


@dataclass(kw_only=True, eq=False)
class Line:
    """Registration status and live calls of one line (index from 1, like line1_name)."""

    index: int
    settings: LineSettings
    registered: bool = False
    registration_reason: str | None = None  # the last failure, e.g. "403 Forbidden"

    @property
    def registration_error(self) -> str | None:
        return None if self.registered else registration_error(self.registration_reason)
    calls: list[Call] = field(default_factory=list)
    focus_id: str | None = None

    def __iter__(self) -> Iterator[Call]:
        return iter(self.calls)

    @property
    def live(self) -> list[Call]:
        return [c for c in self.calls if not c.ended]

    @property
    def full(self) -> bool:
        return len(self.live) >= MAX_CALLS_PER_LINE

    @property
    def busy(self) -> bool:
        """In use for a new incoming call: anything live here that is not ringing itself."""
        return any(c.state is not CallState.INCOMING for c in self.live) or self.full

    def add(self, call: Call) -> None:
        if self.full:
            raise ValueError(f"line {self.index} already carries {MAX_CALLS_PER_LINE} calls")
        self.calls.append(call)
        if self.focus_id is None or self.focused is None or self.focused.ended:
            self.focus_id = call.id

    def remove(self, call: Call) -> None:
        if call in self.calls:
            self.calls.remove(call)
        if self.focus_id == call.id:
            rest = self.live
            self.focus_id = rest[0].id if rest else (self.calls[-1].id if self.calls else None)

    @property
    def focused(self) -> Call | None:
        for c in self.calls:
            if c.id == self.focus_id:
                return c
        return None

    def focus(self, call: Call) -> None:
        if call not in self.calls:
            raise ValueError(f"call {call.id} is not on line {self.index}")
        self.focus_id = call.id

    def other(self, call: Call) -> Call | None:
        """The other live call on this line (waiting, held or consultation), if any."""
        return next((c for c in self.live if c is not call), None)
