# shellcheck shell=bash
# Keeping the latch when the flag goes away without a deactivate: removed by hand or by a script
# (tampering), or lost with /run at a reboot. After ISO 13850 only a deliberate reset clears a stop,
# so the flag is put back, every trading unit is stopped again, and the event is logged at crit,
# audited and counted (tamper_total, ess_tamper_events_total). Until then the drop-ins still refuse
# every start, because they also assert on the persisted latch.
# Needs config.sh time.sh record.sh verdict.sh latch.sh activate.sh args.sh, from load.sh. From
# ess_controller.sh: usage, usage_error, require_root. Writes ST LOCK_FD FLAG_* GUARD_ROUNDS, and
# what activate_cmd writes.

# guard_restore_flag DETAIL (lock held): put the flag back from the persisted latch (or the state's
# id). Writes ST (the tamper count, time and detail).
guard_restore_flag() {
  local detail=$1 latched f=${CFG[FLAG_FILE]} d now
  latched=$(verdict_persisted_latch_path)
  [[ -d ${f%/*} ]] || install -d -m 0755 "${f%/*}"
  if [[ -f $latched && -r $latched ]]; then
    record_atomic_write "$f" 0644 <"$latched" || return 1
  else
    printf '{"id":"%s"}\n' "${ST[FLAG_ID]:-tamper}" | record_atomic_write "$f" 0644 || return 1
  fi
  record_log crit "LATCH TAMPERED: $detail; flag $f put back, stopping every trading unit again" \
    "(only deactivate clears the latch)"
  time_now_us_v now
  ST[TAMPER_TOTAL]=$((${ST[TAMPER_TOTAL]:-0} + 1)) ST[TAMPER_TIME_US]=$now ST[TAMPER_DETAIL]=$detail
  record_state_save || record_log err "could not write the state file in ${CFG[STATE_DIR]}"
  record_json_str_v d "$detail"
  record_audit_append tamper "\"id\":$(record_json_str "${ST[FLAG_ID]:-}"),\"detail\":$d,\
\"action\":\"flag restored, units stopped again\"" ||
    record_log err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
}

# guard: run by quantum-ess-guard.service when the flag changes, and every 5 s by its timer for a
# change whose event was missed (ConditionPathExists=! skips it, without a fork, while the flag
# exists). Waits for any deactivate in progress, then judges.
guard_cmd() {
  args_parse "" "" "$@"
  args_strict guard 0 guard
  require_root guard
  # shellcheck disable=SC2034 # config.sh: a bad snapshot, stop from the drop-ins
  CONFIG_STOP_PATH=1
  config_load_in_force
  guard_run
}

# guard_run: the flag is gone; if nothing says the ESS is no longer latched (no deactivate cleared
# the persisted latch and the state), put it back and stop every trading unit again:
#   the flag exists (again)                               -> nothing to do
#   no persisted latch and the state says not active      -> nothing to do (a deactivate)
#   otherwise                                             -> tampering: restore, re-activate
# Writes ST LOCK_FD GUARD_ROUNDS, and what activate_cmd writes.
guard_run() {
  [[ ! -e ${CFG[FLAG_FILE]} ]] || return 0
  # the timer's runs while nothing is latched: no lock taken, nothing an operator waits on
  record_state_load
  [[ -e $(verdict_persisted_latch_path) || ${ST[ACTIVE]:-0} == 1 ]] || return 0
  latch_take_lock || record_log warning "lock ${CFG[LOCK_FILE]} busy for ${CFG[LOCK_WAIT_SEC]}s;" \
    "guarding without it"
  record_state_load
  if [[ -e ${CFG[FLAG_FILE]} ]] ||
    { [[ ! -e $(verdict_persisted_latch_path) ]] && [[ ${ST[ACTIVE]:-0} != 1 ]]; }; then
    latch_drop_lock
    return 0
  fi
  guard_restore_flag "${CFG[FLAG_FILE]} removed outside the controller while latched\
 (activation ${ST[FLAG_ID]:-unknown})" ||
    record_log crit "could not put the flag ${CFG[FLAG_FILE]} back; starts stay refused by" \
      "$(verdict_persisted_latch_path)"
  latch_drop_lock
  activate_cmd --source tamper --reason "latch flag removed outside the controller" || true
  # a removal while this run was busy did not start another one (the path unit was already running)
  if [[ ! -e ${CFG[FLAG_FILE]} ]] && ((${GUARD_ROUNDS:=0} < 5)); then
    GUARD_ROUNDS=$((GUARD_ROUNDS + 1))
    guard_run
  fi
}

# restore-latch: at boot (quantum-ess-restore.service, before any trading unit can start). The
# persisted latch carries the boot id it was written in:
#   no persisted latch, or the flag is there      -> nothing to do
#   the same boot id: the flag was removed in this boot -> tampering (guard_run)
#   another boot id, LATCH_ACROSS_REBOOT=clear    -> the latch ends with the reboot
#   another boot id, LATCH_ACROSS_REBOOT=keep     -> the flag is put back
# Writes ST LOCK_FD FLAG_*, and what guard_run writes.
guard_cmd_restore_latch() {
  args_parse "" "" "$@"
  args_strict restore-latch 0 restore-latch
  require_root restore-latch
  config_load_in_force
  local latched boot
  latched=$(verdict_persisted_latch_path)
  [[ -f $latched && ! -e ${CFG[FLAG_FILE]} ]] || return 0
  latch_flag_read "$latched"
  latch_boot_id_v boot
  latch_take_lock || record_log warning "lock ${CFG[LOCK_FILE]} busy; restoring without it"
  record_state_load
  if [[ $FLAG_BOOT == "$boot" ]]; then
    latch_drop_lock
    guard_run
    return
  fi
  if [[ ${CFG[LATCH_ACROSS_REBOOT]} == clear ]]; then
    guard_clear_after_reboot "$latched"
    return
  fi
  install -d -m 0755 "${CFG[FLAG_FILE]%/*}"
  record_atomic_write "${CFG[FLAG_FILE]}" 0644 <"$latched"
  record_audit_append reboot-keep "\"id\":$(record_json_str "${FLAG_ID:-}"),\
\"detail\":\"latch restored after a reboot\"" ||
    record_log err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
  record_log warning "latch restored after reboot from $latched (id ${FLAG_ID:-unknown});" \
    "trading stays stopped until deactivate"
  latch_drop_lock
}

# guard_clear_after_reboot LATCHED (lock held): LATCH_ACROSS_REBOOT=clear: the persisted latch
# removed, the deactivation recorded. Writes ST LOCK_FD.
guard_clear_after_reboot() {
  local latched=$1 now
  rm -f -- "$latched" || {
    record_log crit "could not clear $latched; trading units stay refused"
    return 1
  }
  time_now_us_v now
  ST[ACTIVE]=0 ST[FLAG_ID]="" ST[DEA_TIME_US]=$now ST[DEA_ACTOR]=reboot
  ST[DEA_REASON]="LATCH_ACROSS_REBOOT=clear"
  ST[DEA_RESULT]=latch-cleared ST[DEA_DETAIL]="activation ${FLAG_ID:-unknown} ended by a reboot"
  record_state_save || record_log err "could not write the state file in ${CFG[STATE_DIR]}"
  record_audit_append reboot-clear "\"id\":$(record_json_str "${FLAG_ID:-}"),\
\"detail\":\"LATCH_ACROSS_REBOOT=clear: the latch ended with the reboot\"" ||
    record_log err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
  record_log warning "latch of activation ${FLAG_ID:-unknown} cleared by the reboot" \
    "(LATCH_ACROSS_REBOOT=clear); trading units may start"
  # Redis kept the marker across the reboot; at this point of the boot it is rarely up: what it
  # does not take now stays pending, and the sweep takes it there later (record_redis_retry)
  record_redis_marker_async clear
  latch_drop_lock
  return 0
}
