"""hal.load("pi"): the whole Pi bundle on gpiozero's MockFactory and a recording display bus."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from peers_proc import require_module

import hal
from hal.base import HookEvent, InputEvent, KeyEvent, Screen
from hal.clock import VirtualClock
from hal.settings import HalSettings

require_module("gpiozero")
require_module("luma.oled")

from hal_oled_model import RecordingSerial  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:Image.Image.getdata is deprecated:DeprecationWarning"), pytest.mark.arm64]


def test_pi_bundle_on_mock_pins_delivers_events_and_draws(clock: VirtualClock) -> None:
    serial = RecordingSerial()
    settings = HalSettings(pin_factory="mock")
    pi = hal.load("pi", settings, clock=clock, post=clock.call_soon, display_serial=serial, audio=None)
    try:
        assert pi.name == "pi" and pi.display is not None and pi.ringer is not None
        events: list[InputEvent] = []
        pi.set_sink(events.append)
        factory: Any = pi.keypad.pin_factory  # type: ignore[union-attr]
        factory.pin(4).drive_low()  # lift the handset
        factory.pin(17).drive_low()  # softkey 1
        clock.advance(0.5)
        assert HookEvent(off_hook=True, at=pytest.approx(0.1)) in events  # type: ignore[comparison-overlap]
        assert [(e.key, e.down) for e in events if isinstance(e, KeyEvent)] == [("softkey1", True)]
        serial.take()
        pi.display.show(Screen(status="1 5550001", lines=("Hello",)))
        pi.display.flush()  # type: ignore[attr-defined]  # PiDisplay writes on its own thread
        assert RecordingSerial.data_bytes(serial.take()) == 1024
        pi.ringer.ring()
        assert pi.ringer.ringing
    finally:
        pi.close()


def test_pi_bundle_without_display_or_audio_still_works(
    clock: VirtualClock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "hal.pi.audio", None)
    settings = HalSettings(pin_factory="mock", i2c_port=0, buzzer_pin=None)
    with caplog.at_level(logging.INFO, logger="hal"):
        pi = hal.load("pi", settings, clock=clock, post=clock.call_soon)
    try:
        assert pi.display is None and pi.audio is None and pi.ringer is None
        assert pi.keypad is not None and pi.hook is not None
        assert "running without a display" in caplog.text
        assert "running without audio" in caplog.text
        assert "pin factory mock" in caplog.text
    finally:
        pi.close()


def test_events_from_a_gpio_thread_reach_the_asyncio_loop_thread() -> None:
    """Real factories call back on their own thread; the HAL must hand the event to the loop."""
    import asyncio
    import threading

    async def scenario() -> tuple[list[tuple[InputEvent, int]], int]:
        loop_thread = threading.get_ident()
        settings = HalSettings(pin_factory="mock", hook_debounce=0.01, panel="none", buzzer_pin=None)
        pi = hal.load("pi", settings, audio=None)  # clock and post default to the running loop
        got: list[tuple[InputEvent, int]] = []
        arrived = asyncio.Event()

        def sink(ev: InputEvent) -> None:
            got.append((ev, threading.get_ident()))
            arrived.set()

        pi.set_sink(sink)
        factory: Any = pi.keypad.pin_factory  # type: ignore[union-attr]
        worker = threading.Thread(target=factory.pin(4).drive_low)  # the "gpiozero thread"
        worker.start()
        worker.join()
        try:
            await asyncio.wait_for(arrived.wait(), timeout=10)
        finally:
            pi.close()
        return got, loop_thread

    got, loop_thread = asyncio.run(scenario())
    assert [(type(ev).__name__, getattr(ev, "off_hook", None)) for ev, _ in got] == [("HookEvent", True)]
    assert got[0][1] == loop_thread
