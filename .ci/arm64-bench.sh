#!/usr/bin/env bash
# arm64-bench.sh - the issue-16 benches INSIDE the emulated Debian bookworm arm64
# root (Raspberry Pi OS 64-bit's userland, on qemu-user: the Pi's CPU, emulated),
# each against baresip installed in that same root and measured in the same run.
# Started by .ci/arm64_bench.py through .ci/arm64.sh (FRESH=1: the packages added
# here go into a throw-away overlay, never into the cached root CI uses).
#
# Steps, each timed:
#   1. peers  - apt: baresip-core (g711, aubridge, aufile modules), iproute2
#               (bench_media_cpu runs baresip in a network namespace), sip-tester
#               (SIPp, the flood's UAC)
#   2. deps   - the project's runtime dependencies (pyproject.toml) into the
#               cached /opt/venv, which lacks the ones the stage does not need
#   3. boot   - bench/bench_boot.py: start -> first REGISTER, RSS and CPU idle,
#               INVITE -> 180, ours and baresip's and the ratio
#   4. call   - bench/bench_media_cpu.py: CPU of a G.711 call, ours / baresip
#   5. flood  - bench/bench_flood.py: a call running, SIPp's INVITE flood and a
#               garbage storm; RSS growth, longest RTP gap, call kept, OPTIONS
#               after (BENCH_FLOOD=0 leaves it out). Every party (SIPp, the
#               caller, the phone) is emulated on the same cores: the gaps say
#               more about qemu under load than about a Pi; the RSS growth holds.
# Every figure is CPU or time of an emulated process on this host: qemu-user
# translates both programs, so only the ratio carries over to a Pi, not the
# absolute numbers (RSS includes qemu's translator and code cache, for both).
#
# env: BENCH_RUNS (default 3), BENCH_IDLE_SECONDS (default 20),
#      BENCH_CALL_SECONDS (default 60), BENCH_CALL_WINDOWS (default 6),
#      BENCH_FLOOD (default 1).
set -euo pipefail

T0=$SECONDS
log() { printf '[arm64-bench %4ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
step_start() { STEP=$1; STEP_T=$SECONDS; log "== $STEP"; }
step_end() { log "== $STEP done ($((SECONDS - STEP_T))s)"; }
load() { log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }

log "$(uname -m) $(. /etc/os-release && echo "$PRETTY_NAME"), $(python3 --version)"
[ "$(uname -m)" = aarch64 ] || { log "FAIL: not an aarch64 userland"; exit 1; }
PY=/opt/venv/bin/python

step_start peers
apt-get -o Acquire::Retries=3 update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  baresip-core iproute2 sip-tester >/tmp/apt-bench.log 2>&1 || { tail -20 /tmp/apt-bench.log >&2; exit 1; }
log "$(dpkg-query -W -f='${Package} ${Version} ${Architecture}' baresip-core)"
step_end

step_start deps
# shellcheck disable=SC2046  # one word per requirement
"$PY" -m pip install -q $("$PY" -c 'import tomllib; print(" ".join(
    tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))')
step_end

export PYTHONPATH=/srv/project
step_start boot
load
# what qemu-user itself holds resident (translator, code cache) under an emulated
# process that does nothing, and under a bare interpreter: part of the RSS below
rss() { awk '/^VmRSS/ {print $2, $3}' "/proc/$1/status"; }
sleep 8 & s=$!; "$PY" -c 'import time; time.sleep(8)' & p=$!; sleep 5
log "qemu-user floor: resident, emulated sleep(1) $(rss $s), emulated bare python3 $(rss $p)"
wait $s $p
BENCH_RUNS=${BENCH_RUNS:-3} BENCH_IDLE_SECONDS=${BENCH_IDLE_SECONDS:-20} "$PY" bench/bench_boot.py
load
step_end

step_start call
"$PY" bench/bench_media_cpu.py --seconds "${BENCH_CALL_SECONDS:-60}" --windows "${BENCH_CALL_WINDOWS:-6}"
step_end

if [ "${BENCH_FLOOD:-1}" = 1 ]; then
  step_start flood
  load
  "$PY" bench/bench_flood.py --mode both
  load
  step_end
fi

log "arm64 benches done in $((SECONDS - T0))s"
