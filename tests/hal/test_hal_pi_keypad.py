"""The real Pi keypad code (hal.pi.keypad) on gpiozero's MockFactory, matrix scanning included."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from peers_proc import require_module

from hal.base import KeyEvent
from hal.clock import VirtualClock
from hal.settings import KEYPAD_4X4, HalSettings

require_module("gpiozero")

from hal_gpio_matrix import KeyMatrix  # noqa: E402

from hal.pi.keypad import PiKeypad  # noqa: E402

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def make(pin_factory: Any, clock: VirtualClock, **kw: Any) -> tuple[PiKeypad, KeyMatrix, list[KeyEvent]]:
    settings = HalSettings(**kw)
    matrix = KeyMatrix(pin_factory, settings.keypad_rows, settings.keypad_cols, settings.keypad_keys)
    keypad = PiKeypad(settings, pin_factory, clock, clock.call_soon)
    events: list[KeyEvent] = []
    keypad.set_sink(events.append)  # type: ignore[arg-type]
    return keypad, matrix, events


def downs(events: list[KeyEvent]) -> list[str]:
    return [e.key for e in events if e.down]


def test_scan_reads_every_key_of_a_4x3_matrix(pin_factory: Any, clock: VirtualClock) -> None:
    keypad, matrix, _ = make(pin_factory, clock)
    for key in "123456789*0#":
        matrix.close_key(key)
        assert keypad.matrix.scan() == {key}
        matrix.open_key(key)
    assert keypad.matrix.scan() == set()
    keypad.close()


def test_idle_keypad_does_not_scan_until_a_column_goes_low(pin_factory: Any, clock: VirtualClock) -> None:
    keypad, matrix, events = make(pin_factory, clock)
    clock.advance(1.0)
    assert keypad.matrix.scans == 0
    matrix.close_key("5")
    clock.advance(0.05)
    assert keypad.matrix.scans > 0
    assert [(e.key, e.down, e.at) for e in events] == [("5", True, pytest.approx(1.02))]
    keypad.close()


def test_press_and_release_are_debounced_with_exact_times(pin_factory: Any, clock: VirtualClock) -> None:
    keypad, matrix, events = make(pin_factory, clock, key_debounce=0.02, scan_interval=0.01)
    matrix.close_key("7")
    clock.advance(0.2)
    matrix.open_key("7")
    clock.advance(0.2)
    assert [(e.key, e.down, e.at) for e in events] == [
        ("7", True, pytest.approx(0.02)),
        ("7", False, pytest.approx(0.22)),
    ]
    scans = keypad.matrix.scans
    clock.advance(5.0)
    assert keypad.matrix.scans == scans, "back to idle: no scanning while no key is down"
    keypad.close()


def test_contact_bounce_shorter_than_debounce_is_ignored(pin_factory: Any, clock: VirtualClock) -> None:
    keypad, matrix, events = make(pin_factory, clock, key_debounce=0.03, scan_interval=0.01)
    # A key that bounces open and closed for 40 ms before settling closed.
    for _ in range(2):
        matrix.close_key("3")
        clock.advance(0.01)
        matrix.open_key("3")
        clock.advance(0.01)
    matrix.close_key("3")
    clock.advance(0.5)
    assert downs(events) == ["3"]
    # A glitch closed for one scan only never reaches the firmware.
    matrix.close_key("9")
    clock.advance(0.01)
    matrix.open_key("9")
    clock.advance(0.5)
    assert downs(events) == ["3"]
    keypad.close()


def test_held_key_gives_one_key_down_no_repeat(pin_factory: Any, clock: VirtualClock) -> None:
    keypad, matrix, events = make(pin_factory, clock)
    matrix.close_key("0")
    clock.advance(3.0)
    assert [(e.key, e.down, e.at) for e in events] == [("0", True, pytest.approx(0.02))]
    assert keypad.matrix.scans > 100  # it kept scanning all along
    keypad.close()


def test_two_keys_in_different_rows_and_columns(pin_factory: Any, clock: VirtualClock) -> None:
    keypad, matrix, events = make(pin_factory, clock)
    matrix.close_key("1")
    clock.advance(0.1)
    matrix.close_key("9")
    clock.advance(0.1)
    matrix.open_key("1")
    matrix.open_key("9")
    clock.advance(0.1)
    assert [(e.key, e.down) for e in events] == [("1", True), ("9", True), ("1", False), ("9", False)]
    keypad.close()


def test_stuck_key_is_reported_up_once_and_other_keys_still_work(
    pin_factory: Any, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    keypad, matrix, events = make(pin_factory, clock, stuck_key_after=5.0)
    with caplog.at_level(logging.WARNING, logger="hal.pi.keypad"):
        matrix.close_key("#")
        clock.advance(6.0)
    assert [(e.key, e.down, e.at) for e in events] == [("#", True, 0.02), ("#", False, pytest.approx(5.02, abs=0.011))]
    assert "stuck" in caplog.text and "'#'" in caplog.text
    scans = keypad.matrix.scans
    clock.advance(1.0)
    assert keypad.matrix.scans - scans <= 21, "scans slowly while only a stuck key is held"
    matrix.close_key("2")
    clock.advance(0.2)
    matrix.open_key("2")
    clock.advance(0.2)
    assert [(e.key, e.down) for e in events[2:]] == [("2", True), ("2", False)]
    matrix.open_key("#")
    clock.advance(0.5)
    assert len(events) == 4, "releasing the stuck key reports nothing more"
    keypad.close()


def test_4x4_matrix_feature_column(pin_factory: Any, clock: VirtualClock) -> None:
    keypad, matrix, events = make(
        pin_factory, clock, keypad_cols=(22, 23, 27, 21), keypad_keys=KEYPAD_4X4
    )
    matrix.close_key("transfer")
    clock.advance(0.1)
    assert downs(events) == ["transfer"]
    keypad.close()


def test_softkeys_and_line_keys_are_plain_debounced_gpio(pin_factory: Any, clock: VirtualClock) -> None:
    keypad, _, events = make(pin_factory, clock, line_pins=(20,), feature_pins=(("mute", 21),))
    soft2 = pin_factory.pin(24)
    soft2.drive_low()
    clock.advance(0.005)
    soft2.drive_high()  # bounce
    clock.advance(0.005)
    soft2.drive_low()
    clock.advance(0.1)
    soft2.drive_high()
    clock.advance(0.1)
    assert [(e.key, e.down, e.at) for e in events] == [
        ("softkey2", True, pytest.approx(0.03)),
        ("softkey2", False, pytest.approx(0.13)),
    ]
    pin_factory.pin(20).drive_low()
    pin_factory.pin(21).drive_low()
    clock.advance(0.1)
    assert downs(events) == ["softkey2", "line1", "mute"]
    keypad.close()


def test_events_before_a_sink_is_set_are_dropped_and_counted(pin_factory: Any, clock: VirtualClock) -> None:
    settings = HalSettings()
    matrix = KeyMatrix(pin_factory, settings.keypad_rows, settings.keypad_cols, settings.keypad_keys)
    keypad = PiKeypad(settings, pin_factory, clock, clock.call_soon)
    matrix.close_key("4")
    clock.advance(0.1)
    assert keypad.dropped == 1
    keypad.close()


def test_the_matrix_model_shows_a_ghost_key(pin_factory: Any, clock: VirtualClock) -> None:
    """The wiring model is physical: three keys of a rectangle make the fourth read closed."""
    keypad, matrix, _ = make(pin_factory, clock)
    for key in "124":
        matrix.close_key(key)
    assert keypad.matrix.scan() == {"1", "2", "4", "5"}
    keypad.close()


def test_ghost_key_is_never_reported(pin_factory: Any, clock: VirtualClock) -> None:
    keypad, matrix, events = make(pin_factory, clock)
    matrix.close_key("1")
    matrix.close_key("2")
    clock.advance(0.1)
    matrix.close_key("4")  # now '5' reads closed too
    clock.advance(0.5)
    assert downs(events) == ["1", "2"], "neither the real '4' nor the phantom '5' while ambiguous"
    assert keypad.matrix.ghost_scans > 0
    matrix.open_key("1")  # unambiguous again: '4' is real, '5' is gone
    clock.advance(0.1)
    assert [(e.key, e.down) for e in events[2:]] == [("1", False), ("4", True)]
    keypad.close()


def test_wake_up_posted_before_close_does_not_scan_after_close(pin_factory: Any, clock: VirtualClock) -> None:
    keypad, matrix, _ = make(pin_factory, clock)
    matrix.close_key("8")  # posts a wake-up on the clock
    keypad.close()
    scans = keypad.matrix.scans
    clock.advance(1.0)
    assert keypad.matrix.scans == scans
