"""The real luma code path: dummy device, and the real ssd1306/sh1106 drivers on a recording interface."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import numpy as np
import pytest
from peers_proc import require_module

from hal.base import Screen
from hal.render import render
from hal.settings import HalSettings

require_module("luma.oled")

from hal_oled_model import FakeSMBus, RecordingSerial, Sh1106Ram, Ssd1306Ram  # noqa: E402
from luma.core.device import dummy  # noqa: E402
from luma.oled.device import sh1106, ssd1306  # noqa: E402

from hal.pi.display import PiDisplay, open_panel, pack_pages  # noqa: E402

# luma.oled 3.16 still calls Image.getdata(), which Pillow 13 deprecates.
pytestmark = [pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning"), pytest.mark.arm64]

IDLE = Screen(status="1 5550001", clock="10:42", lines=("Your current options",), softkeys=("Redial", "NewCall", "CFwdAll"), icons=frozenset({"registered"}))


def connected(secs: int) -> Screen:
    return Screen(
        status="1 5550001", clock="10:42", icons=frozenset({"registered"}),
        lines=("Bob", "5550002", f"Connected\t{secs // 60:02d}:{secs % 60:02d}"),
        softkeys=("Hold", "EndCall", "Transfer", "NewCall"),
    )


def expected_ram(screen: Screen, rotate: int = 0) -> np.ndarray:
    img = render(screen)
    if rotate == 2:
        img = img.rotate(180)
    return pack_pages(img)


def test_pack_pages_puts_row_n_of_a_page_in_bit_n() -> None:
    from PIL import Image

    img = Image.new("1", (128, 64), 0)
    img.putpixel((5, 0), 1)
    img.putpixel((5, 7), 1)
    img.putpixel((127, 63), 1)
    pages = pack_pages(img)
    assert pages.shape == (8, 128)
    assert pages[0, 5] == 0x81 and pages[7, 127] == 0x80 and int(pages.sum()) == 0x81 + 0x80


def test_luma_dummy_device_holds_the_rendered_screen() -> None:
    dev = dummy(width=128, height=64, mode="1")
    display = PiDisplay(dev)
    display.show(IDLE)
    display.flush()
    assert dev.image.tobytes() == render(IDLE).tobytes()


def test_ssd1306_full_frame_then_partial_redraws_keep_the_panel_exact() -> None:
    rec = RecordingSerial()
    dev = ssd1306(rec, width=128, height=64)
    init = rec.take()
    assert init, "the real driver sent its init sequence"
    display = PiDisplay(dev)
    ram = Ssd1306Ram()

    display.show(IDLE)
    display.flush()
    first = rec.take()
    assert RecordingSerial.data_bytes(first) == 1024
    ram.apply(first)
    assert (ram.ram == expected_ram(IDLE)).all()

    display.show(connected(0))
    display.flush()
    ram.apply(rec.take())
    assert (ram.ram == expected_ram(connected(0))).all()

    display.show(connected(1))  # the call timer ticks: one digit changes
    display.flush()
    tick = rec.take()
    ram.apply(tick)
    assert (ram.ram == expected_ram(connected(1))).all()
    assert 0 < RecordingSerial.data_bytes(tick) <= 16
    assert display.stats.partial_frames == 2 and display.stats.full_frames == 1

    display.show(connected(1))
    display.flush()
    assert rec.take() == [], "an unchanged screen sends nothing"


def test_ssd1306_upside_down_mount() -> None:
    rec = RecordingSerial()
    dev = ssd1306(rec, width=128, height=64, rotate=2)
    rec.take()
    display = PiDisplay(dev)
    ram = Ssd1306Ram()
    for screen in (IDLE, connected(59), connected(60)):
        display.show(screen)
        display.flush()
        ram.apply(rec.take())
        assert (ram.ram == expected_ram(screen, rotate=2)).all()


def test_sh1106_partial_redraws_use_page_addressing() -> None:
    rec = RecordingSerial()
    dev = sh1106(rec, width=128, height=64)
    rec.take()
    display = PiDisplay(dev)
    ram = Sh1106Ram(offset=2)
    for screen in (IDLE, connected(0), connected(1), connected(61)):
        display.show(screen)
        display.flush()
        ram.apply(rec.take())
        assert (ram.ram == expected_ram(screen)).all()
    assert display.stats.partial_frames == 3


def test_i2c_address_and_panel_from_settings_reach_the_bus() -> None:
    bus = FakeSMBus()
    settings = HalSettings(panel="ssd1309", i2c_address=0x3D)
    dev = open_panel(settings, i2c_bus=bus)
    assert type(dev).__name__ == "ssd1309"
    assert {addr for addr, _, _ in bus.writes} == {0x3D}
    bus.writes.clear()
    shown = PiDisplay(dev)
    shown.show(IDLE)
    shown.flush()
    ctrl = [c for _, c, _ in bus.writes]
    assert ctrl[0] == 0x00 and set(ctrl[1:]) == {0x40}, "one command write, then data in 32-byte blocks"
    assert sum(len(d) for _, c, d in bus.writes if c == 0x40) == 1024


def test_missing_display_is_logged_and_the_phone_runs_without_it(caplog: pytest.LogCaptureFixture, clock: Any) -> None:
    from hal.pi import _open_display

    with caplog.at_level(logging.ERROR, logger="hal.pi"):
        display = _open_display(HalSettings(i2c_port=0), None)
    assert display is None
    assert "display: no ssd1306 at i2c port 0 address 0x3C" in caplog.text
    assert "running without a display" in caplog.text


class FakeSpiDev:
    """spidev's surface as luma uses it; records each write with the DC line's level."""

    def __init__(self, dc_pin: Any) -> None:
        self.dc_pin = dc_pin
        self.opened: tuple[int, int] | None = None
        self.max_speed_hz = 0
        self.writes: list[tuple[str, list[int]]] = []

    def open(self, port: int, device: int) -> None:
        self.opened = (port, device)

    def writebytes(self, data: list[int]) -> None:
        self.writes.append(("data" if self.dc_pin.state else "cmd", list(data)))

    def close(self) -> None:
        self.opened = None


def test_spi_panel_drives_dc_and_reset_through_the_chosen_pin_factory(pin_factory: Any) -> None:
    settings = HalSettings(bus="spi", spi_port=0, spi_device=1, spi_dc_pin=20, spi_rst_pin=21)
    spi = FakeSpiDev(pin_factory.pin(20))
    dev = open_panel(settings, spi_dev=spi, pin_factory=pin_factory)
    assert spi.opened == (0, 1)
    assert [s.state for s in pin_factory.pin(21).states] == [False, True], "RST pulsed low, then held high"
    assert spi.writes[0][0] == "cmd" and spi.writes[0][1][0] == 0xAE, "init sequence sent with DC low"
    spi.writes.clear()
    display = PiDisplay(dev)
    ram = Ssd1306Ram()
    for screen in (IDLE, connected(5)):
        display.show(screen)
        display.flush()
        ram.apply(spi.writes)
        spi.writes.clear()
        assert (ram.ram == expected_ram(screen)).all()
    display.close()
    assert spi.opened is None


class FlakySerial(RecordingSerial):
    """A bus that fails while ``broken`` is set, like an unplugged panel."""

    broken = False

    def command(self, *cmd: int) -> None:
        if self.broken:
            raise OSError(121, "Remote I/O error")
        super().command(*cmd)


def test_bus_errors_never_reach_the_loop_and_the_panel_recovers(caplog: pytest.LogCaptureFixture) -> None:
    rec = FlakySerial()
    dev = ssd1306(rec, width=128, height=64)
    rec.take()
    display = PiDisplay(dev)
    display.show(IDLE)
    display.flush()
    rec.broken = True
    with caplog.at_level(logging.INFO, logger="hal.pi.display"):
        display.show(connected(1))
        display.flush()
        display.show(connected(2))
        display.flush()
        rec.broken = False
        rec.take()
        display.show(connected(3))
        display.flush()
    assert display.stats.errors == 2
    assert caplog.text.count("write failed") == 1 and "writing again after 2 failed redraws" in caplog.text
    ram = Ssd1306Ram()
    ram.apply(rec.take())
    assert (ram.ram == expected_ram(connected(3))).all(), "recovered with a full frame"


# --- the writer thread: bus writes off the event loop ---------------------------------


class GatedSerial(RecordingSerial):
    """A bus whose writes wait on ``gate``: a transfer that takes as long as the test says.

    ``entered`` is set once the writer thread is inside a write, so the test knows
    a transfer is under way without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.gate.set()
        self.broken = False
        self.threads: set[str] = set()

    def _wait(self) -> None:
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        assert self.gate.wait(10), "test gate never opened"
        if self.broken:
            raise OSError(121, "Remote I/O error")

    def command(self, *cmd: int) -> None:
        self._wait()
        super().command(*cmd)

    def data(self, data: Any) -> None:
        self._wait()
        super().data(data)


def gated_display() -> tuple[PiDisplay, GatedSerial]:
    rec = GatedSerial()
    dev = ssd1306(rec, width=128, height=64)
    dev.persist = True  # as open_panel: close() leaves the panel's contents alone
    rec.take()
    rec.threads.clear()
    return PiDisplay(dev), rec


def test_screens_arriving_during_a_slow_transfer_coalesce_to_the_newest() -> None:
    display, rec = gated_display()
    try:
        rec.gate.clear()
        rec.entered.clear()
        display.show(IDLE)
        assert rec.entered.wait(10), "the first frame's transfer started"
        for s in (1, 2, 3):  # three screens while the bus is held
            display.show(connected(s))
        rec.gate.set()
        assert display.flush(10)
        ops = rec.take()
        # exactly two transfers: IDLE as a full frame, then the diff IDLE -> connected(3)
        assert display.stats.full_frames == 1 and display.stats.partial_frames == 1
        assert display.stats.coalesced == 2
        ram = Ssd1306Ram()
        ram.apply(ops)
        assert (ram.ram == expected_ram(connected(3))).all(), "the newest screen reached the panel"
        assert rec.threads == {"display-writer"}, "bus writes happen on the writer thread only"
    finally:
        display.close()


def test_show_returns_before_the_bus_transfer_and_the_loop_keeps_running() -> None:
    async def main() -> list[str]:
        display, rec = gated_display()
        order: list[str] = []
        try:
            rec.gate.clear()
            rec.entered.clear()
            display.show(IDLE)
            order.append("show returned")
            asyncio.get_running_loop().call_soon(
                lambda: order.append("callback ran, transfer " + ("done" if rec.ops else "pending")))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            assert rec.ops == [], "nothing reached the bus while the gate is closed"
            rec.gate.set()
            assert await asyncio.get_running_loop().run_in_executor(None, display.wait_idle, 10)
            order.append(f"idle, {RecordingSerial.data_bytes(rec.ops)} bytes sent")
        finally:
            rec.gate.set()
            display.close()
        return order

    assert asyncio.run(main()) == ["show returned", "callback ran, transfer pending", "idle, 1024 bytes sent"]


def test_bus_errors_come_back_to_the_loop_thread_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        display, rec = gated_display()
        seen: list[tuple[int, str]] = []
        drain = display._drain

        def spy() -> None:  # which thread settles the outcome, and what it counted
            drain()
            seen.append((display.stats.errors, threading.current_thread().name))

        display._drain = spy  # type: ignore[method-assign]
        try:
            display.show(IDLE)
            await loop.run_in_executor(None, display.wait_idle, 10)
            rec.broken = True
            for s in (1, 2):
                display.show(connected(s))
                await loop.run_in_executor(None, display.wait_idle, 10)
                await asyncio.sleep(0)
            rec.broken = False
            rec.take()
            display.show(connected(3))
            await loop.run_in_executor(None, display.wait_idle, 10)
            await asyncio.sleep(0)
        finally:
            display.close()
        assert display.stats.errors == 2
        assert {name for _, name in seen} == {threading.current_thread().name}, "settled on the loop's thread"
        ram = Ssd1306Ram()
        ram.apply(rec.take())
        assert (ram.ram == expected_ram(connected(3))).all(), "recovered with a full frame"

    with caplog.at_level(logging.INFO, logger="hal.pi.display"):
        asyncio.run(main())
    assert caplog.text.count("write failed") == 1 and "writing again after 2 failed redraws" in caplog.text


def test_close_sends_the_waiting_frame_and_joins_the_writer() -> None:
    display, rec = gated_display()
    rec.gate.clear()
    rec.entered.clear()
    display.show(IDLE)
    assert rec.entered.wait(10)
    display.show(connected(7))  # waiting in the slot when close() is called
    thread = display._thread
    assert thread is not None and thread.is_alive()
    threading.Timer(0.05, rec.gate.set).start()
    display.close()
    assert not thread.is_alive()
    ops = rec.take()
    assert ops[-1] == ("cleanup", []), "the panel is released after the writer stopped"
    ram = Ssd1306Ram()
    ram.apply(ops[:-1])
    assert (ram.ram == expected_ram(connected(7))).all()
    display.show(connected(8))  # after close: ignored, no thread comes back
    assert display._thread is thread and not thread.is_alive()
