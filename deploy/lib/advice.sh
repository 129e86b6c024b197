# shellcheck shell=bash
# advice: what the operator reads next to a failed check: the cause in the state the ESS is in now,
# and the one command that fixes it. The drill's FAIL lines use it, so that advice never contradicts
# the state (telling an operator in a maintenance window to re-run the installer, or a latched one
# nothing at all). Needs config.sh time.sh record.sh verdict.sh latch.sh exempt.sh runbook.sh;
# from load.sh.
# Reads what latch_observe writes (VERDICT*, ACTIVE, GUARD, EXEMPT*). Writes FLAG_* (advice_latch),
# and each *_v function only the variable named by its first argument.

# advice_install_command_v VAR: the installer's command line as it was last run on this host (it
# puts units, drop-ins and runbook paths back as installed), from what install.sh recorded beside
# the programs.
advice_install_command_v() {
  local _ai_lib=${BASH_SOURCE[0]%/*}/.. _ai_i="" _ai_c _ai_n
  IFS= read -r _ai_i 2>/dev/null <"$_ai_lib/installer" || true
  if [[ -z $_ai_i ]]; then
    printf -v "$1" '%s' "sudo deploy/install.sh (in the ESS checkout)"
    return 0
  fi
  printf -v _ai_c 'sudo %q' "$_ai_i"
  if runbook_read "$_ai_lib"; then
    printf -v _ai_c '%s --runbook-root %q' "$_ai_c" "$RUNBOOK_ROOT_RECORDED"
    for _ai_n in "${RUNBOOK_TRUSTED[@]}"; do
      printf -v _ai_c '%s --trust-owner %q' "$_ai_c" "$_ai_n"
    done
  fi
  printf -v "$1" '%s' "$_ai_c"
}

# advice_latch_v VAR: the latch in force, in words: since when, by whom, why, and the exemptions.
# Writes FLAG_*.
advice_latch_v() {
  local _al_t="the ESS is ACTIVE" _al_u _al_when _al_until
  latch_flag_read "${CFG[FLAG_FILE]}"
  if [[ -n $FLAG_WALL_US ]]; then
    time_iso_v _al_when "$FLAG_WALL_US"
    _al_t+=" since $_al_when"
  fi
  if [[ -n $FLAG_ID ]]; then _al_t+=" (id $FLAG_ID, via ${FLAG_SOURCE:-?}: \"$FLAG_REASON\")"
  else latch_flag_id_v _al_when "${CFG[FLAG_FILE]}"; _al_t+=" (id $_al_when, a flag made by hand)"
  fi
  for _al_u in "${TRADING[@]}"; do
    [[ ${EXEMPT[$_al_u]:-0} == 1 ]] || continue
    _al_until=${EXEMPT_UNTIL[$_al_u]}
    time_iso_v _al_when $((_al_until * 1000000))
    _al_t+=", $_al_u exempt for maintenance until $_al_when"
  done
  printf -v "$1" '%s' "$_al_t"
}

# advice_unarmed_v VAR: why the switch is not armed, and its fix: a path unit down or the trigger
# stuck -> rearm; a trading unit whose latch systemd does not apply -> the installer (rearm while
# latched: the installer refuses then).
advice_unarmed_v() {
  local _au_u _au_down=() _au_bare=() _au_cmd
  for _au_u in "${SWITCH_PATH_UNITS[@]}"; do
    [[ ${ACTIVE[$_au_u]:-unknown} == active ]] || _au_down+=("$_au_u is ${ACTIVE[$_au_u]:-unknown}")
  done
  ((V_FLAG)) || [[ ${ACTIVE[$TRIGGER_UNIT]:-} != active ]] ||
    _au_down+=("$TRIGGER_UNIT is stuck active without a flag")
  for _au_u in "${TRADING[@]}"; do
    [[ ${GUARD[$_au_u]:-} != no || ${EXEMPT[$_au_u]:-0} == 1 ]] || _au_bare+=("$_au_u")
  done
  if ((${#_au_bare[@]} > 0)); then
    # the installer refuses while latched; rearm puts the installer's drop-ins back under the latch
    _au_cmd="sudo ess_controller.sh rearm"
    ((VERDICT_LATCHED)) || advice_install_command_v _au_cmd
    printf -v "$1" '%s %s (%s; systemctl cat %s shows it); fix: %s' \
      "systemd does not apply the latch to" "${_au_bare[*]}" \
      "its drop-in was removed or is overridden" "${_au_bare[0]}" "$_au_cmd"
  elif ((${#_au_down[@]} > 0)); then
    printf -v "$1" '%s; fix: sudo ess_controller.sh rearm' "${_au_down[*]}"
  else
    printf -v "$1" '%s' "the switch is armed"
  fi
}

# advice_verdict_v VAR: the verdict latch_observe found, as a cause and the one command that fixes
# it, pasted as is (no made-up reason, real unit names): for a check that needed the ESS armed, or
# one that needed the latch to hold. Never advises clearing a latch. Writes FLAG_*.
advice_verdict_v() {
  local _av_t
  case $VERDICT in
    armed) _av_t="the ESS is armed (deactivated since the drill began); fix: sudo proof_ess.sh"
      _av_t+=" --dry-run (again)" ;;
    active) advice_latch_v _av_t
      _av_t+=" (a real stop since the drill began: it is not the drill's to clear); the trigger"
      _av_t+=" checks need an armed switch: once deactivated, fix: sudo proof_ess.sh --dry-run" ;;
    violation) advice_violation_v _av_t ;;
    tampered) _av_t="${CFG[FLAG_FILE]} was removed by hand while the ESS is latched (starts are"
      _av_t+=" still refused, quantum-ess-guard.path did not put it back); fix:"
      _av_t+=" sudo ess_controller.sh activate --reason \"flag removed by hand\"" ;;
    not-persisted) _av_t="the latch could not be persisted (${V_PERSIST_PROBLEM:-see status}): a"
      _av_t+=" reboot would resume trading; free the disk, then fix:"
      _av_t+=" sudo ess_controller.sh activate" ;;
    resume-interrupted) _av_t="a resume stopped before starting ${V_RESUME_PENDING:-every unit};"
      _av_t+=" fix: sudo ess_controller.sh deactivate (it finishes the resume)" ;;
    not-armed) advice_unarmed_v _av_t ;;
    *) _av_t="systemd could not be read (${VERDICT_PROBLEMS[*]:-no answer}); check"
      _av_t+=" systemctl is-system-running, then fix: sudo proof_ess.sh --dry-run (again)" ;;
  esac
  printf -v "$1" '%s' "$_av_t"
}

# advice_violation_v VAR: latched, but a trading unit runs or is not guarded.
advice_violation_v() {
  local _avi_u _avi_run=() _avi_t
  for _avi_u in "${TRADING[@]}"; do
    [[ ${EXEMPT[$_avi_u]:-0} != 1 ]] || continue
    if verdict_is_running_state "${ACTIVE[$_avi_u]:-unknown}" ||
      [[ ${POPULATED[$_avi_u]:-} == yes ]]; then
      _avi_run+=("$_avi_u")
    fi
  done
  if ((${#_avi_run[@]} > 0)); then
    _avi_t="the ESS is ACTIVE but ${_avi_run[*]} runs; fix:"
    _avi_t+=" sudo ess_controller.sh activate --reason \"stop ${_avi_run[0]%.service} again\""
    _avi_t+=" (it stops what is up)"
  else
    advice_unarmed_v _avi_t
    _avi_t="the ESS is ACTIVE but $_avi_t"
  fi
  printf -v "$1" '%s' "$_avi_t"
}

# advice_not_root PROGRAM WHAT ARG...: WHAT needs root: said in one line with the command to run
# instead, the operator's own arguments kept (quoted for the shell), then exit 77. PROGRAM is the
# program's file; it is named as sudo finds it (/usr/local/sbin is on sudo's path) when the link
# there is the same program, by its full path otherwise.
advice_not_root() {
  local prog=$1 what=$2 cmd
  shift 2
  cmd=$(readlink -f -- "$prog" 2>/dev/null) || cmd=$prog
  [[ ! /usr/local/sbin/${prog##*/} -ef $cmd ]] || cmd=${prog##*/}
  printf -v cmd 'sudo %q' "$cmd"
  (($# == 0)) || printf -v cmd '%s%s' "$cmd" "$(printf ' %q' "$@")"
  printf '%s: %s must run as root (uid 0); you are uid %d. Nothing was changed. Run: %s\n' \
    "$ESS_PROG" "$what" "$EUID" "$cmd" >&2
  exit 77
}
