#!/usr/bin/env bash
# Install piphone on Raspberry Pi OS (Bookworm/Bullseye): `sudo make install`.
#   venv in /opt/piphone/venv with `pip install .[pi]`, config in /etc/piphone,
#   state in /var/lib/piphone (systemd StateDirectory), system user `piphone`
#   in groups gpio/i2c/spi/audio, unit installed, enabled and (re)started.
# Idempotent: re-running upgrades the code and keeps /etc/piphone untouched.
# DRY_RUN=1 prints the commands instead of running them (used by the tests).
# PREFIX / ETC_DIR / UNIT_DIR override the locations (packaging, tests).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${PREFIX:-/opt/piphone}
ETC_DIR=${ETC_DIR:-/etc/piphone}
UNIT_DIR=${UNIT_DIR:-/etc/systemd/system}
PYTHON=${PYTHON:-python3}
SVC_USER=piphone
GROUPS_WANTED=(gpio i2c spi audio)
DRY_RUN=${DRY_RUN:-0}

run() {
  if [ "$DRY_RUN" = 1 ]; then printf '+ %s\n' "$*"; else "$@"; fi
}

if [ "$DRY_RUN" != 1 ] && [ "$(id -u)" != 0 ]; then
  echo "install-pi: run as root (sudo make install)" >&2
  exit 1
fi

# System packages: Python venv support, ALSA headers for pyalsaaudio, I2C tools.
if command -v apt-get >/dev/null 2>&1; then
  run apt-get install -y --no-install-recommends python3-venv python3-dev \
      libasound2-dev i2c-tools
fi

# Service user: no login, no home; hardware access through groups only.
if ! id -u "$SVC_USER" >/dev/null 2>&1; then
  run useradd --system --no-create-home --home-dir /var/lib/piphone \
      --shell /usr/sbin/nologin "$SVC_USER"
fi
for g in "${GROUPS_WANTED[@]}"; do
  if getent group "$g" >/dev/null 2>&1; then
    run usermod -a -G "$g" "$SVC_USER"
  else
    echo "install-pi: group $g does not exist (enable the interface with raspi-config)" >&2
  fi
done

# Code: a private venv, the package with its Pi extras. A regular (not
# editable) install builds a wheel, which leaves out firmware.demo (the demo
# and test tooling; pyproject.toml packages.find exclude): a handset runs
# only the phone. `piphone demo` there says so.
run install -d -m 0755 "$PREFIX"
if [ ! -x "$PREFIX/venv/bin/python" ]; then
  run "$PYTHON" -m venv "$PREFIX/venv"
fi
run "$PREFIX/venv/bin/pip" install --upgrade --quiet "$SRC[pi]"
# Like the .pyc files pip just wrote: the dataclass methods compiled once here, not
# at every boot (firmware/app/codecache.py; about half of start -> first REGISTER).
run "$PREFIX/venv/bin/python" -m firmware.app.codecache
run install -d -m 0755 "$PREFIX/docs"
run cp -r "$SRC/docs/." "$PREFIX/docs/"

# Config: examples only when the directory is new; never overwrite the admin's files.
if [ ! -d "$ETC_DIR" ]; then
  run install -d -m 0750 -o root -g "$SVC_USER" "$ETC_DIR"
  for f in SIPDefault.cnf dialplan.xml; do
    run install -m 0640 -o root -g "$SVC_USER" "$SRC/config/$f" "$ETC_DIR/$f"
  done
fi
if [ ! -f "$ETC_DIR/piphone.env" ]; then
  # PIPHONE_ARGS is appended to ExecStart, e.g. "--tftp 192.0.2.5 --mac 00112233AABB"
  # (leave --tftp out to use DHCP option 150/66).
  if [ "$DRY_RUN" = 1 ]; then
    printf '+ write %s\n' "$ETC_DIR/piphone.env"
  else
    umask 027
    printf 'PIPHONE_ARGS=\n' > "$ETC_DIR/piphone.env"
    chgrp "$SVC_USER" "$ETC_DIR/piphone.env"
  fi
fi

# systemd unit: installed, enabled, (re)started.
run install -m 0644 "$SRC/systemd/piphone.service" "$UNIT_DIR/piphone.service"
run systemctl daemon-reload
run systemctl enable piphone.service
run systemctl restart piphone.service
echo "install-pi: done; logs with: journalctl -u piphone -f"
