"""A real systemd as PID 1 of private namespaces, for tests of our unit file.

Why: the watchdog and restart behaviour the phone relies on is systemd's, so
the test that claims it should run under systemd itself, not a stand-in. This
machine (and CI) has no systemd as PID 1, but root may start one as PID 1 of
a new PID namespace, the way a container manager does. Everything it touches
stays in namespaces created here, so the host is left alone:

- mount namespace (private propagation): tmpfs on /run, /tmp and /var/tmp;
  /etc and /var/lib are overlays whose writes go to RAM (the unit's user,
  ``ConfigurationDirectory=``, ``StateDirectory=``, systemd's own state);
  /proc/sys and /sys are read-only (systemd would otherwise raise host-wide
  sysctls such as fs.nr_open); /dev/console is a pseudo-terminal of the test
  (as a container manager gives one), so systemd's messages go to the test's
  log instead of the machine's console;
- PID namespace: systemd is PID 1 there and killing it (by PID) ends every
  process it started;
- cgroup namespace over a fresh cgroup2 sub-tree (the host mounts only cgroup
  v1 controllers); the sub-tree is removed at the end;
- network namespace (only ``lo``) and UTS namespace (systemd sets a hostname);
- no capabilities that act on the whole machine whatever the namespace:
  loading kernel modules (PID 1 tries autofs4 and others), setting the
  clock, raw I/O, the kernel log, wake alarms, blocking suspend.

systemd runs with ``container=piphone-test`` and ``--unit`` naming a target
with ``DefaultDependencies=no``: no host service is pulled in. ``systemctl``
talks to it through ``nsenter`` on its private socket.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from peers_proc import missing, require, require_root

SYSTEMD = "/lib/systemd/systemd"
TARGET = "piphone-test.target"

# Runs in the outer mount namespace: a private cgroup2 sub-tree, then systemd in
# the inner namespaces, then the sub-tree removed once PID 1 is gone.
_OUTER = r"""
set -e
D="$1"
mount -t cgroup2 none "$D/cg"
CG="$D/cg/piphone-test-$$"
mkdir "$CG"
echo $$ > "$CG/cgroup.procs"
set +e
unshare --pid --fork --cgroup --uts --net --mount --mount-proc --propagation private \
    sh -e -c "$2" inner "$D" "$3"
echo $$ > "$D/cg/cgroup.procs"
find "$CG" -depth -type d -exec rmdir {} \;
"""

# Runs in the inner namespaces and becomes systemd (PID 1).
_INNER = r"""
D="$1"
mount --bind "$2" /dev/console
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/system /run/piphone-test /run/ov
cp "$D"/units/* /run/systemd/system/
cp -r "$D"/payload/. /run/piphone-test/
for dir in /etc /var/lib; do
    name=$(echo "$dir" | tr / _)
    mkdir -p "/run/ov/$name/up" "/run/ov/$name/work"
    mount -t overlay overlay -o "lowerdir=$dir,upperdir=/run/ov/$name/up,workdir=/run/ov/$name/work" "$dir"
done
if [ -f /run/piphone-test/passwd.add ]; then
    cat /run/piphone-test/passwd.add >> /etc/passwd
    cat /run/piphone-test/group.add >> /etc/group
fi
mkdir -p /run/ov/tmp /run/ov/var_tmp
mount --bind /tmp /run/ov/tmp
mount --bind /var/tmp /run/ov/var_tmp
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
# paths the units need that live under /tmp (a checkout cloned there): bound back read-only
if [ -f /run/piphone-test/keep ]; then
    while read -r p; do
        case "$p" in
            /tmp/*) src="/run/ov/tmp/${p#/tmp/}" ;;
            /var/tmp/*) src="/run/ov/var_tmp/${p#/var/tmp/}" ;;
            *) continue ;;
        esac
        mkdir -p "$p"
        mount --bind "$src" "$p"
        mount -o remount,bind,ro "$p"
    done < /run/piphone-test/keep
fi
mount -t cgroup2 none /sys/fs/cgroup
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
if [ -f /run/piphone-test/prepare ]; then sh -e /run/piphone-test/prepare; fi
exec setpriv --bounding-set -sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm,-block_suspend \
    env -i container=piphone-test PATH=/usr/sbin:/usr/bin:/sbin:/bin /lib/systemd/systemd --system --unit=piphone-test.target \
    --log-target=console --log-level=info --show-status=no
"""


def require_systemd_ns() -> None:
    """What a systemd in namespaces needs here, or ``missing`` (FAIL in CI)."""
    require_root("a systemd as PID 1 of new namespaces needs root")
    for binary in ("unshare", "nsenter", "setpriv", "systemctl"):
        require(binary)
    if not os.access(SYSTEMD, os.X_OK):
        missing(f"{SYSTEMD} not installed (the systemd package)")
    filesystems = Path("/proc/filesystems").read_text()
    for fs in ("cgroup2", "overlay", "tmpfs"):
        if f"\t{fs}\n" not in filesystems:
            missing(f"the kernel has no {fs} file system (a systemd in namespaces needs it)")


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry.name))
    return kids


class SystemdNamespace:
    """One systemd (PID 1 of its namespaces) with our units in /run/systemd/system.

    ``units`` maps file names to unit text; ``payload`` files are copied to
    /run/piphone-test inside (configs a unit reads; a ``keep`` file lists paths
    under /tmp or /var/tmp, e.g. a checkout cloned there, that stay visible,
    read-only, over the namespace's own /tmp). ``users`` lines are added
    to /etc/passwd (and their groups to /etc/group) in the overlay.
    """

    def __init__(self, base: Path, units: dict[str, str], payload: dict[str, str],
                 users: tuple[str, str] | None = None) -> None:
        require_systemd_ns()
        self.base = base
        self.log = base / "console.log"
        for sub in ("units", "payload", "cg"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        self.log.write_text("")
        target = ("[Unit]\nDescription=piphone test target (no default dependencies)\n"
                  "DefaultDependencies=no\n")
        for name, text in {TARGET: target, **units}.items():
            (base / "units" / name).write_text(text)
        for name, text in payload.items():
            (base / "payload" / name).write_text(text)
        if users is not None:
            (base / "payload" / "passwd.add").write_text(users[0])
            (base / "payload" / "group.add").write_text(users[1])
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid1 = 0
        self._master = self._slave = -1

    def start(self, timeout: float = 30.0) -> None:
        self._master, self._slave = os.openpty()
        threading.Thread(target=self._drain, daemon=True).start()
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", _OUTER, "outer",
             str(self.base), _INNER, os.ttyname(self._slave)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        state = ""
        while time.monotonic() < end and self.proc.poll() is None:
            if not self.pid1:
                self.pid1 = next((k for u in _children(self.proc.pid) for k in _children(u)), 0)
            if self.pid1 and self._is_systemd():
                state = self.systemctl("is-system-running", check=False).stdout.strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.1)
        out = b""
        if self.proc.poll() is not None:
            out = self.proc.stdout.read() if self.proc.stdout else b""
        console = self.log.read_text(errors="replace")[-2000:]
        self.stop()
        missing(f"systemd did not come up as PID 1 of new namespaces (state {state!r}): "
                f"{out.decode(errors='replace')[-1000:]} console: {console}")

    def _drain(self) -> None:
        """Copy what systemd writes on its console into ``console.log``."""
        with self.log.open("ab", buffering=0) as out:
            while True:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    return
                if not data:
                    return
                out.write(data)

    def _is_systemd(self) -> bool:
        try:
            return os.readlink(f"/proc/{self.pid1}/exe") == os.path.realpath(SYSTEMD)
        except OSError:
            return False

    def _ns_pid(self) -> int:
        """PID 1's number inside its own PID namespace (1 while it is ours), else 0."""
        try:
            status = Path(f"/proc/{self.pid1}/status").read_text()
        except OSError:
            return 0
        line = next((x for x in status.splitlines() if x.startswith("NSpid:")), "NSpid:\t0")
        return int(line.split()[-1])

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``argv`` inside the namespaces (mount, PID, net, UTS, cgroup)."""
        return subprocess.run(
            ["nsenter", "-t", str(self.pid1), "-m", "-p", "-n", "-u", "-C", *argv],
            capture_output=True, text=True, timeout=20, check=check)

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", "--no-pager", *args, check=check)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.systemctl("show", unit, *(f"-p{p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def stop(self) -> None:
        """Kill PID 1 by its PID (the kernel ends its namespace's other processes)."""
        if self.pid1 and (self._is_systemd() or self._ns_pid() == 1):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid1, signal.SIGKILL)
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            if self.proc.stdout:
                self.proc.stdout.close()
        for fd in (self._slave, self._master):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._slave = self._master = -1
        with contextlib.suppress(OSError):
            (self.base / "cg").rmdir()  # only a mount point inside the namespace
