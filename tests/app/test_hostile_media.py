"""Junk on a call's RTP/RTCP ports is dropped and counted; the call's audio carries on."""

from __future__ import annotations

import asyncio
import os
import socket

from firmware.demo.network import Network, call_and_answer, handset_config, heard


def test_rtp_junk_does_not_disturb_the_call() -> None:
    async def main() -> tuple[float | None, float | None, int, int]:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001"))
            b = await net.add("B", handset_config("5550002"))
            a.api.set_mock_tone(1000)
            await call_and_answer(a, b)
            before = await heard(b, 1000.0)
            app = b.host.app
            assert app is not None
            (port,) = [m.port for m in app._media.values()]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for i in range(400):
                    junk = os.urandom(i % 200) if i % 3 else b"\x80\x00" + os.urandom(170)
                    s.sendto(junk, ("127.0.0.1", port + (i % 2)))
                    if i % 50 == 0:
                        await asyncio.sleep(0)
            await asyncio.sleep(0.3)
            after = await heard(b, 1000.0)
            errors = app.sip.errors + app.phone_pump.errors + sum(
                m.pump.errors for m in app._media.values())
            states = len(b.states())
        return before, after, errors, states

    before, after, errors, calls = asyncio.run(main())
    assert before is not None and abs(before - 1000) < 40
    assert after is not None and abs(after - 1000) < 40
    assert errors == 0 and calls == 1
