"""HD voice end to end: a 6 kHz tone crosses a G.722 call and not a G.711 one.

Two complete handsets on loopback (``firmware.demo.network``: real SIP and RTP
sockets, mock audio), driven through the control interface. 6 kHz is above
G.711's 3.4 kHz band and below G.722's 7 kHz: it reaches the far earpiece only
if the whole path (mock microphone, encoder, RTP, decoder, earpiece) runs at
16 kHz. At 8 kHz it would alias to 2 kHz, which the check would also catch.
"""

from __future__ import annotations

import asyncio
from typing import Any

from firmware.demo.network import Handset, Network, handset_config, heard, until


async def _call(a: Handset, b: Handset) -> None:
    b.api.dial(a.uri())
    await until(lambda: a.states() == ["incoming"], "A to ring")
    a.api.set_hook(True)
    await until(lambda: b.states() == ["connected"] and a.states() == ["connected"], "connected")


def _tone_over(codec: str, hz: float = 6000.0) -> dict[str, Any]:
    got: dict[str, Any] = {}

    async def main() -> None:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001", preferred_codec=codec))
            b = await net.add("B", handset_config("5550002", preferred_codec=codec))
            await _call(a, b)
            a.api.set_mock_tone(hz)
            b.api.set_mock_tone(1000.0)
            got["b_hears"] = await heard(b, hz)
            got["a_hears"] = await heard(a, 1000.0)
            got["media"] = b.calls()[0].media
            got["a_report"] = a.api.mock_audio().to_json()
            got["b_rate"] = b.audio.format.rate
            got["a_rate"] = a.audio.format.rate

    asyncio.run(main())
    return got


def test_6khz_tone_crosses_g722() -> None:
    got = _tone_over("g722")
    assert got["media"]["codec"] == "G722"
    assert got["a_rate"] == got["b_rate"] == 16000
    assert got["b_hears"] is not None and abs(got["b_hears"] - 6000.0) < 100.0
    assert got["a_hears"] is not None and abs(got["a_hears"] - 1000.0) < 50.0
    assert got["a_report"]["rx_dominant_hz"] is not None


def test_6khz_tone_blocked_over_g711() -> None:
    got = _tone_over("g711ulaw")
    assert got["media"]["codec"] == "PCMU"
    assert got["a_rate"] == got["b_rate"] == 8000
    assert got["b_hears"] is None  # nothing of 6 kHz passes, nor an alias of it
    assert got["a_hears"] is not None and abs(got["a_hears"] - 1000.0) < 50.0


def test_rfc4733_digits_alongside_g722() -> None:
    """telephone-event keeps its 8 kHz clock next to G.722 (RFC 3551 §4.5.2): digits arrive."""
    got: dict[str, Any] = {}

    async def main() -> None:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001", codec_order=("g722",)))
            b = await net.add("B", handset_config("5550002", preferred_codec="g722"))
            await _call(a, b)
            got["codec"] = b.calls()[0].media["codec"]
            a.api.press_keys("7")
            await until(lambda: "DTMF: 7" in b.status().display, "B shows the digit")
            got["display"] = b.status().display

    asyncio.run(main())
    assert got["codec"] == "G722"
    assert "DTMF: 7" in got["display"]


def test_codec_order_limits_what_is_offered_and_accepted() -> None:
    """A phone whose codec_order is G.722 only refuses a G.711-only caller (488)."""
    got: dict[str, Any] = {}

    async def main() -> None:
        async with Network() as net:
            a = await net.add("A", handset_config("5550001", codec_order=("g722",)))
            b = await net.add("B", handset_config("5550002", codec_order=("g711ulaw",)))
            b.api.dial(a.uri())
            await until(lambda: b.states() == ["ended"], "the call refused")
            got["reason"] = b.calls()[0].reason

    asyncio.run(main())
    assert got["reason"] is not None and "488" in got["reason"]
