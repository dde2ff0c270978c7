"""SIPp (sip-tester) runs and their logs, for the real-peer harness (tests/peers.py).

Why: sipp is the reference UA the call flows are checked against; every run
keeps its message trace and statistics so tests assert on what went over
the wire, not only on sipp's exit status.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from peers_ports import HOST, free_port, tcp_listening, udp_bound
from peers_proc import PeerProcess, require, wait_until

if TYPE_CHECKING:
    from peers_netns import Netns

SIPP_DIR = Path(__file__).with_name("peers") / "sipp"

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
        host = self.host
        check = (lambda: tcp_listening(port, host)) if tcp else (lambda: udp_bound(port, host))
        ctx = self.netns.entered() if self.netns else contextlib.nullcontext()
        with ctx:
            wait_until(lambda: not run.running() or check(), 5, "sipp to bind its port")
        if not run.running():
            raise AssertionError(f"sipp exited early:\n{run.log_text()[-2000:]}")

    def uac(self, target: str, *, calls: int = 1, **kw) -> SippResult:
        """SIPp's built-in UAC placing ``calls`` calls to ``target`` (host:port)."""
        return self.run("uac", target, calls=calls, **kw)
