"""Raspberry Pi display: luma.oled SSD1306 / SH1106 / SSD1309 over I2C or SPI, partial redraws.

Why partial redraws: luma.oled's ``ssd1306.display()`` always sends the whole
frame, 1024 bytes, which at 400 kHz I2C is about 25 ms of bus time during which
the event loop (and the audio pacing on it) waits. A call timer changes a few
dozen bytes a second. So the first frame goes through the real driver's
``display()``; after that the new frame is packed into the controller's page
layout (8 rows per byte), compared with the previous frame, and only the
changed column span of each changed page is written, with the controller's
own addressing commands (SSD1306/SSD1309: COLUMNADDR/PAGEADDR, horizontal
addressing mode; SH1106: page address + column nibbles). An unchanged screen
sends nothing. ``stats`` counts what was sent so the cost can be measured.

Why a writer thread: even a partial redraw is ~14 ms of 400 kHz bus time
(bench/bench_display.py), longer than the audio's 2 ms p99 budget on the
20 ms RTP grid (bench/bench_media_grid.py --pi-display). So ``show()``
renders and packs the frame on the loop (sub-millisecond) and hands it to
one HAL-internal thread that does the I2C/SPI writes. The thread touches
only the luma device and its bus, never firmware state; outcomes come back
to the loop with ``call_soon_threadsafe``. The hand-off is a one-frame
slot: a frame that arrives while a transfer runs replaces any frame still
waiting, so a slow bus sends the newest screen next and never queues up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from hal.base import Display, Screen
from hal.render import render
from hal.settings import HalSettings

__all__ = ["DisplayStats", "PiDisplay", "open_panel"]

log = logging.getLogger(__name__)

SSD1306_COLUMNADDR = 0x21
SSD1306_PAGEADDR = 0x22
SH1106_PAGE = 0xB0


@dataclass
class DisplayStats:
    full_frames: int = 0
    partial_frames: int = 0
    unchanged: int = 0
    windows: int = 0
    data_bytes: int = 0
    errors: int = 0
    coalesced: int = 0
    last_redraw_s: float = 0.0


def open_panel(
    settings: HalSettings,
    serial: Any = None,
    *,
    i2c_bus: Any = None,
    spi_dev: Any = None,
    pin_factory: Any = None,
) -> Any:
    """The luma device for ``settings.panel`` on ``settings.bus``.

    ``serial`` replaces the whole luma serial interface. ``i2c_bus`` replaces
    only the smbus object under luma's I2C interface, ``spi_dev`` the spidev
    object under its SPI interface (tests: fakes that record). With
    ``pin_factory``, the SPI panel's DC and RST lines go through gpiozero
    (``GpioZeroLines``) instead of luma importing RPi.GPIO.
    Raises whatever luma raises when the bus or device is missing
    (``luma.core.error.DeviceNotFoundError``, ``OSError``...).
    """
    from luma.oled import device as oled

    if serial is None:
        from luma.core.interface import serial as luma_serial

        if settings.bus == "i2c" and i2c_bus is not None:
            serial = luma_serial.i2c(bus=i2c_bus, address=settings.i2c_address)
        elif settings.bus == "i2c":
            serial = luma_serial.i2c(port=settings.i2c_port, address=settings.i2c_address)
        else:
            from hal.pi.gpio_lines import GpioZeroLines

            serial = luma_serial.spi(
                spi=spi_dev,
                gpio=GpioZeroLines(pin_factory) if pin_factory is not None else None,
                port=settings.spi_port, device=settings.spi_device,
                gpio_DC=settings.spi_dc_pin, gpio_RST=settings.spi_rst_pin,
            )
    cls = {"ssd1306": oled.ssd1306, "sh1106": oled.sh1106, "ssd1309": oled.ssd1309}[settings.panel]
    dev = cls(serial, width=settings.width, height=settings.height, rotate=settings.rotate)
    dev.persist = True  # App.close() decides what the panel shows at exit, not luma's atexit hook
    return dev


def pack_pages(image: Any) -> np.ndarray:
    """A 1-bit image as controller RAM: (pages, width) bytes, bit n = row 8*page+n."""
    arr = np.asarray(image, dtype=np.uint8)
    h, w = arr.shape
    return np.packbits(arr.reshape(h // 8, 8, w), axis=1, bitorder="little").reshape(h // 8, w)


def _kind(device: Any) -> str:
    names = {type(device).__name__} | {c.__name__ for c in type(device).__mro__}
    if "sh1106" in names:
        return "sh1106"
    if "ssd1306" in names:  # ssd1309 derives from ssd1306 in luma.oled
        return "ssd1306"
    return "other"


class PiDisplay(Display):
    """Draws ``Screen`` values on a luma device, sending only what changed.

    ``threaded=False`` writes on the caller's thread inside ``show()`` (the
    behaviour before the writer thread; the bench's foil).
    """

    def __init__(self, device: Any, *, threaded: bool = True) -> None:
        self.device = device
        self.width = device.width
        self.height = device.height
        self.stats = DisplayStats()
        self.threaded = threaded
        self._kind = _kind(device)
        self._screen: Screen | None = None  # last screen handed over (loop side)
        self._pages: np.ndarray | None = None  # what the panel holds (writer side)
        self._failing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cond = threading.Condition()
        self._slot: tuple[Any, np.ndarray | None] | None = None
        self._busy = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._outcomes: deque[BaseException | None] = deque()

    def show(self, screen: Screen) -> None:
        """Draw ``screen``. A bus error (panel unplugged, loose wire) is logged
        once and never raised into the event loop; the next screen is then sent
        as a full frame, which also recovers a panel that was power-cycled."""
        self._drain()
        if screen == self._screen:
            self.stats.unchanged += 1
            return
        self._screen = screen
        image = render(screen, self.width, self.height)
        pages = None if self._kind == "other" else pack_pages(self.device.preprocess(image))
        if not self.threaded:
            self._outcomes.append(self._transfer(image, pages))
            self._drain()
            return
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None  # no loop (tests, tools): outcomes wait for flush()/show()
        with self._cond:
            if self._closing:
                return
            if self._slot is not None:
                self.stats.coalesced += 1
            self._slot = (image, pages)
            if self._thread is None:
                self._thread = threading.Thread(target=self._writer, name="display-writer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no frame is waiting or being sent (any thread). Tests/tools."""
        with self._cond:
            return self._cond.wait_for(lambda: self._slot is None and not self._busy, timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """``wait_idle`` and then settle the outcomes here, on the caller's thread
        (for code without a running loop: tests, bench, tools)."""
        idle = self.wait_idle(timeout)
        self._drain()
        return idle

    def _writer(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._slot is not None or self._closing)
                if self._slot is None:
                    return  # closing and nothing left to send
                image, pages = self._slot
                self._slot, self._busy = None, True
            outcome = self._transfer(image, pages)
            self._outcomes.append(outcome)
            loop = self._loop
            if loop is not None:
                try:
                    loop.call_soon_threadsafe(self._drain)
                except RuntimeError:  # loop closed: flush()/close() settles it
                    pass
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _transfer(self, image: Any, pages: np.ndarray | None) -> BaseException | None:
        """The bus writes; on the writer thread (or inline when not threaded)."""
        t0 = time.perf_counter()
        try:
            self._push(image, pages)
        except Exception as exc:  # luma DeviceNotFoundError, OSError from the bus
            self._pages = None  # the next frame goes out whole
            return exc
        self.stats.last_redraw_s = time.perf_counter() - t0
        return None

    def _drain(self) -> None:
        """Settle transfer outcomes in order: count errors, log the first of a run once."""
        while self._outcomes:
            exc = self._outcomes.popleft()
            if exc is not None:
                self.stats.errors += 1
                self._screen = None  # so the same screen is tried again
                if not self._failing:
                    log.error("display: write failed (%s: %s); the phone keeps working", type(exc).__name__, exc)
                self._failing = True
            elif self._failing:
                log.info("display: writing again after %d failed redraws", self.stats.errors)
                self._failing = False

    def _push(self, image: Any, pages: np.ndarray | None) -> None:
        if pages is None:
            self.device.display(image)
            self.stats.full_frames += 1
            return
        prev, self._pages = self._pages, pages
        if prev is None:
            self.device.display(image)  # the driver's own full-frame path
            self.stats.full_frames += 1
            self.stats.data_bytes += pages.size
            return
        changed = prev != pages
        if not changed.any():
            self.stats.unchanged += 1
            return
        self.stats.partial_frames += 1
        for page in np.flatnonzero(changed.any(axis=1)):
            cols = np.flatnonzero(changed[page])
            c0, c1 = int(cols[0]), int(cols[-1])
            self._window(int(page), c0, c1, pages[page, c0 : c1 + 1].tobytes())

    def _window(self, page: int, c0: int, c1: int, data: bytes) -> None:
        dev = self.device
        if self._kind == "sh1106":
            col = c0 + getattr(dev, "_page_address_offset", 0)
            dev.command(SH1106_PAGE | page, col & 0x0F, 0x10 | (col >> 4))
        else:
            start = getattr(dev, "_colstart", 0)
            dev.command(SSD1306_COLUMNADDR, start + c0, start + c1, SSD1306_PAGEADDR, page, page)
        dev.data(list(data))
        self.stats.windows += 1
        self.stats.data_bytes += len(data)

    def close(self, timeout: float = 2.0) -> None:
        """Send the frame still waiting, stop and join the writer, release the panel."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("display: writer still busy after %.1f s; closing anyway", timeout)
        self._drain()
        try:
            self.device.cleanup()
        except Exception:  # a vanished I2C device must not stop shutdown
            log.exception("display: cleanup failed")
