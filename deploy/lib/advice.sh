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

# advice_unarmed_v VAR: why the switch is not armed, and its fix, for each way the verdict disarms
# (verdict_compute): the flag's directory a link; a trading unit that does not exist; a trading unit
# whose latch systemd does not apply; a switch unit not loaded as installed; a path unit down or the
# trigger stuck; the installed configuration not checking out. The first that applies is said
# (the fix of an earlier one may well fix the later ones); never "armed" while the verdict is not.
advice_unarmed_v() {
  local _au_t=""
  advice_unarmed_missing_v _au_t
  [[ -n $_au_t ]] || advice_unarmed_bare_v _au_t
  [[ -n $_au_t ]] || advice_unarmed_wiring_v _au_t
  [[ -n $_au_t ]] || advice_unarmed_switch_v _au_t
  if [[ -z $_au_t && -n ${V_CONFIG_PROBLEM:-} ]]; then
    advice_install_command_v _au_t
    _au_t="the installed configuration does not check out: $V_CONFIG_PROBLEM; fix: $_au_t"
    ((!VERDICT_LATCHED)) || _au_t+=" (once deactivated: the installer refuses while latched)"
  fi
  if [[ -z $_au_t ]] && ((VERDICT_ARMED)); then _au_t="the switch is armed"
  elif [[ -z $_au_t ]]; then
    _au_t="the switch is not armed (${VERDICT_PROBLEMS[*]:-no cause found});"
    _au_t+=" fix: sudo ess_controller.sh rearm"
  fi
  printf -v "$1" '%s' "$_au_t"
}

# advice_unarmed_missing_v VAR: trading units systemd has not loaded (verdict_not_loaded), with the
# nearest existing name (UNIT_SUGGEST, latch_observe's); empty when there is none. The real unit may
# be trading: while latched it is named with the command that stops it.
advice_unarmed_missing_v() {
  local _am_u _am_t="" _am_cmd _am_s
  for _am_u in "${TRADING[@]}"; do
    verdict_not_loaded "$_am_u" || continue
    if [[ ${LOAD[$_am_u]} != not-found ]]; then
      units_unloadable_v _am_s "$_am_u"
      printf -v "$1" '%s: no trigger stops it: %s' "$_am_u" "$_am_s"
      return 0
    fi
    _am_s=${UNIT_SUGGEST[$_am_u]:-}
    _am_t+="${_am_t:+; }TRADING_UNITS names $_am_u, which systemd has not loaded (LoadState"
    _am_t+=" ${LOAD[$_am_u]}): no trigger stops it${_am_s:+; did you mean $_am_s?}"
    if [[ -n $_am_s ]] && ((VERDICT_LATCHED)); then
      _am_t+=" ($_am_s was not stopped; if it trades: sudo systemctl stop $_am_s)"
    fi
  done
  [[ -n $_am_t ]] || { printf -v "$1" '%s' ""; return 0; }
  advice_install_command_v _am_cmd
  ((!VERDICT_LATCHED)) || _am_cmd="once deactivated, $_am_cmd"
  printf -v "$1" '%s; fix: sudoedit %s (TRADING_UNITS), then %s' "$_am_t" "$ESS_DEFAULT_CONFIG" \
    "$_am_cmd"
}

# advice_unarmed_bare_v VAR: trading units whose latch systemd does not apply -> the installer
# (rearm while latched: the installer refuses then); empty when there is none.
advice_unarmed_bare_v() {
  local _ab_u _ab_bare=() _ab_cmd
  for _ab_u in "${TRADING[@]}"; do
    [[ ${GUARD[$_ab_u]:-} != no || ${EXEMPT[$_ab_u]:-0} == 1 ]] || _ab_bare+=("$_ab_u")
  done
  ((${#_ab_bare[@]} > 0)) || { printf -v "$1" '%s' ""; return 0; }
  _ab_cmd="sudo ess_controller.sh rearm"
  ((VERDICT_LATCHED)) || advice_install_command_v _ab_cmd
  printf -v "$1" '%s %s (%s; systemctl cat %s shows it); fix: %s' \
    "systemd does not apply the latch to" "${_ab_bare[*]}" \
    "its drop-in was removed or is overridden" "${_ab_bare[0]}" "$_ab_cmd"
}

# advice_unarmed_wiring_v VAR: switch units not loaded as installed (VERDICT_WIRING_DIFFS, or no
# record of them) -> rearm, which restores them from the installed copy, also while latched; the
# installer without a record. Empty when the wiring is in order.
advice_unarmed_wiring_v() {
  local _aw_d _aw_u _aw_p _aw_e _aw_f _aw_t="" _aw_cmd
  for _aw_d in "${VERDICT_WIRING_DIFFS[@]}"; do
    IFS=$'\x1f' read -r _aw_u _aw_p _aw_e _aw_f <<<"$_aw_d"
    _aw_t+="${_aw_t:+; }$_aw_u is not loaded as installed ($_aw_p expected '$_aw_e', found"
    _aw_t+=" '$_aw_f')"
  done
  if [[ -n $_aw_t ]]; then
    _aw_t+=": a unit file copied over the installed one, a drop-in or a mask; fix:"
    printf -v "$1" '%s sudo ess_controller.sh rearm' "$_aw_t"
  elif [[ " ${WIRING[*]:-} " == *" unrecorded "* ]]; then
    advice_install_command_v _aw_cmd
    printf -v "$1" '%s; fix: %s' "no record of the installed switch units (wiring.installed)" \
      "$_aw_cmd"
  else
    printf -v "$1" '%s' ""
  fi
}

# where the installer puts the ESS's tmpfiles.d entry (install.sh's TMPFILES)
readonly TMPFILES_CONF=/etc/tmpfiles.d/quantum-ess.conf

# advice_unarmed_switch_v VAR: the flag's directory a link, a path unit down, the trigger stuck;
# empty when none of them.
advice_unarmed_switch_v() {
  local _as_u _as_down=() _as_d=${CFG[FLAG_FILE]%/*}
  if ((${V_FLAG_DIR_REDIRECTED:-0})); then
    local _as_fix="put the directory back in place of the link above it (namei -l $_as_d shows"
    _as_fix+=" which), then sudo ess_controller.sh rearm"
    [[ ! -L $_as_d ]] || _as_fix="sudo rm $_as_d && sudo systemd-tmpfiles --create $TMPFILES_CONF"
    [[ ! -L $_as_d ]] || _as_fix+=" && sudo ess_controller.sh rearm"
    printf -v "$1" '%s %s; fix: %s' "$_as_d (or a directory above it) is a symbolic link: the" \
      "flag is not where the latch looks for it" "$_as_fix"
    return 0
  fi
  for _as_u in "${SWITCH_PATH_UNITS[@]}"; do
    [[ ${ACTIVE[$_as_u]:-unknown} == active ]] || _as_down+=("$_as_u is ${ACTIVE[$_as_u]:-unknown}")
  done
  ((V_FLAG)) || [[ ${ACTIVE[$TRIGGER_UNIT]:-} != active ]] ||
    _as_down+=("$TRIGGER_UNIT is stuck active without a flag")
  if ((${#_as_down[@]} > 0)); then
    printf -v "$1" '%s; fix: sudo ess_controller.sh rearm' "${_as_down[*]}"
  else
    printf -v "$1" '%s' ""
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
      [[ ${POPULATED[$_avi_u]:-} == yes || ${USER_SLICE[$_avi_u]:-} == yes ]]; then
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

# advice_exporter_down_v VAR: the one fix for the exporter not running or not answering, whoever
# found it (status, the drill, the listener check's socket unit down): restarting the service
# starts its socket too (Requires=) and replaces a hung process.
advice_exporter_down_v() {
  local _ae_u=quantum-ess-exporter.service
  printf -v "$1" 'sudo systemctl restart %s (journalctl -u %s says why it stopped)' \
    "$_ae_u" "$_ae_u"
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
