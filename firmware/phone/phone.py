"""The handset's call control: one sans-IO object over the SIP endpoint (seed Appendix B).

Theory of operation::

    HAL events (KeyEvent/HookEvent) --receive_input(ev, now)--+
    SIP endpoint events ----------receive_sip_event(ev, now)--+--> Phone --> Endpoint commands
    handle_timer(now) (ring timeouts, dial plan, screen tick) -+        +--> next_action():
                                                                         StartMedia/UpdateMedia/StopMedia,
                                                                         PlayTone/StopTone, StartRinging/
                                                                         StopRinging, ShowScreen, ...

``Phone`` drives the SIP ``Endpoint`` directly (both are sans-IO; the shell
flushes ``endpoint.datagrams_to_send()`` after every input) and asks the shell
for everything else through ``next_action()``. After every input it
recomputes the earpiece tone, the ringer and the screen from the calls and
emits a command only when one changed, so outputs are idempotent.

The panel (hook, keypad, softkeys) lives in ``keys.py``, call operations in
``callops.py``, transfer in ``transferops.py`` and SIP event handling in
``sipevents.py``; this module holds the state, the verbs and the views.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from typing import Any

from firmware.phone.actions import (
    Action,
    PlayTone,
    ShowScreen,
    StartRinging,
    StopRinging,
    StopTone,
    Tone,
    WantCallStats,
)
from firmware.phone.audio_controls import UserPrefs
from firmware.phone.call import Call, CallState, CallView
from firmware.phone.callinfo import CallStats, InfoState, info_rows
from firmware.phone.callops import PhoneError
from firmware.phone.conference import ConferenceOps
from firmware.phone.history import CallHistory
from firmware.phone.line import Line
from firmware.phone.menus import MenuOps
from firmware.phone.outputs import REMINDER_RING, Outputs
from firmware.phone.ports import PortPool, Reserve, Unreserve
from firmware.phone.redial import AutoRedial
from firmware.phone.screens import clock_text, line_label, local_epoch, render
from firmware.phone.settings import PhoneSettings
from firmware.phone.sipevents import SipEvents
from firmware.phone.sipextras import SipExtras
from firmware.phone.softkeys import label_for_key, normalise, softkeys
from firmware.phone.view import PhoneView
from hal.base import KEYPAD_KEYS, HookEvent, KeyEvent, RingCadence, Screen

__all__ = ["Phone", "PhoneError", "REMINDER_RING"]

log = logging.getLogger(__name__)

_S = CallState


class Phone(AutoRedial, MenuOps, Outputs, SipExtras, ConferenceOps, SipEvents):
    """Call control for one handset (all its lines), driven by HAL and SIP events.

    Args:
        settings: call-control configuration (filled by the app from provisioning).
        endpoint: the sans-IO SIP ``Endpoint`` (or anything with its command API).
        dial_plan: the parsed ``dialplan.xml`` (``provisioning.dialplan.DialPlan``); None:
            ``#`` or the inter-digit timeout sends what was dialled.
        history: call history to append to (the app loads it from its state dir).
        wall_offset: add to ``now`` to get epoch seconds, for history timestamps.
        id_seed: first number for local call ids and SDP session ids (tests pin it).
        prefs: the volume levels remembered in the state directory (``audio_controls``).
        directory: the local directory (``provisioning.directory.Directory``) or None.
    """

    def __init__(
        self,
        settings: PhoneSettings,
        endpoint: Any,
        *,
        dial_plan: Any = None,
        history: CallHistory | None = None,
        wall_offset: float = 0.0,
        id_seed: int = 1,
        prefs: UserPrefs | None = None,
        directory: Any = None,
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.dial_plan = dial_plan
        self.history = history or CallHistory(settings.history_size)
        self.wall_offset = wall_offset
        self.lines = [Line(index=i + 1, settings=ls) for i, ls in enumerate(settings.lines)]
        self.dnd = settings.dnd
        self.cfwd_to: str | None = settings.cfwd_url if settings.cfwd_all else None
        self.handset_up = False
        self.speaker = False
        self.current_line = 1
        self.notice: str | None = None
        self._ids = itertools.count(id_seed)
        self._sdp_ids = itertools.count(1000 * id_seed)
        self._port_hooks: tuple[Reserve | None, Unreserve | None] = (None, None)
        self.ports = PortPool(settings.start_media_port, settings.end_media_port)
        self._actions: deque[Action] = deque()
        self._by_session: dict[str, Call] = {}
        self._requests: dict[str, tuple[str, str]] = {}  # request id -> (call id, purpose)
        self._tone: Tone | None = None
        self._ring: RingCadence | None = None
        self._screen: Screen | None = None
        self._tick: float | None = None
        self._info = InfoState()
        self._stats: dict[str, CallStats] = {}
        #: call-state bugs caught at the loop boundary (logged; tests assert it stays 0)
        self.errors = 0
        self.init_panel(prefs)
        self.init_menus(directory)
        self.init_mwi()
        self.init_dialog_state()

    def reserve_ports_with(self, reserve: Reserve, unreserve: Unreserve) -> None:
        """The shell's check that an RTP pair is really free (``ports.PortPool``); set
        once at start-up, before any call."""
        self._port_hooks = (reserve, unreserve)
        self.ports = PortPool(self.settings.start_media_port, self.settings.end_media_port,
                              reserve, unreserve)

    def reconfigure(self, settings: PhoneSettings, dial_plan: Any, now: float) -> None:
        """Apply a resync's new settings and dial plan while idle (label, timers, ports...).

        The lines must be the same ones: a changed line set means re-registering,
        which the shell does by restarting the handset. DND and forwarding follow
        the new config only where the config itself changed them.
        """
        if settings.lines != self.settings.lines:
            raise PhoneError(409, "the line set changed; restart to re-register")
        if self._all_calls():
            raise PhoneError(409, "not while a call is up")
        old = self.settings
        self.settings = settings
        self.dial_plan = dial_plan
        if (settings.start_media_port, settings.end_media_port) != (
                old.start_media_port, old.end_media_port):
            self.ports = PortPool(settings.start_media_port, settings.end_media_port,
                                  *self._port_hooks)
        dnd_changed = settings.dnd != old.dnd
        cfwd_changed = (settings.cfwd_url, settings.cfwd_all) != (old.cfwd_url, old.cfwd_all)
        if dnd_changed:
            self.dnd = settings.dnd
        if cfwd_changed:
            self.cfwd_to = settings.cfwd_url if settings.cfwd_all else None
        self.forget_forwarding(dnd_changed, cfwd_changed)
        self._refresh(now)

    # ------------------------------------------------------------------ shell verbs
    def start(self, now: float) -> None:
        """Show the idle screen (call once at boot, after the HAL is up)."""
        self._refresh(now)

    def receive_input(self, event: KeyEvent | HookEvent, now: float) -> None:
        """A HAL input event (hookswitch, keypad, softkey, feature key)."""
        try:
            if isinstance(event, HookEvent):
                self.hook(event.off_hook, now)
            elif event.down:
                self.press_key(event.key, now)
        except PhoneError as exc:
            log.info("input %s ignored: %s", event, exc.message)
            self._refresh(now)
        except Exception:  # noqa: BLE001
            self.errors += 1
            log.exception("input %s hit a call-control bug", event)
            self._refresh(now)

    def receive_sip_event(self, event: Any, now: float) -> None:
        """One event from ``endpoint.next_event()``."""
        try:
            self.dispatch_sip(event, now)
        except PhoneError as exc:  # an event arriving in a state that no longer takes it
            log.info("SIP event %s ignored: %s", type(event).__name__, exc.message)
        except Exception:  # noqa: BLE001 - a bug of ours: log it loudly, keep the phone alive
            self.errors += 1
            log.exception("SIP event %s hit a call-control bug", type(event).__name__)
        self._refresh(now)

    def pump_sip(self, now: float) -> int:
        """Handle every pending endpoint event; returns how many."""
        n = 0
        while (event := self.endpoint.next_event()) is not None:
            self.receive_sip_event(event, now)
            n += 1
        return n

    def next_action(self) -> Action | None:
        """The oldest command for the shell, or None."""
        return self._actions.popleft() if self._actions else None

    def get_timer(self) -> float | None:
        deadlines = [c.ring_deadline for c in self._all_calls() if c.ring_deadline is not None]
        deadlines += [t for c in self._all_calls() if (t := self._linger_until(c)) is not None]
        deadlines += self.dial_deadlines()
        if self._tick is not None:
            deadlines.append(self._tick)
        deadlines += self._info.deadlines()
        deadlines += self.feature_deadlines()
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> None:
        try:
            self._fire_timers(now)
        except PhoneError as exc:
            log.info("timer action refused: %s", exc.message)
        except Exception:  # noqa: BLE001 - a bug of ours must not stop the timers
            self.errors += 1
            log.exception("timer hit a call-control bug")
        self._refresh(now)

    def _fire_timers(self, now: float) -> None:
        for call in list(self._all_calls()):
            if call.ring_deadline is not None and call.ring_deadline <= now:
                call.ring_deadline = None
                self.ring_timeout(call, now)
            if (until := self._linger_until(call)) is not None and until <= now:
                self.forget(call)
        self.fire_dial_timers(now)
        self.fire_feature_timers(now)
        self._info.expire(now)
        shown = self.call_by_id(self._info.call) if self._info.call is not None else None
        if shown is not None and not shown.ended:  # the info screen follows the figures
            self.emit(WantCallStats(call=shown.id))

    # ------------------------------------------------------------------ user verbs
    def hook(self, off_hook: bool, now: float) -> None:
        """Lift or replace the handset."""
        self.notice = None  # a transient message goes with the next thing the user does
        if off_hook == self.handset_up:
            return
        self.handset_up = off_hook
        self.close_menu()
        if off_hook:
            self.go_off_hook(now)
            self.take_handset()  # a speaker or headset call moves to the handset
        elif not self.speaker:  # put down after the call moved to the speaker: it goes on
            self.go_on_hook(now)
        self._refresh(now)

    def press_key(self, key: str, now: float) -> None:
        """A key went down: keypad digit, ``softkeyN`` or a feature key by label."""
        self.notice = None  # a transient message goes with the next thing the user does
        if key in KEYPAD_KEYS and self.menu is not None:
            self.menu_digit(key, now)
        elif key in KEYPAD_KEYS:
            self.digit(key, now)
        elif key.startswith("softkey"):
            label = label_for_key(self.view(now), key)
            if label is None:
                raise PhoneError(409, f"{key} has no function now")
            self.softkey(label, now)
        elif self.is_panel_key(key):
            self.panel_key(key, now)
        elif (label := normalise(key)) is not None:
            self.softkey(label, now)
        else:
            raise PhoneError(400, f"unknown key {key!r}")
        self._refresh(now)

    def press_keys(self, keys: str, now: float) -> None:
        """Keypad digits in order (control API ``POST /api/keys``)."""
        if not keys or any(k not in KEYPAD_KEYS for k in keys):
            raise PhoneError(400, "keys must be 0-9, * or #")
        for k in keys:
            self.press_key(k, now)

    def press_softkey(self, name: str, now: float) -> None:
        """A softkey by its label or API name, case-insensitive; refused (409) if not shown."""
        self.notice = None  # a transient message goes with the next thing the user does
        label = normalise(name)
        if label is None:
            raise PhoneError(400, f"unknown softkey {name!r}")
        if label not in softkeys(self.view(now)):
            raise PhoneError(409, f"{label} is not available now")
        self.softkey(label, now)
        self._refresh(now)

    def dial(self, target: str, now: float) -> Call:
        """Call ``target`` (number or SIP URI) as from the directory; goes off-hook on the speaker."""
        self.notice = None  # a transient message goes with the next thing the user does
        if not (self.handset_up or self.speaker):
            self.speaker = True
        call = self.place_call(target, now)
        self._refresh(now)
        return call

    # ------------------------------------------------------------------ call info, DTMF
    def toggle_info(self, now: float) -> None:
        """The ``info`` key: show the focused call's media figures, or go back to the call."""
        focused = self.line().focused
        if focused is None or focused.ended:
            self._info.call, self._info.until = None, None
            raise PhoneError(409, "no call to show")
        if self._info.toggle(focused.id, now):
            self.emit(WantCallStats(call=focused.id))

    def set_call_stats(self, call_id: str, stats: CallStats | None, now: float) -> None:
        """The app's answer to ``WantCallStats`` (None: the call has no media stream)."""
        live = {c.id for c in self._all_calls()}
        self._stats = {k: v for k, v in self._stats.items() if k in live}  # bounded by the calls
        if stats is None or call_id not in live:
            self._stats.pop(call_id, None)
        else:
            self._stats[call_id] = stats
        self._refresh(now)

    def dtmf_received(self, call_id: str, digit: str, now: float) -> None:
        """A telephone-event (RFC 4733) from ``call_id``'s peer: logged, shown for a moment."""
        if not any(c.id == call_id for c in self._all_calls()):
            return
        digit = str(digit)[:1]
        log.info("[%s] DTMF %s received", call_id, digit)
        self._info.digit(call_id, digit, now)
        self._refresh(now)

    # ------------------------------------------------------------------ views
    def calls(self) -> list[CallView]:
        """Every call the phone still shows (ended ones linger briefly with their reason)."""
        return [c.view(waiting=self._is_waiting(c)) for c in self._all_calls()]

    def _is_waiting(self, call: Call) -> bool:
        if call.state is not _S.INCOMING:
            return False
        line = self.line(call.line)
        return any(c is not call and c.state is not _S.INCOMING for c in line.live)

    def view(self, now: float) -> PhoneView:
        line = self.line()
        focused = line.focused
        other = line.other(focused) if focused is not None else None
        if focused is None or (focused.ended and other is not None):
            focused, other = (other, None) if other is not None else (focused, None)
        return PhoneView(
            now=now, line_name=line_label(line.settings),
            registered=line.registered, off_hook=self.active,
            reg_problem=None if line.registered else line.registration_reason,
            focused=focused.view(waiting=self._is_waiting(focused)) if focused else None,
            other=other.view(waiting=self._is_waiting(other)) if other else None,
            transferring=self.transfer_pending(focused),
            conferencing=self.conference_origin(focused) is not None,
            dnd=self.dnd, cfwd_to=self.cfwd_to,
            last_dialed=(e.remote if (e := self.history.last_placed()) else None),
            missed=self.history.unseen_missed, notice=self.notice,
            clock=clock_text(self.settings, now + self.wall_offset) if self.wall_offset else "",
            label=self.settings.phone_label,
            idle=self.settings.idle_message,
            registers=self.settings.registers,
            info=(info_rows(self._stats.get(focused.id))
                  if focused is not None and not focused.ended
                  and self._info.call == focused.id else ()),
            dtmf=(self._info.dtmf
                  if focused is not None and self._info.dtmf_call == focused.id else ""),
            muted=self.muted, route=self.route, mwi=self.mwi.waiting, mwi_new=self.mwi.new,
            menu=self.menu_view(now),
            callback=self.callback_row(), callback_alert=self.callback_alerting,
        )

    def _local_epoch(self, now: float) -> float:
        return local_epoch(self.settings, now + self.wall_offset)

    def screen(self, now: float) -> Screen:
        return render(self.view(now))

    def softkeys(self, now: float) -> tuple[str, ...]:
        return softkeys(self.view(now))

    @property
    def ringing(self) -> bool:
        return self._ring is not None

    @property
    def tone(self) -> Tone | None:
        return self._tone

    # ------------------------------------------------------------------ outputs
    def _refresh(self, now: float) -> None:
        """Bring tone, ringer and screen in line with the calls; emit only changes."""
        self._tone_now = now
        self.publish_dialogs(now)  # RFC 4235 watchers (automatic redial, dialogstate.py)
        self.refresh_menu()
        self.refresh_audio()
        tone = self._desired_tone()
        if tone != self._tone:
            self._tone = tone
            self.emit(PlayTone(tone=tone) if tone is not None else StopTone())
        ring = self._desired_ring()
        if ring != self._ring:
            self._ring = ring
            self.emit(StartRinging(cadence=ring) if ring is not None else StopRinging())
        screen = self.screen(now)
        if screen != self._screen:
            self._screen = screen
            self.emit(ShowScreen(screen=screen))
        focused = self.line().focused
        if focused is not None and focused.connected_at is not None and focused.established:
            tick = focused.connected_at + int(now - focused.connected_at) + 1.0
            while tick <= now:  # float rounding must never leave a deadline in the past
                tick += 1.0
            self._tick = tick
        else:
            self._tick = None
        if self.wall_offset:  # the status-bar clock turns over on the minute
            minute = now + 60.0 - self._local_epoch(now) % 60.0
            if minute <= now:
                minute += 60.0
            self._tick = minute if self._tick is None else min(self._tick, minute)
