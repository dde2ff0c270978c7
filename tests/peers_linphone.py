"""linphonec (Debian's linphone-cli), headless, for the interop matrix.

Why: a third independent SIP phone implementation (liblinphone/belle-sip).
Headless it needs two things found the hard way: a writable
``$HOME/.local/share/linphone`` (without it the core's database cannot be
opened, the core never starts, and every INVITE is answered 503 "core
global state is not on"), and ``soundcard use files`` (no sound card: it
plays a wav file as its microphone and records what it hears to another).
It is driven by typing commands on its stdin, as a person at its prompt.
Its GRUU support is turned off (see the config below).
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from peers_baresip import _write_tone
from peers_netns import Netns
from peers_ports import HOST, free_port
from peers_proc import PeerProcess, require, wait_until


class Linphonec(PeerProcess):
    """linphonec inside ``netns``, registering ``user`` at ``registrar`` (host:port)."""

    stdin = subprocess.PIPE

    def __init__(self, workdir: Path, netns: Netns, *, user: str, registrar: str,
                 password: str, auto_answer: bool = True, transport: str = "udp",
                 ca_file: Path | None = None) -> None:
        binary = require("linphonec")
        self.netns = netns
        self.user = user
        self.port = free_port()
        self.rtp = free_port(span=4)
        conf = Path(workdir) / f"linphonec-{user}-{self.port}"
        home = conf / "home"
        (home / ".local" / "share" / "linphone").mkdir(parents=True, exist_ok=True)
        self.tone = conf / "tone.wav"
        _write_tone(self.tone, seconds=30)
        self.heard_file = conf / "heard.wav"
        rc = conf / "linphonerc"
        rc.write_text("\n".join([
            "[sip]", f"sip_port={self.port if transport == 'udp' else -1}",
            f"sip_tcp_port={self.port if transport == 'tcp' else -1}",
            f"sip_tls_port={self.port if transport == 'tls' else -1}",
            # TLS: the chain is checked against the test CA; the name is not, since its
            # mbedTLS matches no IP address entry of a certificate (and then no CN either)
            *([f"root_ca={ca_file}", "verify_server_certs=1", "verify_server_cn=0"]
              if ca_file else []),
            "default_proxy=0", "register_only_when_network_is_up=0",
            # no GRUU: Kamailio's pub-gruu names no port, and linphonec would then put
            # it in its Contact, where in-dialog requests (our ACK, BYE) cannot reach it
            "supported=replaces", "",
            "[rtp]", f"audio_rtp_port={self.rtp}", "",
            "[video]", "enabled=0", "capture=0", "display=0", "",
            "[proxy_0]", f"reg_proxy=<sip:{registrar};transport={transport}>",
            f"reg_identity=sip:{user}@{registrar}",
            "reg_expires=60", "reg_sendregister=1", "",
            "[auth_info_0]", f"username={user}", f"passwd={password}", "",
            "",
        ]))
        argv = [binary, "-c", str(rc), "-d", "4", "-l", str(conf / "linphone.log")]
        if auto_answer:
            argv.append("-a")
        env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
        super().__init__(netns.exec_argv(argv), cwd=conf, log_name="linphonec.out", env=env,
                         stop_signals=(signal.SIGTERM,), grace=3.0)

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{HOST}:{self.port}"

    def command(self, line: str) -> None:
        """Type one command at its prompt."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def sip_log(self) -> str:
        try:
            return (self.cwd / "linphone.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> Linphonec:
        super().start()
        try:
            wait_until(lambda: not self.running() or "Creating listening point" in self.sip_log(),
                       15, "linphonec's SIP stack to listen")
            if not self.running():
                raise AssertionError(f"linphonec exited:\n{self.log_text()[-3000:]}")
            self.command("soundcard use files")
            self.command(f"play {self.tone}")
            self.command(f"record {self.heard_file}")
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> Linphonec:
        return self.start() if self.proc is None else self
