"""Boot and reaction figures of a phone process, beside baresip measured the same way.

Prints, for piphone (``python -m firmware run --hal mock`` from this tree, in the
interpreter running the bench), for the same tree installed as on a handset
(``handset``: a venv of the system's python3 with the wheel's files and the
``piphone`` console script, as scripts/install-pi.sh leaves it; bench/handset_venv.py;
``BENCH_HANDSET=0`` leaves it out, ``BENCH_HANDSET_PYTHON`` picks the interpreter)
and for baresip (a real softphone, when installed), taking turns, the median over a
few runs of:

* process start -> first REGISTER on the wire (a stub registrar on loopback
  answers 200 to every REGISTER);
* INVITE received -> 180 Ringing sent (measured at the caller's socket, so
  both include the same loopback hop);
* resident memory (VmRSS) of the registered, idle phone;
* CPU of the registered, idle phone over BENCH_IDLE_SECONDS (default 20 s), in % of a core;

and the ratio to baresip for each. Figures only, no thresholds: this
machine's speed is unknown, the ratio against a peer measured in the same run
is what carries meaning. Everything stays on 127.0.0.1.

``--instructions`` instead counts the instructions from start to the first REGISTER
under valgrind (a figure other jobs' load does not move).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import handset_venv  # noqa: E402 - beside this script
from handset_venv import system_python  # noqa: E402

HOST = "127.0.0.1"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
IDLE_WINDOW = float(os.environ.get("BENCH_IDLE_SECONDS", "20"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def datagrams(sock: socket.socket, stopped: Callable[[], bool],
              size: int = 65535) -> Iterator[tuple[bytes, Any]]:
    """What ``sock`` (which has a timeout) receives, until ``stopped()``: a timeout or a
    socket error (closed under us) only means looking at ``stopped`` again."""
    while not stopped():
        try:
            yield sock.recvfrom(size)
        except (TimeoutError, OSError):
            continue


def _header(msg: str, name: str) -> str:
    for line in msg.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            return v.strip()
    return ""


class StubRegistrar:
    """Answers every REGISTER with 200 OK; remembers when the first one arrived."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.first_register: float | None = None
        #: CPU seconds the watched process had used when its first REGISTER arrived
        #: (``/proc/PID/schedstat``: nanosecond resolution, and unlike wall time it
        #: does not grow when other jobs load the machine).
        self.watch_pid: int | None = None
        self.cpu_at_register: float | None = None
        self.registered = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        for data, addr in datagrams(self.sock, lambda: self._stop):
            at = time.perf_counter()
            msg = data.decode("utf-8", "replace")
            if not msg.startswith("REGISTER "):
                continue
            if self.first_register is None:
                self.first_register = at
                if self.watch_pid is not None:
                    self.cpu_at_register = sched_cpu(self.watch_pid)
            to = _header(msg, "to") or _header(msg, "t")
            lines = [
                "SIP/2.0 200 OK",
                *[ln for ln in msg.split("\r\n")[1:] if ln.lower().startswith(("via:", "v:"))],
                f"From: {_header(msg, 'from') or _header(msg, 'f')}",
                f"To: {to};tag=stub" if "tag=" not in to else f"To: {to}",
                f"Call-ID: {_header(msg, 'call-id') or _header(msg, 'i')}",
                f"CSeq: {_header(msg, 'cseq')}",
            ]
            contact = _header(msg, "contact") or _header(msg, "m")
            if contact and contact != "*":
                expires = _header(msg, "expires") or "600"
                lines.append(f"Contact: {contact};expires={expires}")
            lines.append("Content-Length: 0")
            try:
                self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), addr)
            except OSError:
                continue
            self.registered.set()

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()


def invite_to_ringing(target_port: int, user: str, n: int) -> float | None:
    """Seconds from sending an INVITE to receiving 180 (None: no 180 in 5 s); then CANCEL."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(5)
        me = s.getsockname()[1]
        sdp = (f"v=0\r\no=bench {n} {n} IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
               f"m=audio {40000 + 2 * n} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        common = (f"Via: SIP/2.0/UDP {HOST}:{me};branch=z9hG4bK-bench-{os.getpid()}-{n};rport\r\n"
                  f"Max-Forwards: 70\r\nFrom: <sip:bench@{HOST}:{me}>;tag=b{n}\r\n"
                  f"To: <sip:{user}@{HOST}:{target_port}>\r\nCall-ID: bench-{os.getpid()}-{n}@{HOST}\r\n")
        invite = (f"INVITE sip:{user}@{HOST}:{target_port} SIP/2.0\r\n{common}CSeq: 1 INVITE\r\n"
                  f"Contact: <sip:bench@{HOST}:{me}>\r\nContent-Type: application/sdp\r\n"
                  f"Content-Length: {len(sdp)}\r\n\r\n{sdp}")
        t0 = time.perf_counter()
        s.sendto(invite.encode(), (HOST, target_port))
        ringing = None
        deadline = t0 + 5
        while time.perf_counter() < deadline:
            try:
                data, _ = s.recvfrom(65535)
            except TimeoutError:
                break
            if data.startswith((b"SIP/2.0 180", b"SIP/2.0 183")):
                ringing = time.perf_counter() - t0
                break
        cancel = (f"CANCEL sip:{user}@{HOST}:{target_port} SIP/2.0\r\n{common}CSeq: 1 CANCEL\r\n"
                  "Content-Length: 0\r\n\r\n")
        s.sendto(cancel.encode(), (HOST, target_port))
        return ringing


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def sched_cpu(pid: int) -> float | None:
    """CPU seconds used by every thread of ``pid`` so far (``/proc/PID/schedstat``)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (``/proc/PID/stat`` fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pid: int, window: float) -> float | None:
    """Share of one core a registered, idle phone uses over ``window`` seconds."""
    start = cpu_seconds(pid)
    time.sleep(window)
    end = cpu_seconds(pid)
    if start is None or end is None:
        return None
    return (end - start) / window


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def measure(start: Callable[[int, int, Path], subprocess.Popen[bytes]], user: str,
            n: int) -> dict[str, float | None]:
    reg = StubRegistrar()
    sip_port = free_port()
    work = Path(tempfile.mkdtemp(prefix="bench-boot-"))
    t0 = time.perf_counter()
    proc = start(sip_port, reg.port, work)
    reg.watch_pid = proc.pid
    try:
        reg.registered.wait(20)
        boot = (reg.first_register - t0) if reg.first_register is not None else None
        time.sleep(0.5)  # settle: let start-up allocations finish before reading RSS
        rss = rss_kib(proc.pid)
        idle = idle_cpu(proc.pid, IDLE_WINDOW)
        ring = invite_to_ringing(sip_port, user, n)
    finally:
        _stop(proc)
        reg.close()
        shutil.rmtree(work, ignore_errors=True)
    return {"boot": boot, "boot_cpu": reg.cpu_at_register, "ring": ring,
            "rss": float(rss) if rss else None, "idle": idle}


def _phone_cnf(sip_port: int, reg_port: int, work: Path) -> Path:
    cnf = work / "SIP00112233AABB.cnf"
    cnf.write_text(f"line1_name: 5550002\nproxy1_address: {HOST}\nproxy1_port: {reg_port}\n"
                   f"proxy_register: 1\ntimer_register_expires: 600\nvoip_control_port: {sip_port}\n"
                   "start_media_port: 28000\nend_media_port: 28100\n")
    return cnf


def start_piphone(sip_port: int, reg_port: int, work: Path) -> subprocess.Popen[bytes]:
    """This tree, in the interpreter running the bench (the dev venv)."""
    cnf = _phone_cnf(sip_port, reg_port, work)
    return subprocess.Popen([sys.executable, "-m", "firmware", "run", "--hal", "mock", "--config",
                             str(cnf)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_handset(script: Path, sip_port: int, reg_port: int,
                  work: Path) -> subprocess.Popen[bytes]:
    """This tree installed as on a handset (bench/handset_venv.py), by its console script."""
    cnf = _phone_cnf(sip_port, reg_port, work)
    return subprocess.Popen([str(script), "run", "--hal", "mock", "--config", str(cnf)], cwd=work,
                            env=handset_venv.clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_baresip(sip_port: int, reg_port: int, work: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("baresip")
    assert binary is not None
    (work / "config").write_text("\n".join([
        "poll_method\tepoll", f"sip_listen\t{HOST}:{sip_port}", "rtp_ports\t28200-28300",
        "audio_player\taubridge,bench", "audio_source\taubridge,bench", "audio_alert\taubridge,bench",
        "module_path\t/usr/lib/baresip/modules", "module\tg711.so", "module\taubridge.so",
        "module_tmp\taccount.so", "",
    ]))
    (work / "accounts").write_text(
        f"<sip:5550002@{HOST}:{reg_port}>;regint=600;audio_codecs=PCMU;answermode=manual\n")
    (work / "contacts").write_text("")
    return subprocess.Popen([binary, "-f", str(work)], cwd=work, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _median(rows: list[dict[str, float | None]], key: str) -> float | None:
    vals = [r[key] for r in rows if r[key] is not None]
    return statistics.median(vals) if vals else None  # type: ignore[type-var]


def precompile() -> None:
    """Byte-compile the firmware as ``pip install`` does on a handset, and compile its
    dataclass methods as scripts/install-pi.sh does (firmware/app/codecache.py): a boot
    then reads .pyc files and that table instead of compiling (this tree runs with
    PYTHONDONTWRITEBYTECODE, so nothing would be cached otherwise)."""
    import compileall

    for pkg in ("firmware", "hal"):
        compileall.compile_dir(str(ROOT / pkg), quiet=1)
    # and, as scripts/install-pi.sh does after pip, the dataclass code table
    subprocess.run([sys.executable, "-m", "firmware.app.codecache"], cwd=ROOT, check=True,
                   capture_output=True)


def until_register(config: str) -> int:
    """Run the phone in this process until its first REGISTER is handed to the socket
    (for ``--instructions``: the count then covers exactly start -> first REGISTER)."""
    import asyncio.selector_events as se
    import runpy

    class Sent(BaseException):
        pass

    send = se._SelectorDatagramTransport.sendto

    def sendto(self: Any, data: bytes, addr: Any = None) -> None:
        if data[:9] == b"REGISTER ":
            raise Sent
        send(self, data, addr)

    se._SelectorDatagramTransport.sendto = sendto  # type: ignore[method-assign]
    sys.argv = ["piphone", "run", "--hal", "mock", "--config", config]
    try:
        runpy.run_module("firmware", run_name="__main__")
    except Sent:
        return 0
    return 1


def _count(python: str, cnf: Path, runs: int, cwd: Path, env: dict[str, str] | None) -> list[int]:
    counts = []
    for _ in range(runs):
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python,
             str(Path(__file__).resolve()), "--until-register", str(cnf)],
            cwd=cwd, env=env, capture_output=True, text=True, check=False)
        found = [ln for ln in proc.stderr.splitlines() if "Collected :" in ln]
        if proc.returncode != 0 or not found:
            raise RuntimeError(proc.stderr[-2000:])
        counts.append(int(found[-1].split(":")[-1].strip()))
    return counts


def instructions(runs: int = 3) -> int:
    """``--instructions``: user-space instructions from process start to the first
    REGISTER under valgrind's callgrind, median of ``runs``, for this tree in the dev
    venv and for the handset install (bench/handset_venv.py): unlike milliseconds, the
    same whatever else the machine runs (baresip is not counted: its 6 ms are not the
    question, our import work is)."""
    precompile()
    with tempfile.TemporaryDirectory() as tmp:
        cnf = Path(tmp) / "SIP00112233AABB.cnf"
        cnf.write_text(f"line1_name: 5550002\nproxy1_address: {HOST}\nproxy1_port: {free_port()}\n"
                       f"proxy_register: 1\nvoip_control_port: {free_port()}\n")
        peers = [("piphone", sys.executable, ROOT, None)]
        handset_python = os.environ.get("BENCH_HANDSET_PYTHON") or system_python()
        if handset_python and os.environ.get("BENCH_HANDSET", "1") != "0":
            script = handset_venv.build(ROOT, Path(tmp) / "venv", handset_python)
            peers.append(("handset", str(script.parent / "python"), Path(tmp),
                          handset_venv.clean_env()))
        for name, python, cwd, env in peers:
            try:
                counts = _count(python, cnf, runs, cwd, env)
            except RuntimeError as exc:
                print(exc)
                return 1
            print(f"bench_boot --instructions: {name} start -> first REGISTER "
                  f"{statistics.median(counts) / 1e9:.3f} G instructions (median of {runs}: "
                  f"{', '.join(f'{c / 1e9:.3f}' for c in counts)})")
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--until-register"]:
        return until_register(sys.argv[2])
    if sys.argv[1:2] == ["--instructions"]:
        return instructions()
    precompile()
    with tempfile.TemporaryDirectory(prefix="bench-handset-") as tmp:
        peers: dict[str, Callable[[int, int, Path], subprocess.Popen[bytes]]] = {
            "piphone": start_piphone}
        about = [f"piphone = this tree in {sys.executable} (Python {sys.version.split()[0]})"]
        handset_python = os.environ.get("BENCH_HANDSET_PYTHON") or system_python()
        if handset_python and os.environ.get("BENCH_HANDSET", "1") != "0":
            script = handset_venv.build(ROOT, Path(tmp) / "venv", handset_python)
            peers["handset"] = functools.partial(start_handset, script)
            about.append(f"handset = installed as scripts/install-pi.sh does, {handset_python} "
                         "(bench/handset_venv.py)")
        if shutil.which("baresip"):
            peers["baresip"] = start_baresip
        rows: dict[str, list[dict[str, float | None]]] = {name: [] for name in peers}
        for i in range(RUNS):  # peers in turn: a change of load meets them all
            for name, start in peers.items():
                rows[name].append(measure(start, "5550002", i))
    results = {name: {k: _median(r, k) for k in ("boot", "boot_cpu", "ring", "rss", "idle")}
               for name, r in rows.items()}
    units = {"boot": ("start -> first REGISTER", 1000, "ms"),
             "boot_cpu": ("CPU until that REGISTER", 1000, "ms"),
             "ring": ("INVITE -> 180 Ringing", 1000, "ms"),
             "rss": ("RSS idle, registered", 1 / 1024, "MiB"),
             "idle": ("CPU idle, registered", 100, "% core")}
    print(f"bench_boot: median of {RUNS} runs per peer, loopback; " + "; ".join(about))
    for key, (label, scale, unit) in units.items():
        cells = []
        for name in peers:
            v = results[name][key]
            cells.append(f"{name} {v * scale:8.2f} {unit}" if v is not None else f"{name}      n/a")
        ratios = []
        b = results.get("baresip", {}).get(key)
        for name in peers:
            p = results[name][key]
            if name != "baresip" and p is not None and b:
                ratios.append(f"{name}/baresip = {p / b:.2f}")
        print(f"  {label:24s} " + "   ".join(cells) + ("   " + ", ".join(ratios) if ratios else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
