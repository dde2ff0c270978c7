"""The periodic resync loop against a real tftpd-hpa."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from firmware.provisioning.boot import ResyncResult, provision
from firmware.provisioning.resync import Resyncer
from firmware.provisioning.tftp import TftpSettings

from .conftest import TftpServer

pytestmark = pytest.mark.interop

MAC = "00112233AABB"
FAST = TftpSettings(timeout=1.0, retries=1)


def test_loop_applies_a_published_change_and_skips_a_broken_one(
        tftpd: TftpServer, tmp_path: Path) -> None:
    tftpd.put("SIPDefault.cnf", "proxy1_address: 127.0.0.1\nresync_interval: 1\n")
    tftpd.put(f"SIP{MAC}.cnf", "line1_name: 1001\n")

    async def scenario() -> list[ResyncResult]:
        current = await provision(tftpd.address, MAC, tmp_path, settings=FAST)
        changes: list[ResyncResult] = []
        changed = asyncio.Event()

        def on_change(result: ResyncResult) -> None:
            changes.append(result)
            changed.set()

        r = Resyncer(current, tftpd.address, MAC, tmp_path, on_change=on_change, settings=FAST)
        # A broken file first: nothing applied, counted as a failure.
        tftpd.put(f"SIP{MAC}.cnf", "line1_name: bad name\nline2_name: bad name\n")
        assert (await r.check_now()).problem is not None and r.failures == 1
        assert r.current is current and changes == []
        # Then a good change, picked up by the timer loop.
        tftpd.put(f"SIP{MAC}.cnf", "line1_name: 1001\nline2_name: 1002\n")
        task = asyncio.create_task(r.run())
        await asyncio.wait_for(changed.wait(), timeout=30)  # hang guard, not a timing check
        task.cancel()
        assert r.current.line(2) is not None
        return changes

    changes = asyncio.run(scenario())
    assert len(changes) == 1 and changes[0].diff.lines_added == (2,)
    assert changes[0].diff.reregister


def test_interval_zero_stops_the_loop(tftpd: TftpServer, tmp_path: Path) -> None:
    tftpd.put("SIPDefault.cnf", "proxy1_address: 127.0.0.1\nresync_interval: 0\n"
              "line1_name: 1001\n")

    async def scenario() -> int:
        current = await provision(tftpd.address, MAC, tmp_path, settings=FAST)
        r = Resyncer(current, tftpd.address, MAC, tmp_path, on_change=lambda _: None)
        await asyncio.wait_for(r.run(), timeout=30)
        return r.checks

    assert asyncio.run(scenario()) == 0
