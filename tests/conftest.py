"""Shared fixtures: a fresh virtual clock per test."""

from __future__ import annotations

import pytest

from hal.clock import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


# Real-peer fixtures (sipp, kamailio, tftpd, netns) from tests/peers.py.
from peers import kamailio, kamailio_users, netns, sipp, tftpd  # noqa: E402, F401
