"""Two phones' media on one VirtualClock: SDP offer/answer, MediaStream, MediaEngine,
MockAudio, and a lossy/delaying link between them. Plays the asyncio shell's part."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.media.codecs import PCMA, PCMU
from firmware.media.engine import MediaEngine
from firmware.media.sdp import (
    Answer,
    LocalMedia,
    Negotiated,
    SdpSession,
    SrtpPolicy,
    parse_sdp,
)
from firmware.media.stream import MediaDatagram, MediaEvent, MediaStream
from hal.base import AudioFormat
from hal.clock import VirtualClock
from hal.mock.audio import MockAudio


@dataclass
class Phone:
    name: str
    ip: str
    port: int
    clock: VirtualClock
    stream: MediaStream
    engine: MediaEngine
    audio: MockAudio
    sdp: SdpSession
    events: list[MediaEvent] = field(default_factory=list)
    sent: list[tuple[float, MediaDatagram]] = field(default_factory=list)
    peer: Phone | None = None
    drop: Callable[[MediaDatagram], bool] = lambda d: False
    delay: float = 0.001
    _stream_timer: object = None
    _engine_timer: object = None

    def kick(self) -> None:
        """What the shell does after every input: flush, deliver events, re-arm."""
        now = self.clock.time()
        for d in self.stream.datagrams_to_send():
            self.sent.append((now, d))
            peer = self.peer
            if peer is None or self.drop(d) or d.addr[0] != peer.ip:
                continue
            src = (self.ip, self.port + (1 if d.rtcp else 0))
            self.clock.call_later(self.delay, lambda d=d, src=src, peer=peer: peer.deliver(d, src))
        while (ev := self.stream.next_event()) is not None:
            self.events.append(ev)
        if self._stream_timer is not None:
            self._stream_timer.cancel()  # type: ignore[attr-defined]
        when = self.stream.get_timer()
        # as RtpEndpoint(audio_driven=True): just after the audio period due at that instant
        self._stream_timer = (self.clock.call_at(when + 1e-6, self._fire)
                              if when is not None else None)

    def deliver(self, d: MediaDatagram, src: tuple[str, int]) -> None:
        if d.rtcp:
            self.stream.receive_rtcp(d.data, src, self.clock.time())
        else:
            self.stream.receive_rtp(d.data, src, self.clock.time())
        self.kick()

    def _fire(self) -> None:
        self._stream_timer = None
        self.stream.handle_timer(self.clock.time())
        self.kick()

    def start_audio(self) -> None:
        self.engine.start(self.clock.time())
        self._arm_engine()

    def _arm_engine(self) -> None:
        when = self.engine.get_timer()
        if when is not None:
            self._engine_timer = self.clock.call_at(when, self._engine_fire)

    def _engine_fire(self) -> None:
        self.engine.handle_timer(self.clock.time())
        self.stream.handle_timer(self.clock.time())  # what RtpEndpoint.tick does
        self.kick()
        self._arm_engine()

    def apply(self, neg: Negotiated) -> None:
        # the shell puts the send grid on the audio period grid (RtpEndpoint.tick)
        self.stream.update(neg, self.clock.time(), t0=self.engine.get_timer())
        self.kick()


def make_phone(clock: VirtualClock, name: str, ip: str, port: int, ssrc: int,
               codecs=(PCMU, PCMA), audio: MockAudio | None = None,
               rate: int = 8000) -> Phone:
    audio = audio or MockAudio(clock, AudioFormat(rate=rate, period_frames=rate // 50))
    engine = MediaEngine(audio)
    stream = MediaStream(ssrc=ssrc, cname=f"{name}@{ip}", seq0=ssrc & 0xFFFF, ts0=ssrc * 7,
                         period=audio.format.period_frames, pcm_rate=audio.format.rate)
    engine.attach(stream)
    local = LocalMedia(address=ip, rtp_port=port, codecs=tuple(codecs))
    return Phone(name, ip, port, clock, stream, engine, audio, SdpSession(local, session_id=ssrc))


def call(clock: VirtualClock, *, phase: float = 0.0037, audio_a: MockAudio | None = None,
         audio_b: MockAudio | None = None, rate_a: int = 8000, rate_b: int = 8000,
         srtp: SrtpPolicy | None = None, **kw) -> tuple[Phone, Phone]:
    """A calls B: offer, answer, both streams running, both audio engines paced.
    ``phase``: how far B's audio clock is out of step with A's; ``srtp``: both
    phones' SDES policy (SRTP keys in the offer/answer)."""
    a = make_phone(clock, "alice", "127.0.0.1", 16384, 0x1111, audio=audio_a, rate=rate_a, **kw)
    a.start_audio()
    clock.advance(phase)
    b = make_phone(clock, "bob", "127.0.0.2", 20000, 0x2222, audio=audio_b, rate=rate_b, **kw)
    b.start_audio()
    a.peer, b.peer = b, a
    if srtp is not None:
        a.sdp.srtp = b.sdp.srtp = srtp
    offer = a.sdp.offer()
    answer = b.sdp.receive_offer(parse_sdp(offer.to_bytes()))
    assert isinstance(answer, Answer)
    neg_a = a.sdp.receive_answer(parse_sdp(answer.sdp.to_bytes()))
    assert isinstance(neg_a, Negotiated)
    b.apply(answer.negotiated)
    a.apply(neg_a)
    return a, b
