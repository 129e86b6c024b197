# shellcheck shell=bash
# The dead man's switch (contract/README.md section 8): Prometheus's always-firing ESSWatchdog alert
# reaches the exporter's receiver through Alertmanager, which replaces SPOOL_DIR/heartbeat/last at
# each fresh heartbeat. quantum-ess-watchdog.timer runs `watchdog check` every 5 s: it notes, on
# the uptime clock (CLOCK_BOOTTIME: a wall-clock step neither trips nor delays it), when that
# file last changed, and when none changed for WATCHDOG_MAX_SILENCE_SEC acts as WATCHDOG_ACTION
# says. The file is the exporter's: only its identity (inode, ctime) and a printable "path" text
# are taken from it, never a time. No heartbeat is required for WATCHDOG_GRACE_SEC after a boot
# (/run is empty), a deactivate, or a change of the watchdog keys; an install or a rearm does not
# start one (a silence already counted goes on). The bookkeeping fails closed: a change it cannot
# record is not counted, and a change seen after checks that recorded nothing (a full /run, a
# stopped timer) is counted from the last recorded check.
# `watchdog pause` (root, at most MAX_WATCHDOG_PAUSE_SEC, in /run: never outlives a boot) holds it.
# Needs config.sh time.sh record.sh latch.sh exempt.sh args.sh, from load.sh. Writes WD_*, each
# function the ones its comment names.

readonly WD_DIR=$ESS_RUNTIME_DIR/watchdog
readonly WD_STATUS=$ESS_RUNTIME_DIR/watchdog.json
readonly WD_PAUSE=$ESS_RUNTIME_DIR/watchdog-pause
# a check older than this (six of the timer's 5 s periods) is stale (contract/names.json)
readonly WD_CHECK_STALE_SEC=30
declare -g WD_SIG="" WD_PATH="" WD_NOW=0 WD_BOOT="" WD_SEEN_SIG="" WD_SEEN_US="" WD_GRACE_US=0
declare -g WD_CHECKED_US="" WD_UNWRITTEN=()
declare -g WD_PAUSE_UNTIL=0 WD_PAUSE_UP=0 WD_PAUSE_REASON="" WD_STATE="" WD_SILENCE=""
declare -g WD_LAST_STATE="" WD_LAST_SILENCE="" WD_LAST_PATH="" WD_LAST_UNTIL="" WD_LAST_REASON=""

# watchdog_heartbeat_file: where the receiver records the newest heartbeat.
watchdog_heartbeat_file() { printf '%s/heartbeat/last' "${CFG[SPOOL_DIR]}"; }

# watchdog_read_heartbeat: the heartbeat file's identity (inode and change time, which its writer
# cannot set) and its "path" text, as untrusted input: only a plain one-link file of at most
# 4096 bytes, read through a descriptor that is checked to be that very file. Writes WD_SIG
# WD_PATH (both empty when there is none).
watchdog_read_heartbeat() {
  local f info fd content opened
  WD_SIG="" WD_PATH=""
  f=$(watchdog_heartbeat_file)
  info=$(stat -c '%F|%h|%s|%d:%i|%z' -- "$f" 2>/dev/null) || return 0
  IFS='|' read -r -a info <<<"$info"
  [[ ${info[0]} == 'regular file' && ${info[1]} == 1 ]] && ((info[2] <= 4096)) || return 0
  WD_SIG="${info[3]} ${info[4]}"
  # braced: a redirection of exec itself would stay in force for the rest of the run
  { exec {fd}<"$f"; } 2>/dev/null || return 0
  opened=$(stat -L -c '%d:%i' "/dev/fd/$fd" 2>/dev/null) || opened=""
  if [[ $opened == "${info[3]}" ]]; then
    IFS= read -r -N 4096 -u "$fd" content || true
    latch_flag_field "$content" path WD_PATH
    record_clean_text_v WD_PATH "$WD_PATH" 300
  fi
  exec {fd}<&-
}

# watchdog_load_book: this boot's bookkeeping in WD_DIR, on the uptime clock: seen (when the
# heartbeat's identity last changed, empty when none was seen, and the last check that recorded it)
# and grace (when the grace period started, and for which keys). Writes WD_NOW WD_BOOT WD_SEEN_SIG
# WD_SEEN_US WD_CHECKED_US WD_GRACE_US.
watchdog_load_book() {
  local boot sig up key checked
  time_uptime_us_v WD_NOW
  latch_boot_id_v WD_BOOT
  WD_SEEN_SIG="" WD_SEEN_US="" WD_GRACE_US="" WD_CHECKED_US=""
  # "-": no heartbeat seen yet (a tab is blank to read: an empty field would vanish)
  if [[ -f $WD_DIR/seen ]] && IFS=$'\t' read -r boot up sig checked <"$WD_DIR/seen" &&
    [[ $boot == "$WD_BOOT" && $up =~ ^([0-9]{1,19}|-)$ && $checked =~ ^[0-9]{0,19}$ ]]; then
    [[ $up != - ]] || up="" sig=""
    WD_SEEN_SIG=$sig WD_SEEN_US=$up WD_CHECKED_US=${checked:-$up}
  fi
  if [[ -f $WD_DIR/grace ]] && IFS=$'\t' read -r boot up key <"$WD_DIR/grace" &&
    [[ $boot == "$WD_BOOT" && $up =~ ^[0-9]{1,19}$ && $key == "$(watchdog_grace_key)" ]]; then
    WD_GRACE_US=$up
  fi
}

# watchdog_grace_key: what restarts the grace period when it changes: the watchdog's keys, and
# the last deactivate (state.env: after a resume the next heartbeat is waited for again). Nothing
# else does (an install, a rearm): a silence already counted is never extended. Writes ST.
watchdog_grace_key() {
  record_state_load
  printf '%s/%s/%s/%s' "${CFG[WATCHDOG_ACTION]}" "${CFG[WATCHDOG_MAX_SILENCE_SEC]}" \
    "${CFG[WATCHDOG_GRACE_SEC]}" "${ST[DEA_TIME_US]:-}"
}

# watchdog_change_time_v VAR: when a change this check sees (a new heartbeat, a new grace period)
# is counted from: now, unless no check was recorded for WD_CHECK_STALE_SEC (a full /run, a stopped
# timer): then from the last recorded check, the earliest it can have happened, so that blind
# checks count as silence and never restart it. Now when there is no book (the first check of a
# boot, or since the switch was turned on).
watchdog_change_time_v() {
  local _t=$WD_NOW
  [[ -z $WD_CHECKED_US ]] || ((WD_NOW - WD_CHECKED_US <= WD_CHECK_STALE_SEC * 1000000)) ||
    _t=$WD_CHECKED_US
  printf -v "$1" '%s' "$_t"
}

# watchdog_book_write NAME CONTENT: WD_DIR/NAME replaced, then read back; 1 (named in WD_UNWRITTEN)
# when it does not hold CONTENT.
watchdog_book_write() {
  local back=""
  if record_atomic_write "$WD_DIR/$1" 0644 "$2" 2>/dev/null; then
    IFS= read -r -d '' back <"$WD_DIR/$1" 2>/dev/null || true
    [[ $back != "$2" ]] || return 0
  fi
  WD_UNWRITTEN+=("$WD_DIR/$1")
  return 1
}

# watchdog_save_book: the bookkeeping back: a new grace period (a boot, the keys, a deactivate), a
# new heartbeat, and this check. Only what was written and read back is counted (fail closed): a
# heartbeat that cannot be recorded leaves the silence counted from the last one recorded, a grace
# period that cannot be recorded is none beyond the boot's. Writes WD_SEEN_SIG WD_SEEN_US
# WD_CHECKED_US WD_GRACE_US WD_UNWRITTEN.
watchdog_save_book() {
  local sig=$WD_SEEN_SIG seen=$WD_SEEN_US grace=""
  if [[ -n $WD_SIG && $WD_SIG != "$WD_SEEN_SIG" ]]; then
    sig=$WD_SIG
    watchdog_change_time_v seen
  fi
  if [[ -z $WD_GRACE_US ]]; then
    watchdog_change_time_v grace
    WD_GRACE_US=0
    watchdog_book_write grace "$WD_BOOT"$'\t'"$grace"$'\t'"$(watchdog_grace_key)"$'\n' || return 0
    WD_GRACE_US=$grace
  fi
  watchdog_book_write seen "$WD_BOOT"$'\t'"${seen:--}"$'\t'"${sig:--}"$'\t'"$WD_NOW"$'\n' ||
    return 0
  WD_SEEN_SIG=$sig WD_SEEN_US=$seen WD_CHECKED_US=$WD_NOW
}

# watchdog_read_pause: a pause in force (this boot's, not expired on the uptime clock). Writes
# WD_PAUSE_UNTIL (Unix seconds, 0 when none) WD_PAUSE_UP WD_PAUSE_REASON.
watchdog_read_pause() {
  local content="" boot="" up=""
  WD_PAUSE_UNTIL=0 WD_PAUSE_UP=0 WD_PAUSE_REASON=""
  [[ -f $WD_PAUSE ]] || return 0
  IFS= read -r -N 4096 content <"$WD_PAUSE" || true
  latch_flag_field "$content" boot_id boot
  latch_flag_field "$content" until_uptime_us up
  [[ $boot == "$WD_BOOT" && $up =~ ^[0-9]{1,19}$ ]] && ((up > WD_NOW)) || return 0
  latch_flag_field "$content" until WD_PAUSE_UNTIL
  latch_flag_field "$content" reason WD_PAUSE_REASON
  WD_PAUSE_UP=$up
}

# watchdog_judge: the state now: off, paused, grace, fresh or silent, and the silence in whole
# seconds (empty: no heartbeat seen since the boot). Writes WD_STATE WD_SILENCE.
watchdog_judge() {
  local max_us=$((CFG[WATCHDOG_MAX_SILENCE_SEC] * 1000000)) grace_end deadline=0
  grace_end=$((WD_GRACE_US + CFG[WATCHDOG_GRACE_SEC] * 1000000))
  WD_SILENCE=""
  [[ -z $WD_SEEN_US ]] || WD_SILENCE=$(((WD_NOW - WD_SEEN_US) / 1000000))
  [[ -z $WD_SEEN_US ]] || deadline=$((WD_SEEN_US + max_us))
  if [[ ${CFG[WATCHDOG_ACTION]} == off ]]; then
    WD_STATE=off
  elif ((WD_PAUSE_UP > 0)); then
    WD_STATE=paused
  elif ((WD_NOW <= deadline)); then
    WD_STATE=fresh
  elif ((WD_NOW <= grace_end)); then
    WD_STATE=grace
  else
    WD_STATE=silent
  fi
}

# watchdog_write_status: /run/quantum-ess/watchdog.json for the exporter and status
# (contract/watchdog.schema.json).
watchdog_write_status() {
  local now reason path silence=${WD_SILENCE:-null}
  time_now_us_v now
  record_json_str_v reason "$WD_PAUSE_REASON"
  record_json_str_v path "$WD_PATH"
  printf '{"schema":1,"time":%d,"uptime_us":%d,"state":"%s","action":"%s","max_silence_sec":%d,%s}\n' \
    $((now / 1000000)) "$WD_NOW" "$WD_STATE" "${CFG[WATCHDOG_ACTION]}" \
    "${CFG[WATCHDOG_MAX_SILENCE_SEC]}" "\"silence_sec\":$silence,\"paused_until\":$WD_PAUSE_UNTIL,\
\"pause_reason\":$reason,\"last_path\":$path" | record_atomic_write "$WD_STATUS" 0644 ||
    WD_UNWRITTEN+=("$WD_STATUS")
}

# watchdog_silence_words_v VAR: "monitoring silent for 312 s (limit 300 s); last heartbeat
# 312 s ago via PATH" as the journal, the audit and the trip's reason say it.
watchdog_silence_words_v() {
  local _w="monitoring silent (no heartbeat) for"
  if [[ -n $WD_SILENCE ]]; then
    _w+=" $WD_SILENCE s (limit ${CFG[WATCHDOG_MAX_SILENCE_SEC]} s); last heartbeat via"
    _w+=" ${WD_PATH:-(path unknown)}"
  else
    _w+=" longer than the ${CFG[WATCHDOG_GRACE_SEC]} s grace period (limit"
    _w+=" ${CFG[WATCHDOG_MAX_SILENCE_SEC]} s); no heartbeat arrived since the boot"
  fi
  printf -v "$1" '%s' "$_w"
}

# watchdog_act: silent and not paused: once per silence (the last heartbeat seen and the grace
# period it is counted from), journal at crit and an audit line; with WATCHDOG_ACTION=trip, an
# activation (source watchdog) unless the ESS is already latched. 1 when the activation failed
# (the next check tries again).
watchdog_act() {
  local words episode acted="" fields path
  episode="$WD_SEEN_SIG/$WD_GRACE_US"
  [[ ! -f $WD_DIR/acted ]] || IFS= read -r acted <"$WD_DIR/acted" || true
  [[ $acted != "$episode" ]] || return 0
  watchdog_silence_words_v words
  record_json_str_v path "$WD_PATH"
  fields="\"action\":\"${CFG[WATCHDOG_ACTION]}\",\"silence_sec\":${WD_SILENCE:-null}"
  fields+=",\"max_silence_sec\":${CFG[WATCHDOG_MAX_SILENCE_SEC]},\"last_path\":$path"
  record_audit_append watchdog-silent "$fields" || record_log err "AUDIT WRITE FAILED"
  if [[ ${CFG[WATCHDOG_ACTION]} == alert ]]; then
    record_journal crit "WATCHDOG: $words; WATCHDOG_ACTION=alert: trading NOT stopped"
  elif [[ -e ${CFG[FLAG_FILE]} ]]; then
    record_journal crit "WATCHDOG: $words; the ESS is already active"
  else
    record_journal crit "WATCHDOG: $words; WATCHDOG_ACTION=trip: activating the ESS"
    "$ESS_LIB/../ess_controller.sh" activate --source watchdog --reason "watchdog: $words" \
      {WD_LOCK}>&- || return 1
  fi
  watchdog_book_write acted "$episode"$'\n' || true
}

# watchdog check: one look (quantum-ess-watchdog.service, every 5 s). Writes WD_*.
watchdog_check() {
  local lock acted=""
  config_load_in_force
  [[ -d $WD_DIR ]] || install -d -m 0755 "$WD_DIR"
  # its own lock: never the controller's, which a stop must never wait for
  exec {lock}>>"$WD_DIR/.lock"
  flock -w 10 "$lock" || return 0
  WD_LOCK=$lock
  WD_UNWRITTEN=()
  watchdog_load_book
  watchdog_read_heartbeat
  watchdog_save_book
  watchdog_read_pause
  watchdog_end_expired_pause
  watchdog_judge
  watchdog_write_status
  if [[ $WD_STATE == silent ]]; then
    watchdog_act || return 1
  elif [[ -f $WD_DIR/acted && $WD_STATE == fresh ]]; then
    IFS= read -r acted <"$WD_DIR/acted" || true
    rm -f -- "$WD_DIR/acted"
    record_journal notice "WATCHDOG: heartbeat back via ${WD_PATH:-(path unknown)} (after a" \
      "silence; the ESS, if it tripped, stays active until deactivate)"
  fi
  watchdog_unwritten_fail
}

# watchdog_unwritten_fail: a check that could not write its records fails loudly (journal crit,
# the service failed): heartbeats it cannot record do not count, so it alerts or trips at the limit.
watchdog_unwritten_fail() {
  ((${#WD_UNWRITTEN[@]} > 0)) || return 0
  local since="no heartbeat recorded since the boot"
  [[ -z $WD_SILENCE ]] || since="the last one recorded $WD_SILENCE s ago"
  record_journal crit "WATCHDOG: cannot write ${WD_UNWRITTEN[*]} (df -h $ESS_RUNTIME_DIR): the" \
    "silence is counted from the last heartbeat recorded (state $WD_STATE, $since);" \
    "heartbeats that cannot be recorded do not count: WATCHDOG_ACTION=${CFG[WATCHDOG_ACTION]} acts at" \
    "the limit"
  return 1
}
declare -g WD_LOCK=""

# watchdog_end_expired_pause: a pause file past its end (or of another boot) is removed, said and
# audited once.
watchdog_end_expired_pause() {
  [[ -f $WD_PAUSE ]] && ((WD_PAUSE_UP == 0)) || return 0
  rm -f -- "$WD_PAUSE"
  record_journal notice "WATCHDOG pause ended (expired): the dead man's switch acts again"
  record_audit_append watchdog-resume '"how":"expired"' || record_log err "AUDIT WRITE FAILED"
}

# watchdog pause --for DURATION --reason TEXT: the switch holds for at most MAX_WATCHDOG_PAUSE_SEC
# (planned work on the monitoring), counted on the uptime clock; the record is in /run, so no
# pause outlives a boot. A second pause replaces the first.
watchdog_cmd_pause() {
  local duration reason secs max who now up boot r a
  args_parse "for reason" "" "$@"
  duration=${ARGS_VAL[for]:-}
  args_reason_v reason
  args_strict watchdog 0 watchdog pause --for "${duration:-30m}" --reason "${reason:-TEXT}"
  require_root "watchdog pause"
  config_load_in_force
  exempt_duration_v secs "$duration"
  [[ -n $secs && $secs != 0 ]] || args_refuse watchdog \
    "pause needs --for DURATION ($EXEMPT_DURATION_FORMS)" watchdog pause --for 30m --reason \
    "${reason:-TEXT}"
  exempt_duration_text_v max "${CFG[MAX_WATCHDOG_PAUSE_SEC]}"
  ((secs <= CFG[MAX_WATCHDOG_PAUSE_SEC])) || args_refuse watchdog \
    "--for $duration is longer than MAX_WATCHDOG_PAUSE_SEC ($max), the maximum" \
    watchdog pause --for "$max" --reason "${reason:-TEXT}"
  record_clean_text_v reason "$reason"
  [[ -n ${reason// /} ]] || args_refuse watchdog "pause needs --reason: say what is maintained" \
    watchdog pause --for "$duration" --reason TEXT
  record_actor_v who
  time_now_us_v now
  time_uptime_us_v up
  latch_boot_id_v boot
  now=$((now / 1000000))
  record_json_str_v r "$reason"
  record_json_str_v a "$who"
  printf '{"since":%d,"until":%d,"actor":%s,"reason":%s,"boot_id":"%s","until_uptime_us":%d}\n' \
    "$now" $((now + secs)) "$a" "$r" "$boot" $((up + secs * 1000000)) |
    record_atomic_write "$WD_PAUSE" 0644 || {
    printf 'ess: cannot write %s; the watchdog is NOT paused.\n' "$WD_PAUSE" >&2
    exit "$EX_FAIL"
  }
  record_journal warning "WATCHDOG PAUSED until $(time_iso $(((now + secs) * 1000000))) by $who:" \
    "$reason (a silent monitoring neither alerts nor trips meanwhile)"
  record_audit_append watchdog-pause "\"until\":$((now + secs)),\"actor\":$a,\"reason\":$r" ||
    record_log err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
  watchdog_check >/dev/null || true
  exempt_duration_text_v max "$secs"
  printf 'WATCHDOG PAUSED until %s (for %s): %s\n' "$(time_iso $(((now + secs) * 1000000)))" \
    "$max" "the dead man's switch neither alerts nor trips; end it early: watchdog resume"
  [[ ${CFG[WATCHDOG_ACTION]} != off ]] || printf 'note: WATCHDOG_ACTION=off: nothing to pause\n'
}

# watchdog resume: the pause ends now; a heartbeat missing for longer than the limit acts at once.
watchdog_cmd_resume() {
  local who a
  args_parse "" "" "$@"
  args_strict watchdog 0 watchdog resume
  require_root "watchdog resume"
  config_load_in_force
  if [[ ! -f $WD_PAUSE ]]; then
    printf 'ess: the watchdog is not paused; nothing was changed.\n' >&2
    exit "$EX_NOT_ACTIVE"
  fi
  rm -f -- "$WD_PAUSE"
  record_actor_v who
  record_json_str_v a "$who"
  record_journal notice "WATCHDOG pause ended by $who: the dead man's switch acts again"
  record_audit_append watchdog-resume "\"how\":\"resume\",\"actor\":$a" ||
    record_log err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
  watchdog_check >/dev/null || true
  printf 'WATCHDOG RESUMED: state %s\n' "$WD_STATE"
}

# watchdog SUBCOMMAND ...: check (the timer's), pause, resume.
watchdog_cmd() {
  local sub=${1:-}
  shift || true
  case $sub in
    check)
      args_parse "" "" "$@"
      args_strict watchdog 0 watchdog check
      require_root "watchdog check"
      watchdog_check
      ;;
    pause) watchdog_cmd_pause "$@" ;;
    resume) watchdog_cmd_resume "$@" ;;
    *) args_refuse watchdog "unknown subcommand '${sub}'" watchdog pause --for 30m --reason TEXT ;;
  esac
}

# watchdog_status_json_v VAR: the last check's record for `status --json` (verbatim: root wrote it),
# or null when there is none and WATCHDOG_ACTION=off; with the action on, a record older than
# WD_CHECK_STALE_SEC on the uptime clock, or none, says "state":"stale" (the switch is not looking).
watchdog_status_json_v() {
  local _c="" _t _s
  [[ ! -f $WD_STATUS ]] || IFS= read -r -N 4096 _c <"$WD_STATUS" || true
  _c=${_c%$'\n'}
  [[ $_c == '{"schema":1,'*'}' && $_c != *$'\n'* ]] || _c=null
  if [[ ${CFG[WATCHDOG_ACTION]} != off ]] && ! watchdog_record_recent "$_c"; then
    latch_flag_field "$_c" state _s
    if [[ -n $_s ]]; then
      _c=${_c/\"state\":\"$_s\"/\"state\":\"stale\"}
    else
      time_now_us_v _t
      printf -v _c '{"schema":1,"time":%d,"uptime_us":0,"state":"stale","action":"%s",%s}' \
        $((_t / 1000000)) "${CFG[WATCHDOG_ACTION]}" "\"max_silence_sec\":\
${CFG[WATCHDOG_MAX_SILENCE_SEC]},\"silence_sec\":null,\"paused_until\":0"
    fi
  fi
  printf -v "$1" '%s' "$_c"
}

# watchdog_record_recent CONTENT: 0 when the check that wrote this record (watchdog.json) ran in
# the last WD_CHECK_STALE_SEC on the uptime clock (the timer runs every 5 s): the one definition of
# a stale check, for status, status --json and the drill (the exporter's is the same).
watchdog_record_recent() {
  local up="" now
  latch_flag_field "$1" uptime_us up
  time_uptime_us_v now
  [[ $up =~ ^[0-9]{1,19}$ ]] && ((now - up <= WD_CHECK_STALE_SEC * 1000000))
}

# watchdog_last_check: the last check's record (watchdog.json), if it is recent
# (watchdog_record_recent); returns 1 when it is not. Writes WD_LAST_STATE WD_LAST_SILENCE
# WD_LAST_PATH WD_LAST_UNTIL WD_LAST_REASON.
watchdog_last_check() {
  local c=""
  [[ ! -f $WD_STATUS ]] || IFS= read -r -N 4096 c <"$WD_STATUS" || true
  latch_flag_field "$c" state WD_LAST_STATE
  latch_flag_field "$c" silence_sec WD_LAST_SILENCE
  latch_flag_field "$c" paused_until WD_LAST_UNTIL
  latch_flag_field "$c" pause_reason WD_LAST_REASON
  latch_flag_field "$c" last_path WD_LAST_PATH
  [[ -n $WD_LAST_STATE ]] && watchdog_record_recent "$c"
}

# watchdog_status_text: the watchdog's line of `status` (nothing with WATCHDOG_ACTION=off): the
# last check's state; when silent with trip, that a resume trips again after the grace period.
watchdog_status_text() {
  local state silence until reason path
  [[ ${CFG[WATCHDOG_ACTION]} != off ]] || return 0
  if ! watchdog_last_check; then
    printf '  WARNING:  watchdog (WATCHDOG_ACTION=%s): STALE: no check for %s s or more; %s\n' \
      "${CFG[WATCHDOG_ACTION]}" "$WD_CHECK_STALE_SEC" "systemctl status quantum-ess-watchdog.timer"
    return 0
  fi
  state=$WD_LAST_STATE silence=$WD_LAST_SILENCE path=$WD_LAST_PATH
  until=$WD_LAST_UNTIL reason=$WD_LAST_REASON
  local last="no heartbeat since the boot"
  [[ -z $silence ]] || last="last heartbeat $silence s ago via ${path:-(path unknown)}"
  case $state in
    paused)
      printf '  WATCHDOG: PAUSED until %s ("%s"); %s; end it: %s\n' \
        "$(time_iso $((until * 1000000)))" "$reason" "$last" \
        "sudo ess_controller.sh watchdog resume" ;;
    silent)
      printf '  WATCHDOG: SILENT: %s (limit %s s), WATCHDOG_ACTION=%s%s\n' "$last" \
        "${CFG[WATCHDOG_MAX_SILENCE_SEC]}" "${CFG[WATCHDOG_ACTION]}" \
        "$([[ ${CFG[WATCHDOG_ACTION]} != trip ]] || printf '%s' "; a deactivate now trips again \
${CFG[WATCHDOG_GRACE_SEC]} s later unless the heartbeat is back")" ;;
    *)
      printf '  watchdog: %s (WATCHDOG_ACTION=%s, limit %s s): %s\n' "$state" \
        "${CFG[WATCHDOG_ACTION]}" "${CFG[WATCHDOG_MAX_SILENCE_SEC]}" "$last" ;;
  esac
}
