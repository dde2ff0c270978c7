"""Boot step of the arm64 stage: the installed firmware registers with Kamailio.

Run INSIDE the emulated arm64 root by .ci/arm64-stage.sh with the installed
venv's python, from ``/`` (so the source tree cannot shadow the install).
Kamailio runs on the host's loopback (.ci/arm64_stage_host.py; the chroot
shares the host's network namespace) with one digest account.

What it proves: ``piphone run --hal mock --config SIP<MAC>.cnf`` starts on
arm64 as the service user, REGISTERs through the 401 challenge, reports the
line registered on the control API (``GET /api/status``, the contract in
shared/spec/control-api.md), and exits 0 on SIGTERM (what systemd sends).

Waits are readiness deadlines for a slow emulated start, never assertions on
speed. Exit status 0 when registered and cleanly stopped, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

VENV = Path(sys.argv[1] if len(sys.argv) > 1 else "/opt/piphone/venv")
START_DEADLINE = 180.0  # emulated python + numpy/Pillow imports take tens of seconds
STOP_DEADLINE = 30.0
MAC = "00163E0A6401"


def log(msg: str) -> None:
    print(f"  boot: {msg}", file=sys.stderr, flush=True)


def status(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as r:
            return json.loads(r.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None


def write_config(d: Path, sip_port: int, phone_port: int, rtp_port: int) -> Path:
    user = os.environ["PIPHONE_CI_SIP_USER"]
    cnf = d / f"SIP{MAC}.cnf"
    cnf.write_text(
        "# written by .ci/arm64_boot.py: one line registering with the CI Kamailio\n"
        f"line1_name: {user}\n"
        f"line1_authname: {user}\n"
        f'line1_password: "{os.environ["PIPHONE_CI_SIP_PASSWORD"]}"\n'
        "proxy1_address: 127.0.0.1\n"
        f"proxy1_port: {sip_port}\n"
        "proxy_register: 1\n"
        "timer_register_expires: 3600\n"
        f"voip_control_port: {phone_port}\n"
        f"start_media_port: {rtp_port}\n"
        f"end_media_port: {rtp_port + 7}\n"
    )
    return cnf


def main() -> int:
    sip_port = int(os.environ["PIPHONE_CI_SIP_PORT"])
    phone_port, rtp_port, control_port = (int(p) for p in os.environ["PIPHONE_CI_PORTS"].split())
    with tempfile.TemporaryDirectory(prefix="piphone-boot-") as tmp:
        d = Path(tmp)
        cnf = write_config(d, sip_port, phone_port, rtp_port)
        argv = [str(VENV / "bin/piphone"), "run", "--hal", "mock", "--config", str(cnf),
                "--control", f"127.0.0.1:{control_port}"]
        preexec = None
        try:  # run as the service user the installer created, like the unit does
            pw = pwd.getpwnam("piphone")
        except KeyError:
            log("no 'piphone' user: running as root")
        else:
            for p in (d, cnf):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            os.chmod(cnf, 0o600)

            def preexec() -> None:
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)

            log(f"running as user piphone (uid {pw.pw_uid})")
        out = d / "piphone.log"
        t0 = time.monotonic()
        with open(out, "wb") as f:
            env = dict(os.environ, PIPHONE_STATE_DIR=str(d))  # the unit sets /var/lib/piphone
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                    cwd=d, env=env, preexec_fn=preexec)  # noqa: PLW1509 - before exec, single thread
        ok = False
        try:
            log(f"started {' '.join(argv[1:])} (pid {proc.pid}); Kamailio at 127.0.0.1:{sip_port}")
            st = None
            while time.monotonic() - t0 < START_DEADLINE and proc.poll() is None:
                st = status(control_port)
                if st and st.get("registered") and all(ln.get("registered") for ln in st.get("lines", [])):
                    ok = True
                    break
                time.sleep(0.5)
            if ok:
                log(f"registered after {time.monotonic() - t0:.1f}s: lines={st['lines']} display={st.get('display')}")
            elif proc.poll() is not None:
                log(f"FAIL: piphone exited {proc.returncode} before registering")
            else:
                log(f"FAIL: not registered after {START_DEADLINE:.0f}s; last status {st}")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    rc = proc.wait(STOP_DEADLINE)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    rc = proc.wait()
                    log(f"FAIL: no exit within {STOP_DEADLINE:.0f}s of SIGTERM")
                    ok = False
                else:
                    log(f"SIGTERM: exited {rc}")
                    ok = ok and rc == 0
            text = out.read_text(errors="replace")
            tail = text.splitlines()[-25:] if ok else text.splitlines()[-80:]
            log("piphone's log:\n" + "\n".join(f"    {ln}" for ln in tail))
            if os.environ["PIPHONE_CI_SIP_PASSWORD"] in text:
                log("FAIL: the SIP password appears in the firmware's log")
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
