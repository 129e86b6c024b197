#!/usr/bin/env bash
# sandbox.sh - a throwaway REAL systemd (PID 1 of a systemd-nspawn container) for tests, the demo
# and drills. The container shares the host's /usr read-only and keeps everything else on a tmpfs
# (--volatile=yes), so it boots in well under a second and leaves nothing behind. It cannot set the
# clock (CAP_SYS_TIME dropped): the clock is the host's.
#
#   sandbox.sh up NAME [--netns PATH]
#                               boot NAME with this checkout bind-mounted read-only at
#                               /opt/quantum-ess-src; its own empty network namespace, or with
#                               --netns the one at PATH (made and wired by its caller, as
#                               sandbox/fleet.sh does for the hosts of a fleet on one bridge)
#   sandbox.sh exec NAME CMD..  run CMD inside NAME as root (clean environment, all namespaces)
#   sandbox.sh root NAME        print the host path of NAME's root directory
#   sandbox.sh down NAME        orderly poweroff, SIGKILL fallback, cgroup cleanup
#   sandbox.sh ensure-tools     install systemd-nspawn (pinned to the installed systemd) if missing:
#                               the one place that installs it (test/run-all.sh and demo/run.sh
#                               call it)
#   sandbox.sh ensure-packages PKG...  install those of the Debian packages that are missing
#
# ESS_SANDBOX_PREFIX (default empty) is put before every NAME, so that two test runs on one machine
# (say, two checkouts) never boot, enter or power off each other's sandboxes.
#
# The host's PID 1 need not be systemd. nspawn runs in its own mount namespace with a tmpfs over
# /run/systemd (so it cannot touch a host manager) and in a dedicated sub-cgroup of every host
# hierarchy.
set -Eeuo pipefail

readonly SANDBOX_BASE=${ESS_SANDBOX_BASE:-/tmp/quantum-ess-sandbox}
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SRC_DIR
readonly INNER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

die() { printf 'sandbox: %s\n' "$*" >&2; exit 1; }
state_dir() { printf '%s/%s' "$SANDBOX_BASE" "$1"; }
leader_of() { cat "$(state_dir "$1")/leader.pid" 2>/dev/null || die "$1 is not up"; }
is_alive() { [[ -r /proc/$1/stat ]] && [[ $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) != Z ]]; }
cgroup_name() { printf 'quantum-ess-sandbox-%s' "$1"; }

# The nspawn process we started, and not a recycled PID.
is_our_nspawn() {
  is_alive "$1" && [[ $(cat "/proc/$1/comm" 2>/dev/null) == systemd-nspawn ]] &&
    grep -q "/$(cgroup_name "$2")/" "/proc/$1/cgroup" 2>/dev/null
}

cgroup_roots() {
  if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then echo /sys/fs/cgroup; return; fi
  local d
  for d in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
    [[ -e $d/cgroup.procs ]] && echo "$d"
  done
  return 0
}

ensure_tools() {
  command -v systemd-nspawn >/dev/null && return 0
  local v
  v=$(dpkg-query -W -f='${Version}' systemd)
  echo "installing Debian package systemd-container=$v"
  # pinned: systemd-nspawn must match the installed systemd exactly, or apt upgrades systemd and
  # libsystemd-shared on the host
  local install=(apt-get install -y -q --no-install-recommends "systemd-container=$v")
  if ! DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null
  fi
}

ensure_packages() { # ensure_packages PKG...
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  ((${#missing[@]} > 0)) || return 0
  echo "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >/dev/null
}

inner() { # inner NAME CMD...
  local name=$1
  shift
  # the container shares the host's clock: nothing run in it may set it
  env -i PATH="$INNER_PATH" LANG=C.UTF-8 TERM=dumb nsenter -t "$(leader_of "$name")" -a \
    setpriv --bounding-set -sys_time -- "$@"
}

up() { # up NAME [NETNS_PATH]
  local name=$1 network=--private-network sd cg root pid leader="" i state=""
  [[ $name =~ ^[a-z0-9-]{1,40}$ ]] || die "name must match [a-z0-9-]{1,40}"
  if [[ -n ${2:-} ]]; then
    [[ -e $2 ]] || die "network namespace $2 does not exist"
    network=--network-namespace-path=$2
  fi
  ensure_tools
  sd=$(state_dir "$name") cg=$(cgroup_name "$name")
  if [[ -f $sd/nspawn.pid ]] && is_our_nspawn "$(cat "$sd/nspawn.pid")" "$name"; then
    die "$name is already up"
  fi
  rm -rf "$sd"
  mkdir -p "$sd"
  for root in $(cgroup_roots); do mkdir -p "$root/$cg"; done
  (
    for root in $(cgroup_roots); do echo "$BASHPID" >"$root/$cg/cgroup.procs"; done
    # shellcheck disable=SC2016 # expanded by the inner sh
    exec unshare --mount --propagation private -- sh -c '
      mount -t tmpfs -o mode=0755,size=4m quantum-ess-sandbox /run/systemd || exit 1
      exec systemd-nspawn --quiet -D / --volatile=yes --boot --register=no --keep-unit \
        "$3" --machine="$1" --console=passive --drop-capability=CAP_SYS_TIME \
        --bind-ro="$2:/opt/quantum-ess-src" systemd.firstboot=off' sh "$name" "$SRC_DIR" "$network"
  ) >"$sd/console.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$sd/nspawn.pid"
  for ((i = 0; i < 400; i++)); do # the container's PID 1 is a direct child of systemd-nspawn
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd-nspawn ]]; then
      # shellcheck disable=SC2013 # PIDs separated by spaces: word splitting is wanted
      for c in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        [[ $(cat "/proc/$c/comm" 2>/dev/null) == systemd ]] && leader=$c
      done
    fi
    [[ -n $leader ]] && break
    is_alive "$pid" || { cat "$sd/console.log" >&2; die "systemd-nspawn exited during boot"; }
    sleep 0.025
  done
  [[ -n $leader ]] || die "no systemd found inside $name after 10 s"
  echo "$leader" >"$sd/leader.pid"
  readlink "/proc/$leader/ns/pid" >"$sd/pidns"
  for ((i = 0; i < 600; i++)); do # first the manager's bus, then the end of boot
    state=$(inner "$name" systemctl is-system-running --wait 2>/dev/null) && break
    case $state in running | degraded) break ;; esac
    sleep 0.05
  done
  case $state in
    running) ;;
    # units of host packages that cannot run in a container (e.g. ipmievd); ours are checked by
    # the tests
    degraded) ;;
    *) die "$name did not finish booting (state '${state:-none}')" ;;
  esac
  printf 'sandbox %s up (systemd %s, state %s)\n' "$name" \
    "$(inner "$name" systemctl --version | awk 'NR==1{print $2}')" "$state"
}

down() {
  local name=$1 sd pid leader ns i root
  sd=$(state_dir "$name")
  [[ -d $sd ]] || return 0
  pid=$(cat "$sd/nspawn.pid" 2>/dev/null || true)
  leader=$(cat "$sd/leader.pid" 2>/dev/null || true)
  ns=$(cat "$sd/pidns" 2>/dev/null || true)
  if [[ -n $pid ]] && is_our_nspawn "$pid" "$name"; then
    kill -TERM "$pid" # nspawn forwards SIGRTMIN+3 to the container's systemd: a clean poweroff
    for ((i = 0; i < 300; i++)); do is_alive "$pid" || break; sleep 0.05; done
  fi
  if [[ -n $leader && -n $ns && $(readlink "/proc/$leader/ns/pid" 2>/dev/null) == "$ns" ]]; then
    printf 'sandbox: %s did not power off in 15 s; SIGKILL to its init\n' "$name" >&2
    kill -KILL "$leader" || true # the whole PID namespace dies with its init
    sleep 0.5
  fi
  if [[ -n $pid ]] && is_our_nspawn "$pid" "$name"; then kill -KILL "$pid" || true; fi
  for root in $(cgroup_roots); do
    [[ -d $root/$(cgroup_name "$name") ]] &&
      find "$root/$(cgroup_name "$name")" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$sd"
  printf 'sandbox %s down\n' "$name"
}

root_of() { local leader; leader=$(leader_of "$1"); printf '/proc/%s/root\n' "$leader"; }

main() {
  local cmd=${1:-}
  shift || true
  # every NAME gets the prefix here, once; the commands below only ever see the full name
  if [[ $cmd == @(up|exec|root|down) && $# -ge 1 ]]; then
    set -- "${ESS_SANDBOX_PREFIX:-}$1" "${@:2}"
  fi
  case $cmd in
    up)
      (($# == 1)) || { (($# == 3)) && [[ $2 == --netns ]]; } ||
        die "usage: sandbox.sh up NAME [--netns PATH]"
      up "$1" "${3:-}"
      ;;
    exec) (($# >= 2)) || die "usage: sandbox.sh exec NAME CMD..."; inner "$@" ;;
    root) (($# == 1)) || die "usage: sandbox.sh root NAME"; root_of "$1" ;;
    down) (($# == 1)) || die "usage: sandbox.sh down NAME"; down "$1" ;;
    ensure-tools) ensure_tools ;;
    ensure-packages) ensure_packages "$@" ;;
    *) sed -n '2,25p' "$0" >&2; exit 64 ;;
  esac
}

main "$@"
