"""hal.pi.audio.AlsaAudio follows the call's rate: a G.722 call reopens the card at 16 kHz.

pyalsaaudio is replaced by a small fake module (what the class calls on it),
so this runs without ALSA; the real file-plugin path is covered by
test_pi_rate_fallback.py.
"""

from __future__ import annotations

import itertools
import sys
import types
from typing import Any

import pytest

from hal.pi.audio import AlsaAudio

_fds = itertools.count(100)


class _Pcm:
    def __init__(self, kind: int, mode: int, *, device: str, rate: int, periodsize: int,
                 **_kw: Any) -> None:
        self.kind, self.rate, self.period = kind, rate, periodsize
        self.fd = next(_fds)
        self.closed = False
        self.written: list[bytes] = []

    def info(self) -> dict[str, Any]:
        return {"rate": self.rate}

    def polldescriptors(self) -> list[tuple[int, int]]:
        return [(self.fd, 1)]

    def write(self, data: bytes) -> int:
        self.written.append(data)
        return len(data) // 2

    def read(self) -> tuple[int, bytes]:
        return self.period, bytes(2 * self.period)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_alsa(monkeypatch: pytest.MonkeyPatch) -> list[_Pcm]:
    opened: list[_Pcm] = []
    mod = types.ModuleType("alsaaudio")

    class ALSAAudioError(Exception):
        pass

    def pcm(*args: Any, **kw: Any) -> _Pcm:
        p = _Pcm(*args, **kw)
        opened.append(p)
        return p

    mod.ALSAAudioError = ALSAAudioError  # type: ignore[attr-defined]
    mod.PCM = pcm  # type: ignore[attr-defined]
    mod.PCM_CAPTURE, mod.PCM_PLAYBACK, mod.PCM_NONBLOCK = 1, 0, 2  # type: ignore[attr-defined]
    mod.PCM_FORMAT_S16_LE = 2  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "alsaaudio", mod)
    return opened


def test_set_rate_reopens_at_16khz_with_20ms_periods(fake_alsa: list[_Pcm]) -> None:
    dev = AlsaAudio()
    dev.open()
    assert [(p.rate, p.period) for p in fake_alsa] == [(8000, 160), (8000, 160)]
    fds = dev.poll_descriptors()
    assert dev.set_rate(16000)
    assert all(p.closed for p in fake_alsa[:2])
    assert [(p.rate, p.period) for p in fake_alsa[2:]] == [(16000, 320), (16000, 320)]
    assert dev.format.rate == 16000 and dev.format.period_bytes == 640
    assert dev.poll_descriptors() != fds  # the shell must wait on the new ones
    assert len(dev.read_period() or b"") == 640
    assert dev.set_rate(16000) and len(fake_alsa) == 4  # same rate: nothing reopened
    assert not dev.set_rate(44100) and dev.format.rate == 16000


def test_set_rate_while_closed_only_changes_the_format(fake_alsa: list[_Pcm]) -> None:
    dev = AlsaAudio()
    assert dev.set_rate(16000) and fake_alsa == []
    dev.open()
    assert [p.rate for p in fake_alsa] == [16000, 16000]
