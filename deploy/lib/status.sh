# shellcheck shell=bash
# status: the verdict (verdict.sh) with what it rests on, for a person or (--json) for a script. One
# word per meaning in the text: "ESS STATUS: ACTIVE|INACTIVE" says whether the ESS is latched (the
# runbook's two words), "verdict:" is the verdict's word (contract/README.md section 1), "flag:" the
# latch flag, "switch:" armed or not, and per unit "state=" and "sub=" are systemd's ActiveState and
# SubState, "guard=" whether systemd applies the latch to it (yes|no|absent|unknown, as in --json),
# "processes=" whether its cgroup holds a process. Needs config.sh time.sh units.sh record.sh
# verdict.sh latch.sh exempt.sh listener.sh args.sh, from load.sh. From ess_controller.sh: usage,
# usage_error.
# Writes what latch_observe writes (the verdict and its inputs), ST, FLAG_*.

readonly -A VERDICT_TEXT=(
  [armed]="armed: not latched; the switch and the latch on every trading unit are in place"
  [not-armed]="NOT ARMED: not latched, and a trigger or a unit's latch is missing"
  [active]="active: latched; no process of any trading unit runs and systemd refuses their starts"
  [violation]="VIOLATION: latched, but a trading unit runs or systemd would let it start"
  [tampered]="TAMPERED: the flag was removed outside the controller;\
 starts are still refused (persisted latch)"
  [not-persisted]="NOT PERSISTED: latched now, but the persisted latch, state or audit could not be\
 written"
  [resume-interrupted]="RESUME INTERRUPTED: the latch is cleared but not every trading unit was\
 started"
  [unknown]="UNKNOWN: systemd's view of the units could not be read"
)

# status_json: `status --json`, one line.
status_json() {
  local u entries=() extra probs=() p n l a s until fmt
  for u in "${TRADING[@]}" "${MONITOR[@]}"; do
    extra=',"role":"monitor"'
    if [[ -v GUARD[$u] ]]; then
      until=null
      [[ ${EXEMPT[$u]} != 1 ]] || until=${EXEMPT_UNTIL[$u]}
      printf -v extra ',"role":"trading","guard":"%s","processes":"%s","exempt_until":%s' \
        "${GUARD[$u]}" "${POPULATED[$u]:-unknown}" "$until"
    fi
    record_json_str_v n "$u"; record_json_str_v l "${LOAD[$u]}"
    record_json_str_v a "${ACTIVE[$u]}"; record_json_str_v s "${SUB[$u]}"
    entries+=("{\"unit\":$n$extra,\"load\":$l,\"active\":$a,\"sub\":$s}")
  done
  for p in "${VERDICT_PROBLEMS[@]}"; do record_json_str_v n "$p"; probs+=("$n"); done
  local wiring
  status_json_wiring_v wiring
  record_json_str_v n "${CFG[FLAG_FILE]}"
  local refused=null
  status_config_refused_v refused
  if [[ -n $refused ]]; then record_json_str_v refused "$refused"; else refused=null; fi
  fmt='{"status":"%s","verdict":"%s","exit_code":%d,"config_pending":%s,"config_refused":%s,'
  fmt+='"latched":%s,"flag":%s,'
  fmt+='"persisted_latch":%s,"armed":%s,"latch_violations":%d,"flag_file":%s,"problems":[%s],'
  fmt+='"wiring":[%s],"units":[%s],"state":%s,"watchdog":%s}\n'
  local state watchdog
  record_render_state_json_v state
  watchdog_status_json_v watchdog
  local IFS=,
  # shellcheck disable=SC2059 # the format is the constant above
  printf "$fmt" \
    "$( ((VERDICT_LATCHED)) && echo ACTIVE || echo INACTIVE)" "$VERDICT" "$VERDICT_CODE" \
    "$(record_bool_json "$CONFIG_PENDING")" "$refused" \
    "$(record_bool_json "$VERDICT_LATCHED")" \
    "$(record_bool_json "$V_FLAG")" "$(record_bool_json "$V_LATCHED_FILE")" \
    "$(record_bool_json "$VERDICT_ARMED")" "$VERDICT_VIOLATIONS" \
    "$n" "${probs[*]}" "$wiring" "${entries[*]}" "${state%$'\n'}" "$watchdog"
}

# status_json_wiring_v VAR: VERDICT_WIRING_DIFFS as the JSON array's members, comma-joined.
status_json_wiring_v() {
  local _d _u _p _e _f _out=()
  for _d in "${VERDICT_WIRING_DIFFS[@]}"; do
    IFS=$'\x1f' read -r _u _p _e _f <<<"$_d"
    record_json_str_v _u "$_u"; record_json_str_v _p "$_p"
    record_json_str_v _e "$_e"; record_json_str_v _f "$_f"
    _out+=("{\"unit\":$_u,\"property\":$_p,\"expected\":$_e,\"found\":$_f}")
  done
  local IFS=,
  printf -v "$1" '%s' "${_out[*]}"
}

# status_text: `status` for a person: the verdict and the flag, the last events, the problems and
# warnings, then every unit. Writes FLAG_*.
status_text() {
  local u
  local text in_window=()
  for u in "${TRADING[@]}"; do [[ ${EXEMPT[$u]} != 1 ]] || in_window+=("$u"); done
  printf 'ESS STATUS: %s\n' "$( ((VERDICT_LATCHED)) && echo ACTIVE || echo INACTIVE)"
  if [[ -n $STATUS_STOP_SEEN_US ]]; then
    printf '  stop:     activating: flag seen at %s, stop in progress; %s %d ms for it\n' \
      "$(time_iso "$STATUS_STOP_SEEN_US")" "the verdict below is after it, status waited" \
      $((STATUS_STOP_WAITED_US / 1000))
  fi
  if [[ -n $STATUS_STOP_NOBODY_US && $VERDICT != active ]]; then
    printf '  stop:     flag set at %s, but nothing is stopping them: %s, then %s\n' \
      "$(time_iso "$STATUS_STOP_NOBODY_US")" "sudo ess_controller.sh activate --reason \"...\"" \
      "sudo ess_controller.sh rearm"
  fi
  text=${VERDICT_TEXT[$VERDICT]}
  if [[ $VERDICT == active ]] && ((${#in_window[@]} > 0)); then
    # what is true in a maintenance window: the latched units are down, the exempt ones may run
    text="active: latched; the other trading units are down and systemd refuses their starts;"
    text+=" exempt for maintenance (may run): ${in_window[*]}"
  fi
  printf '  verdict:  %s (exit %d)\n' "$text" "$VERDICT_CODE"
  if ((V_FLAG)); then
    latch_flag_read "${CFG[FLAG_FILE]}"
    latch_flag_id_v text "${CFG[FLAG_FILE]}"
    [[ -n $FLAG_ID ]] || text+="; the flag is empty, as touch makes it"
    printf '  flag:     %s present (id %s)\n' "${CFG[FLAG_FILE]}" "$text"
  fi
  status_text_history
  actions_status_lines
  if ((VERDICT_ARMED)); then
    printf '  switch:   armed (%s state=active, every switch unit loaded as installed, %s%s)\n' \
      "${SWITCH_PATH_UNITS[*]}" "guard=yes on every trading unit" \
      "${in_window[*]:+ but the exempt ${in_window[*]}}"
  else
    printf '  switch:   %s\n' "NOT ARMED"
    status_text_unarmed
  fi
  for u in "${VERDICT_PROBLEMS[@]}"; do printf '  PROBLEM:  %s\n' "$u"; done
  status_text_warnings
  watchdog_status_text
  ((VERDICT_VIOLATIONS == 0)) ||
    printf '  LATCH VIOLATION: %d trading unit(s) running or unguarded while latched\n' \
      "$VERDICT_VIOLATIONS"
  printf 'TRADING UNITS\n'
  for u in "${TRADING[@]}"; do
    printf '  %-36s state=%-12s sub=%-14s guard=%-8s processes=%s\n' "$u" "${ACTIVE[$u]}" \
      "${SUB[$u]}" "${GUARD[$u]}" "${POPULATED[$u]:-unknown}"
  done
  printf 'MONITOR UNITS\n'
  for u in "${MONITOR[@]}"; do
    printf '  %-36s state=%-12s sub=%s\n' "$u" "${ACTIVE[$u]}" "${SUB[$u]}"
  done
}

# status_text_unarmed: a switch that is not armed: first how to stop trading now (activate stops
# the trading units itself, whatever is wrong with the path units a touch goes through), then the
# cause and its fix (advice_unarmed_v).
status_text_unarmed() {
  local fix
  ((VERDICT_LATCHED)) || printf '  STOP NOW: %s %s\n' "sudo ess_controller.sh activate --reason" \
    "\"...\" stops the configured trading units even so (a touch of ${CFG[FLAG_FILE]} may not)"
  advice_unarmed_v fix
  printf '  FIX:      %s\n' "$fix"
}

# status_text_history: the last activation, deactivation and tampering, from ST.
status_text_history() {
  local lat
  if [[ -n ${ST[ACT_ID]:-} ]]; then
    lat=n/a
    [[ -z ${ST[ACT_LATENCY_US]} ]] || time_us_to_sec_v lat "${ST[ACT_LATENCY_US]}"
    printf '  last activation:   %s by %s via %s: "%s" -> %s, latency %s s\n' \
      "$(time_iso "${ST[ACT_TRIGGER_US]}")" "${ST[ACT_ACTOR]}" "${ST[ACT_SOURCE]}" \
      "${ST[ACT_REASON]}" "${ST[ACT_RESULT]}" "$lat"
  fi
  if [[ -n ${ST[DEA_TIME_US]:-} ]]; then
    printf '  last deactivation: %s by %s: "%s" -> %s %s\n' "$(time_iso "${ST[DEA_TIME_US]}")" \
      "${ST[DEA_ACTOR]}" "${ST[DEA_REASON]}" "${ST[DEA_RESULT]}" "${ST[DEA_DETAIL]:-}"
  fi
  [[ -z ${ST[TAMPER_TIME_US]:-} ]] ||
    printf '  last tampering:    %s: %s\n' "$(time_iso "${ST[TAMPER_TIME_US]}")" \
      "${ST[TAMPER_DETAIL]:-}"
}

# status_text_warnings: what status cannot judge by itself: a unit file changed without a reload, a
# configuration not installed, the guard path unit down, a webhook trip path that cannot latch (dry
# run, no spare request on a full spool); and the exemptions in force.
status_text_warnings() {
  local u until why
  for u in "${TRADING[@]}"; do
    [[ ${NEED_RELOAD[$u]:-no} != yes ]] ||
      printf '  WARNING:  %s changed on disk without daemon-reload: %s\n' "$u" \
        "the latch shown is the loaded one"
  done
  status_text_config
  [[ ${ACTIVE[quantum-ess-guard.path]:-} == active ]] ||
    printf '  WARNING:  quantum-ess-guard.path state=%s: %s\n' \
      "${ACTIVE[quantum-ess-guard.path]:-unknown}" "a flag removed by hand is not put back at once"
  [[ ${ACTIVE[quantum-ess-guard.timer]:-} == active ]] ||
    printf '  WARNING:  quantum-ess-guard.timer state=%s: %s\n' \
      "${ACTIVE[quantum-ess-guard.timer]:-unknown}" "a removal whose path event was missed stays unnoticed"
  status_text_listener
  spool_trip_path_v why
  [[ -z $why ]] || printf '  WARNING:  webhook trip path: %s\n' "$why"
  for u in "${TRADING[@]}"; do
    [[ ${EXEMPT[$u]} == 1 ]] || continue
    until=${EXEMPT_UNTIL[$u]}
    printf '  EXEMPT:   %s %s until %s (maintenance: "%s"); %s %s\n' "$u" \
      "$(status_exempt_state "$u")" "$(time_iso $((until * 1000000)))" "${EXEMPT_REASON[$u]}" \
      "end it early: sudo ess_controller.sh unexempt" "${u%.service}"
  done
}

# status_text_config: /etc/quantum/ess.conf edited since the install, and whether the installer
# would take it (the one validation, config_check_file_v): a file it would refuse is said here, so
# that an armed switch is never shown over a configuration the controller refuses.
status_text_config() {
  local why
  ((CONFIG_PENDING)) || return 0
  status_config_refused_v why
  if [[ -z $why ]]; then
    printf '  WARNING:  %s differs from the installed configuration, %s\n' "$ESS_DEFAULT_CONFIG" \
      "which stays in force until the installer runs again"
  else
    printf '  WARNING:  %s differs from the installed configuration, which stays in %s %s %s\n' \
      "$ESS_DEFAULT_CONFIG" "force:" "the installer and check-config REFUSE the file (exit 78):" \
      "$why; fix: sudoedit $ESS_DEFAULT_CONFIG"
  fi
}

# status_config_refused_v VAR: why the installer and check-config refuse /etc/quantum/ess.conf when
# it differs from the configuration in force (config_check_file_v); empty when it does not differ
# or would be accepted. The one reading for status and status --json.
status_config_refused_v() {
  local _cr=""
  if ((CONFIG_PENDING)) && ! config_check_file_v _cr "$ESS_DEFAULT_CONFIG"; then
    printf -v "$1" '%s' "$_cr"
  else
    printf -v "$1" '%s' ""
  fi
}

# status_text_listener: with the exporter installed, its address must be held by systemd for the
# ESS (a process that took the port answers trips without latching), and the exporter must not
# have failed (its socket would start it again on each connection, to fail again).
status_text_listener() {
  local u=quantum-ess-exporter.service fix
  [[ $(systemctl show -P LoadState "$u" 2>/dev/null) == loaded ]] || return 0
  if ! listener_check ''; then
    printf '  WARNING:  exporter address: %s; %s\n' "$LISTENER_PROBLEM" \
      "trips and scrapes there do not reach the ESS; fix: $LISTENER_FIX"
  elif [[ $(systemctl is-active "$u" 2>/dev/null) == failed ]]; then
    advice_exporter_down_v fix
    printf '  WARNING:  exporter: %s failed: trips and scrapes are not answered; fix: %s\n' \
      "$u" "$fix"
  fi
}

# status_exempt_state UNIT: what an exempt unit is doing now, in words.
status_exempt_state() {
  if verdict_is_running_state "${ACTIVE[$1]:-unknown}" || [[ ${POPULATED[$1]:-} == yes ]]; then
    printf 'is RUNNING (%s), may run' "${ACTIVE[$1]:-unknown}"
  else
    printf 'is down (%s), may be started' "${ACTIVE[$1]:-unknown}"
  fi
}

# status_await_stop: a stop in progress (latch_stop_pending_v: the flag is there, its activation
# not recorded yet) is judged once it ends, not in the middle: its units still running would read
# as a violation, its persisted latch not written yet as not persisted. Bounded by
# latch_stop_pending_v's age. Writes STATUS_STOP_SEEN_US STATUS_STOP_WAITED_US ST FLAG_*.
# Only while something runs that stop (latch_stop_runner_live; a flag younger than a second is
# given that second for its path unit to start one): a flag that nothing acts on (a broken switch)
# is said at once (STATUS_STOP_NOBODY_US), never waited for. Writes STATUS_STOP_NOBODY_US too.
declare -g STATUS_STOP_SEEN_US="" STATUS_STOP_WAITED_US=0 STATUS_STOP_NOBODY_US=""
status_await_stop() {
  local since start now
  latch_stop_pending_v since
  [[ -n $since ]] || return 0
  time_now_us_v start
  while [[ -n $since ]]; do
    if ! latch_stop_runner_live; then
      time_now_us_v now
      if ((now - since > 1000000)); then
        STATUS_STOP_NOBODY_US=$since STATUS_STOP_SEEN_US=""
        break
      fi
    else
      STATUS_STOP_SEEN_US=$since
    fi
    time_nap 0.05
    record_state_load
    latch_stop_pending_v since
  done
  time_now_us_v now
  STATUS_STOP_WAITED_US=$((now - start))
}

# status [--json]: exits with the verdict's code. Writes what latch_observe writes, ST, FLAG_*,
# STATUS_STOP_*.
status_cmd() {
  local json
  args_parse "" "json" "$@"
  json=${ARGS_VAL[json]:-0}
  args_strict status 0 status ${ARGS_VAL[json]:+--json}
  config_load_in_force
  record_state_load
  status_await_stop
  latch_observe
  if ((json)); then status_json; else status_text; fi
  return "$VERDICT_CODE"
}
