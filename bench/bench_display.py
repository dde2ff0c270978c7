#!/usr/bin/env python3
"""Display redraw cost: CPU time and modelled 400 kHz I2C bus time per redraw.

Why: on the handset the I2C write blocks the event loop that also paces the
audio, so what matters is how long one redraw holds the loop. The real
luma.oled ssd1306 driver runs against an I2C bus stub that counts every byte
on the wire (address byte, control byte and data, 9 bit times each with the
ACK, plus start and stop) and converts it to time at 400 kHz. Two bus models:
"block" is luma's I2C interface on a plain smbus object (32-byte block writes,
each with its own address and control byte); "rdwr" is luma on smbus2 as on
the Pi (one i2c_rdwr message of up to 4096 bytes per data() call).

Cases: luma's own full-frame display() (the peer), our first frame (render +
full frame), a screen change (idle -> connected), a call-timer tick (the
typical redraw: one second changes), and an unchanged screen.

Usage: python bench/bench_display.py [--frames N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
warnings.filterwarnings("ignore", category=DeprecationWarning)

from luma.core.interface.serial import i2c  # noqa: E402
from luma.oled.device import ssd1306  # noqa: E402

from hal.base import Screen  # noqa: E402
from hal.pi.display import PiDisplay  # noqa: E402
from hal.render import render  # noqa: E402

BUS_HZ = 400_000
BITS_PER_BYTE = 9  # 8 data bits + ACK
START_STOP_BITS = 2


class I2CBusStub:
    """Counts the bits each I2C transaction puts on the wire; sends nothing."""

    def __init__(self) -> None:
        self.bits = 0
        self.transactions = 0
        self.bytes = 0

    def _account(self, n_bytes: int) -> None:
        self.transactions += 1
        self.bytes += n_bytes
        self.bits += START_STOP_BITS + BITS_PER_BYTE * n_bytes

    def write_i2c_block_data(self, addr: int, ctrl: int, data: list[int]) -> None:
        self._account(2 + len(data))  # address + control + payload

    def i2c_rdwr(self, msg: tuple[int, list[int]]) -> None:
        self._account(1 + len(msg[1]))  # address + (control + payload)

    def reset(self) -> None:
        self.bits = self.transactions = self.bytes = 0


def make_device(mode: str) -> tuple[Any, I2CBusStub]:
    bus = I2CBusStub()
    serial = i2c(bus=bus, address=0x3C)
    if mode == "rdwr":  # what luma does on a real smbus2 bus (managed mode)
        serial._managed = True
        serial._i2c_msg_write = lambda addr, buf: (addr, buf)
    dev = ssd1306(serial, width=128, height=64)
    dev.persist = True
    bus.reset()
    return dev, bus


def connected(secs: int) -> Screen:
    return Screen(
        status="1 5550001", clock="10:44a", icons=frozenset({"registered"}),
        lines=("Bob Smith", "5550002", f"Connected\t{secs // 60:02d}:{secs % 60:02d}"),
        softkeys=("Hold", "EndCall", "Trnsfer", "NewCall"),
    )


IDLE = Screen(status="1 5550001", clock="10:44a", icons=frozenset({"registered"}),
              lines=("", "Your current options"), softkeys=("Redial", "NewCall", "CFwdAll"))


def measure(mode: str, frames: int) -> dict[str, tuple[float, int, float]]:
    """case -> (CPU ms per redraw, bus bytes per redraw, modelled bus ms per redraw)."""
    out: dict[str, tuple[float, int, float]] = {}

    def run(case: str, bus: I2CBusStub, fn: Any, n: int) -> None:
        bus.reset()
        c0 = time.process_time()
        for i in range(n):
            fn(i)
        cpu = (time.process_time() - c0) / n * 1e3
        out[case] = (cpu, bus.bytes // n, bus.bits / n / BUS_HZ * 1e3)

    dev, bus = make_device(mode)
    image = render(connected(83))
    run("luma display() full frame (peer)", bus, lambda i: dev.display(image), frames)

    def first_frame(i: int) -> None:
        d = PiDisplay(dev, threaded=False)
        d.show(connected(i))

    run("first frame: render + full frame", bus, first_frame, frames)

    d = PiDisplay(dev, threaded=False)
    d.show(IDLE)
    run("screen change idle <-> connected", bus, lambda i: d.show(connected(83) if i % 2 == 0 else IDLE), frames)
    d.show(connected(0))
    run("call timer tick (typical)", bus, lambda i: d.show(connected(i + 1)), frames)
    same = connected(10_000)
    d.show(same)
    run("unchanged screen", bus, lambda i: d.show(same), frames)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args()
    results = {mode: measure(mode, args.frames) for mode in ("block", "rdwr")}
    print(f"ssd1306 128x64 via luma.oled, I2C modelled at {BUS_HZ // 1000} kHz, {args.frames} redraws per case")
    print(f"{'case':36} {'CPU ms':>8} {'bus bytes':>10} {'bus ms block':>13} {'bus ms rdwr':>12}")
    for case, (cpu, nbytes, bus_ms) in results["block"].items():
        _, nbytes_rdwr, bus_ms_rdwr = results["rdwr"][case]
        print(f"{case:36} {cpu:8.3f} {nbytes:10d} {bus_ms:13.2f} {bus_ms_rdwr:12.2f}")
    peer = results["block"]["luma display() full frame (peer)"]
    tick = results["block"]["call timer tick (typical)"]
    print(f"call timer tick vs luma full frame: CPU x{tick[0] / peer[0]:.3f}, bus time x{tick[2] / peer[2]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
