#!/usr/bin/env bash
# proof_ess.sh - the weekly ESS drill on a live system. Records the state, activates, checks that
# every trading unit stopped gracefully within the deadline, that no monitor unit was touched, that
# the latch refuses a start, that the exporter, the journal and the audit trail saw it; deactivates,
# checks the resume order; and puts every unit back as it found it, whatever fails. Ends with
# SUMMARY: PASS|FAIL. Usage: drill_usage below (proof_ess.sh --help).
set -Eeuo pipefail
umask 022 # the files it writes (record_atomic_write) are 0644
export LC_ALL=C TZ=UTC

ESS_LIB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib
# shellcheck source=deploy/lib/load.sh
source "$ESS_LIB/load.sh"
load_all
ESS_PROG=proof_ess.sh # the libraries' messages start with the drill's name, as its own do

CONTROLLER=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/ess_controller.sh
readonly CONTROLLER
readonly EXPORTER_UNIT=quantum-ess-exporter.service
declare -g EXPORTER_URL=http://127.0.0.1:10170/metrics DRY_RUN=0 FAILS=0 CHECKS=0
# How root scrapes its own exporter when the web config asks for TLS, a client certificate or a
# password: curl's config format (url, cacert, cert, key, user), root's alone since it may hold a
# password and curl obeys what it says (docs/operator-guide.md, "The drill").
readonly SCRAPE_CURLRC=/etc/quantum/ess-drill.curlrc SCRAPE_CURLRC_MAX_BYTES=65536
readonly SCRAPE_CURLRC_KEYS='url|cacert|capath|cert|cert-type|key|key-type|pass|user'
declare -g DRILL_ID="" DRILL_ID_DONE="" DRILL_TOKEN="" DRILL_REQUEST="" SCRAPE_PROBLEM=""
declare -g SCRAPE_OPTIONS="" SCRAPE_URL=""
# 1 when the ESS was latched (an incident, a maintenance window) as the drill began: it then checks
# that the latch holds, never advises clearing it, and leaves the triggers for an armed switch.
declare -g DRILL_LATCHED=0
declare -gA BEFORE_ACTIVE=() BEFORE_PID=()
declare -ga WAS_RUNNING=() FAILED_CHECKS=()
# The trigger methods, each proved end to end on every full drill (docs/operator-guide.md, "The
# drill"), in this order; what each writes into the flag it creates (the drill's own latch, checked
# before clearing).
readonly DRILL_METHODS=(command systemctl touch trip-request)
readonly -A DRILL_METHOD_SOURCE=([command]=drill [systemctl]=drill [touch]="" \
  [trip-request]=trip-request)
# per method: pass|fail, and trigger -> all trading units down in µs (systemd's timestamps)
declare -gA DRILL_RESULT=() DRILL_LATENCY_US=()

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
#     options in any order, --exporter-url=URL too
#     --dry-run        check the wiring only (installed, armed, drop-ins, exporter, journal); \
stops nothing
#     --exporter-url   default http://127.0.0.1:10170/metrics; checked when quantum-ess-exporter \
is installed
#     $SCRAPE_CURLRC, if present (root:root 0600, curl's config format): how root \
scrapes the
#       exporter when its web config asks for TLS, a client certificate or a password (its url \
is the default)
#   Exit codes: 0 SUMMARY: PASS; 1 SUMMARY: FAIL; 2 SUMMARY: NOT RUN (a full drill while the ESS
#   is active: it checks the latch, stops nothing); 64 usage; 77 not root; 78 bad configuration.
USAGE
}

# drill_usage_error MESSAGE: what is wrong, in one line, and where the whole usage is (exit 64)
drill_usage_error() {
  printf "proof_ess.sh: %s (see 'proof_ess.sh --help')\n" "$1" >&2
  exit 64
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

# drill_check_actions (dry run): every on-trip action run in check mode (credentials valid, venue
# reachable, nothing cancelled) and waited for: one check per action, FAIL naming it. No check
# without actions.
drill_check_actions() {
  local name
  actions_list
  ((${#ACTIONS_NAMES[@]} > 0)) || return 0
  actions_check_all "drill-check-$(date -u +%Y%m%dT%H%M%SZ)"
  for name in "${ACTIONS_NAMES[@]}"; do drill_check_action "action $name" "$name"; done
}

# drill_check_trip_actions METHOD ID (full drill): the on-trip actions the activation ID ran (in
# ACTION_MODE), waited for: one check per action, FAIL naming one that failed, timed out or was
# refused. Results of earlier activations do not count. No check without actions.
drill_check_trip_actions() {
  local name
  actions_list
  ((${#ACTIONS_NAMES[@]} > 0)) || return 0
  if [[ -z $2 ]]; then
    drill_check "$1: on-trip actions" FAIL "no activation recorded: their results cannot be told"
    return
  fi
  actions_await "$2"
  for name in "${ACTIONS_NAMES[@]}"; do drill_check_action "$1: action $name" "$name"; done
}

# drill_check_action CHECK NAME: the check named CHECK from ACTIONS_RESULT[NAME] (actions_await):
# PASS when the action checked (check mode) or did its work (real mode), else FAIL with how it
# ended and where to look.
drill_check_action() {
  local r=${ACTIONS_RESULT[$2]:-} text raw="" detail="" mode=""
  text="sudo cat $(actions_result_dir)/$2.json; journalctl -t quantum-ess"
  if [[ -n $r ]] && config_read_bounded_v raw "$(actions_result_dir)/$2.json" 65536; then
    actions_field_v detail "$raw" detail '"([^"]*)"'
    actions_field_v mode "$raw" mode '"([a-z]+)"'
  fi
  case $r in
    checked) drill_check "$1" PASS "check mode passed (nothing cancelled)" ;;
    verified) drill_check "$1" PASS "real mode: done and verified" ;;
    unverified) drill_check "$1" PASS "real mode: done, NOT verified (exit 3; $text)" ;;
    refused) drill_check "$1" FAIL "refused, never run: $detail; fix: root:root and\
 no group or other write on the file and its directories" ;;
    "") drill_check "$1" FAIL "no result within ACTION_TIMEOUT_SEC; see $text" ;;
    *) drill_check "$1" FAIL "$mode mode ended $r ($detail); see $text" ;;
  esac
}

# ---------------------------------------------------------------- checks before any change
drill_exporter_installed() {
  [[ $(systemctl show -P LoadState -- "$EXPORTER_UNIT" 2>/dev/null) == loaded ]]
}

# drill_scrape_read: SCRAPE_CURLRC checked and read once (a file no one but root can change, on a
# path no one else can change: what is checked is what is used), each line one of
# SCRAPE_CURLRC_KEYS: how to reach the exporter, nothing that writes a file, reads another config,
# or outlasts the drill's own limits (curl takes an option's last value). Writes SCRAPE_PROBLEM
# (why it is refused, '' when absent or fine) SCRAPE_OPTIONS (its lines but url) SCRAPE_URL.
drill_scrape_read() {
  local owner mode size n=0 line
  SCRAPE_PROBLEM="" SCRAPE_OPTIONS="" SCRAPE_URL=""
  [[ -e $SCRAPE_CURLRC || -L $SCRAPE_CURLRC ]] || return 0
  config_owner_problem_v SCRAPE_PROBLEM "$SCRAPE_CURLRC" "${SCRAPE_CURLRC%/*}"
  [[ -z $SCRAPE_PROBLEM ]] || { SCRAPE_PROBLEM+="; fix: make it root's alone"; return 0; }
  if [[ -L $SCRAPE_CURLRC || ! -f $SCRAPE_CURLRC ]]; then
    SCRAPE_PROBLEM="$SCRAPE_CURLRC is not a regular file; fix: make it one (root:root 0600)"
    return 0
  fi
  read -r owner mode size < <(stat -c '%u %a %s' -- "$SCRAPE_CURLRC")
  if [[ $owner != 0 ]] || ((8#$mode & 8#022)); then
    SCRAPE_PROBLEM="$SCRAPE_CURLRC is owned by uid $owner with mode $mode: whoever can change it\
 chooses what root runs curl with; fix: sudo chown root:root $SCRAPE_CURLRC && sudo chmod 0600\
 $SCRAPE_CURLRC"
    return 0
  fi
  if ((size > SCRAPE_CURLRC_MAX_BYTES)); then
    SCRAPE_PROBLEM="$SCRAPE_CURLRC is $size bytes (at most $SCRAPE_CURLRC_MAX_BYTES); fix: sudoedit\
 $SCRAPE_CURLRC"
    return 0
  fi
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    drill_scrape_line "$line" && continue
    SCRAPE_PROBLEM="$SCRAPE_CURLRC line $n sets what the drill does not take from it (only\
 ${SCRAPE_CURLRC_KEYS//|/, }, one per line, as --name VALUE, name = VALUE or name: VALUE); fix:\
 sudoedit $SCRAPE_CURLRC"
    break
  done < <(head -c "$SCRAPE_CURLRC_MAX_BYTES" -- "$SCRAPE_CURLRC")
  [[ -z $SCRAPE_PROBLEM ]] || SCRAPE_OPTIONS="" SCRAPE_URL=""
}

# drill_scrape_line LINE: one line of SCRAPE_CURLRC taken (a comment, a blank, one of
# SCRAPE_CURLRC_KEYS with its value on the line), or 1. Writes SCRAPE_OPTIONS SCRAPE_URL.
drill_scrape_line() {
  local re="^[[:space:]]*(--)?($SCRAPE_CURLRC_KEYS)([[:space:]]*[=:][[:space:]]*|[[:space:]]+)(.+)\$"
  local blank='^[[:space:]]*(#|$)'
  [[ ! $1 =~ $blank ]] || return 0
  [[ $1 =~ $re ]] || return 1
  if [[ ${BASH_REMATCH[2]} != url ]]; then
    SCRAPE_OPTIONS+=$1$'\n'
  elif [[ -z $SCRAPE_URL && ${BASH_REMATCH[4]} =~ ^\"?([^\"[:space:]]+) ]]; then
    SCRAPE_URL=${BASH_REMATCH[1]}
  fi
}

# drill_scrape: the exporter's metrics on stdout, as root scrapes them: SCRAPE_CURLRC's options
# (its url left out: EXPORTER_URL is the one address), curl's error on stderr. Never with a file
# others could have written. No other curl config is read (-q), and the drill's own limits come
# after the file's options, so they are the ones in force. --max-time bounds the transfer only: a
# file the options name that blocks on open (a FIFO at a cacert path) would hold curl for ever,
# hence timeout(1) around it.
drill_scrape() {
  [[ -z $SCRAPE_PROBLEM ]] || return 1
  timeout --kill-after=1 3 curl -q --config <(printf '%s' "$SCRAPE_OPTIONS") -fsS \
    --proto =http,https --max-time 2 --url "$EXPORTER_URL"
}

# drill_unscraped_v VAR: why EXPORTER_URL gives no metrics, and the fix: SCRAPE_CURLRC refused, the
# exporter's web config asking for what the drill was not told (curl's exit codes for a 401 and for
# TLS: the scheme, the CA, a client certificate), or the exporter down.
drill_unscraped_v() {
  local _du_state _du_error _du_fix
  if [[ -n $SCRAPE_PROBLEM ]]; then
    printf -v "$1" 'not scraped: %s' "$SCRAPE_PROBLEM"
    return 0
  fi
  _du_state=$(systemctl is-active "$EXPORTER_UNIT" 2>/dev/null || true)
  _du_error=$(drill_scrape 2>&1 >/dev/null | tail -n 1 || true)
  advice_exporter_down_v _du_fix
  if [[ $_du_state == active && $_du_error =~ ^curl:\ \((22|35|52|56|58|59|60|77|80|83|90|91)\) ]]
  then
    _du_fix="if its web config asks for TLS, a client certificate or a password, say how root\
 scrapes it in $SCRAPE_CURLRC (url, cacert, cert, key, user; root:root 0600); else $_du_fix"
  fi
  printf -v "$1" '%s' "$EXPORTER_UNIT is installed but $EXPORTER_URL does not answer (unit\
 $_du_state${_du_error:+; $_du_error}); fix: $_du_fix"
}

# drill_exporter_value METRIC -> the sample value of a metric (labels included in METRIC)
drill_exporter_value() {
  local body line
  body=$(drill_scrape 2>/dev/null) || return 1
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
    local advice
    advice_verdict_v advice
    drill_check "$name" FAIL "verdict $VERDICT, expected $wanted: $advice"
  fi
  drill_exporter_installed || return 0
  series="ess_verdict{verdict=\"$VERDICT\"}"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    v=$(drill_exporter_value "$series") && [[ $v == 1 ]] && break
    time_nap 0.2
  done
  if [[ -z $v ]] && ! drill_scrape >/dev/null 2>&1; then
    local why
    drill_unscraped_v why
    drill_check "$name (exporter)" FAIL "$why"
    return 0
  fi
  drill_pass_if "$name (exporter)" "$series 1, as status says" \
    "$series is ${v:-absent} on $EXPORTER_URL while status says $VERDICT; fix: sudo systemctl\
 restart $EXPORTER_UNIT (journalctl -u $EXPORTER_UNIT says why it disagrees)" test "$v" == 1
}

drill_check_wiring() {
  local u unguarded=() exempt=() advice until
  advice_install_command_v advice
  drill_pass_if "controller" "$CONTROLLER" "controller not found at $CONTROLLER; fix: $advice" \
    test -x "$CONTROLLER"
  drill_check_config
  latch_observe
  DRILL_LATCHED=$VERDICT_LATCHED
  if ((VERDICT_ARMED && DRILL_LATCHED)); then
    drill_check "switch armed" PASS "${SWITCH_PATH_UNITS[*]} active, every switch unit loaded as\
 installed (the trigger has run: it is checked once the ESS is deactivated)"
  elif ((VERDICT_ARMED)); then
    drill_check "switch armed" PASS "${SWITCH_PATH_UNITS[*]} active, trigger ready"
  else
    advice_unarmed_v advice
    # the flag removed by hand leaves the trigger as it ran: putting the flag back is the fix
    [[ $VERDICT != tampered ]] || advice_verdict_v advice
    drill_check "switch armed" FAIL "$advice"
  fi
  for u in "${TRADING[@]}"; do
    if [[ ${EXEMPT[$u]} == 1 ]]; then
      until=${EXEMPT_UNTIL[$u]}
      time_iso_v until $((until * 1000000))
      exempt+=("$u until $until")
    elif verdict_not_loaded "$u"; then
      unguarded+=("$u=LoadState:${LOAD[$u]}")
    elif [[ ${GUARD[$u]} != @(yes|absent) ]]; then
      unguarded+=("$u=${GUARD[$u]}")
    fi
  done
  if ((${#unguarded[@]} == 0)); then
    drill_check "latch applied by systemd" PASS "AssertPathExists=! on the flag and the\
 persisted latch, on all ${#TRADING[@]} trading units (their Asserts property)\
${exempt[*]:+; lifted on purpose for maintenance: ${exempt[*]}}"
  else
    advice_unarmed_v advice
    drill_check "latch applied by systemd" FAIL "not applied on ${unguarded[*]}: $advice"
  fi
  if ((DRILL_LATCHED)); then
    drill_check_latched
  else
    drill_check_verdict armed "verdict before the drill"
  fi
  drill_check_twin
  drill_check_exporter
  drill_check_trip_path
  drill_check_heartbeat
  drill_pass_if "journal readable" "journalctl -t quantum-ess works" "journalctl -t quantum-ess\
 cannot be read; fix: sudo systemctl restart systemd-journald" drill_journal_readable
  drill_check_runbook_links
  drill_check_status_unprivileged
}

# drill_check_twin: the unit the systemctl method starts is quantum-ess.service's twin, so that
# what it proves holds for quantum-ess.service (wiring.sh, "twin").
drill_check_twin() {
  drill_pass_if "systemctl twin" "$WIRING_TWIN_UNIT is quantum-ess.service but for its\
 Description and the source it passes" "$WIRING_TWIN_UNIT differs from quantum-ess.service\
 beyond its Description and source: in their files, a reload pending, or a dependency another\
 unit adds (compare: systemctl cat quantum-ess.service $WIRING_TWIN_UNIT; systemctl show -p\
 $WIRING_TWIN_DEPS quantum-ess.service $WIRING_TWIN_UNIT): the systemctl method would not prove\
 quantum-ess.service; fix: sudo ess_controller.sh rearm (a dependency added by another unit:\
 remove it there)" \
    wiring_twin_identical
}

# drill_check_config: the configuration in force, and /etc/quantum/ess.conf judged by the one
# validation check-config and the installer apply (config_check_file_v): an edit the installer
# would refuse (a misspelt key) FAILs naming the key, while the installed configuration stays in
# force.
drill_check_config() {
  local f=$ESS_DEFAULT_CONFIG why inst name=configuration
  local in_force="${ESS_CONFIG:-$f}: ${#TRADING[@]} trading, ${#MONITOR[@]} monitor units"
  if ((!CONFIG_PENDING)); then
    drill_check "$name" PASS "$in_force"
    return 0
  fi
  advice_install_command_v inst
  if config_check_file_v why "$f"; then
    drill_check "$name" PASS "$in_force, as installed; $f differs (not applied until the\
 installer runs: $inst)"
  else
    drill_check "$name" FAIL "$f would be refused by the installer and the controller: $why\
 (the installed configuration stays in force); fix: sudoedit $f, correct that line\
 (ess_controller.sh check-config $f exits 0 when it is right), then apply it: $inst"
  fi
}

# drill_check_latched: while the ESS is ACTIVE (an incident, a maintenance window), what a dry run
# can check without clearing it: the verdict active (status and exporter), every trading unit down
# but an exempt one, the activation recorded. Writes what latch_observe writes, ST, FLAG_*.
drill_check_latched() {
  local u down=0 exempt=() advice name="trading stopped" when
  drill_check_verdict active "verdict: the latch holds"
  for u in "${TRADING[@]}"; do
    if [[ ${EXEMPT[$u]:-0} == 1 ]]; then
      # what is true in a maintenance window: the latched units are down, the exempt one may run
      name="latched units down"
      time_iso_v when $((EXEMPT_UNTIL[$u] * 1000000))
      exempt+=("$u $(status_exempt_state "$u") until $when")
    elif ! verdict_is_running_state "${ACTIVE[$u]:-unknown}" && [[ ${POPULATED[$u]:-} == no ]]; then
      down=$((down + 1))
    fi
  done
  if ((down + ${#exempt[@]} == ${#TRADING[@]})); then
    drill_check "$name" PASS "$down ${exempt[*]:+latched }trading units down, their cgroups empty\
${exempt[*]:+; exempt for maintenance (may run): ${exempt[*]}}"
  else
    advice_violation_v advice
    drill_check "$name" FAIL "$advice"
  fi
  ((!V_FLAG)) || drill_check_latch_recorded # tampered: no flag, the verdict says what to do
}

# drill_check_latch_recorded: while latched, the flag, the state and the audit trail name the same
# activation. Writes ST, FLAG_*.
drill_check_latch_recorded() {
  local id name="latch recorded" flag_id
  latch_flag_read "${CFG[FLAG_FILE]}" || true
  record_state_load
  latch_flag_id_v flag_id "${CFG[FLAG_FILE]}"
  id=${ST[ACT_ID]:-}
  if [[ ${ST[ACTIVE]:-0} == 1 && -n $id && ${ST[FLAG_ID]:-} == "$flag_id" ]] &&
    grep -qsF "\"id\":\"$id\"" "${CFG[AUDIT_FILE]}"; then
    drill_check "$name" PASS "activation $id (source ${ST[ACT_SOURCE]:-unknown}) in the flag,\
 the state and ${CFG[AUDIT_FILE]}"
  else
    drill_check "$name" FAIL "the state and the audit trail do not record the latch in force\
 (flag ${flag_id:-without an id}, state ${id:-none}); fix: sudo ess_controller.sh activate\
 --reason \"record the latch in force\" (it re-verifies the stop and records it)"
  fi
}

# drill_check_exporter: the exporter answers, when it is installed, on the address systemd holds
# for it (not a process that took the port).
drill_check_exporter() {
  local v fix
  if ! drill_exporter_installed; then
    drill_check "exporter" SKIP "$EXPORTER_UNIT not installed"
  elif ! listener_check ''; then
    drill_check "exporter" FAIL "the exporter's address is not the ESS's: $LISTENER_PROBLEM;\
 fix: $LISTENER_FIX"
  elif v=$(drill_exporter_value ess_active); then
    drill_check "exporter" PASS "$EXPORTER_URL answers, ess_active=$v (address held by systemd)"
  else
    drill_unscraped_v fix
    drill_check "exporter" FAIL "$fix"
  fi
}

# drill_check_trip_path: a webhook trip must be able to latch: not in dry-run mode, a spare request
# ready for a full spool (spool_trip_path_v, as status says it).
drill_check_trip_path() {
  local why
  drill_exporter_installed || return 0
  spool_trip_path_v why
  if [[ -n $why ]]; then
    drill_check "webhook trip path" FAIL "$why"
  else
    drill_check "webhook trip path" PASS "trips are written (not dry run), spare requests ready"
  fi
}

# drill_check_heartbeat: with the dead man's switch on (WATCHDOG_ACTION alert or trip), its last
# check (watchdog.json, written every 5 s by quantum-ess-watchdog.timer) found a fresh heartbeat:
# the monitoring reaches this host. Paused passes, saying so. Nothing when it is off.
drill_check_heartbeat() {
  local state silence path name="monitoring heartbeat"
  [[ ${CFG[WATCHDOG_ACTION]} != off ]] || return 0
  if ! watchdog_last_check; then
    drill_check "$name" FAIL "no watchdog check for $WD_CHECK_STALE_SEC s or more (stale); fix: sudo\
 systemctl enable --now quantum-ess-watchdog.timer"
    return 0
  fi
  state=$WD_LAST_STATE silence=$WD_LAST_SILENCE path=$WD_LAST_PATH
  if [[ $state == fresh ]]; then
    drill_check "$name" PASS "last heartbeat $silence s ago via ${path:-(path unknown)} (limit\
 ${CFG[WATCHDOG_MAX_SILENCE_SEC]} s, WATCHDOG_ACTION=${CFG[WATCHDOG_ACTION]})"
  elif [[ $state == paused ]]; then
    drill_check "$name" PASS "the watchdog is paused (ess_controller.sh status says until when)"
  else
    drill_check "$name" FAIL "no fresh heartbeat (watchdog state $state${silence:+, last $silence s\
 ago}); the ESSWatchdog alert does not reach this host: check Prometheus, Alertmanager's route\
 (amtool alert query ess_heartbeat=true) and the exporter"
  fi
}

# The runbook's paths (install.sh --runbook-root) are run as root: they must still be the
# installer's programs, in directories only root (or the owners trusted at install) can write: the
# installer's rule and fix (runbook.sh).
drill_check_runbook_links() {
  local libexec=${ESS_LIB%/lib} root f bad=() detail installer=""
  runbook_read "$libexec" || return 0
  root=$RUNBOOK_ROOT_RECORDED
  for f in "${RUNBOOK_FILES[@]}"; do
    runbook_file_ok "$root" "$libexec" "$f" || bad+=("$root/$f")
  done
  if ! runbook_check "$root" "${RUNBOOK_TRUSTED[@]}"; then
    IFS= read -r installer 2>/dev/null <"$libexec/installer" || installer=deploy/install.sh
    runbook_problem "$root" "$installer" "${RUNBOOK_TRUSTED[@]}"
    drill_check "runbook paths" FAIL "$RUNBOOK_CAUSE; $RUNBOOK_FIX"
  elif ((${#bad[@]} > 0)); then
    advice_install_command_v detail
    drill_check "runbook paths" FAIL "${bad[*]}: not the installer's program (replaced, or a link\
 that a chmod would follow); fix: $detail"
  else
    drill_check "runbook paths" PASS "$root/ops/ess_controller.sh and scripts/proof_ess.sh run\
 the installed programs${RUNBOOK_TRUSTED[*]:+ (trusted owners: ${RUNBOOK_TRUSTED[*]})}"
  fi
}

# drill_check_status_unprivileged: `status` works for a user who is not root (the monitoring user,
# the runbook's reader): a chmod that followed a link to the installed controller, or a library
# made unreadable, gives "Permission denied" (126) instead of a verdict.
drill_check_status_unprivileged() {
  local rc=0 out prog=$CONTROLLER mode fix name="status as a non-root user"
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- "$prog" status 2>&1 >/dev/null) ||
    rc=$?
  if ((rc <= 8)); then
    drill_check "$name" PASS "$prog status answers (exit $rc) for uid 65534"
    drill_check_status_runbook
    return 0
  fi
  mode=$(stat -c '%a' -- "$prog" 2>/dev/null || echo 0)
  if (((8#$mode & 8#005) != 8#005)); then
    drill_check "$name" FAIL "exit $rc for uid 65534: $prog is mode $mode (a chmod that\
 followed a link to it?); fix: sudo chmod 0755 $prog"
  else
    advice_install_command_v fix
    drill_check "$name" FAIL "exit $rc for uid 65534: ${out##*$'\n'}; fix: $fix"
  fi
}

# drill_check_status_runbook: the runbook's path, run as its text says
# (bash ROOT/ops/ess_controller.sh status), by a user who is not root. The runbook's own security
# step (chmod 700, chown root:root) restricts that path to root on purpose, as can a directory on
# the way (a home that is 0700):
# then said, with the path every user has (ess_controller.sh in /usr/local/sbin, checked above).
# Any other failure is a FAIL naming the installer, which writes the file again.
drill_check_status_runbook() {
  local libexec=${ESS_LIB%/lib} path rc=0 out why fix name="status via the runbook path"
  runbook_read "$libexec" || return 0
  path=$RUNBOOK_ROOT_RECORDED/ops/ess_controller.sh
  runbook_file_ok "$RUNBOOK_ROOT_RECORDED" "$libexec" ops/ess_controller.sh || return 0
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- bash "$path" status 2>&1 \
    >/dev/null) || rc=$?
  if ((rc <= 8)); then
    drill_check "$name" PASS "bash $path status answers (exit $rc) for uid 65534"
  elif drill_root_only_v why "$path"; then
    drill_check "$name" PASS "$path is not for other users ($why: on purpose, as the\
 runbook's chmod 700 / chown root:root intends); every other user runs ess_controller.sh status\
 (/usr/local/sbin)"
  else
    advice_install_command_v fix
    out=${out##*$'\n'}
    drill_check "$name" FAIL "exit $rc for uid 65534 with bash $path status:\
 ${out:-no message}; fix: $fix"
  fi
}

# drill_root_only_v VAR PATH: PATH cannot be read by uid 65534 because of its own mode or of the
# first directory on the way it cannot search; VAR names which (path, mode, owner). Returns 1
# otherwise.
drill_root_only_v() {
  local _p="" _part _parts
  setpriv --reuid=65534 --regid=65534 --clear-groups -- test -r "$2" && return 1
  IFS=/ read -r -a _parts <<<"${2#/}"
  for _part in "${_parts[@]}"; do
    _p+=/$_part
    [[ $_p != "$2" ]] || break
    setpriv --reuid=65534 --regid=65534 --clear-groups -- test -x "$_p" || break
  done
  printf -v "$1" '%s' "$(stat -c '%n is mode %a %U:%G' -- "$_p")"
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

# drill_latch_token: the latch as it is now (latch_flag_identity_v: ID@MTIME). Writes DRILL_TOKEN,
# FLAG_*.
drill_latch_token() { latch_flag_identity_v DRILL_TOKEN "${CFG[FLAG_FILE]}"; }

# drill_clear_latch [--no-start]: the drill's own latch cleared, and nothing else: the controller
# checks and clears it in one step under its lock (deactivate --if-activation), so a real stop that
# arrived meanwhile (an operator, systemctl, a touch, an alert) always wins. Prints deactivate's
# output; returns its exit code.
drill_clear_latch() {
  "$CONTROLLER" deactivate "$@" --if-activation "$DRILL_TOKEN" --reason "$DRILL_ID: resume" 2>&1
}

# drill_restore: after a failure, every trading unit back as it was: the drill's latch cleared (only
# its own), the units that ran before running again; a real stop that took the latch over stays.
# Writes DRILL_ID DRILL_TOKEN.
drill_restore() {
  local u
  [[ -n $DRILL_ID ]] || return 0
  drill_request_withdraw
  if [[ -n $DRILL_TOKEN && -e ${CFG[FLAG_FILE]} ]] &&
    ! drill_clear_latch --no-start >/dev/null; then
    printf 'WARN the latch is no longer the drill'\''s (a real stop arrived, or %s): %s\n' \
      "the flag was touched" "trading stays stopped" >&2
    DRILL_ID="" DRILL_TOKEN=""
    record_marker_clear drill
    return 0
  fi
  if [[ ! -e ${CFG[FLAG_FILE]} ]]; then
    for u in "${WAS_RUNNING[@]}"; do
      [[ $(systemctl is-active -- "$u" 2>/dev/null) == active ]] ||
        systemctl start -- "$u" 2>/dev/null ||
        printf 'WARN could not restart %s after the drill\n' "$u" >&2
    done
  fi
  DRILL_ID="" DRILL_TOKEN=""
  record_marker_clear drill
}

# drill_run: the full drill: every trigger method in turn stops trading and trading resumes after
# it. A method that leaves the ESS where the drill must not go on (the latch not the drill's,
# trading not resumed) ends the drill there. Writes DRILL_ID DRILL_ID_DONE and what the steps write.
drill_run() {
  local m t0 t1
  drill_record_before
  if [[ -e ${CFG[FLAG_FILE]} ]]; then
    DRILL_LATCHED=1 # a real stop arrived since the wiring checks: it is not the drill's to clear
    drill_check "drill" SKIP "not started: the ESS became ACTIVE (a real stop) before it began"
    return
  fi
  if ((${#WAS_RUNNING[@]} == 0)); then
    drill_check "recorded state" FAIL "no trading unit runs: a trigger is proved by stopping\
 running units; fix: sudo systemctl start ${ORDER[*]} (sudo proof_ess.sh --dry-run checks the\
 wiring alone)"
    return
  fi
  drill_check "recorded state" PASS "running before: ${WAS_RUNNING[*]}"
  DRILL_ID=drill-$(date -u +%Y%m%dT%H%M%SZ)
  # while this marker names the drill, a real stop takes over any latch (activate.sh)
  record_marker_set drill "{\"id\":\"$DRILL_ID\",\"pid\":$$}" ||
    { drill_check "drill marker" FAIL "cannot write $ESS_RUNTIME_DIR/drill; fix: make room on\
 $ESS_RUNTIME_DIR (df -h $ESS_RUNTIME_DIR), then run the drill again"; return; }
  drill_log "$DRILL_ID starting: ${DRILL_METHODS[*]}"
  time_uptime_us_v t0
  for m in "${DRILL_METHODS[@]}"; do
    drill_method "$m" || break
  done
  drill_check_evidence
  time_uptime_us_v t1
  drill_check "drill time" PASS "${#DRILL_METHODS[@]} trigger methods, trading stopped and\
 resumed after each, in $(time_us_to_sec_short $((t1 - t0))) s"
  record_marker_clear drill
  DRILL_ID_DONE=$DRILL_ID DRILL_ID=""
}

# drill_method METHOD: one trigger method end to end: armed before, the trigger, every trading unit
# down (measured), the latch holding, the drill's own latch cleared, the resume in order. Returns 1
# when the drill must stop here. Writes DRILL_RESULT DRILL_LATENCY_US DRILL_TOKEN, and what the
# checks write.
drill_method() {
  local m=$1 fails=$FAILS
  DRILL_RESULT[$m]=fail
  printf -- '--- trigger: %s\n' "$(drill_method_text "$m")"
  latch_observe
  if ((!VERDICT_ARMED)) || ((VERDICT_LATCHED)); then
    local advice
    advice_unarmed_v advice
    drill_check "$m: armed before" FAIL "verdict $VERDICT: ${VERDICT_PROBLEMS[*]:-}; $advice"
    return 1
  fi
  local rc=0
  drill_fire "$m" || rc=$?
  ((rc != 1)) || return 0 # nothing latched: on to the next method
  ((rc == 0)) || return 1 # a latch that is not the drill's: it stays
  drill_check_stopped "$m"
  drill_check_monitors "$m"
  drill_check_refused "$m"
  drill_check_verdict active "$m: verdict while latched"
  drill_check_recorded "$m"
  local id resumed=0
  id=$(drill_state_value ACT_ID) || id=""
  # before the resume: a deactivate stops the actions still running (recorded aborted)
  drill_check_trip_actions "$m" "$id"
  drill_method_resume "$m" || resumed=1
  ((resumed == 0)) || return 1
  ((FAILS > fails)) || DRILL_RESULT[$m]=pass
}

# drill_method_text METHOD: what the operator would type.
drill_method_text() {
  case $1 in
    command) printf 'ess_controller.sh activate' ;;
    systemctl) printf 'systemctl start quantum-ess.service (its twin %s)' "$WIRING_TWIN_UNIT" ;;
    touch) printf 'touch %s' "${CFG[FLAG_FILE]}" ;;
    trip-request) printf 'a trip request in %s/incoming (as the webhook writes it)' \
      "${CFG[SPOOL_DIR]}" ;;
  esac
}

# drill_method_resume METHOD: the drill's own latch cleared and the units that ran before started
# again in order. Returns 1 when the latch is not the drill's any more (it stays, and trading stays
# stopped) or the resume failed. Writes DRILL_TOKEN, and what deactivate's checks write.
drill_method_resume() {
  local m=$1 out rc=0 u
  if ((${#WAS_RUNNING[@]} == ${#ORDER[@]})); then
    out=$(drill_clear_latch) || rc=$?
  else
    out=$(drill_clear_latch --no-start) || rc=$?
    for u in "${WAS_RUNNING[@]}"; do ((rc != 0)) || units_start_confirmed "$u" || rc=$?; done
  fi
  if ((rc != 0)) && [[ -e ${CFG[FLAG_FILE]} ]]; then
    drill_check "$m: resume" FAIL "${out##*$'\n'}; trading stays stopped; next: sudo\
 ess_controller.sh status (it names the latch and why), then sudo ess_controller.sh deactivate"
    DRILL_TOKEN="" DRILL_ID_DONE=$DRILL_ID DRILL_ID=""
    record_marker_clear drill
    return 1
  fi
  DRILL_TOKEN=""
  drill_pass_if "$m: deactivate" "the drill's latch cleared, exit 0" "exit $rc: ${out##*$'\n'}" \
    test "$rc" -eq 0
  drill_check_resume_order "$m"
  ((rc == 0))
}

# drill_fire METHOD: the trigger fired, the drill's latch found (its token taken at once: the latch
# the drill will clear, and no other), every trading unit that ran down (measured), and the
# trigger's runs finished. After a FAIL, returns 1 when the trigger did not latch, 2 when the
# latch is not the drill's own (a real stop arrived with it: it stays). Writes DRILL_TOKEN
# DRILL_LATENCY_US DRILL_REQUEST, and the unit states (units_read_states).
drill_fire() {
  local m=$1 pid="" rc=0 t0 out=/dev/null
  time_now_us_v t0
  case $m in
    command) "$CONTROLLER" activate --source drill --reason "$DRILL_ID: command" >"$out" 2>&1 &
      pid=$! ;;
    systemctl) systemctl start "$WIRING_TWIN_UNIT" >"$out" 2>&1 & pid=$! ;;
    touch) touch -- "${CFG[FLAG_FILE]}" || rc=$? ;;
    trip-request) drill_sweep_quiet; time_now_us_v t0; drill_request_write || rc=$? ;;
  esac
  if ! drill_wait_flag; then
    [[ -z $pid ]] || wait "$pid" || rc=$?
    drill_request_withdraw
    drill_check "$m: latched" FAIL "$(drill_method_text "$m") (exit $rc) did not create\
 ${CFG[FLAG_FILE]} within $(drill_wait_sec) s: $(drill_switch_hint "$m")"
    return 1
  fi
  drill_latch_token
  if [[ $m == trip-request ]] && ! drill_sweep_unchanged; then
    drill_check "$m: latched" FAIL "the sweep timer (quantum-ess-trip-sweep.timer) took the\
 request, not quantum-ess-trip.path: the path unit is not proved (repair: sudo ess_controller.sh\
 rearm)"
  fi
  if [[ $FLAG_SOURCE != "${DRILL_METHOD_SOURCE[$m]}" ]]; then
    drill_check "$m: latched" FAIL "the latch came from elsewhere (source ${FLAG_SOURCE:-touch}):\
 a real stop arrived with the drill's trigger; it stays, trading stays stopped; next: sudo\
 ess_controller.sh status, and sudo ess_controller.sh deactivate only once the incident is over"
    DRILL_TOKEN=""
    return 2
  fi
  drill_wait_down "$t0"
  [[ -z $pid ]] || wait "$pid" || rc=$?
  drill_wait_recorded
  drill_pass_if "$m: trigger" "$(drill_method_text "$m"): latched, exit $rc" \
    "$(drill_method_text "$m") exited $rc" test "$rc" -eq 0
}

# drill_wait_sec: how long the drill waits for a trigger to latch or stop: the stop deadline + 2 s.
drill_wait_sec() {
  time_us_to_sec_short $(($(time_sec_to_us "${CFG[STOP_DEADLINE_SEC]}") + 2000000))
}

# drill_wait_until CMD...: CMD polled every 5 ms until it succeeds or drill_wait_sec has passed.
drill_wait_until() {
  local now end
  time_uptime_us_v now
  end=$((now + $(time_sec_to_us "${CFG[STOP_DEADLINE_SEC]}") + 2000000))
  until "$@"; do
    time_uptime_us_v now
    ((now < end)) || return 1
    time_nap 0.005
  done
}

drill_flag_exists() { [[ -e ${CFG[FLAG_FILE]} ]]; }
drill_wait_flag() { drill_wait_until drill_flag_exists; }

# drill_all_down: every trading unit that ran before the drill is down. Writes the unit states.
drill_all_down() {
  local u
  units_read_states "${TRADING[@]}" || return 1
  for u in "${WAS_RUNNING[@]}"; do units_is_down "$u" || return 1; done
}

# drill_wait_down T0_US: trading down, and the figure: T0 (the wall clock just before the trigger)
# to the last trading unit's InactiveEnterTimestamp, systemd's own. Writes DRILL_LATENCY_US[m] (m
# of drill_method), and the unit states (units_read_states).
drill_wait_down() {
  local u last=0
  DRILL_LATENCY_US[$m]=""
  drill_wait_until drill_all_down || return 0
  for u in "${WAS_RUNNING[@]}"; do
    ((${INACTIVE_US[$u]:-0} <= last)) || last=${INACTIVE_US[$u]}
  done
  ((last < $1)) || DRILL_LATENCY_US[$m]=$((last - $1))
}

# drill_wait_recorded: the activation recorded and every run of the switch finished (the trigger,
# quantum-ess.service and its twin, the trip service), so that the checks see the controller's final
# word. Writes ST, the unit states.
drill_wait_recorded() { drill_wait_until drill_recorded || true; }
drill_recorded() {
  local u runs=("$TRIGGER_UNIT" quantum-ess.service "$WIRING_TWIN_UNIT" quantum-ess-trip.service)
  record_state_load
  [[ ${ST[ACTIVE]:-0} == 1 ]] || return 1
  units_read_states "${runs[@]}" || return 1
  for u in "${runs[@]}"; do
    [[ ${ACTIVE[$u]} != activating ]] || return 1
  done
}

# drill_switch_hint METHOD: which part of the switch a method that did not latch goes through.
drill_switch_hint() {
  case $1 in
    command) printf 'the controller %s failed (run it by hand to see why)' "$CONTROLLER" ;;
    systemctl) printf '%s did not run the controller (systemctl cat %s; repair: sudo %s)' \
      "$WIRING_TWIN_UNIT" "$WIRING_TWIN_UNIT" 'ess_controller.sh rearm' ;;
    touch) printf '%s' \
      'quantum-ess.path did not start its trigger (repair: sudo ess_controller.sh rearm)' ;;
    trip-request) printf '%s' \
      'quantum-ess-trip.path did not take the request (repair: sudo ess_controller.sh rearm)' ;;
  esac
}

# drill_sweep_quiet: quantum-ess-trip-sweep.timer (the trip service every 5 s, for a missed event)
# has just run (at most 5 s of waiting), so that the request the drill writes next is taken by
# quantum-ess-trip.path: that path unit is what the trip-request method proves.
# drill_sweep_unchanged then tells whether the sweep ran meanwhile anyway. Writes DRILL_SWEEP_LAST.
declare -g DRILL_SWEEP_LAST=""
drill_sweep_quiet() {
  local i now
  for ((i = 0; i < 110; i++)); do
    drill_sweep_last_v DRILL_SWEEP_LAST
    time_now_us_v now
    [[ -n $DRILL_SWEEP_LAST ]] || return 0 # never ran: not started (the verdict says so)
    ((now - DRILL_SWEEP_LAST > 1500000)) || return 0
    time_nap 0.05
  done
}
drill_sweep_unchanged() {
  local last
  drill_sweep_last_v last
  [[ $last == "$DRILL_SWEEP_LAST" ]]
}
# drill_sweep_last_v VAR: when the sweep timer last fired (wall µs, systemd's; empty: never).
drill_sweep_last_v() {
  local out
  out=$(systemctl show --timestamp=us+utc -P LastTriggerUSec quantum-ess-trip-sweep.timer \
    2>/dev/null) || out=""
  [[ ! $out =~ :[0-9]{2}\ UTC$ ]] || out="${out% UTC}.000000 UTC" # printed to the second
  time_utc_us_v "$1" "$out"
}

# drill_request_write: a trip request in the spool exactly as the webhook writes it (contract
# section 6), as the exporter's user: created exclusively in tmp/ (mode 0640), written, fsynced,
# renamed into incoming/, fsynced again; named <ms>-<fingerprint>-<12 hex>, lines source, scope,
# reason. The source is drill (counted as the drill's), the scope this host. Writes DRILL_REQUEST.
drill_request_write() {
  local spool=${CFG[SPOOL_DIR]} host scope=fleet hex content
  host=$(hostname 2>/dev/null) || host=""
  [[ ! $host =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]] || scope=host:$host
  hex=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
  DRILL_REQUEST=${EPOCHREALTIME/./}
  DRILL_REQUEST=${DRILL_REQUEST:0:${#DRILL_REQUEST}-3}-drill-$hex
  content=$(printf 'source=drill\nscope=%s\nreason=%s: trip request' "$scope" "$DRILL_ID")
  # shellcheck disable=SC2016 # expanded by the inner bash
  setpriv --reuid=quantum-ess --regid=quantum-ess --init-groups -- bash -c '
    set -Eeuo pipefail; umask 027; set -C
    printf "%s\n" "$3" >"$1/tmp/$2"
    sync -- "$1/tmp/$2" && mv -T -- "$1/tmp/$2" "$1/incoming/$2" && sync -- "$1/incoming/$2"
  ' _ "$spool" "$DRILL_REQUEST" "$content"
}

# drill_request_withdraw: the drill's trip request, if the root side did not take it (a broken trip
# path): left there it would latch later, by itself. Writes DRILL_REQUEST.
drill_request_withdraw() {
  [[ -z $DRILL_REQUEST ]] || rm -f -- "${CFG[SPOOL_DIR]}/incoming/$DRILL_REQUEST" \
    "${CFG[SPOOL_DIR]}/tmp/$DRILL_REQUEST"
  DRILL_REQUEST=""
}

# drill_check_stopped METHOD: every trading unit down within the deadline (the figure measured by
# drill_wait_down), by SIGTERM, its cgroup emptied (the controller's record of the stop).
# Writes ST, the unit states (units_read_states).
drill_check_stopped() {
  local m=$1 u latency=${DRILL_LATENCY_US[$1]:-} units bad=() killed=() leftovers=()
  units_read_states "${TRADING[@]}" "${MONITOR[@]}" || true
  for u in "${WAS_RUNNING[@]}"; do units_is_down "$u" || bad+=("$u=${ACTIVE[$u]}"); done
  if ((${#bad[@]} == 0)) && [[ $latency =~ ^[0-9]+$ ]] &&
    ((latency <= $(time_sec_to_us "${CFG[STOP_DEADLINE_SEC]}"))); then
    drill_check "$m: all trading units stopped" PASS "in $(time_us_to_sec "$latency") s\
 (trigger -> last unit down, systemd's timestamps; deadline ${CFG[STOP_DEADLINE_SEC]} s)"
  else
    local why=""
    ((${#bad[@]} == 0)) || why=": $(drill_switch_hint "$m")"
    drill_check "$m: all trading units stopped" FAIL "still up: ${bad[*]:-none};\
 latency ${latency:-unknown} us (deadline ${CFG[STOP_DEADLINE_SEC]} s)$why"
  fi
  units=$(drill_state_value ACT_UNITS) || units=""
  for u in "${TRADING[@]}"; do
    [[ " $units " != *" $u=killed/"* ]] || killed+=("$u")
    [[ " $units " != *" $u=leftovers-killed/"* ]] || leftovers+=("$u")
  done
  if ((${#killed[@]} == 0)); then
    drill_check "$m: graceful stop (SIGTERM)" PASS \
      "no unit needed SIGKILL (result $(drill_state_value ACT_RESULT || echo unknown))"
  else
    drill_check "$m: graceful stop (SIGTERM)" FAIL "ignored SIGTERM, needed SIGKILL: ${killed[*]};\
 fix: make the service exit on SIGTERM within its TimeoutStopSec= (journalctl -u ${killed[0]}\
 shows its last words)"
  fi
  if ((${#leftovers[@]} == 0)); then
    drill_check "$m: no leftover processes" PASS "every trading unit's cgroup emptied by its stop"
  else
    drill_check "$m: no leftover processes" FAIL "processes outlived the stop and were SIGKILLed\
 (KillMode=process/none/mixed or detached children): ${leftovers[*]}; fix: KillMode=control-group\
 in the unit, and no children that leave its cgroup (systemctl cat ${leftovers[0]})"
  fi
}

# drill_check_monitors METHOD: no monitor unit changed state or main PID since the drill began
# (unit states read by drill_check_stopped).
drill_check_monitors() {
  local u touched=()
  for u in "${MONITOR[@]}"; do
    [[ ${ACTIVE[$u]} == "${BEFORE_ACTIVE[$u]}" && ${MAINPID[$u]} == "${BEFORE_PID[$u]}" ]] ||
      touched+=("$u")
  done
  if ((${#touched[@]} == 0)); then
    drill_check "$1: monitor units untouched" PASS "${#MONITOR[@]} units, same state and main PID"
  else
    drill_check "$1: monitor units untouched" FAIL "changed: ${touched[*]}; fix: a monitor unit\
 must not depend on a trading unit (systemctl list-dependencies --reverse ${touched[0]}), and\
 must not be listed in TRADING_UNITS (${ESS_CONFIG:-$ESS_DEFAULT_CONFIG})"
  fi
}

# drill_check_refused METHOD: systemctl start refused on every trading unit while latched.
drill_check_refused() {
  local u started=()
  for u in "${TRADING[@]}"; do
    if systemctl start -- "$u" >/dev/null 2>&1 ||
      [[ $(systemctl is-active -- "$u" 2>/dev/null || true) == active ]]; then
      started+=("$u")
    fi
  done
  if ((${#started[@]} == 0)); then
    drill_check "$1: start refused while latched" PASS \
      "systemctl start refused on all ${#TRADING[@]} trading units"
  else
    drill_check "$1: start refused while latched" FAIL "started while latched: ${started[*]};\
 fix: sudo ess_controller.sh rearm (it puts the latch drop-ins back, also under the latch), then\
 run the drill again"
  fi
}

# drill_check_recorded METHOD: the controller recorded this activation (state, audit line).
# Writes ST.
drill_check_recorded() {
  local id
  id=$(drill_state_value ACT_ID) || id=""
  if [[ -n $id ]] && grep -qsF "\"id\":\"$id\"" "${CFG[AUDIT_FILE]}"; then
    drill_check "$1: recorded" PASS "activation $id (source $(drill_state_value ACT_SOURCE ||
      echo unknown)) in the state and ${CFG[AUDIT_FILE]}"
  else
    drill_check "$1: recorded" FAIL "no activation recorded in the state and the audit trail\
 (last: ${id:-none}); next: journalctl -t $ESS_TAG says why the record was not written (a full\
 disk, a read-only ${CFG[AUDIT_FILE]%/*})"
  fi
}

# drill_check_evidence: the journal and the audit trail saw the drill, the audit chain is intact.
drill_check_evidence() {
  local chain
  drill_pass_if "journal entries" "journalctl -t quantum-ess has $DRILL_ID" \
    "no journal entry for $DRILL_ID" \
    grep -q "$DRILL_ID" <(journalctl -t quantum-ess --no-pager -o cat -n 400 2>/dev/null)
  drill_pass_if "audit trail entry" "${CFG[AUDIT_FILE]} has $DRILL_ID" \
    "no audit line for $DRILL_ID" grep -qsF "$DRILL_ID" "${CFG[AUDIT_FILE]}"
  if chain=$("$CONTROLLER" verify-audit 2>&1); then
    drill_check "audit chain" PASS "${chain##*$'\n'}"
  else
    drill_check "audit chain" FAIL "${chain##*$'\n'}; next: sudo ess_controller.sh verify-audit\
 names the first bad line; keep the file as evidence"
  fi
}

# drill_check_resume_order METHOD: the units that ran before are active again, started in
# START_ORDER. Writes the unit states (units_read_states).
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
    drill_check "$1: resume order" PASS \
      "${WAS_RUNNING[*]:-nothing to resume} active, in START_ORDER"
  else
    drill_check "$1: resume order" FAIL "${detail[*]}; fix: START_ORDER in\
 ${ESS_CONFIG:-$ESS_DEFAULT_CONFIG} lists every trading unit in the order they need (journalctl -u\
 ${detail[0]%%[ =]*} says why it did not start)"
  fi
}

# drill_args ARG...: the drill's options (args.sh: any order, --opt=VALUE too); a usage error
# (exit 64) names the first thing that does not fit. Writes DRY_RUN EXPORTER_URL.
drill_args() {
  local problem
  args_parse "exporter-url" "dry-run" "$@"
  if ((ARGS_HELP)); then drill_usage; exit 0; fi
  args_problem_v problem proof_ess.sh 0
  [[ -z $problem ]] || drill_usage_error "$problem"
  [[ -z ${ARGS_VAL[dry-run]:-} ]] || DRY_RUN=1
  drill_scrape_read
  if [[ -v ARGS_VAL[exporter-url] ]]; then
    [[ -n ${ARGS_VAL[exporter-url]} ]] || drill_usage_error "--exporter-url needs a value"
    EXPORTER_URL=${ARGS_VAL[exporter-url]}
  else
    EXPORTER_URL=${SCRAPE_URL:-$EXPORTER_URL}
  fi
}

main() {
  local argv=("$@")
  drill_args "$@"
  if ((EUID != 0)); then
    local what="the drill (it stops trading briefly)"
    ((!DRY_RUN)) ||
      what="the dry-run drill (it reads the latch as systemd applies it, records drill.json)"
    advice_not_root "${BASH_SOURCE[0]}" "$what" "${argv[@]}"
  fi
  config_load_in_force
  printf 'ESS drill on %s at %s%s\n' "$(hostname)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$( ((DRY_RUN)) && echo ' (dry run: nothing is stopped)')"
  trap drill_restore EXIT
  drill_check_wiring
  ((!DRY_RUN)) || drill_check_actions
  if ((!DRY_RUN)); then
    if ((DRILL_LATCHED)); then
      drill_check "drill" SKIP "not started: the ESS is ACTIVE and trading is stopped already"
    elif ((FAILS == 0)); then
      drill_run
    else
      drill_check "drill" SKIP "not started: the wiring checks failed"
    fi
  fi
  drill_restore
  if ((DRILL_LATCHED && !DRY_RUN)); then
    drill_log "full drill NOT RUN (the ESS is ACTIVE): $((CHECKS - FAILS))/$CHECKS checks of the" \
      "latch passed"
  else
    drill_log "${DRILL_ID_DONE:-dry run} finished: $((CHECKS - FAILS))/$CHECKS checks passed"
  fi
  ((DRILL_LATCHED && !DRY_RUN)) || drill_record ||
    printf 'WARN could not record the drill in %s/drill.json\n' "${CFG[STATE_DIR]}" >&2
  ((DRY_RUN || DRILL_LATCHED)) || drill_print_triggers
  drill_summary
}

# drill_print_triggers: one line per trigger method: its result and its figure.
drill_print_triggers() {
  local m lat
  printf 'TRIGGERS (trigger -> every trading unit down, systemd'\''s timestamps):\n'
  for m in "${DRILL_METHODS[@]}"; do
    lat=unmeasured
    [[ -z ${DRILL_LATENCY_US[$m]:-} ]] || lat="$(time_us_to_sec "${DRILL_LATENCY_US[$m]}") s"
    printf '  %-13s %-8s %-12s %s\n' "$m" "${DRILL_RESULT[$m]:-not-run}" "$lat" \
      "$(drill_method_text "$m")"
  done
}

# drill_triggers_json: drill.json's "triggers" (contract section 5): each method's result (pass,
# fail, not-run) and figure in seconds (null when not measured).
drill_triggers_json() {
  local m lat out=()
  for m in "${DRILL_METHODS[@]}"; do
    lat=null
    [[ -z ${DRILL_LATENCY_US[$m]:-} ]] || lat=$(time_us_to_sec "${DRILL_LATENCY_US[$m]}")
    out+=("{\"method\":\"$m\",\"result\":\"${DRILL_RESULT[$m]:-not-run}\",")
    out[-1]+="\"latency_seconds\":$lat}"
  done
  local IFS=,
  printf '[%s]' "${out[*]}"
}

# drill_summary: the last lines; returns 0 when every check passed. Only a full drill, which stopped
# and resumed trading, says production-ready: a dry run checked the wiring alone.
drill_summary() {
  local f
  if ((FAILS == 0 && DRILL_LATCHED)); then
    drill_summary_latched
    return
  elif ((FAILS == 0 && DRY_RUN)); then
    echo "SUMMARY: PASS ($CHECKS checks, dry run: the wiring only, nothing was stopped)"
    echo "The stop itself is proven by the full drill: sudo proof_ess.sh"
  elif ((FAILS == 0)); then
    echo "SUMMARY: PASS ($CHECKS checks)"
    echo "ESS is production-ready for emergency stop scenarios"
  else
    echo "SUMMARY: FAIL ($FAILS of $CHECKS checks failed)"
    echo "Fix before relying on the ESS:"
    for f in "${FAILED_CHECKS[@]}"; do printf '  - %s\n' "$f"; done
  fi
  ((FAILS == 0))
}

# drill_summary_latched: every check of the latch passed while the ESS is ACTIVE. A dry run PASSes
# (exit 0: the latch holds, which is what counts during an incident); a full drill is NOT RUN (exit
# 2, not recorded): it proves the triggers by stopping trading, which is stopped already. Either
# way the triggers wait for an armed switch, and nothing here advises clearing the latch.
drill_summary_latched() {
  local when="the incident" again="sudo proof_ess.sh" u
  for u in "${TRADING[@]}"; do [[ ${EXEMPT[$u]:-0} != 1 ]] || when="the maintenance window"; done
  ((!DRY_RUN)) || again+=" --dry-run"
  if ((DRY_RUN)); then
    echo "SUMMARY: PASS ($CHECKS checks, dry run while the ESS is ACTIVE: the latch holds;\
 nothing was stopped)"
  else
    echo "SUMMARY: NOT RUN ($CHECKS checks of the latch passed; the ESS is ACTIVE: trading is\
 stopped already, the triggers cannot be proved now)"
  fi
  echo "The trigger checks need an armed switch: after $when, once deactivated, run: $again"
  ((DRY_RUN)) || return 2
}

# drill_record: STATE_DIR/drill.json (contract section 5), where the exporter reads the last drill.
drill_record() {
  local f=${CFG[STATE_DIR]}/drill.json mode=full result=fail now content="" dry="null" full="null"
  local fmt triggers
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
  triggers=""
  ((DRY_RUN)) || triggers=",\"triggers\":$(drill_triggers_json)"
  fmt='{"schema":1,"last":{"time":%s,"mode":"%s","result":"%s","checks":%d,"failed":%d%s},'
  fmt+='"last_pass":{"dry-run":%s,"full":%s}}\n'
  # shellcheck disable=SC2059 # the format is the constant above
  printf "$fmt" "$now" "$mode" "$result" "$CHECKS" "$FAILS" "$triggers" "$dry" "$full" |
    record_atomic_write "$f" 0644
}

main "$@"
