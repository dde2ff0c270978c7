"""The conference mixer and the call-rate plumbing, as plain values (no sockets)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.media.codecs import G722, PCMA, PCMU, codec_preference
from firmware.media.framecodec import audio_rate
from firmware.media.mixer import Mixer
from hal.mock.audio import MockAudio


def _tone(hz: float, rate: int, n: int, start: int = 0, amp: float = 8000.0) -> bytes:
    t = (np.arange(n) + start) / rate
    return (amp * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


def _level_at(pcm: bytes, hz: float, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    win = np.hanning(x.size)
    spec = np.abs(np.fft.rfft(x * win)) * 2 / win.sum()
    f = np.fft.rfftfreq(x.size, 1 / rate)
    band = spec[(f > 0.97 * hz) & (f < 1.03 * hz)]
    return float(band.max()) if band.size else 0.0


def _run(mixer: Mixer, periods: int, mic_hz: float, legs: dict[str, tuple[float, int]]):
    ear, sent = b"", {k: b"" for k in legs}
    for k in range(periods):
        mic = _tone(mic_hz, mixer.rate, mixer.period, k * mixer.period)
        rx = {key: _tone(hz, r, r // 50, k * (r // 50)) for key, (hz, r) in legs.items()}
        out, sends = mixer.mix(mic, rx)
        ear += out
        for key in sends:
            sent[key] += sends[key]
    return ear, sent


def test_each_leg_hears_the_mic_and_the_others_not_itself() -> None:
    m = Mixer(8000, 160)
    m.set_legs({"a": 8000, "c": 8000})
    ear, sent = _run(m, 25, 2500.0, {"a": (500.0, 8000), "c": (1500.0, 8000)})
    assert _level_at(ear, 500, 8000) > 7000 and _level_at(ear, 1500, 8000) > 7000
    assert _level_at(ear, 2500, 8000) < 10  # our own microphone is not in the earpiece
    assert _level_at(sent["a"], 1500, 8000) > 7000 and _level_at(sent["a"], 2500, 8000) > 7000
    assert _level_at(sent["a"], 500, 8000) < 10  # no echo of a's own voice
    assert _level_at(sent["c"], 500, 8000) > 7000 and _level_at(sent["c"], 1500, 8000) < 10


def test_wideband_mix_keeps_6khz_for_g722_and_filters_it_for_g711() -> None:
    """At 16 kHz a G.722 leg's 6 kHz reaches the earpiece; the G.711 leg gets the
    band it can carry (the mic's 1 kHz) and nothing of 6 kHz (no alias either)."""
    m = Mixer(16000, 320)
    m.set_legs({"wide": 16000, "narrow": 8000})
    ear, sent = _run(m, 25, 1000.0, {"wide": (6000.0, 16000), "narrow": (500.0, 8000)})
    assert _level_at(ear, 6000, 16000) > 7000 and _level_at(ear, 500, 16000) > 6000
    narrow = sent["narrow"]
    assert len(narrow) == 25 * 160 * 2
    assert _level_at(narrow, 1000, 8000) > 6000
    assert _level_at(narrow, 2000, 8000) < 200 and _level_at(narrow, 6000 - 4000, 8000) < 200
    assert _level_at(sent["wide"], 500, 16000) > 6000 and _level_at(sent["wide"], 6000, 16000) < 10


def test_one_leg_at_the_device_rate_passes_straight_through() -> None:
    m = Mixer(8000, 160)
    m.set_legs({"x": 8000})
    mic, rx = _tone(1000, 8000, 160), _tone(400, 8000, 160)
    ear, sends = m.mix(mic, {"x": rx})
    assert ear == rx and sends == {"x": mic}


def test_codec_preference_and_call_rate() -> None:
    avail = (PCMU, PCMA, G722)
    assert codec_preference(("g711ulaw", "g711alaw", "g722"), "g722", avail) == (G722, PCMU, PCMA)
    assert codec_preference(("g722", "g711ulaw"), "g711ulaw", avail) == (PCMU, G722)
    assert codec_preference(("g722",), "g711ulaw", avail) == (G722,)  # not listed: not offered
    assert codec_preference(("g722",), "g722", (PCMU, PCMA)) == (PCMU, PCMA)  # no G.722 library
    assert codec_preference((), "g729a", avail) == avail
    assert audio_rate("G722") == 16000 and audio_rate("pcmu") == 8000


@pytest.mark.parametrize("rate", [8000, 16000])
def test_mock_audio_runs_at_the_call_rate(rate: int) -> None:
    audio = MockAudio()
    audio.open()
    audio.set_tone(6000.0)
    assert audio.set_rate(rate) and audio.format.rate == rate
    assert audio.format.period_frames == rate // 50
    for _ in range(20):
        audio.write_period(audio.read_period() or b"")
    hz = audio.dominant_hz()
    if rate == 16000:
        assert hz is not None and abs(hz - 6000.0) < 50
    else:  # the anti-alias filter of an 8 kHz card: silence, not a 2 kHz alias
        assert hz is None
    assert not audio.set_rate(44100)
