"""Shared fixtures: a fresh virtual clock per test."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest
from hypothesis import settings

from hal.clock import VirtualClock

# CI (`.ci/run` sets PIPHONE_CI=1): the same examples on every run and no
# per-example deadline, so a landing never hangs on a lucky draw or a slow
# machine; developers running pytest by hand keep hypothesis's random search.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("PIPHONE_CI"):
    settings.load_profile("ci")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


# Every test fails when the code under test logged an internal error (tests/health_plugin.py).
# The arm64 stage runs its subset against the INSTALLED handset package, which leaves
# the demo/test tooling out (firmware.demo): there, and only there, the check is off.
try:
    from health_plugin import no_internal_errors  # noqa: E402, F401
except ModuleNotFoundError as exc:
    if exc.name != "firmware.demo" or not os.environ.get("PIPHONE_INSTALLED_PACKAGE"):
        raise

# Real-peer fixtures (sipp, kamailio, tftpd, netns) from tests/peers.py.
from peers import kamailio, kamailio_users, netns, sipp, tftpd  # noqa: E402, F401


# The arm64 CI stage runs `pytest -m arm64` against the handset wheel, which leaves out
# the demo and test tooling (firmware.demo): test modules built on that tooling are not
# collected there (they run on the host, where the dev install has it).
def _no_tooling() -> bool:
    try:
        return importlib.util.find_spec("firmware.demo") is None
    except ImportError:
        return True


_HANDSET_WHEEL = _no_tooling()
#: test helpers built on firmware.demo (figure matcher, SIP driver, flow kit)
_ON_TOOLING = re.compile(r"^from \.?(handsets|interop_ua|flowkit|webharness) import", re.M)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if _HANDSET_WHEEL and collection_path.suffix == ".py":
        text = collection_path.read_text(errors="replace")
        return "firmware.demo" in text or bool(_ON_TOOLING.search(text)) or None
    return None

