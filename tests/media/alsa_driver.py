"""Run in a subprocess by test_alsa_file.py with ALSA_CONFIG_PATH pointing at a
config that defines file-plugin PCMs; prints one JSON line of findings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware.media.analysis import dominant_frequency  # noqa: E402
from hal.clock import VirtualClock  # noqa: E402
from hal.pi.audio import AlsaAudio  # noqa: E402


def raw_io(tmp: Path) -> dict[str, object]:
    """Known samples in through capture, known samples out through playback."""
    dev = AlsaAudio(capture="phone_cap", playback="phone_play", paced=False)
    dev.open()
    fds = dev.poll_descriptors()
    got = b"".join(dev.read_period() or b"" for _ in range(50))
    ramp = (np.arange(50 * 160) % 2000 - 1000).astype("<i2").tobytes()
    for i in range(50):
        dev.write_period(ramp[i * 320:(i + 1) * 320])
    dev.close()
    infile = (tmp / "cap_in.raw").read_bytes()
    out = (tmp / "play_out.raw").read_bytes()
    return {"capture_equal": got == infile[:len(got)], "captured": len(got),
            # the backend primes the earpiece with one period of silence
            "played_equal": out[:len(ramp) + 320] == bytes(320) + ramp,
            "played": len(out), "poll_fds": len(fds),
            "has_clock": dev.has_clock}


def call(tmp: Path) -> dict[str, object]:
    """Our engine on the ALSA file device, in a call with a mock-audio peer."""
    from media.harness import call as make_call  # tests/media/harness.py

    clock = VirtualClock()
    a, b = make_call(clock)
    a.engine.stop()
    a.engine.audio = AlsaAudio(capture="phone_cap", playback="phone_play2", paced=False)
    a.start_audio()
    b.audio.set_tone(440)
    clock.advance(3.0)
    a.engine.stop()
    played = (tmp / "play_out2.raw").read_bytes()
    return {"alsa_heard_hz": dominant_frequency(played[-8000:]),
            "peer_heard_hz": b.audio.dominant_hz(1.0), "error": a.engine.device_error}


def missing() -> dict[str, object]:
    dev = AlsaAudio(capture="no_such_pcm", playback="no_such_pcm")
    try:
        dev.open()
    except OSError as exc:
        return {"missing_error": str(exc)}
    return {"missing_error": None}


if __name__ == "__main__":
    tmp = Path(sys.argv[1])
    result = {**raw_io(tmp), **call(tmp), **missing()}
    print(json.dumps(result))
