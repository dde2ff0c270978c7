"""Headless HTTP/JSON control API (../shared/spec/control-api.md): part of the shell."""

from __future__ import annotations

from firmware.control.server import ControlConfig, ControlServer, is_loopback, parse_hostport
from firmware.surface import (
    CallInfo,
    ControlError,
    HistoryEntry,
    LineInfo,
    MockAudioReport,
    PhoneControl,
    PhoneStatus,
)

__all__ = [
    "CallInfo",
    "ControlConfig",
    "ControlError",
    "ControlServer",
    "HistoryEntry",
    "LineInfo",
    "MockAudioReport",
    "PhoneControl",
    "PhoneStatus",
    "is_loopback",
    "parse_hostport",
]
