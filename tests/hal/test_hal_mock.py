"""The mock HAL on a VirtualClock: keys, hook, screen as text and PNG, ringer history."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from PIL import Image

import hal
from hal.base import RING_WAITING_BEEP, HookEvent, InputEvent, KeyEvent, Screen
from hal.clock import VirtualClock
from hal.mock import MockHal
from hal.render import render
from hal.settings import HalSettings

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


@pytest.fixture
def phone(clock: VirtualClock) -> tuple[MockHal, list[InputEvent]]:
    mock = MockHal(clock, audio=None)
    events: list[InputEvent] = []
    mock.set_sink(events.append)
    return mock, events


def test_dial_schedules_key_down_and_up_on_virtual_time(phone: tuple[MockHal, list[InputEvent]], clock: VirtualClock) -> None:
    mock, events = phone
    end = mock.keypad.dial("55#", gap=0.2, hold=0.1)
    assert end == pytest.approx(0.7)
    assert events == []
    clock.advance(end)
    assert [(e.key, e.down, round(e.at, 6)) for e in events if isinstance(e, KeyEvent)] == [
        ("5", True, 0.0), ("5", False, 0.1), ("5", True, 0.3), ("5", False, 0.4), ("#", True, 0.6), ("#", False, 0.7),
    ]


def test_press_holds_for_the_given_time_and_named_keys_work(phone: tuple[MockHal, list[InputEvent]], clock: VirtualClock) -> None:
    mock, events = phone
    clock.advance(1.0)
    mock.keypad.press("softkey3", hold=0.5)
    assert mock.keypad.held == {"softkey3"}
    clock.advance(1.0)
    assert events == [KeyEvent(key="softkey3", down=True, at=1.0), KeyEvent(key="softkey3", down=False, at=1.5)]


def test_unknown_keys_are_refused_before_anything_is_pressed(phone: tuple[MockHal, list[InputEvent]], clock: VirtualClock) -> None:
    mock, events = phone
    with pytest.raises(ValueError, match="no such key: 'x'"):
        mock.keypad.dial("12x")
    with pytest.raises(ValueError, match="at most"):
        mock.keypad.dial("1" * 1000)
    clock.advance(10)
    assert events == []


def test_hook_lift_and_replace(phone: tuple[MockHal, list[InputEvent]], clock: VirtualClock) -> None:
    mock, events = phone
    mock.hook.lift()
    mock.hook.lift()  # already off hook: nothing
    clock.advance(2.5)
    mock.hook.replace()
    assert events == [HookEvent(off_hook=True, at=0.0), HookEvent(off_hook=False, at=2.5)]
    assert not mock.hook.off_hook


def test_screen_reads_back_as_text_rows_and_png(phone: tuple[MockHal, list[InputEvent]], clock: VirtualClock) -> None:
    mock, _ = phone
    screen = Screen(status="1 5550001", clock="10:42", lines=("Bob", "Connected\t00:07"), softkeys=("Hold", "EndCall"))
    clock.advance(3.0)
    mock.display.show(screen)
    mock.display.show(screen)
    assert mock.display.text_rows() == [
        "1 5550001       10:42",
        "Bob",
        "Connected       00:07",
        "[Hold] [EndCall]",
    ]
    assert list(mock.display.history) == [(3.0, screen)]
    png = mock.display.png()
    assert png.startswith(b"\x89PNG")
    img = Image.open(io.BytesIO(png))
    assert img.size == (128, 64) and img.tobytes() == render(screen).tobytes()
    assert Image.open(io.BytesIO(mock.display.png(scale=3))).size == (384, 192)


def test_ringer_history_has_exact_virtual_timestamps(phone: tuple[MockHal, list[InputEvent]], clock: VirtualClock) -> None:
    mock, _ = phone
    mock.ringer.ring()
    clock.advance(13.0)
    assert mock.ringer.ringing and mock.ringer.on
    mock.ringer.stop()
    assert list(mock.ringer.states) == [(0.0, True), (2.0, False), (6.0, True), (8.0, False), (12.0, True), (13.0, False)]
    assert not mock.ringer.ringing


def test_call_waiting_beep_and_configured_cadence(clock: VirtualClock) -> None:
    mock = MockHal(clock, HalSettings(ring_cadence=((0.4, 0.2), (0.4, 2.0))), audio=None)
    mock.ringer.ring()
    clock.advance(3.1)
    states = [(round(t, 6), on) for t, on in mock.ringer.states]
    assert states == [(0.0, True), (0.4, False), (0.6, True), (1.0, False), (3.0, True)]
    mock.ringer.ring(RING_WAITING_BEEP)  # restarts the cadence at once; already on, so no glitch
    clock.advance(10.0)
    states = [(round(t, 6), on) for t, on in mock.ringer.states]
    assert states[5:] == [(3.4, False), (13.1, True)]
    assert mock.ringer.cadence == RING_WAITING_BEEP


def test_audio_module_absent_gives_no_audio_with_a_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, clock: VirtualClock
) -> None:
    monkeypatch.setitem(sys.modules, "hal.mock.audio", None)  # import fails as on a checkout without it
    with caplog.at_level(logging.WARNING, logger="hal.mock"):
        mock = MockHal(clock)
    assert mock.audio is None
    assert "hal.mock.audio is not available; running without audio" in caplog.text


def test_load_mock_and_unknown_backend(clock: VirtualClock) -> None:
    mock = hal.load("mock", clock=clock, audio=None)
    assert isinstance(mock, MockHal) and mock.clock is clock and mock.name == "mock"
    with pytest.raises(ValueError, match="unknown HAL backend 'x86'"):
        hal.load("x86")


def test_importing_hal_and_the_mock_needs_no_hardware_library() -> None:
    import subprocess

    code = "import hal, hal.mock, hal.render, sys; hal.load('mock', audio=None); print(sorted(m for m in ('gpiozero', 'luma', 'alsaaudio') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
