#!/usr/bin/env bash
# ess_controller.sh - the Emergency Stop System controller (root side, bash + systemd only).
#
# The stop path never waits on a lock, Redis or the exporter: the latch flag is written first (so the
# systemd drop-ins refuse every start from that instant), stop jobs are queued for all trading units
# in one transaction, and only the bookkeeping (state file, audit) is serialised with flock.
set -Eeuo pipefail
export LC_ALL=C
umask 022

ESS_LIB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib
# shellcheck source=deploy/lib/config.sh
source "$ESS_LIB/config.sh"
# shellcheck source=deploy/lib/units.sh
source "$ESS_LIB/units.sh"
# shellcheck source=deploy/lib/record.sh
source "$ESS_LIB/record.sh"

readonly EX_USAGE=64 EX_FAIL=1 EX_NOT_ACTIVE=2 EX_BUSY=75 EX_NOPERM=77
readonly ST_ACTIVE=3 ST_VIOLATION=4 ST_DISARMED=5
readonly PATH_UNITS=(quantum-ess.path quantum-ess-trip.path)
readonly TRIGGER_UNIT=quantum-ess-trigger.service
readonly DROPIN_NAME=50-quantum-ess-latch.conf

usage() {
  cat <<'EOF'
Usage: ess_controller.sh COMMAND [OPTIONS]

Commands:
  activate [--reason TEXT] [--source NAME]   stop all trading units now and set the latch (root)
  activate --from-spool                      activate for queued trip requests (used by quantum-ess-trip.service)
  deactivate [--reason TEXT] [--no-start]    clear the latch and start trading units in START_ORDER (root)
  status [--json]                            show the latch, the switch and every configured unit
  rearm                                      re-arm the path units after a manual change (root)
  verify-audit                               check the audit trail's hash chain; names the first bad line
  restore-latch                              re-create the latch after a reboot (used at boot)
  help                                       this text

Environment: ESS_CONFIG (default /etc/quantum/ess.conf).
Exit codes: 0 ok; 1 a unit could not be stopped/started, or the latch could not be set or was
  cleared meanwhile; 2 deactivate while not active;
  status: 0 INACTIVE and armed, 3 ACTIVE, 4 ACTIVE but a trading unit runs or lacks its latch drop-in,
  5 INACTIVE but the switch is not armed, 1 unit states unknown (systemctl failed);
  64 usage; 75 another operation holds the lock;
  77 not root; 78 bad configuration.
EOF
}

usage_error() {
  printf 'ess: %s\n\n' "$1" >&2
  usage >&2
  exit "$EX_USAGE"
}

require_root() {
  if ((EUID != 0)); then
    printf 'ess: %s must run as root (uid 0); you are uid %d. Nothing was changed.\n' "$1" "$EUID" >&2
    exit "$EX_NOPERM"
  fi
}

# A stop must not be refused because someone broke ess.conf after installing: fall back, loudly, to the
# configuration the installer validated (the drop-ins on the units were made from it).
load_config_to_stop() {
  local problem fallback=$ESS_LIB/../ess.conf.installed current="" installed=""
  # the usual case, unchanged since the install, needs no trial parse in a subshell (a fork on the stop path)
  IFS= read -r -d '' current <"${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}" 2>/dev/null || true
  IFS= read -r -d '' installed <"$fallback" 2>/dev/null || true
  if [[ -n $current && $current == "$installed" ]]; then
    load_config
  elif problem=$( (load_config) 2>&1 >/dev/null); then
    load_config
  elif [[ -r $fallback ]]; then
    log_event crit "${problem#ess: } -- STOPPING WITH THE LAST INSTALLED CONFIGURATION $fallback; fix the file and re-run the installer"
    ESS_CONFIG=$fallback load_config
  else
    printf '%s\n' "$problem" >&2
    exit "$EX_CONFIG"
  fi
}

# ---------------------------------------------------------------- latch flag
flag_field() { # flag_field KEY -> value of "KEY":"..." or "KEY":number in the flag file
  local content
  content=$(head -c 4096 "${CFG[FLAG_FILE]}" 2>/dev/null) || return 0
  if [[ $content =~ \"$1\":\"([^\"]*)\" ]] || [[ $content =~ \"$1\":([0-9.]+) ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
  fi
}

sec_str_to_us() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] && sec_to_us "$(printf '%.6f' "$1")"; }

new_activation_id() { printf '%s-%04x%04x' "$(date -u +%Y%m%dT%H%M%SZ)" "$RANDOM" "$RANDOM"; }

flag_json() { # flag_json ID SOURCE ACTOR REASON REQUESTED_US
  printf '{"id":%s,"requested_at":%s,"source":%s,"actor":%s,"reason":%s,"pid":%d}\n' \
    "$(json_str "$1")" "$(us_to_sec "$5")" "$(json_str "$2")" "$(json_str "$3")" "$(json_str "$4")" "$$"
}

write_flag() { # write_flag ID SOURCE ACTOR REASON REQUESTED_US
  install -d -m 0755 "${CFG[FLAG_FILE]%/*}" || return 1
  flag_json "$@" | atomic_write "${CFG[FLAG_FILE]}" 0644
}

# The copy restored at boot is written from the activation record, not from the flag's bytes: a flag
# made with `touch` is empty, and must survive a reboot all the same.
persist_latch() { # persist_latch ID SOURCE ACTOR REASON REQUESTED_US
  install -d -m 0755 "${CFG[STATE_DIR]}" && flag_json "$@" | atomic_write "$(persisted_latch)" 0600
}

# await_writer ID (lock held on entry and on return): another controller wrote the flag and has not
# recorded the activation yet. Let it record its own activation (it knows its units' results); record it
# ourselves only if it died (killed mid-activate). Returns 0 when the writer recorded it.
await_writer() {
  local id=$1 pid deadline
  pid=$(flag_field pid)
  deadline=$(($(now_us) + $(sec_to_us "${CFG[STOP_DEADLINE_SEC]}") + $(sec_to_us "${CFG[LOCK_WAIT_SEC]}")))
  drop_lock
  while [[ $pid =~ ^[0-9]+$ ]] && grep -qs ess_controller "/proc/$pid/cmdline" && (($(now_us) < deadline)); do
    state_load
    [[ ${ST[FLAG_ID]:-} == "$id" ]] && break
    sleep 0.05
  done
  take_lock || log_event warning "lock ${CFG[LOCK_FILE]} busy; recording without it"
  state_load
  if [[ ${ST[FLAG_ID]:-} == "$id" ]]; then return 0; fi
  log_event warning "activation $id: its controller (pid ${pid:-?}) exited before recording it; recording it now"
  return 1
}

persisted_latch() { printf '%s/latched' "${CFG[STATE_DIR]}"; }

# ---------------------------------------------------------------- trip requests
# Requests come from the unprivileged exporter, so every name and byte in them is hostile. They are
# claimed (moved into a root-only batch directory) before anything looks at them: no TOCTOU, and an
# alert storm costs a few processes, not one per request. Names are never parsed as text (they may hold
# newlines): entries come from a glob, readability from `find -print0`. Any entry at all is a request
# to stop, even one that cannot be claimed or read. Only one request is read before the stop.
declare -g SPOOL_SOURCE="" SPOOL_REASON="" SPOOL_COUNT=0 SPOOL_BATCH=""
declare -ga SPOOL_ENTRIES=()
declare -gA SPOOL_READABLE=()

spool_has_requests() {
  local entries
  shopt -s nullglob
  entries=("${CFG[SPOOL_DIR]}"/incoming/*)
  shopt -u nullglob
  ((${#entries[@]} > 0))
}

claim_trip_requests() {
  local path
  SPOOL_BATCH=${CFG[SPOOL_DIR]}/processed/$(now_us)-$$
  install -d -m 0700 "${CFG[SPOOL_DIR]}/processed" "$SPOOL_BATCH" || return 1
  find "${CFG[SPOOL_DIR]}/incoming" -mindepth 1 -maxdepth 1 ! -name '.*' -exec mv -f -t "$SPOOL_BATCH" -- {} + || return 1
  shopt -s nullglob
  SPOOL_ENTRIES=("$SPOOL_BATCH"/*)
  shopt -u nullglob
  SPOOL_COUNT=${#SPOOL_ENTRIES[@]}
  while IFS= read -r -d '' path; do SPOOL_READABLE[$path]=1; done < <(
    find "$SPOOL_BATCH" -mindepth 1 -maxdepth 1 -type f -links 1 -size -4097c -print0)
}

declare -g REQ_SOURCE="" REQ_REASON="" REQ_NAME=""
read_trip_request() { # read_trip_request PATH (an element of SPOOL_ENTRIES)
  local content="" line
  REQ_NAME=$(clean_text "${1##*/}" 64) REQ_SOURCE="" REQ_REASON=""
  if [[ -n ${SPOOL_READABLE[$1]:-} ]]; then
    IFS= read -r -d '' -N 4096 content <"$1" || true # short read = EOF, expected
    while IFS= read -r line; do
      case $line in
        source=*) REQ_SOURCE=${line#source=} ;;
        reason=*) REQ_REASON=${line#reason=} ;;
      esac
    done <<<"$content"
  else
    REQ_REASON="unreadable trip request $REQ_NAME (not a plain single-link file of at most 4 KiB)"
  fi
  [[ $REQ_SOURCE =~ ^[a-z0-9_-]{1,32}$ ]] || REQ_SOURCE=trip-request
  REQ_REASON=$(clean_text "${REQ_REASON:-trip request $REQ_NAME without a reason}")
}

# Names the activation: the first readable request if there is one.
describe_trip_requests() {
  local path first=""
  SPOOL_SOURCE=trip-request SPOOL_REASON="trip request(s) in ${CFG[SPOOL_DIR]}/incoming that could not be claimed"
  ((SPOOL_COUNT > 0)) || return 0
  for path in "${SPOOL_ENTRIES[@]}"; do
    if [[ -n ${SPOOL_READABLE[$path]:-} ]]; then first=$path && break; fi
  done
  read_trip_request "${first:-${SPOOL_ENTRIES[0]}}"
  SPOOL_SOURCE=$REQ_SOURCE SPOOL_REASON=$REQ_REASON
  if ((SPOOL_COUNT > 1)); then SPOOL_REASON="$SPOOL_REASON (+$((SPOOL_COUNT - 1)) more requests)"; fi
}

# After the stop: one audit line for the whole batch, one journal line per request (the first 20), and
# batches older than 30 days are dropped so a storm a week cannot fill the disk.
record_trip_requests() {
  local path i=0 items=()
  for path in "${SPOOL_ENTRIES[@]}"; do
    read_trip_request "$path"
    if ((i < 100)); then
      items+=("{\"request\":$(json_str "$REQ_NAME"),\"source\":$(json_str "$REQ_SOURCE"),\"reason\":$(json_str "$REQ_REASON")}")
    fi
    if ((i < 20)); then log_event warning "trip request $REQ_NAME: source=$REQ_SOURCE reason=$REQ_REASON"; fi
    i=$((i + 1))
  done
  ((SPOOL_COUNT <= 20)) || log_event warning "... and $((SPOOL_COUNT - 20)) more trip requests (all kept in $SPOOL_BATCH)"
  local IFS=,
  audit_append trip-requests "\"count\":$SPOOL_COUNT,\"kept_in\":$(json_str "$SPOOL_BATCH"),\"requests\":[${items[*]}]" ||
    log_event err "AUDIT WRITE FAILED for $SPOOL_COUNT trip requests"
  find "${CFG[SPOOL_DIR]}/processed" -mindepth 1 -maxdepth 1 -mtime +30 -exec rm -rf -- {} + 2>/dev/null || true
  find "${CFG[SPOOL_DIR]}/tmp" -mindepth 1 -maxdepth 1 -mtime +1 -delete 2>/dev/null || true
}

# ---------------------------------------------------------------- lock
declare -g LOCK_FD=""
# The lock file is 0600: flock works on any descriptor, so a world-readable lock would let any local
# user hold it and block deactivate and rearm forever.
take_lock() { # take_lock -> 0 if held, 1 if it could not be had within LOCK_WAIT_SEC
  install -d -m 0755 "${CFG[LOCK_FILE]%/*}" || return 1
  exec {LOCK_FD}>>"${CFG[LOCK_FILE]}" || return 1
  chmod 0600 "${CFG[LOCK_FILE]}" || return 1
  flock -w "${CFG[LOCK_WAIT_SEC]}" "$LOCK_FD"
}
drop_lock() { [[ -z $LOCK_FD ]] || exec {LOCK_FD}>&-; LOCK_FD=""; }

# ---------------------------------------------------------------- activate
units_summary() { # "unit=result/state/stop_us ..." for the state file
  local u out=()
  for u in "${TRADING[@]}"; do out+=("$u=${RESULT[$u]}/${ACTIVE[$u]}/${STOPPED_US[$u]}"); done
  printf '%s' "${out[*]}"
}

units_json() {
  local u out=()
  for u in "${TRADING[@]}"; do
    out+=("{\"unit\":$(json_str "$u"),\"result\":$(json_str "${RESULT[$u]}"),\"state\":$(json_str "${ACTIVE[$u]}")}")
  done
  local IFS=,
  printf '[%s]' "${out[*]}"
}

cmd_activate() {
  local reason="" source=cli from_spool=0
  while (($#)); do
    case $1 in
      --reason) (($# >= 2)) || usage_error "--reason needs a value"; reason=$2; shift 2 ;;
      --source) (($# >= 2)) || usage_error "--source needs a value"; source=$2; shift 2 ;;
      --from-spool) from_spool=1; shift ;;
      *) usage_error "activate: unknown option '$1'" ;;
    esac
  done
  [[ $source =~ ^[a-z0-9_-]{1,32}$ ]] || usage_error "--source must match [a-z0-9_-]{1,32}"
  require_root activate
  load_config_to_stop
  local t_cmd mode=new id trigger who wrote_flag=0
  t_cmd=$(now_us)
  who=$(actor)
  reason=$(clean_text "$reason")

  if ((from_spool)); then
    if ! spool_has_requests; then
      log_event info "trip spool empty; nothing to do"
      return 0
    fi
    if ! claim_trip_requests; then
      log_event crit "could not claim the trip requests in ${CFG[SPOOL_DIR]}/incoming; stopping anyway"
      # incoming/ stays non-empty and the path unit re-runs us at once: pace that loop, after the stop
      trap 'sleep 1' EXIT
    fi
    describe_trip_requests
    source=$SPOOL_SOURCE reason=$SPOOL_REASON
  fi

  # Whoever wrote the flag owns the activation: when the path unit's run records it before the CLI run
  # that wrote the flag, the record still names the CLI's source, actor, reason and start time.
  local act_source=$source act_actor=$who act_reason=$reason had_flag=0
  if [[ -e ${CFG[FLAG_FILE]} ]]; then
    had_flag=1
    id=$(flag_field id)
    if [[ -n $id ]]; then
      trigger=$(sec_str_to_us "$(flag_field requested_at)") || trigger=$t_cmd
      act_source=$(flag_field source) act_actor=$(flag_field actor) act_reason=$(flag_field reason)
    else # created by hand (touch): the flag's own mtime is when the stop was asked for
      trigger=$(sec_str_to_us "$(stat -c %.6Y -- "${CFG[FLAG_FILE]}")") || trigger=$t_cmd
      id="flag-$trigger"
      [[ -n $act_reason ]] || act_reason="latch flag ${CFG[FLAG_FILE]} created outside the controller"
    fi
    log_event_early notice "latch present (id=$id, requested via $act_source by $act_actor); stopping/verifying every trading unit (this run: source=$source)"
  else
    id=$(new_activation_id)
    trigger=$t_cmd
    act_reason=${act_reason:-manual activation}
    if write_flag "$id" "$act_source" "$act_actor" "$act_reason" "$trigger"; then
      wrote_flag=1
    else
      log_event_early crit "could not write latch flag ${CFG[FLAG_FILE]}; stopping units anyway"
    fi
    log_event_early warning "ACTIVATING id=$id source=$act_source actor=$act_actor reason=\"$act_reason\" units=${TRADING[*]}"
  fi
  redis_marker_async set "{\"id\":\"$id\",\"source\":\"$act_source\",\"since\":$(us_to_sec "$trigger")}"

  local rc=0 result=ok u latency=""
  stop_units "${TRADING[@]}" || rc=$EX_FAIL
  read_unit_states "${TRADING[@]}" || true
  for u in "${TRADING[@]}"; do
    case ${RESULT[$u]} in
      not-stopped) log_event crit "unit $u did NOT stop by the ${CFG[STOP_DEADLINE_SEC]}s deadline (now ${ACTIVE[$u]}/${SUB[$u]})"; result=failed ;;
      killed) log_event warning "unit $u ignored SIGTERM; killed with SIGKILL, now ${ACTIVE[$u]}"; [[ $result == failed ]] || result=degraded ;;
      not-found) log_event warning "unit $u is not installed (not-found); nothing to stop"; [[ $result == failed ]] || result=degraded ;;
      *) log_event info "unit $u: ${RESULT[$u]}, now ${ACTIVE[$u]}" ;;
    esac
  done
  if ((rc == 0)); then
    latency=$((ALL_DOWN_US - trigger))
    ((latency >= 0)) || latency=0 # the trigger time came from a clock that was ahead (e.g. touch -d)
  fi

  take_lock || log_event warning "lock ${CFG[LOCK_FILE]} busy for ${CFG[LOCK_WAIT_SEC]}s; recording without it"
  state_load
  if [[ ${ST[ACTIVE]:-0} == 1 && ${ST[FLAG_ID]:-} == "$id" ]]; then
    mode=reverify
  elif [[ -e ${CFG[FLAG_FILE]} ]] && ((!wrote_flag)) && [[ $id != flag-* ]] && await_writer "$id"; then
    mode=reverify
  elif [[ ! -e ${CFG[FLAG_FILE]} ]] && ((!had_flag && !wrote_flag)); then
    log_event crit "LATCH NOT SET: ${CFG[FLAG_FILE]} could not be written; units were stopped but nothing prevents a restart"
    result=failed rc=$EX_FAIL
  elif [[ ! -e ${CFG[FLAG_FILE]} ]]; then # checked after await_writer: the lock was dropped meanwhile
    log_event warning "latch was cleared by a concurrent deactivate while activation $id ran; recording it as superseded"
    result=superseded rc=$EX_FAIL
  else
    ST[ACTIVE]=1 ST[FLAG_ID]=$id
    persist_latch "$id" "$act_source" "$act_actor" "$act_reason" "$trigger" ||
      log_event err "could not persist the latch for reboots in ${CFG[STATE_DIR]}"
  fi
  if [[ $mode == new ]]; then
    ST[ACT_ID]=$id ST[ACT_SOURCE]=$act_source ST[ACT_ACTOR]=$act_actor ST[ACT_REASON]=$act_reason ST[ACT_TRIGGER_US]=$trigger
    ST[ACT_STOPPED_US]="" ST[ACT_LATENCY_US]=$latency
    if [[ -n $latency ]]; then ST[ACT_STOPPED_US]=$ALL_DOWN_US; fi
    ST[ACT_RESULT]=$result ST[ACT_UNITS]=$(units_summary)
    ST[COUNT_$act_source]=$((${ST[COUNT_$act_source]:-0} + 1))
  fi
  state_save || log_event err "could not write the state file in ${CFG[STATE_DIR]}"
  audit_append "$([[ $mode == new ]] && echo activate || echo reverify)" \
    "\"id\":$(json_str "$id"),\"source\":$(json_str "$act_source"),\"actor\":$(json_str "$act_actor"),\"reason\":$(json_str "$act_reason"),\"run_source\":$(json_str "$source"),\"result\":$(json_str "$result"),\"latency_seconds\":$(num_or_null "$latency"),\"units\":$(units_json)" ||
    log_event err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]}); the stop itself was not affected"
  drop_lock
  ((SPOOL_COUNT == 0)) || record_trip_requests

  local what="ESS ACTIVATED"
  [[ $mode == new ]] || what="ESS ALREADY ACTIVE, re-verified"
  if [[ $result == superseded ]]; then
    printf 'ESS NOT ACTIVE (id %s): a concurrent deactivate cleared the latch; trading may be resuming. Activate again if needed.\n' "$id"
  elif [[ ! -e ${CFG[FLAG_FILE]} ]]; then
    printf 'ESS LATCH NOT SET (id %s): %s could not be written; units were stopped but may be restarted. See journalctl -t %s\n' \
      "$id" "${CFG[FLAG_FILE]}" "$ESS_TAG"
  elif [[ -n $latency ]]; then
    log_event warning "$what id=$id result=$result: all trading units stopped in $(us_to_sec "$latency")s"
    printf '%s (id %s, source %s): all trading units stopped in %s s, result %s\n' "$what" "$id" "$source" "$(us_to_sec "$latency")" "$result"
  else
    log_event crit "$what id=$id result=$result: NOT all trading units stopped"
    printf '%s (id %s, source %s): NOT ALL TRADING UNITS STOPPED, result %s\n' "$what" "$id" "$source" "$result"
  fi
  for u in "${TRADING[@]}"; do printf '  %-36s %-16s %s\n' "$u" "${RESULT[$u]}" "${ACTIVE[$u]}"; done
  return "$rc"
}

# ---------------------------------------------------------------- deactivate
# Makes sure the stop path works again before anything trading is started.
# The trigger (RemainAfterExit=yes) must be stopped while there is no flag, or the path unit never fires
# again; quantum-ess.service is a plain action and is left alone (stopping it would kill an activation).
rearm_switch() {
  [[ -e ${CFG[FLAG_FILE]} ]] || sctl stop -- "$TRIGGER_UNIT" 2>/dev/null || true
  sctl reset-failed -- "${PATH_UNITS[@]}" "$TRIGGER_UNIT" quantum-ess-trip.service 2>/dev/null || true
  sctl start -- "${PATH_UNITS[@]}" || return 1
  read_unit_states "${PATH_UNITS[@]}" "$TRIGGER_UNIT" || return 1
  local u
  for u in "${PATH_UNITS[@]}"; do [[ ${ACTIVE[$u]} == active ]] || return 1; done
  [[ -e ${CFG[FLAG_FILE]} || ${ACTIVE[$TRIGGER_UNIT]} != active ]]
}

record_deactivation() { # record_deactivation RESULT DETAIL EVENT
  ST[DEA_RESULT]=$1 ST[DEA_DETAIL]=$2
  state_save || log_event err "could not write the state file in ${CFG[STATE_DIR]}"
  audit_append "$3" "\"actor\":$(json_str "${ST[DEA_ACTOR]}"),\"reason\":$(json_str "${ST[DEA_REASON]}"),\"result\":$(json_str "$1"),\"detail\":$(json_str "$2")" ||
    log_event err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
}

cmd_deactivate() {
  local reason="" no_start=0
  while (($#)); do
    case $1 in
      --reason) (($# >= 2)) || usage_error "--reason needs a value"; reason=$2; shift 2 ;;
      --no-start) no_start=1; shift ;;
      *) usage_error "deactivate: unknown option '$1'" ;;
    esac
  done
  require_root deactivate
  load_config
  reason=$(clean_text "${reason:-manual deactivation}")
  local who id
  who=$(actor)
  if ! take_lock; then
    printf 'ess: another ESS operation holds %s; nothing was changed. Try again.\n' "${CFG[LOCK_FILE]}" >&2
    exit "$EX_BUSY"
  fi
  if [[ ! -e ${CFG[FLAG_FILE]} ]]; then
    printf 'ess: ESS is not active (no %s); nothing to deactivate.\n' "${CFG[FLAG_FILE]}" >&2
    exit "$EX_NOT_ACTIVE"
  fi
  id=$(flag_field id)
  log_event warning "DEACTIVATING id=${id:-unknown} actor=$who reason=\"$reason\" start=$((no_start ? 0 : 1))"
  rm -f -- "${CFG[FLAG_FILE]}" "$(persisted_latch)"
  state_load
  ST[ACTIVE]=0 ST[FLAG_ID]="" ST[DEA_TIME_US]=$(now_us) ST[DEA_ACTOR]=$who ST[DEA_REASON]=$reason
  redis_marker_async clear
  if ! rearm_switch; then
    log_event crit "latch cleared but the switch could not be re-armed (${PATH_UNITS[*]}); NOT starting trading units"
    record_deactivation failed "switch not re-armed" deactivate
    printf 'ess: latch cleared, but %s could not be re-armed; trading units were NOT started.\n' "${PATH_UNITS[*]}" >&2
    exit "$EX_FAIL"
  fi
  sctl reset-failed -- "${TRADING[@]}" 2>/dev/null || true
  if ((no_start)); then
    record_deactivation latch-cleared "--no-start: trading units left stopped" deactivate
    log_event notice "latch cleared (--no-start); trading units left stopped and may now be started"
    printf 'ESS DEACTIVATED: latch cleared, switch re-armed; trading units NOT started (--no-start).\n'
    return 0
  fi
  record_deactivation resuming "starting ${ORDER[*]}" deactivate
  drop_lock

  local u started=()
  for u in "${ORDER[@]}"; do
    if [[ -e ${CFG[FLAG_FILE]} ]]; then
      START_ERROR="ESS was activated again during the resume"
    else
      START_ERROR=""
      if start_confirmed "$u"; then
        log_event notice "resume: $u active (main PID ${MAINPID[$u]})"
        printf '  started %-36s active\n' "$u"
        started+=("$u")
        continue
      fi
    fi
    log_event err "resume stopped at $u: $START_ERROR; not started: ${ORDER[*]:${#started[@]}}"
    take_lock || true
    state_load
    record_deactivation failed "resume stopped at $u: $START_ERROR" resume
    printf 'ess: resume FAILED at %s: %s\n     started: %s\n     not started: %s\n' \
      "$u" "$START_ERROR" "${started[*]:-none}" "${ORDER[*]:${#started[@]}}" >&2
    exit "$EX_FAIL"
  done
  take_lock || true
  state_load
  record_deactivation ok "started ${ORDER[*]}" resume
  log_event notice "ESS DEACTIVATED: latch cleared, all trading units started in order"
  printf 'ESS DEACTIVATED: latch cleared, switch re-armed, trading units started in order: %s\n' "${ORDER[*]}"
}

# ---------------------------------------------------------------- status
declare -gA DROPIN=()
# A drop-in counts only if systemd has loaded it AND it asserts the configured flag: a FLAG_FILE changed
# without re-running the installer leaves drop-ins that guard a path nobody writes.
read_dropins() {
  local u out i=0 line path
  for u in "${TRADING[@]}"; do DROPIN[$u]=no; done
  out=$(sctl show --property=DropInPaths -- "${TRADING[@]}") || return 0
  while IFS= read -r line; do
    if [[ -z $line ]]; then i=$((i + 1)); continue; fi
    ((i < ${#TRADING[@]})) || break
    for path in ${line#DropInPaths=}; do
      if [[ $path == */"$DROPIN_NAME" ]] && grep -qxF "AssertPathExists=!${CFG[FLAG_FILE]}" "$path" 2>/dev/null; then
        DROPIN[${TRADING[$i]}]=yes
      fi
    done
  done <<<"$out"
}

cmd_status() {
  local json=0
  while (($#)); do
    case $1 in
      --json) json=1; shift ;;
      *) usage_error "status: unknown option '$1'" ;;
    esac
  done
  load_config
  state_load
  local active=0 u violations=0 armed=1 problems=() dropins=0 status code known=1
  [[ -e ${CFG[FLAG_FILE]} ]] && active=1
  if ! read_unit_states "${TRADING[@]}" "${MONITOR[@]}" "${PATH_UNITS[@]}" "$TRIGGER_UNIT"; then
    known=0 problems+=("systemctl show failed or timed out: unit states UNKNOWN")
  fi
  read_dropins
  for u in "${TRADING[@]}"; do
    if ((active && known)) && ! is_down "$u"; then violations=$((violations + 1)); fi
    if [[ ${DROPIN[$u]} == yes ]]; then dropins=$((dropins + 1)); fi
  done
  for u in "${PATH_UNITS[@]}"; do
    [[ ${ACTIVE[$u]} == active ]] || { armed=0; problems+=("$u is ${ACTIVE[$u]}"); }
  done
  if ((!active)) && [[ ${ACTIVE[$TRIGGER_UNIT]} == active ]]; then
    armed=0 problems+=("quantum-ess-trigger.service is still active without a latch (run: ess_controller.sh rearm)")
  fi
  ((dropins == ${#TRADING[@]})) || { armed=0; problems+=("latch drop-in on $dropins/${#TRADING[@]} trading units"); }

  if ((active)); then
    status=ACTIVE code=$ST_ACTIVE
    # a missing drop-in means the latch is not enforced on that unit: as bad as a running one
    ((violations == 0 && dropins == ${#TRADING[@]})) || code=$ST_VIOLATION
  else
    status=INACTIVE code=0
    ((armed)) || code=$ST_DISARMED
  fi
  ((known)) || code=$EX_FAIL

  if ((json)); then
    local entries=() extra
    for u in "${TRADING[@]}" "${MONITOR[@]}"; do
      extra=',"role":"monitor"'
      if [[ -v DROPIN[$u] ]]; then
        extra=',"role":"trading","latch_dropin":false'
        [[ ${DROPIN[$u]} == no ]] || extra=',"role":"trading","latch_dropin":true'
      fi
      entries+=("{\"unit\":$(json_str "$u")$extra,\"load\":$(json_str "${LOAD[$u]}"),\"active\":$(json_str "${ACTIVE[$u]}"),\"sub\":$(json_str "${SUB[$u]}")}")
    done
    local IFS=,
    local probs=()
    for u in "${problems[@]}"; do probs+=("$(json_str "$u")"); done
    printf '{"status":"%s","active":%s,"armed":%s,"latch_violations":%d,"flag_file":%s,"problems":[%s],"units":[%s],"state":%s}\n' \
      "$status" "$([[ $active == 1 ]] && echo true || echo false)" "$([[ $armed == 1 ]] && echo true || echo false)" "$violations" \
      "$(json_str "${CFG[FLAG_FILE]}")" "${probs[*]}" "${entries[*]}" "$(render_state_json)"
    return "$code"
  fi

  printf 'ESS STATUS: %s\n' "$status"
  if ((active)); then
    printf '  latch:    %s present (id %s)\n' "${CFG[FLAG_FILE]}" "$(flag_field id)"
  fi
  if [[ -n ${ST[ACT_ID]:-} ]]; then
    printf '  last activation:   %s by %s via %s: "%s" -> %s, latency %s s\n' "$(iso_time "${ST[ACT_TRIGGER_US]}")" \
      "${ST[ACT_ACTOR]}" "${ST[ACT_SOURCE]}" "${ST[ACT_REASON]}" "${ST[ACT_RESULT]}" \
      "$([[ -n ${ST[ACT_LATENCY_US]} ]] && us_to_sec "${ST[ACT_LATENCY_US]}" || echo n/a)"
  fi
  if [[ -n ${ST[DEA_TIME_US]:-} ]]; then
    printf '  last deactivation: %s by %s: "%s" -> %s %s\n' "$(iso_time "${ST[DEA_TIME_US]}")" "${ST[DEA_ACTOR]}" \
      "${ST[DEA_REASON]}" "${ST[DEA_RESULT]}" "${ST[DEA_DETAIL]:-}"
  fi
  printf '  switch:   %s\n' "$( ((armed)) && echo "armed (${PATH_UNITS[*]} active, latch drop-in on every trading unit)" || echo "NOT ARMED")"
  for u in "${problems[@]}"; do printf '  PROBLEM:  %s\n' "$u"; done
  ((violations == 0)) || printf '  LATCH VIOLATION: %d trading unit(s) running while latched\n' "$violations"
  printf 'TRADING UNITS\n'
  for u in "${TRADING[@]}"; do
    printf '  %-36s %-12s %-14s drop-in:%s\n' "$u" "${ACTIVE[$u]}" "${SUB[$u]}" "${DROPIN[$u]:-no}"
  done
  printf 'MONITOR UNITS\n'
  for u in "${MONITOR[@]}"; do printf '  %-36s %-12s %s\n' "$u" "${ACTIVE[$u]}" "${SUB[$u]}"; done
  return "$code"
}

# ---------------------------------------------------------------- audit verification
cmd_verify_audit() {
  (($# == 0)) || usage_error "verify-audit takes no options"
  load_config
  local f=${CFG[AUDIT_FILE]} n=0 line expect
  if [[ ! -r $f ]]; then
    printf 'ess: audit trail %s is missing or not readable\n' "$f" >&2
    exit "$EX_FAIL"
  fi
  expect=$(printf '%064d' 0)
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    if [[ ! $line =~ \"prev\":\"([0-9a-f]{64})\"\}$ ]]; then
      printf 'audit chain BROKEN at %s line %d: not a complete audit entry (truncated or foreign line)\n' "$f" "$n"
      exit "$EX_FAIL"
    fi
    if [[ ${BASH_REMATCH[1]} != "$expect" ]]; then
      printf 'audit chain BROKEN at %s line %d: "prev" does not match line %d (a line was edited, inserted or removed)\n' "$f" "$n" "$((n - 1))"
      exit "$EX_FAIL"
    fi
    expect=$(printf '%s\n' "$line" | sha256sum | cut -d' ' -f1)
  done <"$f"
  printf 'audit chain OK: %d entries in %s\n' "$n" "$f"
}

# ---------------------------------------------------------------- rearm / restore
cmd_rearm() {
  (($# == 0)) || usage_error "rearm takes no options"
  require_root rearm
  load_config
  take_lock || { printf 'ess: another ESS operation holds the lock; try again.\n' >&2; exit "$EX_BUSY"; }
  if rearm_switch; then
    log_event notice "switch re-armed (${PATH_UNITS[*]} active)"
    printf 'switch re-armed: %s active\n' "${PATH_UNITS[*]}"
  else
    log_event crit "could not re-arm ${PATH_UNITS[*]}"
    printf 'ess: could not re-arm %s; see journalctl -t %s\n' "${PATH_UNITS[*]}" "$ESS_TAG" >&2
    exit "$EX_FAIL"
  fi
}

# /run is a tmpfs: without this a reboot in the middle of an incident would silently resume trading.
cmd_restore_latch() {
  (($# == 0)) || usage_error "restore-latch takes no options"
  require_root restore-latch
  load_config_to_stop
  local saved
  saved=$(persisted_latch)
  [[ -e $saved && ! -e ${CFG[FLAG_FILE]} ]] || return 0
  install -d -m 0755 "${CFG[FLAG_FILE]%/*}"
  atomic_write "${CFG[FLAG_FILE]}" 0644 <"$saved"
  log_event warning "latch restored after reboot from $saved (id $(flag_field id)); trading stays stopped until deactivate"
}

main() {
  (($# > 0)) || usage_error "missing command"
  local cmd=$1
  shift
  case $cmd in
    activate) cmd_activate "$@" ;;
    deactivate) cmd_deactivate "$@" ;;
    status) cmd_status "$@" ;;
    rearm) cmd_rearm "$@" ;;
    verify-audit) cmd_verify_audit "$@" ;;
    restore-latch) cmd_restore_latch "$@" ;;
    help | --help | -h) usage ;;
    *) usage_error "unknown command '$cmd'" ;;
  esac
}

main "$@"
