"""State shared by the ``Phone`` mixins and the small lookups they all use.

Why: ``Phone`` is assembled from one mixin per concern (``keys``, ``callops``,
``transferops``, ``sipevents``); declaring the shared attributes and the
cross-mixin entry points once here keeps each mixin honest about what it
uses, instead of reaching for attributes that only exist on the final class.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from firmware.phone.actions import Action
from firmware.phone.call import Call
from firmware.phone.history import CallHistory
from firmware.phone.line import Line
from firmware.phone.ports import PortPool
from firmware.phone.settings import PhoneSettings


class PhoneBase:
    """Attributes every mixin of ``Phone`` may read; ``Phone.__init__`` sets them."""

    settings: PhoneSettings
    endpoint: Any
    dial_plan: Any
    history: CallHistory
    wall_offset: float
    lines: list[Line]
    ports: PortPool
    dnd: bool
    cfwd_to: str | None
    handset_up: bool
    #: off hook without the handset: on the speaker, or on the headset when ``headset``
    speaker: bool
    headset: bool
    current_line: int
    notice: str | None
    errors: int
    _actions: deque[Action]
    _ids: itertools.count[int]
    _sdp_ids: itertools.count[int]
    _by_session: dict[str, Call]
    _requests: dict[str, tuple[str, str]]  # request id -> (call id, purpose)

    # -- lookups ----------------------------------------------------------
    def line(self, index: int | None = None) -> Line:
        """Line ``index`` (1-based), or the line in use."""
        return self.lines[(index or self.current_line) - 1]

    def _all_calls(self) -> list[Call]:
        return [c for line in self.lines for c in line.calls]

    def call_by_id(self, call_id: str) -> Call | None:
        return next((c for c in self._all_calls() if c.id == call_id), None)

    @property
    def active(self) -> bool:
        """The audio path is open (handset lifted or speaker on)."""
        return self.handset_up or self.speaker

    # -- outputs and ids --------------------------------------------------
    def emit(self, action: Action) -> None:
        self._actions.append(action)

    def new_id(self) -> int:
        return next(self._ids)

    def new_sdp_id(self) -> int:
        """An SDP o= session id (RFC 4566 §5.2), distinct per call."""
        return next(self._sdp_ids)

    # -- entry points one mixin offers another (defined by Phone's mixins) --
    def dial(self, target: str, now: float) -> Call:
        raise NotImplementedError

    def transfer(self, now: float) -> None:
        raise NotImplementedError

    def transfer_origin(self, call: Call) -> Call | None:
        raise NotImplementedError

    def confrn(self, now: float) -> None:
        raise NotImplementedError

    def cancel_transfer_of(self, consultation: Call) -> None:
        raise NotImplementedError

    def _refresh(self, now: float) -> None:
        raise NotImplementedError
