"""Hardware settings of one handset: pins, panel, bus, ALSA device names (stdlib only).

Why: every DIY handset is wired differently, so nothing about the wiring is
hard-coded in the backends. Provisioning fills a ``HalSettings`` from the
phone's config; the value refuses bad wiring at boot (a pin off the 40-pin
header, a pin used twice, a pin that the chosen display bus needs) with the
offending key named, instead of failing later with a GPIO error nobody can map
back to the config file.

Pin numbers are Broadcom (BCM) GPIO numbers, as gpiozero uses them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hal.base import FIXED_KEYS, KEYPAD_KEYS, NAV_KEYS, RING_NORMAL, RING_WAITING_BEEP, RingCadence

__all__ = [
    "FEATURE_KEYS",
    "KEYPAD_4X3",
    "KEYPAD_4X4",
    "HalConfigError",
    "HalSettings",
    "valid_key_name",
]

#: Hard keys of a 7960-like handset besides the keypad, softkeys and line keys.
FEATURE_KEYS = frozenset({*FIXED_KEYS, *NAV_KEYS, "hold", "transfer", "redial", "help"})

KEYPAD_4X3: tuple[tuple[str, ...], ...] = (
    ("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("*", "0", "#"),
)
#: A 4x4 membrane keypad: the A-D column becomes feature keys.
KEYPAD_4X4: tuple[tuple[str, ...], ...] = (
    ("1", "2", "3", "redial"),
    ("4", "5", "6", "hold"),
    ("7", "8", "9", "transfer"),
    ("*", "0", "#", "speaker"),
)

PANELS = ("ssd1306", "sh1106", "ssd1309", "none")
BUSES = ("i2c", "spi")
PIN_FACTORIES = ("auto", "rpigpio", "lgpio", "mock")
MAX_BCM_PIN = 27  # GPIO 0-27 reach the 40-pin header
MAX_KEYS = 16  # softkeys, line keys: bounds what a config file can ask for

_RESERVED_ALWAYS = {0: "the HAT ID EEPROM (ID_SD)", 1: "the HAT ID EEPROM (ID_SC)"}
_I2C_PINS = {0: {0: "I2C0 SDA", 1: "I2C0 SCL"}, 1: {2: "I2C1 SDA", 3: "I2C1 SCL"}}
_SPI_PINS = {
    0: {9: "SPI0 MISO", 10: "SPI0 MOSI", 11: "SPI0 SCLK"},
    1: {19: "SPI1 MISO", 20: "SPI1 MOSI", 21: "SPI1 SCLK"},
}
_SPI_CE = {0: {0: 8, 1: 7}, 1: {0: 18, 1: 17}}  # port -> device -> chip-select GPIO


class HalConfigError(ValueError):
    """A setting is unusable; ``key`` names it as it appears in the config."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"hal setting {key}: {reason}")
        self.key = key
        self.reason = reason


def valid_key_name(name: str) -> bool:
    """True for '0'-'9', '*', '#', 'softkeyN', 'lineN' and the feature keys."""
    if name in KEYPAD_KEYS or name in FEATURE_KEYS:
        return True
    for prefix in ("softkey", "line"):
        tail = name[len(prefix):]
        if name.startswith(prefix) and tail.isdigit() and 1 <= int(tail) <= MAX_KEYS:
            return True
    return False


@dataclass(frozen=True, slots=True, kw_only=True)
class HalSettings:
    """Wiring and devices of the handset.

    Defaults (the reference handset): a 4x3 keypad, 4 softkeys, a normally-open
    hook contact, a buzzer and an SSD1306 on I2C1 at 0x3C. They use 13 of the
    header's GPIOs and leave free the I2C1, SPI0 and UART pins and GPIO 18-21,
    which an I2S audio codec HAT needs. An SPI panel needs its DC/RST pins
    moved off the softkeys (or fewer softkeys).
    """

    pin_factory: str = "auto"
    keypad_rows: tuple[int, ...] = (5, 6, 13, 16)
    keypad_cols: tuple[int, ...] = (22, 23, 27)
    keypad_keys: tuple[tuple[str, ...], ...] = KEYPAD_4X3
    key_debounce: float = 0.02
    scan_interval: float = 0.01
    stuck_key_after: float = 30.0
    softkey_pins: tuple[int, ...] = (17, 24, 25, 26)
    line_pins: tuple[int, ...] = ()
    feature_pins: tuple[tuple[str, int], ...] = ()
    hook_pin: int = 4
    hook_polarity: str = "NO"  # NO: contact closes when lifted; NC: opens when lifted
    hook_debounce: float = 0.1
    buzzer_pin: int | None = 12
    buzzer_tone_hz: float | None = None  # None: plain on/off Buzzer; else TonalBuzzer
    ring_cadence: RingCadence = RING_NORMAL
    waiting_cadence: RingCadence = RING_WAITING_BEEP
    panel: str = "ssd1306"
    bus: str = "i2c"
    i2c_port: int = 1
    i2c_address: int = 0x3C
    spi_port: int = 0
    spi_device: int = 0
    spi_dc_pin: int = 24
    spi_rst_pin: int = 25
    width: int = 128
    height: int = 64
    rotate: int = 0
    alsa_capture: str = "default"
    alsa_playback: str = "default"

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> HalSettings:
        """Build from config values (lists, '0x3C' strings, a dict of feature pins).

        Raises:
            HalConfigError: an unknown key, a value of the wrong type, or bad wiring.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            if key not in names:
                raise HalConfigError(key, "unknown setting")
            kwargs[key] = _coerce(key, value)
        return cls(**kwargs)

    @classmethod
    def from_cnf(cls, values: Mapping[str, Any]) -> HalSettings:
        """Build from the provisioning keys of the phone's ``.cnf`` files.

        ``display_type``, ``display_bus``, ``display_port``, ``display_address``,
        ``hook_debounce_ms``, ``audio_capture_device``... are translated to the
        fields here; keys left unset (None or an empty list) keep the defaults;
        native field names pass through. Errors name the ``.cnf`` key.

        Raises:
            HalConfigError: as ``from_mapping``, with ``key`` the ``.cnf`` key.
        """
        native: dict[str, Any] = {}
        origin: dict[str, str] = {}
        bus = str(values.get("display_bus") or "i2c")
        for key, value in values.items():
            if value is None or value == () or value == []:
                continue
            if key == "display_port":
                field_name = "spi_port" if bus == "spi" else "i2c_port"
            elif key in _CNF_KEYS:
                field_name = _CNF_KEYS[key]
            else:
                field_name = key
            if key == "hook_debounce_ms":
                value = value / 1000 if isinstance(value, int | float) and not isinstance(value, bool) else value
            elif key == "hook_polarity" and isinstance(value, str):
                value = value.upper()
            native[field_name] = value
            origin[field_name] = key
        try:
            return cls.from_mapping(native)
        except HalConfigError as exc:
            base, sep, rest = exc.key.partition("[") if "[" in exc.key else exc.key.partition(".")
            cnf_key = origin.get(base, base)
            raise HalConfigError(cnf_key + sep + rest, exc.reason) from None

    def pin_uses(self) -> Iterator[tuple[str, int]]:
        """Every (config key, BCM pin) this wiring claims."""
        for i, p in enumerate(self.keypad_rows):
            yield f"keypad_rows[{i}]", p
        for i, p in enumerate(self.keypad_cols):
            yield f"keypad_cols[{i}]", p
        for i, p in enumerate(self.softkey_pins):
            yield f"softkey_pins[{i}]", p
        for i, p in enumerate(self.line_pins):
            yield f"line_pins[{i}]", p
        for name, p in self.feature_pins:
            yield f"feature_pins.{name}", p
        yield "hook_pin", self.hook_pin
        if self.buzzer_pin is not None:
            yield "buzzer_pin", self.buzzer_pin
        if self.panel != "none" and self.bus == "spi":
            yield "spi_dc_pin", self.spi_dc_pin
            yield "spi_rst_pin", self.spi_rst_pin

    def keypad_key_names(self) -> list[str]:
        """Every key name the handset can produce with this wiring."""
        names = [k for row in self.keypad_keys for k in row]
        names += [f"softkey{i + 1}" for i in range(len(self.softkey_pins))]
        names += [f"line{i + 1}" for i in range(len(self.line_pins))]
        names += [name for name, _ in self.feature_pins]
        return names


#: Provisioning (.cnf) key -> field. display_port maps to i2c_port or spi_port by display_bus.
_CNF_KEYS = {
    "hook_debounce_ms": "hook_debounce",
    "display_type": "panel",
    "display_bus": "bus",
    "display_address": "i2c_address",
    "display_spi_device": "spi_device",
    "display_dc_pin": "spi_dc_pin",
    "display_rst_pin": "spi_rst_pin",
    "display_width": "width",
    "display_height": "height",
    "display_rotate": "rotate",
    "audio_capture_device": "alsa_capture",
    "audio_playback_device": "alsa_playback",
}


def _coerce(key: str, value: Any) -> Any:
    """Config files give lists and strings; the dataclass wants tuples and ints."""
    if key == "feature_pins" and isinstance(value, Mapping):
        return tuple((str(k), v) for k, v in value.items())
    if key == "keypad_keys" and isinstance(value, list | tuple):
        return tuple(tuple(r) if isinstance(r, list | tuple) else tuple(str(r)) for r in value)
    if key in ("ring_cadence", "waiting_cadence") and isinstance(value, list | tuple):
        try:
            return tuple((float(on), float(off)) for on, off in value)
        except (TypeError, ValueError) as exc:
            raise HalConfigError(key, f"expected (on, off) pairs, got {value!r}") from exc
    if isinstance(value, list):
        return tuple(value)
    if key == "i2c_address" and isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError as exc:
            raise HalConfigError(key, f"not an address: {value!r}") from exc
    return value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_number(key: str, v: Any, lo: float, hi: float) -> None:
    if not isinstance(v, int | float) or isinstance(v, bool) or not lo <= v <= hi:
        raise HalConfigError(key, f"must be a number from {lo} to {hi}, got {v!r}")


def _check_cadence(key: str, cadence: Any) -> None:
    if not isinstance(cadence, tuple) or not 1 <= len(cadence) <= 8:
        raise HalConfigError(key, "must be 1 to 8 (on, off) pairs")
    for on, off in cadence:
        _check_number(key, on, 0.01, 60.0)
        _check_number(key, off, 0.0, 60.0)


def _validate(s: HalSettings) -> None:
    for key in ("keypad_rows", "keypad_cols", "keypad_keys", "softkey_pins", "line_pins", "feature_pins"):
        if not isinstance(getattr(s, key), tuple):
            raise HalConfigError(key, f"must be a list, got {getattr(s, key)!r}")
    for i, pair in enumerate(s.feature_pins):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise HalConfigError(f"feature_pins[{i}]", f"must be a (key name, pin) pair, got {pair!r}")
    for r, row in enumerate(s.keypad_keys):
        if not isinstance(row, tuple):
            raise HalConfigError(f"keypad_keys[{r}]", f"must be a list of key names, got {row!r}")
    if s.pin_factory not in PIN_FACTORIES:
        raise HalConfigError("pin_factory", f"must be one of {', '.join(PIN_FACTORIES)}")
    if s.panel not in PANELS:
        raise HalConfigError("panel", f"must be one of {', '.join(PANELS)}, got {s.panel!r}")
    if s.bus not in BUSES:
        raise HalConfigError("bus", f"must be i2c or spi, got {s.bus!r}")
    if s.hook_polarity not in ("NO", "NC"):
        raise HalConfigError("hook_polarity", f"must be NO or NC, got {s.hook_polarity!r}")
    if s.rotate not in (0, 2):
        raise HalConfigError("rotate", "must be 0 or 2 (the screens are laid out landscape)")
    if (s.width, s.height) not in ((128, 64), (128, 32)):
        raise HalConfigError("width", f"panel size {s.width}x{s.height} unsupported (128x64 or 128x32)")
    if not _is_int(s.i2c_address) or not 0x03 <= s.i2c_address <= 0x77:
        raise HalConfigError("i2c_address", f"must be a 7-bit address 0x03-0x77, got {s.i2c_address!r}")
    for key in ("i2c_port", "spi_port", "spi_device"):
        v = getattr(s, key)
        if not _is_int(v) or not 0 <= v <= 1:
            raise HalConfigError(key, f"must be 0 or 1, got {v!r}")
    _check_number("key_debounce", s.key_debounce, 0.0, 0.5)
    _check_number("hook_debounce", s.hook_debounce, 0.0, 2.0)
    _check_number("scan_interval", s.scan_interval, 0.001, 0.1)
    _check_number("stuck_key_after", s.stuck_key_after, 1.0, 3600.0)
    if s.buzzer_tone_hz is not None:
        _check_number("buzzer_tone_hz", s.buzzer_tone_hz, 50.0, 10000.0)
    _check_cadence("ring_cadence", s.ring_cadence)
    _check_cadence("waiting_cadence", s.waiting_cadence)
    for key in ("alsa_capture", "alsa_playback"):
        v = getattr(s, key)
        if not isinstance(v, str) or not v or len(v) > 200:
            raise HalConfigError(key, "must be a non-empty ALSA device name")
    _validate_keys(s)
    _validate_pins(s)


def _validate_keys(s: HalSettings) -> None:
    if not 1 <= len(s.keypad_rows) <= 8 or not 1 <= len(s.keypad_cols) <= 8:
        raise HalConfigError("keypad_rows", "a keypad matrix has 1 to 8 rows and columns")
    if len(s.keypad_keys) != len(s.keypad_rows):
        raise HalConfigError("keypad_keys", f"has {len(s.keypad_keys)} rows, keypad_rows has {len(s.keypad_rows)}")
    for r, row in enumerate(s.keypad_keys):
        if len(row) != len(s.keypad_cols):
            raise HalConfigError(f"keypad_keys[{r}]", f"has {len(row)} keys, keypad_cols has {len(s.keypad_cols)}")
    if len(s.softkey_pins) > MAX_KEYS or len(s.line_pins) > MAX_KEYS:
        raise HalConfigError("softkey_pins", f"at most {MAX_KEYS} softkeys and line keys")
    seen: dict[str, str] = {}
    keys = [(f"keypad_keys[{r}][{c}]", k) for r, row in enumerate(s.keypad_keys) for c, k in enumerate(row)]
    keys += [(f"feature_pins.{name}", name) for name, _ in s.feature_pins]
    for where, name in keys:
        if not isinstance(name, str) or not valid_key_name(name):
            raise HalConfigError(where, f"unknown key name {name!r}")
        if name in seen:
            raise HalConfigError(where, f"key {name!r} is also produced by {seen[name]}")
        seen[name] = where


def _validate_pins(s: HalSettings) -> None:
    reserved: dict[int, str] = dict(_RESERVED_ALWAYS)
    if s.panel != "none":
        if s.bus == "i2c":
            reserved.update(_I2C_PINS[s.i2c_port])
        else:
            reserved.update(_SPI_PINS[s.spi_port])
            reserved[_SPI_CE[s.spi_port][s.spi_device]] = f"SPI{s.spi_port} CE{s.spi_device}"
    owner: dict[int, str] = {}
    for key, pin in s.pin_uses():
        if not _is_int(pin) or not 0 <= pin <= MAX_BCM_PIN:
            raise HalConfigError(key, f"GPIO {pin!r} is not a header pin (BCM 0-{MAX_BCM_PIN})")
        if pin in reserved:
            raise HalConfigError(key, f"GPIO {pin} is taken by {reserved[pin]}")
        if pin in owner:
            raise HalConfigError(key, f"GPIO {pin} is also used by {owner[pin]}")
        owner[pin] = key
