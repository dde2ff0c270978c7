"""3-way conference bridged by our phone B (Confrn, dial C, Confrn), checked by ear.

Three complete handsets on loopback (``firmware.demo.network``), each playing
its own tone into its mock microphone: A 500 Hz, B 2500 Hz, C 1500 Hz. In the
conference A must hear B and C, C must hear A and B, and B (the mixing phone)
both A and C, which ``tone_levels`` measures at each earpiece. Then B hangs
up: with ``cnf_join_enable`` A and C are transferred to each other (REFER with
Replaces) and keep talking; without it both calls end.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from firmware.control import ControlConfig, ControlServer
from firmware.demo.figures import join_conference
from firmware.demo.network import Handset, Network, handset_config, settle, until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "control"))
from test_control_api import _request  # noqa: E402

TONE = {"A": 500.0, "B": 2500.0, "C": 1500.0}
AUDIBLE = -30.0  # dBFS: the tones are sent at -6 dBFS; silence is below -90


def _levels(h: Handset) -> dict[float, float]:
    return h.audio.tone_levels(tuple(TONE.values()))


async def _hears(h: Handset, *names: str) -> dict[float, float]:
    """Levels at ``h``'s earpiece once every tone of ``names`` is audible (or 3 s passed)."""
    def ok() -> bool:
        lv = _levels(h)
        return all(lv[TONE[n]] > AUDIBLE for n in names)

    try:
        await until(ok, f"{h.name} to hear {names}", timeout=3.0)
    except TimeoutError:
        pass
    return _levels(h)


async def conference(net: Network, *, codecs: dict[str, str] | None = None,
                     join: bool = True) -> tuple[Handset, Handset, Handset]:
    codecs = codecs or {}
    a, b, c = [await net.add(n, handset_config(num, preferred_codec=codecs.get(n, "g711ulaw"),
                                               cnf_join_enable=join))
               for n, num in (("A", "5550001"), ("B", "5550002"), ("C", "5550003"))]
    for h in (a, b, c):
        h.api.set_mock_tone(TONE[h.name])
    b.api.dial(a.uri())
    await until(lambda: a.states() == ["incoming"], "A rings")
    a.api.set_hook(True)
    await until(lambda: b.states() == ["connected"], "A-B connected")
    assert "Confrn" in b.status().softkeys
    await join_conference(b, a, c)
    return a, b, c


def _run(body: Any) -> dict[str, Any]:
    got: dict[str, Any] = {}

    async def main() -> None:
        async with Network() as net:
            await body(net, got)

    asyncio.run(main())
    return got


def test_three_way_conference_everyone_hears_the_others() -> None:
    async def body(net: Network, got: dict[str, Any]) -> None:
        a, b, c = await conference(net, join=False)
        await settle(0.3)
        got["a"] = await _hears(a, "B", "C")
        got["c"] = await _hears(c, "A", "B")
        got["b"] = await _hears(b, "A", "C")
        server = ControlServer(b.api, ControlConfig())  # B's status over HTTP, as a client sees it
        await server.start()
        try:
            got["status"] = json.loads((await _request(server.port, "GET", "/api/status"))[2])
            got["confrn_again"] = (await _request(server.port, "POST", "/api/softkey",
                                                  {"name": "confrn"}))[0]
        finally:
            await server.close()
        got["screen"] = b.status().display
        got["a_conf"] = [x.conference for x in a.calls()]
        b.api.press_softkey("endcall")
        await until(lambda: a.states() in ([], ["ended"]) and c.states() in ([], ["ended"]),
                    "both calls end without cnf_join_enable")
        got["after"] = (a.states(), c.states())

    got = _run(body)
    a, b, c = got["a"], got["b"], got["c"]
    assert a[TONE["B"]] > AUDIBLE and a[TONE["C"]] > AUDIBLE  # A hears B and C
    assert c[TONE["A"]] > AUDIBLE and c[TONE["B"]] > AUDIBLE  # C hears A and B
    assert b[TONE["A"]] > AUDIBLE and b[TONE["C"]] > AUDIBLE  # B, the bridge, hears both
    assert a[TONE["A"]] < AUDIBLE and c[TONE["C"]] < AUDIBLE  # nobody hears an echo of himself
    assert b[TONE["B"]] < AUDIBLE
    calls = got["status"]["calls"]
    assert [x["conference"] for x in calls] == [True, True]
    assert all(x["media"]["codec"] == "PCMU" for x in calls)
    assert got["a_conf"] == [False]  # A's phone just has a call
    assert any(row.startswith("Conference") for row in got["screen"])
    assert got["status"]["softkeys"] == ["EndCall"]
    assert got["confrn_again"] == 409  # not on the conference's row


def test_conference_hangup_joins_the_others_by_transfer() -> None:
    async def body(net: Network, got: dict[str, Any]) -> None:
        a, b, c = await conference(net, join=True)
        b.api.set_mock_tone(0)
        await settle(0.3)
        b.api.press_softkey("endcall")  # cnf_join_enable: A and C go on without B
        await until(lambda: a.states() == ["connected"] and c.states() == ["connected"]
                    and all(s == "ended" for s in b.states()), "A-C joined, B out")
        await settle(0.3)
        got["a"] = await _hears(a, "C")
        got["c"] = await _hears(c, "A")

    got = _run(body)
    assert got["a"][TONE["C"]] > AUDIBLE
    assert got["c"][TONE["A"]] > AUDIBLE


def test_wideband_conference_mixes_at_16khz() -> None:
    """A leg on G.722 puts the bridge at 16 kHz; the G.711 leg still hears A."""
    async def body(net: Network, got: dict[str, Any]) -> None:
        a, b, c = await conference(net, codecs={"A": "g722", "B": "g722"}, join=False)
        await settle(0.3)
        got["rate"] = b.audio.format.rate
        got["codecs"] = [x.media["codec"] for x in b.calls()]
        got["c"] = await _hears(c, "A", "B")
        got["b"] = await _hears(b, "A", "C")

    got = _run(body)
    assert got["rate"] == 16000
    assert sorted(got["codecs"]) == ["G722", "PCMU"]
    assert got["c"][TONE["A"]] > AUDIBLE and got["c"][TONE["B"]] > AUDIBLE
    assert got["b"][TONE["A"]] > AUDIBLE and got["b"][TONE["C"]] > AUDIBLE
