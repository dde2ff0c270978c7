"""HD voice with a real softphone: our phone and baresip's g722 module, tone-checked.

The complete firmware (``firmware.demo.network``) calls baresip inside a
private network namespace (see test_baresip_phone.py for why), both set to
G.722. baresip runs in echo mode: its microphone is its own earpiece
(aubridge), so what we hear is what baresip decoded from us and encoded back.
Our microphone plays 6 kHz, a tone only a wideband path carries: hearing it
back proves our G.722 encoder, baresip's decoder, its encoder and our decoder
all ran at 16 kHz. The same call on G.711 gives silence, since nothing of
6 kHz survives 8 kHz sampling.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from peers import HOST, Baresip, Netns

from firmware.demo.network import Network, handset_config, heard, until

pytestmark = [pytest.mark.interop, pytest.mark.slow]

HD_TONE = 6000.0
WAIT = 15.0
PACKETS = 100


async def _call(bs: Baresip, codec: str) -> dict:
    net = Network()
    got: dict = {}
    try:
        phone = await net.add("phone", handset_config("5550001", preferred_codec=codec),
                              host=bs.netns.addr)
        net.log.name((HOST, bs.port), "baresip")
        phone.api.set_mock_tone(HD_TONE)
        phone.api.dial(bs.uri)
        await until(lambda: phone.states() == ["connected"], "baresip to answer", timeout=WAIT)

        def flowing() -> bool:
            m = phone.calls()[0].media
            return bool(m and m["packets_sent"] >= PACKETS and m["packets_received"] >= PACKETS)

        await until(flowing, f"{PACKETS} RTP packets each way", timeout=WAIT)
        got["hz"] = await heard(phone, HD_TONE if codec == "g722" else None, timeout=WAIT)
        got["media"] = phone.calls()[0].media
        got["rate"] = phone.audio.format.rate
        phone.api.press_softkey("endcall")
        await until(lambda: all(s == "ended" for s in phone.states()), "idle", timeout=WAIT)
    finally:
        await net.close()
    return got


@pytest.mark.parametrize("codec", ["g722", "g711ulaw"])
def test_6khz_round_trip_through_baresip(tmp_path: Path, netns: Netns, codec: str) -> None:
    codecs = "G722" if codec == "g722" else "PCMU"
    with Baresip(tmp_path, netns, user="alice", auto_answer=True, echo=True, codecs=codecs) as bs:
        with netns.entered():
            got = asyncio.run(_call(bs, codec))
    log = bs.log_text()
    if codec == "g722":
        assert got["media"]["codec"] == "G722", got
        assert got["rate"] == 16000
        assert got["hz"] == pytest.approx(HD_TONE, rel=0.02), (got, log[-2000:])
    else:
        assert got["media"]["codec"] == "PCMU", got
        assert got["rate"] == 8000
        assert got["hz"] is None, (got, log[-2000:])  # blocked: no 6 kHz, no alias either
