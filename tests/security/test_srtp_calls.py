"""SRTP in real calls: our phone to our phone through Kamailio over TLS, with SDES keys.

Two complete phones register over TLS (the test CA, as tests/security/test_sip_tls.py)
and call each other both ways. With ``srtp_mode: optional`` (the default) the offer
carries ``a=crypto`` lines, the answer one, and the audio is SRTP: each earpiece
hears the other's tone, ``GET /api/status`` says ``"encrypted": true`` for the call,
the screen says so, and what crosses loopback (captured with a raw socket,
tests/peers_sniff.py) played as PCMU holds no trace of the tone. The same
calls with ``srtp_mode: off`` are the control: there the captured payloads *are*
the tone, so the check would see plain audio if SRTP were not on.

Without a proxy or TLS (loopback handsets over UDP): a ``mandatory`` phone answers
a plain offer with 488, an ``off`` phone answers an RTP/SAVP offer with 488, and a
``mandatory`` phone with no TLS to carry keys refuses to dial, saying why.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from peers_sniff import UdpSniffer, pcmu_tone_share
from peers_tls import KamailioTls, make_pki
from talk import assert_hear_each_other

from firmware.demo.figures import TONE
from firmware.demo.network import Network, call_and_answer, handset_config, until

pytestmark = [pytest.mark.interop, pytest.mark.slow]

USERS = {"5550001": "secret5550001", "5550002": "secret5550002"}
PACKETS = 60  # 1.2 s of audio each way captured before the check


def tls_phone(number: str, kam: KamailioTls, ca_file: Path, **keys: Any) -> Any:
    return handset_config(number, proxy=kam.tls_address, transport="tls",
                          password=USERS[number], tls_ca_file=str(ca_file), **keys)


def _stream(h: Any) -> Any:
    streams = list(h.host.app.media_streams.values())
    assert len(streams) == 1, streams
    return streams[0]


async def _hold_and_resume(caller: Any, callee: Any) -> None:
    """Hold and resume (two re-INVITEs): the keys stay, so the SRTP contexts stay, and the
    audio comes back both ways with every packet authentic."""
    def sessions() -> list[Any]:  # the libsrtp sessions each way: re-made only on a new key
        return [(c._tx, c._rx) if (c := _stream(h).srtp) is not None else None  # noqa: SLF001
                for h in (caller, callee)]

    before = sessions()
    contexts = [_stream(h).srtp for h in (caller, callee)]
    caller.api.press_softkey("hold")
    await until(lambda: caller.states() == ["holding"] and callee.states() == ["held"], "held")
    caller.api.press_softkey("resume")
    await until(lambda: caller.states() == ["connected"] == callee.states(), "resumed")
    await assert_hear_each_other(caller, callee, timeout=10, when="after resume:")
    assert sessions() == before
    assert all(c is None or c.auth_failures == 0 for c in contexts)


async def _call(caller: Any, callee: Any, sniffer: UdpSniffer, encrypted: bool,
                hold: bool = False) -> None:
    await call_and_answer(caller, callee, timeout=10, target=callee.number)
    await assert_hear_each_other(caller, callee, timeout=10)
    await until(lambda: all(_stream(h).stats().packets_received >= PACKETS
                            for h in (caller, callee)), "audio captured", timeout=10)
    for me, other in ((caller, callee), (callee, caller)):
        status = me.status()
        (info,) = status.calls
        assert info.encrypted is encrypted and info.to_json()["encrypted"] is encrypted
        assert ("Secure call (SRTP)" in status.display) is encrypted, status.display
        stream = _stream(me)
        assert (stream.srtp is not None) is encrypted
        if encrypted:
            assert stream.srtp.auth_failures == 0 and stream.srtp.suite == "AES_CM_128_HMAC_SHA1_80"
        # what went on the wire to ``me``: the other's tone, played as PCMU by a listener
        neg = _stream(other).neg
        wire = sniffer.to_port(neg.remote_rtp_port, neg.remote_address)
        assert len(wire) >= PACKETS // 2  # a capture may miss a few on a loaded machine
        share = pcmu_tone_share(wire[10:], TONE[other.name])
        if encrypted:
            assert share < 0.05, f"{other.name}'s tone readable on the wire ({share:.2f})"
            assert all(len(p) == 12 + 160 + 10 for p in wire[10:])  # 80-bit auth tags
        else:
            assert share > 0.5, f"plain call: {other.name}'s tone not found ({share:.2f})"
    if hold:
        await _hold_and_resume(caller, callee)
    caller.api.press_softkey("endcall")
    await until(lambda: all(s == "ended" for s in callee.states()), f"{callee.name} idle")
    callee.api.set_hook(False)
    await until(lambda: callee.states() == [] and caller.states() == [], "both idle")


@pytest.mark.parametrize(("mode", "encrypted"), [("optional", True), ("off", False)])
def test_phone_to_phone_over_tls_with_srtp_and_the_wire_is_not_pcmu(
        tmp_path: Path, mode: str, encrypted: bool) -> None:
    pki = make_pki(tmp_path / "pki")

    async def main() -> None:
        async with Network() as net:
            with KamailioTls(tmp_path, pki=pki, users=USERS) as kam, UdpSniffer() as sniffer:
                a = await net.add("A", tls_phone("5550001", kam, pki.ca_file, srtp_mode=mode))
                b = await net.add("B", tls_phone("5550002", kam, pki.ca_file, srtp_mode=mode))
                for h in (a, b):
                    h.api.set_mock_tone(TONE[h.name])
                await until(lambda: a.status().registered and b.status().registered,
                            "registered over TLS", timeout=15)
                await _call(a, b, sniffer, encrypted, hold=True)
                sniffer.datagrams.clear()
                await _call(b, a, sniffer, encrypted)
                await net.close()

    asyncio.run(main())


class SentNetwork(Network):
    """``Network`` that also keeps every SIP message a handset sent, as bytes, by receiver."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[tuple[str, int], bytes]] = []

    def tap(self, name: str) -> Any:
        inner = super().tap(name)

        def on_wire(direction: str, data: bytes, peer: Any, transport: str, at: float) -> None:
            if direction == "out":
                self.sent.append(((peer[0], int(peer[1])), bytes(data)))
            inner(direction, data, peer, transport, at)

        return on_wire

    def to(self, h: Any) -> list[bytes]:
        return [data for peer, data in self.sent if peer == tuple(h.address)]


def test_srtp_mode_refusals_over_plain_signalling() -> None:
    """UDP, no proxy: what ``mandatory`` and ``off`` refuse, with 488 and the reason."""

    async def main() -> None:
        net = SentNetwork()
        try:
            strict = await net.add("M", handset_config("5550001", srtp_mode="mandatory",
                                                       srtp_over_plain=True))
            plain = await net.add("P", handset_config("5550002", srtp_mode="off"))
            lone = await net.add("L", handset_config("5550003", srtp_mode="mandatory"))
            # a plain offer to the mandatory phone: 488, it never rings
            plain.api.dial(strict.uri())
            await until(lambda: plain.states() == ["ended"], "the plain call refused")
            assert strict.states() == []
            assert "488" in (plain.calls()[0].reason or ""), plain.calls()
            assert "Encryption mismatch" in plain.status().display  # the Warning: 302
            plain.api.press_button("speaker")  # the user hangs up the failed call
            await until(lambda: plain.states() == [], "the ended call cleared", timeout=10)
            # the mandatory phone's RTP/SAVP offer to the phone with SRTP off: 488 too
            strict.api.dial(plain.uri())
            await until(lambda: strict.states() == ["ended"], "the SRTP call refused")
            assert plain.states() == []
            assert "488" in (strict.calls()[0].reason or ""), strict.calls()
            assert "Encryption mismatch" in strict.status().display
            to_strict, to_plain = net.to(strict), net.to(plain)
            (savp,) = [d for d in to_plain if d.startswith(b"INVITE ")]
            assert b"m=audio " in savp and b" RTP/SAVP 0" in savp
            assert b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" in savp
            (avp,) = [d for d in to_strict if d.startswith(b"INVITE ")]
            assert b" RTP/AVP 0" in avp and b"a=crypto" not in avp
            refusals = [d for d in to_strict + to_plain if d.startswith(b"SIP/2.0 488 ")]
            assert len(refusals) == 2
            assert all(b'Warning: 302 127.0.0.1 "Incompatible transport protocol"' in d
                       for d in refusals), refusals
            # mandatory without TLS (and without srtp_over_plain): no call leaves at all
            sent = len(net.sent)
            lone.api.dial(plain.uri())
            await until(lambda: lone.states() == ["ended"], "the call refused locally")
            assert len(net.sent) == sent
            assert "SRTP needs TLS" in " ".join(lone.status().display)
        finally:
            await net.close()

    asyncio.run(main())
