#!/usr/bin/env bash
# proof_ess.sh - the weekly ESS drill on a live system. Records the state, activates, checks that every
# trading unit stopped gracefully within the deadline, that no monitor unit was touched, that the latch
# refuses a start, that the exporter, the journal and the audit trail saw it; deactivates, checks the
# resume order; and puts every unit back as it found it, whatever fails. Ends with SUMMARY: PASS|FAIL.
#
#   proof_ess.sh [--dry-run] [--exporter-url URL]   (the result is recorded in STATE_DIR/drill.json)
#     --dry-run        check the wiring only (installed, armed, drop-ins, exporter, journal); stops nothing
#     --exporter-url   default http://127.0.0.1:10170/metrics; checked when quantum-ess-exporter is installed
set -Eeuo pipefail
umask 022 # the files it writes (atomic_write) are 0644
export LC_ALL=C

ESS_LIB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib
# shellcheck source=deploy/lib/config.sh
source "$ESS_LIB/config.sh"
# shellcheck source=deploy/lib/units.sh
source "$ESS_LIB/units.sh"
# shellcheck source=deploy/lib/record.sh
source "$ESS_LIB/record.sh"
# shellcheck source=deploy/lib/verdict.sh
source "$ESS_LIB/verdict.sh"
# shellcheck source=deploy/lib/latch.sh
source "$ESS_LIB/latch.sh"
# shellcheck source=deploy/lib/exempt.sh
source "$ESS_LIB/exempt.sh"

CONTROLLER=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/ess_controller.sh
readonly CONTROLLER
readonly EXPORTER_UNIT=quantum-ess-exporter.service
declare -g EXPORTER_URL=http://127.0.0.1:10170/metrics DRY_RUN=0 FAILS=0 CHECKS=0 DRILL_ID="" DRILL_ID_DONE="" DRILL_ACT_ID=""
declare -gA BEFORE_ACTIVE=() BEFORE_PID=()
declare -ga WAS_RUNNING=() FAILED_CHECKS=()

drill_log() { logger -t quantum-ess -p user.notice -- "drill: $*" 2>/dev/null || true; }

check() { # check NAME PASS|FAIL|SKIP DETAIL
  CHECKS=$((CHECKS + 1))
  if [[ $2 == FAIL ]]; then FAILS=$((FAILS + 1)) FAILED_CHECKS+=("$1: $3"); fi
  printf '%-4s %-34s %s\n' "$2" "$1" "$3"
}

pass_if() { # pass_if NAME DETAIL_OK DETAIL_FAIL CMD...
  local name=$1 ok=$2 bad=$3
  shift 3
  if "$@"; then check "$name" PASS "$ok"; else check "$name" FAIL "$bad"; fi
}

# ---------------------------------------------------------------- checks before any change
exporter_installed() { [[ $(systemctl show -P LoadState -- "$EXPORTER_UNIT" 2>/dev/null) == loaded ]]; }

exporter_value() { # exporter_value METRIC -> the sample value of a metric (labels included in METRIC)
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

# check_verdict WANTED NAME: the shared verdict (status and the exporter compute the same) is WANTED.
check_verdict() {
  local wanted=$1 name=$2 v=""
  latch_observe
  if [[ $VERDICT == "$wanted" ]]; then check "$name" PASS "verdict $VERDICT (status exit $VERDICT_CODE)"
  else check "$name" FAIL "verdict $VERDICT, expected $wanted: ${VERDICT_PROBLEMS[*]:-}"; fi
  if exporter_installed; then
    for _ in 1 2 3 4 5 6 7 8 9 10; do v=$(exporter_value "ess_verdict{verdict=\"$VERDICT\"}") && [[ $v == 1 ]] && break; nap 0.2; done
    pass_if "$name (exporter)" "ess_verdict{verdict=\"$VERDICT\"} 1, as status says" \
      "ess_verdict{verdict=\"$VERDICT\"} is ${v:-absent} on $EXPORTER_URL while status says $VERDICT" test "$v" == 1
  fi
}

check_wiring() {
  local u unguarded=()
  pass_if "controller" "$CONTROLLER" "controller not found at $CONTROLLER" test -x "$CONTROLLER"
  check "configuration" PASS "${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}: ${#TRADING[@]} trading, ${#MONITOR[@]} monitor units"
  latch_observe
  if ((VERDICT_ARMED)); then check "switch armed" PASS "${SWITCH_PATH_UNITS[*]} active, trigger ready"
  else check "switch armed" FAIL "${VERDICT_PROBLEMS[*]} (run: ess_controller.sh rearm)"; fi
  for u in "${TRADING[@]}"; do [[ ${GUARD[$u]} == @(yes|absent) ]] || unguarded+=("$u=${GUARD[$u]}"); done
  if ((${#unguarded[@]} == 0)); then check "latch applied by systemd" PASS "AssertPathExists=! on the flag and the persisted latch, on all ${#TRADING[@]} trading units (their Asserts property)"
  else check "latch applied by systemd" FAIL "not applied on ${unguarded[*]} (re-run the installer; look for drop-ins overriding it)"; fi
  check_verdict armed "verdict before the drill"
  if exporter_installed; then
    local v
    if v=$(exporter_value ess_active); then check "exporter" PASS "$EXPORTER_URL answers, ess_active=$v"
    else check "exporter" FAIL "$EXPORTER_UNIT is installed but $EXPORTER_URL does not answer ($(systemctl is-active "$EXPORTER_UNIT" 2>/dev/null || true))"; fi
  else
    check "exporter" SKIP "$EXPORTER_UNIT not installed"
  fi
  pass_if "journal readable" "journalctl -t quantum-ess works" "journalctl cannot be read" journal_readable
  check_runbook_links
}

# The runbook's paths (install.sh --runbook-root) are run as root: they must still be the installed
# programs, in directories only root can write.
check_runbook_links() {
  local root="" f bad=() d
  [[ -r $ESS_LIB/../runbook-root ]] || return 0
  IFS= read -r root <"$ESS_LIB/../runbook-root" || true
  [[ -n $root ]] || return 0
  for f in ops/ess_controller.sh scripts/proof_ess.sh; do
    [[ $(readlink -f -- "$root/$f") == "$(readlink -f -- "$ESS_LIB/../${f#*/}")" ]] || bad+=("$root/$f is not the installed ${f#*/}")
  done
  for d in "$root" "$root/ops" "$root/scripts"; do
    [[ $(stat -c '%u %A' -- "$d" 2>/dev/null) =~ ^0\ d....-..-. ]] || bad+=("$d is not root-owned or is writable by others")
  done
  if ((${#bad[@]} == 0)); then check "runbook paths" PASS "$root/ops/ess_controller.sh and scripts/proof_ess.sh are the installed programs"
  else check "runbook paths" FAIL "${bad[*]} (re-run install.sh --runbook-root, or use /usr/local/sbin)"; fi
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

state_value() { # state_value KEY: the controller's record of the last activation, e.g. ACT_RESULT
  state_load
  [[ -n ${ST[$1]:-} ]] || return 1
  printf '%s' "${ST[$1]}"
}

# latch_is_drills: the latch is still the one this drill set; a real activation that arrived meanwhile
# rewrote the flag with its own id, and then the drill must leave the latch (and trading) alone.
latch_is_drills() {
  [[ -e ${CFG[FLAG_FILE]} ]] || return 0
  flag_read "${CFG[FLAG_FILE]}"
  [[ -n $DRILL_ACT_ID && $FLAG_ID == "$DRILL_ACT_ID" ]]
}

# Put every trading unit back as it was: the latch off, the units that ran before running again;
# unless a real activation took over the latch during the drill.
restore() {
  local u
  [[ -n $DRILL_ID ]] || return 0
  if ! latch_is_drills; then
    printf 'WARN a real activation (id %s) took over the latch during the drill: trading stays stopped\n' "${FLAG_ID:-unknown}" >&2
    DRILL_ID=""
    return 0
  fi
  if [[ -e ${CFG[FLAG_FILE]} ]]; then "$CONTROLLER" deactivate --no-start --reason "drill $DRILL_ID: restore" >/dev/null 2>&1 || true; fi
  for u in "${WAS_RUNNING[@]}"; do
    [[ $(systemctl is-active -- "$u" 2>/dev/null) == active ]] || systemctl start -- "$u" 2>/dev/null ||
      printf 'WARN could not restart %s after the drill\n' "$u" >&2
  done
  DRILL_ID=""
}

run_drill() {
  local u out rc=0 t0 latency result bad=() killed=() leftovers=() touched=() started=()
  record_before
  if [[ -e ${CFG[FLAG_FILE]} ]]; then
    check "ESS inactive before the drill" FAIL "the ESS is already ACTIVE; a drill needs normal trading state"
    return
  fi
  check "recorded state" PASS "running before: ${WAS_RUNNING[*]:-none}"
  DRILL_ID=drill-$(date -u +%Y%m%dT%H%M%SZ)
  drill_log "$DRILL_ID starting"
  t0=$(now_us)
  out=$("$CONTROLLER" activate --source drill --reason "$DRILL_ID" 2>&1) || rc=$?
  [[ $out =~ ESS\ ACTIVATED\ \(id\ ([^,]+), ]] && DRILL_ACT_ID=${BASH_REMATCH[1]}
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
    [[ " $(state_value ACT_UNITS) " == *" $u=leftovers-killed/"* ]] && leftovers+=("$u")
  done
  if ((${#killed[@]} == 0)); then check "graceful stop (SIGTERM)" PASS "no unit needed SIGKILL (result $result)"
  else check "graceful stop (SIGTERM)" FAIL "ignored SIGTERM, needed SIGKILL: ${killed[*]}"; fi
  if ((${#leftovers[@]} == 0)); then check "no leftover processes" PASS "every trading unit's cgroup emptied by its own stop"
  else check "no leftover processes" FAIL "processes outlived the stop and were SIGKILLed (KillMode=process/none/mixed or detached children): ${leftovers[*]}"; fi

  for u in "${MONITOR[@]}"; do
    [[ ${ACTIVE[$u]} == "${BEFORE_ACTIVE[$u]}" && ${MAINPID[$u]} == "${BEFORE_PID[$u]}" ]] || touched+=("$u")
  done
  if ((${#touched[@]} == 0)); then check "monitor units untouched" PASS "${#MONITOR[@]} units, same state and main PID"
  else check "monitor units untouched" FAIL "changed: ${touched[*]}"; fi

  for u in "${TRADING[@]}"; do
    if systemctl start -- "$u" >/dev/null 2>&1 || [[ $(systemctl is-active -- "$u" 2>/dev/null || true) == active ]]; then
      started+=("$u")
    fi
  done
  if ((${#started[@]} == 0)); then check "start refused while latched" PASS "systemctl start refused on all ${#TRADING[@]} trading units"
  else check "start refused while latched" FAIL "started while latched: ${started[*]}"; fi
  check_verdict active "verdict while latched"

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

  if ! latch_is_drills; then
    check "latch still the drill's" FAIL "a real activation (id ${FLAG_ID:-unknown}, via ${FLAG_SOURCE:-?}) took over the latch during the drill: NOT deactivating; trading stays stopped"
    DRILL_ID_DONE=$DRILL_ID DRILL_ID=""
    return
  fi
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
  load_config_in_force
  printf 'ESS drill on %s at %s%s\n' "$(hostname)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$( ((DRY_RUN)) && echo ' (dry run: nothing is stopped)')"
  trap restore EXIT
  check_wiring
  if ((!DRY_RUN)); then
    if ((FAILS == 0)); then run_drill; else check "drill" SKIP "not started: the wiring checks failed"; fi
  fi
  restore
  drill_log "${DRILL_ID_DONE:-dry run} finished: $((CHECKS - FAILS))/$CHECKS checks passed"
  record_drill || printf 'WARN could not record the drill in %s/drill.json\n' "${CFG[STATE_DIR]}" >&2
  local f
  if ((FAILS == 0)); then
    echo "SUMMARY: PASS ($CHECKS checks)"
    echo "ESS is production-ready for emergency stop scenarios"
  else
    echo "SUMMARY: FAIL ($FAILS of $CHECKS checks failed)"
    echo "Fix before relying on the ESS:"
    for f in "${FAILED_CHECKS[@]}"; do printf '  - %s\n' "$f"; done
  fi
  ((FAILS == 0))
}

# record_drill: STATE_DIR/drill.json (contract section 5), where the exporter reads the last drill.
record_drill() {
  local f=${CFG[STATE_DIR]}/drill.json mode=full result=fail now content="" dry="null" full="null"
  ((!DRY_RUN)) || mode="dry-run"
  ((FAILS != 0)) || result=pass
  [[ -d ${CFG[STATE_DIR]} ]] || install -d -m 0755 "${CFG[STATE_DIR]}" || return 1
  IFS= read -r -d '' -N 4096 content 2>/dev/null <"$f" || true
  [[ $content =~ \"dry-run\":([0-9.]+) ]] && dry=${BASH_REMATCH[1]}
  [[ $content =~ \"full\":([0-9.]+) ]] && full=${BASH_REMATCH[1]}
  now=$EPOCHREALTIME
  if [[ $result == pass && $mode == dry-run ]]; then dry=$now; elif [[ $result == pass ]]; then full=$now; fi
  printf '{"schema":1,"last":{"time":%s,"mode":"%s","result":"%s","checks":%d,"failed":%d},"last_pass":{"dry-run":%s,"full":%s}}\n' \
    "$now" "$mode" "$result" "$CHECKS" "$FAILS" "$dry" "$full" | atomic_write "$f" 0644
}

main "$@"
