#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine, idempotently:
# the real peers (sipp, kamailio, baresip, tftpd-hpa), ALSA headers and plugins,
# then a venv with the firmware and its test extras. Run as root (CI) or with sudo.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

apt_pkgs=(
  libasound2-dev      # pyalsaaudio is an sdist and compiles against it
  alsa-utils          # aplay/arecord, the ALSA file/null plugins
  libasound2-plugins
  sip-tester          # sipp: real SIP peer
  kamailio            # real registrar / proxy
  kamailio-tls-modules  # its TLS module: SIP over TLS tests (tests/peers_tls.py)
  baresip             # real softphone
  tftpd-hpa           # real TFTP server, run as a plain process
  iproute2            # ip netns for baresip on 127.0.0.x
  systemd             # systemd-analyze verify, and a real systemd running the unit (tests/faults/test_watchdog.py)
  util-linux          # unshare, nsenter, setpriv: that systemd as PID 1 of private namespaces
  dnsmasq-base        # real DNS server (NAPTR/SRV/A) for the RFC 3263 tests
  linphone-cli        # linphonec: third independent softphone of the interop matrix
  chromium            # the web page's tests run in a real browser (Selenium)
  chromium-driver     # chromedriver for Selenium
  tshark              # reads the web page's SIP trace download (pcap)
  sngrep              # and so does sngrep
)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt packages to install: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  for i in 1 2 3; do $SUDO apt-get update -qq && break || sleep 5; done
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "install-deps: apt packages already present"
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
stamp="$VENV/.deps-$(cat pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install -q -e ".[dev,hwtest,bench]"
  touch "$stamp"
fi
echo "install-deps: venv ready at $VENV"
