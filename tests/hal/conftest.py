"""Fixtures for the HAL tests: a private gpiozero MockFactory per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from peers_proc import require_module


@pytest.fixture
def pin_factory() -> Iterator[Any]:
    mock = require_module("gpiozero.pins.mock")
    factory = mock.MockFactory()
    try:
        yield factory
    finally:
        factory.reset()
