"""Choosing gpiozero's pin factory at run time, from the board model.

Why: RPi.GPIO drives the GPIO of a Pi 1-4 but cannot reach the RP1 chip of a
Pi 5, where lgpio (the kernel's gpiochip interface) is the working library.
gpiozero's own fallback search hides the reason when both fail
("Unable to load any default pin factory!"); here the board model is read
from the device tree (or /proc/cpuinfo), the right library is tried first,
and if none works the error names the board, each library's failure and the
package to install.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "FACTORY_CLASSES",
    "PinFactoryError",
    "board_model",
    "factory_order",
    "make_pin_factory",
]

log = logging.getLogger(__name__)

FACTORY_CLASSES = {
    "rpigpio": "gpiozero.pins.rpigpio:RPiGPIOFactory",
    "lgpio": "gpiozero.pins.lgpio:LGPIOFactory",
    "mock": "gpiozero.pins.mock:MockFactory",
}
_PI5 = re.compile(r"Raspberry Pi (5|500|Compute Module 5)\b")
_PI = re.compile(r"Raspberry Pi\b")
_HINT = (
    "install python3-rpi.gpio (Pi 1-4) or python3-lgpio (Pi 5) into the firmware's "
    "environment, check that /dev/gpiochip* exists and the service user is in group "
    "'gpio', or set the hal setting pin_factory = mock to run without GPIO"
)


class PinFactoryError(RuntimeError):
    """No GPIO library works on this machine; the message says what was tried."""


def board_model(root: Path = Path("/")) -> str | None:
    """The board's model string ("Raspberry Pi 4 Model B Rev 1.4"), or None off a Pi.

    Reads ``/proc/device-tree/model`` (NUL-terminated), else the ``Model``
    line of ``/proc/cpuinfo``. ``root`` lets tests supply a fake tree.
    """
    try:
        raw = (root / "proc/device-tree/model").read_bytes()[:256]
        model = raw.split(b"\0", 1)[0].decode("ascii", "replace").strip()
        if model:
            return model
    except OSError:
        pass
    try:
        with (root / "proc/cpuinfo").open(encoding="ascii", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip() == "Model":
                    return value.strip()[:256] or None
    except OSError:
        pass
    return None


def factory_order(model: str | None) -> list[str]:
    """Pin factories to try, best first, for a board ``model``."""
    if model and _PI5.search(model):
        return ["lgpio", "rpigpio"]  # "rpigpio" here is rpi-lgpio's RPi.GPIO shim, if installed
    if model and _PI.search(model):
        return ["rpigpio", "lgpio"]
    return ["lgpio", "rpigpio"]


def _load_class(name: str) -> Callable[[], Any]:
    module, _, cls = FACTORY_CLASSES[name].partition(":")
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def make_pin_factory(
    choice: str = "auto",
    root: Path = Path("/"),
    constructors: Mapping[str, Callable[[], Any]] | None = None,
) -> Any:
    """A working gpiozero pin factory.

    Args:
        choice: "auto" (by board model), or "rpigpio", "lgpio", "mock" to insist.
        root: filesystem root for the board model (tests).
        constructors: name -> factory constructor, replacing the gpiozero classes (tests).

    Raises:
        PinFactoryError: none of the candidates could be created.
    """
    model = board_model(root)
    order = factory_order(model) if choice == "auto" else [choice]
    failures: list[str] = []
    for name in order:
        try:
            ctor = constructors[name] if constructors is not None else _load_class(name)
            factory = ctor()
        except Exception as exc:  # ImportError, RuntimeError("only on a Raspberry Pi"), lgpio.error...
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        log.info("GPIO: board %s, pin factory %s", model or "unknown", name)
        return factory
    board = model or "not a Raspberry Pi (no device-tree model)"
    raise PinFactoryError(f"no GPIO library works on this board ({board}); tried " + "; ".join(failures) + f". To fix: {_HINT}")
