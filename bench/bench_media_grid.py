"""Bench (2): how far RTP send times stray from the 20 ms grid while the display redraws.

One phone's media (MockAudio engine + MediaStream + asyncio RTP shell) sends
G.711 to a UDP sink on 127.0.0.1, while the same event loop redraws the LCD
once a second: luma.oled's real ssd1306 driver on a no-op interface with a
canvas of text (about 1 ms of blocking work, toolchain notes §3), or a 1 ms
busy-wait when luma is absent. Deviation of packet n is its flush time minus
t0 + n*20 ms. In the same run, a naive sender doing ``await
asyncio.sleep(0.02)`` between packets (the pattern that drifts) is measured
the same way, as the foil.

--pi-display: the redraw goes through the phone's own backend
(hal.pi.display.PiDisplay on luma's ssd1306) with a serial interface whose
writes really sleep for the modelled 400 kHz I2C bus time (9 bits a byte
with the ACK, address + control byte per 32-byte block, as
bench/bench_display.py counts), so the bus cost blocks whatever thread does
the write. Two phases in the same run: the synchronous path (bus writes
inside show(), on the loop: the behaviour before the writer thread) and the
threaded path (show() renders on the loop, the writer thread does the bus).
--pi-screen change alternates the idle and connected screens (~14 ms of bus
a redraw), tick is the call timer ticking (~0.7 ms), full a whole frame
every redraw (~25 ms).

usage: python bench/bench_media_grid.py [--seconds 30] [--redraw 1.0] [--any-phase]
         [--pi-display [--pi-screen change|tick|full]]
(env POLL_RX=0: the RTP socket wakes the loop for each packet, as before)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

# as firmware/__main__.py: no OpenBLAS worker threads spinning beside the loop
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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

REDRAW_S = 1.0
ALIGN = True
PI_MODE = ""  # "", "sync" or "thread"
PI_SCREEN = "change"

I2C_HZ = 400_000


class SleepingI2C:
    """A luma serial interface whose writes take the modelled 400 kHz I2C time.

    Each transaction: start + stop bits, then 9 bit times (8 + ACK) for the
    address byte, the control byte and each payload byte; data goes in 32-byte
    blocks, each its own transaction (luma on a plain smbus). The sleep releases
    the GIL as a real blocking ioctl would."""

    def __init__(self) -> None:
        self.bus_s = 0.0

    @staticmethod
    def _bits(n: int) -> int:
        return 2 + 9 * (2 + n)

    def _sleep(self, bits: int) -> None:
        t = bits / I2C_HZ
        self.bus_s += t
        time.sleep(t)

    def command(self, *cmd: int) -> None:
        self._sleep(self._bits(len(cmd)))

    def data(self, data: object) -> None:
        n = len(data)  # type: ignore[arg-type]
        self._sleep(sum(self._bits(min(32, n - i)) for i in range(0, n, 32)))

    def cleanup(self) -> None:
        pass


def make_pi_redraw(threaded: bool):
    from luma.oled.device import ssd1306

    from hal.base import Screen
    from hal.pi.display import PiDisplay

    serial = SleepingI2C()
    dev = ssd1306(serial, width=128, height=64)
    dev.persist = True
    disp = PiDisplay(dev, threaded=threaded)
    idle = Screen(status="1 5550001", clock="10:44a", icons=frozenset({"registered"}),
                  lines=("", "Your current options"), softkeys=("Redial", "NewCall", "CFwdAll"))
    n = [0]

    def connected(secs: int) -> Screen:
        return Screen(status="1 5550001", clock="10:44a", icons=frozenset({"registered"}),
                      lines=("Bob Smith", "5550002", f"Connected\t{secs // 60:02d}:{secs % 60:02d}"),
                      softkeys=("Hold", "EndCall", "Trnsfer", "NewCall"))

    def redraw() -> None:
        n[0] += 1
        if PI_SCREEN == "tick":
            screen = connected(n[0])
        else:
            screen = idle if n[0] % 2 else connected(n[0])
            if PI_SCREEN == "full":
                disp._pages = None  # forget the panel: the whole frame goes out (test hook)
        disp.show(screen)

    redraw.serial = serial  # type: ignore[attr-defined]
    redraw.display = disp  # type: ignore[attr-defined]
    path = "writer thread" if threaded else "synchronous, bus writes on the loop"
    return redraw, f"PiDisplay ({path}) on ssd1306, I2C writes sleep the modelled 400 kHz time, screen {PI_SCREEN}"


def make_redraw():
    if PI_MODE:
        return make_pi_redraw(PI_MODE == "thread")
    try:
        from luma.core.interface.serial import noop
        from luma.core.render import canvas
        from luma.oled.device import ssd1306
    except ImportError:
        def busy() -> None:
            end = time.perf_counter() + 0.001
            while time.perf_counter() < end:
                pass
        return busy, "1 ms busy-wait (luma not installed)"
    dev = ssd1306(noop())
    dev.persist = True
    n = [0]

    def redraw() -> None:
        n[0] += 1
        with canvas(dev) as draw:
            draw.rectangle((0, 0, 127, 63), outline=1)
            draw.text((4, 4), "Line 1  100  Registered", fill=1)
            draw.text((4, 20), f"Connected 00:{n[0] % 60:02d}", fill=1)
            draw.text((4, 36), "PCMU  jitter 1 ms", fill=1)
            draw.text((4, 52), "Hold  EndCall  Trnsfer", fill=1)
    return redraw, "luma.oled ssd1306 on a no-op interface, canvas + 4 text lines"


class Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.count = 0

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.count += 1


# The machine's own floor, measured in a second process during the same run: a
# bare asyncio loop whose only job is a timer on absolute 20 ms deadlines
# (armed 0.5 ms early like ours), no media, no display.
BARE_LOOP = r"""
import asyncio, json, sys
async def main(seconds):
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05
    devs = []
    n = 0
    done = loop.create_future()
    def fire():
        nonlocal n
        devs.append(abs(loop.time() - (t0 + n * 0.02)) * 1000)
        n += 1
        if n * 0.02 >= seconds:
            done.set_result(None)
        else:
            loop.call_at(t0 + n * 0.02 - 0.0005, fire)
    loop.call_at(t0 - 0.0005, fire)
    await done
    print(json.dumps(devs))
asyncio.run(main(float(sys.argv[1])))
"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def run(seconds: float) -> None:
    loop = asyncio.get_running_loop()
    # started first: forking a process stalls this loop for tens of milliseconds
    bare = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BARE_LOOP, str(seconds), stdout=asyncio.subprocess.PIPE)
    redraw, what = make_redraw()
    redraw()  # the first draw loads fonts: not part of the steady state
    await asyncio.sleep(0.5)
    serial = getattr(redraw, "serial", None)
    if serial is not None:
        serial.bus_s = 0.0
    sink = Sink()
    st, _ = await loop.create_datagram_endpoint(lambda: sink, local_addr=("127.0.0.1", 0))
    sink_port = st.get_extra_info("sockname")[1]
    audio = MockAudio(LoopClock(loop))
    audio.set_tone(1000)
    engine = MediaEngine(audio)
    stream = MediaStream(ssrc=1234, cname="bench@127.0.0.1")
    engine.attach(stream)
    # (flush time, RTP timestamp): the packet's own tick comes from its timestamp, so
    # ticks the stream skipped after a stall do not shift every later packet
    sends: list[tuple[float, int]] = []

    class Recording(RtpEndpoint):
        def kick(self) -> None:
            now = self.loop.time()
            sends.extend((now, int.from_bytes(d.data[4:8], "big"))
                         for d in self.stream._out if not d.rtcp)
            super().kick()

    # (keyword arguments only when used: the script also runs against older trees)
    ep = Recording(stream, loop=loop, audio_next=engine.get_timer,
                   **({"poll_rx": True} if POLL_RX else {}))
    await ep.open("127.0.0.1", PortAllocator(42000, 42998))
    pump = AudioPump(engine, loop=loop, after_period=ep.tick,
                     **({"before_period": ep.drain} if POLL_RX else {}))
    pump.start()
    neg = Negotiated(remote_address="127.0.0.1", remote_rtp_port=sink_port,
                     remote_rtcp_port=sink_port, send_codec=PCMU, recv_codecs={0: PCMU})
    stream.update(neg, loop.time(), t0=engine.get_timer())
    ep.kick()

    redraw_ms: list[float] = []

    async def display() -> None:
        t0 = loop.time() + 0.0107  # deliberately out of phase with the audio grid
        k = 0
        while True:
            k += 1
            await asyncio.sleep(max(0.0, t0 + k * REDRAW_S - loop.time()))
            if ALIGN:  # redraw right after a period's send: ~1 ms of drawing then ends
                # 19 ms before the next deadline instead of perhaps straddling it
                nxt = engine.get_timer()
                if nxt is not None:
                    await asyncio.sleep(max(0.0, nxt + 0.001 - loop.time()))
            a = time.perf_counter()
            redraw()
            redraw_ms.append((time.perf_counter() - a) * 1000)

    naive: list[float] = []

    async def naive_sender() -> None:
        sock_t, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                        local_addr=("127.0.0.1", 0))
        while True:
            naive.append(loop.time())
            sock_t.sendto(b"\x80" * 172, ("127.0.0.1", sink_port))
            await asyncio.sleep(0.02)

    tasks = [asyncio.create_task(naive_sender())]
    if REDRAW_S > 0:
        tasks.append(asyncio.create_task(display()))
    await asyncio.sleep(seconds)
    bare_out, _ = await bare.communicate()
    bare_dev = json.loads(bare_out)
    for t in tasks:
        t.cancel()
    if getattr(redraw, "display", None) is not None:
        redraw.display.close()  # type: ignore[attr-defined]
    pump.stop()
    t_grid = stream._t0
    skipped = stream.stats().ticks_skipped
    ep.close()
    st.close()
    assert t_grid is not None
    ts0 = sends[0][1]
    signed = [(t - (t_grid + ((ts - ts0) & 0xFFFFFFFF) // 160 * 0.02)) * 1000 for t, ts in sends]
    dev = [abs(x) for x in signed]
    if os.environ.get("GRID_DEBUG"):
        worst = sorted(range(len(dev)), key=dev.__getitem__)[-20:]
        print("worst:", [(i, round(signed[i], 2)) for i in sorted(worst)])
    ndev = [(t - (naive[0] + n * 0.02)) * 1000 for n, t in enumerate(naive)]
    if redraw_ms:
        print(f"display: {what}; {len(redraw_ms)} redraws every {REDRAW_S:g} s"
              f"{' just after an audio period' if ALIGN else ' at arbitrary phase'}, "
              f"loop held per redraw: median {statistics.median(redraw_ms):.2f} ms, max {max(redraw_ms):.2f} ms")
        if serial is not None:
            print(f"  modelled bus time slept: {serial.bus_s / len(redraw_ms) * 1000:.2f} ms per redraw"
                  f" ({redraw.display.stats.coalesced} frames coalesced)")  # type: ignore[attr-defined]
    else:
        print("display: none")
    print(f"ours : {len(sends)} packets ({skipped} ticks skipped after stalls); |deviation| from t0+n*20ms: p50 {pct(dev, 50):.3f} ms, "
          f"p99 {pct(dev, 99):.3f} ms, max {max(dev):.3f} ms, mean signed "
          f"{statistics.mean(signed):+.3f} ms (target p99 < 2 ms)")
    print(f"bare asyncio timer in another process, same run (the machine's floor): p50 "
          f"{pct(bare_dev, 50):.3f} ms, p99 {pct(bare_dev, 99):.3f} ms, max {max(bare_dev):.3f} ms;"
          f" ours/bare p99 ratio {pct(dev, 99) / max(pct(bare_dev, 99), 1e-6):.2f}")
    print(f"naive sleep(0.02) sender, same loop: {len(naive)} packets; p50 {pct(ndev, 50):.1f} ms, "
          f"p99 {pct(ndev, 99):.1f} ms, drift at the end {ndev[-1]:.1f} ms "
          f"({len(sends) - len(naive)} packets behind)")


def main() -> int:
    print("load average before the run: {:.2f} {:.2f} {:.2f} on {} CPUs".format(
        *os.getloadavg(), os.cpu_count()))
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--redraw", type=float, default=1.0, help="seconds between redraws, 0: none")
    ap.add_argument("--any-phase", action="store_true",
                    help="redraw at an arbitrary phase of the audio grid (the foil) instead of "
                         "just after a period's send, as the phone's display does")
    ap.add_argument("--pi-display", action="store_true",
                    help="redraw through hal.pi.display with a bus that sleeps the 400 kHz I2C time: "
                         "the synchronous path, then the writer thread, in the same run")
    ap.add_argument("--pi-screen", choices=("change", "tick", "full"), default="change")
    args = ap.parse_args()
    global REDRAW_S, ALIGN, PI_MODE, PI_SCREEN
    REDRAW_S, ALIGN, PI_SCREEN = args.redraw, not args.any_phase, args.pi_screen
    for mode in ("sync", "thread") if args.pi_display else ("",):
        PI_MODE = mode
        if mode:
            print(f"--- PiDisplay, {'synchronous (before)' if mode == 'sync' else 'writer thread (now)'} ---")
        asyncio.run(run(args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
