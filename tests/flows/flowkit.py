"""Helpers for the Appendix B flow tests: run phones on the loop, peers beside them, merge logs.

The ladder of a flow that involves SIPp or Kamailio is assembled from two
sources: every message our phones sent or received (logged by the app, loop
clock) and, for legs our phones never see (proxy <-> redirect server), the
SIPp message log (wall clock, converted to the loop clock). Sorting by time
interleaves them; on loopback the order is exact to well under a millisecond.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from firmware.demo.ladder import LadderMessage, MessageLog, sip_label

SCENARIOS = Path(__file__).with_name("scenarios")

_SEP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$", re.M)
_HEAD = re.compile(r"^(UDP|TCP) message (sent|received)\b.*$", re.M)


def wall_offset() -> float:
    """time.time() - loop.time(): add to a loop time to get wall-clock seconds."""
    return time.time() - asyncio.get_running_loop().time()


def sipp_messages(log_text: str, offset: float) -> list[tuple[float, str, bytes]]:
    """(loop time, "sent"/"received", raw message) from a SIPp -trace_msg log."""
    out = []
    parts = _SEP.split(log_text)
    # parts: [preamble, ts1, chunk1, ts2, chunk2, ...]
    for ts, chunk in zip(parts[1::2], parts[2::2], strict=False):
        head = _HEAD.search(chunk)
        if head is None:
            continue
        wall = datetime.strptime(ts, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        body = chunk[head.end():].lstrip("\r\n").replace("\r\n", "\n").replace("\n", "\r\n")
        out.append((wall - offset, head.group(2), body.encode()))
    return out


def add_sipp_leg(log: MessageLog, messages: list[tuple[float, str, bytes]], me: str, peer: str,
                 snap: float = 0.1) -> None:
    """Add a SIPp instance's messages (all exchanged with ``peer``) to ``log``, then re-sort by time.

    SIPp stamps its log from a clock it reads once per loop turn, so an answer it
    sends at once can carry a stamp late: a millisecond on an idle machine, tens of
    them on a loaded one (seen: a redirect server's 302 stamped after the proxy had
    already followed it). The scenarios answer at once, so a message SIPp sent within
    ``snap`` seconds of one it received is placed right after that one.
    """
    last_in: float | None = None
    for at, direction, data in messages:
        if direction == "received":
            last_in = at
        elif last_in is not None and 0 <= at - last_in <= snap:
            at = last_in + 1e-6

        parsed = sip_label(data)
        if parsed is None:
            continue
        label, call_id, cseq = parsed
        src, dst = (me, peer) if direction == "sent" else (peer, me)
        log.messages.append(LadderMessage(at=at, src=src, dst=dst, label=label,
                                          call_id=call_id, cseq=cseq))
    log.messages.sort(key=lambda m: m.at)


def newest_messages_log(workdir: Path, stem: str) -> str:
    found = sorted(workdir.glob(f"**/{stem}*_messages.log"))
    return found[-1].read_text(errors="replace") if found else ""


class RedirectingProxy:
    """Kamailio from kamailio-redirect.cfg.tmpl: asks ``redirect`` about ``forwarded_user``."""

    def __init__(self, workdir: Path, *, redirect: tuple[str, int], forwarded_user: str,
                 ring_timeout: float = 2.0, host: str | None = None, netns: Any = None) -> None:
        """``host``: its address (default 127.0.0.1); ``netns``: a namespace to run in
        (tests/peers_hosts.py ``Host``)."""
        from peers import HOST, PeerProcess, free_port, require

        self.host = host or HOST
        self.netns = netns
        self.port = free_port()
        cfg = (Path(__file__).with_name("kamailio-redirect.cfg.tmpl").read_text()
               .replace("@@HOST@@", self.host).replace("@@PORT@@", str(self.port))
               .replace("@@REDIRECT@@", f"{redirect[0]}:{redirect[1]}")
               .replace("@@FORWARDED_USER@@", forwarded_user)
               .replace("@@RING_TIMEOUT_MS@@", str(int(ring_timeout * 1000))))
        work = Path(workdir) / f"kamailio-redirect-{self.port}"
        work.mkdir(parents=True, exist_ok=True)
        (work / "kamailio.cfg").write_text(cfg)
        argv = [require("kamailio"), "-f", str(work / "kamailio.cfg"), "-DD", "-E", "-Y", str(work),
                "-P", str(work / "kamailio.pid"), "-w", str(work), "-m", "32", "-M", "4"]
        if netns is not None:
            argv = netns.exec_argv(argv)
        self.proc = PeerProcess(argv, cwd=work, log_name="kamailio.log", grace=5.0)
        self.proc.netns = netns

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def __enter__(self) -> RedirectingProxy:
        from peers import sip_options_answered

        self.proc.start()
        self.proc.await_ready(lambda: sip_options_answered(self.port, self.host), 15,
                              "kamailio to answer OPTIONS")
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.stop()


def save_ladder(figure: str, log: MessageLog, order: list[str], title: str = "") -> None:
    """With $PIPHONE_LADDERS set, write the figure's ladder there (text and SVG) for the docs."""
    import os

    from firmware.demo.ladder import render_svg, render_text

    where = os.environ.get("PIPHONE_LADDERS")
    if not where:
        return
    out = Path(where)
    out.mkdir(parents=True, exist_ok=True)
    title = title or f"Figure {figure}"
    (out / f"{figure}.txt").write_text(render_text(log.messages, order, title))
    (out / f"{figure}.svg").write_text(render_svg(log.messages, order, title))
