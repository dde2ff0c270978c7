#!/usr/bin/env python3
"""SIP interop smoke test: SIPp calls piphone's stack, and piphone calls SIPp.

Why a script as well as the tests: it is the quickest way to see the stack
work against a real peer on a fresh machine (``make demo`` falls back to it
until call control lands).  Everything runs on 127.0.0.1 on free ports, in
a temporary directory that is removed afterwards; exit status 0 when every
exchange succeeded.

    .venv/bin/python scripts/sip_smoke.py [--calls N] [--transport udp|tcp ...] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop")]

import pytest  # noqa: E402  (peers.py skips via pytest when a binary is missing)
from interop_ua import InteropUA, without_trying_labels  # noqa: E402
from peers import HOST, Sipp, free_port  # noqa: E402

from firmware.sip import events as ev  # noqa: E402

SIPP_T = {"udp": "u1", "tcp": "t1"}


async def in_thread(fn, *args, **kwargs):
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs)
    )


async def sipp_calls_us(sipp: Sipp, transport: str, calls: int) -> bool:
    ua = await InteropUA.start(user="service", transport=transport)
    try:
        result = await in_thread(
            sipp.uac, f"{HOST}:{ua.port}", calls=calls, transport=SIPP_T[transport]
        )
        try:
            await ua.wait_count(ev.CallEnded, calls, timeout=5)
        except TimeoutError:
            pass
    finally:
        await ua.close()
    ended = len(ua.of(ev.CallEnded))
    flow = (
        " ".join(without_trying_labels(ua.wire_labels(ua.call_ids()[0]))) if ua.call_ids() else "-"
    )
    ok = result.returncode == 0 and result.successful == calls and ended == calls
    print(
        f"{'PASS' if ok else 'FAIL'} sipp uac -> piphone over {transport.upper()}: "
        f"sipp {result.successful}/{calls} successful, {result.failed} failed; "
        f"piphone ended {ended} calls; first call: {flow}"
    )
    return ok


async def we_call_sipp(sipp: Sipp, transport: str, calls: int) -> bool:
    port = free_port()
    ua = await InteropUA.start(user="piphone", transport=transport, auto_answer=False)
    answered = 0
    try:
        with sipp.uas(port=port, calls=calls, transport=SIPP_T[transport]) as uas:
            for _ in range(calls):
                try:
                    await ua.call(f"sip:service@{HOST}:{port};transport={transport}", talk=0.05)
                    answered += 1
                except (AssertionError, TimeoutError) as exc:
                    print(f"     call failed: {exc!r}")
            served = uas.result()
    finally:
        await ua.close()
    byes = served.labels("received").count("BYE")
    ok = answered == calls and byes == calls
    print(
        f"{'PASS' if ok else 'FAIL'} piphone -> sipp uas over {transport.upper()}: "
        f"{answered}/{calls} answered, sipp saw {byes} BYE; "
        f"first call: {' '.join(ua.wire_labels(ua.call_ids()[0])) if ua.call_ids() else '-'}"
    )
    return ok


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--transport", action="append", choices=["udp", "tcp"])
    parser.add_argument("--keep", action="store_true", help="keep sipp's logs")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="sip-smoke-"))
    results = []
    try:
        sipp = Sipp(work)
        for transport in args.transport or ["udp", "tcp"]:
            results.append(await sipp_calls_us(sipp, transport, args.calls))
            results.append(await we_call_sipp(sipp, transport, args.calls))
    except pytest.skip.Exception as exc:
        print(f"SKIP {exc.msg}")
        return 77
    finally:
        if args.keep:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{sum(results)}/{len(results)} exchanges passed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
