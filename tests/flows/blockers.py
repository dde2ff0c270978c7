"""Capabilities of other layers that some flow tests need, checked in one place.

A test whose layer below lacks the capability is skipped with the reason, and
runs as soon as the capability is there (no marker to remember to remove).
"""

from __future__ import annotations

import inspect

import pytest

from firmware.sip.endpoint import Endpoint

needs_bye_headers = pytest.mark.skipif(
    "headers" not in inspect.signature(Endpoint.bye).parameters,
    reason="Endpoint.bye(session, *, now, headers=()) is needed for BYE with Also (seed B-3/B-7/B-8)",
)
