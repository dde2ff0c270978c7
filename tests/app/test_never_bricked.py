"""Never bricked, against a real tftpd-hpa: whatever the server does (per-MAC file
missing at boot or at resync, no cache, server down) the process keeps running,
its control API answers, the LCD says what is wrong, it keeps retrying, and the
last good set survives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from peers import Kamailio, Tftpd, free_port
from runphone import RunPhone

pytestmark = pytest.mark.interop

MAC = "00112233AABB"
RETRY = ["--provision-retry", "0.5"]


@pytest.fixture
def kam(tmp_path: Path):  # noqa: ANN201
    with Kamailio(tmp_path, users={"1001": "secret1001"}) as k:
        yield k


def _default(kam: Kamailio, sip_port: int, resync: int = 0) -> bytes:
    return (f"proxy1_address: {kam.host}\nproxy1_port: {kam.port}\nproxy_register: 1\n"
            f"voip_control_port: {sip_port}\nstart_media_port: 27000\nend_media_port: 27100\n"
            f"resync_interval: {resync}\n").encode()


PER_MAC = b'line1_name: 1001\nline1_password: "secret1001" ; digest\n'


def _no_line(st: dict) -> bool:
    return "No line configured" in st["display"]


def _registered(st: dict) -> bool:
    return bool(st["lines"]) and st["lines"][0]["name"] == "1001" and st["registered"]


def _cache(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "state" / "last-good-config.json").read_text())


@pytest.mark.slow  # ~10 s: two provisioning rounds and a restart
def test_per_mac_missing_at_boot_without_cache_runs_line_less_then_picks_it_up(
        tmp_path: Path, kam: Kamailio) -> None:
    sip_port, control = free_port(), free_port()
    with Tftpd(tmp_path / "root") as tftpd:
        tftpd.serve("SIPDefault.cnf", _default(kam, sip_port))
        phone = RunPhone(tmp_path, ["--tftp", f"127.0.0.1:{tftpd.port}", "--mac", MAC,
                                    *RETRY], control, "nomac")
        try:
            st = phone.wait_for(_no_line, "the LCD to say no line is configured")
            assert not st["registered"] and phone.alive()
            assert not (tmp_path / "state" / "last-good-config.json").exists()
            phone.wait_log(f"SIP{MAC}.cnf is not on the server", "the reason in the log")
            # The per-MAC file appears: the retrying phone takes it and registers.
            tftpd.serve(f"SIP{MAC}.cnf", PER_MAC)
            st = phone.wait_for(_registered, "line 1 registered once the file is there")
            assert "No line configured" not in st["display"]
        finally:
            assert phone.stop() == 0, phone.text()
    assert f"SIP{MAC}.cnf" in _cache(tmp_path)["files"]


@pytest.mark.slow  # ~12 s: TFTP retries against a server that is down
def test_server_down_without_cache_keeps_the_api_up_and_retries(
        tmp_path: Path, kam: Kamailio) -> None:
    sip_port, control, tftp_port = free_port(), free_port(), free_port()
    phone = RunPhone(tmp_path, ["--tftp", f"127.0.0.1:{tftp_port}", "--mac", MAC, *RETRY],
                     control, "down")
    try:
        st = phone.wait_for(_no_line, "the line-less phone's control API")
        assert st["hook"] == "on" and phone.alive()
        with Tftpd(tmp_path / "root", port=tftp_port) as tftpd:  # the server comes back
            tftpd.serve("SIPDefault.cnf", _default(kam, sip_port))
            tftpd.serve(f"SIP{MAC}.cnf", PER_MAC)
            phone.wait_for(_registered, "line 1 registered once the server is back", 60)
    finally:
        assert phone.stop() == 0, phone.text()
    assert "no answer from" in phone.text()


@pytest.mark.slow  # ~12 s: resyncs every second against a set that loses its line
def test_per_mac_missing_at_resync_and_server_down_keep_the_last_good_set(
        tmp_path: Path, kam: Kamailio) -> None:
    sip_port, control = free_port(), free_port()
    tftpd = Tftpd(tmp_path / "root").start()
    try:
        tftpd.serve("SIPDefault.cnf", _default(kam, sip_port, resync=1))
        mac_file = tftpd.serve(f"SIP{MAC}.cnf", PER_MAC)
        phone = RunPhone(tmp_path, ["--tftp", f"127.0.0.1:{tftpd.port}", "--mac", MAC,
                                    *RETRY], control, "resync")
        try:
            phone.wait_for(_registered, "line 1 registered")
            good = _cache(tmp_path)
            mac_file.unlink()  # the per-MAC file goes away at the server
            phone.wait_log(f"resync kept the current configuration: SIP{MAC}.cnf is not on "
                           "the server", "the resync that finds no per-MAC file")
            tftpd.stop()  # then the whole server
            phone.wait_log("resync kept the current configuration: TFTP",
                           "a resync against the stopped server")
            st = phone.wait_for(_registered, "line 1 still registered")
            assert "No line configured" not in st["display"]
            assert _cache(tmp_path) == good  # the last good set survived both
        finally:
            assert phone.stop() == 0, phone.text()
    finally:
        tftpd.stop()


@pytest.mark.slow  # ~6 s: a resync, a failed restart, a restart with the previous set
def test_a_resynced_set_that_cannot_start_leaves_the_previous_one_running(
        tmp_path: Path) -> None:
    control, sip_port = free_port(), free_port()
    base = (f'proxy1_address: ""\nvoip_control_port: {sip_port}\nresync_interval: 1\n'
            "line1_name: 1001\n")
    with Tftpd(tmp_path / "root") as tftpd:
        tftpd.serve("SIPDefault.cnf", (base + f"control_bind: 127.0.0.1:{control}\n").encode())
        phone = RunPhone(tmp_path, ["--tftp", f"127.0.0.1:{tftpd.port}", "--mac", MAC],
                         control, "badnew", cli_control=False)  # the API where the file says
        try:
            phone.wait_for(lambda s: "Ready" in s["display"], "the phone on its first set")
            # the new set serves the API off loopback without control_token: cannot start
            tftpd.serve("SIPDefault.cnf", (base + f"control_bind: 0.0.0.0:{free_port()}\n"
                                           "phone_label: New\n").encode())
            phone.wait_log("keeping the previous", "the failed restart")
            st = phone.wait_for(lambda s: "Ready" in s["display"], "the previous set back")
            assert not st["display"][0].startswith("New")
        finally:
            assert phone.stop() == 0, phone.text()
