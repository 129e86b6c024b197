# shellcheck shell=bash
# actions: the on-trip actions (docs/on-trip-actions.md). Executables in
# ACTIONS_DIR that cancel what the trading services left behind (resting orders at a venue). Run
# only after the trading units are stopped and the activation recorded, each as its own transient
# unit (quantum-ess-action-NAME-RUN) that systemd kills, its whole cgroup, at ACTION_TIMEOUT_SEC:
# the activation never waits for them and its exit code never depends on them. Inside the unit, as
# an unprivileged dynamic user that can write nothing but its own run directory,
# `ess_controller.sh action-run NAME` runs the file and keeps the tail of its output there; the
# unit's ExecStopPost `ess_controller.sh action-result NAME` (root, outside the sandbox) records how
# it ended (whatever ended it: an exit, a timeout, a kill, a deactivate) in
# STATE_DIR/actions/NAME.json, the audit trail and the journal, and state.json's
# last_activation.actions shows it (rendered from that file: record.sh). Needs config.sh time.sh
# record.sh units.sh latch.sh, from load.sh. Writes ACTIONS_*.

# the directory, its files and the directories above it: root's, writable by no one else
readonly ACTIONS_DIR=${ESS_ACTIONS_DIR:-/etc/quantum/ess-actions.d}
# an action's name: its file name; other names (NAME.env, NAME.cred, README, backups) are not run
readonly ACTIONS_NAME_RE='^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'
readonly ACTIONS_UNIT_PREFIX=quantum-ess-action-
# exit codes of an action (docs): 0 done and verified (check mode: checked), 3 done, not verified
readonly ACTIONS_EX_UNVERIFIED=3
# the output kept: the last bytes, then the last lines of those
readonly ACTIONS_TAIL_BYTES=4096 ACTIONS_TAIL_LINES=10
# after the timeout, SIGTERM to the whole cgroup; SIGKILL this long after
readonly ACTIONS_KILL_AFTER_SEC=2
# the memory an action's unit may hold, its tmpfs files (/tmp, its run directory in /run) included:
# an action cannot fill /run, where the latch flag lives
readonly ACTIONS_MEMORY_MAX=256M ACTIONS_TMP_SIZE=64M
# deactivate marks here (root's) each action unit it stops, so its result says aborted
readonly ACTIONS_ABORT_DIR=$ESS_RUNTIME_DIR/actions-aborted

declare -g ACTIONS_LAUNCHED=0 ACTIONS_REFUSED=0
declare -ga ACTIONS_NAMES=()

# actions_result_dir: where each action's last result is kept.
actions_result_dir() { printf '%s/%s' "${CFG[STATE_DIR]}" "$RECORD_ACTIONS_DIR"; }

# actions_list: the names of the files in ACTIONS_DIR that are actions (ACTIONS_NAME_RE), sorted.
# Writes ACTIONS_NAMES.
actions_list() {
  local f name
  ACTIONS_NAMES=()
  [[ -d $ACTIONS_DIR ]] || return 0
  for f in "$ACTIONS_DIR"/*; do
    name=${f##*/}
    if [[ -e $f || -L $f ]] && [[ $name =~ $ACTIONS_NAME_RE ]]; then ACTIONS_NAMES+=("$name"); fi
  done
}

# actions_refusal_v VAR NAME: why the action NAME may not run, empty if it may: the file a regular
# executable (not a link) its unprivileged user can read, it and every directory above it root's and
# writable by no one else (config_owner_problem_v), and so its NAME.env and NAME.cred when present;
# the NAME.cred readable by root alone. Writes VAR.
actions_refusal_v() {
  local _ar_f=$ACTIONS_DIR/$2 _ar_extra _ar_mode
  printf -v "$1" '%s' ""
  if [[ -L $_ar_f || ! -f $_ar_f ]]; then
    printf -v "$1" '%s' "$_ar_f is not a regular file (a link, a directory or a device)"
    return 0
  fi
  config_owner_problem_v "$1" "$_ar_f" "$_ar_f"
  [[ -z ${!1} ]] || return 0
  _ar_mode=$(stat -c '%a' -- "$_ar_f" 2>/dev/null) || _ar_mode=0
  if (((8#$_ar_mode & 8#5) != 8#5)); then
    printf -v "$1" '%s' "$_ar_f is not readable and executable by others (mode $_ar_mode): actions\
 run as an unprivileged dynamic user; install it 0755"
    return 0
  fi
  for _ar_extra in "$_ar_f.env" "$_ar_f.cred"; do
    [[ -e $_ar_extra || -L $_ar_extra ]] || continue
    if [[ -L $_ar_extra || ! -f $_ar_extra ]]; then
      printf -v "$1" '%s' "$_ar_extra is not a regular file"
      return 0
    fi
    config_owner_problem_v "$1" "$_ar_extra" "$_ar_extra"
    [[ -z ${!1} ]] || return 0
  done
  _ar_mode=$(stat -c '%a' -- "$_ar_f.cred" 2>/dev/null) || return 0
  (((8#$_ar_mode & 8#77) == 0)) ||
    printf -v "$1" '%s' "$_ar_f.cred is readable by group or others (mode $_ar_mode): a\
 credential is root's alone, 0600 or 0400"
}

# actions_run_all MODE ID SOURCE REASON SCOPE UNITS: every action launched in its transient unit
# (--no-block: this returns once systemd has queued them), the ones that may not run refused and
# recorded. MODE real|check. Writes ACTIONS_LAUNCHED ACTIONS_REFUSED ACTIONS_NAMES.
actions_run_all() {
  local name why run
  ACTIONS_LAUNCHED=0 ACTIONS_REFUSED=0
  actions_list
  ((${#ACTIONS_NAMES[@]} > 0)) || return 0
  time_now_us_v run
  for name in "${ACTIONS_NAMES[@]}"; do
    actions_refusal_v why "$name"
    if [[ -n $why ]]; then
      ACTIONS_REFUSED=$((ACTIONS_REFUSED + 1))
      actions_record "$name" "$2" "$1" refused "not run: $why" "$run" "$run" "" || true
    elif actions_launch "$name" "$run" "$@"; then
      ACTIONS_LAUNCHED=$((ACTIONS_LAUNCHED + 1))
    else
      actions_record "$name" "$2" "$1" failed "" "$run" "$run" \
        "not started: systemd-run refused the unit $ACTIONS_UNIT_PREFIX$name-$run" || true
    fi
  done
  record_journal notice "on-trip actions ($1) for activation $2: $ACTIONS_LAUNCHED started," \
    "$ACTIONS_REFUSED refused; results: journalctl -t $ESS_TAG, $(actions_result_dir)"
}

# actions_after_activate (activate's last step, after its answer): the actions of a new activation
# (any trigger), and of a trip while already latched (a re-verification somebody asked for, not the
# path unit's or the tamper guard's) only with ACTIONS_ON_RETRIP=yes. A full drill's activation
# runs them in ACTION_MODE; any other in real mode. Without ACTIONS_DIR nothing forks.
actions_after_activate() {
  local mode=real
  [[ -d $ACTIONS_DIR && $ACT_RESULT != superseded ]] || return 0
  case $ACT_MODE in
    new) ;;
    reverify) [[ $ACT_RUN_SOURCE != @(path|tamper) && ${CFG[ACTIONS_ON_RETRIP]} == yes ]] ||
      return 0 ;;
    *) return 0 ;;
  esac
  if [[ $ACT_SOURCE == drill ]] || { ((!ACT_TOOK_OVER)) && latch_drill_live; }; then
    mode=${CFG[ACTION_MODE]}
  fi
  actions_run_all "$mode" "$ACT_ID" "$ACT_SOURCE" "$ACT_REASON" "$ACT_SCOPE" "${TRADING[*]}"
  ((ACTIONS_LAUNCHED + ACTIONS_REFUSED == 0)) ||
    printf 'on-trip actions (%s): %d started, %d refused (results: ess_controller.sh status)\n' \
      "$mode" "$ACTIONS_LAUNCHED" "$ACTIONS_REFUSED"
}

# actions_launch NAME RUN MODE ID SOURCE REASON SCOPE UNITS: the transient unit of one action. Its
# sandbox: a dynamic user (no root: no signal to root's processes, no privileged call to systemd)
# in a read-only file system (ProtectSystem=strict: the latch flag, the persisted latch, STATE_DIR,
# the spool, the audit trail, /etc), writable only in its own run directory and a bounded /tmp;
# the network and its own credential reachable. Its ExecStopPost ("+": root, no sandbox) records.
actions_launch() {
  local name=$1 run=$2 mode=$3 id=$4 source=$5 reason=$6 scope=$7 units=$8
  local ctl=${ESS_LIB%/*}/ess_controller.sh f=$ACTIONS_DIR/$1 tmpfs="mode=1777,size=$ACTIONS_TMP_SIZE"
  local -a props=(
    -p Type=exec -p "RuntimeMaxSec=${CFG[ACTION_TIMEOUT_SEC]}"
    -p "TimeoutStopSec=$ACTIONS_KILL_AFTER_SEC" -p KillMode=control-group -p SendSIGKILL=yes
    -p DynamicUser=yes -p NoNewPrivileges=yes -p ProtectSystem=strict -p ProtectHome=yes
    -p "TemporaryFileSystem=/tmp:$tmpfs /var/tmp:$tmpfs" -p PrivateDevices=yes
    -p ProtectKernelTunables=yes -p ProtectKernelModules=yes -p ProtectControlGroups=yes
    -p RestrictSUIDSGID=yes -p "MemoryMax=$ACTIONS_MEMORY_MAX"
    -p "RuntimeDirectory=$ACTIONS_UNIT_PREFIX$name-$run" -p RuntimeDirectoryMode=0700
    -p "ExecStopPost=+$ctl action-result $name"
  )
  [[ ! -e $f.env ]] || props+=(-p "EnvironmentFile=$f.env")
  [[ ! -e $f.cred ]] || props+=(-p "LoadCredential=$name:$f.cred")
  record_clean_text_v reason "$reason" 200
  systemd-run --no-block --collect --quiet --unit="$ACTIONS_UNIT_PREFIX$name-$run" \
    --description="ESS on-trip action $name (activation $id, $mode)" "${props[@]}" \
    --setenv=ESS_ACTION_NAME="$name" --setenv=ESS_ACTION_MODE="$mode" \
    --setenv=ESS_ACTION_TIMEOUT_SEC="${CFG[ACTION_TIMEOUT_SEC]}" \
    --setenv=ESS_ACTIVATION_ID="$id" --setenv=ESS_ACTIVATION_SOURCE="$source" \
    --setenv=ESS_ACTIVATION_REASON="$reason" --setenv=ESS_ACTIVATION_SCOPE="$scope" \
    --setenv=ESS_STOPPED_UNITS="$units" --setenv=ESS_ACTION_LAUNCHED_US="$run" \
    -- "$ctl" action-run "$name" </dev/null >/dev/null 2>&1
}

# actions_run_dir NAME RUN: the run directory of one run of an action (its unit's RuntimeDirectory):
# its start time and its output's tail, apart from any other run's.
actions_run_dir() { printf '/run/%s%s-%s' "$ACTIONS_UNIT_PREFIX" "$1" "$2"; }

# actions_cmd_run NAME (inside the action's unit, as its main process, unprivileged): the action's
# file run with stdout and stderr into a pipe whose last ACTIONS_TAIL_BYTES are kept in the run's
# directory (megabytes of output cost no disk and no memory); exits with the action's status. At
# the timeout (or a deactivate's stop) systemd sends SIGTERM to the whole cgroup: the tail ignores
# it, and this process ends the action's tree itself, so that the tail still writes what the action
# printed until then (a timed-out action's last lines are what says where it hung).
declare -g ACTIONS_OUT_FD="" ACTIONS_TAIL_PID=""
actions_cmd_run() {
  local name=${1:-} dir rc=0
  [[ $name =~ $ACTIONS_NAME_RE ]] || { printf 'ess: action-run: bad action name\n' >&2; exit 64; }
  dir=$(actions_run_dir "$name" "${ESS_ACTION_LAUNCHED_US:-}")
  [[ -d $dir && -w $dir ]] || { printf 'ess: action-run: no run directory %s\n' "$dir" >&2; exit 64; }
  time_now_us >"$dir/start"
  exec {ACTIONS_OUT_FD}> >(trap '' TERM; exec tail -c "$ACTIONS_TAIL_BYTES" >"$dir/out")
  ACTIONS_TAIL_PID=$!
  trap 'actions_run_end 143' TERM
  # in the background, so that the trap runs at once (bash runs it only between commands)
  "$ACTIONS_DIR/$name" </dev/null >&"$ACTIONS_OUT_FD" 2>&1 {ACTIONS_OUT_FD}>&- &
  wait "$!" || rc=$?
  actions_run_end "$rc"
}

# actions_run_end RC: what the action left behind (a child it forked, or all of it at the timeout)
# killed now, so that the output ends (a child holding it open) and nothing outlives the action;
# the tail waited for (its file written); exits RC.
actions_run_end() {
  trap '' TERM
  actions_kill_rest "$ACTIONS_TAIL_PID"
  exec {ACTIONS_OUT_FD}>&-
  wait "$ACTIONS_TAIL_PID" 2>/dev/null || true
  exit "$1"
}

# actions_kill_rest KEEP_PID: every process of this unit's cgroup but this one and KEEP_PID,
# SIGKILLed.
actions_kill_rest() {
  local cg="" line pid
  local -a pids=()
  units_cgroup_root
  [[ -n $CGROUP_ROOT ]] || return 0
  while IFS= read -r line; do [[ $line != 0::/* ]] || cg=$CGROUP_ROOT${line#0::}; done \
    </proc/self/cgroup
  [[ -n $cg && -r $cg/cgroup.procs ]] || return 0
  mapfile -t pids <"$cg/cgroup.procs"
  for pid in "${pids[@]}"; do
    [[ $pid == "$$" || $pid == "$1" ]] || kill -KILL "$pid" 2>/dev/null || true
  done
}

# actions_cmd_result NAME (the unit's ExecStopPost): how the action ended, from what systemd says
# (SERVICE_RESULT, EXIT_CODE, EXIT_STATUS), recorded.
#   timed out (RuntimeMaxSec)                      -> timeout
#   exited 0                                       -> verified (check mode: checked)
#   exited 3 (real mode)                           -> unverified: done, not verified
#   stopped by deactivate before it ended          -> aborted
#   any other exit, a signal, a failure to start   -> failed
actions_cmd_result() {
  local name=${1:-} dir start="" now result detail out="" mode=${ESS_ACTION_MODE:-real} run
  [[ $name =~ $ACTIONS_NAME_RE ]] ||
    { printf 'ess: action-result: bad action name\n' >&2; exit 64; }
  config_load_in_force
  run=${ESS_ACTION_LAUNCHED_US:-0}
  dir=$(actions_run_dir "$name" "$run")
  # the action's own files (it could write them): read bounded, the start a number or the launch
  [[ ! -r $dir/start ]] || read -r -n 20 start <"$dir/start" || true
  [[ $start =~ ^[0-9]{1,19}$ ]] || start=$run
  time_now_us_v now
  detail="${EXIT_CODE:-?} ${EXIT_STATUS:-?}"
  # stopped by deactivate: whatever its end but a success (its SIGTERM ends the run with 143)
  if [[ -e $ACTIONS_ABORT_DIR/$ACTIONS_UNIT_PREFIX$name-$run.service &&
    "${EXIT_CODE:-} ${EXIT_STATUS:-}" != "exited "@(0|$ACTIONS_EX_UNVERIFIED) ]]; then
    result=aborted detail="stopped by deactivate before trading resumed ($detail)"
  elif [[ ${SERVICE_RESULT:-} == timeout ]]; then
    result=timeout detail="killed after ACTION_TIMEOUT_SEC=${CFG[ACTION_TIMEOUT_SEC]}s"
  elif [[ ${EXIT_CODE:-} == exited && ${EXIT_STATUS:-} == 0 ]]; then
    result=verified
    [[ $mode != check ]] || result=checked
  elif [[ ${EXIT_CODE:-} == exited && ${EXIT_STATUS:-} == "$ACTIONS_EX_UNVERIFIED" &&
    $mode == real ]]; then
    result=unverified
  else
    result=failed
  fi
  [[ ! -r $dir/out ]] || out=$(tail -c "$ACTIONS_TAIL_BYTES" -- "$dir/out")
  actions_record "$name" "${ESS_ACTIVATION_ID:-?}" "$mode" "$result" "$detail" "$start" "$now" \
    "$out"
}

# The results, in the order of their meaning (contract/README.md section 8).
readonly ACTIONS_RESULTS="verified unverified checked failed timeout refused aborted"

# actions_record NAME ID MODE RESULT DETAIL START_US END_US OUTPUT: one action's run, recorded:
# STATE_DIR/actions/NAME.json (replaced; its counts carried on), an audit line, a journal line. The
# output's last lines, bounded, every byte outside printable ASCII escaped.
actions_record() {
  local name=$1 id=$2 mode=$3 result=$4 detail=$5 start=$6 end=$7 out=$8
  local dir fd prev="" w n counts=() lines=() jlines=() line j_name j_id j_det t0 t1 dur text
  dir=$(actions_result_dir)
  [[ -d $dir ]] || install -d -m 0755 "$dir" || return 1
  exec {fd}>>"$dir/.lock" || return 1
  flock -w 5 "$fd" || true
  config_read_bounded_v prev "$dir/$name.json" 65536 || true
  for w in $ACTIONS_RESULTS; do
    n=0
    [[ ! $prev =~ \"$w\":([0-9]{1,12})[,}] ]] || n=${BASH_REMATCH[1]}
    [[ $w != "$result" ]] || n=$((n + 1))
    counts+=("\"$w\":$n")
  done
  ((${#out} <= ACTIONS_TAIL_BYTES)) || out=${out: -$ACTIONS_TAIL_BYTES}
  while [[ $out == *$'\n' ]]; do out=${out%$'\n'}; done
  mapfile -t lines <<<"$out"
  ((${#lines[@]} <= ACTIONS_TAIL_LINES)) || lines=("${lines[@]: -$ACTIONS_TAIL_LINES}")
  local jtext=""
  for line in "${lines[@]}"; do
    [[ -n $line ]] || continue
    record_json_str_v w "$line"
    jlines+=("$w")
    record_clean_text_v w "$line" 200
    jtext+=" | $w"
  done
  record_json_str_v j_name "$name"; record_json_str_v j_id "$id"; record_json_str_v j_det "$detail"
  time_us_to_sec_v t0 "$start"; time_us_to_sec_v t1 "$end"
  time_us_to_sec_v dur $((end > start ? end - start : 0))
  local IFS=,
  local fields="\"action\":$j_name,\"activation\":$j_id,\"mode\":\"$mode\",\"result\":\"$result\""
  fields+=",\"detail\":$j_det,\"started\":$t0,\"finished\":$t1,\"duration_seconds\":$dur"
  fields+=",\"output\":[${jlines[*]}]"
  text="{\"schema\":1,$fields,\"counts\":{${counts[*]}}}"
  record_atomic_write "$dir/$name.json" 0644 "$text"$'\n' || true
  text=$jtext
  exec {fd}>&-
  unset IFS
  actions_state_refresh "$id"
  record_audit_append action "$fields" || true
  actions_journal "$name" "$id" "$mode" "$result" "$detail" "$dur" "${text:0:1200}"
}

# actions_state_refresh ID: state.json written again from the state (record_state_save's
# rendering), so that its last_activation.actions carries the result just recorded, when ID is the
# activation it records; nothing else of it changes (state.env, the latch: untouched). Under the
# controller's lock, waited for at most 1 s (the unit's ExecStopPost must end within
# TimeoutStopSec): a run holding it longer writes state.json itself, rendered from the same file.
actions_state_refresh() {
  local json
  latch_take_lock 1 || {
    latch_drop_lock
    record_log notice "on-trip action result for $1: the lock is busy; state.json shows it at" \
      "its next write"
    return 0
  }
  record_state_load
  if [[ ${ST[ACT_ID]:-} == "$1" ]]; then
    record_render_state_json_v json
    record_atomic_write "${CFG[STATE_DIR]}/state.json" 0644 "$json" ||
      record_log err "on-trip action result for $1: state.json could not be written"
  fi
  latch_drop_lock
}

# actions_journal NAME ID MODE RESULT DETAIL DURATION TEXT: the result's journal line; a failure is
# crit (ESSTripActionFailed pages on it too), a cancel not verified a warning.
actions_journal() {
  local prio=info what
  case $4 in
    verified) what="done and verified" ;;
    checked) what="check passed" ;;
    unverified) prio=warning what="done, NOT verified (exit $ACTIONS_EX_UNVERIFIED)" ;;
    timeout) prio=crit what="TIMED OUT ($5)" ;;
    refused) prio=crit what="REFUSED" ;;
    aborted) prio=warning what="ABORTED by deactivate ($5)" ;;
    *) prio=crit what="FAILED ($5)" ;;
  esac
  record_journal "$prio" "on-trip action $1 ($3) for activation $2: $what in $6 s;" \
    "output:${7:- (none)}"
}

# actions_field_v VAR TEXT KEY RE: the value of KEY in a result file's TEXT (its own writer's
# JSON), matched by RE (a string's value without its quotes), "?" when absent. Writes VAR.
actions_field_v() {
  local _af_re="\"$3\":$4"
  if [[ $2 =~ $_af_re ]]; then printf -v "$1" '%s' "${BASH_REMATCH[1]}"
  else printf -v "$1" '%s' "?"; fi
}

# actions_status_lines: status's line for each on-trip action's last run, from its result file
# (nothing when none ever ran): the result, the mode, the activation, when, how long, and how it
# ended. A failure, a timeout or a refusal is said loudly: what it cancels may still be live.
actions_status_lines() {
  local f text name result mode id fin dur detail tag
  for f in "$(actions_result_dir)"/*.json; do
    config_read_bounded_v text "$f" 65536 || continue
    name=${f##*/} name=${name%.json}
    [[ $name =~ $ACTIONS_NAME_RE ]] || continue
    actions_field_v result "$text" result '"([a-z]+)"'
    actions_field_v mode "$text" mode '"([a-z]+)"'
    actions_field_v id "$text" activation '"([^"]*)"'
    actions_field_v fin "$text" finished '([0-9]+)'
    actions_field_v dur "$text" duration_seconds '([0-9.]+)'
    actions_field_v detail "$text" detail '"([^"]*)"'
    [[ $fin != "?" ]] || fin=0
    tag=action:
    [[ $result != @(failed|timeout|refused|"?") ]] || tag=ACTION!
    printf '  %-9s %s %s (%s, activation %s) at %s in %s s: %s\n' "$tag" "$name" \
      "${result^^}" "$mode" "$id" "$(time_iso "${fin}000000")" "$dur" "${detail:0:160}"
  done
}

# actions_result_of_v VAR NAME ID: NAME's recorded result when its last run was for ID, else empty.
# Writes VAR.
actions_result_of_v() {
  local _ro_text _ro_id
  printf -v "$1" '%s' ""
  config_read_bounded_v _ro_text "$(actions_result_dir)/$2.json" 65536 || return 0
  actions_field_v _ro_id "$_ro_text" activation '"([^"]*)"'
  [[ $_ro_id == "$3" ]] || return 0
  actions_field_v "$1" "$_ro_text" result '"([a-z]+)"'
}

# actions_check_all ID: every action run in check mode (the dry-run drill), waited for
# (actions_await). Writes ACTIONS_RESULT and what actions_run_all writes.
declare -gA ACTIONS_RESULT=()
actions_check_all() {
  actions_run_all check "$1" drill "drill check (nothing is cancelled)" "" "${TRADING[*]}"
  actions_await "$1"
}

# actions_await ID: the results of ID's run of every action of ACTIONS_NAMES, waited for until each
# recorded its result for ID (a result of an earlier activation does not count) or
# ACTION_TIMEOUT_SEC and 5 s have passed. Writes ACTIONS_RESULT (by name: the result word, empty
# when none came).
actions_await() {
  local name now deadline us pending
  ACTIONS_RESULT=()
  time_sec_to_us_v us "${CFG[ACTION_TIMEOUT_SEC]}"
  time_uptime_us_v now
  deadline=$((now + us + 5000000))
  while :; do
    pending=0
    for name in "${ACTIONS_NAMES[@]}"; do
      actions_result_of_v "ACTIONS_RESULT[$name]" "$name" "$1"
      [[ -n ${ACTIONS_RESULT[$name]} ]] || pending=1
    done
    time_uptime_us_v now
    ((pending && now < deadline)) || break
    time_nap 0.2
  done
}

# actions_stop_running (deactivate, lock held, before the latch is cleared and any trading unit
# starts): every action unit still loaded (running, starting, queued) stopped, each marked first in
# ACTIONS_ABORT_DIR so that its ExecStopPost records it aborted; systemctl waits for the stop,
# bounded by TimeoutStopSec and SYSTEMCTL_TIMEOUT_SEC. An action left running would cancel the
# orders of the trading the deactivate resumes. Returns 1 when one could not be stopped.
actions_stop_running() {
  local u rc=0
  local -a units=()
  while read -r u _; do
    [[ $u == "$ACTIONS_UNIT_PREFIX"*.service ]] && units+=("$u")
  done < <(units_sctl list-units --all --no-legend --plain --type=service \
    "${ACTIONS_UNIT_PREFIX}*" 2>/dev/null || true)
  ((${#units[@]} > 0)) || return 0
  install -d -m 0700 -- "$ACTIONS_ABORT_DIR" || return 1
  for u in "${units[@]}"; do : >"$ACTIONS_ABORT_DIR/$u" || return 1; done
  record_journal warning "deactivate: stopping the on-trip actions still running before the" \
    "latch is cleared: ${units[*]}"
  units_sctl stop -- "${units[@]}" 2>/dev/null || rc=1
  rm -rf -- "$ACTIONS_ABORT_DIR"
  return "$rc"
}
