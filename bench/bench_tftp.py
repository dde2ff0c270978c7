"""TFTP download: piphone's asyncio client vs curl's TFTP client (C), same server, same run.

Both fetch the same files from one tftpd-hpa on a free loopback port with
blksize 1428 and tsize. Printed per file size: median wall time of 5 fetches
and CPU seconds per fetch for each client, and the ratios piphone / curl.
curl's figures include its process start; the 4 MiB file makes that small.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware.provisioning.tftp import TftpSettings, tftp_get  # noqa: E402

REPEAT = 5
SIZES = {"SIP<MAC>.cnf-sized (2 KiB)": 2048, "4 MiB": 4 << 20}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def bench_ours(port: int, name: str, size: int) -> tuple[float, float]:
    settings = TftpSettings(blksize=1428, max_size=size + 1)

    async def run() -> list[float]:
        walls = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            got = await tftp_get(("127.0.0.1", port), name, settings)
            walls.append(time.perf_counter() - t0)
            assert len(got.data) == size
        return walls

    c0 = cpu_self()
    walls = asyncio.run(run())
    return statistics.median(walls), (cpu_self() - c0) / REPEAT


def bench_curl(curl: str, port: int, name: str, size: int, out: Path) -> tuple[float, float]:
    walls = []
    c0 = cpu_children()
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        subprocess.run([curl, "-s", "--tftp-blksize", "1428", "-o", str(out),
                        f"tftp://127.0.0.1:{port}/{name}"], check=True)
        walls.append(time.perf_counter() - t0)
        assert out.stat().st_size == size
    return statistics.median(walls), (cpu_children() - c0) / REPEAT


def main() -> int:
    tftpd = shutil.which("in.tftpd") or "/usr/sbin/in.tftpd"
    curl = shutil.which("curl")
    if not os.path.exists(tftpd) or curl is None:
        print("bench_tftp: needs in.tftpd (tftpd-hpa) and curl; skipped")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        os.chmod(tmp, 0o755)
        os.chmod(root, 0o755)
        for i, size in enumerate(SIZES.values()):
            f = root / f"f{i}.bin"
            f.write_bytes(os.urandom(size))
            f.chmod(0o644)
        port = free_port()
        server = subprocess.Popen([tftpd, "-L", "-a", f"127.0.0.1:{port}", "-s", str(root)],
                                  stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.2)
            print(f"{'file':28} {'piphone ms':>11} {'curl ms':>9} {'wall ratio':>10} "
                  f"{'piphone CPU ms':>15} {'curl CPU ms':>12} {'CPU ratio':>9}")
            for i, (label, size) in enumerate(SIZES.items()):
                name = f"f{i}.bin"
                w_ours, c_ours = bench_ours(port, name, size)
                w_curl, c_curl = bench_curl(curl, port, name, size, Path(tmp) / "out")
                cpu_ratio = f"{c_ours / c_curl:9.2f}" if c_curl > 0 else "      n/a"
                print(f"{label:28} {w_ours * 1e3:11.2f} {w_curl * 1e3:9.2f} "
                      f"{w_ours / w_curl:10.2f} {c_ours * 1e3:15.2f} {c_curl * 1e3:12.2f} "
                      f"{cpu_ratio}")
        finally:
            server.terminate()
            server.wait(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
