"""SIP transports on real loopback sockets (RFC 3261 §18.1.1, §18.2.2; RFC 3581).

Two ``SipTransport`` instances talk to each other over 127.0.0.1; the tests
check what arrived where and over which protocol, and the counters the
transport keeps for everything it refused or could not do.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from firmware.net.transport import SipTransport, open_sip_transport
from firmware.net.wire import is_request, set_top_via_transport, top_via_branch


def request(branch: str = "z9hG4bKabc", *, size: int = 0, via_port: int = 5060) -> bytes:
    body = b"x" * size
    return (
        b"OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"
        + f"Via: SIP/2.0/UDP 127.0.0.1:{via_port};branch={branch};rport\r\n".encode()
        + b"From: <sip:alice@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\n"
        b"Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        + f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def response(branch: str = "z9hG4bKabc") -> bytes:
    return (
        b"SIP/2.0 200 OK\r\n"
        + f"Via: SIP/2.0/TCP 127.0.0.1:5060;branch={branch};rport\r\n".encode()
        + b"From: <sip:alice@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>;tag=2\r\n"
        b"Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )


class Inbox:
    def __init__(self) -> None:
        self.items: list[tuple[bytes, tuple[str, int], str]] = []
        self.arrived = asyncio.Event()

    def __call__(self, data: bytes, source: tuple[str, int], transport: str) -> None:
        self.items.append((data, source, transport))
        self.arrived.set()

    async def wait(self, n: int = 1) -> None:
        async with asyncio.timeout(5):
            while len(self.items) < n:
                self.arrived.clear()
                await self.arrived.wait()


async def pair(**b_kwargs) -> tuple[SipTransport, Inbox, SipTransport, Inbox]:
    a_in, b_in = Inbox(), Inbox()
    a = await open_sip_transport("127.0.0.1", 0, on_receive=a_in)
    b = await open_sip_transport("127.0.0.1", 0, on_receive=b_in, **b_kwargs)
    return a, a_in, b, b_in


# -- byte-level helpers -------------------------------------------------------


def test_wire_helpers_read_the_top_via_only() -> None:
    msg = (
        b"INVITE sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP h1;branch=z9hG4bKone, SIP/2.0/UDP h2;branch=z9hG4bKtwo\r\n"
        b"Via: SIP/2.0/UDP h3;branch=z9hG4bKthree\r\nContent-Length: 0\r\n\r\n"
    )
    assert is_request(msg) and not is_request(response())
    assert top_via_branch(msg) == "z9hG4bKone"
    switched = set_top_via_transport(msg, "tcp")
    assert b"v: SIP/2.0/TCP h1" in switched
    assert b"SIP/2.0/UDP h2" in switched and b"SIP/2.0/UDP h3" in switched
    assert len(switched) == len(msg)
    assert top_via_branch(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n") is None
    # a Via-like line in the body is not the top Via
    body_only = b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 20\r\n\r\nVia: SIP/2.0/UDP evil"
    assert set_top_via_transport(body_only, "TCP") == body_only


# -- UDP ----------------------------------------------------------------------


async def test_udp_delivers_with_source_address() -> None:
    a, a_in, b, b_in = await pair()
    try:
        assert a.local_address[1] != 0 and a.local_address != b.local_address
        a.send(request(), b.local_address, "udp")
        await b_in.wait()
        data, source, transport = b_in.items[0]
        assert data == request() and source == a.local_address and transport == "udp"
        b.send(response(), source, "udp")
        await a_in.wait()
        assert a_in.items[0][0] == response()
        assert (a.stats.udp_sent, b.stats.udp_received) == (1, 1)
    finally:
        await a.close()
        await b.close()


async def test_udp_to_a_closed_port_is_counted_not_raised() -> None:
    a, a_in, b, _ = await pair()
    await b.close()  # nobody listens there any more
    refused: list[tuple[str, int]] = []
    a.on_unreachable = refused.append
    try:
        for _ in range(3):
            a.send(request(), b.local_address, "udp")
            await asyncio.sleep(0.02)
        assert a.stats.udp_sent == 3
        # IP_RECVERR: each ICMP port unreachable is read with the address that refused
        for _ in range(100):
            if a.stats.icmp_unreachable == 3:
                break
            await asyncio.sleep(0.01)
        assert a.stats.icmp_unreachable == 3
        assert set(refused) == {b.local_address}
        before = a.stats.send_errors + a.stats.udp_socket_errors
        a.send(request(), ("127.0.0.1", 0), "udp")  # invalid port: error counted
        await asyncio.sleep(0.01)
        assert a.stats.send_errors + a.stats.udp_socket_errors == before + 1
    finally:
        await a.close()


# -- TCP ----------------------------------------------------------------------


async def test_tcp_reuses_one_connection_and_answers_on_it() -> None:
    a, a_in, b, b_in = await pair()
    try:
        a.send(request("z9hG4bK1"), b.local_address, "tcp")
        a.send(request("z9hG4bK2"), b.local_address, "tcp")
        await b_in.wait(2)
        assert [i[2] for i in b_in.items] == ["tcp", "tcp"]
        assert a.stats.tcp_connects == 1 and b.stats.tcp_connects == 0
        assert b.stats.tcp_accepted == 1 and a.stats.tcp_accepted == 0
        source = b_in.items[0][1]
        assert source != a.local_address  # an ephemeral client port
        # the response goes to the Via received/rport (= source): the accepted connection
        b.send(response("z9hG4bK1"), source, "tcp")
        await a_in.wait()
        assert a_in.items[0] == (response("z9hG4bK1"), b.local_address, "tcp")
        assert b.stats.tcp_connects == 0
        assert a.open_connections == 1 and b.open_connections == 1
    finally:
        await a.close()
        await b.close()


async def test_tcp_response_without_rport_follows_the_request_connection() -> None:
    a, a_in, b, b_in = await pair()
    try:
        a.send(request("z9hG4bKnorport"), b.local_address, "tcp")
        await b_in.wait()
        # Via sent-by port 5060, no rport: §18.2.2 says use the connection the
        # request came on while it is open; the branch finds it.
        b.send(response("z9hG4bKnorport"), ("127.0.0.1", 5060), "tcp")
        await a_in.wait()
        assert a_in.items[0][0] == response("z9hG4bKnorport")
        assert b.stats.tcp_connects == 0
    finally:
        await a.close()
        await b.close()


async def test_tcp_stream_split_and_coalesced_is_framed_by_content_length() -> None:
    _, _, b, b_in = await pair()
    try:
        two = request("z9hG4bKa", size=10) + b"\r\n\r\n" + request("z9hG4bKb", size=3)
        reader, writer = await asyncio.open_connection(*b.local_address)
        for i in range(0, len(two), 7):  # dribble it in 7-byte pieces
            writer.write(two[i : i + 7])
            await writer.drain()
        await b_in.wait(2)
        assert [top_via_branch(i[0]) for i in b_in.items] == ["z9hG4bKa", "z9hG4bKb"]
        assert b_in.items[0][0] == request("z9hG4bKa", size=10)
        writer.close()
    finally:
        await b.close()


async def test_unframeable_stream_closes_that_connection_only() -> None:
    _, _, b, b_in = await pair()
    try:
        reader, writer = await asyncio.open_connection(*b.local_address)
        writer.write(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: banana\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # closed by the transport
        assert b.stats.framing_errors == 1 and b_in.items == []
        # the transport still serves others
        good_reader, good_writer = await asyncio.open_connection(*b.local_address)
        good_writer.write(request())
        await b_in.wait()
        good_writer.close()
    finally:
        await b.close()


async def test_stream_without_content_length_is_answered_400_then_closed() -> None:
    _, _, b, b_in = await pair()
    try:
        reader, writer = await asyncio.open_connection(*b.local_address)
        no_length = request().replace(b"Content-Length: 0\r\n", b"")
        assert b"Content-Length" not in no_length
        writer.write(no_length)
        await writer.drain()
        async with asyncio.timeout(5):
            answer = await reader.read()  # everything until the transport closes
        assert answer.startswith(b"SIP/2.0 400 ")
        assert b"Call-ID: c1\r\n" in answer and b"CSeq: 1 OPTIONS\r\n" in answer
        assert b_in.items == [] and b.stats.framing_errors == 1
    finally:
        await b.close()


async def test_connection_count_is_bounded_by_evicting_the_idlest() -> None:
    _, _, b, b_in = await pair(max_connections=2)
    streams = []
    try:
        for i in range(3):
            streams.append(await asyncio.open_connection(*b.local_address))
            streams[-1][1].write(request(f"z9hG4bK{i}"))
            await b_in.wait(i + 1)
        assert b.open_connections == 2 and b.stats.tcp_evicted == 1
        async with asyncio.timeout(5):
            assert await streams[0][0].read() == b""  # the first (idlest) was closed
        streams[2][1].write(request("z9hG4bKlater"))  # the newest still works
        await b_in.wait(4)
    finally:
        for _, w in streams:
            w.close()
        await b.close()


async def test_idle_connections_are_closed() -> None:
    _, _, b, b_in = await pair(idle_timeout=0.05)
    try:
        reader, writer = await asyncio.open_connection(*b.local_address)
        writer.write(request())
        await b_in.wait()
        async with asyncio.timeout(5):
            assert await reader.read() == b""
        assert b.stats.tcp_idle_closed == 1 and b.open_connections == 0
        writer.close()
    finally:
        await b.close()


# -- RFC 3261 §18.1.1 ---------------------------------------------------------


async def test_large_udp_request_goes_over_tcp_with_via_rewritten() -> None:
    a, _, b, b_in = await pair()
    try:
        big = request("z9hG4bKbig", size=1400)
        a.send(big, b.local_address, "udp")
        await b_in.wait()
        data, _, transport = b_in.items[0]
        assert transport == "tcp"
        assert data == set_top_via_transport(big, "TCP") and b"Via: SIP/2.0/TCP" in data
        assert a.stats.switched_to_tcp == 1 and a.stats.udp_sent == 0
        # a small one stays on UDP, and a large *response* is never switched
        a.send(request("z9hG4bKsmall"), b.local_address, "udp")
        await b_in.wait(2)
        assert b_in.items[1][2] == "udp"
    finally:
        await a.close()
        await b.close()


async def test_large_request_falls_back_to_udp_when_tcp_connect_fails() -> None:
    a, _, b, b_in = await pair(tcp=False)  # b listens on UDP only: TCP connect refused
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            assert s.connect_ex(b.local_address) != 0
        big = request("z9hG4bKfallback", size=1400)
        a.send(big, b.local_address, "udp")
        await b_in.wait()
        assert b_in.items[0][0] == big and b_in.items[0][2] == "udp"
        assert a.stats.tcp_connect_failures == 1 and a.stats.fell_back_to_udp == 1
    finally:
        await a.close()
        await b.close()


@pytest.mark.internal_errors_expected  # the receiver raises on purpose
async def test_receiver_exception_is_counted_and_the_socket_keeps_working() -> None:
    a, _, b, b_in = await pair()
    calls = []

    def flaky(data: bytes, source, transport: str) -> None:
        calls.append(data)
        if len(calls) == 1:
            raise RuntimeError("bug above the transport")
        b_in(data, source, transport)

    b.on_receive = flaky
    try:
        a.send(request("z9hG4bK1"), b.local_address, "udp")
        a.send(request("z9hG4bK2"), b.local_address, "udp")
        await b_in.wait()
        assert b.stats.receiver_errors == 1 and len(calls) == 2
    finally:
        await a.close()
        await b.close()


async def test_udp_to_a_host_name_is_resolved_without_blocking() -> None:
    a, _, b, b_in = await pair()
    try:
        a.send(request("z9hG4bKn1"), ("localhost", b.local_address[1]), "udp")
        a.send(request("z9hG4bKn2"), ("LOCALHOST", b.local_address[1]), "udp")  # same cache entry
        await b_in.wait(2)
        assert [top_via_branch(i[0]) for i in b_in.items] == ["z9hG4bKn1", "z9hG4bKn2"]
        # an unresolvable name that fails before any DNS query leaves the machine
        # (a label over 63 octets is refused by the IDNA codec)
        a.send(request(), ("x" * 64 + ".example", b.local_address[1]), "udp")
        async with asyncio.timeout(10):
            while a.stats.dropped_unresolved == 0:
                await asyncio.sleep(0.01)
        assert a.stats.udp_sent == 2
    finally:
        await a.close()
        await b.close()


@pytest.mark.parametrize("transport", ["sctp", "ws"])  # tls: tests/security/test_sip_tls.py
async def test_unknown_transport_is_dropped_and_counted(transport: str) -> None:
    a = await open_sip_transport("127.0.0.1", 0)
    try:
        a.send(request(), ("127.0.0.1", 5060), transport)
        assert a.stats.dropped_no_route == 1
    finally:
        await a.close()
