"""The real ALSA backend (pyalsaaudio) through ALSA's file plugin: known samples in,
played samples recorded, and a call whose audio goes through it. Runs in a
subprocess so the test's ALSA configuration (ALSA_CONFIG_PATH) is the only one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from peers_proc import require_module

from firmware.media.tones import sine

require_module("alsaaudio")

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland
HERE = Path(__file__).resolve().parent

CONF = """
pcm.phone_cap {{ type file slave.pcm "null" file "/dev/null" infile "{tmp}/cap_in.raw" format "raw" }}
pcm.phone_play {{ type file slave.pcm "null" file "{tmp}/play_out.raw" format "raw" }}
pcm.phone_play2 {{ type file slave.pcm "null" file "{tmp}/play_out2.raw" format "raw" }}
"""


@pytest.fixture(scope="module")
def alsa_result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("alsa")
    # 20 s of a 1 kHz tone: longer than anything read (past the end the plugin returns junk)
    (tmp / "cap_in.raw").write_bytes(sine(1000, 20.0, level_dbfs=-6))
    conf = tmp / "asound.conf"
    conf.write_text(CONF.format(tmp=tmp))
    env = dict(os.environ, ALSA_CONFIG_PATH=f"/usr/share/alsa/alsa.conf:{conf}")
    proc = subprocess.run([sys.executable, str(HERE / "alsa_driver.py"), str(tmp)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_capture_reads_the_known_samples(alsa_result: dict) -> None:
    assert alsa_result["captured"] == 50 * 320 and alsa_result["capture_equal"]
    assert alsa_result["poll_fds"] >= 1  # non-blocking PCM exposes its poll descriptors
    assert alsa_result["has_clock"] is False  # the file plugin is not paced


def test_playback_records_the_written_samples(alsa_result: dict) -> None:
    assert alsa_result["played_equal"] and alsa_result["played"] >= 50 * 320


def test_call_audio_goes_through_alsa_both_ways(alsa_result: dict) -> None:
    assert alsa_result["error"] is None
    assert alsa_result["peer_heard_hz"] == pytest.approx(1000, abs=20)  # our mic (file) -> peer
    assert alsa_result["alsa_heard_hz"] == pytest.approx(440, abs=20)  # peer -> our earpiece (file)


def test_missing_device_is_a_clear_oserror(alsa_result: dict) -> None:
    assert "no_such_pcm" in alsa_result["missing_error"]
