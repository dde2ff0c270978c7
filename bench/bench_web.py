"""Bench: the web page's weight, its time to first render, and RTP pacing while it is open.

Why: the Pi must serve the page while a call runs. Two handsets
(``firmware.demo.network``, the whole app, mock HAL, MockAudio paced by the
loop clock) call each other in one process; B serves its control API and web
page. Debian's Chromium (headless, Selenium) is a separate process, as a
person's browser would be.

1. Weight: bytes of the handset page, its script and style sheet, and the first
   pushed state (status + LCD PNG), as served.
2. Time to first render, over ``--loads`` fresh loads of ``/`` while idle:
   Chromium's own navigation timing (response start, first contentful paint)
   and the time until the LCD pushed over SSE is on screen (``lcd-shown`` mark).
3. RTP pacing during the call: every RTP packet B sends is time-stamped
   (``time.monotonic`` at the socket send); its lateness is the send time minus
   the earliest ``t_n - n*20 ms`` of the run (the grid the loop clock paces). Three
   phases of ``--seconds`` each in the same run: no browser; a browser showing the
   handset page (SSE pushes each second as the call timer ticks); a browser that
   also loads the admin page, the call lists and the handset page again and again.
   Target (bench_media_grid.py's): p99 < 2 ms; the ratio to the no-browser phase
   says what the page costs.
4. Loop-thread CPU of each SSE push and each answer (``thread_time`` around the
   push's snapshot and ``WebFront.handle``): the time the web holds the loop, the
   most it can delay an RTP send, unaffected by other processes' load.

A person's browser usually runs on another computer; here it shares the
phone's CPUs. ``--browser-nice 19`` runs Chromium at the lowest priority,
closer to a browser elsewhere (the default, 0, is the worst case: the
browser on the phone itself).

usage: python bench/bench_web.py [--seconds 20] [--loads 10] [--browser-nice 19]
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

from firmware.control import ControlConfig  # noqa: E402
from firmware.demo.network import Network, call_and_answer, free_media_base, handset_config  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


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


def lateness(sends: list[tuple[float, int]]) -> list[float]:
    """ms late against the 20 ms grid (RTP timestamp / 160 gives the period index)."""
    ts0 = sends[0][1]
    offs = [t - ((ts - ts0) & 0xFFFFFFFF) // 160 * 0.02 for t, ts in sends]
    base = min(offs)
    return [(o - base) * 1000 for o in offs]


def instrument() -> dict[str, list[float]]:
    """Loop-thread CPU (``thread_time``, ms) of each SSE push and each page or API answer:
    what the web takes from the loop, which other processes' load does not inflate."""
    from firmware.control.web import front, sse

    cpu: dict[str, list[float]] = {"push": []}
    snap = sse.snapshot

    def timed_snapshot(phone: Any) -> dict[str, Any]:
        t = time.thread_time()
        try:
            return snap(phone)
        finally:
            cpu["push"].append((time.thread_time() - t) * 1000)

    sse.snapshot = timed_snapshot  # type: ignore[assignment]
    handle = front.WebFront.handle

    async def timed_handle(self: Any, head: Any, body: bytes, **kw: Any) -> Any:
        t = time.thread_time()  # no awaits inside but login's hashing thread
        try:
            return await handle(self, head, body, **kw)
        finally:
            cpu.setdefault(head.path, []).append((time.thread_time() - t) * 1000)

    front.WebFront.handle = timed_handle  # type: ignore[method-assign]
    return cpu


def serve() -> None:
    """The child process: two handsets in a call; B serves the page. Commands on stdin:
    ``call`` (start the call), ``reset`` (forget the send times), ``report`` (print the
    lateness of the sends since the last reset as JSON), ``quit``."""

    async def run() -> None:
        net = Network()
        sends: list[tuple[float, int]] = []
        a = await net.add("A", handset_config("5550001", media_base=free_media_base()))
        b = await net.add("B", handset_config("5550002", media_base=free_media_base()),
                          control=ControlConfig(port=0))
        media = b.host.media
        send = media.send

        def timed(port: int, data: bytes, dest: Any, rtcp: bool) -> None:
            if not rtcp and len(data) >= 12:
                sends.append((time.monotonic(), int.from_bytes(data[4:8], "big")))
            send(port, data, dest, rtcp)

        media.send = timed  # type: ignore[method-assign]
        cpu = instrument()
        print(b.host.control_port, flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        try:
            while (line := (await reader.readline()).decode().strip()) not in ("quit", ""):
                if line == "call":
                    a.audio.set_tone(440)
                    b.audio.set_tone(1000)
                    await call_and_answer(a, b)
                    await asyncio.sleep(1.0)
                elif line == "reset":
                    sends.clear()
                elif line == "report":
                    print(json.dumps(lateness(sends)), flush=True)
                elif line == "cpu":
                    print(json.dumps(cpu), flush=True)
                print("ok", flush=True)
        finally:
            await net.close()

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run())


class Phones:
    """The child process running the phones (so the browser's client is not in its GIL)."""

    def __init__(self) -> None:
        import subprocess

        self.proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self._line())

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the phones' process ended")
        return line.strip()

    def cmd(self, what: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        out = self._line()
        if what in ("report", "cpu"):
            self._line()  # ok
        return out

    def close(self) -> None:
        try:
            self.cmd("quit")
        except (RuntimeError, BrokenPipeError, OSError):
            pass
        self.proc.wait(20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--loads", type=int, default=10)
    ap.add_argument("--browser-nice", type=int, default=0,
                    help="run Chromium at this niceness (19: as if on another computer)")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve()
        return
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        print("bench_web: chromium and chromium-driver are needed (scripts/install-deps.sh)")
        sys.exit(1)
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    phones = Phones()
    base = f"http://127.0.0.1:{phones.port}"
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
        phones.cmd("call")
        phases: dict[str, list[float]] = {}
        pushes: dict[str, int] = {}

        def version() -> int:
            return int(driver.execute_script("return +(document.body.dataset.version || 0)") or 0)

        def phase(name: str, busy: bool, page: bool) -> None:
            v0 = version() if page else 0
            phones.cmd("reset")
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                if busy:
                    for path in ("/admin", "/lists", "/"):
                        driver.get(base + path)
                time.sleep(0.1)
            phases[name] = json.loads(phones.cmd("report"))
            if page and not busy:
                pushes[name] = version() - v0

        phase("no page open", False, False)
        driver.get(base + "/")
        time.sleep(1.0)
        phase("handset page open", False, True)
        phase("pages loading in a loop", True, False)
        print(f"== RTP pacing of B during a call, {args.seconds:g} s per phase "
              "(lateness vs the 20 ms grid, target p99 < 2 ms)")
        floor = pct(phases["no page open"], 99)
        for name, late in phases.items():
            extra = f", {pushes[name]} SSE pushes shown" if name in pushes else ""
            print(f"  {name:26s} {len(late):5d} packets  p50 {pct(late, 50):6.3f}  "
                  f"p99 {pct(late, 99):6.3f}  max {max(late):6.2f} ms  "
                  f"p99/no-page {pct(late, 99) / max(floor, 1e-6):4.2f}{extra}")
        print("== loop-thread CPU per answer (ms, thread_time: other processes' load does not count)")
        for path, vals in json.loads(phones.cmd("cpu")).items():
            if vals:
                print(f"  {path:26s} n={len(vals):4d}  median {statistics.median(vals):6.3f}  "
                      f"p99 {pct(vals, 99):6.3f}  max {max(vals):6.3f}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        if driver is not None:
            driver.quit()
        phones.close()


if __name__ == "__main__":
    main()
