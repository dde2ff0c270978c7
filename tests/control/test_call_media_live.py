"""GET /api/status carries each call's media figures; RFC 4733 digits reach the far screen.

Two complete handsets on loopback (real UDP sockets for SIP and RTP, via
``firmware.demo.network``); B's control API is read over HTTP.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from test_control_api import _request

from firmware.control import ControlConfig, ControlServer
from firmware.demo.network import Network, handset_config, until


def _media(status: dict[str, Any]) -> dict[str, Any] | None:
    calls = status.get("calls") or []
    return calls[0].get("media") if calls else None


def test_status_media_and_dtmf_between_two_handsets() -> None:
    got: dict[str, Any] = {}

    async def main() -> None:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001"))
            b = await net.add("B", handset_config("5550002"))
            async with ControlServer(b.api, ControlConfig()) as server:
                port = server.port
                b.api.dial(a.uri())
                await until(lambda: a.states() == ["incoming"], "A to ring")
                a.api.set_hook(True)
                await until(lambda: b.states() == ["connected"], "connected")

                def flowing() -> bool:
                    m = b.api.status().calls[0].media
                    return bool(m and m["packets_received"] >= 25 and m["packets_sent"] >= 25)

                await until(flowing, "RTP both ways")
                got["status"] = json.loads((await _request(port, "GET", "/api/status"))[2])
                a.api.press_keys("5")
                await until(lambda: "DTMF: 5" in b.api.status().display, "B shows the digit")
                a.api.press_keys("#")
                await until(lambda: "DTMF: 5#" in b.api.status().display, "B shows both digits")
                got["after"] = json.loads((await _request(port, "GET", "/api/status"))[2])
                got["a_display"] = list(a.api.status().display)

    asyncio.run(main())
    media = _media(got["status"])
    assert media is not None
    assert media["codec"] in ("PCMU", "PCMA", "G722")
    assert media["packets_sent"] >= 25 and media["packets_received"] >= 25
    assert 0.0 <= media["loss_pct"] <= 5.0  # loopback loses nothing worth naming
    assert 0.0 <= media["jitter_ms"] < 50.0
    assert media["rtt_ms"] is None or 0.0 <= media["rtt_ms"] < 100.0  # first RTCP ~5 s in
    assert "DTMF: 5#" in got["after"]["display"]
    assert not any(r.startswith("DTMF") for r in got["a_display"])  # the sender shows none
