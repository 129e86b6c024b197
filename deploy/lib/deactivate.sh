# shellcheck shell=bash
# deactivate: the deliberate reset (ISO 13850: only a reset clears a stop). The order makes every failure
# safe: nothing is cleared before the intent is recorded, the persisted latch goes before the flag, the
# switch is re-armed before anything starts, and a switch that cannot be re-armed puts the latch back.
# A resume that stops half-way leaves /run/quantum-ess/resume-pending naming the units not started.
# Needs config.sh units.sh record.sh verdict.sh latch.sh exempt.sh.

# rearm_switch: the path units active and the trigger stopped (while there is no flag), so the next flag
# fires again. quantum-ess.service is a plain action and is left alone (stopping it would kill an
# activation).
rearm_switch() {
  local u
  [[ -e ${CFG[FLAG_FILE]} ]] || sctl stop -- "$TRIGGER_UNIT" 2>/dev/null || true
  sctl reset-failed -- "${SWITCH_PATH_UNITS[@]}" quantum-ess-guard.path "$TRIGGER_UNIT" quantum-ess-trip.service \
    quantum-ess-guard.service 2>/dev/null || true
  sctl start -- "${SWITCH_PATH_UNITS[@]}" || return 1
  sctl start -- quantum-ess-guard.path 2>/dev/null || log_event warning "quantum-ess-guard.path could not be started"
  read_unit_states "${SWITCH_PATH_UNITS[@]}" "$TRIGGER_UNIT" || return 1
  for u in "${SWITCH_PATH_UNITS[@]}"; do [[ ${ACTIVE[$u]} == active ]] || return 1; done
  [[ -e ${CFG[FLAG_FILE]} || ${ACTIVE[$TRIGGER_UNIT]} != active ]]
}

deactivation_record() { # deactivation_record RESULT DETAIL EVENT
  local a r res d
  ST[DEA_RESULT]=$1 ST[DEA_DETAIL]=$2
  state_save || log_event err "could not write the state file in ${CFG[STATE_DIR]}"
  json_str_v a "${ST[DEA_ACTOR]}"; json_str_v r "${ST[DEA_REASON]}"; json_str_v res "$1"; json_str_v d "$2"
  audit_append "$3" "\"actor\":$a,\"reason\":$r,\"result\":$res,\"detail\":$d" ||
    log_event err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
}

# deactivation_clear ID WHO REASON NO_START (lock held): clear the latch in the safe order, or change
# nothing and return 1 with the reason in DEA_ERROR.
declare -g DEA_ERROR=""
deactivation_clear() {
  local id=$1 who=$2 reason=$3 no_start=$4 saved="" latched
  latched=$(persisted_latch_path)
  state_load
  ST[DEA_TIME_US]=$(now_us) ST[DEA_ACTOR]=$who ST[DEA_REASON]=$reason ST[DEA_RESULT]=clearing ST[DEA_DETAIL]="id $id"
  if ! state_save; then
    DEA_ERROR="cannot write the state in ${CFG[STATE_DIR]} (read-only or full?)"
    return 1
  fi
  # a reset without its evidence is refused: the audit line of the intent comes before any change
  local a r i
  json_str_v a "$who"; json_str_v r "$reason"; json_str_v i "$id"
  if ! audit_append deactivate-begin "\"id\":$i,\"actor\":$a,\"reason\":$r"; then
    DEA_ERROR="cannot write the audit trail ${CFG[AUDIT_FILE]} (read-only or full?)"
    return 1
  fi
  if ((!no_start)) && ! marker_set resume-pending "${ORDER[*]}"; then
    DEA_ERROR="cannot write $ESS_RUNTIME_DIR/resume-pending"
    return 1
  fi
  [[ ! -f $latched ]] || IFS= read -r -d '' saved <"$latched" || true
  if ! rm -f -- "$latched"; then
    marker_clear resume-pending
    DEA_ERROR="cannot remove the persisted latch $latched"
    return 1
  fi
  if ! rm -f -- "${CFG[FLAG_FILE]}"; then
    [[ -z $saved ]] || printf '%s' "$saved" | atomic_write "$latched" 0600 || true
    marker_clear resume-pending
    DEA_ERROR="cannot remove the latch flag ${CFG[FLAG_FILE]}"
    return 1
  fi
  if ! rearm_switch; then
    # fail closed: a switch that cannot fire again must not come with a cleared latch
    [[ -z $saved ]] || printf '%s' "$saved" | atomic_write "$latched" 0600 || true
    printf '%s' "${saved:-{\"id\":\"$id\"}}" | atomic_write "${CFG[FLAG_FILE]}" 0644 || true
    marker_clear resume-pending
    DEA_ERROR="the switch (${SWITCH_PATH_UNITS[*]}) could not be re-armed; the latch was put back"
    return 1
  fi
  exempt_clear_all deactivate
  ST[ACTIVE]=0 ST[FLAG_ID]=""
}

# deactivation_resume UNIT... (no lock held): start in order, each confirmed; the marker shrinks as
# units come up. Returns 1 and names the unit on the first failure.
deactivation_resume() {
  local u started=() rest
  for u in "$@"; do
    if [[ -e ${CFG[FLAG_FILE]} ]]; then
      START_ERROR="ESS was activated again during the resume"
    else
      START_ERROR=""
      if [[ $(sctl show -P ActiveState -- "$u" 2>/dev/null) == active ]] || start_confirmed "$u"; then
        started+=("$u")
        rest=("${@:${#started[@]}+1}")
        if ((${#rest[@]} > 0)); then marker_set resume-pending "${rest[*]}" || true; fi
        log_event notice "resume: $u active (main PID ${MAINPID[$u]:-?})"
        printf '  started %-36s active\n' "$u"
        continue
      fi
    fi
    log_event err "resume stopped at $u: $START_ERROR; not started: ${*:${#started[@]}+1}"
    take_lock || true
    state_load
    [[ ! -e ${CFG[FLAG_FILE]} ]] || marker_clear resume-pending
    deactivation_record failed "resume stopped at $u: $START_ERROR" resume
    drop_lock
    printf 'ess: resume FAILED at %s: %s\n     started: %s\n     not started: %s\n' \
      "$u" "$START_ERROR" "${started[*]:-none}" "${*:${#started[@]}+1}" >&2
    return 1
  done
  take_lock || true
  state_load
  marker_clear resume-pending
  deactivation_record ok "started $*" resume
  drop_lock
}

# deactivate [--reason TEXT] [--no-start]
cmd_deactivate() {
  local reason="" no_start=0 who id pending
  while (($#)); do
    case $1 in
      --reason) (($# >= 2)) || usage_error "--reason needs a value"; reason=$2; shift 2 ;;
      --no-start) no_start=1; shift ;;
      *) usage_error "deactivate: unknown option '$1'" ;;
    esac
  done
  require_root deactivate
  load_config_in_force
  clean_text_v reason "${reason:-manual deactivation}"
  actor_v who
  if ! take_lock; then
    printf 'ess: another ESS operation holds %s; nothing was changed. Try again.\n' "${CFG[LOCK_FILE]}" >&2
    exit "$EX_BUSY"
  fi
  marker_read_v pending resume-pending
  if [[ ! -e ${CFG[FLAG_FILE]} && ! -e $(persisted_latch_path) ]]; then
    if [[ -n $pending ]] && ((!no_start)); then
      log_event warning "finishing an interrupted resume: $pending"
      drop_lock
      read -r -a pending <<<"$pending"
      deactivation_resume "${pending[@]}" || exit "$EX_FAIL"
      printf 'ESS DEACTIVATED: interrupted resume finished: %s\n' "${pending[*]}"
      return 0
    fi
    marker_clear resume-pending
    printf 'ess: ESS is not active (no %s); nothing to deactivate.\n' "${CFG[FLAG_FILE]}" >&2
    exit "$EX_NOT_ACTIVE"
  fi
  flag_read "${CFG[FLAG_FILE]}"
  [[ -n $FLAG_ID ]] || flag_read "$(persisted_latch_path)"
  id=${FLAG_ID:-unknown}
  log_event warning "=== ESS DEACTIVATION INITIATED === DEACTIVATING id=$id actor=$who reason=\"$reason\" start=$((no_start ? 0 : 1))"
  if ! deactivation_clear "$id" "$who" "$reason" "$no_start"; then
    log_event crit "deactivate refused, latch kept: $DEA_ERROR"
    state_load
    deactivation_record failed "latch kept: $DEA_ERROR" deactivate
    printf 'ess: deactivate FAILED, the ESS stays ACTIVE: %s\n' "$DEA_ERROR" >&2
    exit "$EX_FAIL"
  fi
  redis_marker_async clear
  sctl reset-failed -- "${TRADING[@]}" 2>/dev/null || true
  if ((no_start)); then
    deactivation_record latch-cleared "--no-start: trading units left stopped" deactivate
    log_event notice "=== ESS DEACTIVATED - LATCH CLEARED === (--no-start); trading units left stopped and may now be started"
    printf 'ESS DEACTIVATED: latch cleared, switch re-armed; trading units NOT started (--no-start).\n'
    return 0
  fi
  deactivation_record resuming "starting ${ORDER[*]}" deactivate
  drop_lock
  deactivation_resume "${ORDER[@]}" || exit "$EX_FAIL"
  log_event notice "=== ESS DEACTIVATED - TRADING RESUMED === latch cleared, all trading units started in order"
  printf 'ESS DEACTIVATED: latch cleared, switch re-armed, trading units started in order: %s\n' "${ORDER[*]}"
}
