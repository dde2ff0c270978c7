"""What the keys do: hookswitch, keypad and softkeys (the 7960's panel, control API verbs).

Why a mixin of ``Phone``: the panel's meaning (off-hook answers or gives dial
tone, on-hook ends the call you talk on and leaves a held one to remind you,
keypad digits feed the dial plan or become DTMF in a call, one method per
softkey label) is separate from the call operations it triggers
(``callops.py``). Dialling goes through provisioning's ``DigitCollector`` (the
7960 ``dialplan.xml`` rules), one per call being dialled.
"""

from __future__ import annotations

import logging

from firmware.phone.actions import SendDtmf
from firmware.phone.call import Call, CallState
from firmware.phone.callops import CallOps, PhoneError
from firmware.phone.dialing import target_uri
from firmware.phone.softkeys import (
    ANSWER,
    BACKSPACE,
    CFWDALL,
    CONFRN,
    DECLINE,
    DIAL,
    DND,
    ENDCALL,
    HOLD,
    NEWCALL,
    REDIAL,
    RESUME,
    SWAP,
    TRANSFER,
)
from firmware.provisioning.digits import (
    DialNumber,
    DigitCollector,
    InvalidNumber,
    SecondaryDialTone,
)

log = logging.getLogger(__name__)
_S = CallState


class KeyOps(CallOps):
    """Hookswitch, keypad and softkey handling (mixed into ``Phone``)."""

    def go_off_hook(self, now: float) -> None:
        line = self.line()
        ringing = self.incoming_call()
        if ringing is not None:
            self.answer(ringing, now)
            return
        focused = line.focused
        if focused is not None and focused.ended:
            self.forget(focused)
            focused = line.focused
        live = line.live
        if len(live) == 1 and live[0].state is _S.HOLDING:
            self.resume(live[0], now)  # the "notification" of a held call (B-6 step 8)
            return
        if focused is None and not self.speaker:
            self.new_call("out", line, now)

    def go_on_hook(self, now: float) -> None:
        self.speaker = self.headset = False
        line = self.line()
        focused = line.focused
        if focused is not None and not focused.ended and focused.state is not _S.HOLDING \
                and focused.state is not _S.INCOMING:
            self.hangup(focused, now)
        for call in [c for ln in self.lines for c in ln.calls]:
            if call.ended or call.state is _S.DIALING:  # the screen goes back to idle
                if not call.ended:
                    self.end_call(call, now, "hangup")
                self.forget(call)

    def line_key(self, index: int, now: float) -> None:
        """A line button: answer what rings on that line, else take it for a new call."""
        if not 1 <= index <= len(self.lines):
            raise PhoneError(400, f"there is no line {index}")
        line = self.lines[index - 1]
        ringing = next((c for c in line.live if c.state is _S.INCOMING), None)
        if ringing is not None:
            self.answer(ringing, now)
            return
        if index == self.current_line and line.focused is not None:
            return
        talking = self.talking()
        if talking is not None and talking.line != index:
            self.hold(talking, now)  # the 7960 holds the call you leave
        self.current_line = index
        if line.focused is None and not line.full:
            if not self.active:
                self.speaker = True
            self.new_call("out", line, now)

    def incoming_call(self) -> Call | None:
        line = self.line()
        focused = line.focused
        if focused is not None and focused.state is _S.INCOMING:
            return focused
        for ln in [line, *self.lines]:
            for c in ln.live:
                if c.state is _S.INCOMING:
                    return c
        return None

    def digit(self, key: str, now: float) -> None:
        line = self.line()
        call = line.focused
        if call is not None and call.state in (_S.CONNECTED, _S.HELD):
            self.emit(SendDtmf(call=call.id, digit=key))  # RFC 4733 in the call
            return
        if call is not None and call.ended:
            self.forget(call)
            call = line.focused
        if call is None or call.state is not _S.DIALING:
            if call is not None and call.state is not _S.HOLDING:
                raise PhoneError(409, "not dialling now")
            if not self.active:  # keys with nothing to talk to start a new call
                self.speaker = True
            call = self.new_call("out", line, now)
        collector = self.collector_for(call)
        collector.press(key, now)
        call.remote = collector.dialled
        self.drain_collector(call, now)

    def collector_for(self, call: Call) -> DigitCollector:
        """The dial-plan digit collector of a call being dialled (provisioning's dialplan.xml)."""
        collector = call.extra.get("collector")
        if collector is None:
            collector = DigitCollector(self.dial_plan,
                                       interdigit_timeout=self.settings.interdigit_timeout,
                                       pound_sends=self.settings.pound_sends)
            call.extra["collector"] = collector
        return collector

    def drain_collector(self, call: Call, now: float) -> None:
        collector = call.extra.get("collector")
        while collector is not None and (event := collector.next_event()) is not None:
            if isinstance(event, DialNumber):
                self.complete_dialing(call, event.number, now, user=event.user)
                return
            if isinstance(event, SecondaryDialTone):
                call.extra["secondary_at"] = event.dialled
            elif isinstance(event, InvalidNumber):
                log.info("dialled %r: %s", event.dialled, event.reason)
                self.end_call(call, now, "invalid number")
                return

    def dial_deadlines(self) -> list[float]:
        return [t for c in self._all_calls()
                if c.state is _S.DIALING and (col := c.extra.get("collector")) is not None
                and (t := col.get_timer()) is not None]

    def fire_dial_timers(self, now: float) -> None:
        for call in list(self._all_calls()):
            collector = call.extra.get("collector")
            if call.state is _S.DIALING and collector is not None:
                collector.handle_timer(now)
                self.drain_collector(call, now)

    def complete_dialing(self, call: Call, target: str, now: float,
                         user: str | None = None) -> None:
        if call.extra.get("purpose") == "cfwd":
            line = self.line(call.line)
            self.cfwd_to = target_uri(target, line.settings.domain)
            self.remember_forwarding()
            self.end_call(call, now, "hangup")
            self.forget(call)
            return
        self.place_call(target, now, user=user)

    # ------------------------------------------------------------------ softkeys
    def softkey(self, label: str, now: float) -> None:
        call = self.focused()
        if label == ANSWER:
            ringing = self.incoming_call()
            if ringing is None:
                raise PhoneError(409, "no call to answer")
            self.answer(ringing, now)
        elif label == DECLINE:
            ringing = self.incoming_call()
            if ringing is None:
                raise PhoneError(409, "no call to decline")
            self.decline(ringing, now)
        elif label == ENDCALL:
            if call is None or call.ended:
                raise PhoneError(409, "no call to end")
            self.hangup(call, now)
            if not self.handset_up and all(c.state is _S.HOLDING for c in self.line().live):
                self.speaker = self.headset = False
        elif label == HOLD:
            self.hold(self._need(call), now)
        elif label == RESUME:
            self.resume(self._need(call), now)
        elif label == SWAP:
            self.swap(now)
        elif label == NEWCALL:
            self.new_call_key(now)
        elif label == TRANSFER:
            self.transfer(now)
        elif label == CONFRN:
            self.confrn(now)  # conference.py
        elif label == CFWDALL:
            self.toggle_cfwd(now)
        elif label == DND:
            if self.settings.dnd_always:
                raise PhoneError(409, "do not disturb is always on here (dnd_control 2)")
            self.dnd = not self.dnd
            self.remember_forwarding()
        elif label == REDIAL:
            last = self.history.last_placed()
            if last is None:
                raise PhoneError(409, "nothing to redial")
            self.dial(last.remote, now)
        elif label == DIAL:
            if call is None or call.state is not _S.DIALING or not call.remote:
                raise PhoneError(409, "nothing dialled")
            self.collector_for(call).send(now)
            self.drain_collector(call, now)
        elif label == BACKSPACE:
            if call is not None and call.state is _S.DIALING:
                collector = self.collector_for(call)
                keys = collector.dialled[:-1]
                collector.reset()
                for k in keys:
                    collector.press(k, now)
                call.remote = collector.dialled
                self.drain_collector(call, now)
        else:
            raise PhoneError(400, f"unknown softkey {label!r}")

    def _need(self, call: Call | None) -> Call:
        if call is None or call.ended:
            raise PhoneError(409, "no call")
        return call

    def new_call_key(self, now: float) -> None:
        line = self.line()
        call = line.focused
        if call is not None and call.state in (_S.CONNECTED, _S.HELD):
            self.hold(call, now)
        if call is not None and call.ended:
            self.forget(call)
        if not self.active:
            self.speaker = True
        self.new_call("out", line, now)

    def toggle_cfwd(self, now: float) -> None:
        if self.cfwd_to:
            self.cfwd_to = None
            self.remember_forwarding()
        elif self.settings.cfwd_url:
            self.cfwd_to = self.settings.cfwd_url
            self.remember_forwarding()
        else:  # ask for the number like the 7960: the next number dialled is the target
            if not self.active:
                self.speaker = True
            call = self.new_call("out", self.line(), now)
            call.extra["purpose"] = "cfwd"


    def set_user_settings(self, dnd: bool, cfwd_to: str | None,
                          volume: dict[str, int] | None = None, *, now: float) -> None:
        """DND, forward-all and the volumes as the user sets them away from the panel
        (the web page's Settings); a volume is 0..15 for handset, speaker or ringer."""
        self.dnd, self.cfwd_to = dnd, cfwd_to
        self.remember_forwarding()
        for mode, level in (volume or {}).items():
            self.set_volume(mode, level)  # type: ignore[attr-defined]
        self._refresh(now)  # type: ignore[attr-defined]
