"""Figures with a SIP proxy: network call forwarding (B-9, B-10, B-11) and authentication (B-17).

Kamailio is the proxy; for B-9..B-11 SIPp plays the SIP redirect server
(302 to the forward-all target, or 300 listing the called phone then the
forward target) and Kamailio follows the contacts by q-value with a ring
timeout, like the seed's proxy. Phones A, B and C are the complete firmware.
The proxy <-> redirect-server leg, which no phone sees, comes from SIPp's
message log and is merged into the ladder by time.

Each figure runs three ways (``WHERE``): every process on 127.0.0.1, every
process on 127.0.0.43, and two hosts joined by a veth pair (tests/peers_hosts.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flowkit import (
    SCENARIOS,
    RedirectingProxy,
    add_sipp_leg,
    newest_messages_log,
    save_ladder,
    sipp_messages,
    wall_offset,
)
from peers import HOST, Kamailio, Sipp, free_port
from peers_hosts import TwoHosts
from talk import assert_hear_each_other, play_own_tones, talk_and_hang_up

from firmware.demo.ladder import MessageLog, render_text
from firmware.demo.match import compare
from firmware.demo.network import Network, handset_config, until
from firmware.demo.seed import FIGURES as SEED

pytestmark = [pytest.mark.slow, pytest.mark.interop]

A, B, C, PX, RS = "A", "B", "C", "Proxy", "Redirect"
ORDER = [A, PX, RS, B, C]


def _assert_flow(figure: str, log: MessageLog) -> None:
    """The ladder plays the seed's whole step table with only what ``firmware.demo.seed``
    names between steps (registrations are no part of any figure)."""
    save_ladder(figure, log, ORDER)
    ladder = render_text(log.messages, ORDER, f"Figure {figure}")
    mismatch = compare(log.messages, SEED[figure])
    assert mismatch is None, f"{mismatch}\n{ladder}"


WHERE = [HOST, "127.0.0.43", "veth"]


@contextlib.contextmanager
def _places(where: str) -> Iterator[dict[str, tuple[str, Any]]]:
    """Who runs where: every process on 127.0.0.1 or on 127.0.0.43, or two hosts joined
    by a veth pair: the proxy, the redirect server and A on ``pbx``, B and C on ``desk``."""
    if where != "veth":
        yield {who: (where, None) for who in ("proxy", A, B, C)}
        return
    with TwoHosts() as hosts:
        pbx, desk = (hosts.pbx.ip, hosts.pbx), (hosts.desk.ip, hosts.desk)
        yield {"proxy": pbx, A: pbx, B: desk, C: desk}


async def _forwarding(tmp_path: Path, place: dict[str, tuple[str, Any]], scenario: str,
                      keys: dict[str, str], play: Any) -> MessageLog:
    net = Network()
    host, netns = place["proxy"]
    sipp = Sipp(tmp_path / "sipp", host=host, netns=netns)
    rs_port = free_port()
    offset = wall_offset()
    try:
        c = await net.add(C, handset_config("5550003"), host=place[C][0], netns=place[C][1])
        b = await net.add(B, handset_config("5550002"), host=place[B][0], netns=place[B][1])
        extra = [arg for k, v in keys.items() for arg in ("-key", k, v.format(B=b.uri(), C=c.uri()))]
        with RedirectingProxy(tmp_path, redirect=(host, rs_port), forwarded_user="5550002",
                              host=host, netns=netns) as px:
            net.log.name(px.address, PX)
            net.log.name((host, rs_port), RS)
            a = await net.add(A, handset_config("5550001", proxy=px.address),
                              host=place[A][0], netns=place[A][1])
            rs = sipp.start(str(SCENARIOS / scenario), port=rs_port, timeout=20.0, extra=extra)
            try:
                sipp.wait_bound(rs)
                await play(a, b, c)
            except Exception as exc:
                raise AssertionError(f"{exc}\n{render_text(net.log.messages, ORDER)}\n"
                                     f"{px.proc.log_text()[-2000:]}") from exc
            finally:
                rs.stop()
                await net.close()  # phones un-REGISTER while the proxy still answers
        add_sipp_leg(net.log, sipp_messages(newest_messages_log(sipp.workdir, Path(scenario).stem),
                                            offset), RS, PX)
    finally:
        await net.close()
    return net.log


async def _c_answers(a: Any, c: Any) -> None:
    """A dials B's number; the proxy's answer sends the call to C, who takes it (RTP goes
    end to end, only SIP passes the proxy)."""
    await talk_and_hang_up(a, c, target="5550002")


def _forwarding_figure(tmp_path: Path, where: str, figure: str, scenario: str,
                       contacts: dict[str, str], play: Any) -> None:
    """``figure`` played by our three phones ``where`` with SIPp's ``scenario`` as the
    forwarding proxy, every message checked against the seed."""
    with _places(where) as place:
        log = asyncio.run(_forwarding(tmp_path, place, scenario, contacts, play))
    _assert_flow(figure, log)


@pytest.mark.parametrize("where", WHERE)
def test_b9_forward_unconditional(tmp_path: Path, where: str) -> None:
    async def play(a: Any, b: Any, c: Any) -> None:
        await _c_answers(a, c)
        assert b.calls() == []  # B's phone never rang: the network forwarded the call

    _forwarding_figure(tmp_path, where, "B-9", "redirect_302.xml", {"contact1": "{C}"}, play)


@pytest.mark.parametrize("where", WHERE)
def test_b10_forward_on_busy(tmp_path: Path, where: str) -> None:
    async def play(a: Any, b: Any, c: Any) -> None:
        b.api.press_softkey("dnd")  # B is busy: answers 486
        await _c_answers(a, c)

    _forwarding_figure(tmp_path, where, "B-10", "redirect_300.xml",
                       {"contact1": "{B}", "contact2": "{C}"}, play)


@pytest.mark.parametrize("where", WHERE)
def test_b11_forward_on_no_answer(tmp_path: Path, where: str) -> None:
    async def play(a: Any, b: Any, c: Any) -> None:
        a.api.dial("5550002")
        await until(lambda: b.states() == ["incoming"], "B to ring")
        await until(lambda: c.states() == ["incoming"], "the proxy to give up on B and try C",
                    timeout=10)
        # the proxy CANCELs B as it tries C: under load C may ring a moment before
        # B has taken the CANCEL
        await until(lambda: all(s == "ended" for s in b.states()), "B to stop ringing")
        c.api.set_hook(True)
        await until(lambda: a.states() == ["connected"] and c.states() == ["connected"],
                    "A-C connected")
        play_own_tones(a, c)
        await assert_hear_each_other(a, c)
        a.api.press_softkey("endcall")
        await until(lambda: all(s == "ended" for s in c.states()), "C idle")

    _forwarding_figure(tmp_path, where, "B-11", "redirect_300.xml",
                       {"contact1": "{B}", "contact2": "{C}"}, play)


@pytest.mark.parametrize("where", WHERE)
def test_b17_authentication_challenge(tmp_path: Path, where: str) -> None:
    """All of B-17's steps (407, ACK, the INVITE resent with credentials), then the call
    it places, answered and hung up, every message through Kamailio checked in order.
    Every process on 127.0.0.1, or on 127.0.0.43, or on two hosts joined by a veth
    pair: Kamailio and A on ``pbx``, B on ``desk``."""
    with contextlib.ExitStack() as stack:
        if where == "veth":
            hosts = stack.enter_context(TwoHosts())
            place = {"kam": (hosts.pbx.ip, hosts.pbx), A: (hosts.pbx.ip, hosts.pbx),
                     B: (hosts.desk.ip, hosts.desk)}
        else:
            place = {who: (where, None) for who in ("kam", A, B)}
        log = _b17(tmp_path, place)
    _assert_flow("B-17", log)


def _b17(tmp_path: Path, place: dict[str, tuple[str, Any]]) -> MessageLog:
    users = {"5550001": "secret5550001", "5550002": "secret5550002"}

    async def main() -> MessageLog:
        async with Network() as net:
            with Kamailio(tmp_path, users=users, host=place["kam"][0],
                          netns=place["kam"][1]) as kam:
                net.log.name(kam.address, PX)
                a = await net.add(A, handset_config("5550001", proxy=kam.address,
                                                    password=users["5550001"]),
                                  host=place[A][0], netns=place[A][1])
                b = await net.add(B, handset_config("5550002", proxy=kam.address,
                                                    password=users["5550002"]),
                                  host=place[B][0], netns=place[B][1])
                await until(lambda: a.status().registered and b.status().registered, "registered")
                await talk_and_hang_up(a, b)
                await net.close()  # un-REGISTER while Kamailio still answers
        return net.log

    return asyncio.run(main())
