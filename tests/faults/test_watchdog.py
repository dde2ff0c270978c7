"""systemd itself kills a phone whose loop stalled and starts it again (WatchdogSec).

Why: the restart of a hung phone is systemd's job, so the test runs systemd
itself rather than a stand-in playing its side of sd_notify(3). A systemd (PID 1 of private namespaces, see
tests/peers_systemd.py) runs a unit generated from systemd/piphone.service.
Kept from the shipped unit: Type=notify, NotifyAccess=main, Restart=on-failure,
User/Group/SupplementaryGroups, WorkingDirectory, StateDirectory,
ConfigurationDirectory, Environment and every hardening line but one.
Changed for the test, and why:

- ExecStart: this checkout's interpreter, ``--hal mock`` and a test config
  (the Pi's is /opt/piphone/venv/bin/piphone with ``--hal pi``);
- WatchdogSec=2s and RestartSec=1s instead of 30s/5s, so the test takes
  seconds; the mechanism is the same;
- DefaultDependencies=no added and Wants=network-online.target dropped: the
  default dependencies pull in sysinit.target, i.e. the machine's early-boot
  services (kernel modules, swap, fstab mounts), some of which act on the whole
  host even from a namespace;
- EnvironmentFile=-/etc/piphone/piphone.env dropped: the host's file, if any,
  is not the test's;
- ProtectHome=yes becomes read-only: the interpreter here lives under /root
  (pyenv), which =yes hides; inside the namespace /root is made traversable
  for the piphone user with only the interpreter's tree in it;
- a checkout (or venv) under /tmp or /var/tmp, as a CI clone may be, is bound
  back over the namespace's /tmp and, since PrivateTmp=yes hides /tmp from the
  service, named in BindReadOnlyPaths= (a handset runs from /opt/piphone);
- Environment=PYTHONPATH adds this checkout and tests/faults/stall (the
  test-only SIGUSR2 handler that stalls the loop); stdout/stderr go to a
  file (no journald runs in the namespace).

The loop is stalled with ``systemctl kill -s SIGUSR2``; what is checked is
systemd's own account: the watchdog result, NRestarts, a new MainPID, the new
process reaching "active" (Type=notify: only after its READY=1) and its
WATCHDOG=1 pings advancing systemd's watchdog timestamp.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from peers_systemd import SystemdNamespace

ROOT = Path(__file__).resolve().parents[2]
STALL = Path(__file__).resolve().parent / "stall"
UNIT = "piphone-test.service"
IN = "/run/piphone-test"  # the payload directory inside the namespace

pytestmark = pytest.mark.slow

# The unit's user and groups, added to /etc/passwd and /etc/group in the namespace's overlay.
USERS = ("piphone:x:61234:61234:piphone test:/nonexistent:/usr/sbin/nologin\n",
         "piphone:x:61234:\ngpio:x:61235:piphone\ni2c:x:61236:piphone\nspi:x:61237:piphone\n")
REPLACED = {
    "ExecStart": f"{sys.executable} -m firmware run --hal mock --config {IN}/SIP001122334455.cnf",
    "WatchdogSec": "2s",
    "RestartSec": "1s",
    "ProtectHome": "read-only",
}
DROPPED = ("Wants", "EnvironmentFile")
ADDED_UNIT = ("DefaultDependencies=no",)
ADDED_SERVICE = (
    f"Environment=PYTHONPATH={ROOT}:{STALL}",
    f"StandardOutput=append:{IN}/phone.log",
    "StandardError=inherit",
)


def _under_tmp() -> list[str]:
    """The checkout and the venv, where they live under /tmp or /var/tmp (outermost only)."""
    paths = sorted({str(p) for p in (ROOT, Path(sys.prefix).resolve())
                    if str(p).startswith(("/tmp/", "/var/tmp/"))})
    return [p for p in paths if not any(p.startswith(q + "/") for q in paths if q != p)]


def make_unit(shipped: str) -> str:
    """The test unit: the shipped one with the changes listed in the module docstring."""
    out: list[str] = []
    for line in shipped.splitlines():
        key = line.split("=", 1)[0] if "=" in line and not line.startswith("#") else ""
        if key in DROPPED:
            continue
        if key in REPLACED:
            line = f"{key}={REPLACED[key]}"
        out.append(line)
        if line == "[Unit]":
            out.extend(ADDED_UNIT)
        if line == "[Service]":
            out.extend(ADDED_SERVICE)
            out.extend(f"BindReadOnlyPaths={p}" for p in _under_tmp())
    return "\n".join(out) + "\n"


def _interpreter_visible() -> str:
    """Shell lines making this interpreter reachable for the unit's user, inside the namespace.

    The venv's interpreter resolves under /root (mode 0700 here): /root
    becomes a tmpfs holding only that tree, bound back read-only.
    """
    base = Path(sys.base_prefix).resolve()
    if not str(base).startswith("/root/"):
        return ""
    return (f"mkdir -p {IN}/py\nmount --bind {base} {IN}/py\n"
            f"mount -t tmpfs -o mode=0755 tmpfs /root\nmkdir -p {base}\n"
            f"mount --bind {IN}/py {base}\nmount -o remount,bind,ro {base}\n")


def _wait(what: str, cond, timeout: float = 30.0) -> None:  # noqa: ANN001 - a predicate
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def systemd(tmp_path: Path):  # noqa: ANN201 - a generator fixture
    shipped = (ROOT / "systemd" / "piphone.service").read_text()
    cnf = ("line1_name: 5550002\nproxy1_address: 127.0.0.1\nproxy1_port: 9\n"
           "proxy_register: 0\nvoip_control_port: 5998\n")
    ns = SystemdNamespace(tmp_path / "ns", {UNIT: make_unit(shipped)},
                          {"SIP001122334455.cnf": cnf, "prepare": _interpreter_visible(),
                           "keep": "".join(f"{p}\n" for p in _under_tmp())},
                          users=USERS)
    ns.start()
    try:
        yield ns
    finally:
        log = tmp_path / "ns" / "console.log"
        print("systemd console:\n" + log.read_text(errors="replace")[-4000:])
        ns.stop()


def test_systemd_kills_a_stalled_phone_and_starts_it_again(systemd: SystemdNamespace) -> None:
    props = ("ActiveState", "SubState", "MainPID", "NRestarts", "Result",
             "WatchdogTimestampMonotonic", "WatchdogUSec", "StatusText")
    systemd.systemctl("start", UNIT)  # Type=notify: returns once READY=1 came
    first = systemd.show(UNIT, *props)
    assert first["ActiveState"] == "active", first
    assert first["WatchdogUSec"] == "2s"
    pid = first["MainPID"]
    assert pid != "0" and first["NRestarts"] == "0"
    # a healthy loop keeps pinging: systemd's watchdog timestamp moves on
    _wait("a watchdog ping", lambda: systemd.show(UNIT, "WatchdogTimestampMonotonic")[
        "WatchdogTimestampMonotonic"] not in ("0", first["WatchdogTimestampMonotonic"]))
    user = systemd.run("stat", "-c", "%U", f"/proc/{pid}").stdout.strip()  # its effective user
    assert user == "piphone"

    systemd.systemctl("kill", "-s", "SIGUSR2", "--kill-who=main", UNIT)  # the loop hangs
    _wait("the watchdog restart", lambda: systemd.show(UNIT, "NRestarts")["NRestarts"] == "1")
    _wait("the new phone's READY", lambda: systemd.show(UNIT, "ActiveState")["ActiveState"]
          == "active")
    second = systemd.show(UNIT, *props)
    assert second["MainPID"] not in ("0", pid), second
    console = (systemd.log).read_text(errors="replace")
    assert f"{UNIT}: Watchdog timeout" in console, console[-3000:]
    assert "Scheduled restart job, restart counter is at 1" in console
    # and the new process pings too (its loop is healthy): the timestamp moves on again
    _wait("the new phone's pings", lambda: systemd.show(UNIT, "WatchdogTimestampMonotonic")[
        "WatchdogTimestampMonotonic"] != second["WatchdogTimestampMonotonic"])
    third = systemd.show(UNIT, "MainPID", "NRestarts", "ActiveState")
    assert third == {"MainPID": second["MainPID"], "NRestarts": "1", "ActiveState": "active"}
