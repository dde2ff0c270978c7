"""Bench (1b): our per-call CPU as an instruction count, noise-free.

Why: CPU seconds of a 1%-of-a-core process on a shared 2-core machine swing
by tens of percent with the neighbours' load. Instructions do not: under
``valgrind --tool=callgrind`` the count is the same whatever else runs. This
script runs one two-way G.711 call entirely in one process on 127.0.0.1: two
of our phones (MediaEngine on MockAudio + MediaStream + the asyncio RTP shell
each) calling each other for ``--seconds``. The whole program is counted once
for a short and once for a long call; the difference divided by the extra
seconds and by two phones is one phone's instructions per second of call,
with Python's start-up and imports cancelled out. The same subtraction is
done for baresip by ``bench_media_cpu.py --callgrind``.

usage: python bench/bench_media_instr.py [--seconds 5]            (run the call)
       python bench/bench_media_instr.py --callgrind [--short 2 --long 8]
       python bench/bench_media_instr.py --profile [--seconds 20]  (cProfile, top 25)
"""

from __future__ import annotations

import argparse
import asyncio
import os

# as firmware/__main__.py: no OpenBLAS worker threads spinning beside the loop
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.media.codecs import PCMU  # noqa: E402
from firmware.media.engine import MediaEngine  # noqa: E402
from firmware.media.ports import PortAllocator  # noqa: E402
from firmware.media.sdp import Negotiated  # noqa: E402
from firmware.media.stream import MediaStream  # noqa: E402
from firmware.net.rtp import AudioPump, RtpEndpoint  # noqa: E402
from hal.clock import LoopClock  # noqa: E402
from hal.mock.audio import MockAudio  # noqa: E402

# POLL_RX=0: the RTP socket wakes the loop for each packet (the old way), to compare
POLL_RX = os.environ.get("POLL_RX", "1") != "0"


async def call(seconds: float) -> tuple[int, int]:
    """Two phones on 127.0.0.1 calling each other; returns packets received by each."""
    loop = asyncio.get_running_loop()
    phones = []
    alloc = PortAllocator(43000, 43998)
    for i, hz in enumerate((440, 1000)):
        audio = MockAudio(LoopClock(loop))
        audio.set_tone(hz)
        engine = MediaEngine(audio)
        stream = MediaStream(ssrc=0x1000 + i, cname=f"p{i}@127.0.0.1", seq0=i, ts0=i)
        engine.attach(stream)
        # (keyword arguments only when used: the script also runs against older trees)
        ep = RtpEndpoint(stream, loop=loop, audio_next=engine.get_timer,
                         **({"poll_rx": True} if POLL_RX else {}))
        port = await ep.open("127.0.0.1", alloc)
        pump = AudioPump(engine, loop=loop, after_period=ep.tick,
                         **({"before_period": ep.drain} if POLL_RX else {}))
        phones.append((audio, engine, stream, ep, pump, port))
    for i, (_a, engine, stream, ep, pump, _p) in enumerate(phones):
        peer_port = phones[1 - i][5]
        neg = Negotiated(remote_address="127.0.0.1", remote_rtp_port=peer_port,
                         remote_rtcp_port=peer_port + 1, send_codec=PCMU, recv_codecs={0: PCMU})
        pump.start()
        stream.update(neg, loop.time(), t0=engine.get_timer())
        ep.kick()
        await asyncio.sleep(0.0073)  # the two phones' periods out of phase
    await asyncio.sleep(seconds)
    got = tuple(p[2].stats().packets_received for p in phones)
    for _a, _e, _s, ep, pump, _p in phones:
        pump.stop()
        ep.close()
    return got  # type: ignore[return-value]


def callgrind_total(cmd: list[str], tmp: Path, tag: str) -> int:
    """Instructions (Ir) valgrind's callgrind counted for the whole command."""
    out = tmp / f"cg.{tag}"
    proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                           *cmd], capture_output=True, text=True)
    m = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
    if proc.returncode != 0 or not m:
        raise RuntimeError(proc.stderr[-1500:])
    return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--short", type=float, default=2.0)
    ap.add_argument("--long", type=float, default=8.0)
    args = ap.parse_args()
    if args.callgrind:
        me = [sys.executable, str(Path(__file__).resolve())]
        with tempfile.TemporaryDirectory() as tmp:
            short = callgrind_total([*me, "--seconds", str(args.short)], Path(tmp), "s")
            long_ = callgrind_total([*me, "--seconds", str(args.long)], Path(tmp), "l")
        per_s = (long_ - short) / (args.long - args.short) / 2
        print(f"callgrind: {short:,} Ir ({args.short:g} s call), {long_:,} Ir ({args.long:g} s)")
        print(f"ours: {per_s / 1e6:.2f} M instructions per second of call per phone "
              f"= {per_s * 60 / 1e9:.2f} G per minute ({per_s / 50 / 1e3:.0f} k per 20 ms period)")
        return 0
    if args.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
        got = asyncio.run(call(args.seconds))
        prof.disable()
        pstats.Stats(prof).sort_stats(os.environ.get("SORT","tottime")).print_stats(int(os.environ.get("TOP","25")))
        print("received", got)
        return 0
    t = os.times()
    got = asyncio.run(call(args.seconds))
    t2 = os.times()
    cpu = (t2.user - t.user) + (t2.system - t.system)
    print(f"received {got}; {cpu:.2f} CPU-s for two phones over {args.seconds:g} s "
          f"= {cpu / 2 * 60 / args.seconds:.2f} CPU-s/min per phone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
