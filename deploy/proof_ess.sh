#!/usr/bin/env bash
# proof_ess.sh - the weekly ESS drill on a live system. Records the state, activates, checks that every
# trading unit stopped gracefully within the deadline, that no monitor unit was touched, that the latch
# refuses a start, that the exporter, the journal and the audit trail saw it; deactivates, checks the
# resume order; and puts every unit back as it found it, whatever fails. Ends with SUMMARY: PASS|FAIL.
#
#   proof_ess.sh [--dry-run] [--exporter-url URL]
#     --dry-run        check the wiring only (installed, armed, drop-ins, exporter, journal); stops nothing
#     --exporter-url   default http://127.0.0.1:10170/metrics; checked when quantum-ess-exporter is installed
set -Eeuo pipefail
export LC_ALL=C

ESS_LIB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib
# shellcheck source=deploy/lib/config.sh
source "$ESS_LIB/config.sh"
# shellcheck source=deploy/lib/units.sh
source "$ESS_LIB/units.sh"

CONTROLLER=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/ess_controller.sh
readonly CONTROLLER
readonly EXPORTER_UNIT=quantum-ess-exporter.service
declare -g EXPORTER_URL=http://127.0.0.1:10170/metrics DRY_RUN=0 FAILS=0 CHECKS=0 DRILL_ID="" DRILL_ID_DONE=""
declare -gA BEFORE_ACTIVE=() BEFORE_PID=()
declare -ga WAS_RUNNING=()

log_event() { logger -t quantum-ess -p user.notice -- "drill: $*" 2>/dev/null || true; }

check() { # check NAME PASS|FAIL|SKIP DETAIL
  CHECKS=$((CHECKS + 1))
  [[ $2 == FAIL ]] && FAILS=$((FAILS + 1))
  printf '%-4s %-34s %s\n' "$2" "$1" "$3"
}

pass_if() { # pass_if NAME DETAIL_OK DETAIL_FAIL CMD...
  local name=$1 ok=$2 bad=$3
  shift 3
  if "$@"; then check "$name" PASS "$ok"; else check "$name" FAIL "$bad"; fi
}

# ---------------------------------------------------------------- checks before any change
exporter_installed() { [[ $(systemctl show -P LoadState -- "$EXPORTER_UNIT" 2>/dev/null) == loaded ]]; }

exporter_value() { # exporter_value METRIC -> the sample value of an unlabelled metric
  local body line
  body=$(curl -fsS --max-time 2 "$EXPORTER_URL" 2>/dev/null) || return 1
  while IFS= read -r line; do
    if [[ $line == "$1 "* ]]; then
      printf '%s' "${line#"$1 "}"
      return 0
    fi
  done <<<"$body"
  return 1
}

check_wiring() {
  local u missing=() armed=()
  pass_if "controller" "$CONTROLLER" "controller not found at $CONTROLLER" test -x "$CONTROLLER"
  check "configuration" PASS "${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}: ${#TRADING[@]} trading, ${#MONITOR[@]} monitor units"
  read_unit_states quantum-ess.path quantum-ess-trip.path || true
  for u in quantum-ess.path quantum-ess-trip.path; do [[ ${ACTIVE[$u]} == active ]] || armed+=("$u is ${ACTIVE[$u]}"); done
  if ((${#armed[@]} == 0)); then check "switch armed" PASS "quantum-ess.path and quantum-ess-trip.path active"
  else check "switch armed" FAIL "${armed[*]} (run: ess_controller.sh rearm)"; fi
  for u in "${TRADING[@]}"; do
    [[ $(systemctl show -P DropInPaths -- "$u" 2>/dev/null) == *50-quantum-ess-latch.conf* ]] || missing+=("$u")
  done
  if ((${#missing[@]} == 0)); then check "latch drop-ins" PASS "on all ${#TRADING[@]} trading units"
  else check "latch drop-ins" FAIL "missing on ${missing[*]} (re-run the installer)"; fi
  if exporter_installed; then
    local v
    if v=$(exporter_value ess_active); then check "exporter" PASS "$EXPORTER_URL answers, ess_active=$v"
    else check "exporter" FAIL "$EXPORTER_UNIT is installed but $EXPORTER_URL does not answer ($(systemctl is-active "$EXPORTER_UNIT" 2>/dev/null || true))"; fi
  else
    check "exporter" SKIP "$EXPORTER_UNIT not installed"
  fi
  pass_if "journal readable" "journalctl -t quantum-ess works" "journalctl cannot be read" journal_readable
}

journal_readable() { journalctl -q -t quantum-ess -n 1 --no-pager -o cat >/dev/null 2>&1; }

# ---------------------------------------------------------------- the drill
record_before() {
  read_unit_states "${TRADING[@]}" "${MONITOR[@]}" || true
  local u
  for u in "${TRADING[@]}" "${MONITOR[@]}"; do BEFORE_ACTIVE[$u]=${ACTIVE[$u]} BEFORE_PID[$u]=${MAINPID[$u]}; done
  for u in "${ORDER[@]}"; do [[ ${ACTIVE[$u]} == active ]] && WAS_RUNNING+=("$u"); done
  return 0
}

state_value() { # state_value KEY: the controller's own record (state.env), e.g. ACT_RESULT
  local line
  line=$(grep -s "^$1=" "${CFG[STATE_DIR]}/state.env") || return 1
  printf '%s' "${line#*=}"
}

# Put every trading unit back as it was: the latch off, the units that ran before running again.
restore() {
  local u
  [[ -n $DRILL_ID ]] || return 0
  if [[ -e ${CFG[FLAG_FILE]} ]]; then "$CONTROLLER" deactivate --no-start --reason "drill $DRILL_ID: restore" >/dev/null 2>&1 || true; fi
  for u in "${WAS_RUNNING[@]}"; do
    [[ $(systemctl is-active -- "$u" 2>/dev/null) == active ]] || systemctl start -- "$u" 2>/dev/null ||
      printf 'WARN could not restart %s after the drill\n' "$u" >&2
  done
  DRILL_ID=""
}

run_drill() {
  local u out rc=0 t0 latency result bad=() killed=() touched=()
  record_before
  if [[ -e ${CFG[FLAG_FILE]} ]]; then
    check "ESS inactive before the drill" FAIL "the ESS is already ACTIVE; a drill needs normal trading state"
    return
  fi
  check "recorded state" PASS "running before: ${WAS_RUNNING[*]:-none}"
  DRILL_ID=drill-$(date -u +%Y%m%dT%H%M%SZ)
  log_event "$DRILL_ID starting"
  t0=$(now_us)
  out=$("$CONTROLLER" activate --source drill --reason "$DRILL_ID" 2>&1) || rc=$?
  pass_if "activate" "exit 0 in $(us_to_sec $(($(now_us) - t0))) s" "exit $rc: ${out##*$'\n'}" test "$rc" -eq 0

  read_unit_states "${TRADING[@]}" "${MONITOR[@]}" || true
  for u in "${TRADING[@]}"; do is_down "$u" || bad+=("$u=${ACTIVE[$u]}"); done
  latency=$(state_value ACT_LATENCY_US) || latency=""
  if ((${#bad[@]} == 0)) && [[ $latency =~ ^[0-9]+$ ]] && ((latency <= $(sec_to_us "${CFG[STOP_DEADLINE_SEC]}"))); then
    check "all trading units stopped" PASS "in $(us_to_sec "$latency") s (deadline ${CFG[STOP_DEADLINE_SEC]} s)"
  else
    check "all trading units stopped" FAIL "still up: ${bad[*]:-none}; latency ${latency:-unknown} us (deadline ${CFG[STOP_DEADLINE_SEC]} s)"
  fi
  result=$(state_value ACT_RESULT) || result=unknown
  for u in "${TRADING[@]}"; do
    [[ " $(state_value ACT_UNITS) " == *" $u=killed/"* ]] && killed+=("$u")
  done
  if ((${#killed[@]} == 0)); then check "graceful stop (SIGTERM)" PASS "no unit needed SIGKILL (result $result)"
  else check "graceful stop (SIGTERM)" FAIL "ignored SIGTERM, needed SIGKILL: ${killed[*]}"; fi

  for u in "${MONITOR[@]}"; do
    [[ ${ACTIVE[$u]} == "${BEFORE_ACTIVE[$u]}" && ${MAINPID[$u]} == "${BEFORE_PID[$u]}" ]] || touched+=("$u")
  done
  if ((${#touched[@]} == 0)); then check "monitor units untouched" PASS "${#MONITOR[@]} units, same state and main PID"
  else check "monitor units untouched" FAIL "changed: ${touched[*]}"; fi

  u=${TRADING[0]}
  if systemctl start -- "$u" >/dev/null 2>&1; then
    check "start refused while latched" FAIL "systemctl start $u succeeded"
  else
    sleep 0.2
    pass_if "start refused while latched" "systemctl start $u refused, still $(systemctl is-active -- "$u" 2>/dev/null || true)" \
      "$u is running after a refused start" test "$(systemctl is-active -- "$u" 2>/dev/null || true)" != active
  fi

  if exporter_installed; then
    local v=""
    for _ in 1 2 3 4 5 6 7 8 9 10; do v=$(exporter_value ess_active) && [[ $v == 1 ]] && break; sleep 0.1; done
    pass_if "exporter ess_active" "ess_active=1" "ess_active=${v:-no answer from $EXPORTER_URL}" test "$v" == 1
  else
    check "exporter ess_active" SKIP "$EXPORTER_UNIT not installed"
  fi
  pass_if "journal entries" "journalctl -t quantum-ess has $DRILL_ID" "no journal entry for $DRILL_ID" \
    grep -q "$DRILL_ID" <(journalctl -t quantum-ess --no-pager -o cat -n 200 2>/dev/null)
  pass_if "audit trail entry" "${CFG[AUDIT_FILE]} has $DRILL_ID" "no audit line for $DRILL_ID" \
    grep -qs "\"reason\":\"$DRILL_ID\"" "${CFG[AUDIT_FILE]}"
  local chain
  if chain=$("$CONTROLLER" verify-audit 2>&1); then check "audit chain" PASS "${chain##*$'\n'}"
  else check "audit chain" FAIL "${chain##*$'\n'}"; fi

  rc=0
  if ((${#WAS_RUNNING[@]} == ${#ORDER[@]})); then
    out=$("$CONTROLLER" deactivate --reason "$DRILL_ID: resume" 2>&1) || rc=$?
  else # only some units ran before: clear the latch and start just those, in order
    out=$("$CONTROLLER" deactivate --no-start --reason "$DRILL_ID: resume" 2>&1) || rc=$?
    for u in "${WAS_RUNNING[@]}"; do ((rc != 0)) || start_confirmed "$u" || rc=$?; done
  fi
  pass_if "deactivate" "latch cleared, exit 0" "exit $rc: ${out##*$'\n'}" test "$rc" -eq 0
  check_resume_order
  DRILL_ID_DONE=$DRILL_ID
  DRILL_ID=""
}

check_resume_order() {
  local u prev=0 ts order_ok=1 detail=()
  read_unit_states "${WAS_RUNNING[@]}" || true
  for u in "${WAS_RUNNING[@]}"; do
    ts=$(systemctl show -P ActiveEnterTimestampMonotonic -- "$u" 2>/dev/null || echo 0)
    [[ ${ACTIVE[$u]} == active ]] || { order_ok=0; detail+=("$u=${ACTIVE[$u]}"); continue; }
    ((ts > prev)) || { order_ok=0; detail+=("$u out of order"); }
    prev=$ts
  done
  if ((order_ok)); then check "resume order" PASS "${WAS_RUNNING[*]:-nothing to resume} active, in START_ORDER"
  else check "resume order" FAIL "${detail[*]}"; fi
}

main() {
  while (($#)); do
    case $1 in
      --dry-run) DRY_RUN=1; shift ;;
      --exporter-url) (($# >= 2)) || { echo "proof_ess.sh: --exporter-url needs a value" >&2; exit 64; }; EXPORTER_URL=$2; shift 2 ;;
      -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
      *) printf 'proof_ess.sh: unknown option %s\n' "$1" >&2; exit 64 ;;
    esac
  done
  ((EUID == 0)) || { echo "proof_ess.sh: the drill activates the ESS: run as root" >&2; exit 77; }
  load_config
  printf 'ESS drill on %s at %s%s\n' "$(hostname)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$( ((DRY_RUN)) && echo ' (dry run: nothing is stopped)')"
  trap restore EXIT
  check_wiring
  if ((!DRY_RUN)); then
    if ((FAILS == 0)); then run_drill; else check "drill" SKIP "not started: the wiring checks failed"; fi
  fi
  restore
  log_event "${DRILL_ID_DONE:-dry run} finished: $((CHECKS - FAILS))/$CHECKS checks passed"
  if ((FAILS == 0)); then echo "SUMMARY: PASS ($CHECKS checks)"; else echo "SUMMARY: FAIL ($FAILS of $CHECKS checks failed)"; fi
  ((FAILS == 0))
}

main "$@"
