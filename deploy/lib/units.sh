# shellcheck shell=bash disable=SC2034 # RESULT, STOPPED_US, ALL_DOWN_US, START_ERROR are read by the caller
# systemd side of the ESS: read unit states in one batched call, stop in parallel with a SIGKILL
# escalation, start one unit and confirm it stays up. Needs config.sh (CFG) loaded first.

# A hung PID 1 must not hang the controller: every systemctl call is bounded.
readonly SYSTEMCTL_TIMEOUT_SEC=5

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
us_to_sec() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }

sctl() {
  if [[ -n ${SCTL_DEADLINE_US:-} ]]; then sctl_until "$SCTL_DEADLINE_US" "$@"; else timeout "$SYSTEMCTL_TIMEOUT_SEC" systemctl "$@"; fi
}

# Inside the stop loop a slow PID 1 may not push SIGKILL or the deadline back: bound each call by the
# time left (at least 50 ms, so a call can still complete right at the deadline).
sctl_until() { # sctl_until DEADLINE_US ARGS...
  local left=$(($1 - $(now_us)))
  shift
  ((left >= 50000)) || left=50000
  timeout "$(us_to_sec "$left")" systemctl "$@"
}

# read_unit_states UNIT...: fills LOAD[u] ACTIVE[u] SUB[u] and MAINPID[u]. `systemctl show` prints one block
# per argument in argument order; we map blocks by position because Id= is the canonical name, which
# differs from the argument for aliases.
declare -gA LOAD=() ACTIVE=() SUB=() MAINPID=()
read_unit_states() {
  local units=("$@") i=0 line key
  local out
  for key in "${units[@]}"; do LOAD[$key]=unknown ACTIVE[$key]=unknown SUB[$key]=unknown MAINPID[$key]=0; done
  out=$(sctl show --property=LoadState,ActiveState,SubState,MainPID -- "${units[@]}") || return 1
  while IFS= read -r line; do
    if [[ -z $line ]]; then i=$((i + 1)); continue; fi
    ((i < ${#units[@]})) || break
    key=${units[$i]}
    case $line in
      LoadState=*) LOAD[$key]=${line#*=} ;;
      ActiveState=*) ACTIVE[$key]=${line#*=} ;;
      SubState=*) SUB[$key]=${line#*=} ;;
      MainPID=*) MAINPID[$key]=${line#*=} ;;
    esac
  done <<<"$out"
}

is_down() { [[ ${ACTIVE[$1]} == inactive || ${ACTIVE[$1]} == failed ]]; }

# stop_units UNIT...: enqueue every stop job in one transaction (parallel), poll, SIGKILL whatever is
# still up at KILL_AFTER_SEC, give up at STOP_DEADLINE_SEC. Fills RESULT[u] (stopped, killed,
# already-inactive, not-found, not-stopped) and STOPPED_US[u] (µs since start, -1 if never).
# Returns 0 when every unit is down, 1 otherwise. ALL_DOWN_US is the time the last unit went down.
declare -gA RESULT=() STOPPED_US=()
declare -g ALL_DOWN_US=0
stop_units() {
  local start deadline kill_at now u killed=0
  local to_stop=() pending=() still=()
  start=$(now_us)
  deadline=$((start + $(sec_to_us "${CFG[STOP_DEADLINE_SEC]}")))
  kill_at=$((start + $(sec_to_us "${CFG[KILL_AFTER_SEC]}")))
  ALL_DOWN_US=$start
  read_unit_states "$@" || log_event err "systemctl show failed; stopping blind"
  for u in "$@"; do
    STOPPED_US[$u]=-1
    if [[ ${LOAD[$u]} == not-found ]]; then
      RESULT[$u]=not-found STOPPED_US[$u]=0
    elif is_down "$u"; then
      RESULT[$u]=already-inactive STOPPED_US[$u]=0
      to_stop+=("$u") # a pending auto-restart is cancelled by the stop job
    else
      RESULT[$u]=stopped
      to_stop+=("$u")
      pending+=("$u")
    fi
  done
  if ((${#to_stop[@]} == 0)); then return 0; fi
  sctl stop --no-block -- "${to_stop[@]}" || log_event err "systemctl stop returned an error for: ${to_stop[*]}"
  while ((${#pending[@]} > 0)); do
    SCTL_DEADLINE_US=$deadline read_unit_states "${pending[@]}" || true
    now=$(now_us)
    still=()
    for u in "${pending[@]}"; do
      if is_down "$u"; then
        STOPPED_US[$u]=$((now - start))
        ALL_DOWN_US=$now
      else
        still+=("$u")
      fi
    done
    pending=("${still[@]}")
    if ((${#pending[@]} == 0)); then break; fi
    if ((killed == 0 && now >= kill_at)); then
      sctl_until "$deadline" kill --signal=SIGKILL -- "${pending[@]}" || log_event err "systemctl kill failed for: ${pending[*]}"
      log_event warning "SIGKILL sent to units still running after ${CFG[KILL_AFTER_SEC]}s: ${pending[*]}"
      for u in "${pending[@]}"; do RESULT[$u]=killed; done
      killed=1
    fi
    if ((now >= deadline)); then
      for u in "${pending[@]}"; do RESULT[$u]=not-stopped; done
      return 1
    fi
    sleep 0.01
  done
  return 0
}

# start_confirmed UNIT: start, wait until active, then confirm it is still active after the settle
# time (a Type=simple unit is "active" the moment it forks, even if it crashes 50 ms later).
start_confirmed() {
  local u=$1 deadline out
  deadline=$(($(now_us) + $(sec_to_us "${CFG[START_TIMEOUT_SEC]}")))
  if ! out=$(timeout "${CFG[START_TIMEOUT_SEC]}" systemctl start -- "$u" 2>&1); then
    START_ERROR="systemctl start failed: ${out:-timeout after ${CFG[START_TIMEOUT_SEC]}s}"
    return 1
  fi
  while :; do
    read_unit_states "$u" || true
    [[ ${ACTIVE[$u]} == active ]] && break
    if [[ ${ACTIVE[$u]} == failed || ${ACTIVE[$u]} == inactive ]] || (($(now_us) >= deadline)); then
      START_ERROR="unit is ${ACTIVE[$u]}/${SUB[$u]} after start"
      return 1
    fi
    sleep 0.05
  done
  local pid=${MAINPID[$u]}
  sleep "${CFG[START_SETTLE_SEC]}"
  read_unit_states "$u" || true
  if [[ ${ACTIVE[$u]} != active || ${MAINPID[$u]} != "$pid" ]]; then
    START_ERROR="unit did not stay up for ${CFG[START_SETTLE_SEC]}s (now ${ACTIVE[$u]}/${SUB[$u]}, main PID $pid -> ${MAINPID[$u]})"
    return 1
  fi
}
