"""Shared fixtures: a fresh virtual clock per test."""

from __future__ import annotations

import pytest

from hal.clock import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()
