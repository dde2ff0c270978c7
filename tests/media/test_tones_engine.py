"""Call-progress tones and their cadences, tone analysis, port pairs, and the
media engine on the mock device (incl. a missing device)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.media.analysis import detect_dtmf, dominant_frequency, goertzel_dbfs, level_dbfs
from firmware.media.engine import MediaEngine
from firmware.media.ports import PortAllocator, PortRangeError
from firmware.media.tones import TONES_ITU, TONES_NA, ToneGenerator, dtmf_spec, sine
from hal.clock import VirtualClock
from hal.mock.audio import MockAudio

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def render(spec, seconds: float) -> np.ndarray:
    g = ToneGenerator(spec)
    return np.frombuffer(b"".join(g.next_period() for _ in range(int(seconds / 0.02))), "<i2")


def on_off(x: np.ndarray) -> list[bool]:
    """Per 10 ms block: is the tone on?"""
    return [bool(np.abs(b).max() > 100) for b in x.reshape(-1, 80)]


def test_dial_tone_is_350_plus_440_continuous() -> None:
    x = render(TONES_NA["dial"], 1.0)
    assert goertzel_dbfs(x, 350) > -20 and goertzel_dbfs(x, 440) > -20
    assert goertzel_dbfs(x, 480) < -50
    assert all(on_off(x))
    assert level_dbfs(x) == pytest.approx(-13.0, abs=0.5)  # two tones at -16 dBFS each


@pytest.mark.parametrize(
    ("name", "freqs", "on", "off"),
    [("ringback", (440, 480), 2.0, 4.0), ("busy", (480, 620), 0.5, 0.5),
     ("reorder", (480, 620), 0.25, 0.25), ("call_waiting", (440,), 0.3, 9.7)],
)
def test_north_american_cadences(name: str, freqs, on: float, off: float) -> None:
    x = render(TONES_NA[name], 2 * (on + off))
    gates = on_off(x)
    period = round((on + off) * 100)
    assert gates[:period] == [True] * round(on * 100) + [False] * round(off * 100)
    assert gates[period:] == gates[:period]
    for f in freqs:
        assert goertzel_dbfs(x[: int(on * 8000)], f) > -20


def test_itu_ringback_is_425_one_on_four_off() -> None:
    x = render(TONES_ITU["ringback"], 5.0)
    assert dominant_frequency(x[:8000]) == pytest.approx(425, abs=3)
    assert on_off(x) == [True] * 100 + [False] * 400


def test_dtmf_tones_are_detected() -> None:
    for d in "0123456789*#ABCD":
        x = render(dtmf_spec(d), 0.1)
        assert detect_dtmf(x) == d
    assert detect_dtmf(render(TONES_NA["dial"], 0.1)) is None
    with pytest.raises(ValueError):
        dtmf_spec("x")


def test_analysis_on_known_signals() -> None:
    x = sine(1000, 0.5, level_dbfs=-6)
    assert dominant_frequency(x) == pytest.approx(1000, abs=1)
    assert level_dbfs(x) == pytest.approx(-6, abs=0.1)
    assert goertzel_dbfs(x, 1000) == pytest.approx(-6, abs=0.2)
    assert dominant_frequency(bytes(800)) is None and level_dbfs(b"") == -120.0


def test_port_pairs_even_round_robin_and_busy() -> None:
    p = PortAllocator(16385, 16391)  # odd start is rounded up: pairs 16386, 16388, 16390
    assert p.capacity == 3
    a, b = p.allocate(), p.allocate()
    assert (a, b) == (16386, 16388)
    p.mark_busy(16390)
    assert p.allocate() is None  # 16390 busy, others in use
    p.release(a)  # type: ignore[arg-type]
    assert p.allocate() == 16386
    with pytest.raises(PortRangeError):
        PortAllocator(20000, 10000)


def test_engine_plays_local_tone_and_mixes_it_over_the_call(clock: VirtualClock) -> None:
    audio = MockAudio(clock)
    eng = MediaEngine(audio)
    assert eng.start(clock.time())
    eng.play_tone(TONES_NA["dial"])

    def pump() -> None:
        eng.handle_timer(clock.time())
        when = eng.get_timer()
        if when is not None:
            clock.call_at(when, pump)

    clock.call_at(eng.get_timer(), pump)  # type: ignore[arg-type]
    clock.advance(1.0)
    assert audio.rx_frames == 51 and audio.tx_frames == 51  # paced by the loop clock
    rec = audio.recorded(0.5)
    assert goertzel_dbfs(rec, 350) > -20 and goertzel_dbfs(rec, 440) > -20
    eng.play_tone(dtmf_spec("5"))
    clock.advance(0.5)
    assert not eng.tone_playing  # a one-shot tone ends by itself
    assert audio.dominant_hz(0.1) is None


def test_next_period_at_is_on_the_grid_idle_or_busy(clock: VirtualClock) -> None:
    """A call that starts while the engine idles (the callee answering) must still get
    the engine's grid, not ``now``: its packets then go out in the period's wake-up."""
    eng = MediaEngine(MockAudio(clock))
    assert eng.next_period_at(clock.time()) is None  # not started
    eng.start(clock.time())
    t0 = clock.time()
    assert eng.get_timer() is None  # idle: no periods run
    for now in (t0, t0 + 0.0001, t0 + 0.0199, t0 + 0.02, t0 + 7.3456):
        at = eng.next_period_at(now)
        assert at is not None and at >= now - 1e-9 and at - now < 0.02 + 1e-9
        assert abs((at - t0) / 0.02 - round((at - t0) / 0.02)) < 1e-6
    assert eng.next_period_at(t0 + 0.02) == pytest.approx(t0 + 0.02)
    assert eng.next_period_at(t0 + 0.0201) == pytest.approx(t0 + 0.04)


def test_missing_device_does_not_stop_the_engine(clock: VirtualClock) -> None:
    audio = MockAudio(clock, fail_open="no such card")
    eng = MediaEngine(audio)
    assert not eng.start(clock.time())
    assert "no such card" in (eng.device_error or "")
    eng.handle_timer(clock.time() + 0.1)  # still paced, nothing raises
    assert eng.periods == 6 and eng.capture_missed == 6


def test_mock_audio_injection_and_tone() -> None:
    audio = MockAudio()
    audio.open()
    audio.inject(b"\x01\x00" * 100)
    first = np.frombuffer(audio.read_period(), "<i2")  # type: ignore[arg-type]
    assert (first[:100] == 1).all() and (first[100:] == 0).all()
    audio.set_tone(1000)
    chunks = b"".join(audio.read_period() for _ in range(25))  # type: ignore[misc]
    assert dominant_frequency(chunks) == pytest.approx(1000, abs=2)
    audio.close()
    assert audio.read_period() is None
