# shellcheck shell=bash
# deactivate: the deliberate reset (ISO 13850: only a reset clears a stop). The order makes every
# failure safe: nothing is cleared before the intent is recorded, the persisted latch goes before
# the flag, the switch is re-armed before anything starts, and a switch that cannot be re-armed puts
# the latch back. A resume that stops half-way leaves /run/quantum-ess/resume-pending naming the
# units not started. Running on-trip actions are stopped before anything is cleared. Needs config.sh
# time.sh units.sh record.sh verdict.sh latch.sh exempt.sh args.sh actions.sh, from load.sh. From
# ess_controller.sh: usage, usage_error, require_root, EX_BUSY, EX_FAIL, EX_NOT_ACTIVE.
# Writes DEA_ERROR START_ERROR ST LOCK_FD RESUME_FD, each function the ones its comment names.

# deactivate_rearm_switch: the path units active and the trigger stopped (while there is no flag),
# so the next flag fires again. quantum-ess.service is a plain action and is left alone (stopping it
# would kill an activation). Writes the unit states (units_read_states).
deactivate_rearm_switch() {
  local u
  [[ -e ${CFG[FLAG_FILE]} ]] || units_sctl stop -- "$TRIGGER_UNIT" 2>/dev/null || true
  units_sctl reset-failed -- "${SWITCH_PATH_UNITS[@]}" quantum-ess-guard.path "$TRIGGER_UNIT" \
    quantum-ess-trip.service quantum-ess-guard.service 2>/dev/null || true
  units_sctl start -- "${SWITCH_PATH_UNITS[@]}" || return 1
  units_sctl start -- quantum-ess-guard.path quantum-ess-guard.timer quantum-ess-trip-sweep.timer \
    2>/dev/null || record_log warning "quantum-ess-guard.path, quantum-ess-guard.timer or" \
    "quantum-ess-trip-sweep.timer could not be started"
  units_read_states "${SWITCH_PATH_UNITS[@]}" "$TRIGGER_UNIT" || return 1
  for u in "${SWITCH_PATH_UNITS[@]}"; do [[ ${ACTIVE[$u]} == active ]] || return 1; done
  [[ -e ${CFG[FLAG_FILE]} || ${ACTIVE[$TRIGGER_UNIT]} != active ]]
}

# deactivate_record RESULT DETAIL EVENT: the deactivation's outcome in the state and the audit.
# Writes ST.
deactivate_record() {
  local a r res d
  ST[DEA_RESULT]=$1 ST[DEA_DETAIL]=$2
  record_state_save || record_log err "could not write the state file in ${CFG[STATE_DIR]}"
  record_json_str_v a "${ST[DEA_ACTOR]}"; record_json_str_v r "${ST[DEA_REASON]}"
  record_json_str_v res "$1"; record_json_str_v d "$2"
  record_audit_append "$3" "\"actor\":$a,\"reason\":$r,\"result\":$res,\"detail\":$d" ||
    record_log err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
}

# deactivate_take_flag TOKEN (lock held): the flag removed; with a TOKEN (--if-activation) only
# if it is that latch, untouched. The flag is moved aside in one rename, so what is checked is what
# was removed, even against a real stop that rewrites the flag without the lock (taking over a
# drill's latch); a flag that is not TOKEN's is put back at once (unless a newer one appeared
# meanwhile, which then holds; the persisted latch refuses every start in between). Returns 1 with
# DEA_ERROR otherwise. Writes DEA_ERROR FLAG_*.
deactivate_take_flag() {
  local f=${CFG[FLAG_FILE]} aside found
  if [[ -z $1 ]]; then
    rm -f -- "$f" && return 0
    DEA_ERROR="cannot remove the latch flag $f"
    return 1
  fi
  aside=${f%/*}/.${f##*/}.$$.$RANDOM
  if ! mv -T -- "$f" "$aside" 2>/dev/null; then
    DEA_ERROR="no latch flag $f to check against activation $1"
    return 1
  fi
  latch_flag_identity_v found "$aside"
  if [[ $found == "$1" ]]; then
    rm -f -- "$aside"
    return 0
  fi
  ln -T -- "$aside" "$f" 2>/dev/null || true
  rm -f -- "$aside"
  DEA_ERROR="the latch is no longer activation $1 (now $found: a real stop arrived"
  DEA_ERROR+=" or the flag was touched); it was not cleared"
  return 1
}

# deactivate_clear ID WHO REASON NO_START [TOKEN] (lock held): clear the latch in the safe order,
# or change nothing and return 1 with the reason in DEA_ERROR. With a TOKEN, only the latch it names
# (deactivate_take_flag), and never a flag that appears after it was taken (a new stop). Each step
# that fails undoes the ones before:
#   state (the intent) not written        -> nothing changed
#   audit line of the intent not written  -> nothing changed
#   resume-pending marker not written     -> nothing changed
#   persisted latch not removed           -> marker cleared
#   flag not removed (not TOKEN's latch)  -> persisted latch put back, marker cleared
#   switch not re-armed                   -> persisted latch and flag put back, marker cleared
#   a new flag appeared meanwhile         -> it holds, the persisted latch put back
# Writes DEA_ERROR ST FLAG_*, and the unit states (deactivate_rearm_switch).
declare -g DEA_ERROR=""
deactivate_clear() {
  local id=$1 who=$2 reason=$3 no_start=$4 token=${5:-} saved="" latched
  latched=$(verdict_persisted_latch_path)
  deactivate_record_intent "$id" "$who" "$reason" || return 1
  if ((!no_start)) && ! record_marker_set resume-pending "${ORDER[*]}"; then
    DEA_ERROR="cannot write $ESS_RUNTIME_DIR/resume-pending"
    return 1
  fi
  [[ ! -f $latched ]] || IFS= read -r -d '' saved <"$latched" || true
  if ! rm -f -- "$latched"; then
    record_marker_clear resume-pending
    DEA_ERROR="cannot remove the persisted latch $latched"
    return 1
  fi
  if ! deactivate_take_flag "$token"; then
    [[ -z $saved ]] || printf '%s' "$saved" | record_atomic_write "$latched" 0600 || true
    record_marker_clear resume-pending
    return 1
  fi
  if ! deactivate_rearm_switch; then
    # fail closed: a switch that cannot fire again must not come with a cleared latch
    [[ -z $saved ]] || printf '%s' "$saved" | record_atomic_write "$latched" 0600 || true
    printf '%s' "${saved:-{\"id\":\"$id\"}}" | record_atomic_write "${CFG[FLAG_FILE]}" 0644 || true
    record_marker_clear resume-pending
    DEA_ERROR="the switch (${SWITCH_PATH_UNITS[*]}) could not be re-armed; the latch was put back."
    DEA_ERROR+=" Repair it under the latch with: sudo ess_controller.sh rearm; then deactivate"
    DEA_ERROR+=" again: sudo ess_controller.sh deactivate"
    return 1
  fi
  if [[ -n $token && -e ${CFG[FLAG_FILE]} ]]; then
    # a touch made it, or a stop that records its own latch later: persisted meanwhile either way
    [[ -e $latched || -z $saved ]] || printf '%s' "$saved" | record_atomic_write "$latched" 0600 ||
      true
    record_marker_clear resume-pending
    DEA_ERROR="a new stop latched while activation $token was being cleared; it holds"
    return 1
  fi
  exempt_clear_all deactivate
  ST[ACTIVE]=0 ST[FLAG_ID]=""
}

# deactivate_record_intent ID WHO REASON: the intent in the state and the audit trail before any
# change (a reset without its evidence is refused); returns 1 with DEA_ERROR otherwise.
# Writes ST DEA_ERROR.
deactivate_record_intent() {
  local id=$1 who=$2 reason=$3 now a r i
  record_state_load
  time_now_us_v now
  ST[DEA_TIME_US]=$now ST[DEA_ACTOR]=$who ST[DEA_REASON]=$reason ST[DEA_RESULT]=clearing
  ST[DEA_DETAIL]="id $id"
  if ! record_state_save; then
    DEA_ERROR="cannot write the state in ${CFG[STATE_DIR]} (read-only or full?)"
    return 1
  fi
  record_json_str_v a "$who"; record_json_str_v r "$reason"; record_json_str_v i "$id"
  if ! record_audit_append deactivate-begin "\"id\":$i,\"actor\":$a,\"reason\":$r"; then
    DEA_ERROR="cannot write the audit trail ${CFG[AUDIT_FILE]} (read-only or full?)"
    return 1
  fi
}

# deactivate_resume UNIT... (no lock held): start in order, each confirmed; the marker shrinks as
# units come up. A unit systemd has not loaded (verdict_not_loaded: a typo in TRADING_UNITS) cannot
# be started and is no reason to keep the others down, or the resume would fail there for ever: it
# is skipped and named (deactivate_say_skipped). Returns 1 and names the unit on the first failure.
# Writes START_ERROR ST LOCK_FD DEA_SKIPPED, and the unit states (units_start_confirmed).
declare -ga DEA_SKIPPED=()
deactivate_resume() {
  local u started=() rest
  DEA_SKIPPED=()
  for u in "$@"; do
    if [[ -e ${CFG[FLAG_FILE]} ]]; then
      START_ERROR="the ESS was activated again during the resume"
    else
      START_ERROR=""
      units_read_states "$u" || true
      if verdict_not_loaded "$u"; then
        DEA_SKIPPED+=("$u")
        started+=("$u") # done with, for the marker: never retried
        rest=("${@:${#started[@]}+1}")
        if ((${#rest[@]} > 0)); then record_marker_set resume-pending "${rest[*]}" || true; fi
        record_journal warning \
          "resume: $u not started: LoadState ${LOAD[$u]} (systemd cannot start it)"
        printf '  skipped %-36s %s\n' "$u" "LoadState ${LOAD[$u]}: systemd cannot start it"
        continue
      fi
      if [[ ${ACTIVE[$u]} == active ]] || units_start_confirmed "$u"; then
        started+=("$u")
        rest=("${@:${#started[@]}+1}")
        if ((${#rest[@]} > 0)); then record_marker_set resume-pending "${rest[*]}" || true; fi
        record_journal notice "resume: $u active (main PID ${MAINPID[$u]:-?})"
        printf '  started %-36s active\n' "$u"
        continue
      fi
    fi
    deactivate_resume_failed "$u" "${started[*]:-none}" "${*:${#started[@]}+1}"
    return 1
  done
  latch_take_lock || true
  record_state_load
  record_marker_clear resume-pending
  deactivate_started_words_v u "$@"
  deactivate_record ok "$u" resume
  latch_drop_lock
  deactivate_say_skipped
}

# deactivate_started_words_v VAR UNIT...: what a finished resume did, in words: "started UNIT...",
# and the units it skipped (DEA_SKIPPED). Writes VAR.
deactivate_started_words_v() {
  local _sw_var=$1 _sw_u _sw_up=()
  shift
  for _sw_u in "$@"; do
    [[ " ${DEA_SKIPPED[*]} " == *" $_sw_u "* ]] || _sw_up+=("$_sw_u")
  done
  printf -v "$_sw_var" 'started %s' "${_sw_up[*]:-none}"
  ((${#DEA_SKIPPED[@]} == 0)) ||
    printf -v "$_sw_var" '%s; not started (not loaded by systemd): %s' "${!_sw_var}" \
      "${DEA_SKIPPED[*]}"
}

# deactivate_say_skipped: each unit the resume skipped, with the nearest existing unit's name
# (units_suggest_v) and the fix; the ESS is not armed until it is made (status says so).
deactivate_say_skipped() {
  local u near t
  for u in "${DEA_SKIPPED[@]}"; do
    if [[ ${LOAD[$u]} != not-found ]]; then
      units_unloadable_v t "$u"
      printf 'WARNING: %s not started: %s; the ESS is NOT ARMED until it loads\n' "$u" "$t" >&2
      continue
    fi
    units_suggest_v near "$u"
    t="WARNING: $u does not exist (TRADING_UNITS in $ESS_DEFAULT_CONFIG): not started"
    [[ -z $near ]] || t+="; did you mean $near? (its state: sudo systemctl status $near)"
    t+="; the ESS is NOT ARMED until it is fixed: sudoedit $ESS_DEFAULT_CONFIG (TRADING_UNITS),"
    t+=" then re-run the installer (sudo ess_controller.sh status says when it is armed)"
    printf '%s\n' "$t" >&2
  done
}

# deactivate_resume_failed UNIT STARTED NOT_STARTED: the resume stopped at UNIT (START_ERROR says
# why): recorded, and told; a new activation that latched meanwhile overtook it
# (deactivate_overtaken). Writes ST LOCK_FD FLAG_*.
deactivate_resume_failed() {
  local u=$1 done_list=$2 todo_list=$3
  if [[ -e ${CFG[FLAG_FILE]} ]]; then
    deactivate_overtaken "$u" "$done_list" "$todo_list"
    return 0
  fi
  record_journal err "resume stopped at $u: $START_ERROR; not started: $todo_list"
  latch_take_lock || true
  record_state_load
  deactivate_record failed "resume stopped at $u: $START_ERROR" resume
  latch_drop_lock
  printf 'ess: resume FAILED at %s: %s\n     started: %s\n     not started: %s\n' \
    "$u" "$START_ERROR" "$done_list" "$todo_list" >&2
}

# deactivate_overtaken UNIT STARTED NOT_STARTED: a new activation latched while this deactivate
# was starting the units (at UNIT): it holds, trading stays stopped; said plainly, with which
# activation it was and what the operator may run. Writes ST LOCK_FD FLAG_*.
deactivate_overtaken() {
  local by
  latch_flag_read "${CFG[FLAG_FILE]}" || true
  by="activation ${FLAG_ID:-unknown} (via ${FLAG_SOURCE:-unknown} by ${FLAG_ACTOR:-unknown}:"
  by+=" \"${FLAG_REASON:-$RECORD_NO_REASON}\")"
  record_journal warning "deactivate OVERTAKEN at $u by $by; the ESS is active again," \
    "trading stays stopped; not started: $3"
  latch_take_lock || true
  record_state_load
  record_marker_clear resume-pending
  deactivate_record overtaken "overtaken at $u by $by" resume
  latch_drop_lock
  printf 'ess: DEACTIVATE OVERTAKEN: a new %s latched while this deactivate was starting %s\n' \
    "$by" "the trading units." >&2
  printf '     The ESS is ACTIVE again and trading stays stopped (that stop holds).\n' >&2
  printf '     started before it (stopped again by it): %s\n     not started: %s\n' "$2" "$3" >&2
  printf '     Check it with: ess_controller.sh status; resume with: %s\n' \
    'sudo ess_controller.sh deactivate --reason TEXT' >&2
}

# deactivate_hold_resume: the resume lock (ESS_RUNTIME_DIR/resume.lock) taken without waiting,
# held until the process ends. A resume runs without the controller's lock (units take seconds to
# start); this one tells a resume in progress from an interrupted one. Returns 1 when another
# process holds it. Writes RESUME_FD.
declare -g RESUME_FD=""
deactivate_hold_resume() {
  local old
  [[ -z $RESUME_FD ]] || return 0
  old=$(umask)
  umask 077
  exec {RESUME_FD}>>"$ESS_RUNTIME_DIR/resume.lock" || { umask "$old"; RESUME_FD=""; return 1; }
  umask "$old"
  flock -n "$RESUME_FD" && return 0
  exec {RESUME_FD}>&-
  RESUME_FD=""
  return 1
}

# deactivate_not_latched NO_START (lock held, neither the flag nor the persisted latch exists):
# finish an interrupted resume (unless --no-start), or exit 2: the ESS is not active, or another
# deactivate is starting the units (its resume lock held: never a second resume). Writes ST
# LOCK_FD RESUME_FD START_ERROR.
deactivate_not_latched() {
  local no_start=$1 pending
  record_marker_read_v pending resume-pending
  if [[ -n $pending ]] && ! deactivate_hold_resume; then
    record_journal notice "deactivate: not active, another deactivate is starting $pending;" \
      "nothing done"
    printf 'ess: ESS is not active: another deactivate already cleared the latch and is starting%s
' \
      " the trading units ($pending); nothing to deactivate, nothing was done." >&2
    exit "$EX_NOT_ACTIVE"
  fi
  if [[ -n $pending ]] && ((!no_start)); then
    record_log warning "finishing an interrupted resume: $pending"
    latch_drop_lock
    read -r -a pending <<<"$pending"
    deactivate_resume "${pending[@]}" || exit "$EX_FAIL"
    printf 'ESS DEACTIVATED: interrupted resume finished: %s\n' "${pending[*]}"
    return 0
  fi
  record_marker_clear resume-pending
  printf 'ess: ESS is not active (no %s); nothing to deactivate.\n' "${CFG[FLAG_FILE]}" >&2
  exit "$EX_NOT_ACTIVE"
}

# deactivate_start NO_START (lock held, the latch cleared): the trading units started in
# START_ORDER, or (--no-start) left stopped. Writes ST LOCK_FD START_ERROR.
deactivate_start() {
  record_redis_marker_async clear
  units_sctl reset-failed -- "${TRADING[@]}" 2>/dev/null || true
  if (($1)); then
    deactivate_record latch-cleared "--no-start: trading units left stopped" deactivate
    record_journal notice "=== ESS DEACTIVATED - LATCH CLEARED === (--no-start);" \
      "trading units left stopped and may now be started"
    printf 'ESS DEACTIVATED: latch cleared, switch re-armed; %s\n' \
      "trading units NOT started (--no-start)."
    return 0
  fi
  deactivate_record resuming "starting ${ORDER[*]}" deactivate
  deactivate_hold_resume || record_log warning "resume lock held by another process; resuming"
  latch_drop_lock
  deactivate_resume "${ORDER[@]}" || exit "$EX_FAIL"
  local did
  deactivate_started_words_v did "${ORDER[@]}"
  record_journal notice "=== ESS DEACTIVATED - TRADING RESUMED ===" \
    "latch cleared, trading units in order: $did"
  printf 'ESS DEACTIVATED: latch cleared, switch re-armed, trading units in order: %s\n' "$did"
}

# deactivate_ask_reason_v VAR NO_START: no --reason given. At a terminal, resuming trading is
# deliberate: ask for one (an empty answer is recorded as "no reason given"); the end of input
# there (Ctrl-D) is no answer: refused (exit 1), nothing changed, with the command that works.
# Without a terminal (a script, the runbook's literal command through ssh) proceed: the record then
# says no reason was given.
deactivate_ask_reason_v() {
  local _answer="" _working=(deactivate --reason)
  if [[ -t 0 && -t 2 ]]; then
    printf 'Why is the ESS being deactivated? (recorded in the audit trail; Enter for none): ' >&2
    if ! IFS= read -r _answer; then
      _working+=("${_answer:-TEXT}")
      (($2 == 0)) || _working+=(--no-start)
      args_quote_v _answer sudo ess_controller.sh "${_working[@]}"
      printf '\ness: no answer (end of input): deactivate refused, nothing was changed, %s\n' \
        "the ESS stays ACTIVE. To resume trading: $_answer" >&2
      exit "$EX_FAIL"
    fi
  fi
  printf -v "$1" '%s' "${_answer#"${_answer%%[! ]*}"}"
}

# deactivate [--reason TEXT] [--no-start] [--if-activation TOKEN]
# --if-activation (the drill): clear only the latch TOKEN (ID@MTIME, latch_flag_identity_v) names,
# checked and cleared under the lock in one step; any other latch is kept (exit 1).
# Writes DEA_ERROR FLAG_* ST LOCK_FD START_ERROR.
deactivate_cmd() {
  local reason="" no_start=0 who id token="" found
  deactivate_options "$@"
  require_root deactivate
  config_load_in_force
  # asked only when there is something to deactivate (not active: said at once, below)
  if [[ -z ${reason// /} && ( -e ${CFG[FLAG_FILE]} || -e $(verdict_persisted_latch_path) ) ]]; then
    deactivate_ask_reason_v reason "$no_start"
  fi
  record_clean_text_v reason "${reason:-$RECORD_NO_REASON}"
  record_actor_v who
  if ! latch_take_lock; then
    printf 'ess: another ESS operation holds %s; nothing was changed. Try again.\n' \
      "${CFG[LOCK_FILE]}" >&2
    exit "$EX_BUSY"
  fi
  if [[ ! -e ${CFG[FLAG_FILE]} && ! -e $(verdict_persisted_latch_path) ]]; then
    [[ -z $token ]] || deactivate_refuse_token "$token" "the ESS is not active"
    deactivate_not_latched "$no_start"
    return 0
  fi
  if [[ -n $token ]]; then
    latch_flag_identity_v found "${CFG[FLAG_FILE]}"
    [[ $found == "$token" ]] || deactivate_refuse_token "$token" "the latch is now $found"
  fi
  latch_flag_read "${CFG[FLAG_FILE]}"
  [[ -n $FLAG_ID ]] || latch_flag_read "$(verdict_persisted_latch_path)"
  id=${FLAG_ID:-unknown}
  record_journal warning "=== ESS DEACTIVATION INITIATED === DEACTIVATING id=$id actor=$who" \
    "reason=\"$reason\" start=$((no_start ? 0 : 1))"
  actions_stop_running || deactivate_refuse "$id" "$who" "$reason" \
    "an on-trip action of the activation could not be stopped (systemctl list-units" \
    "'quantum-ess-action-*'); it could cancel the orders of the resumed trading"
  deactivate_clear "$id" "$who" "$reason" "$no_start" "$token" || deactivate_refuse
  deactivate_start "$no_start"
}

# deactivate_refuse [ID WHO REASON WHY...]: the latch kept, said, recorded and audited; exit 1.
# Without ID, DEA_ERROR says why and the intent is recorded already (deactivate_clear); with it, the
# intent is recorded first. Writes ST DEA_ERROR.
deactivate_refuse() {
  if (($# > 0)); then
    DEA_ERROR="${*:4}"
    deactivate_record_intent "$1" "$2" "$3" || true
  fi
  record_journal crit "deactivate refused, latch kept: $DEA_ERROR"
  record_state_load
  deactivate_record failed "latch kept: $DEA_ERROR" deactivate
  printf 'ess: deactivate FAILED, the ESS stays ACTIVE: %s\n' "$DEA_ERROR" >&2
  exit "$EX_FAIL"
}

# deactivate_options ARGS...: deactivate's options, strictly (it resumes trading): anything that
# does not fit is refused (exit 64, nothing changed) with the command that works, read as activate
# would read it. Writes reason no_start token (deactivate_cmd's), ARGS_*.
deactivate_options() {
  local working=(deactivate)
  args_parse "reason if-activation" "no-start" "$@"
  args_reason_v reason
  no_start=${ARGS_VAL[no-start]:-0} token=${ARGS_VAL[if-activation]:-}
  if [[ -n $reason ]]; then working+=(--reason "$reason")
  elif [[ " ${ARGS_BARE[*]} " == *" reason "* ]]; then working+=(--reason TEXT); fi
  ((!no_start)) || working+=(--no-start)
  [[ -z $token ]] || working+=(--if-activation "$token")
  args_strict deactivate 0 "${working[@]}"
  [[ -z $token || $token =~ ^[A-Za-z0-9T:._-]{1,64}@[0-9.]{1,32}$ ]] ||
    args_refuse deactivate "--if-activation needs a latch token ID@MTIME" "${working[@]}"
}

# deactivate_refuse_token TOKEN WHY (lock held): --if-activation found another latch, or none:
# nothing is changed, exit 1 (the drill then leaves the latch, and trading, as they are).
deactivate_refuse_token() {
  record_log warning "deactivate --if-activation $1 refused, nothing changed: $2"
  printf 'ess: deactivate refused, nothing changed: %s, not activation %s %s\n' "$2" "$1" \
    "(a real stop arrived, or the flag was touched)" >&2
  exit "$EX_FAIL"
}
