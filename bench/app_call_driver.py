"""Our whole phone in a call with baresip, for bench_media_cpu.py: run inside its namespace.

Why the whole phone: the handset carries a call through ``firmware.app.App``
(CorePumps on the loop clock, ``UdpMediaIO``, the call's MediaStream and the
MediaEngine on MockAudio), not through the lean ``firmware.net.rtp`` shell
that tests/media/sip_call_driver.py drives. What a user's CPU pays for is
this path, so this is what the bench compares with baresip. The handset is a
``firmware.demo.network`` one (the complete firmware on the mock HAL, SIP
over UDP, driven through the control API), on ``LOCAL_IP`` in the bench's
namespace; it dials baresip, checks the tone both ways, and measures CPU of
this process and of baresip over the same windows.

usage: python app_call_driver.py TARGET_IP:PORT LOCAL_IP TONE_HZ SECONDS PEER_PID MEASURE_S
(env WINDOWS=n: n back-to-back windows; PEER_TONE=440: what baresip sends; FLOORS:
 ``name=pid,...``, floor processes measured over the same windows, bench_media_cpu.py's
 ``--floor``). CPU and wake-ups (times put on a CPU) of each process per window.
Prints one JSON line as sip_call_driver.py does.
"""

from __future__ import annotations

import asyncio
import json
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as firmware/__main__.py
import resource
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from media.sip_call_driver import proc_cpu, proc_slices, self_cpu  # noqa: E402

from firmware.demo.network import Network, handset_config, heard, until  # noqa: E402


async def main(target: str, local_ip: str, tone: float, seconds: float, peer_pid: int,
               measure_s: float) -> dict[str, object]:
    net = Network()
    try:
        phone = await net.add("phone", handset_config("5550001"), host=local_ip)
        phone.api.set_mock_tone(tone)
        phone.api.dial(f"sip:alice@{target}")
        try:
            await until(lambda: phone.states() == ["connected"], "baresip to answer", 10.0)
        except TimeoutError as exc:
            return {"error": str(exc)}
        app = phone.host.app
        assert app is not None

        def stream() -> object:
            streams = list(app.media_streams.values())
            return streams[0] if streams else None

        n = max(1, int(os.environ.get("WINDOWS", "1")))
        await asyncio.sleep(max(0.0, seconds - measure_s) / 2)
        floors = dict(item.split("=") for item in os.environ.get("FLOORS", "").split(",") if item)
        pids = {"our": os.getpid(), "peer": peer_pid, **{f"floor_{k}": int(v) for k, v in floors.items()}}

        def sample() -> dict[str, float]:
            out: dict[str, float] = {"wall_s": time.monotonic()}
            for name, pid in pids.items():
                out[f"{name}_cpu_s"] = self_cpu() if name == "our" else proc_cpu(pid)
                out[f"{name}_wakes"] = proc_slices(pid)
            return out

        windows = []
        for _ in range(n):
            before = sample()
            await asyncio.sleep(measure_s / n)
            after = sample()
            windows.append({**{k: after[k] - before[k] for k in after},
                            "load1": os.getloadavg()[0]})
        await asyncio.sleep(max(0.0, seconds - measure_s) / 2)
        expect = float(os.environ.get("PEER_TONE", "440"))
        hz = await heard(phone, expect, timeout=3.0)
        st = stream()
        stats = asdict(st.stats()) if st is not None else {}  # type: ignore[attr-defined]
        codec = stats.get("codec", "")
        phone.api.press_softkey("endcall")
        try:
            await until(lambda: all(s == "ended" for s in phone.states()), "idle after BYE", 5.0)
        except TimeoutError:
            pass
    finally:
        await net.close()
    measure: dict[str, object] = {
        k: sum(w[k] for w in windows) for k in ("wall_s", "our_cpu_s", "peer_cpu_s")}
    return {"heard_hz": hz, "codec": codec, "stats": stats, "windows": windows,
            "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, **measure}


if __name__ == "__main__":
    a = sys.argv[1:]
    print(json.dumps(asyncio.run(main(a[0], a[1], float(a[2]), float(a[3]), int(a[4]),
                                      float(a[5])))))
