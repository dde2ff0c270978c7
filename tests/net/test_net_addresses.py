"""The phone on addresses other than 127.0.0.1: another loopback address, and a second host.

Why: with the mock HAL the phone used to bind 127.0.0.1 only, so a gateway on
127.0.0.43 (or a PBX on the LAN) could not reach it. Now it listens on every
interface (or ``bind_address``) and announces the address that routes towards
the proxy; these tests register and call it that way, through Kamailio.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from peers import Kamailio, Sipp
from peers_hosts import PhoneProcess, TwoHosts
from peers_proc import wait_until

from firmware.demo.network import Network, handset_config, heard, until

pytestmark = pytest.mark.interop

OTHER = "127.0.0.43"
USERS = {"5550001": "pw5550001", "5550002": "pw5550002"}


def test_phones_register_and_call_on_127_0_0_43(tmp_path: Path) -> None:
    """A listens on 127.0.0.43 (``bind_address``), B on every interface; Kamailio on
    127.0.0.43. Both register; each calls the other and hears the other's tone."""

    async def main() -> str:
        async with Network() as net:
            with Kamailio(tmp_path, users=USERS, host=OTHER) as kam:
                a = await net.add("A", handset_config("5550001", proxy=kam.address,
                                                      password=USERS["5550001"],
                                                      bind_address=OTHER), host="")
                b = await net.add("B", handset_config("5550002", proxy=kam.address,
                                                      password=USERS["5550002"]), host="")
                await until(lambda: a.status().registered and b.status().registered,
                            "both registered", timeout=10)
                for caller, callee, number in ((b, a, "5550001"), (a, b, "5550002")):
                    caller.api.dial(number)
                    await until(lambda c=callee: c.states() == ["incoming"], "ringing")
                    callee.api.set_hook(True)
                    await until(lambda c=caller, d=callee: c.states() == ["connected"]
                                and d.states() == ["connected"], "connected")
                    caller.api.set_mock_tone(700)
                    callee.api.set_mock_tone(1100)
                    assert await heard(callee, 700) == pytest.approx(700, rel=0.05)
                    assert await heard(caller, 1100) == pytest.approx(1100, rel=0.05)
                    caller.api.press_softkey("endcall")
                    await until(lambda c=callee: all(s == "ended" for s in c.states()), "idle")
                    callee.api.set_hook(False)
                    await asyncio.sleep(0.2)
                assert a.address[0] == OTHER  # Via/Contact/SDP name the bound address
                assert b.address[0] not in ("0.0.0.0", "")  # the one routing to Kamailio
                log = kam.log_text()
                await net.close()  # un-REGISTER while Kamailio still answers
        return log

    log = asyncio.run(main())
    assert re.search(rf"REGISTER sip:5550001@\S+ from {re.escape(OTHER)}:", log), log[-2000:]
    assert re.search(r"REGISTER sip:5550002@\S+ from 127\.0\.0\.1:", log), log[-2000:]


def _cnf(proxy: tuple[str, int], number: str, **extra: object) -> str:
    keys = {
        "line1_name": number, "line1_password": USERS[number],
        "proxy1_address": proxy[0], "proxy1_port": proxy[1], "proxy_register": 1,
        "timer_register_expires": 60, "start_media_port": 21000, "end_media_port": 21100,
        **extra,
    }
    return "".join(f"{k}: {v}\n" for k, v in keys.items())


def test_phone_across_a_veth_pair_registers_is_called_and_follows_a_new_address(
        tmp_path: Path) -> None:
    """Kamailio and SIPp on host ``pbx``, the phone (its own process, listening on every
    interface) on host ``desk``: it registers from 198.18.43.2 and SIPp's call reaches it;
    then desk's address changes to .3 and the phone re-registers from there without a
    restart, and is called at the new address."""
    with TwoHosts() as hosts:
        with Kamailio(tmp_path, users=USERS, host=hosts.pbx.ip, netns=hosts.pbx) as kam:
            sipp = Sipp(tmp_path / "sipp", host=hosts.pbx.ip, netns=hosts.pbx)
            phone = PhoneProcess(tmp_path, hosts.desk, _cnf(kam.address, "5550001"))
            with phone.start():
                phone.wait_status(lambda s: s["registered"], "registered")
                assert re.search(rf"REGISTER sip:5550001@\S+ from {hosts.desk.ip}:",
                                 kam.log_text())
                _called_through(sipp, kam, phone)
                # the desk host gets a new address; the old one goes away
                hosts.desk.run("addr", "del", f"{hosts.desk.ip}/24", "dev", hosts.desk.dev)
                hosts.desk.run("addr", "add", f"{hosts.desk.ip[:-1]}3/24", "dev", hosts.desk.dev)
                wait_until(lambda: re.search(r"REGISTER sip:5550001@\S+ from 198\.18\.43\.3:",
                                             kam.log_text()) is not None,
                           15, "a REGISTER from the new address")
                phone.wait_status(lambda s: s["registered"], "registered again")
                _called_through(sipp, kam, phone)


def _called_through(sipp: Sipp, kam: Kamailio, phone: PhoneProcess) -> None:
    run = sipp.start("uac_via_proxy.xml", f"{kam.host}:{kam.port}", service="5550001",
                     timeout=15)
    with run:
        phone.wait_status(lambda s: any(c["state"] == "incoming" for c in s["calls"]),
                          "the phone to ring")
        phone.api("POST", "/api/hook", {"state": "off"})
        run.wait(20)
    result = run.result()
    assert result.successful == 1, result.output[-2000:]
    phone.wait_status(lambda s: all(c["state"] == "ended" for c in s["calls"]), "call over")
    phone.api("POST", "/api/hook", {"state": "on"})
