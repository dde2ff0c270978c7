"""The control API's view of a running ``App`` (implements ``firmware.surface.PhoneControl``).

Why inputs become HAL events: a request to lift the handset or press "5"
must do exactly what the person's hand does, so the API synthesises the same
``HookEvent``/``KeyEvent`` the keypad and hookswitch deliver, and a softkey is
pressed by its label in the softkey row the display shows right now (a key
that is not shown cannot be pressed: 409, as on the real panel). Call
control's own refusals (``PhoneError`` with a status) become the same 4xx.
Only those: an input that raised anything else, or that the phone survived by
catching and counting a bug of ours (``firmware.app.health``), raises here, so
the HTTP layer answers 500 and logs it instead of a 409 that hides the bug.
"""

from __future__ import annotations

import logging
from typing import Any

from firmware.app import health
from firmware.app.core import App
from firmware.phone.callops import PhoneError
from firmware.phone.line import registration_error
from firmware.surface import (
    CallInfo,
    ControlError,
    HistoryEntry,
    LineInfo,
    MockAudioReport,
    PhoneStatus,
)
from hal.base import HookEvent

log = logging.getLogger(__name__)


class PhoneBug(RuntimeError):
    """An input made the phone catch one of its own bugs (logged where it was caught)."""


class AppControl:
    """``PhoneControl`` over an ``App``; ``line_names`` label the lines in ``status``."""

    def __init__(self, app: App, line_names: dict[int, str] | None = None) -> None:
        self.app = app
        self.line_names = dict(line_names or {})

    # ------------------------------------------------------------ reading

    def status(self) -> PhoneStatus:
        app = self.app
        hook = app.hal.hook
        ringer = app.hal.ringer
        lines = tuple(
            LineInfo(line=n, name=self.line_names.get(n, str(n)), registered=app.registered.get(n, False),
                     error=None if app.registered.get(n) else registration_error(app.reg_outcome.get(n)))
            for n in sorted(set(self.line_names) | set(app.registered))
        )
        return PhoneStatus(
            hook="off" if hook is not None and hook.off_hook else "on",
            ringer=bool(ringer is not None and ringer.ringing),
            lines=lines,
            calls=tuple(self._calls()),
            display=tuple(app.screen.text_rows()),
            softkeys=tuple(app.screen.softkeys),
            **self._panel(),
        )

    def _panel(self) -> dict[str, Any]:
        """Mute, speaker, volume levels and message waiting from call control."""
        phone = self.app.phone
        volumes, mwi = getattr(phone, "volumes", None), getattr(phone, "mwi", None)
        out: dict[str, Any] = {
            "muted": bool(getattr(phone, "muted", False)),
            "speaker": getattr(phone, "route", "") == "speaker",
        }
        if volumes is not None:
            out["volume"] = volumes.to_json()
        if mwi is not None:
            out["mwi"] = mwi.to_json()
        callback = getattr(phone, "callback", None)
        out["callback"] = callback.to_json() if callback is not None else None
        return out

    def _calls(self) -> list[CallInfo]:
        out = []
        for v in self.app.phone.calls():
            out.append(
                CallInfo(
                    id=str(v.id), line=int(getattr(v, "line", 1)), direction=v.direction,
                    state=str(v.state), remote=v.remote, call_id=getattr(v, "call_id", "") or "",
                    reason=getattr(v, "reason", None), media=self._media(str(v.id)),
                    conference=bool(getattr(v, "conference", False)),
                    encrypted=bool(getattr(v, "encrypted", False)),
                )
            )
        return out

    def _media(self, call: str) -> dict[str, Any] | None:
        stats = self.app.call_stats(call)
        return stats.to_json() if stats is not None else None

    def screen_png(self, scale: int = 1) -> bytes:
        """The panel as drawn (the mock display's own image), else rendered from the screen."""
        display = self.app.hal.display
        png = getattr(display, "png", None)
        if callable(png):
            return bytes(png(scale=scale))
        from hal.render import render_png

        return render_png(self.app.screen, scale=scale)

    def mock_audio(self) -> MockAudioReport:
        """What reached the mock earpiece, analysed at the rate it plays at (16 kHz in a
        G.722 call): 409 when the phone has another sound card."""
        audio = self.app.hal.audio
        if audio is None or not hasattr(audio, "dominant_hz"):
            raise ControlError(409, "the mock audio device is not in use")
        return MockAudioReport(
            tx_frames=int(getattr(audio, "tx_frames", 0)), rx_frames=int(getattr(audio, "rx_frames", 0)),
            rx_dominant_hz=audio.dominant_hz(), rx_level_dbfs=float(audio.level_dbfs()),
        )

    def history(self) -> list[HistoryEntry]:
        out = []
        for e in self.app.phone.history.entries():
            raw: dict[str, Any] = e.to_json()
            kind = raw.get("kind", "placed")
            out.append(
                HistoryEntry(
                    kind=kind if kind in ("placed", "received", "missed") else "placed",
                    remote=str(raw.get("remote", "")), line=int(raw.get("line", 1)),
                    at=float(raw.get("at", 0.0)), call_id=str(raw.get("call_id", "")),
                    duration=raw.get("duration"), reason=raw.get("reason"),
                    extra={"display": raw.get("display")},
                )
            )
        return out

    # ------------------------------------------------------------ acting

    def _now(self) -> float:
        return self.app.clock.time()

    def _phone(self, verb: str, *args: Any) -> Any:
        """Run a call-control verb; its refusals (``PhoneError``: status + message) become 4xx."""
        fn = getattr(self.app.phone, verb)
        before = health.total(self.app)
        try:
            result = fn(*args, self._now())
        except Exception as exc:
            if isinstance(exc, PhoneError) and 400 <= exc.status < 500:
                raise ControlError(exc.status, exc.message) from None
            raise
        finally:
            self.app.phone_pump.flush()
        self._no_new_bug(before, verb)
        return result

    def _no_new_bug(self, before: int, what: str) -> None:
        """Raise ``PhoneBug`` if handling this input made the phone catch a bug of ours."""
        caught = health.total(self.app) - before
        if caught > 0:
            raise PhoneBug(f"{what} hit {caught} internal error(s) in the phone: "
                           f"{health.internal_errors(self.app)}")

    def set_hook(self, off_hook: bool) -> None:
        before = health.total(self.app)
        hook = self.app.hal.hook
        if hook is not None and hasattr(hook, "lift"):
            # The mock hookswitch emits the HookEvent itself and keeps its state in step.
            if off_hook != hook.off_hook:
                hook.lift() if off_hook else hook.replace()
        else:
            self.app.on_input(HookEvent(off_hook=off_hook, at=self._now()))
        self._no_new_bug(before, "the hookswitch")

    def press_keys(self, keys: str) -> None:
        self._phone("press_keys", keys)

    def press_softkey(self, name: str) -> None:
        self._phone("press_softkey", name)

    def press_button(self, name: str) -> None:
        """A fixed key of the 7960 (``POST /api/button``), as the person's finger presses it."""
        self._phone("press_button", name)

    def dial(self, target: str) -> None:
        self._phone("dial", target)

    def transfer(self, target: str) -> None:
        """Blind transfer of the call in conversation to ``target`` (directory transfer)."""
        self._phone("transfer_to", target)

    def set_mock_tone(self, tone_hz: float) -> None:
        audio = self.app.hal.audio
        if audio is None or not hasattr(audio, "set_tone"):
            raise ControlError(409, "the mock audio device is not in use")
        audio.set_tone(tone_hz)
