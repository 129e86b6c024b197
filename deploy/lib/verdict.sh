# shellcheck shell=bash disable=SC2034 # the VERDICT_* results are read by callers
# The one definition of armed / active / violation / tampered / ... (contract/README.md section 1).
# The exporter computes the same from the same inputs; test/contract holds both to the same
# fixtures. Needs config.sh (CFG, TRADING), from load.sh. The inputs are set by the caller
# (latch_observe in latch.sh, or test/contract/verdict-driver.sh): V_FLAG V_FLAG_DIR_REDIRECTED
# V_LATCHED_FILE V_PERSIST_PROBLEM V_RESUME_PENDING V_SYSTEMD_OK
# V_CONFIG_PROBLEM, LOAD ACTIVE POPULATED USER_SLICE ASSERTS
# (units.sh's arrays) EXEMPT for every trading unit, ACTIVE for the switch units, WIRING_FOUND
# WIRING_RECORD V_WIRING_RECORD (wiring.sh) for the wiring units. Writes GUARD WIRING VERDICT
# VERDICT_CODE VERDICT_LATCHED VERDICT_ARMED VERDICT_VIOLATIONS VERDICT_PROBLEMS
# VERDICT_WIRING_DIFFS VERDICT_MISSING VERDICT_ARMED_BUT_MISSING.

readonly SWITCH_PATH_UNITS=(quantum-ess.path quantum-ess-trip.path)
readonly TRIGGER_UNIT=quantum-ess-trigger.service
# Every unit a trigger or the guard goes through: judged as installed (verdict_judge_wiring).
readonly WIRING_UNITS=(quantum-ess.path quantum-ess-trigger.service quantum-ess-trip.path
  quantum-ess-trip.service quantum-ess.service quantum-ess-guard.path quantum-ess-guard.service
  quantum-ess-restore.service)
# The dependencies of a service that can keep its start from running: a unit it requires or binds to
# that fails, one it requires already up that is not, one ordered before it whose start hangs, one
# that conflicts with it whose stop hangs. A unit file elsewhere adds them to the ESS's own (an
# enabled RequiredBy=, a Before=, a Conflicts=), without a drop-in on it, so they are compared too.
readonly WIRING_DEPS=Requires,Requisite,BindsTo,After,ConflictedBy
readonly -A VERDICT_EXIT=([armed]=0 [unknown]=1 [active]=3 [violation]=4 [not-armed]=5 [tampered]=6
  [not-persisted]=7 [resume-interrupted]=8)

# verdict_persisted_latch_path: STATE_DIR/latched.
verdict_persisted_latch_path() { printf '%s/latched' "${CFG[STATE_DIR]}"; }

# verdict_guard UNIT: GUARD[u] = yes | no | absent | unknown from LOAD[u] and ASSERTS[u]. Writes
# GUARD[UNIT].
#   LoadState not-found or masked                        -> absent
#   Asserts empty or not in busctl's form                -> unknown
#   every assertion of the latch drop-in among them,
#   negated and non-triggering: AssertPathExists on the
#   flag and on the persisted latch, AssertDirectoryNot-
#   Empty on SPOOL_DIR/incoming                          -> yes
#   otherwise                                            -> no
declare -gA GUARD=()
verdict_guard() {
  local u=$1 text=${ASSERTS[$1]:-} n i type trig neg param state has_flag=0 has_latched=0 has_spool=0
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
    [[ $trig == false && $neg == true ]] || continue
    if [[ $type == AssertPathExists ]]; then
      [[ $param != "${CFG[FLAG_FILE]}" ]] || has_flag=1
      [[ $param != "$latched" ]] || has_latched=1
    elif [[ $type == AssertDirectoryNotEmpty && $param == "${CFG[SPOOL_DIR]}/incoming" ]]; then
      has_spool=1
    fi
  done
  [[ -z ${text// /} ]] || return 0
  if ((has_flag && has_latched && has_spool)); then GUARD[$u]=yes; else GUARD[$u]=no; fi
}

# verdict_is_running_state STATE: an ActiveState in which the unit runs.
verdict_is_running_state() { [[ $1 == @(active|activating|deactivating|reloading|refreshing) ]]; }

# verdict_compute: the verdict from the inputs (contract/README.md section 1). Writes GUARD VERDICT
# VERDICT_CODE VERDICT_LATCHED VERDICT_ARMED VERDICT_VIOLATIONS VERDICT_PROBLEMS, and
# VERDICT_MISSING (trading units not loaded) VERDICT_ARMED_BUT_MISSING (1: they alone disarm it).
declare -gA EXEMPT=()
verdict_compute() {
  local unknown=0 unguarded=0 missing=0 switch_ok=1 wiring_ok=1 flag=$V_FLAG
  VERDICT_PROBLEMS=() VERDICT_VIOLATIONS=0 VERDICT_LATCHED=0
  # behind a link the flag is wherever the link points, and what lies there depends on who looks
  # (the exporter has a private /tmp): a flag behind a redirected directory never counts
  ((!${V_FLAG_DIR_REDIRECTED:-0})) || {
    flag=0 switch_ok=0
    VERDICT_PROBLEMS+=("${CFG[FLAG_FILE]%/*} (or a directory above it) is a symbolic link: the flag\
 is not where the latch drop-ins and the path unit look for it; restore the directory")
  }
  ((flag || V_LATCHED_FILE)) && VERDICT_LATCHED=1
  ((V_SYSTEMD_OK)) || {
    unknown=1
    VERDICT_PROBLEMS+=("systemctl show failed or timed out: unit states UNKNOWN")
  }
  verdict_judge_trading
  verdict_judge_switch
  verdict_judge_wiring
  verdict_judge_config
  VERDICT_ARMED=0 VERDICT_MISSING=$missing VERDICT_ARMED_BUT_MISSING=0
  ((switch_ok && wiring_ok && unguarded == 0)) && VERDICT_ARMED_BUT_MISSING=$((missing > 0))
  ((switch_ok && wiring_ok && unguarded == 0 && missing == 0)) && VERDICT_ARMED=1
  verdict_choose
  VERDICT_CODE=${VERDICT_EXIT[$VERDICT]}
}

# verdict_not_loaded UNIT: LoadState read, and neither loaded nor masked (not-found: no such unit,
# a typo in TRADING_UNITS; bad-setting, error: a file systemd cannot use). The ESS can neither
# stop nor latch what it names, and a real unit of another name may be trading: never armed.
verdict_not_loaded() {
  [[ ${LOAD[$1]:-} != @(|unknown|loaded|masked) ]]
}

# verdict_not_loaded_problem UNIT (verdict_judge_trading's step): the problem line of a trading
# unit systemd has not loaded: what it means, the nearest existing unit (UNIT_SUGGEST), which the
# ESS does not stop, and the fix (the installer refuses while latched: after the deactivate then).
# Writes VERDICT_PROBLEMS.
verdict_not_loaded_problem() {
  local u=$1 s=${UNIT_SUGGEST[$1]:-} t when=""
  if [[ ${LOAD[$u]} != not-found ]]; then
    units_unloadable_v t "$u"
    VERDICT_PROBLEMS+=("$u: no trigger stops or latches it: $t")
    return 0
  fi
  t="$u: LoadState ${LOAD[$u]}: TRADING_UNITS names a unit systemd has not loaded, so no trigger"
  t+=" stops or latches it"
  if [[ -n $s ]] && ((VERDICT_LATCHED)); then
    t+=" (did you mean $s? the ESS did not stop $s; if it trades, stop it now:"
    t+=" sudo systemctl stop $s)"
  elif [[ -n $s ]]; then t+=" (did you mean $s?)"; fi
  ((!VERDICT_LATCHED)) || when="once deactivated, "
  t+="; fix: sudoedit $ESS_DEFAULT_CONFIG (TRADING_UNITS), then ${when}re-run the installer"
  VERDICT_PROBLEMS+=("$t")
}

# verdict_judge_trading (verdict_compute's step; its locals unknown, unguarded, missing): the
# latch on every trading unit, and the violations. UNIT_SUGGEST[u] (optional, latch_observe's)
# names the nearest existing unit of a not-found one. Writes GUARD VERDICT_VIOLATIONS
# VERDICT_PROBLEMS.
declare -gA UNIT_SUGGEST=()
verdict_judge_trading() {
  local u exempt running
  for u in "${TRADING[@]}"; do
    verdict_guard "$u"
    exempt=${EXEMPT[$u]:-0}
    if verdict_not_loaded "$u"; then
      missing=$((missing + 1))
      verdict_not_loaded_problem "$u"
    fi
    case ${GUARD[$u]} in
      unknown)
        unknown=1 VERDICT_PROBLEMS+=("$u: its latch assertions could not be read (busctl)") ;;
      no)
        ((exempt)) || unguarded=$((unguarded + 1)) VERDICT_PROBLEMS+=("$u: systemd does not apply\
 the latch (AssertPathExists=! on the flag and the persisted latch); re-run the installer,\
 check for drop-ins overriding it") ;;
      absent) verdict_not_loaded "$u" ||
        VERDICT_PROBLEMS+=("$u: ${LOAD[$u]} (cannot be started at all)") ;;
    esac
    [[ ${POPULATED[$u]:-unknown} != unknown ]] || {
      unknown=1
      VERDICT_PROBLEMS+=("$u: its cgroup could not be read")
    }
    [[ ${USER_SLICE[$u]:-no} != unknown ]] || {
      unknown=1
      VERDICT_PROBLEMS+=("$u: its user's slice (user.slice/user-UID.slice) could not be read")
    }
    ((VERDICT_LATCHED && !exempt)) || continue
    running=0
    if verdict_is_running_state "${ACTIVE[$u]:-unknown}" || [[ ${POPULATED[$u]:-} == yes ]] ||
      [[ ${USER_SLICE[$u]:-no} == yes ]]; then
      running=1
    fi
    if ((running)) || [[ ${GUARD[$u]} == no ]]; then
      VERDICT_VIOLATIONS=$((VERDICT_VIOLATIONS + 1))
      ((!running)) || VERDICT_PROBLEMS+=("$u: RUNNING WHILE LATCHED (${ACTIVE[$u]:-unknown},\
 processes in its cgroup: ${POPULATED[$u]:-unknown}, in its user's slice: ${USER_SLICE[$u]:-no})")
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
  if ((!flag)) && [[ ${ACTIVE[$TRIGGER_UNIT]:-unknown} == active ]]; then
    switch_ok=0 VERDICT_PROBLEMS+=("$TRIGGER_UNIT is still active without a latch flag:\
 a touch would not fire (run: sudo ess_controller.sh rearm)")
  fi
}

# verdict_wiring_props_v VAR UNIT: the compared properties of a wiring unit, space-separated.
verdict_wiring_props_v() {
  case $2 in
    *.path) printf -v "$1" '%s' "FragmentPath DropInPaths Triggers Paths" ;;
    *) printf -v "$1" '%s' "FragmentPath DropInPaths ExecStart ${WIRING_DEPS//,/ }" ;;
  esac
}

# verdict_judge_wiring (verdict_compute's step; its locals unknown, wiring_ok): every wiring unit
# loaded as the installer recorded it. WIRING[u] = ok | differs | unknown | unrecorded; each
# difference is one VERDICT_WIRING_DIFFS entry "UNIT<US>PROPERTY<US>EXPECTED<US>FOUND" (US = \x1f),
# a property that could not be read none (the unit is then unknown, unless another one differs).
# Writes WIRING VERDICT_WIRING_DIFFS VERDICT_PROBLEMS.
declare -gA WIRING=()
verdict_judge_wiring() {
  local u p props exp found unread
  VERDICT_WIRING_DIFFS=()
  if ((!${V_WIRING_RECORD:-0})); then
    wiring_ok=0
    for u in "${WIRING_UNITS[@]}"; do WIRING[$u]=unrecorded; done
    VERDICT_PROBLEMS+=("no record of the installed wiring (${WIRING_RECORD_FILE:-wiring.installed}):\
 re-run the installer")
    return 0
  fi
  for u in "${WIRING_UNITS[@]}"; do
    WIRING[$u]=ok unread=0
    found=${WIRING_FOUND[$u|LoadState]:-}
    if [[ ! -v "WIRING_FOUND[$u|LoadState]" ]]; then
      WIRING[$u]=unknown unknown=1 wiring_ok=0
      VERDICT_PROBLEMS+=("$u: its wiring could not be read (systemctl show)")
      continue
    elif [[ $found != loaded ]]; then
      verdict_wiring_differs "$u" LoadState loaded "$found"
      continue
    fi
    verdict_wiring_props_v props "$u"
    for p in $props; do
      if [[ ! -v "WIRING_FOUND[$u|$p]" ]]; then unread=1; continue; fi
      exp="(not recorded)"
      [[ ! -v "WIRING_RECORD[$u|$p]" ]] || exp=${WIRING_RECORD[$u|$p]}
      found=${WIRING_FOUND[$u|$p]}
      [[ $found == "$exp" ]] || verdict_wiring_differs "$u" "$p" "$exp" "$found"
    done
    if [[ ${WIRING[$u]} == ok ]] && ((unread)); then
      WIRING[$u]=unknown unknown=1 wiring_ok=0
      VERDICT_PROBLEMS+=("$u: its wiring could not be read (busctl)")
    fi
  done
}

# verdict_wiring_differs UNIT PROPERTY EXPECTED FOUND (verdict_judge_wiring's step): one difference.
# Writes WIRING VERDICT_WIRING_DIFFS VERDICT_PROBLEMS, and its caller's wiring_ok.
verdict_wiring_differs() {
  local fix="run: sudo ess_controller.sh rearm"
  # rearm moves aside the links that make another unit required (UNIT.requires/); an ordering or a
  # conflict comes from the other unit's own file
  case $2 in
    After) fix="a Before=$1 in another unit's file: remove it there" ;;
    ConflictedBy) fix="a Conflicts=$1 in another unit's file: remove it there" ;;
  esac
  WIRING[$1]=differs wiring_ok=0
  VERDICT_WIRING_DIFFS+=("$1"$'\x1f'"$2"$'\x1f'"$3"$'\x1f'"$4")
  VERDICT_PROBLEMS+=("$1: wiring differs from the installed one: $2 expected '$3' found '$4'\
 ($fix)")
}

# verdict_judge_config (verdict_compute's step; its local switch_ok): the installed configuration
# snapshot did not check out (config_load_in_force): a trigger would stop from the latch drop-ins,
# not from what the installer recorded. Writes VERDICT_PROBLEMS.
declare -g V_CONFIG_PROBLEM=""
verdict_judge_config() {
  [[ -n ${V_CONFIG_PROBLEM:-} ]] || return 0
  switch_ok=0 VERDICT_PROBLEMS+=("the installed configuration does not check out: $V_CONFIG_PROBLEM\
 (re-run the installer)")
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
  elif ((VERDICT_LATCHED && !flag)); then
    VERDICT=tampered VERDICT_PROBLEMS+=("${CFG[FLAG_FILE]} was removed (or redirected) outside the\
 controller while $latched says latched")
  elif ((VERDICT_LATCHED)) && { ((!V_LATCHED_FILE)) || [[ -n $V_PERSIST_PROBLEM ]]; }; then
    VERDICT=not-persisted
    ((V_LATCHED_FILE)) || VERDICT_PROBLEMS+=("LATCH NOT PERSISTED: $latched is missing;\
 a reboot would resume trading")
    [[ -z $V_PERSIST_PROBLEM ]] || VERDICT_PROBLEMS+=("LATCH NOT PERSISTED: $V_PERSIST_PROBLEM")
  elif ((VERDICT_LATCHED)); then VERDICT=active
  elif [[ -n $V_RESUME_PENDING ]]; then
    VERDICT=resume-interrupted VERDICT_PROBLEMS+=("RESUME INTERRUPTED: not started:\
 $V_RESUME_PENDING (run: sudo ess_controller.sh deactivate to finish)")
  elif ((!VERDICT_ARMED)); then VERDICT=not-armed
  else VERDICT=armed; fi
}
