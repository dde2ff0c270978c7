"""The handset assembled: HAL + SIP endpoint + media + call control, on a Clock.

Why no asyncio here: the app takes a ``hal.clock.Clock`` and plain send
callables, so the very same object runs a phone on the asyncio loop
(``firmware.app.runloop``) and on ``VirtualClock`` in tests, where a 32-second
RFC 3261 timer passes in microseconds. Sockets live in the shell; this
module only decides what goes where.

Data flow (one input at a time, everything flushed before returning)::

    datagram --> Endpoint --events--> Phone --actions--> media / ringer / display
    key, hook ----------------------> Phone --commands--> Endpoint --> send_sip
    RTP -------> MediaStream <--> MediaEngine <--> hal.audio

The app exposes ``firmware.surface.PhoneControl`` (``control_adapter.AppControl``):
the control API's requests become the same inputs a person gives the
handset. The app never imports the control API itself; only the process
that serves it (``host``, ``runloop``, ``cli``) does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from firmware.app import collector
from firmware.app.audio_apply import apply_panel
from firmware.app.checksync import check_sync_answer, is_check_sync, proxy_hosts
from firmware.app.media_ports import CallMedia, MediaIO
from firmware.app.pump import CorePump
from firmware.media.grid import DEVICE_FALLBACK_S, EARLY_S
from firmware.sip.endpoint import Endpoint
from hal.base import Hal, HookEvent, InputEvent, KeyEvent, Screen
from hal.clock import Clock

log = logging.getLogger(__name__)

Address = tuple[str, int]
SendSip = Callable[[bytes, Address, str], None]
WireTap = Callable[[str, bytes, Address, str, float], None]


class App:
    """One phone. Build, ``start()``, feed ``receive_sip``; ``shutdown()`` to leave cleanly."""

    def __init__(
        self,
        *,
        clock: Clock,
        hal: Hal,
        endpoint: Endpoint,
        phone: Any,
        send_sip: SendSip,
        media_io: MediaIO | None = None,
        registrations: list[Any] | None = None,
        on_wire: WireTap | None = None,
        history_file: Any = None, prefs_file: Any = None,
        name: str = "phone",
        rtp_latch: bool = False,
    ) -> None:
        self.clock = clock
        self.hal = hal
        self.endpoint = endpoint
        self.phone = phone
        self.name = name
        self._send_sip = send_sip
        self._media_io = media_io
        # follow a NATed peer's real RTP source (MediaStream ``latch``): opt-in only
        self.rtp_latch = rtp_latch
        self._registrations = list(registrations or [])
        self._on_wire = on_wire
        self.history_file = history_file  # app.history_file.JsonHistoryFile-like: save(history)
        self.prefs_file = prefs_file  # app.prefs_file.JsonPrefsFile-like: save(prefs)
        self.screen = Screen()
        self.registered: dict[int, bool] = {}
        #: Per line, the last REGISTER outcome ("registered" or "403 Forbidden"); None
        #: until the first answer (or timeout): the shell's systemd READY waits on it.
        self.reg_outcome: dict[int, str | None] = {}
        #: Called after every registration outcome (the shell wakes its READY wait).
        self.on_registration: Callable[[], None] | None = None
        self._reg_ids: dict[str, int] = {}
        self._media: dict[str, CallMedia] = {}
        #: calls mixed together by this phone (a 3-way conference), by call id
        self.conference: frozenset[str] = frozenset()
        #: Called when the sound card reopened at another rate (new poll fds to wait on).
        self.on_audio_reopened: Callable[[], None] | None = None
        self.engine = self._make_engine()
        self.sip = CorePump(endpoint, clock, send=self._send_outgoing, on_event=self._on_sip_event,
                            name=f"{name}.sip")
        self.phone_pump = CorePump(phone, clock, on_event=self._do, drain="next_action",
                                   after=self.sip.flush, name=f"{name}.phone")
        self.engine_pump = CorePump(
            self.engine, clock, name=f"{name}.audio", before_timer=self._before_period,
            after=self._after_period, arm_early=EARLY_S / 2) if self.engine else None
        # the shell's RTP is read by the audio periods (see MediaIO)
        self._poll_rtp = self.engine is not None and callable(getattr(media_io, "drain", None))
        self.started = False
        self.stopping = False
        #: Called on an accepted NOTIFY check-sync (the shell starts a resync); None: 489.
        self.on_check_sync: Callable[[], None] | None = None

    # ------------------------------------------------------------ lifecycle

    def _make_engine(self) -> Any:
        if self.hal.audio is None:
            return None
        from firmware.media.engine import MediaEngine

        return MediaEngine(self.hal.audio)

    def start(self) -> None:
        """Register every line, show the idle screen, start listening to the HAL."""
        self.hal.set_sink(self.on_input)
        if self.engine is not None and self.engine_pump is not None:
            self.engine.start(self.clock.time())
            self.engine_pump.flush()
        for reg in self._registrations:
            reg_id = self.sip.input(
                self.endpoint.register, reg.registrar, reg.aor, expires=reg.expires
            )
            if reg_id is not None:
                self._reg_ids[reg_id] = reg.line
                self.registered[reg.line] = False
                self.reg_outcome[reg.line] = None
        self.phone_pump.input(self.phone.start)  # draws the idle screen
        self.started = True

    def shutdown(self) -> None:
        """Un-REGISTER, end every call (BYE/CANCEL), stop media; the shell then waits a moment."""
        if self.stopping:
            return
        self.stopping = True
        self.sip.input(self.endpoint.shutdown)
        for call in list(self._media):
            self._stop_media(call)
        if self.hal.ringer is not None:
            self.hal.ringer.stop()

    def audio_ready(self) -> None:
        """The sound card has a period to read and room for one (devices with their own
        clock, e.g. ALSA on the Pi: the shell calls this when the poll descriptors fire)."""
        if self.engine is not None and self.engine_pump is not None:
            self._before_period()
            self.engine_pump.input(self.engine.on_period)  # then _after_period

    def _before_period(self) -> None:
        """Read every call's waiting RTP (polled shells) just before the period pulls
        the earpiece's audio from the jitter buffer: same wake-up, nothing played late."""
        if not self._poll_rtp or self._media_io is None:
            return
        drain = self._media_io.drain  # type: ignore[attr-defined]
        for media in list(self._media.values()):
            # (RTP in changes no deadline: only a digit or the like needs the flush)
            if drain(media.port) and media.stream.has_output:
                media.pump.flush()

    def _after_period(self) -> None:
        """Send each stream's packet due now (the fresh capture) in the period's wake-up;
        their own timers are not armed for deadlines on the audio grid (``_on_grid``)."""
        for media in list(self._media.values()):
            media.pump.tick()

    def _on_grid(self, when: float) -> bool:
        """A stream deadline the audio engine's next period will tick (``_after_period``)."""
        if self.engine is None or self.engine_pump is None or self.engine_pump.closed:
            return False
        return bool(self.engine.ticks(when, self.clock.time()))

    @property
    def audio_has_clock(self) -> bool:
        return self.engine is not None and bool(getattr(self.hal.audio, "has_clock", False))

    def requests_in_flight(self) -> int:
        """Client transactions still waiting for a final response (the shell's shutdown
        waits for 0, bounded by its grace period, so un-REGISTER and BYE get answered)."""
        return self.endpoint.pending_requests()

    def close(self) -> None:
        """Stop every timer and release the hardware (after ``shutdown`` had its moment)."""
        for call in list(self._media):
            self._stop_media(call)
        for pump in (self.sip, self.phone_pump, self.engine_pump):
            if pump is not None:
                pump.close()
        if self.engine is not None:
            self.engine.stop()
        self.hal.close()

    # ------------------------------------------------------------ SIP

    def receive_sip(self, data: bytes, source: Address, transport: str = "udp") -> None:
        """One datagram (or framed stream message) from the wire."""
        if self._on_wire is not None:
            self._on_wire("in", data, source, transport, self.clock.time())
        self.sip.input(self.endpoint.receive_datagram, data, source, transport)

    def _send_outgoing(self, out: Any) -> None:
        if self._on_wire is not None:
            self._on_wire("out", out.data, out.dest, out.transport, self.clock.time())
        self._send_sip(out.data, out.dest, out.transport)

    def _on_sip_event(self, ev: Any) -> None:
        kind = type(ev).__name__
        reg = getattr(ev, "registration", None)
        if reg in self._reg_ids and kind in ("Registered", "RegistrationFailed", "Unregistered"):
            line = self._reg_ids[reg]
            self.registered[line] = kind == "Registered"
            if kind == "Registered":
                self.reg_outcome[line] = "registered"
            elif kind == "RegistrationFailed":
                self.reg_outcome[line] = f"{ev.status} {ev.reason}"
            if self.on_registration is not None:
                self.on_registration()
        if kind == "OutOfDialogRequest" and is_check_sync(ev):
            self._check_sync(ev)
            return
        self._phone_input("sip_event", ev)

    def _check_sync(self, ev: Any) -> None:
        """NOTIFY check-sync from the proxy: answer, then resync (firmware/checksync.py)."""
        answer = check_sync_answer(ev, proxy_hosts(self.endpoint.config),
                                   self.on_check_sync is not None)
        self.sip.input(self.endpoint.respond, ev.request_id, answer.status,
                       reason=answer.reason)
        if answer.resync and self.on_check_sync is not None:
            try:
                self.on_check_sync()
            except Exception:  # noqa: BLE001 - a failing resync trigger must not stop the loop
                log.exception("%s: check-sync resync failed to start", self.name)

    # ------------------------------------------------------------ the phone (call control)

    def _phone_input(self, verb: str, *args: Any) -> Any:
        """Feed call control one input; its actions are carried out and SIP flushed after it."""
        return self.phone_pump.input(getattr(self.phone, _PHONE_VERBS[verb]), *args)

    def on_input(self, event: InputEvent) -> None:
        """HAL sink: a key or the hookswitch (on the loop thread)."""
        if isinstance(event, KeyEvent | HookEvent):
            self._phone_input("input", event)

    # ------------------------------------------------------------ actions

    def _do(self, action: Any) -> None:
        kind = type(action).__name__
        if kind == "ShowScreen":
            self.screen = action.screen
            if self.hal.display is not None:
                self.hal.display.show(action.screen)
        elif kind == "StartRinging":
            if self.hal.ringer is not None:
                self.hal.ringer.ring(action.cadence)
        elif kind == "StopRinging":
            if self.hal.ringer is not None:
                self.hal.ringer.stop()
        elif kind == "PlayTone":
            self._play_tone(action.tone)
        elif kind == "StopTone":
            if self.engine is not None:
                self.engine.play_tone(None)
                self._engine_changed()
        elif kind == "StartMedia":
            self._start_media(action.call, action.local, action.negotiated)
        elif kind == "UpdateMedia":
            self._update_media(action.call, action.negotiated)
        elif kind == "StopMedia":
            self._stop_media(action.call)
        elif kind == "SendDtmf":
            media = self._media.get(action.call)
            if media is not None:
                media.pump.input(media.stream.send_dtmf, action.digit)
        elif kind == "Conference":
            self.set_conference(action.calls)
        elif kind == "WantCallStats":
            self._phone_input("stats", action.call, self.call_stats(action.call))
        elif kind == "HistoryChanged":
            if self.history_file is not None:
                self.history_file.save(self.phone.history)
        elif kind in ("SetAudio", "PrefsChanged"):
            apply_panel(action, self)
        else:
            log.warning("%s: unknown action %s", self.name, kind)

    def _play_tone(self, tone: str) -> None:
        if self.engine is None:
            return
        from firmware.media.tones import TONES_NA

        spec = TONES_NA.get("call_waiting" if tone == "waiting" else tone)
        if spec is None:
            log.warning("%s: no tone named %s", self.name, tone)
            return
        self.engine.play_tone(spec)
        self._engine_changed()

    def _start_media(self, call: str, local: Any, negotiated: Any) -> None:
        from firmware.media.framecodec import audio_rate
        from firmware.media.stream import MediaStream

        if call in self._media:
            self._update_media(call, negotiated)
            return
        port = int(local.rtp_port)
        # RFC 3550 §5.1: random SSRC, seq0, ts0 from the endpoint's CSPRNG (seeded in tests)
        ids = self.endpoint.ids
        rate = audio_rate(negotiated.send_codec.name)
        stream = MediaStream(ssrc=ids.bits(32), seq0=ids.bits(16), ts0=ids.bits(32),
                             cname=f"{self.name}@{local.address}", latch=self.rtp_latch,
                             pcm_rate=rate, period=rate // 50)
        pump = CorePump(
            stream, self.clock, name=f"{self.name}.rtp{port}",
            send=lambda d, port=port: self._send_media(port, d), defer=self._on_grid,
            fallback=DEVICE_FALLBACK_S if self.audio_has_clock else 0.0, early=EARLY_S,
            on_event=lambda ev, call=call: self._on_media_event(call, ev),
        )
        deliver = self._deliver_media(call)
        opened = (self._media_io.open(port, deliver, poll=True) if self._poll_rtp  # type: ignore[call-arg]
                  else self._media_io.open(port, deliver)) if self._media_io is not None else True
        if not opened:
            log.error("%s: cannot open RTP port %d; the call has no audio", self.name, port)
        self._media[call] = CallMedia(port=port, stream=stream, pump=pump)
        # on the audio engine's period grid: capture and send share one wake-up
        pump.input(stream.update, negotiated, t0=self._grid())
        self._attach_engine()

    def _grid(self) -> float | None:
        """Where a new stream's send grid starts: the engine's next period (idle or not)."""
        return self.engine.next_period_at(self.clock.time()) if self.engine is not None else None

    def _deliver_media(self, call: str) -> Callable[..., None]:
        def deliver(data: bytes, source: Address, rtcp: bool, arrived: float | None = None) -> None:
            media = self._media.get(call)
            if media is None:
                return
            fn = media.stream.receive_rtcp if rtcp else media.stream.receive_rtp
            if arrived is None:
                media.pump.input(fn, data, source)
                return
            # drained at a period start: the caller flushes once after the batch
            try:
                fn(data, source, arrived)
            except Exception:
                media.pump.errors += 1
                log.exception("%s: RTP input failed", self.name)

        return deliver

    def _on_media_event(self, call: str, ev: Any) -> None:
        """A stream's event: a received DTMF digit goes to call control (shown, logged)."""
        if type(ev).__name__ == "DtmfDigit":
            self._phone_input("dtmf", call, ev.digit)

    def _send_media(self, port: int, datagram: Any) -> None:
        if self._media_io is not None:
            self._media_io.send(port, datagram.data, datagram.addr, datagram.rtcp)

    def _update_media(self, call: str, negotiated: Any) -> None:
        media = self._media.get(call)
        if media is None:
            log.warning("%s: media update for unknown call %s", self.name, call)
            return
        from firmware.media.framecodec import audio_rate

        # a new codec may run at another rate (G.711 8 kHz <-> G.722 16 kHz): the stream
        # switches, and _attach_engine moves the device (or the mixer converts)
        media.pump.input(media.stream.update, negotiated, t0=self._grid(),
                         pcm_rate=audio_rate(negotiated.send_codec.name))
        self._attach_engine()

    def _stop_media(self, call: str) -> None:
        media = self._media.pop(call, None)
        if media is None:
            return
        media.pump.input(media.stream.stop)
        media.pump.close()
        if self._media_io is not None:
            self._media_io.close(media.port)
        self._attach_engine()

    def _attach_engine(self) -> None:
        """The earpiece and microphone follow the call that sends (a held call does not)."""
        if self.engine is None:
            return
        live = [m for m in self._media.values() if m.stream.sending]
        mixed = [m.stream for c, m in self._media.items() if c in self.conference and m.stream.sending]
        fds = self._audio_fds()
        if len(mixed) >= 2:  # this phone is the bridge of a conference (mixer.py)
            self.engine.attach_legs(mixed)
        else:
            self.engine.attach(live[-1].stream if live else None)
        self.engine.keep_running = bool(self._media)
        collector.hold(self, bool(self._media))  # no full GC pause in a call
        self._engine_changed()
        if self.on_audio_reopened is not None and self._audio_fds() != fds:
            self.on_audio_reopened()  # the device switched rate and has new poll fds

    def _engine_changed(self) -> None:
        """The engine may have gone busy or idle: let its pump re-read the next period."""
        if self.engine_pump is not None:
            self.engine_pump.flush()

    def _audio_fds(self) -> list[tuple[int, int]]:
        audio = self.hal.audio
        return list(audio.poll_descriptors()) if self.audio_has_clock and audio is not None else []

    def set_conference(self, calls: tuple[str, ...]) -> None:
        """The calls this phone mixes together (call control's ``Conference`` action)."""
        self.conference = frozenset(calls)
        self._attach_engine()

    # ------------------------------------------------------------ what tests and the API read

    @property
    def media_streams(self) -> dict[str, Any]:
        return {call: m.stream for call, m in self._media.items()}

    def call_stats(self, call: str) -> Any:
        """``call``'s media figures (``firmware.phone.callinfo.CallStats``), None without media.

        Loss is cumulative over the call (RFC 3550 §6.4.1 cumulative lost over
        expected); jitter is our own interarrival estimate; RTT comes from the
        peer's reception report (None until one arrived).
        """
        from firmware.phone.callinfo import CallStats

        media = self._media.get(call)
        if media is None:
            return None
        st = media.stream.stats()
        expected = st.packets_received + st.packets_lost
        return CallStats(
            codec=st.codec, packets_sent=st.packets_sent, packets_received=st.packets_received,
            loss_pct=round(100.0 * st.packets_lost / expected, 2) if expected else 0.0,
            jitter_ms=float(st.jitter_ms), rtt_ms=st.rtt_ms,
        )

#: What the app calls on call control for each kind of input.
_PHONE_VERBS = {
    "sip_event": "receive_sip_event",
    "input": "receive_input",
    "stats": "set_call_stats",
    "dtmf": "dtmf_received",
}
