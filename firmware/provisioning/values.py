"""Typed value parsers for ``.cnf`` keys, each with a human-readable accepted range.

Why: a refused value must tell the administrator what *would* have been
accepted ("accepted: 1..65535"), so each parser carries its own description
and raises ``ValueRefused(accepted)``; ``schema.py`` adds file, line and key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ValueRefused(ValueError):
    """The text is not a valid value; ``accepted`` says what would be."""

    def __init__(self, accepted: str, detail: str = "") -> None:
        self.accepted = accepted
        self.detail = detail
        super().__init__(f"{detail + '; ' if detail else ''}accepted: {accepted}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueType:
    """A parser plus the sentence naming its accepted range."""

    accepted: str
    parse: Callable[[str], Any]

    def __call__(self, text: str) -> Any:
        return self.parse(text)


def integer(lo: int, hi: int, *, unit: str = "") -> ValueType:
    accepted = f"an integer {lo}..{hi}{' ' + unit if unit else ''}"

    def parse(text: str) -> int:
        t = text.strip()
        if not re.fullmatch(r"[+-]?\d{1,10}", t):
            raise ValueRefused(accepted, "not an integer")
        n = int(t)
        if not lo <= n <= hi:
            raise ValueRefused(accepted, f"{n} is out of range")
        return n

    return ValueType(accepted=accepted, parse=parse)


def hex_or_int(lo: int, hi: int) -> ValueType:
    accepted = f"an integer {lo}..{hi} (0x{lo:02x}..0x{hi:02x} in hex)"

    def parse(text: str) -> int:
        t = text.strip().lower()
        try:
            n = int(t, 16) if t.startswith("0x") else int(t, 10)
        except ValueError:
            raise ValueRefused(accepted, "not a number") from None
        if not lo <= n <= hi:
            raise ValueRefused(accepted, f"{t} is out of range")
        return n

    return ValueType(accepted=accepted, parse=parse)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueRefused("0 or 1 (also true/false, yes/no, on/off)")


BOOL = ValueType(accepted="0 or 1 (also true/false, yes/no, on/off)", parse=_parse_bool)


def choice(*options: str, aliases: dict[str, str] | None = None) -> ValueType:
    """One of fixed words, case-insensitive; ``aliases`` map extra spellings."""
    accepted = "one of " + ", ".join(options)
    table = {o.lower(): o for o in options}
    for alias, target in (aliases or {}).items():
        table[alias.lower()] = target

    def parse(text: str) -> str:
        t = text.strip().lower()
        if t not in table:
            raise ValueRefused(accepted, f"{text.strip()!r} is not allowed")
        return table[t]

    return ValueType(accepted=accepted, parse=parse)


def choice_list(*options: str, max_items: int = 8) -> ValueType:
    """A comma-separated list of ``choice`` words, each at most once, order kept (e.g. a
    codec order ``g722,g711ulaw``); case-insensitive; empty gives ()."""
    accepted = f"a comma-separated list of {', '.join(options)} (each at most once)"
    table = {o.lower(): o for o in options}

    def parse(text: str) -> tuple[str, ...]:
        items = [t.strip().lower() for t in text.split(",") if t.strip()]
        if len(items) > max_items:
            raise ValueRefused(accepted, f"more than {max_items} items")
        bad = [t for t in items if t not in table]
        if bad:
            raise ValueRefused(accepted, f"{bad[0]!r} is not allowed")
        if len(set(items)) != len(items):
            raise ValueRefused(accepted, "an item is listed twice")
        return tuple(table[t] for t in items)

    return ValueType(accepted=accepted, parse=parse)


def int_choice(*options: int) -> ValueType:
    accepted = "one of " + ", ".join(str(o) for o in options)

    def parse(text: str) -> int:
        t = text.strip()
        if not t.isdecimal() or int(t) not in options:
            raise ValueRefused(accepted, f"{t!r} is not allowed")
        return int(t)

    return ValueType(accepted=accepted, parse=parse)


def string(max_len: int, *, pattern: str | None = None, what: str = "text") -> ValueType:
    accepted = f"{what} of at most {max_len} characters"
    rx = re.compile(pattern) if pattern else None

    def parse(text: str) -> str:
        if len(text) > max_len:
            raise ValueRefused(accepted, f"{len(text)} characters")
        if rx is not None and text and not rx.fullmatch(text):
            raise ValueRefused(accepted, "bad characters")
        return text

    return ValueType(accepted=accepted, parse=parse)


_HOSTNAME_RE = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                          r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?")


def _is_host(t: str) -> bool:
    try:
        ipaddress.ip_address(t)
        return True
    except ValueError:
        return bool(_HOSTNAME_RE.fullmatch(t))


def _parse_host(text: str) -> str:
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    if t and not _is_host(t):
        raise ValueRefused("a host name or IP address (or empty)", f"{t!r}")
    return t


HOST = ValueType(accepted="a host name or IP address (or empty)", parse=_parse_host)


def _parse_host_port(text: str) -> tuple[str, int] | None:
    accepted = "HOST:PORT (IPv6 as [ADDR]:PORT), or empty"
    t = text.strip()
    if not t:
        return None
    host, sep, port = t.rpartition(":")
    if not sep or not port.isdecimal() or not 0 <= int(port) <= 65535:
        raise ValueRefused(accepted, f"{t!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not _is_host(host):
        raise ValueRefused(accepted, f"bad host {host!r}")
    return host, int(port)


HOST_PORT = ValueType(accepted="HOST:PORT (IPv6 as [ADDR]:PORT), or empty",
                      parse=_parse_host_port)

_URI_RE = re.compile(r"(sips?:[^\s<>\"]{1,250}|[0-9*#+]{1,32})")


def _parse_uri(text: str) -> str:
    t = text.strip()
    if t and not _URI_RE.fullmatch(t):
        raise ValueRefused("a sip:/sips: URI or a dialable number (0-9 * # +), or empty",
                           f"{t!r}")
    return t


SIP_URI = ValueType(accepted="a sip:/sips: URI or a dialable number (0-9 * # +), or empty",
                    parse=_parse_uri)

#: Raspberry Pi header GPIO numbers (BCM).
GPIO_MAX = 27


def _parse_pin(text: str) -> int | None:
    t = text.strip().lower()
    if t in ("", "none", "-1"):
        return None
    if not t.isdecimal() or not 0 <= int(t) <= GPIO_MAX:
        raise ValueRefused(f"a BCM GPIO number 0..{GPIO_MAX}, or none", f"{t!r}")
    return int(t)


PIN = ValueType(accepted=f"a BCM GPIO number 0..{GPIO_MAX}, or none", parse=_parse_pin)


def pin_list(max_pins: int) -> ValueType:
    accepted = f"up to {max_pins} comma-separated BCM GPIO numbers 0..{GPIO_MAX}, no repeats"

    def parse(text: str) -> tuple[int, ...]:
        t = text.strip()
        if not t:
            return ()
        parts = [p.strip() for p in t.split(",")]
        if len(parts) > max_pins:
            raise ValueRefused(accepted, f"{len(parts)} pins")
        pins: list[int] = []
        for p in parts:
            if not p.isdecimal() or not 0 <= int(p) <= GPIO_MAX:
                raise ValueRefused(accepted, f"{p!r}")
            pins.append(int(p))
        if len(set(pins)) != len(pins):
            raise ValueRefused(accepted, "a pin is repeated")
        return tuple(pins)

    return ValueType(accepted=accepted, parse=parse)


_KEY_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,23}")


def named_pins(max_pins: int) -> ValueType:
    """``hold:23, transfer:24`` -> (("hold", 23), ("transfer", 24))."""
    accepted = (f"up to {max_pins} comma-separated NAME:GPIO pairs "
                f"(GPIO 0..{GPIO_MAX}), e.g. hold:23, transfer:24")

    def parse(text: str) -> tuple[tuple[str, int], ...]:
        t = text.strip()
        if not t:
            return ()
        parts = [p.strip() for p in t.split(",")]
        if len(parts) > max_pins:
            raise ValueRefused(accepted, f"{len(parts)} pairs")
        out: list[tuple[str, int]] = []
        for p in parts:
            name, sep, pin = p.partition(":")
            name, pin = name.strip().lower(), pin.strip()
            if (not sep or not _KEY_NAME_RE.fullmatch(name) or not pin.isdecimal()
                    or int(pin) > GPIO_MAX):
                raise ValueRefused(accepted, f"{p!r}")
            out.append((name, int(pin)))
        return tuple(out)

    return ValueType(accepted=accepted, parse=parse)
