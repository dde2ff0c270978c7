"""Bench (1): CPU seconds per minute of a two-way G.711 call, ours vs baresip, same run.

Our side is the whole phone as it ships (``--stack app``, the default:
bench/app_call_driver.py runs a ``firmware.demo.network`` handset: App,
CorePumps, UdpMediaIO, MediaStream, MediaEngine on MockAudio, SIP over UDP,
driven by the control API); ``--stack media`` is the media stack alone on
the lean ``firmware.net.rtp`` shell (tests/media/sip_call_driver.py), which
the product does not use. The peer is baresip 1.0 carrying the same call.
Both run in a private network namespace on 127.0.0.x (see
tests/media/baresip_peer.py). CPU is the scheduler's run time of every thread
over the same window (/proc/PID/task/*/schedstat, nanoseconds; /proc/PID/stat's
10 ms ticks are too coarse at 1% of a core). Needs root (ip netns) and baresip.

Is it the same work on both sides? Each side captures a tone, encodes G.711,
sends RTP every 20 ms, receives, runs a jitter buffer, decodes and sends RTCP.
With ``--peer-audio file`` (default) baresip's source is a wav (aufile, whose
thread polls every 4 ms) and its player is an aubridge device with no source
of the same name, whose thread never starts: baresip decodes into its buffer
but nothing plays it out, while our earpiece gets every period.
``--peer-audio echo`` makes baresip's source that player's aubridge, so its
playout runs too (and we hear our own tone back): on 2026-12-03 both gave
baresip 0.78-0.87 CPU-s/min, the same within the noise, so the default's
missing playout does not flatter baresip measurably.

Why windows and medians: at about 1% of a core each, both figures move by
tens of percent with whatever else the 2-core machine runs. Each call is cut
into ``--windows`` back-to-back windows; both processes are measured over the
same window, so each window gives one ratio, and the median ratio (with the
range and the 1-minute load average) is the figure. ``--calls`` repeats the
call; ``--ab`` (with ``--stack media``) alternates calls between the current
shell (one loop wake-up per period, RTP drained by the audio pump) and the
previous one (a socket reader waking the loop for each packet, ``POLL_RX=0``,
and numpy's OpenBLAS worker threads, which the firmware now turns off), so
both are measured under the same load. For a noise-free figure see
bench_media_instr.py (instructions under callgrind).

usage: python bench/bench_media_cpu.py [--seconds 60] [--windows 6] [--calls 2]
                                        [--stack app|media] [--peer-audio file|echo] [--ab]
                                        [--floor]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from media.baresip_peer import available, baresip, netns, tone_wav  # noqa: E402

# ``--floor``: processes that only wake every 20 ms, measured over the same windows, to
# split a call's CPU into the cost of waking 50 times a second and the work per wake:
#   asyncio: an asyncio loop woken by a timer (what the product card's one loop costs
#            before any media work)
#   python:  a plain CPython loop sleeping to the next 20 ms mark (the interpreter alone)
#   c:       the same loop in C (what waking costs any native phone on this machine;
#            built with cc when there is one)
FLOOR_ASYNCIO = """
import asyncio
async def main():
    loop = asyncio.get_running_loop()
    t = loop.time()
    k = 0
    while True:
        k += 1
        done = loop.create_future()
        loop.call_at(t + 0.02 * k, done.set_result, None)
        await done
asyncio.run(main())
"""
FLOOR_PYTHON = """
import time
t = time.monotonic()
k = 0
while True:
    k += 1
    time.sleep(max(0.0, t + 0.02 * k - time.monotonic()))
"""
FLOOR_C = r"""
#include <time.h>
int main(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    for (;;) {
        t.tv_nsec += 20000000L;
        if (t.tv_nsec >= 1000000000L) { t.tv_sec += 1; t.tv_nsec -= 1000000000L; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, 0);
    }
}
"""


def floor_commands(d: Path) -> dict[str, list[str]]:
    """The floor processes to start: the C one only where a C compiler builds it."""
    cmds = {"asyncio": [sys.executable, "-c", FLOOR_ASYNCIO],
            "python": [sys.executable, "-c", FLOOR_PYTHON]}
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:
        (d / "floor.c").write_text(FLOOR_C)
        if subprocess.run([cc, "-O2", "-o", str(d / "floor"), str(d / "floor.c")],
                          capture_output=True).returncode == 0:
            cmds["c"] = [str(d / "floor")]
    return cmds


def one_call(ns: str, d: Path, seconds: float, windows: int, poll_rx: bool,
             peer_audio: str = "file", stack: str = "app", floor: bool = False) -> dict | None:
    wav = tone_wav(d / "tone.wav", 440.0, seconds + 20)
    src = "aubridge,a" if peer_audio == "echo" else f"aufile,{wav}"
    with baresip(ns, d / "peer", 5091, (10000, 10019), src, "aubridge,a") as peer:
        total = seconds + 4.0
        env = {**os.environ, "WINDOWS": str(windows), "POLL_RX": "1" if poll_rx else "0",
               "PEER_TONE": "1000" if peer_audio == "echo" else "440"}
        if not poll_rx:  # the old process also had OpenBLAS's per-core worker threads
            env["OPENBLAS_NUM_THREADS"] = str(os.cpu_count() or 1)
        driver = (ROOT / "bench/app_call_driver.py" if stack == "app"
                  else ROOT / "tests/media/sip_call_driver.py")
        idle: dict[str, subprocess.Popen[bytes]] = {}
        if floor and stack == "app":
            idle = {k: subprocess.Popen(c) for k, c in floor_commands(d).items()}
            env["FLOORS"] = ",".join(f"{k}={p.pid}" for k, p in idle.items())
        try:
            proc = subprocess.run(
                ["ip", "netns", "exec", ns, sys.executable, str(driver), "127.0.0.1:5091",
                 "127.0.0.2", "1000", str(total), str(peer.pid), str(seconds)],
                capture_output=True, text=True, timeout=total + 60, env=env)
        finally:
            for p in idle.values():
                p.terminate()
                p.wait()
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        return None
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in r:
        print("call failed:", r["error"])
        return None
    return r


def summary(label: str, rs: list[dict]) -> None:
    ws = [w for r in rs for w in r["windows"]]
    ours = [60 * w["our_cpu_s"] / w["wall_s"] for w in ws]
    peer = [60 * w["peer_cpu_s"] / w["wall_s"] for w in ws]
    ratio = [w["our_cpu_s"] / w["peer_cpu_s"] for w in ws if w["peer_cpu_s"] > 0]
    load = [w["load1"] for w in ws]
    print(f"{label}: {len(ws)} windows of {ws[0]['wall_s']:.1f} s, load {min(load):.2f}-{max(load):.2f}")
    print(f"  ours    CPU-s/min median {statistics.median(ours):.3f} "
          f"(range {min(ours):.3f}-{max(ours):.3f}), max RSS {rs[-1]['max_rss_kb'] / 1024:.1f} MB")
    print(f"  baresip CPU-s/min median {statistics.median(peer):.3f} "
          f"(range {min(peer):.3f}-{max(peer):.3f})")
    if ratio:
        print(f"  ratio ours/baresip per window: median {statistics.median(ratio):.2f}x "
              f"(range {min(ratio):.2f}-{max(ratio):.2f}x; target <= 1.2x)")
    names = [k[:-len("_cpu_s")] for k in ws[0] if k.endswith("_cpu_s")]
    if any(n.startswith("floor_") for n in names):
        print("  per process (medians): CPU-s/min, wake-ups/s, CPU per wake-up, CPU/baresip's")
        for name in names:
            cpu = [60 * w[f"{name}_cpu_s"] / w["wall_s"] for w in ws]
            wakes = [w[f"{name}_wakes"] / w["wall_s"] for w in ws]
            per = [1e6 * w[f"{name}_cpu_s"] / w[f"{name}_wakes"] for w in ws if w[f"{name}_wakes"]]
            rel = [w[f"{name}_cpu_s"] / w["peer_cpu_s"] for w in ws if w["peer_cpu_s"] > 0]
            label = {"our": "ours (the phone)", "peer": "baresip"}.get(
                name, f"floor: {name[len('floor_'):]} loop woken every 20 ms")
            print(f"    {label:<40} {statistics.median(cpu):6.3f} {statistics.median(wakes):7.1f}/s "
                  f"{statistics.median(per) if per else 0:7.1f} us {statistics.median(rel):5.2f}x")


def main() -> int:
    print("load average before the run: {:.2f} {:.2f} {:.2f} on {} CPUs".format(
        *os.getloadavg(), os.cpu_count()))
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0, help="measured time per call")
    ap.add_argument("--windows", type=int, default=6, help="windows per call")
    ap.add_argument("--calls", type=int, default=1, help="calls (per variant with --ab)")
    ap.add_argument("--ab", action="store_true", help="alternate with the one-reader-per-packet shell")
    ap.add_argument("--peer-audio", choices=("file", "echo"), default="file",
                    help="baresip's source: a 440 Hz wav (its player idle), or its own player")
    ap.add_argument("--floor", action="store_true",
                    help="also measure loops that only wake every 20 ms (asyncio, CPython, C)")
    ap.add_argument("--stack", choices=("app", "media"), default="app",
                    help="our side: the whole phone (as shipped) or the media stack alone")
    args = ap.parse_args()
    if args.ab:
        args.stack = "media"  # the old shell is the media stack's
    why = available()
    if why:
        print(f"skipped: {why}")
        return 0
    variants = [True, False] if args.ab else [True]
    results: dict[bool, list[dict]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp, netns("pibench") as ns:
        for i in range(args.calls):
            for v in variants:
                d = Path(tmp) / f"call{i}{int(v)}"
                d.mkdir()
                r = one_call(ns, d, args.seconds, args.windows, v, args.peer_audio, args.stack,
                             args.floor)
                if r is None:
                    return 1
                print(f"call {i + 1} ({'poll_rx' if v else 'reader'}): codec {r['codec']}, "
                      f"heard {r['heard_hz']:.0f} Hz, received {r['stats']['packets_received']}"
                      f" / sent {r['stats']['packets_sent']} packets")
                results[v].append(r)
    summary("ours = the whole phone (App)" if args.stack == "app"
            else "ours = media stack, one wake-up per period (poll_rx)", results[True])
    if args.ab:
        summary("ours before = a reader per packet, OpenBLAS threads", results[False])
    print("load average after the run: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
