"""Pin factory chosen at run time from the board model (hal.pi.pins), with a faked device tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from peers_proc import require_module

from hal.pi.pins import PinFactoryError, board_model, factory_order, make_pin_factory

pytestmark = pytest.mark.arm64  # part of the subset run in the emulated arm64 userland


def fake_root(tmp_path: Path, model: str | None = None, cpuinfo: str | None = None) -> Path:
    if model is not None:
        (tmp_path / "proc/device-tree").mkdir(parents=True)
        (tmp_path / "proc/device-tree/model").write_bytes(model.encode() + b"\0")
    if cpuinfo is not None:
        (tmp_path / "proc").mkdir(exist_ok=True)
        (tmp_path / "proc/cpuinfo").write_text(cpuinfo)
    return tmp_path


class Recorder:
    """Constructors that record the order they were tried in; some fail like the real ones."""

    def __init__(self, failing: dict[str, Exception]) -> None:
        self.tried: list[str] = []
        self.failing = failing

    def ctor(self, name: str) -> Any:
        def make() -> str:
            self.tried.append(name)
            if name in self.failing:
                raise self.failing[name]
            return f"<{name} factory>"

        return make

    def table(self) -> dict[str, Any]:
        return {n: self.ctor(n) for n in ("rpigpio", "lgpio", "mock")}


def test_board_model_from_device_tree(tmp_path: Path) -> None:
    root = fake_root(tmp_path, "Raspberry Pi 4 Model B Rev 1.4")
    assert board_model(root) == "Raspberry Pi 4 Model B Rev 1.4"


def test_board_model_from_cpuinfo_when_no_device_tree(tmp_path: Path) -> None:
    root = fake_root(tmp_path, cpuinfo="processor\t: 0\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 3 Model B Plus Rev 1.3\n")
    assert board_model(root) == "Raspberry Pi 3 Model B Plus Rev 1.3"
    assert board_model(tmp_path / "nothing") is None


@pytest.mark.parametrize(
    ("model", "first"),
    [
        ("Raspberry Pi Model B Rev 2", "rpigpio"),
        ("Raspberry Pi 3 Model B Rev 1.2", "rpigpio"),
        ("Raspberry Pi 4 Model B Rev 1.4", "rpigpio"),
        ("Raspberry Pi Zero 2 W Rev 1.0", "rpigpio"),
        ("Raspberry Pi 5 Model B Rev 1.0", "lgpio"),
        ("Raspberry Pi Compute Module 5 Rev 1.0", "lgpio"),
        ("Raspberry Pi 500 Rev 1.0", "lgpio"),
    ],
)
def test_library_tried_first_depends_on_the_board(tmp_path: Path, model: str, first: str) -> None:
    assert factory_order(model)[0] == first
    rec = Recorder({})
    assert make_pin_factory("auto", fake_root(tmp_path, model), rec.table()) == f"<{first} factory>"
    assert rec.tried == [first]


def test_pi5_falls_back_to_the_rpigpio_shim_when_lgpio_fails(tmp_path: Path) -> None:
    rec = Recorder({"lgpio": ImportError("No module named 'lgpio'")})
    root = fake_root(tmp_path, "Raspberry Pi 5 Model B Rev 1.0")
    assert make_pin_factory("auto", root, rec.table()) == "<rpigpio factory>"
    assert rec.tried == ["lgpio", "rpigpio"]


def test_clear_error_when_no_library_works(tmp_path: Path) -> None:
    rec = Recorder({
        "lgpio": OSError("can not open gpiochip"),
        "rpigpio": RuntimeError("This module can only be run on a Raspberry Pi!"),
    })
    root = fake_root(tmp_path, "Raspberry Pi 5 Model B Rev 1.0")
    with pytest.raises(PinFactoryError) as err:
        make_pin_factory("auto", root, rec.table())
    msg = str(err.value)
    assert "Raspberry Pi 5 Model B Rev 1.0" in msg
    assert "lgpio: OSError: can not open gpiochip" in msg
    assert "rpigpio: RuntimeError: This module can only be run on a Raspberry Pi!" in msg
    assert "python3-lgpio" in msg and "pin_factory = mock" in msg


def test_real_gpiozero_classes_off_a_pi_fail_with_the_clear_error(tmp_path: Path) -> None:
    """On this CI machine neither RPi.GPIO nor lgpio can drive GPIO: the real classes say so."""
    require_module("gpiozero")
    if "Raspberry Pi" in (board_model() or ""):
        pytest.skip("on a real Pi a GPIO library does work")
    with pytest.raises(PinFactoryError, match="not a Raspberry Pi"):
        make_pin_factory("auto", tmp_path)


def test_explicit_choice_is_not_second_guessed(tmp_path: Path) -> None:
    rec = Recorder({})
    root = fake_root(tmp_path, "Raspberry Pi 4 Model B Rev 1.4")
    assert make_pin_factory("lgpio", root, rec.table()) == "<lgpio factory>"
    assert rec.tried == ["lgpio"]


def test_mock_choice_builds_gpiozero_mock_factory(tmp_path: Path) -> None:
    mock = require_module("gpiozero.pins.mock")
    factory = make_pin_factory("mock", tmp_path)
    assert isinstance(factory, mock.MockFactory)
    factory.close()
