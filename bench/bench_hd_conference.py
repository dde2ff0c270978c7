"""Bench: CPU of an HD (G.722) call and of a 3-way conference bridge, against a G.711 call.

Why: G.722 doubles the audio rate (16 kHz from microphone to earpiece, twice
the samples through the jitter buffer, the mock device and the codec), and a
conference makes one phone decode two streams, mix, and encode two; both
should stay small next to the G.711 call the phone was tuned for.

Method (the whole app, as bench_app_call.py: ``firmware.demo.network``
handsets in one process on loopback, MockAudio on the loop clock, a tone into
every microphone). Phone B's own cost is the thread CPU time spent in its
audio periods (the engine pump's period wake-up, wrapped here: RTP drained, jitter buffer,
decode, mix, earpiece, microphone, encode, send), per minute of call; SIP and
the event loop's own overhead are not in it. As a cross-check the process
CPU (``time.process_time()``) is reported too, per phone for a call, and for
the conference beyond what its two leaf phones cost in the same round.

* ``g711``: A-B on PCMU.  * ``g722``: A-B on G.722 (16 kHz audio path).
* ``bridge``: B bridges A and C (Confrn), all PCMU: B decodes two streams,
  mixes, encodes two.  * ``bridge_hd``: the same with A-B on G.722, so B mixes
  at 16 kHz and converts C's G.711 leg 2:1 both ways.

Scenarios alternate within each round so they share the machine's load; the
figures are medians over ``--runs`` rounds, with ratios to the G.711 call of
the same round. No baresip anchor: this harness runs our phones only (see
bench_media_cpu.py for the G.711 call against baresip).

usage: python bench/bench_hd_conference.py [--seconds 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware.demo.figures import join_conference  # noqa: E402
from firmware.demo.network import Handset, Network, free_media_base, handset_config, until  # noqa: E402

TONES = {"A": 440.0, "B": 1000.0, "C": 1500.0}


#: CPU (thread time) each phone spent in its audio periods, by handset name
SPENT: dict[str, float] = {}


async def _phone(net: Network, name: str, number: str, codec: str) -> Handset:
    h = await net.add(name, handset_config(number, media_base=free_media_base(), preferred_codec=codec))
    h.audio.set_tone(TONES[name])
    app = h.host.app
    assert app is not None and app.engine_pump is not None
    pump = app.engine_pump  # MockAudio has no clock: the engine's pump fires each period
    inner = pump._fire
    SPENT[name] = 0.0

    def fire() -> None:  # one audio period: RTP drained, mixed, played, encoded, sent
        t0 = time.thread_time()
        inner()
        SPENT[name] += time.thread_time() - t0

    pump._fire = fire  # type: ignore[method-assign]
    return h


async def _connect(caller: Handset, callee: Handset) -> None:
    caller.api.dial(callee.uri())
    await until(lambda: "incoming" in callee.states(), f"{callee.name} rings")
    callee.api.set_hook(True)
    await until(lambda: "connected" in callee.states() and "connected" in caller.states(),
                "connected")


async def _measure(seconds: float, who: str) -> tuple[float, float]:
    """(process CPU-s per minute, ``who``'s audio-period CPU-s per minute) over ``seconds``."""
    await asyncio.sleep(1.0)
    p0, s0, c0 = time.process_time(), SPENT[who], time.monotonic()
    await asyncio.sleep(seconds)
    p1, s1, c1 = time.process_time(), SPENT[who], time.monotonic()
    minutes = (c1 - c0) / 60.0
    return (p1 - p0) / minutes, (s1 - s0) / minutes


async def call(seconds: float, codec: str) -> tuple[float, float]:
    async with Network() as net:
        a = await _phone(net, "A", "5550001", codec)
        b = await _phone(net, "B", "5550002", codec)
        await _connect(b, a)
        cpu = await _measure(seconds, "B")
        want = "G722" if codec == "g722" else "PCMU"
        assert b.calls()[0].media["codec"] == want, b.calls()[0].media  # type: ignore[index]
        assert a.audio.dominant_hz() is not None and b.audio.dominant_hz() is not None
        return cpu


async def conference(seconds: float, hd: bool) -> tuple[float, float]:
    async with Network() as net:
        a = await _phone(net, "A", "5550001", "g722" if hd else "g711ulaw")
        b = await _phone(net, "B", "5550002", "g722" if hd else "g711ulaw")
        c = await _phone(net, "C", "5550003", "g711ulaw")
        await _connect(b, a)
        await join_conference(b, a, c)
        cpu = await _measure(seconds, "B")
        levels = c.audio.tone_levels((TONES["A"], TONES["B"]))
        assert all(v > -30 for v in levels.values()), levels  # C hears A and B
        assert b.audio.format.rate == (16000 if hd else 8000)
        return cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows: dict[str, list[float]] = {}

    def add(key: str, val: float) -> None:
        rows.setdefault(key, []).append(val)

    for _ in range(args.runs):
        (p711, b711), (p722, b722) = (asyncio.run(call(args.seconds, c)) for c in ("g711ulaw", "g722"))
        (pcf, bcf), (pcfhd, bcfhd) = (asyncio.run(conference(args.seconds, hd)) for hd in (False, True))
        add("g711", b711)
        add("g722", b722)
        add("bridge", bcf)
        add("bridge_hd", bcfhd)
        add("r722", b722 / b711)
        add("rbridge", bcf / b711)
        add("rbridge_hd", bcfhd / b711)
        add("proc_g711", p711 / 2)
        add("proc_g722", p722 / 2)
        add("proc_bridge", pcf - p711)  # the two leaves run one ordinary G.711 call's worth
        add("proc_bridge_hd", pcfhd - (p711 + p722) / 2)
    labels = {
        "g711": "CPU-s/min in audio periods, phone B in a G.711 call",
        "g722": "CPU-s/min in audio periods, phone B in a G.722 call",
        "bridge": "CPU-s/min in audio periods, B bridging a 3-way G.711 conference",
        "bridge_hd": "the same with one G.722 leg (B mixes at 16 kHz, converts the G.711 leg)",
        "r722": "ratio G.722 / G.711 (same round)",
        "rbridge": "ratio conference bridge / G.711 call",
        "rbridge_hd": "ratio HD conference bridge / G.711 call",
        "proc_g711": "process CPU-s/min per phone, G.711 call (incl. asyncio, SIP)",
        "proc_g722": "process CPU-s/min per phone, G.722 call",
        "proc_bridge": "process CPU-s/min of the conference beyond its two leaves' G.711 call",
        "proc_bridge_hd": "the same, HD conference (leaves charged half a G.711 and half a G.722 call)",
    }
    for key, label in labels.items():
        vals = rows[key]
        print(f"{key:15s} median {statistics.median(vals):.3f}  range {min(vals):.3f}-{max(vals):.3f}"
              f"  ({label})")


if __name__ == "__main__":
    main()
