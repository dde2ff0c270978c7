"""Automatic redial (RFC 5359 §2.17) wired into ``Phone``: both halves, one router.

Why a module of its own: the caller's half (``callback.py``) and the callee's
(``dialogstate.py``) share the phone's entry points (requests outside a call,
answers to our requests, timers); routing them here keeps those mixins free
of each other and ``Phone`` of either.
"""

from __future__ import annotations

from typing import Any

from firmware.phone.callback import CallbackOps
from firmware.phone.dialogstate import DialogStateOps


class AutoRedial(CallbackOps, DialogStateOps):
    """Routes dialog-event SUBSCRIBE/NOTIFY and their answers (mixed into ``Phone``)."""

    def _on_OutOfDialogRequest(self, event: Any, now: float) -> None:
        if self.is_dialog_subscribe(event):
            self.dialog_subscribe(event, now)
        elif self.is_callback_notify(event):
            self.callback_notify(event, now)
        else:
            super()._on_OutOfDialogRequest(event, now)  # type: ignore[misc]

    def _on_RequestAnswered(self, event: Any, now: float) -> None:
        entry = self._requests.get(event.request_id)
        purpose = entry[1] if entry is not None else None
        if purpose == "callback":
            del self._requests[event.request_id]
            self.callback_answered(event, now)
        elif purpose == "dialog-notify":
            del self._requests[event.request_id]
            self.dialog_notify_answered(event, now)
        else:
            super()._on_RequestAnswered(event, now)  # type: ignore[misc]

    def feature_deadlines(self) -> list[float]:
        return [*super().feature_deadlines(), *self.callback_deadlines(),  # type: ignore[misc]
                *self.watcher_deadlines()]

    def fire_feature_timers(self, now: float) -> None:
        super().fire_feature_timers(now)  # type: ignore[misc]
        self.fire_callback(now)
        self.expire_watchers(now)
