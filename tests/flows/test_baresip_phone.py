"""Our whole phone and baresip (a real softphone) calling each other, audio checked both ways.

Unlike tests/interop (bare SIP stack, no audio) and tests/media (media engine,
SIP sent as text), the handset here is the complete firmware as the demo
builds it (``firmware.demo.network``): UDP/TCP SIP transport, Endpoint, call
control (Phone), App, MediaStream/MediaEngine on MockAudio, driven only
through the control-API verbs a person or the HTTP API uses.

baresip writes its own interface address into its SDP, so it runs in a
private network namespace whose veth carries 127.0.0.2 (tests/peers.py
``Netns``); the whole test, including our phone's event loop and therefore
every SIP and RTP socket the phone opens, runs on a thread switched into that
namespace. Nothing leaves it. Our phone sits on 127.0.0.2 as well: sending to
127.0.0.1, baresip's RTP would leave from 127.0.0.1 while its SDP says
127.0.0.2, and our MediaStream only accepts RTP from the negotiated address
(it counts such packets as ``wrong_source``).

Audio, with our microphone playing 1000 Hz:
* ``tone``: baresip's source is a 440 Hz wav (aufile). Our earpiece must hear
  440 Hz (baresip -> us) and baresip's own RTP statistics must count our
  packets (us -> baresip).
* ``echo``: baresip's source is its own player (aubridge), so our earpiece
  must hear our 1000 Hz back: baresip decoded what we sent and re-encoded it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from peers import HOST, Baresip, Netns

from firmware.demo.network import Handset, Network, handset_config, heard, until

pytestmark = [pytest.mark.interop, pytest.mark.slow]

OUR_TONE = 1000.0
BARESIP_TONE = 440.0  # tests/peers.py writes baresip's aufile source at 440 Hz
WAIT = 15.0  # generous: a loaded CI machine delays, never fails, a step
PACKETS = 100  # 20 ms each: two seconds of audio each way before we listen


def _expected_hz(mode: str) -> float:
    return OUR_TONE if mode == "echo" else BARESIP_TONE


def _state(h: Handset, state: str) -> Callable[[], bool]:
    return lambda: h.states() == [state]


def _idle(h: Handset) -> Callable[[], bool]:
    return lambda: all(s == "ended" for s in h.states())


def _ladder(net: Network, call_id: str) -> list[tuple[str, str, str]]:
    """(src, dst, method or status code) of one call, as our phone sent and received it."""
    return [
        (m.src, m.dst, m.label.split(" ")[0]) for m in net.log.messages if m.call_id == call_id
    ]


def _without_provisional_extras(seq: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """baresip's 100 Trying is optional (hop by hop, sent only when its answer is slow);
    ours is not: the phone sends it at once, as the seed's 7960 does (Figure B-1 step 4)."""
    return [m for m in seq if not (m[2] == "100" and m[0] == "baresip")]


def _stream_stats(phone: Handset):
    assert phone.host.app is not None
    streams = list(phone.host.app.media_streams.values())
    assert len(streams) <= 1, streams
    return streams[0].stats() if streams else None  # the callee starts media on the ACK


async def _audio_both_ways(phone: Handset, mode: str) -> float | None:
    """What our earpiece hears once two seconds of audio went each way (RTP counted by our
    stream, so baresip's own end-of-call count can be checked against it)."""

    def flowing() -> bool:
        st = _stream_stats(phone)
        return st is not None and st.packets_sent >= PACKETS and st.packets_received >= PACKETS

    try:
        await until(flowing, f"{PACKETS} RTP packets each way", timeout=WAIT)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}: {_stream_stats(phone)}") from None
    hz = await heard(phone, _expected_hz(mode), timeout=WAIT)
    st = _stream_stats(phone)
    assert st is not None and st.codec == "PCMU" and st.wrong_source == 0 and st.malformed == 0, st
    report = phone.api.mock_audio()
    assert report.tx_frames > 0 and report.rx_frames > 0, report
    return hz


async def _we_call(bs: Baresip, mode: str) -> tuple[Network, Handset, float | None, str]:
    async with Network() as net:
        phone = await net.add("phone", handset_config("5550001"), host=bs.netns.addr)
        net.log.name((HOST, bs.port), "baresip")
        phone.api.set_mock_tone(OUR_TONE)
        phone.api.dial(bs.uri)
        await until(_state(phone, "connected"), "baresip to answer", timeout=WAIT)
        call_id = phone.calls()[0].call_id
        assert not phone.status().ringer
        hz = await _audio_both_ways(phone, mode)
        phone.api.press_softkey("endcall")
        await until(_idle(phone), "our phone idle after BYE", timeout=WAIT)
        await until(lambda: _ladder(net, call_id)[-1:] == [("baresip", "phone", "200")]
                    and len(_ladder(net, call_id)) > 4, "200 to our BYE", timeout=WAIT)
        return net, phone, hz, call_id


async def _baresip_calls(bs: Baresip, mode: str) -> tuple[Network, Handset, float | None, str]:
    async with Network() as net:
        phone = await net.add("phone", handset_config("5550001"), host=bs.netns.addr)
        net.log.name((HOST, bs.port), "baresip")
        phone.api.set_mock_tone(OUR_TONE)
        answer = await bs.ctrl("dial", phone.uri())
        assert answer.get("ok") is not False, answer
        await until(_state(phone, "incoming"), "our phone to ring", timeout=WAIT)
        call_id = phone.calls()[0].call_id
        status = phone.status()
        assert status.ringer, status
        phone.api.set_hook(True)  # the control API's off-hook
        await until(_state(phone, "connected"), "the call connected", timeout=WAIT)
        assert not phone.status().ringer
        hz = await _audio_both_ways(phone, mode)
        await bs.ctrl("hangup")
        await until(_idle(phone), "our phone idle after baresip's BYE", timeout=WAIT)
        await until(lambda: _ladder(net, call_id)[-1:] == [("phone", "baresip", "200")]
                    and len(_ladder(net, call_id)) > 4, "our 200 to baresip's BYE", timeout=WAIT)
        phone.api.set_hook(False)
        return net, phone, hz, call_id


def _baresip_received_us(log: str) -> None:
    """baresip's end-of-call RTP statistics count (nearly) all the packets we sent it."""
    rx = re.search(r"packets:\s+(\d+)\s+(\d+)", log)
    assert rx is not None, log[-2000:]
    assert int(rx.group(2)) >= PACKETS - 10, log[-2000:]
    errors = re.search(r"errors:\s+(\d+)\s+(\d+)", log)
    assert errors is not None and int(errors.group(2)) == 0, log[-2000:]
    lost = re.search(r"lost:\s+(\d+)\s+(\d+)", log)  # only once RTCP reports came in
    assert lost is None or int(lost.group(2)) == 0, log[-2000:]


@pytest.mark.parametrize("mode", ["tone", "echo"])
def test_our_phone_calls_baresip(tmp_path: Path, netns: Netns, mode: str) -> None:
    with Baresip(tmp_path, netns, user="alice", auto_answer=True, echo=mode == "echo") as bs:
        with netns.entered():
            net, phone, hz, call_id = asyncio.run(_we_call(bs, mode))
    log = bs.log_text()
    assert hz == pytest.approx(_expected_hz(mode), rel=0.04), (hz, log[-2000:])
    _baresip_received_us(log)
    assert _without_provisional_extras(_ladder(net, call_id)) == [
        ("phone", "baresip", "INVITE"),
        ("baresip", "phone", "180"),
        ("baresip", "phone", "200"),
        ("phone", "baresip", "ACK"),
        ("phone", "baresip", "BYE"),
        ("baresip", "phone", "200"),
    ]
    assert phone.api.history()[0].kind == "placed"


@pytest.mark.parametrize("mode", ["tone", "echo"])
def test_baresip_calls_our_phone(tmp_path: Path, netns: Netns, mode: str) -> None:
    with Baresip(tmp_path, netns, user="alice", auto_answer=False, echo=mode == "echo") as bs:
        with netns.entered():
            net, phone, hz, call_id = asyncio.run(_baresip_calls(bs, mode))
    log = bs.log_text()
    assert hz == pytest.approx(_expected_hz(mode), rel=0.04), (hz, log[-2000:])
    _baresip_received_us(log)
    assert _without_provisional_extras(_ladder(net, call_id)) == [
        ("baresip", "phone", "INVITE"),
        ("phone", "baresip", "100"),
        ("phone", "baresip", "180"),
        ("phone", "baresip", "200"),
        ("baresip", "phone", "ACK"),
        ("baresip", "phone", "BYE"),
        ("phone", "baresip", "200"),
    ]
    assert phone.api.history()[0].kind == "received"
