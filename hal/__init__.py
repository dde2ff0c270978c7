"""Hardware abstraction layer of the handset.

``hal`` knows nothing of SIP or of the firmware: it offers keypad, hookswitch,
display, ringer and audio behind small interfaces (``hal.base``), a clock
(``hal.clock``), and backends: ``hal.pi`` (gpiozero, luma.oled, pyalsaaudio)
and ``hal.mock`` (driven by a virtual clock, for headless tests).

Backends are imported lazily by ``load``: importing ``hal`` never imports
gpiozero, luma or alsaaudio, so a laptop or CI machine without them runs the
mock backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from hal.base import Hal
from hal.clock import Clock
from hal.settings import HalConfigError, HalSettings

__all__ = ["BACKENDS", "HalConfigError", "HalSettings", "load"]

BACKENDS = ("mock", "pi")


def load(
    name: str,
    settings: HalSettings | None = None,
    *,
    clock: Clock | None = None,
    post: Callable[[Callable[[], Any]], Any] | None = None,
    **kwargs: Any,
) -> Hal:
    """Build the HAL bundle of backend ``name`` ("mock" or "pi").

    Args:
        name: the backend.
        settings: wiring and devices; defaults to ``HalSettings()``.
        clock: the loop's clock (``LoopClock``) for "pi"; a ``VirtualClock`` for "mock".
        post: for "pi", how a gpiozero thread hands a callable to the loop
            (``loop.call_soon_threadsafe``); defaults to the running loop's.
        kwargs: passed to the backend (e.g. ``audio=`` for the mock).

    Raises:
        ValueError: unknown backend.
        hal.pi.pins.PinFactoryError: "pi" and no GPIO library works on this board.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown HAL backend {name!r} (expected one of {', '.join(BACKENDS)})")
    settings = settings or HalSettings()
    if name == "mock":
        mock = importlib.import_module("hal.mock")
        return mock.MockHal(clock, settings, **kwargs)  # type: ignore[no-any-return]
    pi = importlib.import_module("hal.pi")
    return pi.build(settings, clock=clock, post=post, **kwargs)  # type: ignore[no-any-return]
