# shellcheck shell=bash disable=SC2034 # FLAG_* and V_* are read by callers
# The latch: the flag in /run (what the drop-ins and the path unit watch), its persisted copy in
# STATE_DIR (which the drop-ins also refuse on, so a flag removed by hand or lost at boot cannot
# release anything), and the lock that serialises the bookkeeping.
# Needs config.sh, time.sh, units.sh, record.sh, verdict.sh, and exempt.sh, wiring.sh for latch_observe;
# from load.sh. Writes FLAG_* FLAG_TMP LOCK_FD V_*, each function the ones its comment names.

readonly BOOT_ID_FILE=/proc/sys/kernel/random/boot_id

# latch_boot_id_v VAR: this boot's id (empty when unreadable).
latch_boot_id_v() {
  local _b=""
  IFS= read -r _b 2>/dev/null <"$BOOT_ID_FILE" || true
  printf -v "$1" '%s' "$_b"
}

# latch_json ID SOURCE ACTOR REASON REQUESTED_WALL_US -> stdout: the latch file's content.
latch_json() { local _lj_out; latch_json_v _lj_out "$@"; printf '%s' "$_lj_out"; }
latch_json_v() { # latch_json_v VAR ID SOURCE ACTOR REASON REQUESTED_WALL_US
  local _lj_id _lj_src _lj_act _lj_why _lj_wall _lj_boot _lj_fmt
  record_json_str_v _lj_id "$2"; record_json_str_v _lj_src "$3"
  record_json_str_v _lj_act "$4"; record_json_str_v _lj_why "$5"
  time_us_to_sec_v _lj_wall "$6"
  latch_boot_id_v _lj_boot
  _lj_fmt='{"id":%s,"requested_at":%s,"boot_id":"%s","source":%s,"actor":%s,"reason":%s,"pid":%d}\n'
  # shellcheck disable=SC2059 # the format is the constant above
  printf -v "$1" "$_lj_fmt" "$_lj_id" "$_lj_wall" "$_lj_boot" "$_lj_src" "$_lj_act" "$_lj_why" "$$"
}

declare -g FLAG_ID="" FLAG_SOURCE="" FLAG_ACTOR="" FLAG_REASON="" FLAG_WALL_US="" FLAG_BOOT=""
declare -g FLAG_PID=""
# latch_flag_field CONTENT KEY VAR: the value of "KEY" in a latch file's JSON (a string or a
# number), empty when absent. Writes VAR.
latch_flag_field() {
  local _re="\"$2\":(\"(([^\"\\\\]|\\\\.)*)\"|[0-9.]+)"
  if [[ $1 =~ $_re ]]; then
    if [[ -n ${BASH_REMATCH[2]} || ${BASH_REMATCH[1]} == '""' ]]; then
      printf -v "$3" '%s' "${BASH_REMATCH[2]}"
    else
      printf -v "$3" '%s' "${BASH_REMATCH[1]}"
    fi
  else
    printf -v "$3" '%s' ""
  fi
}

# latch_flag_read FILE: the fields of a latch file; all empty for a flag made by `touch`. Values are
# never trusted beyond their pattern. Writes FLAG_ID FLAG_SOURCE FLAG_ACTOR FLAG_REASON FLAG_WALL_US
# FLAG_BOOT FLAG_PID.
latch_flag_read() {
  local content="" wall=""
  # only a regular file is read: a FIFO (or a device) at the flag's path would block the stop path
  [[ ! -f $1 ]] || IFS= read -r -d '' -N 4096 content 2>/dev/null <"$1" || true
  latch_flag_field "$content" id FLAG_ID
  latch_flag_field "$content" source FLAG_SOURCE
  latch_flag_field "$content" actor FLAG_ACTOR
  latch_flag_field "$content" reason FLAG_REASON
  latch_flag_field "$content" requested_at wall
  latch_flag_field "$content" boot_id FLAG_BOOT
  latch_flag_field "$content" pid FLAG_PID
  [[ $FLAG_ID =~ ^[A-Za-z0-9T:._-]{1,64}$ ]] || FLAG_ID=""
  [[ $FLAG_SOURCE =~ ^[a-z0-9_-]{1,32}$ ]] || FLAG_SOURCE=""
  [[ $FLAG_PID =~ ^[0-9]{1,9}$ ]] || FLAG_PID=""
  FLAG_WALL_US=""
  if [[ $wall =~ ^([0-9]{1,12})\.([0-9]{6})$ ]]; then
    FLAG_WALL_US=$((10#${BASH_REMATCH[1]} * 1000000 + 10#${BASH_REMATCH[2]}))
  fi
  record_clean_text_v FLAG_ACTOR "$FLAG_ACTOR" 64
  record_clean_text_v FLAG_REASON "$FLAG_REASON"
}

# latch_flag_identity_v VAR FILE: the latch a flag file stands for, as ID@MTIME: the activation id
# in it ("-" for a flag made by touch) and its mtime in ns. Nothing of the ESS writes a flag while
# it latches; a touch, a real stop taking over a drill's latch (a rewrite) or a new flag all change
# it. Writes VAR, FLAG_*.
latch_flag_identity_v() {
  local _li_m
  _li_m=$(stat -c %.9Y -- "$2" 2>/dev/null) || _li_m=none
  latch_flag_read "$2"
  printf -v "$1" '%s@%s' "${FLAG_ID:--}" "$_li_m"
}

# latch_flag_id_v VAR FILE (after latch_flag_read FILE, ST loaded): the id of the activation the
# flag stands for, the one every surface shows: the flag's own; for a flag without one (made by
# hand, or left empty on a full /run) the one the state records as the latch in force, else the one
# its activation will record, flag-<its mtime in us> (activate_claim_existing). Empty when the flag
# is gone.
latch_flag_id_v() {
  local _lf_m
  if [[ -n $FLAG_ID ]]; then printf -v "$1" '%s' "$FLAG_ID"; return 0; fi
  printf -v "$1" '%s' ""
  if [[ ${ST[ACTIVE]:-0} == 1 && -n ${ST[FLAG_ID]:-} ]]; then
    printf -v "$1" '%s' "${ST[FLAG_ID]}"
  elif _lf_m=$(stat -c %.6Y -- "$2" 2>/dev/null) && [[ $_lf_m =~ ^([0-9]+)\.([0-9]{6})$ ]]; then
    printf -v "$1" 'flag-%s' "$((10#${BASH_REMATCH[1]} * 1000000 + 10#${BASH_REMATCH[2]}))"
  fi
}

# latch_stop_pending_v VAR (ST loaded): a stop in progress: the flag exists, the state does not
# record its activation yet, and it is younger than the time a stop may take to be recorded
# (units_stop_bound_us_v + LOCK_WAIT_SEC + 2 s: the path unit's start, the stop, the lock). VAR: the
# flag's time (mtime, us), empty when no stop is pending. Writes FLAG_*.
latch_stop_pending_v() {
  local _sp_f=${CFG[FLAG_FILE]} _sp_id _sp_m _sp_now _sp_max _sp_lock
  printf -v "$1" '%s' ""
  [[ -e $_sp_f ]] || return 0
  latch_flag_read "$_sp_f"
  latch_flag_id_v _sp_id "$_sp_f"
  [[ ${ST[ACTIVE]:-0} != 1 || ${ST[FLAG_ID]:-} != "$_sp_id" ]] || return 0
  _sp_m=$(stat -c %.6Y -- "$_sp_f" 2>/dev/null) || return 0
  _sp_m=${_sp_m/./}
  time_now_us_v _sp_now
  units_stop_bound_us_v _sp_max
  time_sec_to_us_v _sp_lock "${CFG[LOCK_WAIT_SEC]}"
  ((_sp_now - 10#$_sp_m < _sp_max + _sp_lock + 2000000)) || return 0
  printf -v "$1" '%s' "$((10#$_sp_m))"
}

# latch_stop_runner_live: something runs the pending stop: the flag's writer (a live root process
# running the controller's activate), or a run of quantum-ess.service, the trigger or the trip
# service starting. 1 when nothing does: the switch's wiring is broken and the flag stops nothing.
latch_stop_runner_live() {
  local argv=() states
  if [[ -n $FLAG_PID && -r /proc/$FLAG_PID/cmdline ]] &&
    [[ $(stat -c %u -- "/proc/$FLAG_PID" 2>/dev/null) == 0 ]]; then
    mapfile -d '' -t argv 2>/dev/null </proc/"$FLAG_PID"/cmdline || true
    [[ " ${argv[*]} " != *"ess_controller.sh activate"* ]] || return 0
  fi
  states=$(units_sctl show -P ActiveState -- quantum-ess.service "$TRIGGER_UNIT" \
    quantum-ess-trip.service 2>/dev/null) || return 1
  [[ $'\n'$states$'\n' == *$'\n'activating$'\n'* ]]
}

# latch_drill_live: a full drill runs now. proof_ess.sh writes ESS_RUNTIME_DIR/drill
# ({"id":...,"pid":...}) for as long as it runs; a marker left by a killed drill names no live root
# process running proof_ess.sh and counts for nothing.
latch_drill_live() {
  local f=$ESS_RUNTIME_DIR/drill content="" pid argv=()
  [[ -f $f ]] || return 1 # a regular file only: a FIFO would block
  IFS= read -r -d '' -N 512 content 2>/dev/null <"$f" || true
  [[ $content =~ \"pid\":([0-9]{1,9}) ]] || return 1
  pid=${BASH_REMATCH[1]}
  [[ -O /proc/$pid ]] || return 1
  mapfile -d '' -t argv 2>/dev/null </proc/"$pid"/cmdline || return 1
  [[ " ${argv[*]} " == *proof_ess.sh* ]]
}

# latch_flag_create_exclusive ID SOURCE ACTOR REASON WALL_US: 0 this run created the flag (and owns
# the activation), 2 a flag already existed, 1 it could not be written. The content is complete
# before the name appears (hard link of a finished file), and only one of many racers can win the
# link. Writes FLAG_TMP.
declare -g FLAG_TMP=""
latch_flag_create_exclusive() {
  local f=${CFG[FLAG_FILE]}
  [[ ! -e $f ]] || return 2
  [[ -d ${f%/*} ]] || install -d -m 0755 "${f%/*}" || return 1
  FLAG_TMP=${f%/*}/.${f##*/}.$$.$RANDOM
  if latch_json "$@" 2>/dev/null >"$FLAG_TMP"; then
    if ln -T -- "$FLAG_TMP" "$f" 2>/dev/null; then return 0; fi
    [[ ! -e $f ]] || return 2
  fi
  # no room for the content (a full /run keeps free inodes): an empty flag latches all the same, and
  # noclobber still lets only one racer create it
  rm -f -- "$FLAG_TMP"
  FLAG_TMP=""
  if (set -C && : >"$f") 2>/dev/null; then return 0; fi
  [[ -e $f ]] && return 2
  return 1
}

# latch_flag_tmp_cleanup: our own temporary link, and those of controllers killed before they
# removed theirs (named .FLAG.<pid>.<random>; a live controller's is left alone). Writes FLAG_TMP.
latch_flag_tmp_cleanup() {
  local f=${CFG[FLAG_FILE]} tmp pid
  [[ -z $FLAG_TMP ]] || rm -f -- "$FLAG_TMP"
  FLAG_TMP=""
  for tmp in "${f%/*}/.${f##*/}".*; do
    [[ $tmp =~ \.([0-9]+)\.[0-9]+$ ]] || continue
    pid=${BASH_REMATCH[1]}
    [[ -e /proc/$pid ]] || rm -f -- "$tmp"
  done
}

# latch_persist ID SOURCE ACTOR REASON WALL_US: the persisted latch, written from the activation
# record (a flag made by `touch` is empty and must survive a reboot all the same). The drop-ins
# refuse every start while it exists.
latch_persist() {
  [[ -d ${CFG[STATE_DIR]} ]] || install -d -m 0755 "${CFG[STATE_DIR]}" || return 1
  local json
  latch_json_v json "$@"
  record_atomic_write "${CFG[STATE_DIR]}/latched" 0600 "$json"
}

# ---------------------------------------------------------------- lock
declare -g LOCK_FD=""
# latch_take_lock [WAIT_SEC]: 0 if held, 1 if it could not be had within WAIT_SEC (default
# LOCK_WAIT_SEC). The lock file is
# created 0600 in one step (umask, no chmod window): flock works on any descriptor, so a lock file
# any user can open lets any user block deactivate and rearm. Writes LOCK_FD.
latch_take_lock() {
  local f=${CFG[LOCK_FILE]} old
  [[ -d ${f%/*} ]] || install -d -m 0755 "${f%/*}" || return 1
  if [[ -e $f && $(stat -c '%u %a' -- "$f" 2>/dev/null) != "0 600" ]]; then
    record_log warning "lock file $f was not root-owned 0600; replaced"
    rm -f -- "$f"
  fi
  old=$(umask)
  umask 077
  exec {LOCK_FD}>>"$f" || { umask "$old"; return 1; }
  umask "$old"
  flock -w "${1:-${CFG[LOCK_WAIT_SEC]}}" "$LOCK_FD"
}
# latch_drop_lock: the lock released (if held). Writes LOCK_FD.
latch_drop_lock() { [[ -z $LOCK_FD ]] || exec {LOCK_FD}>&-; LOCK_FD=""; }

# ---------------------------------------------------------------- verdict inputs
# latch_note_config_problem: CONFIG_PROBLEM as the verdict's input, and (root) in the config-problem
# marker, where the exporter reads it; written only when it changed. Writes V_CONFIG_PROBLEM.
latch_note_config_problem() {
  local was
  V_CONFIG_PROBLEM=$CONFIG_PROBLEM
  ((EUID == 0)) || return 0
  record_marker_read_v was config-problem
  [[ $was != "$CONFIG_PROBLEM" ]] || return 0
  if [[ -n $CONFIG_PROBLEM ]]; then
    record_marker_set config-problem "$CONFIG_PROBLEM" || true
  else
    record_marker_clear config-problem || true
  fi
}

# latch_observe_suggest: for each trading unit systemd has not loaded (verdict_not_loaded), the
# nearest existing unit's name (units_suggest_v), which the verdict's problem line names. Writes
# UNIT_SUGGEST.
latch_observe_suggest() {
  local u
  UNIT_SUGGEST=()
  for u in "${TRADING[@]}"; do
    [[ ${LOAD[$u]:-} != not-found ]] || units_suggest_v "UNIT_SUGGEST[$u]" "$u"
  done
}

# latch_observe: every input of verdict_compute, read from the files and systemd now, and the
# verdict. Writes V_* EXEMPT* UNIT_SUGGEST, the unit states (units_read_states,
# units_read_populated, latch_observe_escaped, units_read_asserts), the wiring (wiring_read, wiring_record_read) and
# verdict_compute's results.
declare -g V_FLAG=0 V_LATCHED_FILE=0 V_PERSIST_PROBLEM="" V_RESUME_PENDING="" V_SYSTEMD_OK=1
declare -g V_FLAG_DIR_REDIRECTED=0
latch_observe() {
  V_FLAG=0 V_LATCHED_FILE=0 V_SYSTEMD_OK=1 V_FLAG_DIR_REDIRECTED=0
  [[ -e ${CFG[FLAG_FILE]} ]] && V_FLAG=1
  latch_flag_dir_redirected && V_FLAG_DIR_REDIRECTED=1
  [[ -e $(verdict_persisted_latch_path) ]] && V_LATCHED_FILE=1
  record_marker_read_v V_PERSIST_PROBLEM persist-failed
  record_marker_read_v V_RESUME_PENDING resume-pending
  latch_note_config_problem
  units_read_states "${TRADING[@]}" "${MONITOR[@]}" "${SWITCH_PATH_UNITS[@]}" "$TRIGGER_UNIT" \
    quantum-ess-guard.path quantum-ess-guard.timer || V_SYSTEMD_OK=0
  units_read_populated "${TRADING[@]}"
  latch_observe_escaped
  units_read_asserts "${TRADING[@]}"
  wiring_read || V_SYSTEMD_OK=0
  wiring_record_read
  exempt_read
  latch_observe_suggest
  verdict_compute
  local u
  for u in "${TRADING[@]}"; do
    [[ -z ${ESCAPED[$u]} ]] || VERDICT_PROBLEMS+=("$u: processes of its user ${UNIT_USER[$u]}\
 outside its cgroup (its user's slice, a scope or user.slice; the next stop kills them):${ESCAPED[$u]}")
  done
}

# latch_observe_escaped: the verdict's user_slice input (units_read_user_slices), and the processes
# the next stop would kill as the unit's (units_read_escaped), which status names. Writes
# USER_SLICE ESCAPED.
latch_observe_escaped() {
  units_read_user_slices "${TRADING[@]}"
  units_read_escaped "${TRADING[@]}"
}

# latch_flag_dir_redirected: 0 when a directory on the way to FLAG_FILE is a symbolic link.
latch_flag_dir_redirected() {
  local d=${CFG[FLAG_FILE]%/*}
  while [[ -n $d ]]; do
    [[ ! -L $d ]] || return 0
    d=${d%/*}
  done
  return 1
}
