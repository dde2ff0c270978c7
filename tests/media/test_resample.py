"""2:1 resampling for G.711 on a 16 kHz handset (``hal.resample``, the one resampler, as
``framecodec`` uses it): level kept, no frame-boundary clicks, and what would alias is
filtered out. The 48 kHz paths are in tests/hal/test_pi_rate_fallback.py."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.media.analysis import dominant_frequency, goertzel_dbfs, level_dbfs
from firmware.media.framecodec import make_codec
from firmware.media.tones import sine
from hal.resample import Downsampler, Upsampler

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def frames(pcm: bytes, n: int) -> list[bytes]:
    return [pcm[i:i + n] for i in range(0, len(pcm), n)]


def test_down_then_up_in_20ms_frames_is_clean() -> None:
    x = sine(1000, 1.0, rate=16000, level_dbfs=-10)
    down, up = Downsampler(), Upsampler()
    mid = b"".join(down.process(f) for f in frames(x, 640))
    assert len(mid) == len(x) // 2
    y = b"".join(up.process(f) for f in frames(mid, 320))
    assert dominant_frequency(y[3200:], rate=16000) == pytest.approx(1000, abs=2)
    assert level_dbfs(y[3200:]) == pytest.approx(-10, abs=0.3)
    # whatever is not the tone (clicks at frame edges would be) stays 50 dB down
    seg = np.frombuffer(y[3200:], "<i2").astype(np.float64)
    t = np.arange(seg.size) / 16000
    basis = np.stack([np.sin(2 * np.pi * 1000 * t), np.cos(2 * np.pi * 1000 * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, seg, rcond=None)
    residual = seg - basis @ coef
    assert level_dbfs(residual) < -60


def test_downsampling_removes_what_would_alias() -> None:
    x = sine(6000, 0.5, rate=16000, level_dbfs=-6)  # above 4 kHz: would fold to 2 kHz
    y = Downsampler().process(x)
    assert goertzel_dbfs(y[400:], 2000, rate=8000) < -30


def test_g711_on_a_16khz_handset_goes_through_the_resampler() -> None:
    """The codec a 16 kHz device gets for PCMU: 640-byte frames in, 160 octets out, and back."""
    enc, dec = make_codec("PCMU", 16000), make_codec("PCMU", 16000)
    x = sine(1000, 1.0, rate=16000, level_dbfs=-10)
    payloads = [enc.encode(f) for f in frames(x, 640)]
    assert {len(p) for p in payloads} == {160}
    y = b"".join(dec.decode(p) for p in payloads)
    assert len(y) == len(x)
    assert dominant_frequency(y[3200:], rate=16000) == pytest.approx(1000, abs=2)
    assert level_dbfs(y[3200:]) == pytest.approx(-10, abs=0.5)
