"""Run by test_pi_rate_fallback.py in a subprocess whose ALSA_CONFIG_PATH defines
file-plugin PCMs ``card_cap`` / ``card_play``; prints one JSON line of findings.

The card is made to refuse 8 and 16 kHz the way a 48 kHz-only ``hw:`` device
does (an error from hw_params), everything else is real pyalsaaudio + ALSA.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import alsaaudio
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hal.pi.rate_fallback import open_voice_pcm  # noqa: E402


def opener(kind: int, device: str, tried: list[int]):
    def open_at(rate: int, period: int):
        tried.append(rate)
        if rate != 48000:
            raise OSError(f"ALSA device {device!r} unavailable: Invalid argument")
        return alsaaudio.PCM(kind, alsaaudio.PCM_NORMAL, device=device, rate=rate, channels=1,
                             format=alsaaudio.PCM_FORMAT_S16_LE, periodsize=period, periods=4)
    return open_at


class Only48k:
    """The alsaaudio module as seen with a 48 kHz-only card: PCM() refuses other rates."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def __getattr__(self, name: str):
        return getattr(alsaaudio, name)

    def PCM(self, *args, rate: int = 44100, **kw):  # noqa: N802 - pyalsaaudio's name
        self.asked.append(rate)
        if rate != 48000:
            raise alsaaudio.ALSAAudioError("Invalid argument [hw_params]")
        return alsaaudio.PCM(*args, rate=rate, **kw)


def through_alsa_audio() -> dict[str, object]:
    """hal.pi.audio.AlsaAudio itself on that card: 8 kHz periods in and out."""
    fake = Only48k()
    sys.modules["alsaaudio"] = fake  # AlsaAudio.open() imports it
    try:
        from hal.pi.audio import AlsaAudio

        dev = AlsaAudio(capture="card_cap", playback="card_play2", paced=False)
        dev.open()
        periods = [dev.read_period() for _ in range(25)]
        t = np.arange(25 * 160) / 8000
        voice = np.rint(10000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()
        for i in range(25):
            dev.write_period(voice[i * 320:(i + 1) * 320])
        dev.close()
    finally:
        sys.modules["alsaaudio"] = alsaaudio
    return {"aa_asked": fake.asked, "aa_period_bytes": sorted({len(p or b"") for p in periods}),
            "aa_captured": b"".join(p or b"" for p in periods).hex()}


def main() -> None:
    cap_rates: list[int] = []
    play_rates: list[int] = []
    cap = open_voice_pcm(opener(alsaaudio.PCM_CAPTURE, "card_cap", cap_rates), "card_cap", period_frames=160)
    frames, chunks = [], []
    for _ in range(50):
        n, data = cap.read()
        frames.append(n)
        chunks.append(data)
    device_rate = cap.rate
    cap.close()
    play = open_voice_pcm(opener(alsaaudio.PCM_PLAYBACK, "card_play", play_rates), "card_play",
                          period_frames=160)
    t = np.arange(50 * 160) / 8000
    voice = np.rint(10000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()
    for i in range(50):
        play.write(voice[i * 320:(i + 1) * 320])
    play.close()
    print(json.dumps({"capture_rates": cap_rates, "play_rates": play_rates,
                      "capture_device_rate": device_rate, "frames_per_read": frames,
                      "captured": b"".join(chunks).hex(), **through_alsa_audio()}))


if __name__ == "__main__":
    main()
