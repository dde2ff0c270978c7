"""Directories, call lists, the local directory, Settings and Services over HTTP (issue 14).

Two real phones on loopback; B has a local directory (as provisioning loads
it from ``directory_url``). Everything is pressed with ``POST /api/button``
and ``POST /api/softkey`` and read back from ``GET /api/status``'s display.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from test_control_api import _request

from firmware.control import ControlConfig, ControlServer
from firmware.demo.network import Network, handset_config, until
from firmware.provisioning.directory import parse_directory

BOOK = "Alice Arden, {alice}\nVoicemail, *97\n"  # no proxy here: Alice by her address


def test_lists_directory_settings_and_services_over_http() -> None:
    got: dict[str, Any] = {}

    async def main() -> None:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001"))
            book = parse_directory(BOOK.format(alice=a.uri()).encode())
            b = await net.add("B", handset_config("5550002", directory=book))
            async with ControlServer(b.api, ControlConfig()) as server:
                port = server.port

                async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                    code, _h, raw = await _request(port, "POST", path, body)
                    out = json.loads(raw)
                    out["_code"] = code
                    return out

                # A calls B: B's LCD names the caller from B's directory; B declines -> missed
                a.api.dial(b.uri())
                await until(lambda: b.states() == ["incoming"], "B to ring")
                got["incoming"] = (await post("/api/button", {"name": "volup"}))["display"]
                got["ringing_menu"] = await post("/api/button", {"name": "directories"})
                await post("/api/softkey", {"name": "decline"})
                await until(lambda: b.states() == [], "B idle again", timeout=8.0)
                got["directories"] = await post("/api/button", {"name": "directories"})
                got["missed"] = await post("/api/keys", {"keys": "1"})
                await post("/api/softkey", {"name": "exit"})
                await post("/api/softkey", {"name": "next"})
                await post("/api/softkey", {"name": "next"})
                await post("/api/softkey", {"name": "next"})
                got["local"] = await post("/api/softkey", {"name": "select"})
                got["dial"] = await post("/api/softkey", {"name": "dial"})  # Alice, row 1
                await until(lambda: a.states() == ["incoming"], "A to ring from the directory")
                await post("/api/softkey", {"name": "endcall"})
                await until(lambda: a.states() in ([], ["ended"]), "A idle")
                await until(lambda: b.states() == [], "B idle", timeout=8.0)
                got["settings"] = await post("/api/button", {"name": "settings"})
                await post("/api/softkey", {"name": "next"})
                got["raised"] = await post("/api/softkey", {"name": "raise"})  # handset level
                got["closed"] = await post("/api/button", {"name": "settings"})
                got["services"] = await post("/api/button", {"name": "services"})
                got["bad_softkey"] = await post("/api/softkey", {"name": "dial"})
                await post("/api/softkey", {"name": "exit"})

    asyncio.run(main())
    assert any("Alice Arden" in row for row in got["incoming"])
    assert got["ringing_menu"]["_code"] == 409
    d = got["directories"]
    assert d["display"][0].startswith("Directories") and d["softkeys"] == [
        "Select", "Next", "Prev", "Exit"]
    assert d["display"][1:5] == ["1 Missed calls", "2 Received calls", "3 Placed calls",
                                 "4 Directory"]
    missed = got["missed"]
    assert missed["display"][0].startswith("Missed Calls")
    assert missed["display"][1].startswith("Alice Arden")  # named from the directory
    assert missed["softkeys"] == ["Dial", "Next", "Prev", "Exit"]
    assert got["local"]["display"][1].startswith("Alice Arden") and \
        got["local"]["display"][1].endswith("5550001")  # the user part of her address
    assert got["dial"]["_code"] == 200 and got["dial"]["speaker"] is True
    assert got["settings"]["display"][1].startswith("1 Ring vol")
    assert got["raised"]["volume"]["handset"] == 9
    assert got["closed"]["display"][0].startswith("User 2")
    assert got["services"]["display"][1:3] == ["No services", "configured"]
    assert got["bad_softkey"]["_code"] == 409  # not on the Services row
