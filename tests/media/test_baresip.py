"""A real call between our media stack and baresip 1.0 on loopback, audio
verified both ways by tone frequency.

Two baresip instances run in a private network namespace (127.0.0.2 on a
veth, so their SDP stays on loopback): one sends a 440 Hz wav (aufile) and
records nothing (aubridge player), the other echoes (aubridge as player and
source). Our side (tests/media/sip_call_driver.py, inside the namespace)
sends INVITE/ACK/BYE as text; everything else is the firmware's media:
SdpSession, MediaStream, MediaEngine on MockAudio, the asyncio RTP shell.
* baresip -> us: our earpiece hears 440 Hz from the aufile instance;
* us -> baresip: our 1000 Hz microphone tone comes back from the echo
  instance, so baresip decoded it, and re-encoded what it heard;
* a 5 kHz tone echoed through G.722 by a third instance that only takes
  G.722, our side a 16 kHz handset: wideband both ways.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from peers_proc import missing

from .baresip_peer import available, baresip, netns, tone_wav

pytestmark = [pytest.mark.interop, pytest.mark.slow]
HERE = Path(__file__).resolve().parent
WHY = available()


def drive(ns: str, target: str, tone: float, seconds: float, env_extra=None) -> subprocess.Popen:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, str(HERE / "sip_call_driver.py"), target,
         "127.0.0.2", str(tone), str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def test_call_with_baresip_audio_both_ways(tmp_path: Path) -> None:
    if WHY is not None:
        missing(WHY)  # fails in CI
    wav = tone_wav(tmp_path / "tone440.wav", 440.0, 30.0)
    with netns() as ns, \
            baresip(ns, tmp_path / "src", 5091, (10000, 10019), f"aufile,{wav}", "aubridge,a"), \
            baresip(ns, tmp_path / "echo", 5095, (10020, 10039), "aubridge,e", "aubridge,e"), \
            baresip(ns, tmp_path / "wide", 5099, (10040, 10059), "aubridge,w", "aubridge,w",
                    codecs="G722"):
        p1 = drive(ns, "127.0.0.1:5091", 1000.0, 7.0, {"DTMF_DIGITS": "159#"})
        p2 = drive(ns, "127.0.0.1:5095", 1000.0, 4.0)
        p3 = drive(ns, "127.0.0.1:5099", 5000.0, 4.0, {"CODECS": "G722,PCMU",
                                                       "AUDIO_RATE": "16000"})
        r1, r2, r3 = result(p1), result(p2), result(p3)
    src_log = (tmp_path / "src" / "run.log").read_text(errors="replace")
    echo_log = (tmp_path / "echo" / "run.log").read_text(errors="replace")
    assert "error" not in r1 and "error" not in r2, (r1, r2, src_log[-1500:])
    # baresip -> us
    assert r1["heard_hz"] == pytest.approx(440.0, abs=15)
    assert r1["remote"].startswith("127.0.0.2:") and r1["codec"] == "PCMU"
    s1 = r1["stats"]
    assert s1["packets_received"] > 300 and s1["packets_lost"] == 0
    assert s1["malformed"] == 0 and s1["wrong_source"] == 0 and s1["unknown_pt"] == 0
    assert s1["rtcp_received"] >= 1 and s1["rtcp_malformed"] == 0
    # us -> baresip -> us (echo)
    assert r2["heard_hz"] == pytest.approx(1000.0, abs=15)
    assert r2["heard_dbfs"] > -20
    # wideband: a 5 kHz tone (impossible in any 8 kHz path) echoed through G.722
    # (baresip's g722 module, ours libg722 on a 16 kHz handset)
    assert r3.get("codec") == "G722", r3
    assert r3["heard_hz"] == pytest.approx(5000.0, abs=30)
    # baresip's own statistics agree it received our stream
    rx = re.search(r"packets:\s+(\d+)\s+(\d+)", src_log)
    assert rx and int(rx.group(2)) > 300, src_log[-1500:]
    assert "Call established" in echo_log
    # our RFC 4733 digits reached baresip
    assert s1["dtmf_sent"] == 4
    ends = re.findall(r"received event: '(.)' \(end=1\)", src_log)
    assert "".join(ends) == "159#", src_log[-2500:]
