"""baresip as a real peer, in a private network namespace on 127.0.0.x.

Why a namespace: baresip writes the default interface's address into its SDP
even when told to listen on 127.0.0.1 (toolchain notes §5). In a namespace
whose veth carries 127.0.0.2/8 its SDP says 127.0.0.2, and no packet can
leave the namespace. Every process started here is stopped by PID; the
namespace is deleted on exit.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from peers_netns import Netns


def available() -> str | None:
    """Why the baresip interop cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root for ip netns"
    for tool in ("baresip", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    return None


@contextmanager
def netns(tag: str = "pimedia") -> Iterator[str]:
    """The name of a private namespace with 127.0.0.2 on its veth (tests/peers_netns.py)."""
    with Netns(tag=tag) as ns:
        yield ns.name


def tone_wav(path: Path, freq: float, seconds: float, level: float = 0.3) -> Path:
    n = int(8000 * seconds)
    x = (level * 32767 * np.sin(2 * math.pi * freq * np.arange(n) / 8000)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(x.tobytes())
    return path


def write_config(d: Path, sip_port: int, rtp: tuple[int, int], source: str, player: str,
                 codecs: str = "PCMU,PCMA") -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "config").write_text("\n".join([
        "poll_method epoll",
        f"sip_listen 127.0.0.1:{sip_port}",
        f"rtp_ports {rtp[0]}-{rtp[1]}",
        f"audio_player {player}",
        f"audio_source {source}",
        f"audio_alert {player}",
        "ausrc_format s16",
        "auplay_format s16",
        "audio_buffer 20-160",
        "jitter_buffer_delay 5-10",
        "rtcp_mux no",
        "rtp_stats yes",
        "statmode_default off",
        "module_path /usr/lib/baresip/modules",
        "module g711.so",
        "module g722.so",
        "module aufile.so",
        "module aubridge.so",
        "module_tmp account.so",
        "module_app menu.so",
        "",
    ]))
    (d / "accounts").write_text(
        f"<sip:alice@127.0.0.1:{sip_port}>;regint=0;answermode=auto;audio_codecs={codecs}\n")
    (d / "contacts").write_text("")


@contextmanager
def baresip(ns: str, d: Path, sip_port: int, rtp: tuple[int, int], source: str,
            player: str, codecs: str = "PCMU,PCMA") -> Iterator[subprocess.Popen[bytes]]:
    write_config(d, sip_port, rtp, source, player, codecs)
    log = open(d / "run.log", "wb")
    proc = subprocess.Popen(["ip", "netns", "exec", ns, "baresip", "-f", str(d)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if b"baresip is ready" in (d / "run.log").read_bytes() or proc.poll() is not None:
                break
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.terminate()  # a second SIGTERM forces baresip out
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def baresip_pid(proc: subprocess.Popen[bytes]) -> int:
    """`ip netns exec` execs baresip in place, so the Popen PID is baresip's."""
    return proc.pid
