"""Gateway-to-phone figures of Appendix B (B-1, B-2, B-3, B-12, B-13, B-14).

SIPp plays Gateway 1 with the scenarios in tests/flows/scenarios (it also
echoes the phone's RTP with -rtp_echo, so the phone's earpiece hears its own
microphone tone only while media really flows); our phone runs as the
complete firmware and is driven like a person drives it.

Where (the ``where`` fixture): every figure runs with every process on
127.0.0.1, again on 127.0.0.43, and between two hosts: the gateways on
``pbx`` and the phone on ``desk``, two network namespaces joined by a veth
pair (tests/peers_hosts.py), so no message can take a shortcut over one
loopback.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flowkit import (
    SCENARIOS,
    add_sipp_leg,
    newest_messages_log,
    save_ladder,
    sipp_messages,
    wall_offset,
)
from peers import HOST, Sipp, free_port
from peers_hosts import TwoHosts

from firmware.demo.ladder import render_text
from firmware.demo.match import FigureSpec, compare
from firmware.demo.network import Handset, Network, handset_config, heard, settle, until
from firmware.demo.seed import FIGURES as SEED

pytestmark = [pytest.mark.slow, pytest.mark.interop]

G, P = "Gateway 1", "Phone"
OTHER = "127.0.0.43"
VETH = "veth"


@dataclass
class Where:
    """Where a figure runs: the phone's address and namespace, and SIPp (the gateways)."""

    phone_host: str
    phone_ns: Any
    sipp: Sipp

    @property
    def gw_host(self) -> str:
        return self.sipp.host


@pytest.fixture(params=[HOST, OTHER, VETH])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Where]:
    """127.0.0.1, 127.0.0.43, or two hosts joined by a veth pair."""
    if request.param == VETH:
        with TwoHosts() as hosts:
            yield Where(hosts.desk.ip, hosts.desk,
                        Sipp(tmp_path / "sipp", host=hosts.pbx.ip, netns=hosts.pbx))
    else:
        yield Where(request.param, None, Sipp(tmp_path / "sipp", host=request.param))


async def _gateway_call(
    where: Where, scenario: str, drive: Callable[[Handset], Awaitable[Any]], *,
    keys: dict[str, Any] | None = None, extra: tuple[str, ...] = ("-rtp_echo",),
    before: Callable[[Network, Handset, Where], Awaitable[Any]] | None = None,
) -> tuple[Network, Any, Any]:
    net = Network()
    sipp = where.sipp
    phone = await net.add(P, handset_config("5550002", **(keys or {})), host=where.phone_host,
                          netns=where.phone_ns)
    assert phone.address[0] == where.phone_host
    if before is not None:
        await before(net, phone, where)
    gw_port = free_port()
    net.log.name((where.gw_host, gw_port), G)
    run = sipp.start(str(SCENARIOS / scenario), f"{where.phone_host}:{phone.address[1]}",
                     port=gw_port, service="5550002", timeout=20.0, extra=list(extra))
    driven = None
    try:
        sipp.wait_bound(run)
        driven = await drive(phone)
        await until(lambda: not run.running(), "SIPp to finish its scenario", timeout=25)
    finally:
        result = run.result()
        await net.close()
    return net, result, driven


def _check(figure: str, net: Network, result: Any, spec: FigureSpec | None = None,
           save: bool = True) -> None:
    """SIPp's scenario passed, and the ladder plays the seed's whole step table
    (``firmware.demo.seed``; step 4 of every gateway figure is the phone's 100 Trying)."""
    if save:
        save_ladder(figure, net.log, [G, P, "Gateway 2"])
    ladder = render_text(net.log.messages, [G, P, "Gateway 2"], f"Figure {figure}")
    assert result.failed == 0 and result.successful == 1, f"{result.output[-1500:]}\n{ladder}"
    mismatch = compare(net.log.messages, spec or SEED[figure])
    assert mismatch is None, f"{mismatch}\n{ladder}"


def test_b1_setup_and_disconnect(where: Where) -> None:
    async def drive(phone: Handset) -> float | None:
        await until(lambda: phone.states() == ["incoming"], "the phone to ring")
        assert phone.status().ringer
        phone.api.set_mock_tone(1000)
        phone.api.set_hook(True)
        await until(lambda: phone.states() == ["connected"], "connected")
        got = await heard(phone, 1000.0)
        phone.api.set_hook(False)
        return got

    net, result, hz = asyncio.run(_gateway_call(where, "gw_b1_setup_disconnect.xml", drive))
    _check("B-1", net, result)
    assert hz == pytest.approx(1000, abs=40)  # our own tone, echoed by the gateway's RTP


def test_b2_hold_and_resume(where: Where) -> None:
    async def drive(phone: Handset) -> dict[str, float | None]:
        got: dict[str, float | None] = {}
        await until(lambda: phone.states() == ["incoming"], "the phone to ring")
        phone.api.set_mock_tone(1000)
        phone.api.set_hook(True)
        await until(lambda: phone.states() == ["connected"], "connected")
        got["connected"] = await heard(phone, 1000.0)
        phone.api.press_softkey("hold")
        await until(lambda: phone.states() == ["holding"], "holding")
        await settle(0.6)
        got["held"] = await heard(phone, None)
        phone.api.press_softkey("resume")
        await until(lambda: phone.states() == ["connected"], "resumed")
        got["resumed"] = await heard(phone, 1000.0)
        phone.api.set_hook(False)
        return got

    net, result, hz = asyncio.run(_gateway_call(where, "gw_b2_hold.xml", drive))
    _check("B-2", net, result)
    assert hz["connected"] == pytest.approx(1000, abs=40)
    assert hz["held"] is None  # "No RTP packets are being sent" (step 13)
    assert hz["resumed"] == pytest.approx(1000, abs=40)


def test_b3_transfer_with_also(where: Where) -> None:
    sipp = where.sipp
    gw2_port = free_port()
    target = f"sip:5550003@{where.gw_host}:{gw2_port}"

    async def drive(phone: Handset) -> float | None:
        await until(lambda: phone.states() == ["incoming"], "the phone to ring")
        phone.api.set_mock_tone(1000)
        phone.api.set_hook(True)
        await until(lambda: phone.states() == ["connected"], "connected")
        got = await heard(phone, 1000.0)  # media flows before the transfer (step 11)
        phone.api.transfer(target)  # blind transfer, the 7960 way: BYE with Also
        return got

    async def main() -> tuple[Network, Any]:
        offset = wall_offset()
        net, result, hz = await _gateway_call(where, "gw_b3_transfer_also.xml", drive,
                                              keys={"transfer_method": "also"})
        assert hz == pytest.approx(1000, abs=40)  # our own tone, echoed by the gateway's RTP
        ladder = render_text(net.log.messages, [G, P], "Figure B-3")
        byes = [m for m in result.messages if m.first_line.startswith("BYE")]
        assert byes, f"the phone sent no BYE\n{result.output[-1500:]}\n{ladder}"
        also = re.search(r"^Also:\s*<?([^>\r\n]+)", byes[0].text, re.M | re.I)
        assert also is not None, f"BYE without Also:\n{byes[0].text}"
        assert also.group(1).startswith(target)
        # Steps 13-22: Gateway 1 calls the Also target (Gateway 2), both played by SIPp;
        # Gateway 2 answers 100 Trying first (step 15), as the seed draws it.
        gw2_run = sipp.start(str(SCENARIOS / "gw2_b3_answer.xml"), port=gw2_port, timeout=10.0)
        sipp.wait_bound(gw2_run)
        with gw2_run as gw2:
            second = sipp.run("uac", f"{where.gw_host}:{gw2_port}", port=result_port(result),
                              service="5550003", timeout=10.0)
            gw2.wait(10)
        add_sipp_leg(net.log, sipp_messages(newest_messages_log(sipp.workdir, "uac"), offset),
                     G, "Gateway 2")
        assert second.successful == 1
        return net, result

    net, result = asyncio.run(main())
    _check("B-3", net, result)


def result_port(result: Any) -> int:
    """Gateway 1's SIP port, read back from its INVITE's Via (the second leg reuses it)."""
    inv = next(m for m in result.messages if m.first_line.startswith("INVITE"))
    return int(re.search(r"^Via: SIP/2.0/\w+ [\d.]+:(\d+)", inv.text, re.M).group(1))


async def _dnd(net: Network, phone: Handset, where: Where) -> None:
    phone.api.press_softkey("dnd")  # the 7960's DND answers busy (dnd_response 486)


async def _in_a_call(net: Network, phone: Handset, where: Where) -> None:
    """Busy for real: talking to X (beside the phone), with call waiting off (call_waiting: 0)."""
    x = await net.add("X", handset_config("5550009"), host=where.phone_host, netns=where.phone_ns)
    phone.api.dial(x.uri())
    await until(lambda: x.states() == ["incoming"], "X to ring")
    x.api.set_hook(True)
    await until(lambda: phone.states() == ["connected"], "the phone in a call with X")


@pytest.mark.parametrize(("why", "before", "keys"), [
    ("dnd", _dnd, {}),
    ("in a call, no call waiting", _in_a_call, {"call_waiting": False}),
])
def test_b12_called_user_busy(where: Where, why: str, before: Any, keys: dict[str, Any]) -> None:
    async def drive(phone: Handset) -> None:
        return None

    net, result, _ = asyncio.run(_gateway_call(where, "gw_b12_busy.xml", drive, keys=keys,
                                               before=before))
    _check("B-12", net, result)


def test_b13_no_answer_gateway_cancels(where: Where) -> None:
    async def drive(phone: Handset) -> None:
        await until(lambda: phone.states() == ["incoming"], "the phone to ring")
        await until(lambda: not phone.status().ringer, "the ringer to stop after CANCEL", timeout=10)

    net, result, _ = asyncio.run(_gateway_call(where, "gw_b13_no_answer.xml", drive))
    _check("B-13", net, result)
    labels = [m.label for m in net.log.messages]
    assert "487 Request Terminated" in labels  # RFC 3261 §9.2, after the 200 to the CANCEL


@pytest.mark.parametrize(("as_400", "status"), [(False, "488"), (True, "400")])
def test_b14_client_error_no_common_codec(where: Where, as_400: bool, status: str) -> None:
    """No common codec: RFC 3261's 488, or (reject_488_as_400, as the seed's 7960) 400 with
    Warning 304; either way the gateway ACKs the client error (steps 5 and 8)."""

    async def drive(phone: Handset) -> None:
        return None

    net, result, _ = asyncio.run(_gateway_call(where, "gw_b14_error.xml", drive, extra=(),
                                               keys={"reject_488_as_400": as_400}))
    # step 5 of the seed is "4xx/5xx/6xx Failure": here the status this phone must send
    _check("B-14", net, result, SEED["B-14"].with_step(3, (P, G, f"{status} Failure")),
           save=not as_400)
    final = next(m for m in result.messages if m.first_line.startswith(f"SIP/2.0 {status}"))
    assert re.search(r"^Warning:\s*304 ", final.text, re.M), final.text
