"""Call control with SRTP (``srtp_mode``): which calls carry keys, the 488s, re-INVITEs that
keep or change keys, and ``optional``'s RTP/SAVP retry after a 488 (one event at a time,
on the recording endpoint of fakes.py)."""

from __future__ import annotations

from typing import Any

from firmware.media.sdes import LocalKeys, SrtpPolicy
from firmware.media.sdp import LocalMedia, build_offer, parse_sdp
from firmware.phone.actions import StartMedia, UpdateMedia
from firmware.sip import events as ev

from .fakes import FakeRequest, Harness, offer_sdp

KEYS = LocalKeys()  # the far end's master keys, kept across its offers as a phone does


def srtp_offer(mode: str = "mandatory", keys: LocalKeys = KEYS, **kw: Any) -> bytes:
    local = LocalMedia(address="10.0.0.1", rtp_port=4000)
    return build_offer(local, session_id=7, version=7, srtp=SrtpPolicy(mode, keys_allowed=True),
                       keys=keys, **kw).to_bytes()


def incoming(h: Harness, sdp: bytes, transport: str = "tls") -> None:
    h.feed(ev.IncomingCall(session="in1", call_id="cid-in1", from_uri="sip:5550001@10.0.0.1",
                           from_display="Alice", to_uri="sip:5550002@10.0.0.2",
                           request_uri="sip:5550002@10.0.0.2", sdp=sdp,
                           request=FakeRequest({}), transport=transport))


def answer_sdp(h: Harness) -> bytes:
    (ans,) = [s for s in h.sip.take() if s[0] == "answer"]
    return ans[2]["sdp"]


def test_a_mandatory_phone_keeps_its_encrypted_call_when_a_plain_reinvite_comes() -> None:
    h = Harness(srtp_mode="mandatory")
    incoming(h, srtp_offer())
    h.phone.press_softkey("answer", h.now)
    first = parse_sdp(answer_sdp(h))
    assert first.media[0].proto == "RTP/SAVP"
    h.feed(ev.CallConfirmed(session="in1"))
    (start,) = h.of(StartMedia)
    assert start.negotiated.encrypted
    assert "Secure call (SRTP)" in h.phone.screen(h.now).lines
    assert h.phone.calls()[0].encrypted
    h.feed(ev.ReInviteReceived(session="in1", sdp=offer_sdp()))  # plain RTP/AVP
    (rej,) = h.sip.take()
    assert rej[0] == "reject" and rej[2]["status"] == 488
    assert rej[2]["headers"]["Warning"].startswith("302 ")
    assert h.phone.calls()[0].state == "connected" and h.phone.calls()[0].encrypted
    assert not h.of(UpdateMedia)  # the stream was not touched


def test_a_reinvite_with_a_new_key_is_followed_and_ours_stays() -> None:
    h = Harness(srtp_mode="optional")
    incoming(h, srtp_offer("optional"))
    h.phone.press_softkey("answer", h.now)
    ours = [v for k, v in parse_sdp(answer_sdp(h)).media[0].attributes if k == "crypto"]
    h.feed(ev.CallConfirmed(session="in1"))
    old = h.of(StartMedia)[0].negotiated.crypto
    h.feed(ev.ReInviteReceived(session="in1", sdp=srtp_offer("optional", LocalKeys())))
    again = [v for k, v in parse_sdp(answer_sdp(h)).media[0].attributes if k == "crypto"]
    assert again == ours  # our key did not change
    new = h.of(UpdateMedia)[-1].negotiated.crypto
    assert new[0] == old[0] and new[1].key != old[1].key  # the peer's new key is used


def test_keys_only_over_tls() -> None:
    """Over UDP an optional phone answers a best-effort offer in the clear and refuses an
    RTP/SAVP one: the keys would cross the network readable."""
    h = Harness(srtp_mode="optional")
    incoming(h, srtp_offer("optional"), transport="udp")
    h.phone.press_softkey("answer", h.now)
    sdp = answer_sdp(h)
    assert b"a=crypto" not in sdp and b"RTP/AVP" in sdp
    h2 = Harness(srtp_mode="optional")
    incoming(h2, srtp_offer("mandatory"), transport="udp")
    (rej,) = h2.sip.take()
    assert rej[0] == "reject" and rej[2]["status"] == 488


def test_optional_retries_once_with_savp_after_a_488() -> None:
    h = Harness(srtp_mode="optional", srtp_over_plain=True)
    h.phone.place_call("sip:5550001@10.0.0.1", h.now)
    (inv,) = h.sent("invite")
    assert b" RTP/AVP " in inv[2]["sdp"] and b"a=crypto:1 " in inv[2]["sdp"]
    h.sip.take()
    h.feed(ev.CallFailed(session=inv[1], status=488, reason="Not Acceptable Here"))
    (retry,) = h.sent("invite")
    assert b" RTP/SAVP " in retry[2]["sdp"] and b"a=crypto:1 " in retry[2]["sdp"]
    assert h.phone.calls()[0].state != "ended"
    h.sip.take()
    h.feed(ev.CallFailed(session=retry[1], status=488, reason="Not Acceptable Here",
                         warning='302 10.0.0.1 "Incompatible transport protocol"'))
    assert h.sent("invite") == []  # once only
    call = h.phone.calls()[0]
    assert call.state == "ended" and "488" in (call.reason or "")
    assert "Encryption mismatch" in h.phone.screen(h.now).lines


def test_the_transport_an_invite_takes_decides_whether_keys_go() -> None:
    """``Endpoint.route_transport``: what call control asks before putting keys in an offer."""
    from firmware.sip.endpoint import Endpoint, EndpointConfig

    udp = Endpoint(EndpointConfig(local_address=("127.0.0.1", 5062), user="bob"))
    assert udp.route_transport("sips:alice@127.0.0.1") == "tls"  # RFC 5630: sips is TLS
    assert udp.route_transport("sip:alice@127.0.0.1;transport=tls") == "tls"
    assert udp.route_transport("sip:alice@127.0.0.1") == "udp"
    tls = Endpoint(EndpointConfig(local_address=("127.0.0.1", 5062), user="bob", transport="tls",
                                  outbound_proxy=("127.0.0.1", 5061)))
    assert tls.route_transport("sip:alice@127.0.0.1") == "tls"  # proxyN_transport: tls
