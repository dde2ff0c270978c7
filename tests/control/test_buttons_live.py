"""The 7960's fixed keys through ``POST /api/button`` on real phones (issue 14).

Two complete handsets on loopback (mock HAL, real RTP); B is driven over
HTTP. What each key does is checked where the user meets it: the status
fields, the LCD (icons, rows), and what the other side's earpiece hears.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from test_control_api import _request

from firmware.control import ControlConfig, ControlServer
from firmware.demo.network import Handset, Network, handset_config, heard, until


async def _post(port: int, name: str) -> tuple[int, dict[str, Any]]:
    code, _h, body = await _request(port, "POST", "/api/button", {"name": name})
    return code, json.loads(body)


async def _status(port: int) -> dict[str, Any]:
    return json.loads((await _request(port, "GET", "/api/status"))[2])


def _icons(h: Handset) -> frozenset[str]:
    assert h.host.app is not None
    return h.host.app.screen.icons


async def _level(h: Handset, above: float | None = None) -> float:
    """The earpiece level over a fresh half second; with ``above``, once it exceeds that
    (or 3 s passed): a slow machine delays the reading, the caller asserts on it."""
    await asyncio.sleep(0.6)
    if above is not None:
        with contextlib.suppress(TimeoutError):
            await until(lambda: h.audio.level_dbfs() > above, "the level to rise", timeout=3.0)
    return float(h.audio.level_dbfs())


def test_buttons_mute_volume_and_speaker_over_http(tmp_path: Path) -> None:
    got: dict[str, Any] = {}

    async def main() -> None:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001"))
            b = await net.add("B", handset_config("5550002"), state_dir=tmp_path)
            async with ControlServer(b.api, ControlConfig()) as server:
                port = server.port
                got["unknown"] = await _post(port, "hold")
                got["mute_idle"] = await _post(port, "mute")
                got["line2"] = await _post(port, "line2")
                got["ring_up"] = await _post(port, "volup")
                # the same key from the handset's own keypad (the HAL's KeyEvent "voldown")
                b.host.app.hal.keypad.press("voldown")
                got["hal_key"] = await _status(port)
                # speaker key: off hook on the speaker (dial tone), again: back on hook
                got["spk_on"] = await _post(port, "speaker")
                got["spk_icons"] = _icons(b)
                got["spk_off"] = await _post(port, "speaker")
                # a call from A, answered on B's speaker key
                a.api.dial(b.uri())
                await until(lambda: b.states() == ["incoming"], "B to ring")
                got["ring_down"] = await _post(port, "voldown")  # the ringer while ringing
                got["answer"] = await _post(port, "speaker")
                await until(lambda: a.states() == ["connected"], "A connected")
                a.api.set_mock_tone(1000)
                b.api.set_mock_tone(700)
                got["a_hears"] = await heard(a, 700)
                got["mute"] = await _post(port, "mute")
                got["mute_icons"] = _icons(b)
                got["a_muted"] = await heard(a, None)
                got["b_still_hears"] = await heard(b, 1000)
                got["unmute"] = await _post(port, "mute")
                got["a_again"] = await heard(a, 700)
                # volume acts on the speaker now: +2 steps = +4 dB at B's "earpiece"
                got["before"] = await _level(b)
                await _post(port, "volup")
                got["spk_up"] = await _post(port, "volup")
                got["after"] = await _level(b, above=got["before"] + 3.0)
                # lifting the handset takes the call over; the speaker key hands it back
                b.api.set_hook(True)
                got["lifted"] = await _status(port)
                got["to_speaker"] = await _post(port, "speaker")
                b.api.set_hook(False)  # the call stays on the speaker
                got["handset_down"] = await _status(port)
                got["end"] = await _post(port, "speaker")  # ends a speakerphone call
                await until(lambda: all(s == "ended" for s in a.states()), "A to see the end")
                got["ended"] = await _status(port)
            # restart B on the same state directory: the levels are back
            await b.host.stop(grace=0.2)
            del net.handsets["B"]
            b2 = await net.add("B2", handset_config("5550002"), state_dir=tmp_path)
            got["restarted"] = b2.status().to_json()

    asyncio.run(main())
    assert got["unknown"][0] == 400 and "unknown button" in got["unknown"][1]["error"]
    assert got["mute_idle"][0] == 409 and got["line2"][0] == 409
    assert got["ring_up"][0] == 200
    assert got["ring_up"][1]["volume"] == {"handset": 8, "speaker": 8, "ringer": 9}
    assert any("Ring" in row for row in got["ring_up"][1]["display"])  # the volume bar
    assert got["hal_key"]["volume"]["ringer"] == 8
    spk = got["spk_on"][1]
    assert spk["speaker"] is True and spk["softkeys"][:2] == ["Redial", "EndCall"]
    assert "speaker" in got["spk_icons"]
    assert got["spk_off"][1]["speaker"] is False and got["spk_off"][1]["softkeys"][0] == "Redial"
    assert got["ring_down"][1]["volume"]["ringer"] == 7
    assert got["answer"][1]["speaker"] is True
    assert got["answer"][1]["calls"][0]["state"] == "connected"
    assert got["a_hears"] is not None and abs(got["a_hears"] - 700) < 35
    assert got["mute"][1]["muted"] is True and "muted" in got["mute_icons"]
    assert got["a_muted"] is None  # B's microphone is off: A hears silence
    assert got["b_still_hears"] is not None and abs(got["b_still_hears"] - 1000) < 50
    assert got["unmute"][1]["muted"] is False
    assert got["a_again"] is not None and abs(got["a_again"] - 700) < 35
    assert got["spk_up"][1]["volume"]["speaker"] == 10
    assert 3.0 < got["after"] - got["before"] < 5.0, (got["before"], got["after"])
    assert got["lifted"]["speaker"] is False and got["lifted"]["hook"] == "off"
    assert got["to_speaker"][1]["speaker"] is True
    assert got["handset_down"]["calls"][0]["state"] == "connected"
    assert got["handset_down"]["speaker"] is True
    assert got["end"][0] == 200
    assert got["ended"]["speaker"] is False and got["ended"]["muted"] is False
    assert got["restarted"]["volume"] == {"handset": 8, "speaker": 10, "ringer": 7}
    assert json.loads((tmp_path / "prefs.json").read_text())["volume"]["speaker"] == 10
