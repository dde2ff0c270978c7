"""RFC 3263 with a real DNS server: NAPTR → SRV → A, and failover between SRV targets.

The phone runs as its own process on host ``desk``, whose
``/etc/netns/NAME/resolv.conf`` names dnsmasq on host ``pbx``: the phone
uses the system resolver configuration unchanged.  ``proxy1_address:
pbx.test`` without a port; dnsmasq publishes NAPTR ``SIP+D2U`` →
``_sip._udp.pbx.test`` with two SRV targets: priority 10 on a port that is
silent (a bound socket nobody reads) or refuses (nothing bound: ICMP port
unreachable), priority 20 on Kamailio.
"""

from __future__ import annotations

import contextlib
import re
import socket
from pathlib import Path

import pytest
from peers import Kamailio, free_port
from peers_dns import Dnsmasq
from peers_hosts import PhoneProcess, TwoHosts

pytestmark = pytest.mark.interop

USERS = {"5550001": "pw5550001"}


def _records(first_port: int, second_port: int) -> list[str]:
    return [
        "--naptr-record=pbx.test,10,10,S,SIP+D2U,,_sip._udp.pbx.test",
        f"--srv-host=_sip._udp.pbx.test,sip1.pbx.test,{first_port},10,0",
        f"--srv-host=_sip._udp.pbx.test,sip2.pbx.test,{second_port},20,0",
        "--host-record=sip1.pbx.test,198.18.43.1",
        "--host-record=sip2.pbx.test,198.18.43.1",
    ]


@pytest.mark.parametrize("first", ["silent", "refuses"])
def test_srv_failover_to_the_second_target(tmp_path: Path, first: str) -> None:
    """The first SRV target is silent (the REGISTER times out: T1 100 ms, Timer F 6.4 s)
    or refuses (ICMP: skipped at once); the second registers the phone, the REGISTER
    with credentials included."""
    with TwoHosts() as hosts:
        first_port = free_port()
        with Kamailio(tmp_path, users=USERS, host=hosts.pbx.ip, netns=hosts.pbx) as kam:
            silent = contextlib.ExitStack()
            if first == "silent":
                with hosts.pbx.entered():
                    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.bind((hosts.pbx.ip, first_port))
                silent.callback(sock.close)
            with silent, Dnsmasq(tmp_path, hosts.pbx.ip, _records(first_port, kam.port),
                                 netns=hosts.pbx) as dns:
                hosts.desk.resolv_conf(f"nameserver {hosts.pbx.ip}\n")
                cnf = ("line1_name: 5550001\nline1_password: pw5550001\n"
                       "proxy1_address: pbx.test\nproxy_register: 1\ntimer_t1: 100\n"
                       "timer_register_expires: 60\n")
                phone = PhoneProcess(tmp_path, hosts.desk, cnf)
                with phone.start():
                    phone.wait_status(lambda s: s["registered"], "registered via SRV",
                                      timeout=30)
                    log = phone.log_text()
                dns_log = dns.log_text()
            kam_log = kam.log_text()
    assert "query[NAPTR] pbx.test" in dns_log and "query[SRV] _sip._udp.pbx.test" in dns_log
    assert re.search(r"REGISTER sip:5550001@pbx\.test from 198\.18\.43\.2:", kam_log), kam_log
    assert f"198.18.43.1:{first_port} " in log  # it was tried first, and failed
    assert f"now using 198.18.43.1:{kam.port}" in log
    if first == "refuses":
        assert "unreachable" in log and "Timer F" not in log  # at once, not after Timer F
    else:
        assert "timed out" in log
