"""A phone in a call, flooded: memory growth, audio gap, call kept, OPTIONS after.

Why: a desk phone on the internet gets INVITE floods and garbage storms from
scanners; on a Pi Zero 2 W (512 MB) unbounded per-request state is an OOM
kill, and a busy loop is a hole in the call's audio. This bench puts the
phone (``python -m firmware run --hal mock``) and baresip, in turn, in a call
with a small Python UA, then:

* ``invite``: SIPp's built-in UAC sends new INVITEs (a new Call-ID each) at
  ``--rate`` per second, ``--count`` in all, at the phone under test;
* ``storm``: a socket sends ``--storm-count`` malformed datagrams at
  ``--storm-rate`` per second.

For each it prints the RSS growth (peak during the flood minus before), the
longest gap between RTP packets the phone sent us meanwhile, whether the call
survived (RTP still flowing after, no BYE) and whether an OPTIONS is answered
after; ours, baresip's and the ratio, measured in the same run. No
thresholds here: the targets (issue 16: RSS growth <= 10 MB, gap < 0.3 s) are
read off the printout. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_boot import (  # noqa: E402
    HOST,
    ROOT,
    StubRegistrar,
    _header,
    _stop,
    datagrams,
    free_port,
    rss_kib,
)

RTP_PT_PCMU = 0


class CallerUA:
    """Calls the phone under test, answers nothing else, streams PCMU both ways.

    It records when each RTP packet from the phone arrives, so the longest gap
    during a flood is the hole the phone left in the call's audio.
    """

    def __init__(self, target_port: int, user: str) -> None:
        self.target = (HOST, target_port)
        self.user = user
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((HOST, 0))
        self.sip.settimeout(0.2)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((HOST, 0))
        self.rtp.settimeout(0.2)
        self.arrivals: list[float] = []
        self.remote_rtp: tuple[str, int] | None = None
        self.answered = threading.Event()
        self.bye = threading.Event()
        self.ringing = threading.Event()
        self._stop = False
        self._threads = [threading.Thread(target=f, daemon=True)
                         for f in (self._sip_loop, self._rtp_rx, self._rtp_tx)]
        self.call_id = f"flood-bench-{os.getpid()}-{time.monotonic_ns()}@{HOST}"

    def start(self) -> None:
        for t in self._threads:
            t.start()
        me = self.sip.getsockname()[1]
        rtp = self.rtp.getsockname()[1]
        sdp = (f"v=0\r\no=bench 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
               f"m=audio {rtp} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
               "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
        self._common = (f"Via: SIP/2.0/UDP {HOST}:{me};branch=z9hG4bK-fb-{time.monotonic_ns()};rport\r\n"
                        f"Max-Forwards: 70\r\nFrom: <sip:bench@{HOST}:{me}>;tag=fb1\r\n"
                        f"To: <sip:{self.user}@{HOST}:{self.target[1]}>\r\nCall-ID: {self.call_id}\r\n")
        invite = (f"INVITE sip:{self.user}@{HOST}:{self.target[1]} SIP/2.0\r\n{self._common}"
                  f"CSeq: 1 INVITE\r\nContact: <sip:bench@{HOST}:{me}>\r\n"
                  f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}")
        self.sip.sendto(invite.encode(), self.target)

    def _sip_loop(self) -> None:
        for data, addr in datagrams(self.sip, lambda: self._stop):
            msg = data.decode("utf-8", "replace")
            if msg.startswith(("SIP/2.0 180", "SIP/2.0 183")):
                self.ringing.set()
            elif msg.startswith("SIP/2.0 200") and "INVITE" in _header(msg, "cseq"):
                body = msg.split("\r\n\r\n", 1)[1]
                port = next((int(ln.split()[1]) for ln in body.split("\r\n") if ln.startswith("m=audio")), 0)
                self.remote_rtp = (HOST, port)
                to = _header(msg, "to") or _header(msg, "t")
                ack = (f"ACK sip:{self.user}@{HOST}:{self.target[1]} SIP/2.0\r\n"
                       + self._common.replace(f"To: <sip:{self.user}@{HOST}:{self.target[1]}>", f"To: {to}")
                       .replace("branch=z9hG4bK-fb-", "branch=z9hG4bK-fback-")
                       + "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
                self.sip.sendto(ack.encode(), addr)
                self.answered.set()
            elif msg.startswith("BYE "):
                self.bye.set()
            elif msg.startswith(("OPTIONS ", "INFO ", "NOTIFY ")):
                lines = ["SIP/2.0 200 OK"] + [ln for ln in msg.split("\r\n")[1:]
                                              if ln.lower().split(":")[0] in ("via", "v", "from", "f", "to", "t",
                                                                                "call-id", "i", "cseq")]
                self.sip.sendto(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode(), addr)

    def _rtp_rx(self) -> None:
        for data, _ in datagrams(self.rtp, lambda: self._stop, 2048):
            if len(data) >= 12 and (data[1] & 0x7F) == RTP_PT_PCMU:
                self.arrivals.append(time.perf_counter())

    def _rtp_tx(self) -> None:
        seq, ts, ssrc = 1, 0, 0x1234ABCD
        t0 = time.perf_counter()
        k = 0
        while not self._stop:
            k += 1
            delay = t0 + k * 0.02 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if self.remote_rtp is None:
                continue
            hdr = bytes([0x80, RTP_PT_PCMU]) + seq.to_bytes(2, "big") + ts.to_bytes(4, "big") + ssrc.to_bytes(4, "big")
            try:
                self.rtp.sendto(hdr + b"\xff" * 160, self.remote_rtp)
            except OSError:
                pass
            seq = (seq + 1) & 0xFFFF
            ts = (ts + 160) & 0xFFFFFFFF

    def longest_gap(self, start: float, end: float) -> float | None:
        times = [t for t in self.arrivals if start <= t <= end]
        if len(times) < 2:
            return None
        return max(b - a for a, b in zip(times, times[1:], strict=False))

    def close(self) -> None:
        self._stop = True
        for t in self._threads:
            t.join(1)
        self.sip.close()
        self.rtp.close()


def options_answered(port: int, wait: float = 10.0) -> bool:
    """An OPTIONS from a fresh socket gets a final response (retried like Timer E)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(0.5)
        me = s.getsockname()[1]
        msg = (f"OPTIONS sip:probe@{HOST}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {HOST}:{me};branch=z9hG4bK-fbopt-{time.monotonic_ns()};rport\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:probe@{HOST}:{me}>;tag=p1\r\nTo: <sip:probe@{HOST}:{port}>\r\n"
               f"Call-ID: fb-options-{time.monotonic_ns()}@{HOST}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        end = time.monotonic() + wait
        while time.monotonic() < end:
            s.sendto(msg.encode(), (HOST, port))
            try:
                data, _ = s.recvfrom(65535)
            except TimeoutError:
                continue
            if data.startswith(b"SIP/2.0 ") and not data.startswith(b"SIP/2.0 1"):
                return True
        return False


def start_piphone(sip_port: int, reg_port: int, work: Path, control_port: int) -> subprocess.Popen[bytes]:
    cnf = work / "SIP00112233AABB.cnf"
    cnf.write_text(f"line1_name: 5550002\nproxy1_address: {HOST}\nproxy1_port: {reg_port}\n"
                   f"proxy_register: 1\ntimer_register_expires: 600\nvoip_control_port: {sip_port}\n"
                   "start_media_port: 28400\nend_media_port: 28500\n")
    return subprocess.Popen([sys.executable, "-m", "firmware", "run", "--hal", "mock", "--config",
                             str(cnf), "--control", f"{HOST}:{control_port}"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_baresip(sip_port: int, reg_port: int, work: Path, control_port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("baresip")
    assert binary is not None
    tone = work / "tone.wav"
    _write_silence(tone, 120)
    (work / "config").write_text("\n".join([
        "poll_method\tepoll", f"sip_listen\t{HOST}:{sip_port}", "rtp_ports\t28600-28700",
        "audio_player\taubridge,bench", f"audio_source\taufile,{tone}", "audio_alert\taubridge,bench",
        "module_path\t/usr/lib/baresip/modules", "module\tg711.so", "module\taubridge.so",
        "module\taufile.so", "module_tmp\taccount.so", "",
    ]))
    (work / "accounts").write_text(
        f"<sip:5550002@{HOST}:{reg_port}>;regint=600;audio_codecs=PCMU;answermode=auto\n")
    (work / "contacts").write_text("")
    return subprocess.Popen([binary, "-f", str(work)], cwd=work, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _write_silence(path: Path, seconds: int) -> None:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000 * seconds)


def _post(port: int, path: str, body: dict[str, object]) -> None:
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req, timeout=5).read()


def invite_flood(port: int, rate: int, count: int, work: Path, sources: int = 1) -> None:
    """SIPp's built-in UAC; with ``sources`` > 1, that many SIPp processes, each from its own
    loopback address (127.0.0.10, .11, ...), share the rate: a distributed flood that a
    per-source limit alone cannot stop."""
    sipp = shutil.which("sipp")
    assert sipp is not None, "sipp (apt: sip-tester) is needed"
    procs = []
    for i in range(sources):
        host = HOST if sources == 1 else f"127.0.0.{10 + i}"
        n = count // sources
        procs.append(subprocess.Popen(
            [sipp, "-sn", "uac", "-r", str(max(1, rate // sources)), "-m", str(n), "-l", str(n),
             "-i", host, "-p", str(free_port()), "-nostdin", "-timeout", f"{count // rate + 20}s",
             "-recv_timeout", "2000", "-max_socket", "64", f"{HOST}:{port}"],
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for p in procs:
        p.wait()


def garbage_storm(port: int, rate: int, count: int) -> None:
    junk = [b"\x00\xff" * 40, b"INVITE sip:x SIP/2.0\r\nVia: broken\r\n\r\n", os.urandom(300),
            b"SIP/2.0 200 OK\r\nCSeq: x\r\n\r\n", b"OPTIONS\r\n\r\n"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        t0 = time.perf_counter()
        for i in range(count):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            s.sendto(junk[i % len(junk)], (HOST, port))


def measure(name: str, start: Callable[..., subprocess.Popen[bytes]], flood: Callable[[int, Path], None]) -> dict:
    reg = StubRegistrar()
    sip_port, control_port = free_port(), free_port()
    work = Path(tempfile.mkdtemp(prefix=f"bench-flood-{name}-"))
    proc = start(sip_port, reg.port, work, control_port)
    ua = CallerUA(sip_port, "5550002")
    result: dict = {"rss_growth_kib": None, "gap_s": None, "call_kept": False, "options_after": False}
    try:
        reg.registered.wait(20)
        ua.start()
        if name == "piphone":
            ua.ringing.wait(5)
            _post(control_port, "/api/hook", {"state": "off"})
        if not ua.answered.wait(10):
            result["error"] = "call not answered"
            return result
        time.sleep(2.0)
        before = rss_kib(proc.pid) or 0
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(proc.pid) or 0)
                time.sleep(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        flood(sip_port, work)
        t1 = time.perf_counter()
        time.sleep(2.0)
        done.set()
        sampler.join(1)
        result["rss_growth_kib"] = peak[0] - before
        result["gap_s"] = ua.longest_gap(t0, t1 + 1.0)
        recent = [t for t in ua.arrivals if t > time.perf_counter() - 1.0]
        result["call_kept"] = bool(recent) and not ua.bye.is_set() and proc.poll() is None
        result["options_after"] = options_answered(sip_port)
        result["flood_s"] = t1 - t0
    finally:
        ua.close()
        _stop(proc)
        reg.close()
        shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=["invite", "storm", "both"], default="both")
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--count", type=int, default=15000)
    ap.add_argument("--storm-rate", type=int, default=2000)
    ap.add_argument("--storm-count", type=int, default=60000)
    ap.add_argument("--sources", type=int, default=1,
                    help="INVITE flood from this many loopback addresses at once")
    ap.add_argument("--peers", default="piphone,baresip")
    args = ap.parse_args()
    starts = {"piphone": start_piphone, "baresip": start_baresip}
    peers = [p for p in args.peers.split(",") if p in starts and (p != "baresip" or shutil.which("baresip"))]
    floods: dict[str, Callable[[int, Path], None]] = {}
    if args.mode in ("invite", "both"):
        floods[f"INVITE flood {args.count} at {args.rate}/s from {args.sources} source(s)"] = \
            lambda port, work: invite_flood(port, args.rate, args.count, work, args.sources)
    if args.mode in ("storm", "both"):
        floods[f"garbage storm {args.storm_count} at {args.storm_rate}/s"] = \
            lambda port, _work: garbage_storm(port, args.storm_rate, args.storm_count)
    for label, flood in floods.items():
        rows = {p: measure(p, starts[p], flood) for p in peers}
        print(f"bench_flood: {label}, a call running, loopback")
        for p, r in rows.items():
            growth = r["rss_growth_kib"]
            gap = r["gap_s"]
            print(f"  {p:8s} RSS growth {growth / 1024 if growth is not None else float('nan'):7.1f} MiB"
                  f"   longest RTP gap {gap if gap is not None else float('nan'):6.3f} s"
                  f"   call kept {'yes' if r['call_kept'] else 'NO'}"
                  f"   OPTIONS after {'yes' if r['options_after'] else 'NO'}"
                  + (f"   ({r['error']})" if r.get("error") else ""))
        if "piphone" in rows and "baresip" in rows:
            a, b = rows["piphone"], rows["baresip"]
            if a["gap_s"] and b["gap_s"]:
                print(f"  ratio piphone/baresip: longest gap {a['gap_s'] / b['gap_s']:.2f}")
            if a["rss_growth_kib"] is not None and b["rss_growth_kib"]:
                print(f"  ratio piphone/baresip: RSS growth {a['rss_growth_kib'] / b['rss_growth_kib']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
