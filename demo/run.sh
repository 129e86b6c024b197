#!/usr/bin/env bash
# run.sh - the ESS in one minute, told as the story of an incident: boot a real systemd in a
# throwaway container with stand-in trading and monitor services, install the ESS with its own
# installer, stop trading, show what stopped and what kept running, try to restart a trading unit
# under the latch, read the evidence, resume in order, run the weekly drill; then what to try next.
# Needs root (systemd-nspawn).
#
#   run.sh [--keep]   --keep: leave the sandbox running at the end, to try things in it
set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
# args_quote_v: a command line as an operator would type it (the controller's own)
# shellcheck source=deploy/lib/args.sh
source "$REPO/deploy/lib/args.sh"
readonly BOX=ess-demo
readonly SANDBOX=$REPO/sandbox/sandbox.sh
KEEP=0

in_box() { bash "$SANDBOX" exec "$BOX" "$@"; }

# demo_chapter TITLE LINE...: a step of the story: its title, then what happens in it.
demo_chapter() {
  printf '\n\033[1m## %s\033[0m\n' "$1"
  shift
  (($# == 0)) || printf '%s\n' "$@"
}

# demo_show CMD...: the command as typed, then what it printed, in the sandbox.
demo_show() {
  local line
  args_quote_v line "$@"
  printf '$ %s\n' "$line"
  in_box "$@" || true
}

ensure_packages() {
  bash "$SANDBOX" ensure-packages redis-server curl jq
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

# demo_local_time EPOCH_SECONDS: the instant as a local ISO time, to the millisecond.
demo_local_time() {
  local s=${1%.*} frac=${1#*.}
  [[ $1 == *.* ]] || frac=0
  frac=${frac}000
  printf '%(%Y-%m-%dT%H:%M:%S)T.%s%(%z)T' "$s" "${frac:0:3}" "$s"
}

# demo_stop: the operator's stop, timed from outside the controller: when the command returned,
# when systemd saw the last trading unit down, and what the controller recorded.
demo_stop() {
  local out t0 t1 down recorded trigger
  args_quote_v out ess_controller.sh activate --reason "demo: runaway strategy"
  printf '$ %s\n' "$out"
  # shellcheck disable=SC2016 # expanded by the inner bash
  out=$(in_box bash -c '
    t0=$EPOCHREALTIME
    ess_controller.sh activate --reason "demo: runaway strategy" 2>/dev/null
    t1=$EPOCHREALTIME
    units=$(sed -n "s/^TRADING_UNITS=\"\(.*\)\"$/\1/p" /etc/quantum/ess.conf)
    down=0
    for u in $units; do
      # to the microsecond (--timestamp=unix gives whole seconds only)
      t=$(systemctl show -P InactiveEnterTimestamp --timestamp=us+utc "$u.service")
      t=$(date -d "${t#* }" +%s%6N)
      ((t < down)) || down=$t
    done
    printf "TIMES %s %s %s.%06d\n" "$t0" "$t1" "$((down / 1000000))" "$((down % 1000000))"') || true
  printf '%s\n' "$out" | grep -v '^TIMES '
  read -r _ t0 t1 down < <(grep '^TIMES ' <<<"$out") || return 0
  recorded=$(in_box jq -r .last_activation.latency_seconds /var/lib/quantum-ess/state.json)
  trigger=$(in_box jq -r .last_activation.trigger_time /var/lib/quantum-ess/state.json)
  printf '\n  command typed at         %s\n' "$(demo_local_time "$t0")"
  printf '  command returned after   %s s\n' "$(demo_seconds "$t0" "$t1")"
  printf '  all trading units down   %s s after the command started %s\n' \
    "$(demo_seconds "$t0" "$down")" "(systemd's own stop time of the last one)"
  printf '  recorded latency         %s s %s %s\n' "$recorded" \
    "(state.json, from the trigger at $(demo_local_time "$trigger")" \
    "to the last unit down)"
}

# demo_seconds FROM TO: TO - FROM in seconds, to the millisecond.
demo_seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# demo_journal: the activation's own journal lines (the runbook's banners), not the path unit's
# re-check that follows it: every line of the one run that logged the INITIATED banner.
demo_journal() {
  local pid
  printf '$ journalctl -t quantum-ess _PID=<the activation> -o short-iso-precise\n'
  pid=$(in_box journalctl -t quantum-ess -o json --no-pager |
    jq -r 'select(.MESSAGE | tostring | test("=== ESS ACTIVATION INITIATED ===")) | ._PID' |
    tail -n 1)
  [[ -n $pid ]] || return 0
  in_box journalctl -t quantum-ess "_PID=$pid" -o short-iso-precise --no-pager || true
}

# demo_evidence: the state file and the audit trail, their times as local ISO times.
demo_evidence() {
  local when='def t: if type == "number" then strflocaltime("%Y-%m-%dT%H:%M:%S%z") else . end;'
  printf '$ jq .last_activation /var/lib/quantum-ess/state.json   # times shown as local time\n'
  in_box cat /var/lib/quantum-ess/state.json |
    jq "$when"' .last_activation | .trigger_time |= t | .all_stopped_time |= t
      | .units |= map("\(.unit): \(.result), \(.state)")' || true
  printf '$ tail -n 2 /var/log/quantum-ess/audit.jsonl | jq -c ...   # the hash-chained trail\n'
  in_box tail -n 2 /var/log/quantum-ess/audit.jsonl |
    jq -c "$when"' {time: (.ts | t), event, actor, reason, result}' || true
}

demo_next() {
  demo_chapter "What to try next" \
    "  bash test/run-all.sh                        every test, on real systemd (about 40 min on 2 cores)" \
    "  bash demo/run.sh --keep                     keep this sandbox, then enter it:" \
    "    bash sandbox/sandbox.sh exec $BOX bash    (try: systemctl status quantum-execution)" \
    "  sudo deploy/install.sh --runbook-root DIR   install on a host; README.md, section Runbook" \
    "  sudo proof_ess.sh                           the weekly drill on that host"
  ((!KEEP)) || printf '\nThe sandbox %s is still running; %s\n' "$BOX" \
    "remove it with: bash sandbox/sandbox.sh down $BOX"
}

main() {
  [[ ${1:-} != --keep ]] || KEEP=1
  ((EUID == 0)) || { echo "demo: run as root (it boots a systemd-nspawn container)" >&2; exit 77; }
  ensure_packages
  ((KEEP)) || trap 'bash "$SANDBOX" down "$BOX" >/dev/null 2>&1 || true' EXIT

  demo_chapter "A trading host" \
    "A real systemd in a throwaway container, four stand-in trading services and the monitoring," \
    "and the ESS installed by its own installer (deploy/install.sh)."
  bash "$SANDBOX" down "$BOX" >/dev/null
  bash "$SANDBOX" up "$BOX"
  in_box bash /opt/quantum-ess-src/sandbox/provision.sh

  demo_chapter "Before: trading as usual" "The switch is armed; every trading unit runs."
  demo_show ess_controller.sh status
  metrics

  demo_chapter "A strategy runs away: the operator stops all trading" \
    "One command. It returns once every trading unit is down."
  demo_stop

  demo_chapter "After: every trading unit stopped, the monitoring untouched"
  demo_show ess_controller.sh status
  metrics

  demo_chapter "The latch holds: a restart is refused, and says why" \
    "A deploy script or Restart=always gets the same answer."
  demo_show systemctl start quantum-execution.service
  demo_show systemctl status quantum-execution.service --no-pager --lines=0

  demo_chapter "The evidence: journal, state file, audit trail"
  demo_journal
  demo_evidence

  demo_chapter "The incident is closed: resume in order" \
    "deactivate starts the units in START_ORDER, each confirmed before the next."
  demo_show ess_controller.sh deactivate --reason "demo: incident closed"
  demo_show ess_controller.sh status

  demo_chapter "The weekly drill proves it all again" "It stops trading briefly."
  demo_show proof_ess.sh

  demo_next
}

[[ ${BASH_SOURCE[0]} != "$0" ]] || main "$@"
