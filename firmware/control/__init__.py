"""Headless HTTP/JSON control API (../shared/spec/control-api.md): part of the shell."""

from __future__ import annotations

from firmware.control.model import (
    CallInfo,
    ControlError,
    HistoryEntry,
    LineInfo,
    MockAudioReport,
    PhoneControl,
    PhoneStatus,
)
from firmware.control.server import ControlConfig, ControlServer, is_loopback, parse_hostport

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
