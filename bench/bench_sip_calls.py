#!/usr/bin/env python3
"""Call-setup throughput of our SIP stack as a UAS, against SIPp's own UAS, in the same run.

SIPp's built-in uac places N short calls (INVITE/180/200/ACK/BYE/200, no
pause) as fast as the answerer allows, at most ``--limit`` at once; first
against SIPp's built-in uas (the C++ reference peer), then against our
``Endpoint`` driven by ``SipDriver`` on a loopback ``SipTransport`` that
auto-answers like a phone (180 then 200).  Figures: calls per second for
each, their ratio, and CPU seconds our process spent.  Over UDP and TCP.

    .venv/bin/python bench/bench_sip_calls.py [--calls 2000] [--limit 50] [--transport udp|tcp]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from peers import HOST, Sipp, free_port  # noqa: E402

from firmware.demo.driver import SipDriver  # noqa: E402
from firmware.net.transport import open_sip_transport  # noqa: E402
from firmware.sip import events as ev  # noqa: E402
from firmware.sip.admission import AdmissionConfig  # noqa: E402
from firmware.sip.endpoint import Endpoint, EndpointConfig  # noqa: E402

SIPP_T = {"udp": "u1", "tcp": "t1"}
SDP = (
    b"v=0\r\no=piphone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def run_uac(sipp: Sipp, target: str, calls: int, limit: int, transport: str):
    t0 = time.perf_counter()
    result = sipp.uac(
        target, calls=calls, transport=SIPP_T[transport], timeout=120,
        extra=["-r", "100000", "-l", str(limit)],
    )  # fmt: skip
    return result, time.perf_counter() - t0


async def against_sipp(sipp: Sipp, calls: int, limit: int, transport: str) -> float:
    port = free_port()
    loop = asyncio.get_running_loop()
    with sipp.uas(port=port, calls=calls, transport=SIPP_T[transport]):
        result, elapsed = await loop.run_in_executor(
            None, functools.partial(run_uac, sipp, f"{HOST}:{port}", calls, limit, transport)
        )
    if result.successful != calls:
        raise SystemExit(f"sipp uas: only {result.successful}/{calls} calls succeeded")
    return calls / elapsed


async def against_us(sipp: Sipp, calls: int, limit: int, transport: str) -> tuple[float, float]:
    net = await open_sip_transport(HOST, 0)
    # The default tables (1024 transactions, kept for Timer J's 32 s after each
    # BYE) answer 503 beyond ~16 calls/s sustained, by design for a phone;
    # the bench sizes them for the whole run so it measures speed, not the bound.
    endpoint = Endpoint(
        EndpointConfig(
            local_address=net.local_address, transport=transport, user="bench",
            max_transactions=4 * calls + 64, max_sessions=calls + 64,
            admission=AdmissionConfig(rate=1e6, burst=1e6),  # one SIPp source: no flood limit
        )
    )  # fmt: skip
    driver: SipDriver

    def on_event(event: object) -> None:
        if isinstance(event, ev.IncomingCall):
            driver.command(endpoint.ringing, event.session)
            driver.command(endpoint.answer, event.session, SDP)

    driver = SipDriver(endpoint, net, on_event=on_event)
    loop = asyncio.get_running_loop()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        result, elapsed = await loop.run_in_executor(
            None,
            functools.partial(
                run_uac, sipp, f"{HOST}:{net.local_address[1]}", calls, limit, transport
            ),
        )
    finally:
        await driver.close()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    if result.successful != calls:
        raise SystemExit(
            f"piphone: only {result.successful}/{calls} calls succeeded ({result.failed} failed)"
        )
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return calls / elapsed, cpu


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=20, help="simultaneous calls")
    parser.add_argument("--transport", action="append", choices=["udp", "tcp"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sip-") as work:
        sipp = Sipp(Path(work))
        for transport in args.transport or ["udp", "tcp"]:
            peer_cps = await against_sipp(sipp, args.calls, args.limit, transport)
            our_cps, cpu = await against_us(sipp, args.calls, args.limit, transport)
            print(
                f"{transport.upper()}: {args.calls} calls, <= {args.limit} at once: "
                f"sipp uas {peer_cps:7.1f} calls/s | piphone {our_cps:7.1f} calls/s | "
                f"ratio {our_cps / peer_cps:5.2f} | piphone CPU {cpu * 1000 / args.calls:.2f} ms/call"
            )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
