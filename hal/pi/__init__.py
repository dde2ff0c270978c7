"""Raspberry Pi backends (gpiozero, luma.oled, pyalsaaudio), assembled by ``build``.

Imported only by ``hal.load("pi")``. Input devices (keypad, hookswitch) are
required: without them there is no phone, so their errors propagate. The
display and the audio device are optional: a missing panel or sound card is
logged in one clear line and the phone keeps working without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hal.base import Audio, Display, Hal, Ringer
from hal.clock import Clock, LoopClock
from hal.settings import HalSettings

__all__ = ["build"]

log = logging.getLogger(__name__)

_DEFAULT = object()


def _open_display(settings: HalSettings, serial: Any, pin_factory: Any = None) -> Display | None:
    if settings.panel == "none":
        log.info("display: none configured")
        return None
    where = (
        f"i2c port {settings.i2c_port} address 0x{settings.i2c_address:02X}"
        if settings.bus == "i2c"
        else f"spi {settings.spi_port}.{settings.spi_device} dc GPIO {settings.spi_dc_pin}"
    )
    try:
        from hal.pi.display import PiDisplay, open_panel

        display = PiDisplay(open_panel(settings, serial, pin_factory=pin_factory))
    except Exception as exc:  # luma DeviceNotFoundError, OSError, ImportError...
        log.error("display: no %s at %s (%s: %s); running without a display",
                  settings.panel, where, type(exc).__name__, exc)
        return None
    log.info("display: %s %dx%d at %s", settings.panel, settings.width, settings.height, where)
    return display


def _open_audio(settings: HalSettings) -> Audio | None:
    """The ALSA device (``hal.pi.audio``, the media team's), probed once by opening it."""
    try:
        from hal.pi.audio import AlsaAudio  # type: ignore[import-not-found]

        audio: Audio = AlsaAudio(capture=settings.alsa_capture, playback=settings.alsa_playback)
        audio.open()
        audio.close()
    except Exception as exc:  # ImportError, OSError from a missing or busy card
        log.error("audio: ALSA capture %r / playback %r not usable (%s: %s); running without audio",
                  settings.alsa_capture, settings.alsa_playback, type(exc).__name__, exc)
        return None
    log.info("audio: ALSA capture %r, playback %r", settings.alsa_capture, settings.alsa_playback)
    return audio


def build(
    settings: HalSettings,
    *,
    clock: Clock | None = None,
    post: Callable[[Callable[[], Any]], Any] | None = None,
    pin_factory: Any = None,
    display_serial: Any = None,
    audio: Audio | None | object = _DEFAULT,
) -> Hal:
    """The Pi HAL bundle. Without ``clock``/``post``, uses the running asyncio loop.

    ``pin_factory`` and ``display_serial`` replace the real GPIO library and
    display bus (tests use gpiozero's MockFactory and a recording interface).
    """
    if clock is None or post is None:
        import asyncio

        loop = asyncio.get_running_loop()
        clock = clock or LoopClock(loop)
        post = post or loop.call_soon_threadsafe
    from hal.pi.hook import PiHookswitch
    from hal.pi.keypad import PiKeypad
    from hal.pi.pins import make_pin_factory
    from hal.pi.ringer import PiRinger

    factory = pin_factory if pin_factory is not None else make_pin_factory(settings.pin_factory)
    keypad = PiKeypad(settings, factory, clock, post)
    hook = PiHookswitch(settings, factory, clock, post)
    ringer: Ringer | None = PiRinger(settings, factory, clock) if settings.buzzer_pin is not None else None
    display = _open_display(settings, display_serial, factory)
    return Hal(
        keypad=keypad,
        hook=hook,
        display=display,
        ringer=ringer,
        audio=_open_audio(settings) if audio is _DEFAULT else audio,  # type: ignore[arg-type]
        name="pi",
    )
