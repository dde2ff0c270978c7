"""Strict header octets: a raw NUL or invalid UTF-8 in a header value is a 400.

RFC 3261 §25.1 allows NUL only escaped as a quoted-pair inside a quoted
string, and header text only as UTF-8. The RFC 4475 §3.1.1.2 message, whose
display name escapes a NUL, must still get past this check (it is a 501 for
its unknown method); tests/sip/test_rfc4475.py holds the whole corpus.
"""

from __future__ import annotations

import pytest

from firmware.sip.endpoint import Endpoint, EndpointConfig

LOCAL = ("127.0.0.1", 5062)
PEER = ("127.0.0.1", 7777)


def options(extra: bytes) -> bytes:
    return (
        b"OPTIONS sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:7777;branch=z9hG4bKoct\r\n"
        b"Max-Forwards: 70\r\n"
        b"From: <sip:alice@127.0.0.1:7777>;tag=ft\r\n"
        b"To: <sip:bob@127.0.0.1:5062>\r\n"
        b"Call-ID: oct@x\r\nCSeq: 1 OPTIONS\r\n" + extra + b"Content-Length: 0\r\n\r\n"
    )


def first_lines(e: Endpoint) -> list[str]:
    return [o.data.split(b"\r\n", 1)[0].decode() for o in e.datagrams_to_send()]


@pytest.mark.parametrize("header", [
    b"Subject: nul\x00here\r\n",                 # raw NUL
    b"X-Note: caf\xe9\r\n",                      # Latin-1, not UTF-8
    b"X-Note: \xff\xfe\r\n",                     # not UTF-8 at all
    b'To2: "a\x00b" <sip:x@y>\r\n',              # NUL inside quotes but not escaped
])
def test_bad_header_octets_get_400(header: bytes) -> None:
    e = Endpoint(EndpointConfig(local_address=LOCAL, user="bob"))
    e.receive_datagram(options(header), PEER, "udp", 0.0)
    [line] = first_lines(e)
    assert line.startswith("SIP/2.0 400 ")
    assert e.next_event() is None


@pytest.mark.parametrize("header", [
    b"Subject: caf\xc3\xa9 \xe2\x98\x8e\r\n",   # valid UTF-8
    b'X-Name: "BEL:\\\x07 NUL:\\\x00"\r\n',     # NUL as a quoted-pair: allowed
])
def test_good_header_octets_still_pass(header: bytes) -> None:
    e = Endpoint(EndpointConfig(local_address=LOCAL, user="bob"))
    e.receive_datagram(options(header), PEER, "udp", 0.0)
    assert first_lines(e) == ["SIP/2.0 200 OK"]  # the endpoint answers OPTIONS itself
