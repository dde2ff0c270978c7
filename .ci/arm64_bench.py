#!/usr/bin/env python3
"""Host side of the arm64 benches: ``.ci/arm64-bench.sh`` in a fresh emulated arm64 root.

Why a separate, optional step and not part of ``.ci/run``: the benches run
for minutes of emulated CPU (boot and idle of both peers, a call, floods), and
figures are for bench/README.md, not a pass/fail gate. It uses the same
cached root as the CI stage (.ci/arm64_stage_host.py) with the same package
lists, so the cache's stamps match and nothing is rebuilt; baresip is added
in the run's throw-away overlay only.

Niced to 19 (qemu is CPU-heavy and other jobs measure on this machine) and
run in a private mount namespace: the network namespaces the call bench
creates inside the chroot (``ip netns add`` bind-mounts under its /run) go
away with it whatever happens.

Usage (root): python .ci/arm64_bench.py [CACHE_DIR]   (default /var/cache/pi-arm64)
Exit status: the bench script's. Prints the total time as the last line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent))

from arm64_stage_host import APT_PKGS, PIP_PKGS, ROOT, installer_apt_packages, log  # noqa: E402

PASS = ("BENCH_RUNS", "BENCH_IDLE_SECONDS", "BENCH_CALL_SECONDS", "BENCH_CALL_WINDOWS",
        "BENCH_FLOOD")


def main(argv: list[str]) -> int:
    cache = argv[1] if len(argv) > 1 else "/var/cache/pi-arm64"
    t0 = time.monotonic()
    env = dict(os.environ)
    apt = " ".join(dict.fromkeys([*APT_PKGS.split(), *installer_apt_packages()]))
    env.update(FRESH="1", APT_PKGS=apt, PIP_PKGS=PIP_PKGS, CI_PASS_ENV=" ".join(PASS))
    for k in ("PIP_FIND_LINKS", "PIP_CONFIG_FILE", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(k, None)
    cmd = ["nice", "-n", "19", "unshare", "--mount", "--propagation", "private",
           "bash", str(ROOT / ".ci/arm64.sh"), cache, str(ROOT), "bash", ".ci/arm64-bench.sh"]
    proc = subprocess.Popen(cmd, env=env)

    def forward(signum: int, frame: FrameType | None) -> None:  # arm64.sh cleans up on a signal
        proc.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    rc = proc.wait()
    log(f"arm64 benches exit {rc}, total {time.monotonic() - t0:.0f}s")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
