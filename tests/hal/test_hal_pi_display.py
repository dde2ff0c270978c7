"""The real luma code path: dummy device, and the real ssd1306/sh1106 drivers on a recording interface."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from hal.base import Screen
from hal.render import render
from hal.settings import HalSettings

pytest.importorskip("luma.oled")

from hal_oled_model import FakeSMBus, RecordingSerial, Sh1106Ram, Ssd1306Ram  # noqa: E402
from luma.core.device import dummy  # noqa: E402
from luma.oled.device import sh1106, ssd1306  # noqa: E402

from hal.pi.display import PiDisplay, open_panel, pack_pages  # noqa: E402

# luma.oled 3.16 still calls Image.getdata(), which Pillow 13 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning")

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
    assert dev.image.tobytes() == render(IDLE).tobytes()


def test_ssd1306_full_frame_then_partial_redraws_keep_the_panel_exact() -> None:
    rec = RecordingSerial()
    dev = ssd1306(rec, width=128, height=64)
    init = rec.take()
    assert init, "the real driver sent its init sequence"
    display = PiDisplay(dev)
    ram = Ssd1306Ram()

    display.show(IDLE)
    first = rec.take()
    assert RecordingSerial.data_bytes(first) == 1024
    ram.apply(first)
    assert (ram.ram == expected_ram(IDLE)).all()

    display.show(connected(0))
    ram.apply(rec.take())
    assert (ram.ram == expected_ram(connected(0))).all()

    display.show(connected(1))  # the call timer ticks: one digit changes
    tick = rec.take()
    ram.apply(tick)
    assert (ram.ram == expected_ram(connected(1))).all()
    assert 0 < RecordingSerial.data_bytes(tick) <= 16
    assert display.stats.partial_frames == 2 and display.stats.full_frames == 1

    display.show(connected(1))
    assert rec.take() == [], "an unchanged screen sends nothing"


def test_ssd1306_upside_down_mount() -> None:
    rec = RecordingSerial()
    dev = ssd1306(rec, width=128, height=64, rotate=2)
    rec.take()
    display = PiDisplay(dev)
    ram = Ssd1306Ram()
    for screen in (IDLE, connected(59), connected(60)):
        display.show(screen)
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
    PiDisplay(dev).show(IDLE)
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
    rec.broken = True
    with caplog.at_level(logging.INFO, logger="hal.pi.display"):
        display.show(connected(1))
        display.show(connected(2))
        rec.broken = False
        rec.take()
        display.show(connected(3))
    assert display.stats.errors == 2
    assert caplog.text.count("write failed") == 1 and "writing again after 2 failed redraws" in caplog.text
    ram = Ssd1306Ram()
    ram.apply(rec.take())
    assert (ram.ram == expected_ram(connected(3))).all(), "recovered with a full frame"
