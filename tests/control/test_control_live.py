"""The control API in front of real phones: HTTP requests become the handset's inputs.

Two complete handsets run on loopback; B's API is served over a real socket
and driven with HTTP exactly as the spec's table says (dial, hook, softkeys,
screen, history), while the wire shows the SIP that results.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from test_control_api import _request

from firmware.control import ControlConfig, ControlServer
from firmware.demo.network import Network, handset_config, until


def test_a_call_driven_over_http() -> None:
    got: dict[str, Any] = {}

    async def main() -> None:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001"))
            b = await net.add("B", handset_config("5550002"))
            async with ControlServer(b.api, ControlConfig()) as server:
                port = server.port
                got["idle"] = json.loads((await _request(port, "GET", "/api/status"))[2])
                got["hold_idle"] = await _request(port, "POST", "/api/softkey", {"name": "hold"})
                got["dial"] = await _request(port, "POST", "/api/dial", {"target": a.uri()})
                await until(lambda: a.states() == ["incoming"], "A to ring")
                a.api.set_hook(True)
                await until(lambda: b.states() == ["connected"], "connected")
                got["connected"] = json.loads((await _request(port, "GET", "/api/status"))[2])
                # A's microphone plays 1000 Hz; B's earpiece, read over HTTP, hears it.
                a.api.set_mock_tone(1000)
                got["set_tone"] = await _request(port, "POST", "/api/mock/audio", {"tone_hz": 600})

                async def rx_hz() -> float | None:
                    return json.loads((await _request(port, "GET", "/api/mock/audio"))[2])[
                        "rx_dominant_hz"]

                for _ in range(300):
                    got["rx"] = await rx_hz()
                    if got["rx"] and abs(got["rx"] - 1000) < 40:
                        break
                    await asyncio.sleep(0.01)
                got["png"] = await _request(port, "GET", "/api/screen.png")
                got["end"] = await _request(port, "POST", "/api/softkey", {"name": "EndCall"})
                await until(lambda: all(s == "ended" for s in a.states()), "A idle")
                got["history"] = json.loads((await _request(port, "GET", "/api/history"))[2])
                got["audio"] = json.loads((await _request(port, "GET", "/api/mock/audio"))[2])

        got["wire"] = net.log.sequence()

    asyncio.run(main())
    idle = got["idle"]
    assert idle["hook"] == "on" and idle["calls"] == [] and idle["softkeys"]
    assert idle["lines"] == [{"line": 1, "name": "5550002", "registered": False, "error": None}]
    assert got["hold_idle"][0] == 409  # Hold is not on the idle row
    assert got["dial"][0] == 200
    call = got["connected"]["calls"][0]
    assert call["state"] == "connected" and call["direction"] == "out"
    assert "Hold" in got["connected"]["softkeys"]
    assert got["png"][1]["content-type"] == "image/png" and got["png"][2].startswith(b"\x89PNG")
    assert got["end"][0] == 200
    assert got["history"][0]["kind"] == "placed"
    assert ("B", "A", "INVITE") in got["wire"] and ("B", "A", "BYE") in got["wire"]
    assert got["set_tone"][0] == 200
    assert abs(got["rx"] - 1000) < 40  # over RTP from A to B's earpiece
    assert got["audio"]["tx_frames"] > 0 and got["audio"]["rx_frames"] > 0
    assert set(got["audio"]) == {"tx_frames", "rx_frames", "rx_dominant_hz", "rx_level_dbfs"}
