# shellcheck shell=bash disable=SC2034 # RESULT STOPPED_US ALL_DOWN_US START_ERROR: read by callers
# systemd side of the ESS: unit states in one batched call, cgroup occupancy, the latch assertions
# systemd actually applies, the stop with SIGKILL escalation, and a confirmed start.
# Needs config.sh (CFG), time.sh, record.sh (record_log, record_journal), from load.sh. Writes LOAD ACTIVE SUB
# MAINPID CGROUP INACTIVE_US ACTIVE_EXIT_US KILL_MODE KILL_SIGNAL NEED_RELOAD POPULATED ASSERTS
# RESULT STOPPED_US ALL_DOWN_US STOP_T0_US STOP_T0_UPTIME UNITS_STOP_DEADLINE_US START_ERROR, each
# function the ones its comment names.

# A hung PID 1 must not hang the controller: every systemctl call is bounded.
readonly SYSTEMCTL_TIMEOUT_SEC=5

# units_sctl ARGS...: systemctl bounded by SYSTEMCTL_TIMEOUT_SEC.
units_sctl() { timeout "$SYSTEMCTL_TIMEOUT_SEC" systemctl "$@"; }

# units_sctl_within US ARGS...: systemctl bounded by the time left before a deadline (at least 50
# ms, so a call can still complete right at the deadline). timeout(1) uses a relative timer: clock
# steps do not move it.
units_sctl_within() {
  local left=$1 s
  shift
  ((left >= 50000)) || left=50000
  time_us_to_sec_v s "$left"
  timeout "$s" systemctl "$@"
}

# ---------------------------------------------------------------- unit states
# units_read_states UNIT...: one batched `systemctl show`. It prints one block per argument in
# argument order; blocks are mapped by position because Id= is the canonical name, which differs for
# aliases. Writes LOAD ACTIVE SUB MAINPID CGROUP INACTIVE_US ACTIVE_EXIT_US NEED_RELOAD
# UNIT_USER KILL_MODE KILL_SIGNAL SEND_SIGHUP for every UNIT.
declare -gA LOAD=() ACTIVE=() SUB=() MAINPID=() CGROUP=() INACTIVE_US=() NEED_RELOAD=()
declare -gA UNIT_USER=() ACTIVE_EXIT_US=() KILL_MODE=() KILL_SIGNAL=() SEND_SIGHUP=()
readonly UNITS_SHOW_PROPERTIES=LoadState,ActiveState,SubState,MainPID,ControlGroup,\
InactiveEnterTimestamp,ActiveExitTimestamp,NeedDaemonReload,User,KillMode,KillSignal,SendSIGHUP
units_read_states() {
  local key
  for key in "$@"; do
    LOAD[$key]=unknown ACTIVE[$key]=unknown SUB[$key]=unknown MAINPID[$key]=0 CGROUP[$key]=""
    INACTIVE_US[$key]="" ACTIVE_EXIT_US[$key]="" NEED_RELOAD[$key]=no UNIT_USER[$key]=""
    KILL_MODE[$key]=control-group KILL_SIGNAL[$key]=15 SEND_SIGHUP[$key]=no
  done
  units_read_states_within $((SYSTEMCTL_TIMEOUT_SEC * 1000000)) "$@"
}

# units_read_states_within US UNIT...: units_read_states bounded by US (units_sctl_within), for
# units read before: on a failure their states stay as they were. Writes what units_read_states
# writes.
units_read_states_within() {
  local within=$1 i=0 line key out
  shift
  local units=("$@")
  out=$(units_sctl_within "$within" show --timestamp=us+utc --property="$UNITS_SHOW_PROPERTIES" \
    -- "${units[@]}") || return 1
  while IFS= read -r line; do
    if [[ -z $line ]]; then i=$((i + 1)); continue; fi
    ((i < ${#units[@]})) || break
    key=${units[$i]}
    case $line in
      LoadState=*) LOAD[$key]=${line#*=} ;;
      ActiveState=*) ACTIVE[$key]=${line#*=} ;;
      SubState=*) SUB[$key]=${line#*=} ;;
      MainPID=*) MAINPID[$key]=${line#*=} ;;
      ControlGroup=*) CGROUP[$key]=${line#*=} ;;
      InactiveEnterTimestamp=*) time_utc_us_v "INACTIVE_US[$key]" "${line#*=}" ;;
      ActiveExitTimestamp=*) time_utc_us_v "ACTIVE_EXIT_US[$key]" "${line#*=}" ;;
      NeedDaemonReload=*) NEED_RELOAD[$key]=${line#*=} ;;
      User=*) UNIT_USER[$key]=${line#*=} ;;
      KillMode=*) KILL_MODE[$key]=${line#*=} ;;
      KillSignal=*) KILL_SIGNAL[$key]=${line#*=} ;;
      SendSIGHUP=*) SEND_SIGHUP[$key]=${line#*=} ;;
    esac
  done <<<"$out"
}

# units_is_down UNIT: ACTIVE[UNIT] is inactive, failed or maintenance.
units_is_down() {
  [[ ${ACTIVE[$1]} == inactive || ${ACTIVE[$1]} == failed || ${ACTIVE[$1]} == maintenance ]]
}

# ---------------------------------------------------------------- a unit that does not exist
# units_unloadable_v VAR UNIT: a trading unit systemd has not loaded, other than not-found (a name
# TRADING_UNITS gets wrong, units_suggest_v): bad-setting or error, a unit file that exists and does
# not load, whose fix is that file, not the ESS's configuration. VAR: what is wrong and the fix.
units_unloadable_v() {
  printf -v "$1" 'its unit file does not load (LoadState %s); fix the unit file (%s), then %s' \
    "${LOAD[$2]:-unknown}" "sudo systemctl status $2 says why" "sudo systemctl daemon-reload"
}

# units_suggest_v VAR UNIT: the unit on this host whose name is nearest UNIT's (a typo in
# TRADING_UNITS), empty when none is near: among the units with a file (list-unit-files) and the
# loaded ones (list-units), of the same type, not templates, at an edit distance of at most 3 and
# under half the name. One listing each, bounded by SYSTEMCTL_TIMEOUT_SEC; the distance (bash, some
# ms a name) only for names of a length within 3 of UNIT's that begin with its first two characters
# or end with its last three before the type, at most 100 of them. Writes VAR.
units_suggest_v() {
  local _us_want=$2 _us_name _us_state _us_best="" _us_bestd=4 _us_d _us_n=0
  local _us_stem=${2%.*} _us_type=.${2##*.}
  local -A _us_seen=()
  while read -r _us_name _us_state _; do
    [[ $_us_state != @(not-found|masked|masked-runtime) && $_us_name != *@* ]] || continue
    [[ $_us_name != "$_us_want" && -z ${_us_seen[$_us_name]:-} ]] || continue
    [[ $_us_name == "${_us_stem:0:2}"* || $_us_name == *"${_us_stem: -3}$_us_type" ]] || continue
    _us_seen[$_us_name]=1
    _us_d=$((${#_us_name} - ${#_us_want}))
    ((_us_d * _us_d <= 9 && _us_n++ < 100)) || continue
    units_distance_v _us_d "$_us_want" "$_us_name"
    ((_us_d >= _us_bestd || 2 * _us_d >= ${#_us_want})) || { _us_best=$_us_name _us_bestd=$_us_d; }
  done < <({
    units_sctl list-unit-files --no-legend --plain --type="${_us_want##*.}" || true
    units_sctl list-units --all --no-legend --plain --type="${_us_want##*.}" || true
  } 2>/dev/null)
  printf -v "$1" '%s' "$_us_best"
}

# units_distance_v VAR A B: the edit distance (Levenshtein) between A and B, or 4 as soon as it
# is sure to be more than 3 (a row's least is a lower bound). Writes VAR.
units_distance_v() {
  local _ud_a=$2 _ud_b=$3 _ud_i _ud_j _ud_c _ud_d _ud_prev=() _ud_cur=() _ud_min
  for ((_ud_j = 0; _ud_j <= ${#_ud_b}; _ud_j++)); do _ud_prev[_ud_j]=$_ud_j; done
  for ((_ud_i = 1; _ud_i <= ${#_ud_a}; _ud_i++)); do
    _ud_cur=("$_ud_i") _ud_min=$_ud_i
    for ((_ud_j = 1; _ud_j <= ${#_ud_b}; _ud_j++)); do
      _ud_c=1
      [[ ${_ud_a:_ud_i-1:1} != "${_ud_b:_ud_j-1:1}" ]] || _ud_c=0
      _ud_d=$((_ud_prev[_ud_j - 1] + _ud_c))
      ((_ud_prev[_ud_j] + 1 >= _ud_d)) || _ud_d=$((_ud_prev[_ud_j] + 1))
      ((_ud_cur[_ud_j - 1] + 1 >= _ud_d)) || _ud_d=$((_ud_cur[_ud_j - 1] + 1))
      _ud_cur[_ud_j]=$_ud_d
      ((_ud_d >= _ud_min)) || _ud_min=$_ud_d
    done
    ((_ud_min <= 3)) || { printf -v "$1" '%s' 4; return 0; }
    _ud_prev=("${_ud_cur[@]}")
  done
  printf -v "$1" '%s' "${_ud_prev[${#_ud_b}]}"
}

# ---------------------------------------------------------------- cgroups
# "Stopped" means no process of the unit is left: systemctl stop leaves KillMode=process/none/mixed
# leftovers and detached children in the unit's cgroup. cgroup.events of the unified hierarchy says
# whether the whole subtree holds a process.
# units_cgroup_root: finds the unified hierarchy once. Writes CGROUP_ROOT (empty: none mounted).
declare -g CGROUP_ROOT=unset
units_cgroup_root() {
  [[ $CGROUP_ROOT == unset ]] || return 0
  CGROUP_ROOT=""
  if [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then
    CGROUP_ROOT=/sys/fs/cgroup
  elif [[ -e /sys/fs/cgroup/unified/cgroup.controllers ]]; then
    CGROUP_ROOT=/sys/fs/cgroup/unified
  fi
}

# units_events_populated_v VAR FILE: yes | no | unknown from a cgroup.events FILE: no when it does
# not exist (systemd removes the cgroup of what went down), unknown when it cannot be read. Writes VAR.
units_events_populated_v() {
  local _ep_line _ep_got="" _ep_word=no
  if [[ -e $2 ]]; then
    {
      while IFS= read -r _ep_line; do
        if [[ $_ep_line == "populated "* ]]; then _ep_got=${_ep_line#populated }; fi
      done <"$2"
    } 2>/dev/null || _ep_got=""
    case $_ep_got in
      1) _ep_word=yes ;;
      0) ;;
      *) [[ ! -e $2 ]] || _ep_word=unknown ;; # vanished while read: the cgroup was emptied
    esac
  fi
  printf -v "$1" '%s' "$_ep_word"
}

# units_read_populated UNIT...: POPULATED[u] = yes | no | unknown (CGROUP[u] read before).
# Writes POPULATED (and CGROUP_ROOT, once).
declare -gA POPULATED=()
units_read_populated() {
  local u
  units_cgroup_root
  for u in "$@"; do
    POPULATED[$u]=no
    [[ -n ${CGROUP[$u]:-} ]] || continue
    if [[ -z $CGROUP_ROOT ]]; then POPULATED[$u]=unknown; continue; fi
    units_events_populated_v "POPULATED[$u]" "$CGROUP_ROOT${CGROUP[$u]}/cgroup.events"
  done
}

# ---------------------------------------------------------------- processes that left the unit
# A trading service can move a helper out of its own cgroup, where neither its stop nor its cgroup
# sees it. An unprivileged service (a User= other than root) can only reach its user's slice,
# user.slice/user-UID.slice: its own user manager (systemd-run --user, with lingering) or a login
# session (ssh to itself); a scope of the system manager needs root (polkit refuses it), and a
# process cannot leave the slice, whose path systemd names after the uid. That slice is what the
# verdict judges, on both sides (contract section 1, input user_slice): its cgroup.events covers
# the whole subtree and is world-readable, where the exporter cannot see other users' /proc. The
# stop kills more: the whole slice, and every process of the user in any scope or under user.slice
# (what root may have put there). A root service's helper cannot be told from any other root
# process (docs/design.md).
# units_uid_of_v VAR USER: the uid of a User= value (a name from /etc/passwd, or a number); empty
# when it cannot be resolved (a DynamicUser=, a name from another NSS source). Writes VAR.
units_uid_of_v() {
  local _uu_line="" _uu_uid=""
  if [[ -z $2 ]]; then _uu_uid=0
  elif [[ $2 =~ ^[0-9]{1,10}$ ]]; then _uu_uid=$((10#$2))
  else
    while IFS= read -r _uu_line; do
      [[ $_uu_line != "$2":* ]] || { _uu_line=${_uu_line#*:*:} _uu_uid=${_uu_line%%:*}; break; }
    done 2>/dev/null </etc/passwd
  fi
  printf -v "$1" '%s' "$_uu_uid"
}

# units_read_user_slices UNIT...: USER_SLICE[u] = yes | no | unknown: whether the slice of the
# unit's User= holds a process (UNIT_USER read before); no for root or an unresolvable User=,
# unknown without a unified hierarchy. Writes USER_SLICE (and CGROUP_ROOT, once).
declare -gA USER_SLICE=()
units_read_user_slices() {
  local u uid
  units_cgroup_root
  for u in "$@"; do
    USER_SLICE[$u]=no
    units_uid_of_v uid "${UNIT_USER[$u]:-}"
    [[ -n $uid && $uid != 0 ]] || continue
    if [[ -z $CGROUP_ROOT ]]; then USER_SLICE[$u]=unknown; continue; fi
    units_events_populated_v "USER_SLICE[$u]" "$CGROUP_ROOT/user.slice/user-$uid.slice/cgroup.events"
  done
}

# units_subtree_pids_v VAR DIR: every pid in the cgroup DIR and all its descendants (a user's
# delegated subtree may be nested at any depth), space-separated. Writes VAR.
units_subtree_pids_v() {
  local _sp_dirs=("$2") _sp_d _sp_sub _sp_pid _sp_out=""
  while ((${#_sp_dirs[@]} > 0)); do
    _sp_d=${_sp_dirs[-1]}
    unset '_sp_dirs[-1]'
    { while IFS= read -r _sp_pid; do _sp_out+=" $_sp_pid"; done <"$_sp_d/cgroup.procs"; } \
      2>/dev/null || true
    for _sp_sub in "$_sp_d"/*/; do [[ ! -d $_sp_sub ]] || _sp_dirs+=("${_sp_sub%/}"); done
  done
  printf -v "$1" '%s' "$_sp_out"
}

# units_read_escaped UNIT...: the processes that left the units' cgroups: every process in the
# slice of a unit's User= (whatever its uid), and every process of that user (root is never
# judged) in a scope or under user.slice elsewhere. Writes ESCAPED (unit -> " pid ..."),
# ESCAPED_SLICES (the users' slice directories) and CGROUP_ROOT.
declare -gA ESCAPED=()
declare -ga ESCAPED_SLICES=()
units_read_escaped() {
  local u uid f pid line cg slice pids
  local -A by_uid=()
  ESCAPED_SLICES=()
  units_cgroup_root
  for u in "$@"; do
    ESCAPED[$u]=""
    units_uid_of_v uid "${UNIT_USER[$u]:-}"
    [[ -z $uid || $uid == 0 ]] || by_uid[$uid]+=" $u"
  done
  ((${#by_uid[@]} > 0)) && [[ -n $CGROUP_ROOT ]] || return 0
  for uid in "${!by_uid[@]}"; do
    slice=$CGROUP_ROOT/user.slice/user-$uid.slice
    ESCAPED_SLICES+=("$slice")
    units_subtree_pids_v pids "$slice"
    for u in ${by_uid[$uid]}; do ESCAPED[$u]+=$pids; done
  done
  for f in "$CGROUP_ROOT"/{,*.slice/,*.slice/*.slice/}*.scope/cgroup.procs \
    "$CGROUP_ROOT"/user.slice/{,*/,*/*/,*/*/*/,*/*/*/*/}cgroup.procs; do
    [[ -e $f ]] || continue
    # the slice of a trading unit's user: all of it is listed above
    if [[ $f =~ ^$CGROUP_ROOT/user\.slice/user-([0-9]+)\.slice/ ]] &&
      [[ -n ${by_uid[${BASH_REMATCH[1]}]:-} ]]; then continue; fi
    while IFS= read -r pid; do
      line=""
      { while IFS= read -r line && [[ $line != Uid:* ]]; do :; done; } 2>/dev/null \
        <"/proc/$pid/status" || continue
      read -r _ line cg _ <<<"$line" # real and effective uid
      for uid in "$line" "$cg"; do
        [[ -z ${by_uid[$uid]:-} ]] && continue
        for u in ${by_uid[$uid]}; do ESCAPED[$u]+=" $pid"; done
        break
      done
    done 2>/dev/null <"$f"
  done
}

# units_kill_escaped DEADLINE_US UNIT...: SIGKILL every escaped process of the units (bash's kill,
# no fork; the users' slices also through cgroup.kill, which takes what forks meanwhile) and wait
# for them to be gone and the slices empty, up to the deadline (µs after STOP_T0_UPTIME). Returns 1
# when one outlived it. Writes ESCAPED_KILLED (what was killed), ESCAPED (what is left)
# UNITS_STOP_ELAPSED_US.
declare -gA ESCAPED_KILLED=()
units_kill_escaped() {
  local deadline=$1 u left slice
  shift
  units_read_escaped "$@"
  for u in "$@"; do
    ESCAPED_KILLED[$u]=${ESCAPED[$u]}
    [[ -z ${ESCAPED[$u]} ]] || record_log warning "unit $u: processes of its user" \
      "${UNIT_USER[$u]} outside its cgroup, killed with SIGKILL:${ESCAPED[$u]}"
    # shellcheck disable=SC2086 # the pids, one word each
    [[ -z ${ESCAPED[$u]} ]] || kill -KILL ${ESCAPED[$u]} 2>/dev/null || true
  done
  for slice in "${ESCAPED_SLICES[@]}"; do
    [[ ! -e $slice/cgroup.kill ]] || { printf '1' >"$slice/cgroup.kill"; } 2>/dev/null || true
  done
  while :; do
    left=0
    units_escaped_left "$@" && left=1
    units_stop_elapsed
    ((left && UNITS_STOP_ELAPSED_US < deadline)) || break
    time_nap 0.005
  done
  if ((left)); then units_read_escaped "$@"; return 1; fi
  for u in "$@"; do ESCAPED[$u]=""; done
}

# units_escaped_left UNIT...: 0 while a user's slice (ESCAPED_SLICES) still holds a process or a
# killed process (ESCAPED) still exists; the first one found ends the look (thousands of processes
# are checked in full only once, when they are gone).
units_escaped_left() {
  local u pid slice word
  for slice in "${ESCAPED_SLICES[@]}"; do
    units_events_populated_v word "$slice/cgroup.events"
    [[ $word == no ]] || return 0
  done
  for u in "$@"; do
    for pid in ${ESCAPED[$u]}; do [[ ! -e /proc/$pid ]] || return 0; done
  done
  return 1
}

# ---------------------------------------------------------------- the latch as systemd applies it
# The Asserts property (not printable by systemctl show) as busctl prints it:
#   a(sbbsi) N "AssertPathExists" false true "/run/quantum/ESS_ON" 0 ...
# units_bus_path_v VAR UNIT: systemd's object path for a unit name.
units_bus_path_v() {
  local _bn=$2 _bo=/org/freedesktop/systemd1/unit/ _bc _bi _bx
  for ((_bi = 0; _bi < ${#_bn}; _bi++)); do
    _bc=${_bn:_bi:1}
    if [[ $_bc == [A-Za-z0-9] ]]; then _bo+=$_bc; else printf -v _bx '_%02x' "'$_bc"; _bo+=$_bx; fi
  done
  printf -v "$1" '%s' "$_bo"
}

# units_read_asserts UNIT...: ASSERTS[u] = busctl's text, empty when it could not be read.
# Writes ASSERTS.
declare -gA ASSERTS=()
units_read_asserts() {
  local u path
  for u in "$@"; do
    units_bus_path_v path "$u"
    ASSERTS[$u]=$(timeout "$SYSTEMCTL_TIMEOUT_SEC" busctl get-property org.freedesktop.systemd1 \
      "$path" org.freedesktop.systemd1.Unit Asserts 2>/dev/null) || ASSERTS[$u]=""
  done
}

# ---------------------------------------------------------------- stop
# units_stop UNIT...: one blocking `systemctl stop` of all units (systemd queues the jobs in
# parallel and systemctl waits for them, no polling) bounded by KILL_AFTER_SEC; then, for the units
# still up, the escalation (units_escalate): SIGKILL KILL_AFTER_SEC after systemd began a unit's
# stop, each unit judged until STOP_DEADLINE_SEC after that; then SIGKILL whatever is left in a
# stopped unit's cgroup. Every bound is a relative timer. Fills RESULT[u] (contract/README.md
# section 3) and STOPPED_US[u] (µs after the start by systemd's timestamps, -1 if never);
# ALL_DOWN_US is the wall time the last unit went down, as systemd recorded it. Returns 0 when
# every unit is down with an empty cgroup. Writes RESULT STOPPED_US EMPTIED_US ALL_DOWN_US STOP_T0_US
# STOP_T0_UPTIME UNITS_STOP_DEADLINE_US UNITS_STOP_ELAPSED_US, and the unit states
# (units_read_states, units_read_populated).
declare -gA RESULT=() STOPPED_US=() EMPTIED_US=()
# for a unit killed: what still ran when SIGKILL was sent (units_killed_what_v)
declare -gA KILLED_WHAT=()
declare -g ALL_DOWN_US=0 STOP_T0_US=0 STOP_T0_UPTIME=0 STOP_FIRST_RC="" STOP_FIRST_UNITS=""
declare -g UNITS_STOP_DEADLINE_US=0
# units_stop_begin UNIT...: the first, blocking stop alone (first-stop.sh runs it before the rest of
# the controller is loaded); units_stop then goes on from its result. Writes STOP_T0_* STOP_FIRST_*.
units_stop_begin() {
  local kill_after
  time_now_us_v STOP_T0_US
  time_uptime_us_v STOP_T0_UPTIME
  time_sec_to_us_v kill_after "${CFG[KILL_AFTER_SEC]}"
  STOP_FIRST_RC=0 STOP_FIRST_UNITS="$*"
  units_sctl_within "$kill_after" stop -- "$@" 2>/dev/null || STOP_FIRST_RC=$?
}

units_stop() {
  local u pending=() leftovers=()
  [[ $STOP_FIRST_UNITS == "$*" ]] || units_stop_begin "$@"
  STOP_FIRST_UNITS=""
  time_sec_to_us_v UNITS_STOP_DEADLINE_US "${CFG[STOP_DEADLINE_SEC]}"
  for u in "$@"; do RESULT[$u]=stopped STOPPED_US[$u]=-1 EMPTIED_US[$u]=""; done

  units_read_states "$@" || record_log err "systemctl show failed after the stop"
  for u in "$@"; do units_is_down "$u" || [[ ${LOAD[$u]} == not-found ]] || pending+=("$u"); done
  if ((${#pending[@]} > 0)); then
    units_escalate "${pending[@]}"
    units_read_states_within $((SYSTEMCTL_TIMEOUT_SEC * 1000000)) "$@" || true
  fi
  units_read_populated "$@"
  for u in "$@"; do
    if [[ ${POPULATED[$u]} != no ]] && units_is_down "$u"; then leftovers+=("$u"); fi
  done
  ((${#leftovers[@]} == 0)) || units_kill_leftovers "$UNITS_STOP_DEADLINE_US" "${leftovers[@]}"
  units_classify_stopped "$@"
}

# units_stop_bound_us_v VAR: the longest a stop may take, in µs: STOP_DEADLINE_SEC after the stop
# began, which is at most KILL_AFTER_SEC after the request (units_escalate). Writes VAR.
units_stop_bound_us_v() {
  local _sb _sk
  time_sec_to_us_v _sb "${CFG[STOP_DEADLINE_SEC]}"
  time_sec_to_us_v _sk "${CFG[KILL_AFTER_SEC]}"
  printf -v "$1" '%d' $((_sb + _sk))
}

# units_escalate UNIT...: the units still up after the first stop. The SIGKILL grace is counted from
# when a unit was actually sent SIGTERM, not from the request: a PID 1 busy reloading (a storm of
# daemon-reloads starves its job queue) may begin a stop seconds after it was asked for, or not
# at all while the storm lasts, and a grace counted from the request would expire before SIGTERM
# was even sent. For each unit: the stop began when systemd began it (the unit left active,
# ActiveExitTimestamp); if systemd has not begun it KILL_AFTER_SEC after the request, the
# controller begins it: the unit's KillSignal= to its processes as its KillMode= says
# (units_sigterm). KILL_AFTER_SEC after the begin, SIGKILL if it still runs ("ignored SIGTERM");
# each unit is waited for until STOP_DEADLINE_SEC after its begin, so no stop takes longer than
# KILL_AFTER_SEC + STOP_DEADLINE_SEC however slow PID 1 is. A unit whose cgroup is empty is done,
# whether or not PID 1 has handled its end yet (units_emptied; EMPTIED_US: when that was seen).
# Writes RESULT EMPTIED_US UNITS_STOP_DEADLINE_US UNITS_STOP_ELAPSED_US, and the unit states
# (and POPULATED).
units_escalate() {
  local u kill_after deadline pending=("$@") left kills
  local -A began=()
  time_sec_to_us_v kill_after "${CFG[KILL_AFTER_SEC]}"
  time_sec_to_us_v deadline "${CFG[STOP_DEADLINE_SEC]}"
  # the bounded first request may have been cut before PID 1 read it: asked again (a job already
  # queued stays as it is), not waited for: a busy PID 1 would hold up the SIGTERM below
  units_sctl_within "$kill_after" stop --no-block -- "${pending[@]}" >/dev/null 2>&1 &
  while ((${#pending[@]} > 0)); do
    units_stop_elapsed
    units_read_states_within $((UNITS_STOP_DEADLINE_US - UNITS_STOP_ELAPSED_US)) \
      "${pending[@]}" || true
    units_read_populated "${pending[@]}"
    units_stop_elapsed
    left=() kills=()
    for u in "${pending[@]}"; do
      units_is_down "$u" && continue
      if units_emptied "$u"; then
        time_now_us_v "EMPTIED_US[$u]"
        continue
      fi
      [[ -n ${began[$u]:-} ]] || units_began_v "began[$u]" "$u"
      if [[ -z ${began[$u]} ]] && ((UNITS_STOP_ELAPSED_US >= kill_after)); then
        units_sigterm "$u"
        began[$u]=$UNITS_STOP_ELAPSED_US
      fi
      [[ -z ${began[$u]} ]] || ((began[$u] + deadline <= UNITS_STOP_DEADLINE_US)) ||
        UNITS_STOP_DEADLINE_US=$((began[$u] + deadline))
      if [[ -n ${began[$u]} && ${RESULT[$u]} != killed ]] &&
        ((UNITS_STOP_ELAPSED_US >= began[$u] + kill_after)); then
        kills+=("$u")
      fi
      left+=("$u")
    done
    ((${#kills[@]} == 0)) || units_sigkill "${kills[@]}"
    pending=("${left[@]}")
    ((${#pending[@]} > 0 && UNITS_STOP_ELAPSED_US < UNITS_STOP_DEADLINE_US)) || break
    time_nap 0.02
  done
}

# units_emptied UNIT: systemd does not count UNIT down but no process of it runs: its cgroup is
# empty (PID 1, busy, has not handled its end yet), or it waits to be restarted (SubState
# auto-restart, ActiveState activating: a Restart= unit that exited on a SIGTERM systemd did not
# send; the latch refuses the start). CGROUP SUB and POPULATED read before.
units_emptied() {
  ! units_is_down "$1" && [[ ${POPULATED[$1]} == no ]] &&
    [[ -n ${CGROUP[$1]} || ${SUB[$1]} == auto-restart ]]
}

# units_began_v VAR UNIT: µs after the request at which systemd began UNIT's stop (it left active:
# ActiveExitTimestamp), 0 when it was leaving before the request, empty while it has not begun
# (the unit still active, or starting). Writes VAR.
units_began_v() {
  local _ub=""
  if [[ ${ACTIVE[$2]} == deactivating ]]; then
    _ub=0
    [[ -z ${ACTIVE_EXIT_US[$2]} ]] || ((ACTIVE_EXIT_US[$2] <= STOP_T0_US)) ||
      _ub=$((ACTIVE_EXIT_US[$2] - STOP_T0_US))
  fi
  printf -v "$1" '%s' "$_ub"
}

# units_sigterm UNIT: begins the stop systemd has not begun: the unit's KillSignal= (then SIGCONT,
# and SIGHUP with SendSIGHUP=yes, as systemd does) to every process of its cgroup
# (KillMode=control-group) or to its main process (mixed, process, none), by the kernel, with no answer needed from PID 1. A main process outside
# the unit's cgroup is never signalled: a root-owned PIDFile= may name any process (another unit's,
# a monitor's), and the controller signals nothing but the trading units. systemd's own stop job
# stays queued and finds the unit down, or sends the same signal again. Writes nothing.
units_sigterm() {
  local u=$1 pids=""
  units_cgroup_root
  if [[ ${KILL_MODE[$u]} == control-group && -n $CGROUP_ROOT && -n ${CGROUP[$u]} ]]; then
    units_subtree_pids_v pids "$CGROUP_ROOT${CGROUP[$u]}"
  fi
  if [[ -z $pids && ${MAINPID[$u]} != 0 ]]; then
    if units_pid_in_cgroup "${MAINPID[$u]}" "${CGROUP[$u]}"; then
      pids=${MAINPID[$u]}
    else
      record_log warning "unit $u: its main process ${MAINPID[$u]} is not in its cgroup" \
        "(${CGROUP[$u]:-none}): not signalled by the controller"
    fi
  fi
  record_log warning "unit $u: systemd had not begun its stop ${CFG[KILL_AFTER_SEC]}s after the" \
    "request (PID 1 busy); signal ${KILL_SIGNAL[$u]} (KillSignal=) sent by the controller to:${pids:- none}"
  [[ -n $pids ]] || return 0
  # shellcheck disable=SC2086 # the pids, one word each
  kill -n "${KILL_SIGNAL[$u]}" $pids 2>/dev/null || true
  # shellcheck disable=SC2086
  kill -s CONT $pids 2>/dev/null || true
  # shellcheck disable=SC2086
  [[ ${SEND_SIGHUP[$u]} != yes ]] || kill -s HUP $pids 2>/dev/null || true
}

# units_pid_in_cgroup PID CGROUP: PID runs in CGROUP (systemd's ControlGroup= path) or below it, by
# the kernel's own record (/proc/PID/cgroup: the unified line, or each hierarchy's on cgroup v1).
units_pid_in_cgroup() {
  local line
  [[ -n $2 ]] || return 1
  { while IFS= read -r line; do
      line=${line#*:*:}
      [[ $line != "$2" && $line != "$2/"* ]] || return 0
    done <"/proc/$1/cgroup"; } 2>/dev/null
  return 1
}

# units_cgroup_kill UNIT: SIGKILL to every process of UNIT through the kernel's cgroup.kill, which
# needs no answer from a busy PID 1; 1 where that file is missing or refuses the write. CGROUP
# read before. Writes nothing.
units_cgroup_kill() {
  units_cgroup_root
  [[ -n $CGROUP_ROOT && -n ${CGROUP[$1]} && -e $CGROUP_ROOT${CGROUP[$1]}/cgroup.kill ]] &&
    { printf '1' >"$CGROUP_ROOT${CGROUP[$1]}/cgroup.kill"; } 2>/dev/null
}

# units_sigkill UNIT...: SIGKILL to every process of each unit whose cgroup still holds one
# (RESULT killed; one that emptied meanwhile stopped on its own), through the kernel's cgroup.kill,
# which needs no answer from a busy PID 1; through systemctl kill where that file is missing.
# Writes RESULT POPULATED.
units_sigkill() {
  local u word via_pid1=()
  units_cgroup_root
  for u in "$@"; do
    # no cgroup by systemd's own reading: no process to kill (an unread state may hide one)
    [[ -n ${CGROUP[$u]} || ${ACTIVE[$u]} == unknown ]] || continue
    word=unknown
    [[ -z $CGROUP_ROOT || -z ${CGROUP[$u]} ]] ||
      units_events_populated_v word "$CGROUP_ROOT${CGROUP[$u]}/cgroup.events"
    [[ $word != no ]] || continue
    RESULT[$u]=killed
    units_killed_what_v "KILLED_WHAT[$u]" "$u"
    record_log warning "unit $u still running ${CFG[KILL_AFTER_SEC]}s after its stop began" \
      "(SIGTERM): SIGKILL sent to every process of it"
    [[ $word == yes ]] && units_cgroup_kill "$u" && continue
    via_pid1+=("$u")
  done
  ((${#via_pid1[@]} == 0)) || units_sctl kill --kill-whom=all --signal=SIGKILL -- "${via_pid1[@]}" ||
    record_log err "systemctl kill failed for: ${via_pid1[*]}"
}

# units_killed_what_v VAR UNIT: what of UNIT still ran when SIGKILL was sent, by systemd's SubState
# and the kernel's list of its cgroup: exec-stop (ExecStop= still ran: SIGTERM was never sent),
# exec-stop-post (ExecStopPost=), others (the main process ended on SIGTERM, others of the unit
# did not: a child), main (the main process itself ignored SIGTERM; also when not known).
# CGROUP_ROOT CGROUP MAINPID SUB read before. Writes VAR.
units_killed_what_v() {
  local _kw_pids="" _kw_p _kw_word=main
  case ${SUB[$2]} in
    stop) _kw_word=exec-stop ;;
    stop-post) _kw_word=exec-stop-post ;;
    *)
      [[ -n $CGROUP_ROOT && -n ${CGROUP[$2]} ]] &&
        units_subtree_pids_v _kw_pids "$CGROUP_ROOT${CGROUP[$2]}"
      [[ ${MAINPID[$2]} != 0 || -z $_kw_pids ]] || _kw_word=others ;;
  esac
  printf -v "$1" '%s' "$_kw_word"
}

# units_stop_elapsed: µs since units_stop began, on the uptime clock (immune to clock steps).
# Writes UNITS_STOP_ELAPSED_US.
declare -g UNITS_STOP_ELAPSED_US=0
units_stop_elapsed() {
  local now
  time_uptime_us_v now
  UNITS_STOP_ELAPSED_US=$((now - STOP_T0_UPTIME))
}

# units_kill_leftovers DEADLINE_US UNIT...: the units are down but their cgroups still hold
# processes. systemd will never stop those; SIGKILL them all and wait for the cgroups to empty, up
# to the deadline. Writes RESULT STOPPED_US POPULATED UNITS_STOP_ELAPSED_US.
units_kill_leftovers() {
  local deadline=$1 u left now via_pid1=()
  shift
  local units=("$@")
  # through cgroup.kill where it can: a busy PID 1 would answer systemctl kill after the deadline
  for u in "${units[@]}"; do units_cgroup_kill "$u" || via_pid1+=("$u"); done
  units_stop_elapsed
  ((${#via_pid1[@]} == 0)) ||
    units_sctl_within $((deadline - UNITS_STOP_ELAPSED_US)) kill --kill-whom=all \
      --signal=SIGKILL -- "${via_pid1[@]}" ||
    record_log err "systemctl kill of leftover processes failed for: ${via_pid1[*]}"
  record_log warning "units stopped but processes were left in their cgroups;" \
    "SIGKILL sent: ${units[*]}"
  for u in "${units[@]}"; do RESULT[$u]="leftovers-killed"; done
  while :; do
    units_read_populated "${units[@]}"
    units_stop_elapsed
    time_now_us_v now
    left=()
    for u in "${units[@]}"; do
      if [[ ${POPULATED[$u]} == no ]]; then
        ((STOPPED_US[$u] >= 0)) || STOPPED_US[$u]=$((now - STOP_T0_US))
      else
        left+=("$u")
      fi
    done
    ((${#left[@]} > 0 && UNITS_STOP_ELAPSED_US < deadline)) || break
    time_nap 0.005
  done
}

# units_classify_stopped UNIT...: final result words and stop instants from systemd's own
# timestamps. Writes RESULT STOPPED_US ALL_DOWN_US.
#   not installed, cgroup empty                  -> not-found         (stop instant 0)
#   not down, or processes left in its cgroup    -> not-stopped       (never: -1; returns 1)
#   untouched by this stop, down before it began -> already-inactive  (stop instant 0)
#   otherwise (stopped, killed, leftovers-killed) keeps its word; the instant is systemd's own
units_classify_stopped() {
  local u t rc=0
  ALL_DOWN_US=$STOP_T0_US
  for u in "$@"; do
    t=${INACTIVE_US[$u]:-}
    [[ -n $t ]] || t=0
    if [[ ${LOAD[$u]} == not-found && ${POPULATED[$u]} == no ]]; then
      RESULT[$u]=not-found STOPPED_US[$u]=0
      continue
    fi
    if units_emptied "$u"; then
      # judged by its cgroup: no process of it is left, since units_escalate saw it empty
      record_log notice "unit $u: no process of it is left; systemd (busy) has not yet recorded" \
        "its end (now ${ACTIVE[$u]}/${SUB[$u]})"
      t=${EMPTIED_US[$u]:-}
      [[ -n $t ]] || time_now_us_v t
      ((STOPPED_US[$u] >= 0)) || STOPPED_US[$u]=$((t - STOP_T0_US))
    elif ! units_is_down "$u" || [[ ${POPULATED[$u]} != no ]]; then
      RESULT[$u]=not-stopped STOPPED_US[$u]=-1 rc=1
      continue
    elif [[ ${RESULT[$u]} == stopped ]] && ((t < STOP_T0_US)); then
      RESULT[$u]=already-inactive STOPPED_US[$u]=0
      continue
    fi
    # systemd's instant of the transition; a unit garbage-collected after its stop has none
    if ((STOPPED_US[$u] < 0)); then
      ((t >= STOP_T0_US)) || time_now_us_v t
      STOPPED_US[$u]=$((t - STOP_T0_US))
    fi
    ((STOP_T0_US + STOPPED_US[$u] <= ALL_DOWN_US)) || ALL_DOWN_US=$((STOP_T0_US + STOPPED_US[$u]))
  done
  return "$rc"
}

# ---------------------------------------------------------------- start
# units_start_confirmed UNIT: start, wait until active, then confirm it is still active after the
# settle time (a Type=simple unit is "active" the moment it forks, even if it crashes 50 ms later).
# Writes START_ERROR (on failure), and the unit states (units_read_states).
units_start_confirmed() {
  local u=$1 deadline now out pid
  time_uptime_us_v now
  time_sec_to_us_v deadline "${CFG[START_TIMEOUT_SEC]}"
  deadline=$((now + deadline))
  if ! out=$(timeout "${CFG[START_TIMEOUT_SEC]}" systemctl start -- "$u" 2>&1); then
    START_ERROR="systemctl start failed: ${out:-timeout after ${CFG[START_TIMEOUT_SEC]}s}"
    return 1
  fi
  while :; do
    units_read_states "$u" || true
    [[ ${ACTIVE[$u]} == active ]] && break
    time_uptime_us_v now
    if [[ ${ACTIVE[$u]} == failed || ${ACTIVE[$u]} == inactive ]] || ((now >= deadline)); then
      START_ERROR="unit is ${ACTIVE[$u]}/${SUB[$u]} after start"
      return 1
    fi
    time_nap 0.05
  done
  pid=${MAINPID[$u]}
  time_nap "${CFG[START_SETTLE_SEC]}"
  units_read_states "$u" || true
  if [[ ${ACTIVE[$u]} != active || ${MAINPID[$u]} != "$pid" ]]; then
    START_ERROR="unit did not stay up for ${CFG[START_SETTLE_SEC]}s (now ${ACTIVE[$u]}/${SUB[$u]},"
    START_ERROR+=" main PID $pid -> ${MAINPID[$u]})"
    return 1
  fi
}
