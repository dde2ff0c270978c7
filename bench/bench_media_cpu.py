"""Bench (1): CPU seconds per minute of a two-way G.711 call, ours vs baresip, same run.

Our side is the firmware's media stack (SdpSession, MediaStream, MediaEngine
on MockAudio, the asyncio RTP shell) in one Python process; the peer is
baresip 1.0 (aufile source, aubridge player) carrying the same call. Both run
in a private network namespace on 127.0.0.x (see tests/media/baresip_peer.py).
CPU is user+system time over the same window: getrusage for us,
/proc/PID/stat for baresip. Needs root (ip netns) and baresip.

usage: python bench/bench_media_cpu.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from media.baresip_peer import available, baresip, netns, tone_wav  # noqa: E402


def main() -> int:
    print("load average before the run: {:.2f} {:.2f} {:.2f} on {} CPUs".format(
        *os.getloadavg(), os.cpu_count()))
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0, help="measuring window")
    args = ap.parse_args()
    why = available()
    if why:
        print(f"skipped: {why}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        wav = tone_wav(d / "tone.wav", 440.0, args.seconds + 20)
        with netns("pibench") as ns, baresip(ns, d / "peer", 5091, (10000, 10019),
                                             f"aufile,{wav}", "aubridge,a") as peer:
            total = args.seconds + 4.0
            proc = subprocess.run(
                ["ip", "netns", "exec", ns, sys.executable,
                 str(ROOT / "tests/media/sip_call_driver.py"), "127.0.0.1:5091", "127.0.0.2",
                 "1000", str(total), str(peer.pid), str(args.seconds)],
                capture_output=True, text=True, timeout=total + 60)
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            return 1
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in r:
        print("call failed:", r["error"])
        return 1
    wall, ours, peer_cpu = r["wall_s"], r["our_cpu_s"], r["peer_cpu_s"]
    per_min = 60.0 / wall
    print(f"window {wall:.2f} s, codec {r['codec']}, heard {r['heard_hz']:.0f} Hz, "
          f"received {r['stats']['packets_received']} / sent {r['stats']['packets_sent']} packets")
    print(f"ours    : {ours:.2f} CPU-s = {ours * per_min:.2f} CPU-s/min "
          f"({100 * ours / wall:.2f}% of one core), max RSS {r['max_rss_kb'] / 1024:.1f} MB")
    print(f"baresip : {peer_cpu:.2f} CPU-s = {peer_cpu * per_min:.2f} CPU-s/min "
          f"({100 * peer_cpu / wall:.2f}% of one core)")
    ratio = ours / peer_cpu if peer_cpu > 0 else float("inf")
    print(f"ratio ours/baresip: {ratio:.2f}x (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
