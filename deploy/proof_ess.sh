#!/usr/bin/env bash
# proof_ess.sh - the weekly ESS drill on a live system. Records the state, activates, checks that
# every trading unit stopped gracefully within the deadline, that no monitor unit was touched, that
# the latch refuses a start, that the exporter, the journal and the audit trail saw it; deactivates,
# checks the resume order; and puts every unit back as it found it, whatever fails. Ends with
# SUMMARY: PASS|FAIL. Usage: drill_usage below (proof_ess.sh --help).
set -Eeuo pipefail
# the libraries' load-once marks, never from the environment (they would skip loading a library)
unset "${!_ESS_LIB_@}"
umask 022 # the files it writes (record_atomic_write) are 0644
export LC_ALL=C

ESS_LIB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib
# shellcheck source=deploy/lib/time.sh
source "$ESS_LIB/time.sh"
# shellcheck source=deploy/lib/config.sh
source "$ESS_LIB/config.sh"
# shellcheck source=deploy/lib/units.sh
source "$ESS_LIB/units.sh"
# shellcheck source=deploy/lib/record.sh
source "$ESS_LIB/record.sh"
# shellcheck source=deploy/lib/verdict.sh
source "$ESS_LIB/verdict.sh"
# shellcheck source=deploy/lib/listener.sh
source "$ESS_LIB/listener.sh"
# shellcheck source=deploy/lib/latch.sh
source "$ESS_LIB/latch.sh"
# shellcheck source=deploy/lib/exempt.sh
source "$ESS_LIB/exempt.sh"

CONTROLLER=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/ess_controller.sh
readonly CONTROLLER
readonly EXPORTER_UNIT=quantum-ess-exporter.service
declare -g EXPORTER_URL=http://127.0.0.1:10170/metrics DRY_RUN=0 FAILS=0 CHECKS=0
declare -g DRILL_ID="" DRILL_ID_DONE="" DRILL_ACT_ID=""
declare -gA BEFORE_ACTIVE=() BEFORE_PID=()
declare -ga WAS_RUNNING=() FAILED_CHECKS=()

# drill_usage: the --help text, as it has always been printed (the lines of the old header and the
# line after it). Unquoted here-document: a backslash at a line's end continues the line.
drill_usage() {
  cat <<USAGE
# proof_ess.sh - the weekly ESS drill on a live system. Records the state, activates, checks that \
every
# trading unit stopped gracefully within the deadline, that no monitor unit was touched, that the \
latch
# refuses a start, that the exporter, the journal and the audit trail saw it; deactivates, checks \
the
# resume order; and puts every unit back as it found it, whatever fails. Ends with SUMMARY: \
PASS|FAIL.
#
#   proof_ess.sh [--dry-run] [--exporter-url URL]   (the result is recorded in STATE_DIR/drill.json)
#     --dry-run        check the wiring only (installed, armed, drop-ins, exporter, journal); \
stops nothing
#     --exporter-url   default http://127.0.0.1:10170/metrics; checked when quantum-ess-exporter \
is installed
set -Eeuo pipefail
USAGE
}

drill_log() { logger -t quantum-ess -p user.notice -- "drill: $*" 2>/dev/null || true; }

# drill_check NAME PASS|FAIL|SKIP DETAIL: one line of the drill's report. Writes CHECKS FAILS
# FAILED_CHECKS.
drill_check() {
  CHECKS=$((CHECKS + 1))
  if [[ $2 == FAIL ]]; then FAILS=$((FAILS + 1)) FAILED_CHECKS+=("$1: $3"); fi
  printf '%-4s %-34s %s\n' "$2" "$1" "$3"
}

# drill_pass_if NAME DETAIL_OK DETAIL_FAIL CMD...: PASS when CMD succeeds, else FAIL.
drill_pass_if() {
  local name=$1 ok=$2 bad=$3
  shift 3
  if "$@"; then drill_check "$name" PASS "$ok"; else drill_check "$name" FAIL "$bad"; fi
}

# ---------------------------------------------------------------- checks before any change
drill_exporter_installed() {
  [[ $(systemctl show -P LoadState -- "$EXPORTER_UNIT" 2>/dev/null) == loaded ]]
}

# drill_exporter_value METRIC -> the sample value of a metric (labels included in METRIC)
drill_exporter_value() {
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

# drill_check_verdict WANTED NAME: the shared verdict (status and the exporter compute the same) is
# WANTED.
drill_check_verdict() {
  local wanted=$1 name=$2 v="" series
  latch_observe
  if [[ $VERDICT == "$wanted" ]]; then
    drill_check "$name" PASS "verdict $VERDICT (status exit $VERDICT_CODE)"
  else
    drill_check "$name" FAIL "verdict $VERDICT, expected $wanted: ${VERDICT_PROBLEMS[*]:-}"
  fi
  drill_exporter_installed || return 0
  series="ess_verdict{verdict=\"$VERDICT\"}"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    v=$(drill_exporter_value "$series") && [[ $v == 1 ]] && break
    time_nap 0.2
  done
  drill_pass_if "$name (exporter)" "$series 1, as status says" \
    "$series is ${v:-absent} on $EXPORTER_URL while status says $VERDICT" test "$v" == 1
}

drill_check_wiring() {
  local u unguarded=()
  drill_pass_if "controller" "$CONTROLLER" "controller not found at $CONTROLLER" \
    test -x "$CONTROLLER"
  drill_check "configuration" PASS \
    "${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}: ${#TRADING[@]} trading, ${#MONITOR[@]} monitor units"
  latch_observe
  if ((VERDICT_ARMED)); then
    drill_check "switch armed" PASS "${SWITCH_PATH_UNITS[*]} active, trigger ready"
  else
    drill_check "switch armed" FAIL "${VERDICT_PROBLEMS[*]} (run: ess_controller.sh rearm)"
  fi
  for u in "${TRADING[@]}"; do
    [[ ${GUARD[$u]} == @(yes|absent) ]] || unguarded+=("$u=${GUARD[$u]}")
  done
  if ((${#unguarded[@]} == 0)); then
    drill_check "latch applied by systemd" PASS "AssertPathExists=! on the flag and the\
 persisted latch, on all ${#TRADING[@]} trading units (their Asserts property)"
  else
    drill_check "latch applied by systemd" FAIL "not applied on ${unguarded[*]}\
 (re-run the installer; look for drop-ins overriding it)"
  fi
  drill_check_verdict armed "verdict before the drill"
  drill_check_exporter
  drill_pass_if "journal readable" "journalctl -t quantum-ess works" "journalctl cannot be read" \
    drill_journal_readable
  drill_check_runbook_links
}

# drill_check_exporter: the exporter answers, when it is installed, on the address systemd holds
# for it (not a process that took the port).
drill_check_exporter() {
  local v
  if ! drill_exporter_installed; then
    drill_check "exporter" SKIP "$EXPORTER_UNIT not installed"
  elif ! listener_check ''; then
    drill_check "exporter" FAIL "the exporter's address is not the ESS's: $LISTENER_PROBLEM"
  elif v=$(drill_exporter_value ess_active); then
    drill_check "exporter" PASS "$EXPORTER_URL answers, ess_active=$v (address held by systemd)"
  else
    drill_check "exporter" FAIL "$EXPORTER_UNIT is installed but $EXPORTER_URL does not answer\
 ($(systemctl is-active "$EXPORTER_UNIT" 2>/dev/null || true))"
  fi
}

# The runbook's paths (install.sh --runbook-root) are run as root: they must still be the installed
# programs, in directories only root can write.
drill_check_runbook_links() {
  local root="" f bad=() d
  [[ -r $ESS_LIB/../runbook-root ]] || return 0
  IFS= read -r root <"$ESS_LIB/../runbook-root" || true
  [[ -n $root ]] || return 0
  for f in ops/ess_controller.sh scripts/proof_ess.sh; do
    [[ $(readlink -f -- "$root/$f") == "$(readlink -f -- "$ESS_LIB/../${f#*/}")" ]] ||
      bad+=("$root/$f is not the installed ${f#*/}")
  done
  for d in "$root" "$root/ops" "$root/scripts"; do
    [[ $(stat -c '%u %A' -- "$d" 2>/dev/null) =~ ^0\ d....-..-. ]] ||
      bad+=("$d is not root-owned or is writable by others")
  done
  if ((${#bad[@]} == 0)); then
    drill_check "runbook paths" PASS \
      "$root/ops/ess_controller.sh and scripts/proof_ess.sh are the installed programs"
  else
    drill_check "runbook paths" FAIL \
      "${bad[*]} (re-run install.sh --runbook-root, or use /usr/local/sbin)"
  fi
}

drill_journal_readable() { journalctl -q -t quantum-ess -n 1 --no-pager -o cat >/dev/null 2>&1; }

# ---------------------------------------------------------------- the drill
# drill_record_before: every unit's state before the drill. Writes BEFORE_ACTIVE BEFORE_PID
# WAS_RUNNING, and the unit states (units_read_states).
drill_record_before() {
  units_read_states "${TRADING[@]}" "${MONITOR[@]}" || true
  local u
  for u in "${TRADING[@]}" "${MONITOR[@]}"; do
    BEFORE_ACTIVE[$u]=${ACTIVE[$u]} BEFORE_PID[$u]=${MAINPID[$u]}
  done
  for u in "${ORDER[@]}"; do [[ ${ACTIVE[$u]} == active ]] && WAS_RUNNING+=("$u"); done
  return 0
}

# drill_state_value KEY: the controller's record of the last activation, e.g. ACT_RESULT. Writes ST.
drill_state_value() {
  record_state_load
  [[ -n ${ST[$1]:-} ]] || return 1
  printf '%s' "${ST[$1]}"
}

# drill_latch_is_drills: the latch is still the one this drill set; a real activation that arrived
# meanwhile rewrote the flag with its own id, and then the drill must leave the latch (and trading)
# alone. Writes FLAG_*.
drill_latch_is_drills() {
  [[ -e ${CFG[FLAG_FILE]} ]] || return 0
  latch_flag_read "${CFG[FLAG_FILE]}"
  [[ -n $DRILL_ACT_ID && $FLAG_ID == "$DRILL_ACT_ID" ]]
}

# drill_restore: put every trading unit back as it was: the latch off, the units that ran before
# running again; unless a real activation took over the latch during the drill. Writes DRILL_ID.
drill_restore() {
  local u
  [[ -n $DRILL_ID ]] || return 0
  if ! drill_latch_is_drills; then
    printf 'WARN a real activation (id %s) took over the latch during the drill: %s\n' \
      "${FLAG_ID:-unknown}" "trading stays stopped" >&2
    DRILL_ID=""
    return 0
  fi
  if [[ -e ${CFG[FLAG_FILE]} ]]; then
    "$CONTROLLER" deactivate --no-start --reason "drill $DRILL_ID: restore" >/dev/null 2>&1 || true
  fi
  for u in "${WAS_RUNNING[@]}"; do
    [[ $(systemctl is-active -- "$u" 2>/dev/null) == active ]] ||
      systemctl start -- "$u" 2>/dev/null ||
      printf 'WARN could not restart %s after the drill\n' "$u" >&2
  done
  DRILL_ID=""
}

# drill_run: the full drill, in steps; a step that finds the ESS in a state where the drill must not
# go on (already active, the latch taken over) ends it there.
# Writes DRILL_ID DRILL_ACT_ID DRILL_ID_DONE, and what the steps write.
drill_run() {
  drill_record_before
  if [[ -e ${CFG[FLAG_FILE]} ]]; then
    drill_check "ESS inactive before the drill" FAIL \
      "the ESS is already ACTIVE; a drill needs normal trading state"
    return
  fi
  drill_check "recorded state" PASS "running before: ${WAS_RUNNING[*]:-none}"
  DRILL_ID=drill-$(date -u +%Y%m%dT%H%M%SZ)
  drill_log "$DRILL_ID starting"
  drill_activate
  drill_check_stopped
  drill_check_monitors
  drill_check_refused
  drill_check_verdict active "verdict while latched"
  drill_check_evidence
  if ! drill_latch_is_drills; then
    drill_check "latch still the drill's" FAIL "a real activation (id ${FLAG_ID:-unknown},\
 via ${FLAG_SOURCE:-?}) took over the latch during the drill: NOT deactivating; trading stays\
 stopped"
    DRILL_ID_DONE=$DRILL_ID DRILL_ID=""
    return
  fi
  drill_deactivate
  drill_check_resume_order
  DRILL_ID_DONE=$DRILL_ID
  DRILL_ID=""
}

# drill_activate: the controller's activate, timed. Writes DRILL_ACT_ID.
drill_activate() {
  local out rc=0 t0
  t0=$(time_now_us)
  out=$("$CONTROLLER" activate --source drill --reason "$DRILL_ID" 2>&1) || rc=$?
  [[ $out =~ ESS\ ACTIVATED\ \(id\ ([^,]+), ]] && DRILL_ACT_ID=${BASH_REMATCH[1]}
  drill_pass_if "activate" "exit 0 in $(time_us_to_sec $(($(time_now_us) - t0))) s" \
    "exit $rc: ${out##*$'\n'}" test "$rc" -eq 0
}

# drill_check_stopped: every trading unit down within the deadline, by SIGTERM, its cgroup emptied.
# Writes the unit states (units_read_states), ST.
drill_check_stopped() {
  local u latency result bad=() killed=() leftovers=()
  units_read_states "${TRADING[@]}" "${MONITOR[@]}" || true
  for u in "${TRADING[@]}"; do units_is_down "$u" || bad+=("$u=${ACTIVE[$u]}"); done
  latency=$(drill_state_value ACT_LATENCY_US) || latency=""
  if ((${#bad[@]} == 0)) && [[ $latency =~ ^[0-9]+$ ]] &&
    ((latency <= $(time_sec_to_us "${CFG[STOP_DEADLINE_SEC]}"))); then
    drill_check "all trading units stopped" PASS \
      "in $(time_us_to_sec "$latency") s (deadline ${CFG[STOP_DEADLINE_SEC]} s)"
  else
    drill_check "all trading units stopped" FAIL "still up: ${bad[*]:-none};\
 latency ${latency:-unknown} us (deadline ${CFG[STOP_DEADLINE_SEC]} s)"
  fi
  result=$(drill_state_value ACT_RESULT) || result=unknown
  for u in "${TRADING[@]}"; do
    [[ " $(drill_state_value ACT_UNITS) " == *" $u=killed/"* ]] && killed+=("$u")
    [[ " $(drill_state_value ACT_UNITS) " == *" $u=leftovers-killed/"* ]] && leftovers+=("$u")
  done
  if ((${#killed[@]} == 0)); then
    drill_check "graceful stop (SIGTERM)" PASS "no unit needed SIGKILL (result $result)"
  else
    drill_check "graceful stop (SIGTERM)" FAIL "ignored SIGTERM, needed SIGKILL: ${killed[*]}"
  fi
  if ((${#leftovers[@]} == 0)); then
    drill_check "no leftover processes" PASS "every trading unit's cgroup emptied by its own stop"
  else
    drill_check "no leftover processes" FAIL "processes outlived the stop and were SIGKILLed\
 (KillMode=process/none/mixed or detached children): ${leftovers[*]}"
  fi
}

# drill_check_monitors: no monitor unit changed state or main PID (unit states read by
# drill_check_stopped).
drill_check_monitors() {
  local u touched=()
  for u in "${MONITOR[@]}"; do
    [[ ${ACTIVE[$u]} == "${BEFORE_ACTIVE[$u]}" && ${MAINPID[$u]} == "${BEFORE_PID[$u]}" ]] ||
      touched+=("$u")
  done
  if ((${#touched[@]} == 0)); then
    drill_check "monitor units untouched" PASS "${#MONITOR[@]} units, same state and main PID"
  else
    drill_check "monitor units untouched" FAIL "changed: ${touched[*]}"
  fi
}

# drill_check_refused: systemctl start refused on every trading unit while latched.
drill_check_refused() {
  local u started=()
  for u in "${TRADING[@]}"; do
    if systemctl start -- "$u" >/dev/null 2>&1 ||
      [[ $(systemctl is-active -- "$u" 2>/dev/null || true) == active ]]; then
      started+=("$u")
    fi
  done
  if ((${#started[@]} == 0)); then
    drill_check "start refused while latched" PASS \
      "systemctl start refused on all ${#TRADING[@]} trading units"
  else
    drill_check "start refused while latched" FAIL "started while latched: ${started[*]}"
  fi
}

# drill_check_evidence: the exporter, the journal and the audit trail saw the activation.
drill_check_evidence() {
  local v="" chain
  if drill_exporter_installed; then
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      v=$(drill_exporter_value ess_active) && [[ $v == 1 ]] && break
      sleep 0.1
    done
    drill_pass_if "exporter ess_active" "ess_active=1" \
      "ess_active=${v:-no answer from $EXPORTER_URL}" test "$v" == 1
  else
    drill_check "exporter ess_active" SKIP "$EXPORTER_UNIT not installed"
  fi
  drill_pass_if "journal entries" "journalctl -t quantum-ess has $DRILL_ID" \
    "no journal entry for $DRILL_ID" \
    grep -q "$DRILL_ID" <(journalctl -t quantum-ess --no-pager -o cat -n 200 2>/dev/null)
  drill_pass_if "audit trail entry" "${CFG[AUDIT_FILE]} has $DRILL_ID" \
    "no audit line for $DRILL_ID" \
    grep -qs "\"reason\":\"$DRILL_ID\"" "${CFG[AUDIT_FILE]}"
  if chain=$("$CONTROLLER" verify-audit 2>&1); then
    drill_check "audit chain" PASS "${chain##*$'\n'}"
  else
    drill_check "audit chain" FAIL "${chain##*$'\n'}"
  fi
}

# drill_deactivate: the latch cleared and the units that ran before started again, in order:
#   every unit ran before   -> deactivate (it starts them all in START_ORDER)
#   only some ran before    -> deactivate --no-start, then start just those, in order
# Writes the unit states (units_start_confirmed), START_ERROR.
drill_deactivate() {
  local u out rc=0
  if ((${#WAS_RUNNING[@]} == ${#ORDER[@]})); then
    out=$("$CONTROLLER" deactivate --reason "$DRILL_ID: resume" 2>&1) || rc=$?
  else
    out=$("$CONTROLLER" deactivate --no-start --reason "$DRILL_ID: resume" 2>&1) || rc=$?
    for u in "${WAS_RUNNING[@]}"; do ((rc != 0)) || units_start_confirmed "$u" || rc=$?; done
  fi
  drill_pass_if "deactivate" "latch cleared, exit 0" "exit $rc: ${out##*$'\n'}" test "$rc" -eq 0
}

# drill_check_resume_order: the units that ran before are active again, started in START_ORDER.
# Writes the unit states (units_read_states).
drill_check_resume_order() {
  local u prev=0 ts order_ok=1 detail=()
  units_read_states "${WAS_RUNNING[@]}" || true
  for u in "${WAS_RUNNING[@]}"; do
    ts=$(systemctl show -P ActiveEnterTimestampMonotonic -- "$u" 2>/dev/null || echo 0)
    [[ ${ACTIVE[$u]} == active ]] || { order_ok=0; detail+=("$u=${ACTIVE[$u]}"); continue; }
    ((ts > prev)) || { order_ok=0; detail+=("$u out of order"); }
    prev=$ts
  done
  if ((order_ok)); then
    drill_check "resume order" PASS "${WAS_RUNNING[*]:-nothing to resume} active, in START_ORDER"
  else
    drill_check "resume order" FAIL "${detail[*]}"
  fi
}

main() {
  while (($#)); do
    case $1 in
      --dry-run) DRY_RUN=1; shift ;;
      --exporter-url)
        (($# >= 2)) || { echo "proof_ess.sh: --exporter-url needs a value" >&2; exit 64; }
        EXPORTER_URL=$2; shift 2 ;;
      -h | --help) drill_usage; exit 0 ;;
      *) printf 'proof_ess.sh: unknown option %s\n' "$1" >&2; exit 64 ;;
    esac
  done
  ((EUID == 0)) || { echo "proof_ess.sh: the drill activates the ESS: run as root" >&2; exit 77; }
  config_load_in_force
  printf 'ESS drill on %s at %s%s\n' "$(hostname)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$( ((DRY_RUN)) && echo ' (dry run: nothing is stopped)')"
  trap drill_restore EXIT
  drill_check_wiring
  if ((!DRY_RUN)); then
    if ((FAILS == 0)); then
      drill_run
    else
      drill_check "drill" SKIP "not started: the wiring checks failed"
    fi
  fi
  drill_restore
  drill_log "${DRILL_ID_DONE:-dry run} finished: $((CHECKS - FAILS))/$CHECKS checks passed"
  drill_record ||
    printf 'WARN could not record the drill in %s/drill.json\n' "${CFG[STATE_DIR]}" >&2
  drill_summary
}

# drill_summary: the last lines; returns 0 when every check passed.
drill_summary() {
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

# drill_record: STATE_DIR/drill.json (contract section 5), where the exporter reads the last drill.
drill_record() {
  local f=${CFG[STATE_DIR]}/drill.json mode=full result=fail now content="" dry="null" full="null"
  local fmt
  ((!DRY_RUN)) || mode="dry-run"
  ((FAILS != 0)) || result=pass
  [[ -d ${CFG[STATE_DIR]} ]] || install -d -m 0755 "${CFG[STATE_DIR]}" || return 1
  IFS= read -r -d '' -N 4096 content 2>/dev/null <"$f" || true
  [[ $content =~ \"dry-run\":([0-9.]+) ]] && dry=${BASH_REMATCH[1]}
  [[ $content =~ \"full\":([0-9.]+) ]] && full=${BASH_REMATCH[1]}
  now=$EPOCHREALTIME
  if [[ $result == pass && $mode == dry-run ]]; then
    dry=$now
  elif [[ $result == pass ]]; then
    full=$now
  fi
  fmt='{"schema":1,"last":{"time":%s,"mode":"%s","result":"%s","checks":%d,"failed":%d},'
  fmt+='"last_pass":{"dry-run":%s,"full":%s}}\n'
  # shellcheck disable=SC2059 # the format is the constant above
  printf "$fmt" "$now" "$mode" "$result" "$CHECKS" "$FAILS" "$dry" "$full" |
    record_atomic_write "$f" 0644
}

main "$@"
