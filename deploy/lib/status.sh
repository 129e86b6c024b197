# shellcheck shell=bash
# status: the verdict (verdict.sh) with what it rests on, for a person or (--json) for a script.
# Needs config.sh units.sh record.sh verdict.sh latch.sh exempt.sh.

readonly -A VERDICT_TEXT=(
  [armed]="armed: not latched; the switch and the latch on every trading unit are in place"
  [not-armed]="NOT ARMED: not latched, and a trigger or a unit's latch is missing"
  [active]="active: latched; no process of any trading unit runs and systemd refuses their starts"
  [violation]="VIOLATION: latched, but a trading unit runs or systemd would let it start"
  [tampered]="TAMPERED: the flag was removed outside the controller; starts are still refused (persisted latch)"
  [not-persisted]="NOT PERSISTED: latched now, but the persisted latch, state or audit could not be written"
  [resume-interrupted]="RESUME INTERRUPTED: the latch is cleared but not every trading unit was started"
  [unknown]="UNKNOWN: systemd's view of the units could not be read"
)

status_json() {
  local u entries=() extra probs=() p n l a s
  for u in "${TRADING[@]}" "${MONITOR[@]}"; do
    extra=',"role":"monitor"'
    if [[ -v GUARD[$u] ]]; then
      printf -v extra ',"role":"trading","guard":"%s","processes":"%s","exempt_until":%s' "${GUARD[$u]}" \
        "${POPULATED[$u]:-unknown}" "$(if [[ ${EXEMPT[$u]} == 1 ]]; then printf '%s' "${EXEMPT_UNTIL[$u]}"; else printf null; fi)"
    fi
    json_str_v n "$u"; json_str_v l "${LOAD[$u]}"; json_str_v a "${ACTIVE[$u]}"; json_str_v s "${SUB[$u]}"
    entries+=("{\"unit\":$n$extra,\"load\":$l,\"active\":$a,\"sub\":$s}")
  done
  for p in "${VERDICT_PROBLEMS[@]}"; do json_str_v n "$p"; probs+=("$n"); done
  json_str_v n "${CFG[FLAG_FILE]}"
  local state
  render_state_json_v state
  local IFS=,
  printf '{"status":"%s","verdict":"%s","exit_code":%d,"config_pending":%s,"latched":%s,"flag":%s,"persisted_latch":%s,"armed":%s,"latch_violations":%d,"flag_file":%s,"problems":[%s],"units":[%s],"state":%s}\n' \
    "$( ((VERDICT_LATCHED)) && echo ACTIVE || echo INACTIVE)" "$VERDICT" "$VERDICT_CODE" "$(bool_json "$CONFIG_PENDING")" \
    "$(bool_json "$VERDICT_LATCHED")" \
    "$(bool_json "$V_FLAG")" "$(bool_json "$V_LATCHED_FILE")" "$(bool_json "$VERDICT_ARMED")" "$VERDICT_VIOLATIONS" \
    "$n" "${probs[*]}" "${entries[*]}" "${state%$'\n'}"
}

status_text() {
  local u lat
  printf 'ESS STATUS: %s\n' "$( ((VERDICT_LATCHED)) && echo ACTIVE || echo INACTIVE)"
  printf '  verdict:  %s (exit %d)\n' "${VERDICT_TEXT[$VERDICT]}" "$VERDICT_CODE"
  if ((V_FLAG)); then
    flag_read "${CFG[FLAG_FILE]}"
    printf '  latch:    %s present (id %s)\n' "${CFG[FLAG_FILE]}" "${FLAG_ID:-none: created by hand}"
  fi
  if [[ -n ${ST[ACT_ID]:-} ]]; then
    lat=n/a
    [[ -z ${ST[ACT_LATENCY_US]} ]] || us_to_sec_v lat "${ST[ACT_LATENCY_US]}"
    printf '  last activation:   %s by %s via %s: "%s" -> %s, latency %s s\n' "$(iso_time "${ST[ACT_TRIGGER_US]}")" \
      "${ST[ACT_ACTOR]}" "${ST[ACT_SOURCE]}" "${ST[ACT_REASON]}" "${ST[ACT_RESULT]}" "$lat"
  fi
  if [[ -n ${ST[DEA_TIME_US]:-} ]]; then
    printf '  last deactivation: %s by %s: "%s" -> %s %s\n' "$(iso_time "${ST[DEA_TIME_US]}")" "${ST[DEA_ACTOR]}" \
      "${ST[DEA_REASON]}" "${ST[DEA_RESULT]}" "${ST[DEA_DETAIL]:-}"
  fi
  [[ -z ${ST[TAMPER_TIME_US]:-} ]] ||
    printf '  last tampering:    %s: %s\n' "$(iso_time "${ST[TAMPER_TIME_US]}")" "${ST[TAMPER_DETAIL]:-}"
  printf '  switch:   %s\n' "$( ((VERDICT_ARMED)) && echo "armed (${SWITCH_PATH_UNITS[*]} active, latch applied by systemd on every trading unit)" || echo "NOT ARMED")"
  for u in "${VERDICT_PROBLEMS[@]}"; do printf '  PROBLEM:  %s\n' "$u"; done
  for u in "${TRADING[@]}"; do
    [[ ${NEED_RELOAD[$u]:-no} != yes ]] ||
      printf '  WARNING:  %s changed on disk without daemon-reload: the latch shown is the loaded one\n' "$u"
  done
  ((!CONFIG_PENDING)) ||
    printf '  WARNING:  %s differs from the installed configuration, which stays in force until the installer runs again\n' "$ESS_DEFAULT_CONFIG"
  [[ ${ACTIVE[quantum-ess-guard.path]:-} == active ]] ||
    printf '  WARNING:  quantum-ess-guard.path is %s: a flag removed by hand is not put back at once\n' "${ACTIVE[quantum-ess-guard.path]:-unknown}"
  local until
  for u in "${TRADING[@]}"; do
    [[ ${EXEMPT[$u]} == 1 ]] || continue
    until=${EXEMPT_UNTIL[$u]}
    printf '  EXEMPT:   %s may run until %s (maintenance: "%s"); end it early: ess_controller.sh unexempt %s\n' \
      "$u" "$(iso_time $((until * 1000000)))" "${EXEMPT_REASON[$u]}" "${u%.service}"
  done
  ((VERDICT_VIOLATIONS == 0)) || printf '  LATCH VIOLATION: %d trading unit(s) running or unguarded while latched\n' "$VERDICT_VIOLATIONS"
  printf 'TRADING UNITS\n'
  for u in "${TRADING[@]}"; do
    printf '  %-36s %-12s %-14s latch:%-8s processes:%s\n' "$u" "${ACTIVE[$u]}" "${SUB[$u]}" "${GUARD[$u]}" "${POPULATED[$u]:-unknown}"
  done
  printf 'MONITOR UNITS\n'
  for u in "${MONITOR[@]}"; do printf '  %-36s %-12s %s\n' "$u" "${ACTIVE[$u]}" "${SUB[$u]}"; done
}

# status [--json]
cmd_status() {
  local json=0
  while (($#)); do
    case $1 in
      --json) json=1; shift ;;
      *) usage_error "status: unknown option '$1'" ;;
    esac
  done
  load_config_in_force
  state_load
  latch_observe
  if ((json)); then status_json; else status_text; fi
  return "$VERDICT_CODE"
}
