"""Real SIP peers for tests: SIPp, Kamailio, baresip and in.tftpd on loopback.

Why: interop is only believable against the programs a phone meets in the
field, so tests start the real binaries (Debian packages sip-tester,
kamailio, baresip, tftpd-hpa) on 127.0.0.1, on ports picked here, and always
stop them (SIGTERM, then SIGKILL after a grace period) in ``finally`` blocks
or fixture teardown.  A missing binary skips the test with the reason;
CI installs them (scripts/install-deps.sh), so there they always run.

Usage, as plain helpers (context managers) or through the fixtures at the end::

    with Kamailio(tmp_path, users={"1001": "pw1001"}) as kam:
        ...  # kam.port, kam.address, kam.log_text()

    sipp = Sipp(tmp_path)
    with sipp.uas(port=p, calls=1) as uas:
        result = sipp.uac(f"127.0.0.1:{p}", calls=1)
    assert result.successful == 1 and uas.result().successful == 1

tests/ is on sys.path under pytest (rootdir conftest, no __init__.py), so a
test does ``from peers import Sipp, Kamailio``; the fixtures at the end
(``sipp``, ``kamailio``, ``tftpd``, ``netns``) are registered by
tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import io
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HOST = "127.0.0.1"
PEERS_DIR = Path(__file__).with_name("peers")
SIPP_DIR = PEERS_DIR / "sipp"

# ---------------------------------------------------------------------------
# ports


_handed_out: set[int] = set()


def _port_is_free(port: int, host: str = HOST) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(span: int = 1, host: str = HOST) -> int:
    """A port P such that P..P+span-1 are free for both UDP and TCP on ``host``.

    Ports handed out earlier in this process are never handed out again, so two
    peers started by one test cannot collide while neither has bound yet.
    """
    for _ in range(200):
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind((host, 0))
        base = probe.getsockname()[1]
        probe.close()
        if base + span > 65535:
            continue
        ports = range(base, base + span)
        if any(p in _handed_out for p in ports):
            continue
        if all(_port_is_free(p, host) for p in ports):
            _handed_out.update(ports)
            return base
    raise RuntimeError("no free port found on loopback")


def free_ports(n: int, span: int = 1) -> list[int]:
    return [free_port(span) for _ in range(n)]


# ---------------------------------------------------------------------------
# processes


def require(binary: str) -> str:
    """The binary's path, or skip the test saying what to install."""
    path = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/sbin/{binary}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        pytest.skip(f"{binary} not installed (scripts/install-deps.sh installs it)")
    return path


class PeerProcess:
    """One child process with its output in a log file; stopped politely, then firmly."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        log_name: str,
        env: dict[str, str] | None = None,
        stop_signals: Sequence[int] = (signal.SIGTERM,),
        grace: float = 3.0,
    ) -> None:
        self.argv = list(argv)
        self.cwd = Path(cwd)
        self.log_path = self.cwd / log_name
        self.env = env
        self.stop_signals = tuple(stop_signals)
        self.grace = grace
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PeerProcess:
        self.cwd.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the child
        try:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> int | None:
        """Send each stop signal in turn (waiting ``grace`` after each), then SIGKILL."""
        if self.proc is None:
            return None
        for sig in self.stop_signals:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(self.grace)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait(10)
        return self.proc.returncode

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> PeerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.02
) -> None:
    """Poll ``predicate`` until true; fail the test naming ``what`` on timeout.

    A readiness wait for a peer starting up, not a timing assertion.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def tcp_listening(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def sip_options_answered(port: int, host: str = HOST, timeout: float = 0.2) -> bool:
    """Send one OPTIONS over UDP and report whether any SIP response came back."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        s.settimeout(timeout)
        lport = s.getsockname()[1]
        tag = uuid.uuid4().hex[:10]
        msg = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{lport};branch=z9hG4bK{tag}\r\n"
            f"From: <sip:probe@{host}:{lport}>;tag={tag}\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: probe-{tag}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        s.sendto(msg, (host, port))
        try:
            data = s.recv(65535)
        except OSError:
            return False
        return data.startswith(b"SIP/2.0 ")


# ---------------------------------------------------------------------------
# SIPp


@dataclass(frozen=True, kw_only=True)
class SippMessage:
    """One entry of sipp's -trace_msg log."""

    direction: str  # "sent" or "received"
    transport: str  # "UDP", "TCP"
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def call_id(self) -> str:
        found = re.search(r"^(?:Call-ID|i)\s*:\s*(\S+)", self.text, re.M | re.I)
        return found.group(1) if found else ""

    @property
    def label(self) -> str:
        """``"INVITE"`` for a request, ``"200"`` for a response."""
        first = self.first_line
        if first.startswith("SIP/2.0 "):
            return first.split()[1]
        return first.split(" ", 1)[0]


@dataclass(frozen=True, kw_only=True)
class SippResult:
    returncode: int | None
    successful: int
    failed: int
    messages: tuple[SippMessage, ...]
    output: str
    stats: dict[str, str] = field(default_factory=dict)

    def labels(self, direction: str | None = None, call_id: str | None = None) -> list[str]:
        """Request methods / status codes in log order, optionally of one direction or call."""
        return [
            m.label
            for m in self.messages
            if direction in (None, m.direction) and call_id in (None, m.call_id)
        ]

    def call_ids(self) -> list[str]:
        """Call-IDs in order of first appearance."""
        return list(dict.fromkeys(m.call_id for m in self.messages if m.call_id))


_SEPARATOR = re.compile(r"^-{20,} \d{4}-\d\d-\d\d [\d:.]+\s*$", re.M)
_HEADLINE = re.compile(r"^(UDP|TCP|TLS|SCTP) message (sent|received)\b.*$", re.M)


def parse_sipp_messages(log: str) -> tuple[SippMessage, ...]:
    """Split sipp's ``*_messages.log`` into messages (direction, transport, text)."""
    out: list[SippMessage] = []
    for chunk in _SEPARATOR.split(log):
        head = _HEADLINE.search(chunk)
        if head is None:
            continue
        body = chunk[head.end() :].replace("\r\n", "\n").strip("\n")
        # a TCP read can hold several messages; keep them as sipp logged them
        out.append(SippMessage(direction=head.group(2), transport=head.group(1), text=body))
    return tuple(out)


def parse_sipp_stats(csv_text: str) -> dict[str, str]:
    """The last row of sipp's -trace_stat CSV as {column: value}."""
    rows = list(csv.reader(io.StringIO(csv_text), delimiter=";"))
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))


class SippRun(PeerProcess):
    """A sipp process started in its own directory (sipp writes its logs into cwd)."""

    def __init__(self, argv: Sequence[str], *, cwd: Path, name: str, port: int) -> None:
        # SIGUSR1 asks sipp to finish current calls and exit; SIGTERM/SIGKILL follow.
        super().__init__(
            argv,
            cwd=cwd,
            log_name=f"{name}.out",
            stop_signals=(signal.SIGUSR1, signal.SIGTERM),
            grace=2.0,
        )
        self.name = name
        self.port = port

    def start(self) -> SippRun:
        super().start()
        return self

    def __enter__(self) -> SippRun:
        return self

    def _one(self, pattern: str) -> str:
        found = sorted(self.cwd.glob(pattern))
        return found[-1].read_text(errors="replace") if found else ""

    def result(self) -> SippResult:
        """Statistics and message log; call after the process ended (or stop() it)."""
        if self.running():
            self.stop()
        stats = parse_sipp_stats(self._one("*_.csv"))
        return SippResult(
            returncode=None if self.proc is None else self.proc.returncode,
            successful=int(stats.get("SuccessfulCall(C)", "0") or 0),
            failed=int(stats.get("FailedCall(C)", "0") or 0),
            messages=parse_sipp_messages(self._one("*_messages.log")),
            output=self.log_text() + self._one("*_errors.log"),
            stats=stats,
        )


class Sipp:
    """Runs SIPp (sip-tester): built-in scenarios (-sn uac/uas) or XML files (-sf).

    Every run gets a fresh directory under ``workdir``; ``-trace_msg`` and
    ``-trace_stat`` are always on so results and message sequences can be
    asserted.  ``transport`` is sipp's -t value: ``u1`` (UDP) or ``t1`` (TCP).
    """

    _seq = itertools.count(1)

    def __init__(self, workdir: Path, host: str = HOST, netns: Netns | None = None) -> None:
        self.binary = require("sipp")
        self.workdir = Path(workdir)
        self.host = host
        self.netns = netns

    def _argv(
        self,
        scenario: str,
        target: str | None,
        *,
        port: int,
        calls: int,
        transport: str,
        service: str | None,
        timeout: float,
        extra: Sequence[str],
    ) -> list[str]:
        argv = [self.binary]
        if target:
            argv.append(target)
        if scenario in ("uac", "uas", "regexp", "branchc", "branchs"):
            argv += ["-sn", scenario]
        else:
            path = Path(scenario)
            if not path.is_absolute():
                path = SIPP_DIR / scenario
            argv += ["-sf", str(path)]
        argv += [
            "-i", self.host, "-p", str(port),
            "-mi", self.host, "-mp", str(free_port(span=4)),
            "-t", transport,
            "-m", str(calls),
            "-nostdin",
            "-trace_msg", "-trace_stat", "-trace_err",
            "-timeout", f"{timeout}s", "-timeout_error",
            "-max_recv_loops", "1000",
        ]  # fmt: skip
        if service:
            argv += ["-s", service]
        argv += list(extra)
        return self.netns.exec_argv(argv) if self.netns else argv

    def start(
        self,
        scenario: str,
        target: str | None = None,
        *,
        port: int | None = None,
        calls: int = 1,
        transport: str = "u1",
        service: str | None = None,
        timeout: float = 20.0,
        extra: Sequence[str] = (),
    ) -> SippRun:
        """Start sipp in the background; use as a context manager so it is stopped."""
        port = port or free_port()
        name = f"{Path(scenario).stem}-{next(self._seq)}"
        argv = self._argv(
            scenario, target, port=port, calls=calls, transport=transport,
            service=service, timeout=timeout, extra=extra,
        )  # fmt: skip
        return SippRun(argv, cwd=self.workdir / name, name=name, port=port).start()

    def run(self, scenario: str, target: str | None = None, **kw) -> SippResult:
        """Run sipp to completion (bounded by its own -timeout plus a margin)."""
        timeout = kw.get("timeout", 20.0)
        run = self.start(scenario, target, **kw)
        try:
            run.wait(timeout + 10)
        except subprocess.TimeoutExpired:
            pass
        finally:
            run.stop()
        return run.result()

    def uas(self, *, port: int | None = None, calls: int = 1, **kw) -> SippRun:
        """SIPp's built-in UAS answering ``calls`` calls, then exiting."""
        run = self.start("uas", port=port, calls=calls, **kw)
        self.wait_bound(run, tcp=kw.get("transport", "u1").startswith("t"))
        return run

    def wait_bound(self, run: SippRun, *, tcp: bool = False) -> None:
        """Wait until a background sipp has bound its SIP port (it then accepts traffic)."""
        port = run.port
        check = (lambda: tcp_listening(port)) if tcp else (lambda: _udp_bound(port))
        ctx = self.netns.entered() if self.netns else contextlib.nullcontext()
        with ctx:
            wait_until(lambda: not run.running() or check(), 5, "sipp to bind its port")
        if not run.running():
            raise AssertionError(f"sipp exited early:\n{run.log_text()[-2000:]}")

    def uac(self, target: str, *, calls: int = 1, **kw) -> SippResult:
        """SIPp's built-in UAC placing ``calls`` calls to ``target`` (host:port)."""
        return self.run("uac", target, calls=calls, **kw)


def _udp_bound(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
        return False


# ---------------------------------------------------------------------------
# Kamailio


class Kamailio(PeerProcess):
    """Kamailio registrar/proxy from ``tests/peers/kamailio.cfg.tmpl``.

    Listens on UDP and TCP on the same port.  ``users`` maps a user part to a
    digest password (REGISTER gets 401, INVITE from a local user gets 407);
    ``trusted`` lists source IPs exempt from the INVITE challenge.  The
    readiness check is an OPTIONS the proxy answers itself.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        users: dict[str, str] | None = None,
        trusted: Sequence[str] = (),
        port: int | None = None,
        ring_timeout: float = 30.0,
        min_expires: int = 10,
        max_expires: int = 3600,
        default_expires: int = 3600,
        nonce_expire: int = 300,
        algorithm: str = "MD5",
        debug: int = 2,
    ) -> None:
        binary = require("kamailio")
        self.host = HOST
        self.port = port or free_port()
        self.users = dict(users or {})
        workdir = Path(workdir) / f"kamailio-{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "kamailio.cfg"
        self.config_path.write_text(
            render_kamailio_config(
                port=self.port, users=self.users, trusted=trusted,
                ring_timeout_ms=int(ring_timeout * 1000), min_expires=min_expires,
                max_expires=max_expires, default_expires=default_expires,
                nonce_expire=nonce_expire, algorithm=algorithm, debug=debug,
            )
        )  # fmt: skip
        argv = [
            binary, "-f", str(self.config_path), "-DD", "-E",
            "-Y", str(workdir), "-P", str(workdir / "kamailio.pid"),
            "-w", str(workdir), "-m", "32", "-M", "4",
        ]  # fmt: skip
        super().__init__(argv, cwd=workdir, log_name="kamailio.log", grace=5.0)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> Kamailio:
        super().start()
        try:
            wait_until(
                lambda: not self.running() or sip_options_answered(self.port),
                15, "kamailio to answer OPTIONS",
            )  # fmt: skip
            if not self.running():
                raise AssertionError(f"kamailio exited:\n{self.log_text()[-3000:]}")
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> Kamailio:
        return self.start() if self.proc is None else self


def render_kamailio_config(
    *,
    port: int,
    users: dict[str, str],
    trusted: Sequence[str] = (),
    ring_timeout_ms: int = 30000,
    min_expires: int = 10,
    max_expires: int = 3600,
    default_expires: int = 3600,
    nonce_expire: int = 300,
    algorithm: str = "MD5",
    debug: int = 2,
    host: str = HOST,
) -> str:
    safe = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")
    for value in [*users, *users.values(), *trusted]:
        if not safe.match(value):
            raise ValueError(f"unsafe value for kamailio config: {value!r}")
    if algorithm not in ("MD5", "SHA-256"):
        raise ValueError(algorithm)
    user_lines = "\n".join(f'    $sht(users=>{u}) = "{p}";' for u, p in users.items())
    trusted_lines = "\n".join(f"    $sht(trusted=>{ip}) = 1;" for ip in trusted)
    text = (PEERS_DIR / "kamailio.cfg.tmpl").read_text()
    values = {
        "HOST": host,
        "PORT": str(port),
        "DEBUG": str(debug),
        "RING_TIMEOUT_MS": str(ring_timeout_ms),
        "MIN_EXPIRES": str(min_expires),
        "MAX_EXPIRES": str(max_expires),
        "DEFAULT_EXPIRES": str(default_expires),
        "NONCE_EXPIRE": str(nonce_expire),
        "ALGORITHM": algorithm,
        "USERS": user_lines or "    $var(none) = 0;",
        "TRUSTED": trusted_lines,
    }
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    leftover = re.search(r"@@\w+@@", text)
    if leftover:
        raise ValueError(f"unrendered placeholder {leftover.group(0)}")
    return text


# ---------------------------------------------------------------------------
# in.tftpd


class Tftpd(PeerProcess):
    """tftpd-hpa in the foreground (-L) serving ``root`` on 127.0.0.1:port.

    in.tftpd drops to user ``nobody``, so served files must be world-readable;
    ``serve()`` writes them that way.
    """

    def __init__(self, root: Path, *, port: int | None = None, extra: Sequence[str] = ()) -> None:
        binary = require("in.tftpd")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.port = port or free_port()
        argv = [binary, "-L", "-a", f"{HOST}:{self.port}", "-s", str(self.root), *extra]
        super().__init__(argv, cwd=self.root.parent, log_name=f"tftpd-{self.port}.log")

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    def serve(self, name: str, data: bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o644)
        return path

    def start(self) -> Tftpd:
        super().start()
        wait_until(lambda: not self.running() or _udp_bound(self.port), 5, "in.tftpd to bind")
        if not self.running():
            raise AssertionError(f"in.tftpd exited:\n{self.log_text()}")
        return self

    def __enter__(self) -> Tftpd:
        return self.start() if self.proc is None else self


# ---------------------------------------------------------------------------
# network namespaces and baresip

_CLONE_NEWNET = 0x40000000


class Netns:
    """A private network namespace with ``lo`` up and a veth end holding 127.0.0.x/8.

    Why: baresip puts its default interface's address in SDP even when it
    listens on 127.0.0.1; inside a namespace whose only other interface carries
    127.0.0.x, its SDP says 127.0.0.x and all media stays on loopback.  The
    name is unique per use and the namespace is always deleted.

    Everything that talks to a peer inside must run inside too: prefix argv
    with ``exec_argv()``, or create sockets in-process within ``entered()``
    (setns on the calling thread; sockets keep the namespace they were made in).
    """

    def __init__(self, addr: str = "127.0.0.2") -> None:
        self.ip = require("ip")
        if os.geteuid() != 0:
            pytest.skip("network namespaces need root")
        self.name = f"piphone-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.addr = addr
        self.created = False

    def _ip(self, *args: str) -> None:
        subprocess.run([self.ip, *args], check=True, capture_output=True, timeout=10)

    def create(self) -> Netns:
        self._ip("netns", "add", self.name)
        self.created = True
        try:
            self._ip("-n", self.name, "link", "set", "lo", "up")
            self._ip("-n", self.name, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
            self._ip("-n", self.name, "addr", "add", f"{self.addr}/8", "dev", "v0")
            self._ip("-n", self.name, "link", "set", "v0", "up")
            self._ip("-n", self.name, "link", "set", "v1", "up")
        except BaseException:
            self.delete()
            raise
        return self

    def delete(self) -> None:
        if self.created:
            subprocess.run([self.ip, "netns", "del", self.name], capture_output=True, timeout=10)
            self.created = False

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """argv run inside the namespace; ``ip netns exec`` execs, so the PID is the program's."""
        return [self.ip, "netns", "exec", self.name, *argv]

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Switch this thread into the namespace (sockets and children made here live there)."""
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if libc.setns(target, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into test namespace failed")
            try:
                yield
            finally:
                if libc.setns(own, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back failed")
        finally:
            os.close(target)
            os.close(own)

    def __enter__(self) -> Netns:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.delete()


class Baresip(PeerProcess):
    """A headless baresip 1.0 (no sound card) inside a ``Netns``.

    Audio: source ``aufile`` (an 8 kHz mono wav, written here as a 440 Hz tone),
    player ``aubridge`` (ALSA ``null`` would busy-spin a core); with ``echo``
    the source is the player's aubridge, so the caller hears itself back
    after baresip decoded and re-encoded it.  It binds TCP
    on port+1 as well, so ports are taken two apart.  Stop it before the
    registrar: a registered baresip waits to un-REGISTER, and a second SIGTERM
    makes it give up.
    """

    def __init__(
        self,
        workdir: Path,
        netns: Netns,
        *,
        user: str = "alice",
        registrar: str | None = None,
        password: str | None = None,
        auto_answer: bool = True,
        regint: int = 0,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        echo: bool = False,
    ) -> None:
        binary = require("baresip")
        self.netns = netns
        self.port = port or free_port(span=2)
        self.rtp_lo = free_port(span=20)
        self.ctrl_port = free_port()
        self.user = user
        conf = Path(workdir) / f"baresip-{user}-{self.port}"
        conf.mkdir(parents=True, exist_ok=True)
        tone = conf / "tone.wav"
        _write_tone(tone, seconds=30)
        domain = registrar or f"{HOST}:{self.port}"
        params = [f"regint={regint}", "audio_codecs=PCMU"]
        if auto_answer:
            params.append("answermode=auto")
        if password:
            params.append(f"auth_pass={password}")
        account = f"<sip:{user}@{domain}>;" + ";".join(params)
        (conf / "config").write_text(
            "\n".join(
                [
                    "poll_method\tepoll",
                    f"sip_listen\t{HOST}:{self.port}",
                    f"rtp_ports\t{self.rtp_lo}-{self.rtp_lo + 19}",
                    f"audio_player\taubridge,{user}",
                    # echo: an aubridge source named like the player returns what it heard
                    f"audio_source\taubridge,{user}" if echo else f"audio_source\taufile,{tone}",
                    f"audio_alert\taubridge,{user}",
                    # A ringback played on the echo's aubridge device stalls its source.
                    f"ringback_disabled\t{'yes' if echo else 'no'}",
                    "ausrc_format\ts16",
                    "auplay_format\ts16",
                    "audio_buffer\t20-160",
                    "jitter_buffer_delay\t5-10",
                    "rtcp_mux\tno",
                    "rtp_stats\tyes",
                    "statmode_default\toff",
                    "module_path\t/usr/lib/baresip/modules",
                    "module\tg711.so",
                    "module\taufile.so",
                    "module\taubridge.so",
                    "module_tmp\taccount.so",
                    "module_app\tmenu.so",
                    "module_app\tctrl_tcp.so",
                    f"ctrl_tcp_listen\t{HOST}:{self.ctrl_port}",
                    "",
                ]
            )
        )
        (conf / "accounts").write_text(account + "\n")
        (conf / "contacts").write_text("")
        self.conf_dir = conf
        argv = netns.exec_argv([binary, "-f", str(conf), *extra_args])
        super().__init__(
            argv, cwd=conf, log_name="baresip.log",
            stop_signals=(signal.SIGTERM, signal.SIGTERM), grace=2.0,
        )  # fmt: skip

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{HOST}:{self.port}"

    def start(self) -> Baresip:
        super().start()
        try:
            with self.netns.entered():
                wait_until(
                    lambda: not self.running() or tcp_listening(self.ctrl_port),
                    10, "baresip ctrl_tcp",
                )  # fmt: skip
        except BaseException:
            self.stop()
            raise
        if not self.running():
            raise AssertionError(f"baresip exited:\n{self.log_text()[-3000:]}")
        return self

    def __enter__(self) -> Baresip:
        return self.start() if self.proc is None else self


def _write_tone(path: Path, seconds: int, freq: float = 440.0) -> None:
    import math
    import struct
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        period = [
            struct.pack("<h", int(6000 * math.sin(2 * math.pi * freq * i / 8000)))
            for i in range(8000)
        ]
        one_second = b"".join(period)
        w.writeframes(one_second * seconds)


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture
def sipp(tmp_path: Path) -> Sipp:
    return Sipp(tmp_path / "sipp")


@pytest.fixture
def kamailio_users() -> dict[str, str]:
    return {"1001": "secret1001", "1002": "secret1002", "1003": "secret1003"}


@pytest.fixture
def kamailio(tmp_path: Path, kamailio_users: dict[str, str]) -> Iterator[Kamailio]:
    kam = Kamailio(tmp_path, users=kamailio_users)
    with kam:
        yield kam


@pytest.fixture
def tftpd(tmp_path: Path) -> Iterator[Tftpd]:
    with Tftpd(tmp_path / "tftproot") as server:
        yield server


@pytest.fixture
def netns() -> Iterator[Netns]:
    with Netns() as ns:
        yield ns
