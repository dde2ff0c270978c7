#!/usr/bin/env python3
"""Host side of the arm64 CI stage (issue 7): a real Kamailio on loopback, then
``.ci/arm64.sh`` running ``.ci/arm64-stage.sh`` in a fresh emulated arm64 root.

Why the registrar runs here and not in the root: the chroot shares the host's
network namespace, so a native Kamailio on 127.0.0.1 is reachable from the
emulated firmware, starts in a fraction of a second instead of under qemu, and
is the same binary and config (tests/peers.py) the host interop tests use.

Usage: python .ci/arm64_stage_host.py [CACHE_DIR]   (default /var/cache/pi-arm64)
Exit status: the stage's. Prints the stage's total time as the last line.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
SIP_USER = "1001"
SIP_PASSWORD = "ci-arm64-pw"  # a throw-away test account on a loopback registrar
# Debian packages for the cached root beyond Python and the compiler: make for
# `make install`, systemd for `systemd-analyze verify`, and what
# scripts/install-pi.sh installs itself (pre-installed so a run needs no apt).
APT_PKGS = "make systemd i2c-tools"
# Fills the cached root's pip cache with the `pi` extra's and the tests' wheels
# (RPi.GPIO and pyalsaaudio compiled once): each run's fresh install uses it.
PIP_PKGS = (
    "numpy pillow G722 gpiozero luma.oled pyalsaaudio RPi.GPIO lgpio "
    "pytest pytest-timeout hypothesis setuptools wheel"
)


def installer_apt_packages() -> list[str]:
    """The Debian packages scripts/install-pi.sh installs, to pre-install in the cached root.

    Why: the root's apt lists age with the cache; an install that found a package
    missing would fetch a .deb the mirror may have replaced by then. Pre-installed,
    `make install` finds them present; the cache re-runs apt (with a fresh
    `apt-get update`) whenever this list changes.
    """
    try:
        text = (ROOT / "scripts/install-pi.sh").read_text()
    except OSError:
        return []
    pkgs: list[str] = []
    for m in re.finditer(r"apt-get install((?:[^\n]*\\\n)*[^\n]*)", text):
        words = m.group(1).replace("\\\n", " ").split()
        pkgs += [w for w in words if re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", w)]
    return pkgs


def log(msg: str) -> None:
    print(f"[arm64-host {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    cache = argv[1] if len(argv) > 1 else "/var/cache/pi-arm64"
    t0 = time.monotonic()
    env = dict(os.environ)
    apt = " ".join(dict.fromkeys([*APT_PKGS.split(), *installer_apt_packages()]))
    env.update(FRESH="1", APT_PKGS=apt, PIP_PKGS=PIP_PKGS)
    env["CI_PASS_ENV"] = "PIPHONE_CI_SIP_PORT PIPHONE_CI_SIP_USER PIPHONE_CI_SIP_PASSWORD PIPHONE_CI_PORTS"
    for k in ("PIP_FIND_LINKS", "PIP_CONFIG_FILE", "VIRTUAL_ENV"):  # host (x86) pip settings stay out
        env.pop(k, None)

    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from peers import Kamailio, free_port
    except ImportError as exc:  # tests/peers.py is the stack branch's; absent before it lands
        log(f"no Kamailio helper ({exc}): the boot step will be skipped")
        Kamailio = None  # noqa: N806

    kam = None
    rc = 2
    with tempfile.TemporaryDirectory(prefix="arm64-kam-") as tmp:
        try:
            if Kamailio is not None:
                kam = Kamailio(Path(tmp), users={SIP_USER: SIP_PASSWORD}).start()
                # the phone's SIP port, its RTP range start and the control API port
                ports = [free_port(), free_port(span=8), free_port()]
                env.update(
                    PIPHONE_CI_SIP_PORT=str(kam.port), PIPHONE_CI_SIP_USER=SIP_USER,
                    PIPHONE_CI_SIP_PASSWORD=SIP_PASSWORD, PIPHONE_CI_PORTS=" ".join(map(str, ports)),
                )  # fmt: skip
                log(f"Kamailio {kam.domain} (pid {kam.pid}) with user {SIP_USER}; phone ports {ports}")
            cmd = ["bash", str(ROOT / ".ci/arm64.sh"), cache, str(ROOT), "bash", ".ci/arm64-stage.sh"]
            proc = subprocess.Popen(cmd, env=env)

            def forward(signum: int, frame: FrameType | None) -> None:  # timeout(1) -> arm64.sh cleans up
                proc.send_signal(signum)

            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, forward)
            rc = proc.wait()
        finally:
            if kam is not None:
                kam.stop()
                seen = [ln for ln in kam.log_text().splitlines() if "REGISTER" in ln]
                log(f"Kamailio saw {len(seen)} REGISTER log lines" + "".join(f"\n    {ln.strip()}" for ln in seen[-6:]))
                booted = (ROOT / "firmware/app/runloop.py").exists()
                if rc == 0 and booted and not any("expires=" in ln for ln in seen):
                    log("FAIL: the stage passed but Kamailio never saved a registration")
                    rc = 1
    log(f"arm64 stage exit {rc}, total {time.monotonic() - t0:.0f}s")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
