#!/usr/bin/env bash
# run.sh - the ESS in one minute: boot a real systemd in a throwaway container, start stand-in
# trading and monitor services, install the ESS with its own installer, trip it, show what happened,
# try to restart a trading unit under the latch, then resume in order. Needs root (systemd-nspawn).
set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
readonly BOX=ess-demo
readonly SANDBOX=$REPO/sandbox/sandbox.sh

in_box() { bash "$SANDBOX" exec "$BOX" "$@"; }
banner() { printf '\n\033[1m## %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; in_box "$@" || true; }

ensure_packages() {
  bash "$SANDBOX" ensure-packages redis-server curl
  bash "$SANDBOX" ensure-tools # systemd-nspawn, pinned to the installed systemd
  if [[ ! -f $REPO/dist/src/main.js ]]; then
    echo "building the exporter (npm ci && npm run build)"
    (cd "$REPO" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
  fi
}

metrics() { # the ESS series a dashboard would show
  local series='^ess_(active|switch_armed|latch_violation|last_activation_latency)'
  series+='|^ess_verdict.*} 1$'
  printf '$ curl -s http://127.0.0.1:10170/metrics | grep -E "%s|trading.*} 1$"\n' "$series"
  # shellcheck disable=SC2016 # expanded by the inner bash
  in_box bash -c 'curl -s http://127.0.0.1:10170/metrics | grep -E "$1|role=\"trading\".*} 1$"' _ \
    "$series" || true
}

main() {
  ((EUID == 0)) || { echo "demo: run as root (it boots a systemd-nspawn container)" >&2; exit 1; }
  ensure_packages
  trap 'bash "$SANDBOX" down "$BOX" >/dev/null 2>&1 || true' EXIT

  banner "Boot a real systemd sandbox, start stand-in services, install the ESS and its exporter" \
    "(deploy/install.sh)"
  bash "$SANDBOX" down "$BOX" >/dev/null
  bash "$SANDBOX" up "$BOX"
  in_box bash /opt/quantum-ess-src/sandbox/provision.sh

  banner "Before: trading as usual"
  show ess_controller.sh status
  metrics

  banner "Trip it: ess_controller.sh activate"
  show ess_controller.sh activate --reason "demo: runaway strategy"
  sleep 0.3

  banner "After: every trading unit stopped, monitors untouched"
  show ess_controller.sh status
  metrics

  banner "The latch holds: a restart attempt is refused"
  show systemctl start quantum-execution.service

  banner "Evidence: journal (tag quantum-ess), state file, audit trail"
  show journalctl -t quantum-ess --no-pager -o short-precise -n 12
  show cat /var/lib/quantum-ess/state.json
  show tail -n 2 /var/log/quantum-ess/audit.jsonl

  banner "Controlled resume: ess_controller.sh deactivate (units start in START_ORDER)"
  show ess_controller.sh deactivate --reason "demo: incident closed"
  show ess_controller.sh status

  banner "The weekly drill: proof_ess.sh"
  show proof_ess.sh
}

main "$@"
