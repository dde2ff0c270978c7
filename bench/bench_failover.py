"""SRV failover time: our phone vs baresip, on the same DNS, the first target silent.

Why a bench and not a test: the figure is a duration, and the suite has no
timed assertions. The setup is the one tests/net/test_net_dns.py uses, with
default timers (T1 500 ms, so a silent server costs Timer F, 32 s):

* two network namespaces joined by a veth pair (tests/peers_hosts.py):
  ``pbx`` (198.18.43.1) runs dnsmasq and Kamailio, ``desk`` (198.18.43.2)
  runs the UA with ``/etc/netns/desk/resolv.conf`` naming dnsmasq;
* dnsmasq publishes ``_sip._udp.pbx.test``: priority 10 on a port where a
  socket is bound and never read (silent), priority 20 on Kamailio;
* each UA is started with the account ``5550001@pbx.test`` (no port, so
  RFC 3263 SRV) and timed from start until its REGISTER is answered 200.

Run as root: ``.venv/bin/python bench/bench_failover.py`` (about 2.5 min).
Prints both times and their ratio (ours / baresip).
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from peers import Kamailio, free_port, require  # noqa: E402
from peers_dns import Dnsmasq  # noqa: E402
from peers_hosts import PhoneProcess, TwoHosts  # noqa: E402
from peers_proc import PeerProcess  # noqa: E402

USERS = {"5550001": "pw5550001"}
LIMIT = 150.0


def _records(silent: int, kamailio: int) -> list[str]:
    return [
        f"--srv-host=_sip._udp.pbx.test,sip1.pbx.test,{silent},10,0",
        f"--srv-host=_sip._udp.pbx.test,sip2.pbx.test,{kamailio},20,0",
        "--host-record=sip1.pbx.test,198.18.43.1",
        "--host-record=sip2.pbx.test,198.18.43.1",
    ]


def _ours(work: Path, hosts: TwoHosts) -> float:
    cnf = ("line1_name: 5550001\nline1_password: pw5550001\nproxy1_address: pbx.test\n"
           "proxy_register: 1\ntimer_register_expires: 600\n")
    phone = PhoneProcess(work, hosts.desk, cnf)
    t0 = time.monotonic()
    with phone.start():
        end = t0 + LIMIT
        while time.monotonic() < end:
            if phone.status()["registered"]:
                return time.monotonic() - t0
            time.sleep(0.1)
    return float("nan")


def _baresip(work: Path, hosts: TwoHosts) -> float:
    conf = work / "baresip"
    conf.mkdir(parents=True, exist_ok=True)
    port = free_port(span=2)
    (conf / "config").write_text("\n".join([
        "poll_method\tepoll", f"sip_listen\t{hosts.desk.ip}:{port}",
        "audio_player\taubridge,b", "audio_source\taubridge,b", "audio_alert\taubridge,b",
        "module_path\t/usr/lib/baresip/modules", "module\tg711.so", "module\taubridge.so",
        "module_tmp\taccount.so", "module_app\tmenu.so", "",
    ]))
    (conf / "accounts").write_text("<sip:5550001@pbx.test>;auth_pass=pw5550001;regint=600\n")
    (conf / "contacts").write_text("")
    proc = PeerProcess(hosts.desk.exec_argv([require("baresip"), "-f", str(conf)]), cwd=conf,
                       log_name="baresip.log", grace=2.0)
    t0 = time.monotonic()
    with proc.start():
        end = t0 + LIMIT
        while time.monotonic() < end:
            if "200 OK" in proc.log_text():
                return time.monotonic() - t0
            time.sleep(0.1)
    return float("nan")


def main() -> int:
    with TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = {}
        for name, run in (("piphone", _ours), ("baresip", _baresip)):
            with TwoHosts() as hosts, Kamailio(work / name, users=USERS, host=hosts.pbx.ip,
                                               netns=hosts.pbx) as kam:
                with hosts.pbx.entered():
                    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                silent_port = free_port()
                silent.bind((hosts.pbx.ip, silent_port))
                try:
                    with Dnsmasq(work / name, hosts.pbx.ip, _records(silent_port, kam.port),
                                 netns=hosts.pbx):
                        hosts.desk.resolv_conf(f"nameserver {hosts.pbx.ip}\n")
                        results[name] = run(work / name, hosts)
                finally:
                    silent.close()
            print(f"{name:8s} registered after {results[name]:6.1f} s "
                  "(first SRV target silent)", flush=True)
        print(f"ratio piphone/baresip: {results['piphone'] / results['baresip']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
