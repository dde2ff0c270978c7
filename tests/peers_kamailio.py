"""Kamailio registrar/proxy for the real-peer harness (tests/peers.py).

Why: registration, digest challenges and proxied calls are tested against
the proxy a phone meets in the field, configured from
``tests/peers/kamailio.cfg.tmpl``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from peers_ports import HOST, free_port, sip_options_answered
from peers_proc import PeerProcess, require

PEERS_DIR = Path(__file__).with_name("peers")


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
        host: str = HOST,
        netns: Any = None,
        aliases: Sequence[str] = (),
    ) -> None:
        binary = require("kamailio")
        self.host = host
        self.netns = netns  # a peers_netns.Netns-like (exec_argv, entered) to run inside
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
                nonce_expire=nonce_expire, algorithm=algorithm, debug=debug, host=host,
                aliases=aliases,
            )
        )  # fmt: skip
        argv = [
            binary, "-f", str(self.config_path), "-DD", "-E",
            "-Y", str(workdir), "-P", str(workdir / "kamailio.pid"),
            "-w", str(workdir), "-m", "32", "-M", "4",
        ]  # fmt: skip
        if netns is not None:
            argv = netns.exec_argv(argv)
        super().__init__(argv, cwd=workdir, log_name="kamailio.log", grace=5.0)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> Kamailio:
        super().start()
        self.await_ready(lambda: sip_options_answered(self.port, self.host), 15,
                         "kamailio to answer OPTIONS")
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
    aliases: Sequence[str] = (),
) -> str:
    """``aliases``: more domains the proxy takes as its own (``uri == myself``), e.g.
    the name a test's DNS publishes for it."""
    safe = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")
    for value in [*users, *users.values(), *trusted, *aliases]:
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
        "ALIASES": "\n".join(f'alias="{a}"' for a in aliases),
    }
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    leftover = re.search(r"@@\w+@@", text)
    if leftover:
        raise ValueError(f"unrendered placeholder {leftover.group(0)}")
    return text
