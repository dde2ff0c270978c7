"""A sound card that refuses 8 kHz is run at 16/48 kHz and resampled (hal.pi.rate_fallback).

The refusal is played by fakes with the two behaviours real ``hw:`` devices
show (an error, or ``set_rate_near`` granting another rate); the resampled
data path also runs through ALSA itself (file plugin) in a subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from peers_proc import require_module

from hal.pi.rate_fallback import ResampledPcm, open_voice_pcm
from hal.resample import IntegerResampler

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland

HERE = Path(__file__).resolve().parent


def tone(hz: float, rate: int, seconds: float, amp: float = 10000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.rint(amp * np.sin(2 * np.pi * hz * t)).astype("<i2")


def dominant(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-9))


@pytest.mark.parametrize("rate", [16000, 48000])
def test_up_then_down_keeps_a_voice_band_tone(rate: int) -> None:
    src = tone(1000, 8000, 1.0)
    up, down = IntegerResampler(rate), IntegerResampler(rate)
    high = np.concatenate([up.up(src[i:i + 160]) for i in range(0, len(src), 160)])
    assert len(high) == len(src) * rate // 8000
    assert dominant(high[rate // 2:], rate) == pytest.approx(1000, abs=5)
    back = np.concatenate([down.down(high[i:i + 960]) for i in range(0, len(high), 960)])
    assert len(back) == len(src)
    tail = slice(4000, None)  # past the filters' start-up
    assert abs(rms_db(back[tail]) - rms_db(src[tail])) < 0.5
    assert dominant(back[tail], 8000) == pytest.approx(1000, abs=5)


def test_down_removes_what_would_alias_into_the_voice_band() -> None:
    """5 kHz at 48 kHz would fold to 3 kHz at 8 kHz; the anti-alias filter removes it."""
    src = tone(5000, 48000, 0.5)
    out = IntegerResampler(48000).down(src)
    assert rms_db(out[1000:]) < rms_db(src) - 50


def test_period_by_period_equals_all_at_once_whatever_the_block_sizes() -> None:
    rng = np.random.default_rng(7)
    src = rng.integers(-20000, 20000, 48000 // 2).astype("<i2")
    whole = IntegerResampler(48000).down(src)
    chunked_rs = IntegerResampler(48000)
    cuts = np.cumsum(rng.integers(1, 2000, 40))
    pieces = np.split(src, cuts[cuts < len(src)])
    chunked = np.concatenate([chunked_rs.down(p) for p in pieces])
    assert np.array_equal(whole, chunked)
    low = src[:4000]
    up_rs = IntegerResampler(16000)
    assert np.array_equal(IntegerResampler(16000).up(low),
                          np.concatenate([up_rs.up(low[:1234]), up_rs.up(low[1234:])]))


def test_empty_blocks_change_nothing() -> None:
    rs, ref = IntegerResampler(48000), IntegerResampler(48000)
    x = tone(1000, 48000, 0.05)
    assert len(rs.down(x[:0])) == 0 and len(rs.up(x[:0])) == 0
    assert np.array_equal(rs.down(x), ref.down(x))
    assert np.array_equal(rs.up(x[:160]), ref.up(x[:160]))


def test_full_scale_input_saturates_instead_of_wrapping() -> None:
    square = np.tile(np.array([32767] * 4 + [-32768] * 4, dtype="<i2"), 200)
    out = IntegerResampler(48000).up(square)
    assert out.dtype == np.dtype("<i2") and out.max() == 32767 and out.min() == -32768


def test_only_integer_multiples_of_8khz() -> None:
    with pytest.raises(ValueError, match="44100"):
        IntegerResampler(44100)


class FakeDevice:
    """One opened PCM: ``asked`` is the rate requested, ``granted`` what the card runs at."""

    def __init__(self, rate: int, period: int, granted: int) -> None:
        self.asked, self.period, self.granted = rate, period, granted
        self.closed = False
        self.written: list[bytes] = []
        self.to_read: list[tuple[int, bytes]] = []

    def info(self) -> dict[str, Any]:
        return {"rate": self.granted, "period_size": self.period}

    def close(self) -> None:
        self.closed = True

    def write(self, data: bytes) -> int:
        self.written.append(data)
        return len(data) // 2

    def read(self) -> tuple[int, bytes]:
        return self.to_read.pop(0)

    def polldescriptors(self) -> list[tuple[int, int]]:
        return [(99, 1)]


class FakeCard:
    """A card clocked only at ``supported`` rates; ``near`` mimics set_rate_near (else it errors)."""

    def __init__(self, supported: tuple[int, ...], near: bool) -> None:
        self.supported, self.near = supported, near
        self.opened: list[FakeDevice] = []

    def open_at(self, rate: int, period: int) -> FakeDevice:
        if rate not in self.supported:
            if not self.near:
                raise OSError(f"ALSA device 'hw:1,0' unavailable: Invalid argument [{rate}]")
            rate_granted = min(self.supported, key=lambda r: abs(r - rate))
        else:
            rate_granted = rate
        dev = FakeDevice(rate, period, rate_granted)
        self.opened.append(dev)
        return dev


def test_a_card_that_does_8khz_is_used_as_is(caplog: pytest.LogCaptureFixture) -> None:
    card = FakeCard((8000, 48000), near=True)
    with caplog.at_level(logging.WARNING, logger="hal.pi.rate_fallback"):
        pcm = open_voice_pcm(card.open_at, "hw:1,0", period_frames=160)
    assert pcm is card.opened[0] and (pcm.asked, pcm.period) == (8000, 160)
    assert caplog.records == []


def test_a_card_refusing_8khz_runs_at_16khz_with_the_period_scaled(caplog: pytest.LogCaptureFixture) -> None:
    card = FakeCard((16000, 48000), near=False)
    with caplog.at_level(logging.WARNING, logger="hal.pi.rate_fallback"):
        pcm = open_voice_pcm(card.open_at, "hw:1,0", period_frames=160)
    assert isinstance(pcm, ResampledPcm) and pcm.rate == 16000
    assert [(d.asked, d.period) for d in card.opened] == [(16000, 320)]
    assert "refuses 8000 Hz" in caplog.text and "running it at 16000 Hz" in caplog.text
    assert pcm.info()["rate"] == 8000 and pcm.info()["device_rate"] == 16000


def test_set_rate_near_granting_48khz_is_detected_not_trusted() -> None:
    """The chipmunk bug: asked for 8 kHz, a 48 kHz-only card says yes and runs at 48 kHz."""
    card = FakeCard((48000,), near=True)
    pcm = open_voice_pcm(card.open_at, "hw:1,0", period_frames=160)
    assert [(d.asked, d.granted, d.closed) for d in card.opened] == [
        (8000, 48000, True), (16000, 48000, True), (48000, 48000, False)]
    assert isinstance(pcm, ResampledPcm) and pcm.rate == 48000 and pcm.factor == 6


def test_a_card_with_no_usable_rate_is_a_clear_oserror() -> None:
    card = FakeCard((44100,), near=True)
    with pytest.raises(OSError) as err:
        open_voice_pcm(card.open_at, "hw:1,0", period_frames=160)
    msg = str(err.value)
    assert "'hw:1,0'" in msg and "8000 Hz: device runs at 44100 Hz" in msg and "48000 Hz" in msg
    assert all(d.closed for d in card.opened)


def test_resampled_pcm_speaks_8khz_frames_to_the_caller() -> None:
    dev = FakeDevice(48000, 960, 48000)
    pcm = ResampledPcm(dev, 48000)
    assert pcm.write(bytes(320)) == 160  # one 20 ms period in, six times the frames to the card
    assert len(dev.written[0]) == 960 * 2
    dev.to_read = [(960, tone(1000, 48000, 0.02).tobytes()), (-32, b""), (0, b"")]
    n, data = pcm.read()
    assert (n, len(data)) == (160, 320)
    assert pcm.read() == (-32, b"")  # overrun passes through
    assert pcm.read() == (0, b"")
    assert pcm.polldescriptors() == [(99, 1)]
    pcm.close()
    assert dev.closed


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """alsa_rate_driver.py run once, in a subprocess whose ALSA config defines file-plugin PCMs."""
    require_module("alsaaudio")
    tmp_path = tmp_path_factory.mktemp("alsa_rate")
    (tmp_path / "cap_in.raw").write_bytes(tone(1000, 48000, 5.0).tobytes())
    conf = tmp_path / "asound.conf"
    conf.write_text(
        f'pcm.card_cap {{ type file slave.pcm "null" file "/dev/null" infile "{tmp_path}/cap_in.raw" format "raw" }}\n'
        f'pcm.card_play {{ type file slave.pcm "null" file "{tmp_path}/play_out.raw" format "raw" }}\n'
        f'pcm.card_play2 {{ type file slave.pcm "null" file "{tmp_path}/play_out2.raw" format "raw" }}\n'
    )
    env = dict(os.environ, ALSA_CONFIG_PATH=f"/usr/share/alsa/alsa.conf:{conf}")
    proc = subprocess.run([sys.executable, str(HERE / "alsa_rate_driver.py")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), tmp_path


def test_through_alsa_file_plugin_at_48khz(driver: tuple[dict[str, Any], Path]) -> None:
    """Real pyalsaaudio + ALSA: a 48 kHz capture file is read as 8 kHz voice, and 8 kHz
    voice written comes out of the playback file as 48 kHz samples of the same tone."""
    res, tmp_path = driver
    assert res["capture_rates"] == [8000, 16000, 48000] and res["play_rates"] == [8000, 16000, 48000]
    assert res["capture_device_rate"] == 48000 and res["frames_per_read"] == [160] * 50
    captured = np.frombuffer(bytes.fromhex(res["captured"]), dtype="<i2")
    assert dominant(captured[800:], 8000) == pytest.approx(1000, abs=10)
    played = np.frombuffer((tmp_path / "play_out.raw").read_bytes(), dtype="<i2")
    assert len(played) == 50 * 960
    assert dominant(played[4800:], 48000) == pytest.approx(440, abs=10)
    assert abs(rms_db(played[4800:]) - rms_db(tone(440, 8000, 1.0))) < 0.5


def test_alsa_audio_backend_on_a_48khz_only_card(driver: tuple[dict[str, Any], Path]) -> None:
    """hal.pi.audio.AlsaAudio on a card whose hw_params refuse 8 and 16 kHz: it opens at
    48 kHz and still hands the media engine 20 ms periods of 8 kHz voice, both ways."""
    res, tmp_path = driver
    # capture then playback: each tries 8000, 16000 and opens at 48000
    assert res["aa_asked"] == [8000, 16000, 48000, 8000, 16000, 48000]
    assert res["aa_period_bytes"] == [320]
    captured = np.frombuffer(bytes.fromhex(res["aa_captured"]), dtype="<i2")
    assert dominant(captured[800:], 8000) == pytest.approx(1000, abs=10)
    played = np.frombuffer((tmp_path / "play_out2.raw").read_bytes(), dtype="<i2")
    # 25 voice periods of 960 frames at 48 kHz (plus a period of silence if the
    # backend primes the earpiece; the file plugin may hold the last one at close)
    assert 24 * 960 <= len(played) <= 26 * 960
    assert dominant(played[4800:], 48000) == pytest.approx(440, abs=10)


def test_wideband_voice_at_16khz_on_a_48khz_card_keeps_a_5khz_tone() -> None:
    """G.722 runs the audio path at 16 kHz: the same fallback, x3, with a 7.2 kHz band."""
    card = FakeCard((48000,), near=False)
    pcm = open_voice_pcm(card.open_at, "hw:1,0", period_frames=320, voice_rate=16000)
    assert [(d.asked, d.period) for d in card.opened] == [(48000, 960)]
    assert isinstance(pcm, ResampledPcm) and pcm.factor == 3 and pcm.info()["rate"] == 16000
    src = tone(5000, 16000, 1.0)
    up, down = IntegerResampler(48000, 16000), IntegerResampler(48000, 16000)
    back = np.concatenate([down.down(up.up(src[i:i + 320])) for i in range(0, len(src), 320)])
    assert dominant(back[4000:], 16000) == pytest.approx(5000, abs=10)
    assert abs(rms_db(back[4000:]) - rms_db(src[4000:])) < 0.5
