"""A line with no proxy starts peer-to-peer, as a 7960 does: the whole firmware
(``python -m firmware run --config``, files shaped like the corpus's bench phone)
takes a SIPp gateway's direct call through Figure B-1 (setup, answer, the phone
hangs up), and dials a ``sip:user@host`` URI straight to a SIPp UAS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from peers import HOST, Sipp, free_port, wait_until
from runphone import RunPhone, get, status

pytestmark = pytest.mark.interop

SCENARIOS = Path(__file__).resolve().parents[1] / "flows" / "scenarios"
MAC = "0000DEADBEEF"


def _p2p_files(root: Path, sip_port: int) -> Path:
    root.mkdir()
    (root / "SIPDefault.cnf").write_text(
        '# a bench phone: no proxy, nothing registers\nproxy1_address: "" ; none\n'
        "proxy_register: 0\n"
        f"voip_control_port: {sip_port}\nstart_media_port: 27200\nend_media_port: 27300\n")
    (root / f"SIP{MAC}.cnf").write_text("line1_name: 5550002\nline1_shortname: Bench\n")
    return root


def _post(port: int, path: str, body: str) -> None:
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                 data=body.encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=2) as resp:
        resp.read()


def _calls(st: dict) -> list[str]:
    return [c["state"] for c in st["calls"]]


def test_b1_without_proxy_a_gateway_calls_the_phone_directly(
        tmp_path: Path, sipp: Sipp) -> None:
    sip_port, control = free_port(), free_port()
    conf = _p2p_files(tmp_path / "conf", sip_port)
    phone = RunPhone(tmp_path, ["--config", str(conf), "--mac", MAC], control, "p2p")
    try:
        st = phone.wait_for(lambda s: "Ready" in s["display"], "the idle screen")
        assert "Registering..." not in st["display"] and "(unreg)" not in st["display"][0]
        assert "set proxy1_address" not in phone.text()
        run = sipp.start(str(SCENARIOS / "gw_b1_setup_disconnect.xml"), f"{HOST}:{sip_port}",
                         service="5550002", timeout=20.0, extra=["-rtp_echo"])
        try:
            sipp.wait_bound(run)
            phone.wait_for(lambda s: _calls(s) == ["incoming"] and s["ringer"], "ringing")
            _post(control, "/api/hook", '{"state": "off"}')
            phone.wait_for(lambda s: _calls(s) == ["connected"], "connected")
            _post(control, "/api/hook", '{"state": "on"}')
            wait_until(lambda: not run.running(), 25, "SIPp to finish B-1")
        finally:
            result = run.result()
        assert result.failed == 0 and result.successful == 1, result.output[-1500:]
        sent = [m.text.strip().splitlines()[0] for m in result.messages
                if m.direction == "sent"]
        got = [m.text.strip().splitlines()[0] for m in result.messages
               if m.direction == "received"]
        assert sent[0].startswith("INVITE sip:5550002@") and sent[-1] == "SIP/2.0 200 OK"
        kinds = [g.split(" ", 2)[1] if g.startswith("SIP/") else g.split(" ")[0] for g in got]
        # a loaded machine may make SIPp resend the INVITE, and the phone then resends
        # its latest provisional response (RFC 3261 17.2.1): one step, told twice
        steps = [k for n, k in enumerate(kinds) if n == 0 or k != kinds[n - 1]]
        assert steps == ["100", "180", "200", "BYE"], got
        hist = get(control, "/api/history").decode()
        assert "5551000" in hist
    finally:
        assert phone.stop() == 0, phone.text()


def test_without_proxy_the_phone_dials_a_sip_uri_straight_to_the_host(
        tmp_path: Path, sipp: Sipp) -> None:
    sip_port, control, uas_port = free_port(), free_port(), free_port()
    conf = _p2p_files(tmp_path / "conf", sip_port)
    phone = RunPhone(tmp_path, ["--config", str(conf), "--mac", MAC], control, "p2pout")
    uas = sipp.uas(port=uas_port)
    try:
        phone.wait_for(lambda s: "Ready" in s["display"], "the idle screen")
        _post(control, "/api/dial", f'{{"target": "sip:bob@127.0.0.1:{uas_port}"}}')
        phone.wait_for(lambda s: _calls(s) == ["connected"], "connected to the UAS")
        _post(control, "/api/softkey", '{"name": "endcall"}')
        wait_until(lambda: not uas.running(), 20, "the UAS to finish its call")
        result = uas.result()
        assert result.successful == 1, result.output[-1500:]
        invite = next(m.text for m in result.messages
                      if m.direction == "received" and m.text.lstrip().startswith("INVITE"))
        assert re.search(rf"INVITE sip:bob@127\.0\.0\.1:{uas_port} SIP/2\.0", invite), invite
        assert st_ok(status(control))
    finally:
        uas.stop()
        assert phone.stop() == 0, phone.text()


def st_ok(st: dict | None) -> bool:
    return st is not None and st["hook"] == "on"
