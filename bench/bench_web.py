"""Bench: the web page's weight, its time to first render, and RTP pacing while it is open.

Why: the Pi must serve the page while a call runs. Two handsets
(``firmware.demo.network``, the whole app, mock HAL, MockAudio paced by the
loop clock) call each other, each in a process of its own; B serves its
control API and web page. Debian's Chromium (headless, Selenium) is a separate
process, as a person's browser would be.

1. Weight: bytes of the handset page, its script and style sheet, and the first
   pushed state (status + LCD PNG), as served.
2. Time to first render, over ``--loads`` fresh loads of ``/`` while idle:
   Chromium's own navigation timing (response start, first contentful paint)
   and the time until the LCD pushed over SSE is on screen (``lcd-shown`` mark).
3. RTP pacing during the call: every RTP packet B sends is time-stamped
   (``loop.time()`` at the socket send) and compared with its slot on B's own send
   grid, ``t0 + n*20 ms`` (the stream's ``t0``, on the audio engine's period grid;
   ``n`` from the packet's RTP timestamp, so skipped ticks do not shift later
   packets): |deviation|, as bench_media_grid.py measures it. Three phases of
   ``--seconds`` each in the same run: no browser; a browser showing the handset
   page (SSE pushes each second as the call timer ticks); a browser that also loads
   the admin page, the call lists and the handset page again and again. The phases
   take turns, ``--rounds`` times, so that a drift of the machine's load over the
   run weighs on all three alike.
   Target (bench_media_grid.py's): p99 < 2 ms; the ratio to the no-browser phase
   says what the page costs. In each phase a bare asyncio timer in another process
   (bench_media_grid.py's) measures the machine's own floor: on a shared VM the
   wake-up latency alone can exceed the target. Each send more than 2 ms late is
   put down to the loop being busy (over 1 ms of the loop thread's CPU between the
   period falling due and the send: ours) or to the machine (the process preempted
   or woken late), see ``why_late``.
   Why the grid and not, as before, the earliest ``t_n - n*20 ms`` of the phase:
   that reference moves with one early packet (a send in a period's wake-up may be
   up to ``EARLY_S`` before its slot), and every other packet's figure with it; the
   grid is known, so the deviation is measured from it, early or late.
   A, the far end, runs in a process of its own, as it does in a deployment (it is
   another phone): its periods and receive work are not on B's loop.
4. Loop-thread CPU of each SSE push and each answer (``thread_time`` around the
   push's snapshot and ``WebFront.handle``): the time the web holds the loop, the
   most it can delay an RTP send, unaffected by other processes' load; and B's
   garbage-collector pauses (``thread_time`` too, from ``gc.callbacks``) over the run.

A person's browser usually runs on another computer; here it shares the
phone's CPUs. ``--browser-nice 19`` runs Chromium at the lowest priority,
closer to a browser elsewhere (the default, 0, is the worst case: the
browser on the phone itself). Phone B runs at the niceness the shipped
systemd unit gives it (``Nice=`` in systemd/piphone.service; ``--phone-nice 0``
for an ordinary process), and the machine's floor at the same.

usage: python bench/bench_web.py [--seconds 20] [--rounds 3] [--loads 10] [--browser-nice 19]
         [--phone-nice N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from web_loop_probe import deviation, instrument, watch_selects, why_late  # noqa: E402

from firmware.control import ControlConfig  # noqa: E402
from firmware.demo.network import Network, free_media_base, handset_config, until  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def unit_nice() -> int:
    """The niceness the shipped systemd unit gives the phone (``Nice=``; 0 without one)."""
    unit = Path(__file__).resolve().parents[1] / "systemd" / "piphone.service"
    for line in unit.read_text().splitlines():
        if line.strip().startswith("Nice="):
            return int(line.split("=", 1)[1])
    return 0


def may_raise_priority(nice: int) -> bool:
    import subprocess

    return subprocess.run([sys.executable, "-c", f"import os; os.nice({nice})"],
                          capture_output=True).returncode == 0


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def browser(nice: int = 0) -> Any:
    """Headless Chromium; ``nice``: its scheduling niceness (and chromedriver's)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1000,900", "--disable-extensions", "--no-first-run",
                "--disable-background-networking", "--disable-component-update"):
        opts.add_argument(arg)
    service = Service(CHROMEDRIVER, popen_kw={"preexec_fn": (lambda: os.nice(nice))}
                      if nice else {})
    return webdriver.Chrome(options=opts, service=service)


def weight(base: str) -> dict[str, int]:
    out = {}
    for path in ("/", "/static/app.js", "/static/app.css"):
        with urllib.request.urlopen(base + path, timeout=10) as r:  # noqa: S310 - loopback
            out[path] = len(r.read())
    with urllib.request.urlopen(base + "/events", timeout=10) as r:  # noqa: S310
        while True:
            line = r.readline()
            if line.startswith(b"data: "):
                out["first push (SSE)"] = len(line)
                state = json.loads(line[6:])
                out["  of which LCD PNG (base64)"] = len(state["png"])
                break
    return out


def first_render(driver: Any, base: str, loads: int) -> dict[str, list[float]]:
    got: dict[str, list[float]] = {"response start": [], "first contentful paint": [],
                                   "LCD shown (SSE)": []}
    for _ in range(loads):
        driver.get("about:blank")
        driver.get(base + "/")
        for _ in range(200):
            marks = driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "const p = performance.getEntriesByName('first-contentful-paint')[0];"
                "const l = performance.getEntriesByName('lcd-shown')[0];"
                "return [n.responseStart, p ? p.startTime : null, l ? l.startTime : null];")
            if marks[1] is not None and marks[2] is not None:
                break
            time.sleep(0.02)
        for key, value in zip(got, marks, strict=True):
            if value is not None:
                got[key].append(float(value))
    return got


def serve(role: str) -> None:
    """A child process with one handset. ``near`` is B: it serves the page, answers
    the call and records its RTP sends; it prints its control port and SIP URI, then
    takes commands on stdin: ``answer`` (wait for the call, answer it), ``reset``
    (forget the send times), ``report`` (the signed deviation of the sends since the
    last reset from the stream's grid, JSON), ``cpu``, ``quit``. ``far`` is A, the
    caller: it prints its URI and takes ``dial URI`` and ``quit``."""

    nice = int(os.environ.get("BENCH_PHONE_NICE", "0"))
    if role == "near" and nice:
        os.nice(nice)  # as systemd/piphone.service runs the phone (the parent checked it may)

    async def run() -> None:
        net = Network()
        cfg = handset_config("5550002" if role == "near" else "5550001",
                             media_base=free_media_base())
        me = await net.add("B" if role == "near" else "A", cfg,
                           control=ControlConfig(port=0) if role == "near" else None)
        loop = asyncio.get_running_loop()
        sends: list[tuple[float, int, float]] = []
        cpu: dict[str, list[float]] = {}
        if role == "near":
            media = me.host.media
            send = media.send

            def timed(port: int, data: bytes, dest: Any, rtcp: bool) -> None:
                if not rtcp and len(data) >= 12:
                    sends.append((loop.time(), int.from_bytes(data[4:8], "big"), time.thread_time()))
                send(port, data, dest, rtcp)

            media.send = timed  # type: ignore[method-assign]
            selects = watch_selects(loop)
            cpu = instrument()
            print(me.host.control_port, flush=True)
        print(me.uri(), flush=True)
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        try:
            while (line := (await reader.readline()).decode().strip()) not in ("quit", ""):
                if line.startswith("dial "):
                    me.audio.set_tone(440)
                    me.api.dial(line.split(" ", 1)[1])
                elif line == "answer":
                    me.audio.set_tone(1000)
                    await until(lambda: me.states() == ["incoming"], "B rings")
                    me.api.set_hook(True)
                    await until(lambda: me.states() == ["connected"], "connected")
                    await asyncio.sleep(1.0)
                elif line == "reset":
                    sends.clear()
                    selects.clear()
                elif line == "report":
                    [stream] = me.host.app.media_streams.values()  # type: ignore[union-attr]
                    grid = (stream._t0, stream._ts0, stream._spp, stream.ptime_s)
                    dev = deviation(sends, grid)
                    print(json.dumps({"dev": dev, "late": why_late(sends, dev, selects)}), flush=True)
                elif line == "cpu":
                    print(json.dumps(cpu), flush=True)
                print("ok", flush=True)
        finally:
            await net.close()

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run())


class Child:
    """A child process running one handset (``serve``): the browser's client is not in
    its GIL, and the far end's periods are not on B's loop."""

    def __init__(self, role: str) -> None:
        import subprocess

        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", role],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("a phone's process ended")
        return line.strip()

    def cmd(self, what: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        out = self.line()
        if what in ("report", "cpu"):
            self.line()  # ok
        return out

    def close(self) -> None:
        try:
            self.cmd("quit")
        except (RuntimeError, BrokenPipeError, OSError):
            pass
        self.proc.wait(20)


class Floor:
    """bench_media_grid.py's bare asyncio timer in a process of its own for ``seconds``:
    the machine's wake-up latency during a phase, no phone in it."""

    def __init__(self, seconds: float) -> None:
        import subprocess

        from bench_media_grid import BARE_LOOP

        nice = int(os.environ.get("BENCH_PHONE_NICE", "0"))  # the phone's, for a like floor
        self.proc = subprocess.Popen([sys.executable, "-c", BARE_LOOP, str(seconds)],
                                     stdout=subprocess.PIPE, text=True,
                                     preexec_fn=(lambda: os.nice(nice)) if nice else None)

    def result(self) -> list[float]:
        out, _ = self.proc.communicate(timeout=120)
        return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="per phase, over all rounds")
    ap.add_argument("--rounds", type=int, default=3,
                    help="the three phases run in turn this many times (seconds/rounds each)")
    ap.add_argument("--loads", type=int, default=10)
    ap.add_argument("--browser-nice", type=int, default=0,
                    help="run Chromium at this niceness (19: as if on another computer)")
    ap.add_argument("--phone-nice", type=int, default=None,
                    help="run phone B at this niceness (default: the Nice= of systemd/piphone.service)")
    ap.add_argument("--serve", choices=("near", "far"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return
    nice = unit_nice() if args.phone_nice is None else args.phone_nice
    if nice < 0 and not may_raise_priority(nice):
        print(f"bench_web: no permission for nice {nice} (root or CAP_SYS_NICE); the phone runs at 0")
        nice = 0
    os.environ["BENCH_PHONE_NICE"] = str(nice)
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        print("bench_web: chromium and chromium-driver are needed (scripts/install-deps.sh)")
        sys.exit(1)
    print("load average at start: {:.2f} {:.2f} {:.2f} ({} CPUs)".format(*os.getloadavg(),
                                                                       os.cpu_count()))
    print(f"phone B at nice {nice}{' (as systemd/piphone.service runs it)' if nice == unit_nice() else ''},"
          f" Chromium at nice {args.browser_nice}")
    phone = Child("near")
    port, b_uri = int(phone.line()), phone.line()
    far = Child("far")
    far.line()
    base = f"http://127.0.0.1:{port}"
    driver = None
    try:
        print("== page weight (bytes, as served, uncompressed)")
        w = weight(base)
        for k, v in w.items():
            print(f"  {k:30s} {v:7d}")
        print(f"  {'page + script + style':30s} {w['/'] + w['/static/app.js'] + w['/static/app.css']:7d}")
        driver = browser(args.browser_nice)
        print(f"== time to first render, {args.loads} loads of / (ms from navigation start)")
        for k, vals in first_render(driver, base, args.loads).items():
            if vals:
                print(f"  {k:24s} median {statistics.median(vals):7.1f}  max {max(vals):7.1f}")
        driver.get("about:blank")
        far.cmd(f"dial {b_uri}")
        phone.cmd("answer")
        phases: dict[str, list[float]] = {}
        floors: dict[str, list[float]] = {}
        causes: dict[str, dict[str, int]] = {}
        pushes: dict[str, int] = {}
        span = args.seconds / args.rounds

        def version() -> int:
            return int(driver.execute_script("return +(document.body.dataset.version || 0)") or 0)

        def phase(name: str, busy: bool, page: bool) -> None:
            v0 = version() if page else 0
            floor = Floor(span)
            phone.cmd("reset")
            end = time.monotonic() + span
            while time.monotonic() < end:
                if busy:
                    for path in ("/admin", "/lists", "/"):
                        driver.get(base + path)
                time.sleep(0.1)
            got = json.loads(phone.cmd("report"))
            phases.setdefault(name, []).extend(got["dev"])
            for k, n in got["late"].items():
                causes.setdefault(name, {}).setdefault(k, 0)
                causes[name][k] += n
            floors.setdefault(name, []).extend(floor.result())
            if page and not busy:
                pushes[name] = pushes.get(name, 0) + version() - v0

        for _ in range(args.rounds):  # interleaved: the machine's load drifts over minutes
            driver.get("about:blank")
            time.sleep(0.5)
            phase("no page open", False, False)
            driver.get(base + "/")
            time.sleep(1.0)
            phase("handset page open", False, True)
            phase("pages loading in a loop", True, False)
        print(f"== RTP pacing of B during a call, {args.seconds:g} s per phase in {args.rounds} turns: |deviation| of "
              "each send from its slot t0 + n*20 ms (ms; target p99 < 2 ms)")
        p99 = {name: pct([abs(x) for x in dev], 99) for name, dev in phases.items()}
        for name, dev in phases.items():
            mag = [abs(x) for x in dev]
            extra = f"; {pushes[name]} SSE pushes shown" if name in pushes else ""
            print(f"  {name:24s} {len(dev):5d} packets  p50 {pct(mag, 50):6.3f}  "
                  f"p99 {p99[name]:6.3f}  max {max(mag):6.2f}  mean signed {statistics.mean(dev):+6.3f}  "
                  f"> 2 ms: {sum(x > 2 for x in mag):3d} ({causes[name]['loop busy']} loop busy, "
                  f"{causes[name]['machine']} machine)  p99/no-page {p99[name] / max(p99['no page open'], 1e-6):4.2f}"
                  f"{extra}")
            fl = floors[name]
            print(f"  {'':24s} machine floor (bare asyncio timer, another process): p50 "
                  f"{pct(fl, 50):6.3f}  p99 {pct(fl, 99):6.3f}  max {max(fl):6.2f}  "
                  f"p99/floor {p99[name] / max(pct(fl, 99), 1e-6):4.2f}")
        print("== loop-thread CPU per answer (ms, thread_time: other processes' load does not count)")
        for path, vals in json.loads(phone.cmd("cpu")).items():
            if vals:
                print(f"  {path:26s} n={len(vals):4d}  median {statistics.median(vals):6.3f}  "
                      f"p99 {pct(vals, 99):6.3f}  max {max(vals):6.3f}")
        print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        if driver is not None:
            driver.quit()
        phone.close()
        far.close()


if __name__ == "__main__":
    main()
