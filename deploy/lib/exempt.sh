# shellcheck shell=bash disable=SC2034,SC2004 # EXEMPT* (associative) are read by callers
# Maintenance exemptions (contract/README.md section 5): the runbook's maintenance window under the
# latch. One trading unit may start while the ESS stays active, for a bounded time; every other
# trading unit stays refused. Everything an exemption consists of lives in /run, so a reboot ends
# it:
#   /run/quantum-ess/exempt/<unit>              the record (JSON line) status and the exporter read
#   /run/systemd/system/<unit>.d/60-quantum-ess-exempt.conf   resets that unit's latch assertions
#   quantum-ess-unexempt-<unit>.timer (transient)         ends it at its deadline
# Ending it (unexempt, expiry, deactivate) puts the assertions back first, then stops the unit and
# empties its cgroup while the ESS is still latched, then drops the record.
# Needs config.sh time.sh units.sh record.sh verdict.sh (EXEMPT, GUARD) latch.sh args.sh, from
# load.sh. From ess_controller.sh: usage, usage_error, require_root, EX_*, ESS_LIB. Writes EXEMPT
# EXEMPT_UNTIL EXEMPT_REASON EXEMPT_END_PROBLEM LOCK_FD, each function the ones its comment names.

readonly EXEMPT_DIR=$ESS_RUNTIME_DIR/exempt
readonly EXEMPT_DROPIN=60-quantum-ess-exempt.conf

# exempt_dropin_path_v VAR UNIT, exempt_timer_name UNIT: where an exemption of UNIT lives.
exempt_dropin_path_v() { printf -v "$1" '/run/systemd/system/%s.d/%s' "$2" "$EXEMPT_DROPIN"; }
exempt_timer_name() { printf 'quantum-ess-unexempt-%s' "${1%.service}"; }

# exempt_read: EXEMPT[u]=1 for every trading unit with a current exemption; EXEMPT_UNTIL[u],
# EXEMPT_REASON[u]. Writes EXEMPT EXEMPT_UNTIL EXEMPT_REASON.
declare -gA EXEMPT_UNTIL=() EXEMPT_REASON=()
exempt_read() {
  local u content="" until now
  time_now_us_v now
  now=$((now / 1000000))
  for u in "${TRADING[@]}"; do
    EXEMPT[$u]=0 EXEMPT_UNTIL[$u]=0 EXEMPT_REASON[$u]=""
    [[ -r $EXEMPT_DIR/$u ]] || continue
    IFS= read -r -N 4096 content <"$EXEMPT_DIR/$u" || true
    [[ $content =~ \"until\":([0-9]{1,12}) ]] || continue
    until=${BASH_REMATCH[1]}
    ((until > now)) || continue
    EXEMPT[$u]=1 EXEMPT_UNTIL[$u]=$until
    latch_flag_field "$content" reason "EXEMPT_REASON[$u]"
  done
}

# exempt_duration_v VAR TEXT: 90s, 15m, 1h -> seconds; empty when not a duration. A bare number is
# not one: "--for 30" meant 30 minutes to someone and 30 seconds to the controller, and the unit was
# stopped in the middle of a deploy.
readonly EXEMPT_DURATION_FORMS="a number with its unit: 90s, 30m or 1h"
exempt_duration_v() {
  local _d=""
  if [[ $2 =~ ^([0-9]{1,6})(s|m|h)$ ]]; then
    case ${BASH_REMATCH[2]} in
      h) _d=$((10#${BASH_REMATCH[1]} * 3600)) ;;
      m) _d=$((10#${BASH_REMATCH[1]} * 60)) ;;
      s) _d=$((10#${BASH_REMATCH[1]})) ;;
    esac
  fi
  printf -v "$1" '%s' "$_d"
}

# exempt_duration_text_v VAR SECONDS: 5400 -> "1h30m", 90 -> "1m30s", as the operator writes them.
exempt_duration_text_v() {
  local _s=$2 _t=""
  ((_s < 3600)) || _t+="$((_s / 3600))h"
  ((_s % 3600 < 60)) || _t+="$((_s % 3600 / 60))m"
  ((_s % 60 == 0)) || _t+="$((_s % 60))s"
  printf -v "$1" '%s' "${_t:-0s}"
}

# exempt_unit_arg_v VAR NAME: the configured trading unit NAME means (".service" implied); 1 when
# none. An exemption lifts the latch from exactly the unit it names: a part of a name
# ("execution") is never completed, exempt_unit_guess_v offers the name instead.
exempt_unit_arg_v() {
  local _n=$2 _u
  [[ $_n == *.service ]] || _n+=.service
  for _u in "${TRADING[@]}"; do
    if [[ $_u == "$_n" ]]; then printf -v "$1" '%s' "$_u"; return 0; fi
  done
  return 1
}

# exempt_unit_guess_v VAR NAME: the one trading unit whose name contains NAME (".service" left
# out), without ".service"; empty when none or more than one does.
exempt_unit_guess_v() {
  local _n=${2%.service} _u _found=()
  for _u in "${TRADING[@]}"; do
    [[ -z $_n || ${_u%.service} != *"$_n"* ]] || _found+=("${_u%.service}")
  done
  printf -v "$1" '%s' ""
  ((${#_found[@]} != 1)) || printf -v "$1" '%s' "${_found[0]}"
}

# exempt_unit_or_refuse VAR CMD WORDS...: exempt_unit_arg_v of the caller's unit, or CMD refused
# (exit 64) naming the trading units: with a guess, "did you mean" and the command that works,
# WORDS with the guess for the placeholder @UNIT@.
exempt_unit_or_refuse() {
  local _var=$1 _cmd=$2 _guess _w _working=()
  shift 2
  exempt_unit_arg_v "$_var" "$unit" && return 0
  exempt_unit_guess_v _guess "$unit"
  if [[ -z $_guess ]]; then
    usage_error "$_cmd: '$unit' is not one of the trading units (${TRADING[*]%.service})"
  fi
  for _w in "$@"; do _working+=("${_w/@UNIT@/$_guess}"); done
  args_refuse "$_cmd" "'$unit' is not one of the trading units: did you mean $_guess?" \
    "${_working[@]}"
}

# exempt_suggest_for_v VAR DURATION: a --for that exempt accepts, for the commands its refusals
# suggest: DURATION itself when it is one within MAX_EXEMPTION_SEC; a bare number read as minutes;
# 30m for anything else; at most MAX_EXEMPTION_SEC (as the operator writes it; its default before
# the configuration is read).
exempt_suggest_for_v() {
  local _d=$2 _s _max=${CFG[MAX_EXEMPTION_SEC]:-${ESS_DEFAULTS[MAX_EXEMPTION_SEC]}}
  [[ ! $_d =~ ^[0-9]{1,6}$ ]] || _d+=m
  exempt_duration_v _s "$_d"
  [[ -n $_s && $_s != 0 ]] || { _d=30m _s=1800; }
  if ((_s > _max)); then exempt_duration_text_v _d "$_max"; fi
  printf -v "$1" '%s' "$_d"
}

# exempt UNIT --for DURATION --reason TEXT. Writes LOCK_FD EXEMPT_END_PROBLEM (on a failure).
exempt_cmd() {
  local unit duration reason secs u who
  exempt_options "$@"
  require_root exempt
  config_load_in_force
  # an exemption only exists under the latch: that is said before anything else is asked for
  exempt_unit_arg_v u "$unit" || u=$unit
  exempt_refuse_not_active "$u"
  exempt_validate
  record_actor_v who
  latch_take_lock || {
    printf 'ess: another ESS operation holds the lock; nothing was changed. Try again.\n' >&2
    exit "$EX_BUSY"
  }
  exempt_refuse_not_active "$u"
  exempt_refuse_trip_waiting "$u"
  exempt_grant "$u" "$secs" "$who" "$reason"
}

# exempt_refuse_trip_waiting UNIT (lock held): exit 75 while a trip request waits in the spool, or
# when one was claimed since this command started. A trip ends every exemption, and the run that
# claims it does so under this same lock: an exemption granted now would be granted over the trip.
exempt_refuse_trip_waiting() {
  local b why="" start=${ESS_START_WALL/./}
  if spool_has_requests; then
    why="a trip request waits in ${CFG[SPOOL_DIR]}/incoming"
  else
    shopt -s nullglob
    for b in "${CFG[SPOOL_DIR]}"/processed/*; do # named <microseconds of the claim>-<pid>
      b=${b##*/} && b=${b%%-*}
      [[ $b =~ ^[0-9]{1,19}$ ]] && ((b >= start)) && why="a trip request came in meanwhile"
    done
    shopt -u nullglob
  fi
  [[ -n $why ]] || return 0
  latch_drop_lock
  printf 'ess: exempt refused: %s; %s Nothing was changed. %s\n' "$why" \
    "a trip ends every exemption, so none is granted over it." \
    "Check ess_controller.sh status, then exempt again if the unit may still run." >&2
  exit "$EX_BUSY"
}

# exempt_refuse_not_active UNIT: exit 2 unless the ESS is latched (the flag exists).
exempt_refuse_not_active() {
  [[ ! -e ${CFG[FLAG_FILE]} ]] || return 0
  printf 'ess: the ESS is not active: there is no latch to exempt %s from. %s\n' "$1" \
    "Nothing was changed." >&2
  exit "$EX_NOT_ACTIVE"
}

# exempt_options ARGS...: exempt's unit and options, in any order, strictly: anything that does not
# fit, or no unit, is refused (exit 64, nothing changed) with the command that works. Writes unit
# duration reason (exempt_cmd's), ARGS_*.
exempt_options() {
  local suggest
  args_parse "for reason" "" "$@"
  unit=${ARGS_WORDS[0]:-} duration=${ARGS_VAL[for]:-}
  args_reason_v reason 1
  exempt_suggest_for_v suggest "$duration"
  args_strict exempt 1 exempt "${unit:-UNIT}" --for "$suggest" --reason "${reason:-TEXT}"
  # no unit at all: what exempt is for is not known yet, the forms are all there is to say
  [[ -n $unit ]] || usage_error "exempt: needs a trading unit (ess_controller.sh status lists\
 them); accepted: exempt UNIT --for DURATION --reason TEXT (in any order; --opt=VALUE too)"
}

# exempt_validate (configuration loaded): a missing --for or --reason, a unit that is not a
# trading unit, a duration that is not one or is over MAX_EXEMPTION_SEC: refused (exit 64, nothing
# changed), every refusal with a command that is accepted as it is pasted. Writes u secs reason
# (exempt_cmd's).
exempt_validate() {
  local suggest max working
  exempt_suggest_for_v suggest "$duration"
  working=(exempt "${unit:-UNIT}" --for "$suggest" --reason "${reason:-TEXT}")
  exempt_unit_or_refuse u exempt exempt @UNIT@ --for "$suggest" --reason "${reason:-TEXT}"
  working[1]=${u%.service}
  [[ -n $duration ]] ||
    args_refuse exempt "needs --for DURATION ($EXEMPT_DURATION_FORMS)" "${working[@]}"
  [[ ! $duration =~ ^[0-9]+$ ]] || args_refuse exempt \
    "--for $duration has no unit: write ${duration}s, ${duration}m or ${duration}h" "${working[@]}"
  exempt_duration_v secs "$duration"
  [[ -n $secs && $secs != 0 ]] ||
    args_refuse exempt "--for '$duration' is not a duration: $EXEMPT_DURATION_FORMS" "${working[@]}"
  exempt_duration_text_v max "${CFG[MAX_EXEMPTION_SEC]}"
  ((secs <= CFG[MAX_EXEMPTION_SEC])) || args_refuse exempt \
    "--for $duration is longer than MAX_EXEMPTION_SEC ($max), the maximum" "${working[@]}"
  record_clean_text_v reason "$reason"
  [[ -n ${reason// /} ]] || args_refuse exempt \
    "needs --reason: say why this unit may run while trading is stopped" "${working[@]}"
}

# exempt_grant UNIT SECONDS WHO REASON (lock held, latched): the record, the drop-in and the timer;
# the journal, the audit, the answer. Exits 1 when it could not be applied (the latch still holds).
# Writes LOCK_FD EXEMPT_END_PROBLEM (on a failure).
exempt_grant() {
  local u=$1 secs=$2 who=$3 reason=$4 now until json a r replaced="" old_fields=""
  exempt_read
  if ((EXEMPT[$u])); then # a second exempt of the same unit replaces the first: said, not silent
    replaced="$(time_iso $((EXEMPT_UNTIL[$u] * 1000000))) (\"${EXEMPT_REASON[$u]}\")"
    record_json_str_v r "${EXEMPT_REASON[$u]}"
    old_fields=",\"replaced_until\":${EXEMPT_UNTIL[$u]},\"replaced_reason\":$r"
  fi
  time_now_us_v now
  now=$((now / 1000000)) until=$((now + secs))
  record_json_str_v json "$u"; record_json_str_v a "$who"; record_json_str_v r "$reason"
  [[ -d $EXEMPT_DIR ]] || install -d -m 0755 "$EXEMPT_DIR"
  printf '{"unit":%s,"since":%d,"until":%d,"actor":%s,"reason":%s}\n' "$json" "$now" "$until" \
    "$a" "$r" | record_atomic_write "$EXEMPT_DIR/$u" 0644 || {
    printf 'ess: cannot write %s; nothing was changed.\n' "$EXEMPT_DIR/$u" >&2
    exit "$EX_FAIL"
  }
  if ! exempt_apply "$u" "$until"; then
    exempt_end "$u" >/dev/null 2>&1 || true
    printf 'ess: could not exempt %s (drop-in or timer failed); %s\n' "$u" \
      "the latch still applies to it." >&2
    exit "$EX_FAIL"
  fi
  local new_until
  new_until="$(time_iso $((until * 1000000))) (\"$reason\")"
  record_journal warning "EXEMPTED $u from the latch until $new_until by $who;" \
    "${replaced:+replaces the exemption until $replaced; }every other trading unit stays latched"
  record_audit_append exempt \
    "\"unit\":$json,\"until\":$until,\"actor\":$a,\"reason\":$r$old_fields" ||
    record_log err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
  latch_drop_lock
  local span
  exempt_duration_text_v span "$secs"
  printf 'EXEMPTED %s until %s (for %s): it may be started now (sudo systemctl start %s); %s\n' \
    "$u" "$(time_iso $((until * 1000000)))" "$span" "$u" \
    "the ESS stays ACTIVE for every other trading unit."
  [[ -z $replaced ]] ||
    printf 'REPLACED the exemption of %s: until %s -> until %s\n' "$u" "$replaced" "$new_until"
}

# exempt_apply UNIT UNTIL: the runtime drop-in that lifts the latch for UNIT, and the timer that
# ends it at UNTIL (Unix seconds), to the microsecond.
exempt_apply() {
  local u=$1 until=$2 d timer now left
  exempt_dropin_path_v d "$u"
  timer=$(exempt_timer_name "$u")
  install -d -m 0755 "${d%/*}" || return 1
  printf '%s\n' "# Quantum ESS maintenance exemption (ess_controller.sh exempt);\
 gone at reboot, unexempt or expiry." \
    "[Unit]" "AssertPathExists=" | record_atomic_write "$d" 0644 || return 1
  units_sctl daemon-reload || return 1
  units_sctl stop -- "$timer.timer" "$timer.service" 2>/dev/null || true
  units_sctl reset-failed -- "$timer.timer" "$timer.service" 2>/dev/null || true
  time_now_us_v now
  # a short window on a slow host may be over already: the timer fires at once (systemd refuses a
  # negative OnActiveSec=, which would leave the unit exempt with nothing to end it)
  left=$((until * 1000000 - now))
  ((left > 0)) || left=1
  timeout "$SYSTEMCTL_TIMEOUT_SEC" systemd-run --quiet --unit="$timer" \
    --on-active="${left}us" --timer-property=AccuracySec=100ms \
    --description="Quantum ESS: end the maintenance exemption of $u" \
    "$ESS_LIB/../ess_controller.sh" unexempt "$u" --expired
}

# exempt_end UNIT (lock held): the latch back on UNIT, the unit stopped (while latched), the record
# gone. Writes EXEMPT_END_PROBLEM (when systemd does not apply the latch again), GUARD, the unit
# states (units_stop).
declare -g EXEMPT_END_PROBLEM=""
exempt_end() {
  local u=$1 d timer
  exempt_dropin_path_v d "$u"
  timer=$(exempt_timer_name "$u")
  rm -f -- "$d"
  rmdir -- "${d%/*}" 2>/dev/null || true
  units_sctl daemon-reload ||
    record_log err "daemon-reload failed while ending the exemption of $u"
  # say "latched again" only if systemd applies the latch again (a revert during the window removes
  # it)
  units_read_states "$u" || true
  units_read_asserts "$u"
  verdict_guard "$u"
  if [[ ${GUARD[$u]} != yes ]]; then
    record_log crit "after the exemption of $u, systemd does NOT apply its latch" \
      "(guard ${GUARD[$u]}); re-run the installer"
    EXEMPT_END_PROBLEM="systemd does NOT apply the latch to $u any more (its drop-in was removed or"
    EXEMPT_END_PROBLEM+=" overridden during the exemption): re-run the installer"
  fi
  if [[ -e ${CFG[FLAG_FILE]} || -e $(verdict_persisted_latch_path) ]]; then
    units_stop "$u" ||
      record_log crit "exemption of $u ended but the unit did NOT stop: ${RESULT[$u]}"
  fi
  rm -f -- "$EXEMPT_DIR/$u"
  # stopping the timer does not touch its service, which may be this very run (expiry)
  units_sctl stop -- "$timer.timer" 2>/dev/null || true
}

# unexempt UNIT [--expired]. Writes LOCK_FD EXEMPT_END_PROBLEM, and what exempt_end writes.
exempt_cmd_unexempt() {
  local unit u expired d
  args_parse "" "expired" "$@"
  unit=${ARGS_WORDS[0]:-} expired=${ARGS_VAL[expired]:-0}
  args_strict unexempt 1 unexempt "${unit:-UNIT}"
  [[ -n $unit ]] || args_refuse unexempt "needs a trading unit" unexempt UNIT
  require_root unexempt
  config_load_in_force
  exempt_unit_or_refuse u unexempt unexempt @UNIT@
  latch_take_lock ||
    record_log warning "lock ${CFG[LOCK_FILE]} busy; ending the exemption of $u without it"
  exempt_dropin_path_v d "$u"
  if [[ ! -e $EXEMPT_DIR/$u && ! -e $d ]]; then
    latch_drop_lock
    printf 'ess: %s has no maintenance exemption; nothing to do.\n' "$u" >&2
    exit "$EX_NOT_ACTIVE"
  fi
  exempt_end "$u"
  exempt_report_end "$u" "$expired"
}

# exempt_report_end UNIT EXPIRED (lock held): the end of an exemption in the journal and the audit,
# and the answer; exits 1 when systemd does not apply the latch again. Writes LOCK_FD.
exempt_report_end() {
  local u=$1 expired=$2 json event=unexempt why res_json latch="latched again"
  record_actor_v why
  why="ended by $why"
  if ((expired)); then event=exemption-expired why=expired; fi
  record_json_str_v json "$u"
  if [[ -n $EXEMPT_END_PROBLEM ]]; then
    printf 'ess: %s\n' "$EXEMPT_END_PROBLEM" >&2
    latch="LATCH NOT APPLIED"
  else
    record_journal warning "EXEMPTION of $u $why; the latch applies to it again" \
      "(now ${ACTIVE[$u]:-stopped})"
  fi
  record_json_str_v res_json "${RESULT[$u]:-not-latched}"
  record_audit_append "$event" "\"unit\":$json,\"result\":$res_json" ||
    record_log err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
  latch_drop_lock
  printf 'EXEMPTION ENDED for %s (%s): %s, %s\n' "$u" "$why" "$latch" \
    "${RESULT[$u]:-the ESS is not active}"
  [[ -z $EXEMPT_END_PROBLEM ]] || exit "$EX_FAIL"
}

# exempt_clear_all WHY [stop]: deactivate (before anything starts) and a stop somebody asked for
# (under the lock exempt grants under, with "stop") end every exemption. The drop-ins go first and
# systemd forgets them, then ("stop") the units are stopped under the latch, and the records go
# last: systemd never lets a unit start under the latch with no record saying so.
exempt_clear_all() {
  local u d ended=()
  for u in "${TRADING[@]}"; do
    exempt_dropin_path_v d "$u"
    [[ -e $EXEMPT_DIR/$u || -e $d ]] || continue
    rm -f -- "$d"
    ended+=("$u")
  done
  ((${#ended[@]} > 0)) || return 0
  units_sctl daemon-reload || record_log err "daemon-reload failed after ending exemptions"
  if [[ ${2:-} == stop ]]; then
    units_sctl stop -- "${ended[@]}" ||
      record_log crit "exemptions ended but ${ended[*]} did NOT stop"
  fi
  for u in "${ended[@]}"; do
    rm -f -- "$EXEMPT_DIR/$u"
    units_sctl stop -- "$(exempt_timer_name "$u").timer" 2>/dev/null || true
    record_log notice "exemption of $u ended by $1"
  done
}
