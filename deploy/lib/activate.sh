# shellcheck shell=bash disable=SC2153 # FLAG_PID comes from latch.sh
# activate: the stop path. The flag is created first (from that instant systemd refuses every start
# of a trading unit), the units are stopped, and only then is the activation recorded under the
# lock: the stop never waits for a lock, journald, Redis or the exporter. first-stop.sh (loaded
# before this) may have created the flag and run the first stop already. Needs config.sh time.sh
# units.sh record.sh verdict.sh latch.sh spool.sh exempt.sh first-stop.sh args.sh actions.sh, from
# load.sh.
# From ess_controller.sh: usage, require_root, ESS_START_WALL, ESS_START_UPTIME. Writes ACT_*,
# each function the ones its comment names.

declare -g ACT_OWNER=0 ACT_RESULT=ok ACT_MODE=new ACT_LATENCY_US="" ACT_LEFTOVERS=0
declare -g ACT_FLAG_FAILED=0
# 1 when this real stop took the latch over from a full drill (its on-trip actions run for real)
declare -g ACT_TOOK_OVER=0
# a flag made by hand (touch): its mtime is read after the stop (activate_hand_flag_time)
declare -g ACT_HAND_FLAG=0
# the scope of the trip requests that started this activation (spool_scopes); empty for any other
# activation (an operator, the flag, a drill): state.json's last_activation.scope is then null
declare -g ACT_SCOPE=""
# The claim's journal line is written after the stop: nothing forks before the stop jobs are queued.
# ACT_CLAIM_WHO=1: the line names this activation (id, source, actor, reason) as known when it is
# logged (a spool run learns them from the requests only after the stop).
declare -g ACT_CLAIM_PRIO="" ACT_CLAIM_MSG="" ACT_CLAIM_WHO=0

# activate_claim: who owns this activation. The run that creates the flag does; every other run
# (the path unit woken by that flag, a racing operator) re-verifies under the owner's id.
#   this run created the flag                 -> owner, "ACTIVATING"               (warning)
#   the flag could not be written             -> stop anyway, ACT_FLAG_FAILED      (crit)
#   a flag exists, set by a drill or while a
#   drill runs, and this run is a real stop
#   (not drill/path/tamper)                   -> take the latch over from the drill
#   the flag vanished since (a deactivate)    -> claim again
#   a flag exists otherwise                   -> re-verify under the flag's id     (notice)
# Writes ACT_OWNER ACT_FLAG_FAILED ACT_CLAIM_PRIO ACT_CLAIM_MSG, and ACT_ID ACT_SOURCE ACT_ACTOR
# ACT_REASON ACT_WALL_US when the flag is another run's.
activate_claim() {
  local rc=0
  if ((FIRST_DONE)); then
    rc=$FIRST_CLAIM_RC
  else
    latch_flag_create_exclusive "$ACT_ID" "$ACT_SOURCE" "$ACT_ACTOR" "$ACT_REASON" \
      "$ACT_WALL_US" || rc=$?
  fi
  activate_claim_rc "$rc"
}

# activate_claim_rc RC: what latch_flag_create_exclusive's RC makes of this run (the table
# above). Writes what activate_claim writes.
activate_claim_rc() {
  case $1 in
    0) ACT_OWNER=1 ACT_CLAIM_PRIO=warning ACT_CLAIM_WHO=1
       ACT_CLAIM_MSG=" units=${TRADING[*]} at $EPOCHREALTIME" ;;
    1) ACT_FLAG_FAILED=1 ACT_CLAIM_PRIO=crit
       ACT_CLAIM_MSG="=== ESS ACTIVATION INITIATED === could not write latch flag"
       ACT_CLAIM_MSG+=" ${CFG[FLAG_FILE]}; stopping units anyway" ;;
    2) activate_claim_existing ;;
  esac
}

# activate_claim_existing: a flag exists: this run re-verifies the activation it names (or takes
# it over from a drill). Writes ACT_ID ACT_SOURCE ACT_ACTOR ACT_REASON ACT_WALL_US ACT_CLAIM_PRIO
# ACT_CLAIM_MSG ACT_HAND_FLAG (and ACT_OWNER via activate_take_over_drill), FLAG_*.
activate_claim_existing() {
  local f=${CFG[FLAG_FILE]} boot rc tries=0
  # the flag went away since this run found it: a deactivate took it (a drill's conditional one
  # moves it aside to check it). A stop must not fold into a latch being cleared: claim it anew.
  while [[ ! -e $f ]] && ((tries++ < 5)); do
    rc=0
    latch_flag_create_exclusive "$ACT_ID" "$ACT_SOURCE" "$ACT_ACTOR" "$ACT_REASON" \
      "$ACT_WALL_US" || rc=$?
    if ((rc != 2)); then activate_claim_rc "$rc"; return 0; fi
  done
  latch_flag_read "$f"
  latch_boot_id_v boot
  # while a full drill runs, any latch is the drill's or was taken over from it: a real stop (not
  # the drill's own runs, not the re-verifications) takes it over, whatever the flag says (the
  # drill's own trigger may be systemctl, a touch or a trip request)
  if [[ $ACT_RUN_SOURCE != @(drill|path|tamper) ]] &&
    { [[ $FLAG_SOURCE == drill ]] || latch_drill_live; }; then
    activate_take_over_drill
    return 0
  fi
  if [[ -n $FLAG_ID ]]; then
    ACT_ID=$FLAG_ID ACT_SOURCE=${FLAG_SOURCE:-unknown} ACT_ACTOR=$FLAG_ACTOR ACT_REASON=$FLAG_REASON
    [[ $FLAG_BOOT != "$boot" || -z $FLAG_WALL_US ]] || first_stop_trigger_from_wall "$FLAG_WALL_US"
    activate_claim_present_msg
  else # created by hand (touch): its id and instant are its mtime, read after the stop
    ACT_ID=flag- ACT_HAND_FLAG=1
    [[ $ACT_RUN_SOURCE != @(cli|systemd|path) ]] || ACT_SOURCE=path
    [[ $ACT_REASON != "$RECORD_NO_REASON" ]] ||
      ACT_REASON="latch flag $f created outside the controller"
  fi
}

# activate_claim_present_msg: the claim's line of a run that re-verifies a latch already present.
# Writes ACT_CLAIM_PRIO ACT_CLAIM_MSG.
activate_claim_present_msg() {
  ACT_CLAIM_PRIO=notice
  ACT_CLAIM_MSG="latch present (id=$ACT_ID, requested via $ACT_SOURCE by $ACT_ACTOR);"
  ACT_CLAIM_MSG+=" stopping/verifying every trading unit (this run: source=$ACT_RUN_SOURCE;"
  # journalctl -u shows only the runs of the units: the banners of a command's run are under its tag
  ACT_CLAIM_MSG+=" the activation's own lines: journalctl -t $ESS_TAG)"
}

# activate_hand_flag_time (after the stop): a flag made by hand (touch) was asked for at its own
# mtime, which names the activation (flag-MTIME_US). Read only now: stat is a process, and nothing
# but the stop itself forks before the stop jobs are queued. A flag gone meanwhile (a deactivate)
# leaves this command's start. Writes ACT_ID ACT_WALL_US ACT_CLAIM_PRIO ACT_CLAIM_MSG.
activate_hand_flag_time() {
  local mtime
  ((ACT_HAND_FLAG)) || return 0
  ACT_HAND_FLAG=0
  if mtime=$(stat -c %.6Y -- "${CFG[FLAG_FILE]}" 2>/dev/null) &&
    [[ $mtime =~ ^([0-9]+)\.([0-9]{6})$ ]]; then
    first_stop_trigger_from_wall $((10#${BASH_REMATCH[1]} * 1000000 + 10#${BASH_REMATCH[2]}))
  fi
  ACT_ID=flag-$ACT_WALL_US
  activate_claim_present_msg
}

# activate_adopt_recorded_latch (lock held): a flag with no content is not one made by hand when
# the state records an activation in force: the controller writes it empty when /run has no room
# for its content (latch_flag_create_exclusive), so it is that activation's flag. This run
# re-verifies that activation instead of recording a new one "created outside the controller" over
# it (which replaced, say, the watchdog's trip). Writes ACT_ID ACT_SOURCE ACT_ACTOR ACT_REASON
# ACT_WALL_US ACT_CLAIM_PRIO ACT_CLAIM_MSG ST FLAG_*.
activate_adopt_recorded_latch() {
  [[ $ACT_ID == flag-* && $ACT_OWNER == 0 && -f ${CFG[FLAG_FILE]} ]] || return 0
  latch_flag_read "${CFG[FLAG_FILE]}"
  [[ -z $FLAG_ID ]] || return 0
  record_state_load
  [[ ${ST[ACTIVE]:-0} == 1 && -n ${ST[FLAG_ID]:-} && ${ST[FLAG_ID]} != flag-* ]] || return 0
  [[ ${ST[ACT_ID]:-} == "${ST[FLAG_ID]}" ]] || return 0
  ACT_ID=${ST[FLAG_ID]} ACT_SOURCE=${ST[ACT_SOURCE]:-unknown} ACT_ACTOR=${ST[ACT_ACTOR]:-}
  ACT_REASON=${ST[ACT_REASON]:-}
  [[ ! ${ST[ACT_TRIGGER_US]:-} =~ ^[0-9]+$ ]] || ACT_WALL_US=${ST[ACT_TRIGGER_US]}
  activate_claim_present_msg
}

# activate_log_claim: the claim's journal line, written after the stop. A flag made by hand
# (touch) that no activation recorded yet is a new activation, which this run is: it gets the
# runbook's banner like every other trigger; only the re-check of a latch already recorded logs
# "latch present". Writes ST (activate_hand_flag_is_new).
activate_log_claim() {
  local msg=$ACT_CLAIM_MSG
  if ((!ACT_CLAIM_WHO)) && activate_hand_flag_is_new; then
    ACT_CLAIM_WHO=1 ACT_CLAIM_PRIO=warning ACT_CLAIM_MSG=" units=${TRADING[*]} at $EPOCHREALTIME"
  fi
  if ((ACT_CLAIM_WHO)); then
    msg="=== ESS ACTIVATION INITIATED === ACTIVATING id=$ACT_ID source=$ACT_SOURCE"
    [[ -z $ACT_SCOPE ]] || msg+=" scope=$ACT_SCOPE"
    msg+=" actor=$ACT_ACTOR reason=\"$ACT_REASON\"$ACT_CLAIM_MSG"
  fi
  # the answer (activate_report) says who and what; a problem in the claim is said on stderr too
  if [[ $ACT_CLAIM_PRIO == crit ]]; then record_log crit "$msg"
  else record_journal "$ACT_CLAIM_PRIO" "$msg"; fi
}

# activate_hand_flag_is_new: this run re-verifies a flag made by hand (touch) that the state does
# not record as the latch in force: nobody else announces that activation. Writes ST.
activate_hand_flag_is_new() {
  [[ $ACT_ID == flag-* && $ACT_OWNER == 0 && $ACT_FLAG_FAILED == 0 ]] || return 1
  record_state_load
  [[ ${ST[ACTIVE]:-0} != 1 || ${ST[FLAG_ID]:-} != "$ACT_ID" ]]
}

# activate_claim_spool (after the stop, lock held): the trip requests that started this run.
# Until they are claimed, their mere presence in incoming/ makes systemd refuse every start (the
# latch drop-in's AssertDirectoryNotEmpty=!), so they are claimed only while the latch holds: if a
# deactivate cleared it meanwhile, they may be newer than that deactivate, and they stay for the next
# run (the path unit starts it as soon as this one ends), which latches again. The owner takes the
# source, reason, scope and trigger instant from them. Writes SPOOL_* and, for the owner,
# ACT_SOURCE ACT_REASON ACT_SCOPE ACT_WALL_US.
activate_claim_spool() {
  if ((ACT_FLAG_FAILED)); then # no flag: the persisted latch must hold before the requests go
    latch_persist "$ACT_ID" "$ACT_SOURCE" "$ACT_ACTOR" "$ACT_REASON" "$ACT_WALL_US" || true
  fi
  if [[ ! -e ${CFG[FLAG_FILE]} && ! -e ${CFG[STATE_DIR]}/latched ]]; then
    record_log warning "the latch was cleared before the trip requests were claimed; they stay in" \
      "${CFG[SPOOL_DIR]}/incoming for the next run, which latches again"
    return 0
  fi
  if ! spool_claim; then
    record_log crit "could not claim the trip requests in ${CFG[SPOOL_DIR]}/incoming;" \
      "units stopped anyway"
    # incoming/ stays non-empty and the path unit re-runs us at once: pace that loop
    trap 'record_log_flush; sleep 1' EXIT
  fi
  spool_describe
  ((ACT_OWNER)) || return 0
  ACT_SOURCE=$SPOOL_SOURCE ACT_REASON=$SPOOL_REASON ACT_SCOPE=$SPOOL_SCOPE
  [[ -z $SPOOL_FIRST_MTIME_US ]] || first_stop_trigger_from_wall "$SPOOL_FIRST_MTIME_US"
  # a real request claimed in the same batch as a drill's: the flag this run wrote may already be
  # the drill's token; rewritten, it no longer is, and the drill cannot clear a real trip
  ((SPOOL_WITH_DRILL)) || return 0
  local stop_msg=$ACT_CLAIM_MSG
  activate_take_over_drill "claimed with a drill's trip request"
  ACT_CLAIM_MSG="$stop_msg;$ACT_CLAIM_MSG"
}

# activate_take_over_drill [WHEN]: a real stop (an operator, an alert) arrives while a drill holds
# the latch (WHEN: "during drill ID"). It must not be folded into the drill, which would clear it
# at its end: the flag is rewritten with this activation's id, this run owns it, and the drill sees
# the latch is no longer its own (a rewrite changes the flag's identity, latch_flag_identity_v).
# Writes ACT_OWNER ACT_CLAIM_PRIO ACT_CLAIM_MSG.
activate_take_over_drill() {
  local f=${CFG[FLAG_FILE]} when=${1:-during drill $FLAG_ID}
  # shellcheck disable=SC2034 # ACT_TOOK_OVER: read by actions.sh
  if latch_json "$ACT_ID" "$ACT_SOURCE" "$ACT_ACTOR" "$ACT_REASON" "$ACT_WALL_US" 2>/dev/null |
    record_atomic_write "$f" 0644; then
    ACT_OWNER=1 ACT_CLAIM_PRIO=warning ACT_CLAIM_WHO=1 ACT_TOOK_OVER=1
    ACT_CLAIM_MSG=" $when:"
    ACT_CLAIM_MSG+=" this activation takes over the latch, the drill will not clear it"
  else
    ACT_CLAIM_PRIO=crit
    ACT_CLAIM_MSG="a real activation $when could not take over the flag $f;"
    ACT_CLAIM_MSG+=" the drill's latch holds, check that the drill does not clear it"
  fi
}

# activate_log_killed UNIT: why UNIT needed SIGKILL, as units_killed_what_v saw it.
activate_log_killed() {
  local why="ignored SIGTERM"
  case ${KILLED_WHAT[$1]:-main} in
    exec-stop) why="was still running its ExecStop= ${CFG[KILL_AFTER_SEC]}s after its stop began\
 (SIGTERM not sent yet)" ;;
    exec-stop-post) why="was still running its ExecStopPost= ${CFG[KILL_AFTER_SEC]}s after its\
 stop began" ;;
    others) why="had processes that outlived SIGTERM (its main process ended on it)" ;;
  esac
  record_log warning "unit $1 $why; every process of it killed with SIGKILL, now ${ACTIVE[$1]}"
}

# activate_classify: the overall result word from the units' results (contract section 3):
#   any not-stopped, or the flag could not be written       -> failed
#   else any killed, leftovers-killed or not-found          -> degraded
#   else (stopped, already-inactive, exempt)                 -> ok
# Writes ACT_RESULT ACT_LEFTOVERS, and ACT_LATENCY_US unless failed.
activate_classify() {
  local u
  ACT_RESULT=ok ACT_LEFTOVERS=0
  for u in "${TRADING[@]}"; do
    case ${RESULT[$u]} in
      not-stopped) ACT_RESULT=failed
        record_log crit "unit $u did NOT stop by the ${CFG[STOP_DEADLINE_SEC]}s deadline" \
          "counted from when its stop began" \
          "(now ${ACTIVE[$u]}/${SUB[$u]}, processes left: ${POPULATED[$u]})" ;;
      killed) [[ $ACT_RESULT == failed ]] || ACT_RESULT=degraded
        activate_log_killed "$u" ;;
      leftovers-killed) [[ $ACT_RESULT == failed ]] || ACT_RESULT=degraded
        ACT_LEFTOVERS=$((ACT_LEFTOVERS + 1))
        record_log warning "unit $u stopped but left processes in its cgroup;" \
          "they were killed with SIGKILL" ;;
      not-found) [[ $ACT_RESULT == failed ]] || ACT_RESULT=degraded ;; # activate_report_missing
      exempt) record_log notice "unit $u is under a maintenance exemption;" \
        "left as it is (${ACTIVE[$u]})" ;;
      *) record_journal info "Stopping $u: ${RESULT[$u]}, now ${ACTIVE[$u]}" ;;
    esac
  done
  ((!ACT_FLAG_FAILED)) || ACT_RESULT=failed
  [[ $ACT_RESULT == failed ]] || activate_latency
}

# activate_trigger_from_job: `systemctl start quantum-ess` asked for the stop when systemd started
# the job, well before this script ran: its InactiveExitTimestamp is the trigger instant.
activate_trigger_from_job() {
  local out us
  [[ $ACT_RUN_SOURCE == systemd && $ACT_OWNER == 1 && -n ${INVOCATION_ID:-} ]] || return 0
  out=$(units_sctl show --timestamp=us+utc -P InactiveExitTimestamp quantum-ess.service \
    2>/dev/null) ||
    return 0
  time_utc_us_v us "$out"
  [[ -z $us ]] || ((us > ACT_WALL_US || us < ACT_WALL_US - 60000000)) || ACT_WALL_US=$us
}

# activate_latency: trigger to the last unit down, both on the wall clock (systemd's own stamp for
# the end). If the clock was stepped during this run, the uptime clock gives it instead, at 10 ms.
# Writes ACT_LATENCY_US.
activate_latency() {
  local drift now
  ACT_LATENCY_US=$((ALL_DOWN_US - ACT_WALL_US))
  time_clock_drift_us_v drift "${ESS_START_WALL/./}" "$ESS_START_UPTIME"
  if ((drift > 50000 || drift < -50000)); then
    time_uptime_us_v now
    ACT_LATENCY_US=$((now - ESS_START_UPTIME + ${ESS_START_WALL/./} - ACT_WALL_US))
    record_log warning "the wall clock moved $((drift / 1000)) ms against the uptime clock during" \
      "this activation; latency taken from the uptime clock (10 ms resolution, an upper bound)"
  fi
  ((ACT_LATENCY_US >= 0)) || ACT_LATENCY_US=0
}

# activate_units_summary: "unit=result/state/stop_us ..." for the state file.
activate_units_summary() {
  local u out=()
  for u in "${TRADING[@]}"; do out+=("$u=${RESULT[$u]}/${ACTIVE[$u]}/${STOPPED_US[$u]}"); done
  printf '%s' "${out[*]}"
}

# activate_units_json: the units' results as a JSON array, for the audit line.
activate_units_json() {
  local u out=() n r s
  for u in "${TRADING[@]}"; do
    record_json_str_v n "$u"; record_json_str_v r "${RESULT[$u]}"
    record_json_str_v s "${ACTIVE[$u]}"
    out+=("{\"unit\":$n,\"result\":$r,\"state\":$s}")
  done
  local IFS=,
  printf '[%s]' "${out[*]}"
}

# activate_await_writer (lock held on entry and on return): the owner of the flag is another
# controller that has not recorded its activation yet. Let it record its own (it knows its units'
# results); record it here only if it died mid-activation. Returns 0 when the owner recorded it.
# Writes ST LOCK_FD.
activate_await_writer() {
  local pid=$FLAG_PID deadline now wait_us
  time_uptime_us_v now
  units_stop_bound_us_v wait_us
  deadline=$((now + wait_us))
  time_sec_to_us_v wait_us "${CFG[LOCK_WAIT_SEC]}"
  deadline=$((deadline + wait_us))
  latch_drop_lock
  while [[ -n $pid && -O /proc/$pid ]] && grep -qs ess_controller "/proc/$pid/cmdline"; do
    record_state_load
    [[ ${ST[FLAG_ID]:-} != "$ACT_ID" ]] || break
    time_uptime_us_v now
    ((now < deadline)) || break
    time_nap 0.05
  done
  latch_take_lock || record_log warning "lock ${CFG[LOCK_FILE]} busy; recording without it"
  record_state_load
  [[ ${ST[FLAG_ID]:-} != "$ACT_ID" ]] || return 0
  record_log warning "activation $ACT_ID: its controller (pid ${pid:-?}) exited before recording" \
    "it; recording it now"
  return 1
}

# activate_decide_mode (lock held): new, or reverify an activation already recorded.
#   the state already records this activation as active            -> reverify
#   another live controller owns the flag and records it meanwhile -> reverify
#   this run owned the flag, another activation holds it now       -> taken-over (superseded)
#   otherwise                                                      -> new
# and, the flag gone meanwhile: superseded (a deactivate cleared it) unless it was never written.
# Writes ACT_MODE ACT_RESULT ST (and LOCK_FD via activate_await_writer).
activate_decide_mode() {
  ACT_MODE=new
  record_state_load
  if [[ ${ST[ACTIVE]:-0} == 1 && ${ST[FLAG_ID]:-} == "$ACT_ID" ]]; then
    ACT_MODE=reverify
  elif ((!ACT_OWNER)) && [[ -e ${CFG[FLAG_FILE]} && $ACT_ID != flag-* ]] &&
    activate_await_writer; then
    ACT_MODE=reverify
  elif ((ACT_OWNER)) && [[ -f ${CFG[FLAG_FILE]} ]] &&
    { latch_flag_read "${CFG[FLAG_FILE]}" || true; } && [[ -n $FLAG_ID && $FLAG_ID != "$ACT_ID" ]]
  then
    # another activation owns the latch now (a real stop took over a drill's): its record stands
    ACT_MODE=taken-over ACT_RESULT=superseded
    record_log warning "activation $ACT_ID was taken over by activation $FLAG_ID, which holds the" \
      "latch now"
    return 0
  fi
  if [[ ! -e ${CFG[FLAG_FILE]} ]]; then
    if ((!ACT_FLAG_FAILED)); then
      record_log warning "latch was cleared by a concurrent deactivate while activation $ACT_ID" \
        "ran; recording it as superseded"
      ACT_RESULT=superseded
    else
      record_journal crit "LATCH FLAG NOT SET: ${CFG[FLAG_FILE]} could not be written; units were" \
        "stopped; only the persisted latch $(verdict_persisted_latch_path) refuses their starts"
    fi
  fi
}

# activate_record (lock held): persisted latch, state and audit; any failure is "not persisted".
# Writes ST ACT_RESULT.
activate_record() {
  local failed=() latch=() json
  # the persisted latch also when the flag could not be written (/run full): the drop-ins refuse on
  # it
  if [[ $ACT_RESULT != superseded ]]; then
    ST[ACTIVE]=1 ST[FLAG_ID]=$ACT_ID
    latch_json_v json "$ACT_ID" "$ACT_SOURCE" "$ACT_ACTOR" "$ACT_REASON" "$ACT_WALL_US"
    latch=(latched 0600 "$json")
  fi
  # every run that had to kill leftovers counts them (the path unit's run sleeps while the owner
  # stops)
  ST[LEFTOVER_KILLS_TOTAL]=$((${ST[LEFTOVER_KILLS_TOTAL]:-0} + ACT_LEFTOVERS))
  [[ $ACT_MODE != new ]] || activate_record_new
  # the persisted latch, then the state, with one sync; if that fails, one by one to know which
  record_state_save "${latch[@]}" || activate_record_apart
  activate_audit || {
    failed+=("the audit trail ${CFG[AUDIT_FILE]}")
    if [[ $ACT_MODE == new && $ACT_RESULT == @(ok|degraded) ]]; then
      ACT_RESULT=not-persisted ST[ACT_RESULT]=not-persisted
      record_state_save || true
    fi
  }
  ((${#failed[@]} == 0)) || [[ $ACT_RESULT == @(failed|superseded) ]] || ACT_RESULT=not-persisted
  if ((${#failed[@]} > 0)); then
    record_marker_set persist-failed \
      "activation $ACT_ID at $(time_iso "$(time_now_us)"): could not write ${failed[*]}" || true
    record_journal crit "LATCH NOT PERSISTED for activation $ACT_ID: could not write" \
      "${failed[*]};" \
      "the latch holds until a reboot, trading units stay stopped"
  elif [[ -e ${CFG[FLAG_FILE]} ]]; then
    record_marker_clear persist-failed
  fi
  record_marker_clear resume-pending
}

# activate_record_apart (activate_record's, when the files could not be written together): the
# persisted latch and the state one by one, each failure named in activate_record's `failed`.
# Writes ACT_RESULT ST.
activate_record_apart() {
  if [[ $ACT_RESULT != superseded ]] &&
    ! latch_persist "$ACT_ID" "$ACT_SOURCE" "$ACT_ACTOR" "$ACT_REASON" "$ACT_WALL_US"; then
    failed+=("the persisted latch $(verdict_persisted_latch_path)")
    if [[ $ACT_RESULT != failed ]]; then
      ACT_RESULT=not-persisted
      [[ $ACT_MODE != new ]] || ST[ACT_RESULT]=not-persisted
    fi
  fi
  record_state_save || failed+=("the state ${CFG[STATE_DIR]}/state.json")
}

# activate_record_new: a new activation's record in ST (last_activation, the per-source count).
# Writes ST.
activate_record_new() {
  ST[ACT_ID]=$ACT_ID ST[ACT_SOURCE]=$ACT_SOURCE ST[ACT_ACTOR]=$ACT_ACTOR ST[ACT_REASON]=$ACT_REASON
  ST[ACT_TRIGGER_US]=$ACT_WALL_US ST[ACT_LATENCY_US]=$ACT_LATENCY_US ST[ACT_STOPPED_US]=""
  [[ -z $ACT_LATENCY_US ]] || ST[ACT_STOPPED_US]=$ALL_DOWN_US
  ST[ACT_SCOPE]=$ACT_SCOPE
  ST[ACT_UNITS]=$(activate_units_summary)
  ST[ACT_RESULT]=$ACT_RESULT
  ST[COUNT_$ACT_SOURCE]=$((${ST[COUNT_$ACT_SOURCE]:-0} + 1))
}

# activate_audit: the activate (or reverify) audit line.
activate_audit() {
  local a_id a_src a_act a_why a_run a_res event=activate fields
  [[ $ACT_MODE != reverify ]] || event=reverify
  record_json_str_v a_id "$ACT_ID"; record_json_str_v a_src "$ACT_SOURCE"
  record_json_str_v a_act "$ACT_ACTOR"; record_json_str_v a_why "$ACT_REASON"
  record_json_str_v a_run "$ACT_RUN_SOURCE"; record_json_str_v a_res "$ACT_RESULT"
  fields="\"id\":$a_id,\"source\":$a_src,\"actor\":$a_act,\"reason\":$a_why,\"run_source\":$a_run"
  fields+=",\"result\":$a_res,\"latency_seconds\":$(record_num_or_null "$ACT_LATENCY_US")"
  # of [A-Za-z0-9:._,-] only (spool.sh): nothing to escape
  if [[ -n $ACT_SCOPE ]]; then fields+=",\"scope\":\"$ACT_SCOPE\""; else fields+=',"scope":null'; fi
  fields+=",\"units\":$(activate_units_json)"
  record_audit_append "$event" "$fields"
}

# activate_report: the operator's answer, and its journal line.
#   superseded                         -> ESS NOT ACTIVE
#   the flag could not be written      -> ESS LATCH FLAG NOT SET
#   every unit down, a re-verification -> ESS ALREADY ACTIVE, re-verified
#   every unit down                    -> ESS ACTIVATED ... stopped in N s
#   otherwise                          -> NOT ALL TRADING UNITS STOPPED
# ("all trading units" only when every one exists: activate_stopped_words_v), then a NOT FOUND line
# per unit that does not exist, LATCH NOT PERSISTED when not-persisted, and one line per unit.
activate_report() {
  local what="ESS ACTIVATED" lat u fmt stopped
  [[ $ACT_MODE == new ]] || what="ESS ALREADY ACTIVE, re-verified"
  if [[ $ACT_MODE == taken-over ]]; then
    printf 'ESS ACTIVE under activation %s, which took over this one (id %s)\n' "$FLAG_ID" "$ACT_ID"
  elif [[ $ACT_RESULT == superseded ]]; then
    printf 'ESS NOT ACTIVE (id %s): a concurrent deactivate cleared the latch; %s\n' "$ACT_ID" \
      "trading may be resuming; to stop it again: sudo ess_controller.sh activate --reason \"...\""
  elif [[ ! -e ${CFG[FLAG_FILE]} ]]; then
    fmt='ESS LATCH FLAG NOT SET (id %s): %s could not be written; units were stopped,'
    fmt+=' starts are refused only by the persisted latch %s. See journalctl -t %s\n'
    # shellcheck disable=SC2059 # the format is the constant above
    printf "$fmt" "$ACT_ID" "${CFG[FLAG_FILE]}" "$(verdict_persisted_latch_path)" "$ESS_TAG"
  elif [[ -n $ACT_LATENCY_US && $ACT_MODE != new ]]; then
    activate_stopped_words_v stopped
    record_journal notice "$what id=$ACT_ID result=$ACT_RESULT: $stopped down"
    printf '%s (id %s, source %s): %s down, result %s\n' "$what" "$ACT_ID" \
      "$ACT_RUN_SOURCE" "$stopped" "$ACT_RESULT"
  elif [[ -n $ACT_LATENCY_US ]]; then
    activate_stopped_words_v stopped
    activate_latency_words_v lat ""
    record_journal warning "=== ESS ACTIVATED - TRADING STOPPED === $what id=$ACT_ID" \
      "${ACT_SCOPE:+scope=$ACT_SCOPE }result=$ACT_RESULT: $stopped stopped $lat"
    activate_latency_words_v lat " "
    printf '%s (id %s, source %s): %s stopped %s, result %s\n' "$what" \
      "$ACT_ID" "$ACT_RUN_SOURCE" "$stopped" "$lat" "$ACT_RESULT"
  else
    record_journal crit "$what id=$ACT_ID result=$ACT_RESULT: NOT all trading units stopped"
    printf '%s (id %s, source %s): NOT ALL TRADING UNITS STOPPED, result %s\n' "$what" "$ACT_ID" \
      "$ACT_RUN_SOURCE" "$ACT_RESULT"
  fi
  [[ $ACT_RESULT == superseded ]] || activate_report_missing
  if [[ $ACT_RESULT == not-persisted ]]; then
    record_marker_read_v lat persist-failed
    printf 'LATCH NOT PERSISTED: %s\n  %s%s\n' "$lat" "the latch holds now, but a reboot would" \
      " resume trading; free the disk, then: sudo ess_controller.sh activate"
  fi
  for u in "${TRADING[@]}"; do
    printf '  %-36s %-16s %s\n' "$u" "${RESULT[$u]}" "${ACTIVE[$u]}"
  done
}

# activate_latency_words_v VAR SEP: the latency as the operator may read it: "in N s" from the trigger
# (ACT_LATENCY_US). A flag made by hand that this command found, more than a second old, was not
# seen by the path unit (a broken switch): the figure since that touch is not this command's, so
# both are said, and the repair. SEP goes between a figure and its "s" (the journal's has none).
# Writes VAR.
activate_latency_words_v() {
  local _lw_t _lw_start=${ESS_START_WALL/./} _lw_cmd _lw_age
  time_us_to_sec_v _lw_t "$ACT_LATENCY_US"
  if [[ $ACT_ID == flag-* && $ACT_RUN_SOURCE != @(path|tamper) ]] &&
    ((_lw_start - ACT_WALL_US > 1000000)); then
    time_us_to_sec_v _lw_cmd $((ALL_DOWN_US > _lw_start ? ALL_DOWN_US - _lw_start : 0))
    time_us_to_sec_v _lw_age $((_lw_start - ACT_WALL_US))
    _lw_t="$_lw_cmd${2}s after this command (the flag ${CFG[FLAG_FILE]} had been there $_lw_age s"
    _lw_t+=" before it: the touch trigger did not fire; repair it: sudo ess_controller.sh rearm)"
  else
    _lw_t="in $_lw_t${2}s"
  fi
  printf -v "$1" '%s' "$_lw_t"
}

# activate_stopped_words_v VAR: what the stop covered, in words: "all trading units", or, when
# TRADING_UNITS names a unit that does not exist (RESULT not-found), the ones that do: never "all"
# while one of them may be a typo of a unit that trades on. Writes VAR.
activate_stopped_words_v() {
  local _sw_u _sw_down=() _sw_gone=0
  for _sw_u in "${TRADING[@]}"; do
    if [[ ${RESULT[$_sw_u]} == not-found ]]; then _sw_gone=1; else _sw_down+=("$_sw_u"); fi
  done
  if ((!_sw_gone)); then printf -v "$1" '%s' "all trading units"
  else printf -v "$1" 'the trading units that exist (%s)' "${_sw_down[*]:-none}"; fi
}

# activate_report_missing: each trading unit that does not exist (RESULT not-found), with the
# nearest existing unit (units_suggest_v), which this stop did not touch and may be trading, and
# what to do now: stop that one by hand, then fix TRADING_UNITS. In the journal (and, outside
# systemd, on stderr: record_log).
activate_report_missing() {
  local u near t
  for u in "${TRADING[@]}"; do
    [[ ${RESULT[$u]} == not-found ]] || continue
    units_suggest_v near "$u"
    t="NOT FOUND: $u does not exist on this host (TRADING_UNITS in $ESS_DEFAULT_CONFIG): nothing"
    t+=" of that name was stopped"
    if [[ -n $near ]]; then
      t+="; did you mean $near? It was NOT stopped; if it trades, stop it now:"
      t+=" sudo systemctl stop $near"
    fi
    t+="; then fix TRADING_UNITS (sudoedit $ESS_DEFAULT_CONFIG) and re-run the installer once"
    t+=" deactivated"
    record_log crit "$t"
  done
}

# activate_stop: every trading unit. Only the automatic re-verifications (the path unit, the
# tamper guard) leave a unit under a maintenance exemption running; a stop somebody asked for (an
# operator, an alert) stops it too; activate_finish then ends every exemption, under the lock.
# Writes RESULT STOPPED_US EXEMPT*, and the unit states (units_stop).
activate_stop() {
  local u units=() honour=0
  exempt_read
  [[ $ACT_RUN_SOURCE != @(path|tamper) ]] || honour=1
  # a run that does not own the flag re-verifies: it stops only what is still up (its owner died, or
  # something started a unit), never repeating the owner's stop
  # (a flag made by hand has no owner that stops: this run is the stop)
  local reverify=0
  ((ACT_OWNER || ACT_FLAG_FAILED)) || [[ $ACT_ID == flag-* ]] || reverify=1
  if ((reverify)); then
    units_read_states "${TRADING[@]}" || true
    units_read_populated "${TRADING[@]}"
  fi
  for u in "${TRADING[@]}"; do
    # shellcheck disable=SC2004 # RESULT and STOPPED_US are associative (units.sh)
    if ((honour)) && [[ ${EXEMPT[$u]} == 1 ]]; then
      RESULT[$u]=exempt STOPPED_US[$u]=-1
    elif ((reverify)) && units_is_down "$u" && [[ ${POPULATED[$u]} == no ]]; then
      RESULT[$u]=already-inactive STOPPED_US[$u]=0
      [[ ${LOAD[$u]} != not-found ]] || RESULT[$u]=not-found
    else
      units+=("$u")
    fi
  done
  if ((${#units[@]} > 0)); then
    units_stop "${units[@]}" || true
  else # everything was down already: when, by systemd's own record
    ALL_DOWN_US=0
    for u in "${TRADING[@]}"; do
      [[ ${RESULT[$u]} != already-inactive || ${INACTIVE_US[$u]:-0} -le $ALL_DOWN_US ]] ||
        ALL_DOWN_US=${INACTIVE_US[$u]}
    done
    ((ALL_DOWN_US > 0)) || time_now_us_v ALL_DOWN_US
  fi
  if ((${#units[@]} < ${#TRADING[@]})); then units_read_states "${TRADING[@]}" || true; fi
  activate_kill_escaped
}

# activate_kill_escaped: the processes of the trading units' users that left their cgroups
# (units_kill_escaped): killed, and the unit's result says so (leftovers-killed; not-stopped if one
# outlived the deadline). Writes RESULT STOPPED_US ALL_DOWN_US POPULATED ESCAPED*.
activate_kill_escaped() {
  local u units=() deadline now
  for u in "${TRADING[@]}"; do [[ ${RESULT[$u]} == exempt ]] || units+=("$u"); done
  ((${#units[@]} > 0)) || return 0
  ((STOP_T0_UPTIME > 0)) || time_uptime_us_v STOP_T0_UPTIME
  ((STOP_T0_US > 0)) || time_now_us_v STOP_T0_US
  deadline=$UNITS_STOP_DEADLINE_US # as long as the units' stop was given (units_escalate)
  ((deadline > 0)) || time_sec_to_us_v deadline "${CFG[STOP_DEADLINE_SEC]}"
  units_kill_escaped "$deadline" "${units[@]}" || true
  time_now_us_v now
  for u in "${units[@]}"; do
    # shellcheck disable=SC2004 # RESULT, STOPPED_US and POPULATED are associative (units.sh)
    if [[ -n ${ESCAPED[$u]} ]]; then
      RESULT[$u]=not-stopped STOPPED_US[$u]=-1 POPULATED[$u]=yes
    elif [[ -n ${ESCAPED_KILLED[$u]} && ${RESULT[$u]} != not-stopped ]]; then
      RESULT[$u]=leftovers-killed STOPPED_US[$u]=$((now - STOP_T0_US))
      ((now <= ALL_DOWN_US)) || ALL_DOWN_US=$now
    fi
  done
}

# activate [--reason TEXT] [--source NAME] [--from-spool], read as meant (first_stop_options):
# only --help and a user who is not root are refused, before anything is touched. first-stop.sh may
# have claimed the flag and run the first stop already. Writes ACT_* and everything the steps below
# write.
activate_cmd() {
  local rc=0
  first_stop_options "$@"
  if ((ARGS_HELP)); then usage; exit 0; fi
  require_root activate
  # shellcheck disable=SC2034 # config.sh: a bad snapshot, stop from the drop-ins
  CONFIG_STOP_PATH=1
  config_load_in_force
  if ! first_stop_init; then
    # the sweep's run on an empty spool: keep room in it for the next request, and take to Redis
    # a marker it missed
    if ((ACT_OPT_FROM_SPOOL)); then spool_housekeep; record_redis_retry; fi
    return 0
  fi
  activate_claim
  activate_stop
  activate_finish || rc=$?
  activate_say_reading
  return "$rc"
}

# activate_say_reading (after the stop): how a command line not in its exact form was read (words,
# -r, an option without its value, an option activate does not have, a --source that is not a
# plain name), one line each, then the exact form; in the journal and, outside systemd, on stderr
# (record_log).
activate_say_reading() {
  local notes=() w n exact=(activate)
  if ((${#ARGS_WORDS[@]} > 0)); then
    args_quote_v w "${ARGS_WORDS[@]}"
    notes+=("read $w as the reason")
  fi
  ((${#ARGS_ALIASED[@]} == 0)) || notes+=("read -r as --reason")
  for w in "${ARGS_BARE[@]}"; do
    if [[ $w == reason ]]; then notes+=("--reason had no text: recorded as \"$RECORD_NO_REASON\"")
    else notes+=("--$w had no value: ignored"); fi
  done
  for w in "${ARGS_UNKNOWN[@]}"; do notes+=("ignored '$w': activate has no such option"); done
  for w in "${ARGS_FLAG_VALUE[@]}"; do notes+=("read --$w=... as --$w (it takes no value)"); done
  if [[ -n ${ARGS_VAL[source]:-} && ${ARGS_VAL[source]} != "$ACT_OPT_SOURCE" ]]; then
    notes+=("--source '${ARGS_VAL[source]}' is not a plain name ([a-z0-9_-]{1,32}): taken as cli")
  fi
  ((${#notes[@]} > 0)) || return 0
  if [[ -n $ACT_OPT_REASON ]]; then exact+=(--reason "$ACT_OPT_REASON")
  elif [[ " ${ARGS_BARE[*]} " == *" reason "* ]]; then exact+=(--reason TEXT); fi
  [[ $ACT_OPT_SOURCE == cli ]] || exact+=(--source "$ACT_OPT_SOURCE")
  ((!ACT_OPT_FROM_SPOOL)) || exact+=(--from-spool)
  args_quote_v w "${exact[@]}"
  for n in "${notes[@]}"; do record_log notice "$n"; done
  record_log notice "the exact form of this command: sudo ess_controller.sh $w"
}

# activate_finish: everything after the stop: the trip requests (claimed only now), the claim's
# journal line, the result, the record under the lock, the Redis marker, the trip requests' audit,
# the report. Returns 0 for ok and degraded. Writes ACT_* ST LOCK_FD FLAG_TMP SPOOL_* REQ_*.
activate_finish() {
  local since
  activate_hand_flag_time
  latch_flag_tmp_cleanup
  activate_trigger_from_job
  # under the lock, so that a deactivate cannot clear the latch between the check and the claim;
  # without it the requests stay for the next run
  local locked=1
  latch_take_lock || {
    locked=0
    record_log warning "lock ${CFG[LOCK_FILE]} busy for ${CFG[LOCK_WAIT_SEC]}s;" \
      "recording without it; trip requests left for the next run"
  }
  activate_adopt_recorded_latch
  ((!ACT_OPT_FROM_SPOOL || !locked)) || activate_claim_spool
  # under the lock exempt grants under: one granted while this run stopped the units ends too
  [[ $ACT_RUN_SOURCE == @(path|tamper) ]] || exempt_clear_all "a new stop ($ACT_RUN_SOURCE)" stop
  activate_log_claim
  activate_classify
  activate_decide_mode
  activate_record
  latch_drop_lock
  # the Redis marker is a copy for dashboards: set once the latch is recorded, by the run that
  # announces the activation (its owner, or the first run on a flag made by hand)
  time_us_to_sec_v since "$ACT_WALL_US"
  ((!ACT_OWNER && !ACT_CLAIM_WHO)) ||
    record_redis_marker_async set "{\"id\":\"$ACT_ID\",\"source\":\"$ACT_SOURCE\",\"since\":$since}"
  latch_note_config_problem
  [[ -z $CONFIG_PROBLEM ]] || record_log crit "the installed configuration does not check out:" \
    "$CONFIG_PROBLEM; every unit carrying the latch drop-in was stopped"
  ((SPOOL_COUNT == 0)) || spool_record
  activate_report
  # after the stop, the record and the answer; never part of the result (actions.sh)
  actions_after_activate || record_log err "the on-trip actions could not all be started"
  [[ $ACT_RESULT == @(ok|degraded) ]]
}
