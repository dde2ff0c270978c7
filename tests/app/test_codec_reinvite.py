"""A re-INVITE that changes the codec keeps the audio right: G.711 <-> G.722 mid-call.

Two complete handsets on loopback (real SIP and RTP sockets, mock audio). The
call starts narrowband (both prefer PCMU); then A's re-INVITE (Hold, Resume)
offers only G.722, B answers G.722, and both streams, the audio engines and
the resamplers must move to 16 kHz: a 6 kHz tone from A (above G.711's band)
now reaches B, and B's 1 kHz tone still reads 1 kHz at A (a path left at the
wrong rate would put it at 500 Hz or 2 kHz). Then back to PCMU: the 6 kHz
tone is blocked again and the 1 kHz tone still reads right, at 8 kHz.

What A offers in each re-INVITE is narrowed by the test (the phone has no
key for it; a PBX re-INVITE that changes codec does the same to a call).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from firmware.demo.network import Handset, Network, call_and_answer, handset_config, heard, until
from firmware.media.codecs import codec_by_name


def _offer_only(h: Handset, *names: str) -> None:
    """The codecs ``h``'s next offer in its one call lists, in this order."""
    assert h.host.app is not None
    (call,) = h.host.app.phone._all_calls()
    call.media.local = dataclasses.replace(
        call.media.local, codecs=tuple(c for n in names if (c := codec_by_name(n)) is not None))


async def _reinvite(a: Handset, b: Handset) -> None:
    a.api.press_softkey("hold")
    await until(lambda: a.states() == ["holding"] and b.states() == ["held"], "held")
    a.api.press_softkey("resume")
    await until(lambda: a.states() == ["connected"] and b.states() == ["connected"], "resumed")


def _codec(h: Handset) -> str:
    media = h.calls()[0].media or {}
    return str(media.get("codec"))


def test_codec_change_by_reinvite_keeps_tones_right() -> None:
    got: dict[str, Any] = {}

    async def phase(name: str, a: Handset, b: Handset) -> None:
        b_hears = await heard(b, 6000.0 if name == "g722" else None)
        a_hears = await heard(a, 1000.0)  # audio flowing: each stream has its codec now
        got[name] = {"codec": (_codec(a), _codec(b)), "b_hears": b_hears, "a_hears": a_hears,
                     "rates": (a.audio.format.rate, b.audio.format.rate)}

    async def main() -> None:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001", preferred_codec="g711ulaw"))
            b = await net.add("B", handset_config("5550002", preferred_codec="g711ulaw"))
            a.api.set_mock_tone(6000.0)
            b.api.set_mock_tone(1000.0)
            await call_and_answer(a, b)
            await phase("pcmu-start", a, b)
            _offer_only(a, "G722")
            await _reinvite(a, b)
            await until(lambda: _codec(a) == _codec(b) == "G722", "G.722 both ways")
            await phase("g722", a, b)
            _offer_only(a, "PCMU")
            await _reinvite(a, b)
            await until(lambda: _codec(a) == _codec(b) == "PCMU", "PCMU both ways")
            await phase("pcmu", a, b)

    asyncio.run(main())
    start, wide, narrow = got["pcmu-start"], got["g722"], got["pcmu"]
    assert start["codec"] == ("PCMU", "PCMU") and start["rates"] == (8000, 8000)
    assert wide["codec"] == ("G722", "G722")
    assert wide["rates"] == (16000, 16000), "the audio path follows the codec to 16 kHz"
    assert wide["b_hears"] is not None and abs(wide["b_hears"] - 6000.0) < 100.0
    assert narrow["codec"] == ("PCMU", "PCMU") and narrow["rates"] == (8000, 8000)
    for p in (start, narrow):  # 6 kHz does not cross G.711 (nor alias into its band)
        assert p["b_hears"] is None or abs(p["b_hears"] - 6000.0) > 1000.0, p
    for p in (start, wide, narrow):
        assert p["a_hears"] is not None and abs(p["a_hears"] - 1000.0) < 40.0, p
