#!/usr/bin/env bash
# arm64.sh - run a command inside an emulated Debian bookworm arm64 userland
# (what Raspberry Pi OS 64-bit is built on), on an x86_64 Debian host, with
# qemu-user-static + binfmt_misc + debootstrap. Needs root.
# Vendored from the team's notes/toolchain-scripts/arm64-ci.sh (measured recipe
# in notes/arm64-emulation.md); changes for piphone: FRESH=1 runs the command in a
# throw-away overlay on top of the cached root (so `make install` starts from a
# clean system every run), CI_PASS_ENV passes named variables in, PIP_PKGS=none
# skips the cache-warming venv, and leftover processes of the command are killed.
#
# usage: arm64.sh CACHE_DIR [PROJECT_DIR] [COMMAND ...]
#   CACHE_DIR    the root filesystem is built here once and reused
#                (CACHE_DIR/<arch>/root); a warm run only mounts and runs.
#   PROJECT_DIR  project to test (default: .). Its git-tracked and untracked
#                non-ignored files (or the whole tree minus .git) are copied
#                fresh into /srv/project inside the root on every run.
#   COMMAND      run in /srv/project with /opt/venv first on PATH
#                (default: python -m pytest -q -p no:cacheprovider)
# env (all optional):
#   ARCH=arm64|armhf   target (default arm64). armhf gets numpy, Pillow, cbor2 from
#                      Debian (PyPI has no armv7l wheels; cbor2 6 needs Rust).
#   APT_PKGS="..."     extra Debian packages for the root
#   PIP_PKGS="..."     packages for the cached /opt/venv (default: gpiozero luma.oled
#                      pyalsaaudio pytest numpy pillow; on armhf without numpy pillow).
#                      Also fills pip's cache in the root, so later installs (and the
#                      RPi.GPIO / pyalsaaudio builds) come from it. "none": no venv.
#   PIP_REQS=FILE      requirements file, relative to PROJECT_DIR, installed too
#   FRESH=1            run COMMAND in an overlay over the cached root, discarded after
#   CI_PASS_ENV="A B"  names of host variables passed into the root
#   MIRROR=URL         Debian mirror (default: the one in this host's apt sources)
#   SECURITY_MIRROR=URL  (default: the host's, if any)
# Idempotent: each phase leaves a stamp in the root and is skipped when done.
# Mounts proc, /dev/shm and /dev/pts inside the root and unmounts them on exit.
# Exit status: COMMAND's (or 2 if setting up failed).
set -euo pipefail

log() { printf '[arm64-ci %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (chroot, mount, binfmt_misc)"
[ $# -ge 1 ] || die "usage: $0 CACHE_DIR [PROJECT_DIR] [COMMAND ...]"

CACHE=$(mkdir -p "$1" && cd "$1" && pwd); shift
PROJECT=$(cd "${1:-.}" && pwd); if [ $# -ge 1 ]; then shift; fi
[ $# -ge 1 ] || set -- python -m pytest -q -p no:cacheprovider
ARCH=${ARCH:-arm64}
SUITE=bookworm
case $ARCH in
  arm64) QEMU=aarch64
         DEF_PIP="gpiozero luma.oled pyalsaaudio pytest numpy pillow"; SYS_SITE= ;;
  armhf) QEMU=arm
         DEF_PIP="gpiozero luma.oled pyalsaaudio pytest"; SYS_SITE=--system-site-packages
         APT_PKGS="python3-numpy python3-pil python3-cbor2 ${APT_PKGS:-}" ;;
  *) die "ARCH must be arm64 or armhf" ;;
esac
BASE_APT="python3 python3-venv python3-dev gcc libc6-dev libasound2-dev ca-certificates"
APT_ALL="$BASE_APT ${APT_PKGS:-}"
PIP_ALL=${PIP_PKGS:-$DEF_PIP}
ROOT=$CACHE/$ARCH/root
T0=$SECONDS
mkdir -p "$CACHE/$ARCH"
exec 9>"$CACHE/$ARCH/.lock"; flock -w 3600 9 || die "another run holds $CACHE/$ARCH/.lock"

# --- mounts, always undone on exit ------------------------------------------
MOUNTED=()
cleanup() {
  local m
  for m in "${MOUNTED[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" || log "could not unmount $m"; done
  if [ -n "${RUN_DIR:-}" ] && ! awk -v d="$RUN_DIR/" 'index($2, d) == 1 {f=1} END {exit !f}' /proc/mounts; then
    rm -rf --one-file-system "$RUN_DIR"
  fi
}
CHILD=
trap cleanup EXIT
# on a signal, stop the command running in the root first, then unmount (EXIT trap)
trap 'if [ -n "$CHILD" ]; then kill -TERM -- "-$CHILD" 2>/dev/null; wait "$CHILD"; fi; exit 130' INT TERM HUP
mnt() {  # mnt TARGET mount-args...   (skipped if TARGET is already a mount point)
  local t=$1; shift
  mountpoint -q "$t" && return 0
  mount "$@" "$t"; MOUNTED=("$t" "${MOUNTED[@]}")
}
# refuse to delete a tree that still has anything mounted below it
safe_rm() {
  local d=$1 m
  for m in $(awk -v d="$d/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do umount "$m" || umount -l "$m"; done
  if awk -v d="$d/" 'index($2, d) == 1 {f=1} END {exit !f}' /proc/mounts; then die "mounts remain under $d"; fi
  rm -rf --one-file-system "$d"
}

# --- 1. host tools and binfmt_misc -----------------------------------------
if ! command -v qemu-$QEMU-static >/dev/null || ! command -v debootstrap >/dev/null || ! command -v update-binfmts >/dev/null; then
  log "installing qemu-user-static debootstrap binfmt-support on the host"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static debootstrap binfmt-support >/dev/null
fi
BM=/proc/sys/fs/binfmt_misc
[ -e $BM/register ] || mount -t binfmt_misc binfmt_misc $BM || die "cannot mount binfmt_misc"
# (binfmt_misc stays mounted and registered: it is host-wide and needed by any later run)
if [ "$(head -1 $BM/qemu-$QEMU 2>/dev/null)" != enabled ]; then
  update-binfmts --enable qemu-$QEMU 2>/dev/null \
    || { [ -e $BM/qemu-$QEMU ] && echo 1 > $BM/qemu-$QEMU; } \
    || cat /usr/lib/binfmt.d/qemu-$QEMU.conf > $BM/register
fi
grep -q '^flags:.*F' $BM/qemu-$QEMU || die "qemu-$QEMU binfmt lacks the F flag (needed inside a chroot)"
log "binfmt qemu-$QEMU enabled ($((SECONDS-T0))s)"

# --- 2. debootstrap (cached) -------------------------------------------------
host_uri() {  # host_uri security|main -> the host's Debian mirror URL
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    awk '$1=="deb" {print $2}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null; } |
  if [ "$1" = security ]; then grep -m1 'debian-security'; else grep -v 'debian-security' | grep -m1 '/debian/\?$'; fi
}
MIRROR=${MIRROR:-$(host_uri main || true)}
SECURITY_MIRROR=${SECURITY_MIRROR:-$(host_uri security || true)}
[ -n "$MIRROR" ] || die "no Debian mirror in the host's apt sources; set MIRROR"
if [ ! -e "$ROOT/.ci-debootstrap.ok" ]; then
  log "debootstrap --arch=$ARCH --variant=minbase $SUITE (cold: a few minutes)"
  if [ -e "$ROOT" ]; then safe_rm "$ROOT"; fi
  if [ -e "$ROOT.tmp" ]; then safe_rm "$ROOT.tmp"; fi
  t=$SECONDS
  for i in 1 2; do  # a cold build must not fail CI on one network hiccup: retry once
    if debootstrap --arch="$ARCH" --variant=minbase "$SUITE" "$ROOT.tmp" "$MIRROR" > "$CACHE/$ARCH/debootstrap.log" 2>&1; then break; fi
    tail -20 "$CACHE/$ARCH/debootstrap.log" >&2
    [ $i = 2 ] && die "debootstrap failed twice (log: $CACHE/$ARCH/debootstrap.log)"
    log "debootstrap failed; retrying in 20s from scratch"; safe_rm "$ROOT.tmp"; sleep 20
  done
  mv "$ROOT.tmp" "$ROOT"
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/doc/*/copyright\n' \
    > "$ROOT/etc/dpkg/dpkg.cfg.d/01-ci-nodoc"
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"
  touch "$ROOT/.ci-debootstrap.ok"
  log "debootstrap done in $((SECONDS-t))s"
fi

# per-run host state copied in: DNS, the host's CA bundle (for pip over TLS), apt sources
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
if [ -s /etc/ssl/certs/ca-certificates.crt ]; then mkdir -p "$ROOT/etc/ssl"; cp -L /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/host-ca.crt"; fi
{ echo "deb $MIRROR $SUITE main"; echo "deb $MIRROR $SUITE-updates main"
  if [ -n "$SECURITY_MIRROR" ] && [ ! -e "$ROOT/.ci-no-security" ]; then echo "deb $SECURITY_MIRROR $SUITE-security main"; fi; } > "$ROOT/etc/apt/sources.list"

mnt "$ROOT/proc" -t proc proc
mnt "$ROOT/dev/shm" -t tmpfs -o mode=1777,size=512m shm
mnt "$ROOT/dev/pts" --bind /dev/pts

PASS_ENV=()
for v in CI GPIOZERO_PIN_FACTORY http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_INDEX_URL ${CI_PASS_ENV:-}; do
  if [ -n "${!v:-}" ]; then PASS_ENV+=("$v=${!v}"); fi
done
CERT=(); if [ -e "$ROOT/etc/ssl/host-ca.crt" ]; then CERT=(PIP_CERT=/etc/ssl/host-ca.crt); fi
ENV_ARGS=(HOME=/root LANG=C.UTF-8 TERM=dumb
  PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 PIP_ROOT_USER_ACTION=ignore
  "${CERT[@]}" "${PASS_ENV[@]}")
in_root() {  # in_root CMD... : run inside the root with a clean environment
  chroot "$ROOT" /usr/bin/env -i "${ENV_ARGS[@]}" "$@"
}
in_root /bin/true || die "cannot run $ARCH binaries in $ROOT"

# --- 3. Debian packages (stamp = hash of the list) ----------------------------
h=$(echo "$APT_ALL" | tr ' ' '\n' | sort -u | sha256sum | cut -c1-12)
if [ ! -e "$ROOT/.ci-apt.$h" ]; then
  log "apt-get install $APT_ALL"; t=$SECONDS
  for i in 1 2 3; do  # a mirror mid-sync answers 'File has unexpected size': retry
    if in_root apt-get -o Acquire::Retries=3 update -qq; then break; fi
    if [ $i = 2 ] && grep -q -- -security "$ROOT/etc/apt/sources.list"; then
      log "WARNING: dropping $SUITE-security from the root's sources (its index did not verify)"
      sed -i '/-security/d' "$ROOT/etc/apt/sources.list"; NO_SECURITY=1
    fi
    [ $i = 3 ] && die "apt-get update failed"; log "apt-get update failed, retrying in 20s"; sleep 20
  done
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $APT_ALL > "$CACHE/$ARCH/apt.log" 2>&1 \
    || { tail -20 "$CACHE/$ARCH/apt.log" >&2; die "apt-get install failed"; }
  in_root apt-get clean
  rm -f "$ROOT"/.ci-apt.*; touch "$ROOT/.ci-apt.$h"
  if [ -n "${NO_SECURITY:-}" ]; then touch "$ROOT/.ci-no-security"; fi
  log "apt done in $((SECONDS-t))s"
fi

# --- 4. venv + pip (stamp = hash of the package list and requirements file) ---
REQ_IN=
if [ -n "${PIP_REQS:-}" ]; then
  [ -f "$PROJECT/$PIP_REQS" ] || die "PIP_REQS=$PIP_REQS not found in $PROJECT"
  mkdir -p "$ROOT/opt/ci"; cp "$PROJECT/$PIP_REQS" "$ROOT/opt/ci/requirements.txt"; REQ_IN=/opt/ci/requirements.txt
fi
h=$( { echo "$PIP_ALL"; if [ -n "$REQ_IN" ]; then cat "$ROOT$REQ_IN"; fi; } | sha256sum | cut -c1-12)
if [ "$PIP_ALL" != none ] && [ ! -e "$ROOT/.ci-pip.$h" ]; then
  t=$SECONDS
  if [ ! -x "$ROOT/opt/venv/bin/python" ]; then
    log "python3 -m venv $SYS_SITE /opt/venv"
    in_root python3 -m venv $SYS_SITE /opt/venv
    in_root pip install -q wheel   # so sdists (pyalsaaudio, RPi.GPIO) build as wheels
  fi
  log "pip install $PIP_ALL${REQ_IN:+ -r $PIP_REQS}"
  in_root pip install -q $PIP_ALL ${REQ_IN:+-r "$REQ_IN"} \
    || { log "pip install failed; retrying once in 20s"; sleep 20; in_root pip install -q $PIP_ALL ${REQ_IN:+-r "$REQ_IN"}; } \
    || die "pip install failed"
  rm -f "$ROOT"/.ci-pip.*; touch "$ROOT/.ci-pip.$h"
  log "venv done in $((SECONDS-t))s"
fi

# --- 5. the run's root: the cached one, or a throw-away overlay over it ------
RUN_ROOT=$ROOT
if [ "${FRESH:-0}" = 1 ]; then
  RUN_DIR=$CACHE/$ARCH/run
  if [ -e "$RUN_DIR" ]; then safe_rm "$RUN_DIR"; fi   # left by a killed run
  mkdir -p "$RUN_DIR/upper" "$RUN_DIR/work" "$RUN_DIR/merged"
  # the overlay must not see the setup's mounts in the lower root
  for m in "$ROOT/dev/pts" "$ROOT/dev/shm" "$ROOT/proc"; do
    if mountpoint -q "$m"; then umount "$m" || umount -l "$m"; fi
  done
  MOUNTED=()
  mnt "$RUN_DIR/merged" -t overlay overlay -o "lowerdir=$ROOT,upperdir=$RUN_DIR/upper,workdir=$RUN_DIR/work"
  RUN_ROOT=$RUN_DIR/merged
  mnt "$RUN_ROOT/proc" -t proc proc
  mnt "$RUN_ROOT/dev/shm" -t tmpfs -o mode=1777,size=512m shm
  mnt "$RUN_ROOT/dev/pts" --bind /dev/pts
  log "fresh overlay root for this run: $RUN_ROOT"
fi

# --- 6. copy the project in, run the command ---------------------------------
safe_rm "$RUN_ROOT/srv/project"; mkdir -p "$RUN_ROOT/srv/project"
if git -C "$PROJECT" rev-parse --show-toplevel >/dev/null 2>&1; then
  git -C "$PROJECT" ls-files -co --exclude-standard -z \
    | tar -C "$PROJECT" --null --ignore-failed-read -T - -cf - | tar -C "$RUN_ROOT/srv/project" -xf -
else
  tar -C "$PROJECT" --exclude=.git -cf - . | tar -C "$RUN_ROOT/srv/project" -xf -
fi
log "setup took $((SECONDS-T0))s; running in $ARCH root: $*"
t=$SECONDS; rc=0
# run in its own process group, in the background, and wait: a signal to this
# script then stops the whole group at once (see the trap) before unmounting
setsid chroot "$RUN_ROOT" /usr/bin/env -i "${ENV_ARGS[@]}" PYTHONDONTWRITEBYTECODE=1 \
  /bin/sh -c 'cd /srv/project && exec "$@"' sh "$@" </dev/null 9>&- & CHILD=$!
wait "$CHILD" || rc=$?
# anything the command left running in its group (a daemon, a stuck child) goes too
if kill -TERM -- "-$CHILD" 2>/dev/null; then sleep 1; kill -KILL -- "-$CHILD" 2>/dev/null || true; fi
CHILD=
log "command exited $rc after $((SECONDS-t))s (total $((SECONDS-T0))s)"
exit $rc
