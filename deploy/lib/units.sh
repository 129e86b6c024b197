# shellcheck shell=bash disable=SC2034 # RESULT, STOPPED_US, ALL_DOWN_US, START_ERROR are read by callers
# systemd side of the ESS: a monotonic clock, unit states in one batched call, cgroup occupancy, the
# latch assertions systemd actually applies, the stop with SIGKILL escalation, and a confirmed start.
# Needs config.sh (CFG). Writes LOAD ACTIVE SUB MAINPID CGROUP INACTIVE_US NEED_RELOAD POPULATED ASSERTS
# RESULT STOPPED_US ALL_DOWN_US STOP_T0_US STOP_T0_UPTIME START_ERROR.
[[ -z ${ESS_LIB_UNITS:-} ]] || return 0 # loaded already (first-stop.sh loads it before the rest)
ESS_LIB_UNITS=1

# A hung PID 1 must not hang the controller: every systemctl call is bounded.
readonly SYSTEMCTL_TIMEOUT_SEC=5

# ---------------------------------------------------------------- clocks
# Deadlines never use the wall clock: waits are relative timers (timeout(1), read -t), and loops count
# elapsed time on /proc/uptime (CLOCK_BOOTTIME, 10 ms resolution, a builtin read: no fork; reading
# /proc/timer_list for CLOCK_MONOTONIC costs about 50 ms). The instants of a stop are systemd's own
# (InactiveEnterTimestamp, µs); a clock step during a run is detected by comparing the wall clock with
# the uptime clock over the run (clock_drift_us).
uptime_us_v() { # uptime_us_v VAR
  local _uu _ur
  read -r _uu _ur </proc/uptime
  printf -v "$1" '%d' $((10#${_uu%.*} * 1000000 + 10#${_uu#*.} * 10000))
}
now_us() { local t=$EPOCHREALTIME; printf '%s' "${t/./}"; } # wall clock, for timestamps people read
now_us_v() { local _nt=$EPOCHREALTIME; printf -v "$1" '%s' "${_nt/./}"; }
us_to_sec() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
us_to_sec_v() { printf -v "$1" '%d.%06d' $(($2 / 1000000)) $(($2 % 1000000)); }

# nap SECONDS: sleep without a fork per call (read on a pipe nobody writes times out).
# clock_drift_us_v VAR WALL0_US UPTIME0_US: how far the wall clock moved against the uptime clock since
# (WALL0, UPTIME0); more than a few tens of ms means the clock was stepped.
clock_drift_us_v() {
  local _cw _cu
  now_us_v _cw
  uptime_us_v _cu
  printf -v "$1" '%d' $(((_cw - $2) - (_cu - $3)))
}

# utc_us_v VAR "Thu 2026-11-26 02:09:41.446772 UTC": systemd's --timestamp=us+utc form to Unix µs,
# without a fork (days from the civil date); empty when the text is not in that form.
utc_us_v() {
  local _y _m _d _era _yoe _doy _doe _days
  if [[ $2 =~ ([0-9]{4})-([0-9]{2})-([0-9]{2})\ ([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})\ UTC$ ]]; then
    _y=$((10#${BASH_REMATCH[1]})) _m=$((10#${BASH_REMATCH[2]})) _d=$((10#${BASH_REMATCH[3]}))
    ((_m > 2)) || _y=$((_y - 1))
    _era=$((_y / 400)) _yoe=$((_y - _y / 400 * 400))
    _doy=$(((153 * (_m > 2 ? _m - 3 : _m + 9) + 2) / 5 + _d - 1))
    _doe=$((_yoe * 365 + _yoe / 4 - _yoe / 100 + _doy))
    _days=$((_era * 146097 + _doe - 719468))
    printf -v "$1" '%d' $(((_days * 86400 + 10#${BASH_REMATCH[4]} * 3600 + 10#${BASH_REMATCH[5]} * 60 + 10#${BASH_REMATCH[6]}) * 1000000 + 10#${BASH_REMATCH[7]}))
  else
    printf -v "$1" '%s' ""
  fi
}

declare -g NAP_FD=""
nap() {
  [[ -n $NAP_FD ]] || exec {NAP_FD}<> <(:)
  read -r -t "$1" -u "$NAP_FD" _ || true
}

sctl() { timeout "$SYSTEMCTL_TIMEOUT_SEC" systemctl "$@"; }

# sctl_within US ARGS...: systemctl bounded by the time left before a deadline (at least 50 ms, so a
# call can still complete right at the deadline). timeout(1) uses a relative timer: clock steps do not
# move it.
sctl_within() {
  local left=$1 s
  shift
  ((left >= 50000)) || left=50000
  us_to_sec_v s "$left"
  timeout "$s" systemctl "$@"
}

# ---------------------------------------------------------------- unit states
# read_unit_states UNIT...: one batched `systemctl show`. It prints one block per argument in argument
# order; blocks are mapped by position because Id= is the canonical name, which differs for aliases.
declare -gA LOAD=() ACTIVE=() SUB=() MAINPID=() CGROUP=() INACTIVE_US=() NEED_RELOAD=()
read_unit_states() {
  local units=("$@") i=0 line key out
  for key in "${units[@]}"; do
    LOAD[$key]=unknown ACTIVE[$key]=unknown SUB[$key]=unknown MAINPID[$key]=0 CGROUP[$key]="" INACTIVE_US[$key]=""
    NEED_RELOAD[$key]=no
  done
  out=$(sctl show --timestamp=us+utc --property=LoadState,ActiveState,SubState,MainPID,ControlGroup,InactiveEnterTimestamp,NeedDaemonReload \
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
      InactiveEnterTimestamp=*) utc_us_v "INACTIVE_US[$key]" "${line#*=}" ;;
      NeedDaemonReload=*) NEED_RELOAD[$key]=${line#*=} ;;
    esac
  done <<<"$out"
}

is_down() { [[ ${ACTIVE[$1]} == inactive || ${ACTIVE[$1]} == failed || ${ACTIVE[$1]} == maintenance ]]; }

# ---------------------------------------------------------------- cgroups
# "Stopped" means no process of the unit is left: systemctl stop leaves KillMode=process/none/mixed
# leftovers and detached children in the unit's cgroup. cgroup.events of the unified hierarchy says
# whether the whole subtree holds a process.
declare -g CGROUP_ROOT=unset
cgroup_root() {
  [[ $CGROUP_ROOT == unset ]] || return 0
  CGROUP_ROOT=""
  if [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then CGROUP_ROOT=/sys/fs/cgroup
  elif [[ -e /sys/fs/cgroup/unified/cgroup.controllers ]]; then CGROUP_ROOT=/sys/fs/cgroup/unified; fi
}

declare -gA POPULATED=()
read_populated() { # read_populated UNIT...: POPULATED[u] = yes | no | unknown (CGROUP[u] read before)
  local u f line got
  cgroup_root
  for u in "$@"; do
    POPULATED[$u]=no
    [[ -n ${CGROUP[$u]:-} ]] || continue
    if [[ -z $CGROUP_ROOT ]]; then POPULATED[$u]=unknown; continue; fi
    f=$CGROUP_ROOT${CGROUP[$u]}/cgroup.events
    [[ -e $f ]] || continue
    got=""
    { while IFS= read -r line; do if [[ $line == "populated "* ]]; then got=${line#populated }; fi; done <"$f"; } 2>/dev/null || got=""
    case $got in
      1) POPULATED[$u]=yes ;;
      0) ;;
      *) [[ ! -e $f ]] || POPULATED[$u]=unknown ;; # vanished while read: the cgroup was emptied
    esac
  done
}

# ---------------------------------------------------------------- the latch as systemd applies it
# The Asserts property (not printable by systemctl show) as busctl prints it:
#   a(sbbsi) N "AssertPathExists" false true "/run/quantum/ESS_ON" 0 ...
declare -gA ASSERTS=()
bus_unit_path_v() { # bus_unit_path_v VAR UNIT: systemd's object path for a unit name
  local _bn=$2 _bo=/org/freedesktop/systemd1/unit/ _bc _bi _bx
  for ((_bi = 0; _bi < ${#_bn}; _bi++)); do
    _bc=${_bn:_bi:1}
    if [[ $_bc == [A-Za-z0-9] ]]; then _bo+=$_bc; else printf -v _bx '_%02x' "'$_bc"; _bo+=$_bx; fi
  done
  printf -v "$1" '%s' "$_bo"
}

read_asserts() { # read_asserts UNIT...: ASSERTS[u] = busctl's text, empty when it could not be read
  local u path
  for u in "$@"; do
    bus_unit_path_v path "$u"
    ASSERTS[$u]=$(timeout "$SYSTEMCTL_TIMEOUT_SEC" busctl get-property org.freedesktop.systemd1 "$path" \
      org.freedesktop.systemd1.Unit Asserts 2>/dev/null) || ASSERTS[$u]=""
  done
}

# ---------------------------------------------------------------- stop
# stop_units UNIT...: one blocking `systemctl stop` of all units (systemd queues the jobs in parallel and
# systemctl waits for them, no polling) bounded by KILL_AFTER_SEC; SIGKILL to every process of the units
# still up, then wait for their jobs for the rest of STOP_DEADLINE_SEC; then SIGKILL whatever is left in
# a stopped unit's cgroup. Every bound is a relative timer. Fills RESULT[u] (contract/README.md section
# 3) and STOPPED_US[u] (µs after the start by systemd's timestamps, -1 if never); ALL_DOWN_US is the wall
# time the last unit went down, as systemd recorded it. Returns 0 when every unit is down with an empty
# cgroup.
declare -gA RESULT=() STOPPED_US=()
declare -g ALL_DOWN_US=0 STOP_T0_US=0 STOP_T0_UPTIME=0 STOP_FIRST_RC="" STOP_FIRST_UNITS=""
# stop_units_begin UNIT...: the first, blocking stop alone (first-stop.sh runs it before the rest of
# the controller is loaded); stop_units then goes on from its result. Writes STOP_T0_* STOP_FIRST_*.
stop_units_begin() {
  local kill_after
  now_us_v STOP_T0_US
  uptime_us_v STOP_T0_UPTIME
  sec_to_us_v kill_after "${CFG[KILL_AFTER_SEC]}"
  STOP_FIRST_RC=0 STOP_FIRST_UNITS="$*"
  sctl_within "$kill_after" stop -- "$@" 2>/dev/null || STOP_FIRST_RC=$?
}

stop_units() {
  local deadline kill_after u rc pending=() leftovers=()
  [[ $STOP_FIRST_UNITS == "$*" ]] || stop_units_begin "$@"
  STOP_FIRST_UNITS="" rc=$STOP_FIRST_RC
  sec_to_us_v deadline "${CFG[STOP_DEADLINE_SEC]}"
  sec_to_us_v kill_after "${CFG[KILL_AFTER_SEC]}"
  for u in "$@"; do RESULT[$u]=stopped STOPPED_US[$u]=-1; done

  read_unit_states "$@" || log_event err "systemctl show failed after the stop"
  for u in "$@"; do is_down "$u" || [[ ${LOAD[$u]} == not-found ]] || pending+=("$u"); done
  if ((${#pending[@]} > 0)); then
    # timed out (rc 124) or an error: either way these are still up after KILL_AFTER_SEC
    sctl_within $((deadline - kill_after)) kill --kill-whom=all --signal=SIGKILL -- "${pending[@]}" ||
      log_event err "systemctl kill failed for: ${pending[*]}"
    log_event warning "SIGKILL sent to every process of units still running after ${CFG[KILL_AFTER_SEC]}s (stop rc $rc): ${pending[*]}"
    for u in "${pending[@]}"; do RESULT[$u]=killed; done
    stop_elapsed
    sctl_within $((deadline - stop_elapsed_us)) stop -- "${pending[@]}" 2>/dev/null || true
    read_unit_states "$@" || true
  fi
  read_populated "$@"
  for u in "$@"; do
    if [[ ${POPULATED[$u]} != no ]] && is_down "$u"; then leftovers+=("$u"); fi
  done
  ((${#leftovers[@]} == 0)) || kill_leftovers "$deadline" "${leftovers[@]}"
  classify_stopped "$@"
}

# stop_elapsed_us: µs since stop_units began, on the uptime clock (immune to clock steps).
declare -g stop_elapsed_us=0
stop_elapsed() { local now; uptime_us_v now; stop_elapsed_us=$((now - STOP_T0_UPTIME)); }

# kill_leftovers DEADLINE_US UNIT...: the units are down but their cgroups still hold processes. systemd
# will never stop those; SIGKILL them all and wait for the cgroups to empty, up to the deadline.
kill_leftovers() {
  local deadline=$1 u left now
  shift
  local units=("$@")
  stop_elapsed
  sctl_within $((deadline - stop_elapsed_us)) kill --kill-whom=all --signal=SIGKILL -- "${units[@]}" ||
    log_event err "systemctl kill of leftover processes failed for: ${units[*]}"
  log_event warning "units stopped but processes were left in their cgroups; SIGKILL sent: ${units[*]}"
  for u in "${units[@]}"; do RESULT[$u]="leftovers-killed"; done
  while :; do
    read_populated "${units[@]}"
    stop_elapsed
    now_us_v now
    left=()
    for u in "${units[@]}"; do
      if [[ ${POPULATED[$u]} == no ]]; then
        ((STOPPED_US[$u] >= 0)) || STOPPED_US[$u]=$((now - STOP_T0_US))
      else
        left+=("$u")
      fi
    done
    ((${#left[@]} > 0 && stop_elapsed_us < deadline)) || break
    nap 0.005
  done
}

# classify_stopped UNIT...: final result words and stop instants from systemd's own timestamps.
classify_stopped() {
  local u t rc=0
  ALL_DOWN_US=$STOP_T0_US
  for u in "$@"; do
    t=${INACTIVE_US[$u]:-}
    [[ -n $t ]] || t=0
    if [[ ${LOAD[$u]} == not-found && ${POPULATED[$u]} == no ]]; then
      RESULT[$u]=not-found STOPPED_US[$u]=0
      continue
    fi
    if ! is_down "$u" || [[ ${POPULATED[$u]} != no ]]; then
      RESULT[$u]=not-stopped STOPPED_US[$u]=-1 rc=1
      continue
    fi
    if [[ ${RESULT[$u]} == stopped ]] && ((t < STOP_T0_US)); then
      RESULT[$u]=already-inactive STOPPED_US[$u]=0
      continue
    fi
    # systemd's instant of the transition; a unit garbage-collected after its stop has none
    if ((STOPPED_US[$u] < 0)); then
      if ((t >= STOP_T0_US)); then STOPPED_US[$u]=$((t - STOP_T0_US)); else now_us_v t; STOPPED_US[$u]=$((t - STOP_T0_US)); fi
    fi
    ((STOP_T0_US + STOPPED_US[$u] <= ALL_DOWN_US)) || ALL_DOWN_US=$((STOP_T0_US + STOPPED_US[$u]))
  done
  return "$rc"
}

# ---------------------------------------------------------------- start
# start_confirmed UNIT: start, wait until active, then confirm it is still active after the settle
# time (a Type=simple unit is "active" the moment it forks, even if it crashes 50 ms later).
start_confirmed() {
  local u=$1 deadline now out pid
  uptime_us_v now
  sec_to_us_v deadline "${CFG[START_TIMEOUT_SEC]}"
  deadline=$((now + deadline))
  if ! out=$(timeout "${CFG[START_TIMEOUT_SEC]}" systemctl start -- "$u" 2>&1); then
    START_ERROR="systemctl start failed: ${out:-timeout after ${CFG[START_TIMEOUT_SEC]}s}"
    return 1
  fi
  while :; do
    read_unit_states "$u" || true
    [[ ${ACTIVE[$u]} == active ]] && break
    uptime_us_v now
    if [[ ${ACTIVE[$u]} == failed || ${ACTIVE[$u]} == inactive ]] || ((now >= deadline)); then
      START_ERROR="unit is ${ACTIVE[$u]}/${SUB[$u]} after start"
      return 1
    fi
    nap 0.05
  done
  pid=${MAINPID[$u]}
  nap "${CFG[START_SETTLE_SEC]}"
  read_unit_states "$u" || true
  if [[ ${ACTIVE[$u]} != active || ${MAINPID[$u]} != "$pid" ]]; then
    START_ERROR="unit did not stay up for ${CFG[START_SETTLE_SEC]}s (now ${ACTIVE[$u]}/${SUB[$u]}, main PID $pid -> ${MAINPID[$u]})"
    return 1
  fi
}
