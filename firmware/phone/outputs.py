"""What the earpiece and the ringer should be doing, computed from the calls.

Why apart from ``phone.py``: ``Phone._refresh`` emits a tone or ringer command
only when the wanted one changes; deciding which one is wanted (dial tone,
stutter dial tone with voice messages waiting, ringback, busy/reorder after a
failed call, the call-waiting beep, the intercom warning, the reminder ring of
a held call) is a pure function of the calls and the hook, kept here.
"""

from __future__ import annotations

from firmware.phone.actions import Tone
from firmware.phone.base import PhoneBase
from firmware.phone.call import ESTABLISHED, LIVE_OUTGOING, Call, CallState
from hal.base import RING_NORMAL, RingCadence

_S = CallState
#: A short ring every 10 s while a held call waits and the handset is down (B-6 "notification").
REMINDER_RING: RingCadence = ((0.5, 9.5),)


class Outputs(PhoneBase):
    """Wanted tone and ring (mixed into ``Phone``)."""

    _tone_now: float = 0.0

    def _dial_tone(self) -> Tone:
        """Dial tone; stuttered while voice messages wait (7960 ``stutter_msg_waiting``)."""
        mwi = getattr(self, "mwi", None)
        if self.settings.stutter_msg_waiting and mwi is not None and mwi.waiting:
            return "stutter"
        return "dial"

    def _linger_until(self, call: Call) -> float | None:
        """When an ended call leaves the screen; None while it stays.

        A call that ended busy or failed keeps its busy/reorder tone and reason
        while the handset is up (the user hangs up to clear it); any other
        ended call lingers ``ended_linger`` seconds with its reason.
        """
        if call.ended_at is None:
            return None
        if self.active and self.line(call.line).focused is call and self._tone_for_end(call):
            return None
        return call.ended_at + self.settings.ended_linger

    @staticmethod
    def _tone_for_end(call: Call) -> Tone | None:
        if call.reason == "busy":
            return "busy"
        if call.reason and (call.reason.startswith("rejected")
                            or call.reason in ("no-answer", "invalid number")):
            return "reorder"
        return None


    def _desired_tone(self) -> Tone | None:
        line = self.line()
        live = [c for ln in self.lines for c in ln.live]
        talking = [c for c in live if c.state is not _S.INCOMING]
        if any(c.state is _S.INCOMING for c in live) and any(
                c.state in ESTABLISHED or c.state in LIVE_OUTGOING for c in talking) and self.active:
            return "waiting"
        if not self.active:
            return None
        focused = line.focused
        if focused is None:
            return None if any(c.state is _S.HOLDING for c in live) else self._dial_tone()
        if focused.state is _S.DIALING:  # dial tone, and secondary dial tone at a ','
            if focused.remote == "":
                return self._dial_tone()
            return "dial" if focused.remote == focused.extra.get("secondary_at") else None
        if focused.extra.get("alert_until", 0.0) > self._tone_now:
            return "intercom"  # an auto-answered call's warning beeps (intercom.py)
        if focused.state is _S.RINGBACK and not focused.media_started:
            return "ringback"
        if focused.state is _S.ENDED:
            return self._tone_for_end(focused)
        return None

    def _desired_ring(self) -> RingCadence | None:
        live = [c for ln in self.lines for c in ln.live]
        incoming = [c for c in live if c.state is _S.INCOMING]
        talking = [c for c in live if c.state in ESTABLISHED or c.state in LIVE_OUTGOING
                   or c.state is _S.DIALING]
        audible = [c for c in talking if c.state is not _S.HOLDING]
        if incoming and not (self.active and audible):
            return RING_NORMAL
        if not self.active and any(c.state is _S.HOLDING for c in live) and not audible:
            return REMINDER_RING
        return None
