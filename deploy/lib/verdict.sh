# shellcheck shell=bash disable=SC2034 # the VERDICT_* results are read by callers
# The one definition of armed / active / violation / tampered / ... (contract/README.md section 1).
# The exporter computes the same from the same inputs; test/contract holds both to the same
# fixtures. Needs config.sh (CFG, TRADING); sources it. The inputs are set by the caller
# (latch_observe in latch.sh, or test/contract/verdict-driver.sh): V_FLAG V_LATCHED_FILE
# V_PERSIST_PROBLEM V_RESUME_PENDING V_SYSTEMD_OK, LOAD ACTIVE POPULATED ASSERTS (units.sh's arrays)
# EXEMPT for every trading unit and ACTIVE for the switch units. Writes GUARD VERDICT VERDICT_CODE
# VERDICT_LATCHED VERDICT_ARMED VERDICT_VIOLATIONS VERDICT_PROBLEMS.
[[ -z ${_ESS_LIB_VERDICT:-} ]] || return 0
_ESS_LIB_VERDICT=1
# shellcheck source=/dev/null # deploy/lib/config.sh: the entry scripts have shellcheck follow it
[[ -n ${_ESS_LIB_CONFIG:-} ]] || source "${BASH_SOURCE[0]%/*}/config.sh"

readonly SWITCH_PATH_UNITS=(quantum-ess.path quantum-ess-trip.path)
readonly TRIGGER_UNIT=quantum-ess-trigger.service
readonly -A VERDICT_EXIT=([armed]=0 [unknown]=1 [active]=3 [violation]=4 [not-armed]=5 [tampered]=6
  [not-persisted]=7 [resume-interrupted]=8)

# verdict_persisted_latch_path: STATE_DIR/latched.
verdict_persisted_latch_path() { printf '%s/latched' "${CFG[STATE_DIR]}"; }

# verdict_guard UNIT: GUARD[u] = yes | no | absent | unknown from LOAD[u] and ASSERTS[u]. Writes
# GUARD[UNIT].
#   LoadState not-found or masked                        -> absent
#   Asserts empty or not in busctl's form                -> unknown
#   both negated, non-triggering AssertPathExists (flag
#   and persisted latch) among them                      -> yes
#   otherwise                                            -> no
declare -gA GUARD=()
verdict_guard() {
  local u=$1 text=${ASSERTS[$1]:-} n i type trig neg param state has_flag=0 has_latched=0
  # verdict_persisted_latch_path, without a subshell per entry
  local latched=${CFG[STATE_DIR]}/latched
  case ${LOAD[$u]:-} in not-found | masked) GUARD[$u]=absent; return 0 ;; esac
  GUARD[$u]=unknown
  [[ $text =~ ^a\(sbbsi\)\ ([0-9]+)(.*)$ ]] || return 0
  n=${BASH_REMATCH[1]} text=${BASH_REMATCH[2]}
  local str='"(([^"\\]|\\.)*)"'
  for ((i = 0; i < n; i++)); do
    [[ $text =~ ^\ $str\ (true|false)\ (true|false)\ $str\ (-?[0-9]+)(.*)$ ]] || return 0
    type=${BASH_REMATCH[1]} trig=${BASH_REMATCH[3]} neg=${BASH_REMATCH[4]} param=${BASH_REMATCH[5]}
    state=${BASH_REMATCH[7]} text=${BASH_REMATCH[8]}
    [[ $type == AssertPathExists && $trig == false && $neg == true ]] || continue
    [[ $param != "${CFG[FLAG_FILE]}" ]] || has_flag=1
    [[ $param != "$latched" ]] || has_latched=1
  done
  [[ -z ${text// /} ]] || return 0
  if ((has_flag && has_latched)); then GUARD[$u]=yes; else GUARD[$u]=no; fi
}

# verdict_is_running_state STATE: an ActiveState in which the unit runs.
verdict_is_running_state() { [[ $1 == @(active|activating|deactivating|reloading|refreshing) ]]; }

# verdict_compute: the verdict from the inputs (contract/README.md section 1). Writes GUARD VERDICT
# VERDICT_CODE VERDICT_LATCHED VERDICT_ARMED VERDICT_VIOLATIONS VERDICT_PROBLEMS.
declare -gA EXEMPT=()
verdict_compute() {
  local unknown=0 unguarded=0 switch_ok=1
  VERDICT_PROBLEMS=() VERDICT_VIOLATIONS=0 VERDICT_LATCHED=0
  ((V_FLAG || V_LATCHED_FILE)) && VERDICT_LATCHED=1
  ((V_SYSTEMD_OK)) || {
    unknown=1
    VERDICT_PROBLEMS+=("systemctl show failed or timed out: unit states UNKNOWN")
  }
  verdict_judge_trading
  verdict_judge_switch
  VERDICT_ARMED=0
  ((switch_ok && unguarded == 0)) && VERDICT_ARMED=1
  verdict_choose
  VERDICT_CODE=${VERDICT_EXIT[$VERDICT]}
}

# verdict_judge_trading (verdict_compute's step; its locals unknown, unguarded): the latch on every
# trading unit, and the violations. Writes GUARD VERDICT_VIOLATIONS VERDICT_PROBLEMS.
verdict_judge_trading() {
  local u exempt running
  for u in "${TRADING[@]}"; do
    verdict_guard "$u"
    exempt=${EXEMPT[$u]:-0}
    case ${GUARD[$u]} in
      unknown)
        unknown=1 VERDICT_PROBLEMS+=("$u: its latch assertions could not be read (busctl)") ;;
      no)
        ((exempt)) || unguarded=$((unguarded + 1)) VERDICT_PROBLEMS+=("$u: systemd does not apply\
 the latch (AssertPathExists=! on the flag and the persisted latch); re-run the installer,\
 check for drop-ins overriding it") ;;
      absent) VERDICT_PROBLEMS+=("$u: ${LOAD[$u]} (cannot be started at all)") ;;
    esac
    [[ ${POPULATED[$u]:-unknown} != unknown ]] || {
      unknown=1
      VERDICT_PROBLEMS+=("$u: its cgroup could not be read")
    }
    ((VERDICT_LATCHED && !exempt)) || continue
    running=0
    if verdict_is_running_state "${ACTIVE[$u]:-unknown}" || [[ ${POPULATED[$u]:-} == yes ]]; then
      running=1
    fi
    if ((running)) || [[ ${GUARD[$u]} == no ]]; then
      VERDICT_VIOLATIONS=$((VERDICT_VIOLATIONS + 1))
      ((!running)) || VERDICT_PROBLEMS+=("$u: RUNNING WHILE LATCHED (${ACTIVE[$u]:-unknown},\
 processes in its cgroup: ${POPULATED[$u]:-unknown})")
    fi
  done
}

# verdict_judge_switch (verdict_compute's step; its local switch_ok): the path units active, the
# trigger ready. Writes VERDICT_PROBLEMS.
verdict_judge_switch() {
  local u
  for u in "${SWITCH_PATH_UNITS[@]}"; do
    [[ ${ACTIVE[$u]:-unknown} == active ]] || {
      switch_ok=0
      VERDICT_PROBLEMS+=("$u is ${ACTIVE[$u]:-unknown}")
    }
  done
  if ((!V_FLAG)) && [[ ${ACTIVE[$TRIGGER_UNIT]:-unknown} == active ]]; then
    switch_ok=0 VERDICT_PROBLEMS+=("$TRIGGER_UNIT is still active without a latch flag:\
 a touch would not fire (run: ess_controller.sh rearm)")
  fi
}

# verdict_choose (verdict_compute's step; its local unknown): the first match, in this order:
#   latched and violations > 0                               -> violation
#   systemd unreadable, or a trading guard/cgroup unknown    -> unknown
#   latched and no flag                                      -> tampered
#   latched and (no persisted latch, or a persist problem)   -> not-persisted
#   latched                                                  -> active
#   a resume left units not started                          -> resume-interrupted
#   not armed                                                -> not-armed
#   otherwise                                                -> armed
# Writes VERDICT VERDICT_PROBLEMS.
verdict_choose() {
  local latched=${CFG[STATE_DIR]}/latched # verdict_persisted_latch_path, without a subshell
  if ((VERDICT_LATCHED && VERDICT_VIOLATIONS > 0)); then VERDICT=violation
  elif ((unknown)); then VERDICT=unknown
  elif ((VERDICT_LATCHED && !V_FLAG)); then
    VERDICT=tampered VERDICT_PROBLEMS+=("${CFG[FLAG_FILE]} was removed outside the controller\
 while $latched says latched")
  elif ((VERDICT_LATCHED)) && { ((!V_LATCHED_FILE)) || [[ -n $V_PERSIST_PROBLEM ]]; }; then
    VERDICT=not-persisted
    ((V_LATCHED_FILE)) || VERDICT_PROBLEMS+=("LATCH NOT PERSISTED: $latched is missing;\
 a reboot would resume trading")
    [[ -z $V_PERSIST_PROBLEM ]] || VERDICT_PROBLEMS+=("LATCH NOT PERSISTED: $V_PERSIST_PROBLEM")
  elif ((VERDICT_LATCHED)); then VERDICT=active
  elif [[ -n $V_RESUME_PENDING ]]; then
    VERDICT=resume-interrupted VERDICT_PROBLEMS+=("RESUME INTERRUPTED: not started:\
 $V_RESUME_PENDING (run: ess_controller.sh deactivate to finish)")
  elif ((!VERDICT_ARMED)); then VERDICT=not-armed
  else VERDICT=armed; fi
}
