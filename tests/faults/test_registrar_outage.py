"""The registrar dies and returns: the phones move to the backup and come back.

Why: a PBX restart or crash is the most common fault a desk phone meets. With
``proxy_backup`` set (the 7960 key), both phones must re-register with the
backup at once (the dead proxy's port answers ICMP unreachable) and register
with the primary again once it returns (after ``proxy_retry_interval``).
Real Kamailio on both sides.

A call placed while on the backup reaches the callee through it: a request
for the proxy that goes to the backup names the backup in its Request-URI
(``firmware.net.wire.retarget_request_uri``), as the 7960 does with
``proxy_backup``; otherwise the backup relays it to the dead primary (408).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from peers import Kamailio, free_port

from firmware.demo.network import Handset, Network, handset_config, heard, until

USERS = {"5550001": "pw5550001", "5550002": "pw5550002"}


async def _outage(tmp_path: Path, primary_port: int, during: object = None) -> dict[str, object]:
    net = Network()
    primary = Kamailio(tmp_path / "p1", users=USERS, port=primary_port, min_expires=4)
    primary.start()
    out: dict[str, object] = {}
    try:
        with Kamailio(tmp_path / "b", users=USERS, min_expires=4) as backup:
            phones = []
            for name, number in (("A", "5550001"), ("B", "5550002")):
                phones.append(await net.add(name, handset_config(
                    number, proxy=primary.address, password=USERS[number],
                    proxy_backup=backup.host, proxy_backup_port=backup.port,
                    proxy_retry_interval=3, timer_register_expires=4)))
            a, b = phones
            await until(lambda: a.status().registered and b.status().registered,
                        "both registered with the primary", timeout=10)
            primary.stop()  # the registrar dies
            await until(lambda: "REGISTER sip:5550001@" in backup.log_text()
                        and "REGISTER sip:5550002@" in backup.log_text(),
                        "both phones at the backup", timeout=20)
            await until(lambda: a.status().registered and b.status().registered,
                        "both registered with the backup", timeout=15)
            if during is not None:
                out["tone"] = await _call(a, b)
            primary = Kamailio(tmp_path / "p2", users=USERS, port=primary_port, min_expires=4)
            primary.start()  # the registrar returns
            await until(lambda: "REGISTER sip:5550001@" in primary.log_text()
                        and "REGISTER sip:5550002@" in primary.log_text(),
                        "both phones back at the primary", timeout=20)
            await until(lambda: a.status().registered and b.status().registered, "registered again")
            out["back"] = True
    finally:
        await net.close()
        primary.stop()
    return out


async def _call(a: Handset, b: Handset) -> float | None:
    a.api.set_mock_tone(700)
    a.api.dial("5550002")
    await until(lambda: b.states() == ["incoming"], "B rings through the backup", timeout=10)
    b.api.set_hook(True)
    await until(lambda: a.states() == ["connected"] and b.states() == ["connected"],
                "connected through the backup", timeout=10)
    tone = await heard(b, 700.0)
    a.api.press_softkey("endcall")
    await until(lambda: not a.calls() and not b.calls(), "hung up")
    return tone


def test_registrar_dies_phones_move_to_the_backup_and_return(tmp_path: Path) -> None:
    out = asyncio.run(_outage(tmp_path, free_port()))
    assert out["back"] is True


def test_call_through_the_backup_while_the_registrar_is_down(tmp_path: Path) -> None:
    out = asyncio.run(_outage(tmp_path, free_port(), during=True))
    tone = out["tone"]
    assert tone is not None and abs(float(tone) - 700) < 30  # type: ignore[arg-type]
