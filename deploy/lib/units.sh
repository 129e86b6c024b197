# shellcheck shell=bash disable=SC2034 # RESULT, STOPPED_US, ALL_DOWN_MONO, START_ERROR are read by callers
# systemd side of the ESS: a monotonic clock, unit states in one batched call, cgroup occupancy, the
# latch assertions systemd actually applies, the stop with SIGKILL escalation, and a confirmed start.
# Needs config.sh (CFG). Writes LOAD ACTIVE SUB MAINPID CGROUP INACTIVE_MONO POPULATED ASSERTS RESULT
# STOPPED_US ALL_DOWN_MONO START_ERROR.

# A hung PID 1 must not hang the controller: every systemctl call is bounded.
readonly SYSTEMCTL_TIMEOUT_SEC=5

# ---------------------------------------------------------------- clocks
# Deadlines and latencies use CLOCK_MONOTONIC, the clock of systemd's *TimestampMonotonic properties, so
# a clock step during a stop changes nothing. /proc/timer_list (root) has it in ns and costs no fork;
# /proc/uptime (10 ms resolution) is the fallback for readers without it.
mono_us_v() { # mono_us_v VAR
  local _a _b _ns _up
  if { read -r _a && read -r _a && read -r _a _b _ns _a; } 2>/dev/null </proc/timer_list && [[ $_ns =~ ^[0-9]+$ ]]; then
    printf -v "$1" '%d' $((_ns / 1000))
  else
    read -r _up _a </proc/uptime
    printf -v "$1" '%d' $((10#${_up%.*} * 1000000 + 10#${_up#*.} * 10000))
  fi
}
now_us() { local t=$EPOCHREALTIME; printf '%s' "${t/./}"; } # wall clock, for timestamps people read
now_us_v() { local t=$EPOCHREALTIME; printf -v "$1" '%s' "${t/./}"; }
us_to_sec() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
us_to_sec_v() { printf -v "$1" '%d.%06d' $(($2 / 1000000)) $(($2 % 1000000)); }

# nap SECONDS: sleep without a fork per call (read on a pipe nobody writes times out).
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
declare -gA LOAD=() ACTIVE=() SUB=() MAINPID=() CGROUP=() INACTIVE_MONO=() NEED_RELOAD=()
read_unit_states() {
  local units=("$@") i=0 line key out
  for key in "${units[@]}"; do
    LOAD[$key]=unknown ACTIVE[$key]=unknown SUB[$key]=unknown MAINPID[$key]=0 CGROUP[$key]="" INACTIVE_MONO[$key]=0
    NEED_RELOAD[$key]=no
  done
  out=$(sctl show --property=LoadState,ActiveState,SubState,MainPID,ControlGroup,InactiveEnterTimestampMonotonic,NeedDaemonReload \
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
      InactiveEnterTimestampMonotonic=*) INACTIVE_MONO[$key]=${line#*=} ;;
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
# still up, then wait for their jobs up to STOP_DEADLINE_SEC; then SIGKILL whatever is left in a stopped
# unit's cgroup. Fills RESULT[u] (contract/README.md section 3) and STOPPED_US[u] (µs after the start, -1
# if never); ALL_DOWN_MONO is the monotonic instant the last unit went down. Returns 0 when every unit is
# down with an empty cgroup.
declare -gA RESULT=() STOPPED_US=()
declare -g ALL_DOWN_MONO=0 STOP_T0_MONO=0
stop_units() {
  local t0 now deadline kill_after u rc=0 pending=() leftovers=()
  mono_us_v t0
  STOP_T0_MONO=$t0
  sec_to_us_v deadline "${CFG[STOP_DEADLINE_SEC]}"
  sec_to_us_v kill_after "${CFG[KILL_AFTER_SEC]}"
  deadline=$((t0 + deadline))
  for u in "$@"; do RESULT[$u]=stopped STOPPED_US[$u]=-1; done

  sctl_within "$kill_after" stop -- "$@" 2>/dev/null || rc=$?
  read_unit_states "$@" || log_event err "systemctl show failed after the stop"
  for u in "$@"; do is_down "$u" || [[ ${LOAD[$u]} == not-found ]] || pending+=("$u"); done
  if ((${#pending[@]} > 0)); then
    # timed out (rc 124) or an error: either way these are still up after KILL_AFTER_SEC
    mono_us_v now
    sctl_within $((deadline - now)) kill --kill-whom=all --signal=SIGKILL -- "${pending[@]}" ||
      log_event err "systemctl kill failed for: ${pending[*]}"
    log_event warning "SIGKILL sent to every process of units still running after ${CFG[KILL_AFTER_SEC]}s (stop rc $rc): ${pending[*]}"
    for u in "${pending[@]}"; do RESULT[$u]=killed; done
    mono_us_v now
    sctl_within $((deadline - now)) stop -- "${pending[@]}" 2>/dev/null || true
    read_unit_states "$@" || true
  fi
  read_populated "$@"
  for u in "$@"; do
    if [[ ${POPULATED[$u]} != no ]] && is_down "$u"; then leftovers+=("$u"); fi
  done
  ((${#leftovers[@]} == 0)) || kill_leftovers "$deadline" "${leftovers[@]}"
  classify_stopped "$@"
}

# kill_leftovers DEADLINE UNIT...: the units are down but their cgroups still hold processes. systemd will
# never stop those; SIGKILL them all and wait (monotonic) for the cgroups to empty.
kill_leftovers() {
  local deadline=$1 now u left
  shift
  local units=("$@")
  mono_us_v now
  sctl_within $((deadline - now)) kill --kill-whom=all --signal=SIGKILL -- "${units[@]}" ||
    log_event err "systemctl kill of leftover processes failed for: ${units[*]}"
  log_event warning "units stopped but processes were left in their cgroups; SIGKILL sent: ${units[*]}"
  for u in "${units[@]}"; do RESULT[$u]="leftovers-killed"; done
  while :; do
    read_populated "${units[@]}"
    mono_us_v now
    left=()
    for u in "${units[@]}"; do
      if [[ ${POPULATED[$u]} == no ]]; then
        ((STOPPED_US[$u] >= 0)) || STOPPED_US[$u]=$((now - STOP_T0_MONO))
      else
        left+=("$u")
      fi
    done
    ((${#left[@]} > 0 && now < deadline)) || break
    nap 0.005
  done
}

# classify_stopped UNIT...: final result words and stop instants from systemd's own timestamps.
classify_stopped() {
  local u t rc=0
  ALL_DOWN_MONO=$STOP_T0_MONO
  for u in "$@"; do
    t=${INACTIVE_MONO[$u]:-0}
    [[ $t =~ ^[0-9]+$ ]] || t=0
    if [[ ${LOAD[$u]} == not-found && ${POPULATED[$u]} == no ]]; then
      RESULT[$u]=not-found STOPPED_US[$u]=0
      continue
    fi
    if ! is_down "$u" || [[ ${POPULATED[$u]} != no ]]; then
      RESULT[$u]=not-stopped STOPPED_US[$u]=-1 rc=1
      continue
    fi
    if [[ ${RESULT[$u]} == stopped ]] && ((t < STOP_T0_MONO)); then
      RESULT[$u]=already-inactive STOPPED_US[$u]=0
      continue
    fi
    # systemd's instant of the transition; a unit garbage-collected after its stop has none
    if ((STOPPED_US[$u] < 0)); then
      if ((t >= STOP_T0_MONO)); then STOPPED_US[$u]=$((t - STOP_T0_MONO)); else mono_us_v t; STOPPED_US[$u]=$((t - STOP_T0_MONO)); fi
    fi
    ((STOP_T0_MONO + STOPPED_US[$u] <= ALL_DOWN_MONO)) || ALL_DOWN_MONO=$((STOP_T0_MONO + STOPPED_US[$u]))
  done
  return "$rc"
}

# ---------------------------------------------------------------- start
# start_confirmed UNIT: start, wait until active, then confirm it is still active after the settle
# time (a Type=simple unit is "active" the moment it forks, even if it crashes 50 ms later).
start_confirmed() {
  local u=$1 deadline now out pid
  mono_us_v now
  sec_to_us_v deadline "${CFG[START_TIMEOUT_SEC]}"
  deadline=$((now + deadline))
  if ! out=$(timeout "${CFG[START_TIMEOUT_SEC]}" systemctl start -- "$u" 2>&1); then
    START_ERROR="systemctl start failed: ${out:-timeout after ${CFG[START_TIMEOUT_SEC]}s}"
    return 1
  fi
  while :; do
    read_unit_states "$u" || true
    [[ ${ACTIVE[$u]} == active ]] && break
    mono_us_v now
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
