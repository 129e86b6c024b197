# shellcheck shell=bash
# Evidence of what the ESS did: journal lines (tag quantum-ess), the state file the exporter reads,
# the hash-chained audit trail and the best-effort Redis marker.
# Needs config.sh (CFG), time.sh, from load.sh. Writes ST (record_state_load, record_state_save);
# every other function writes no global (a *_v function only the variable named by its first
# argument).

readonly ESS_TAG=quantum-ess
readonly REDIS_KEY=quantum:ess:active
# what state.json, the audit trail, the journal and status record when an operator gave no reason
# shellcheck disable=SC2034 # read by first-stop.sh, activate.sh and deactivate.sh
readonly RECORD_NO_REASON="no reason given"

# record_log PRIORITY TEXT...: one journal line (record_journal), also said on stderr outside
# systemd (record_print): what the command's own answer on stdout does not say (a problem, how it
# read its arguments). A line the answer says in its own words (a banner, a unit stopped or
# started, an exemption granted or ended, a repair) goes to the journal only, with record_journal:
# the operator reads every message once.
record_log() {
  record_journal "$@"
  shift
  record_print "$*"
}

# record_journal PRIORITY TEXT...: one journal line (the words joined by a space, as "$*" does). One
# logger for the whole run, fed line by line with the priority as a syslog prefix: a journal line
# costs a write, not a fork. If logger cannot run, cat drains the pipe, so a write never blocks or
# raises SIGPIPE. A subshell that outlives the run opens its own (record_redis_marker_async).
# Writes LOG_FD LOG_PID (the first time).
readonly -A LOG_PRIO=([crit]=2 [err]=3 [warning]=4 [notice]=5 [info]=6)
declare -g LOG_FD="" LOG_PID=""
record_journal() {
  local prio=$1 msg
  shift
  msg=$*
  if [[ -z $LOG_FD ]]; then
    # the logger must not inherit the lock: it would hold it until this run ends
    # and a failing logger must not end it early (set -e is inherited): cat drains what is left
    exec {LOG_FD}> >(
      set +eE
      if [[ -n ${LOCK_FD:-} ]]; then exec {LOCK_FD}>&-; fi
      logger -t "$ESS_TAG" --prio-prefix 2>/dev/null
      exec cat >/dev/null
    )
    LOG_PID=$!
  fi
  { printf '<%d>%s\n' $((8 + ${LOG_PRIO[$prio]:-6})) "${msg//$'\n'/ }" >&"$LOG_FD"; } 2>/dev/null ||
    true
}

# record_log_flush: every line of this run is in the journal when it returns (the end of a
# command), or after 2 s at most: a stalled journald must not keep a trip run (and with it the next
# trip) from ending. Writes LOG_FD.
record_log_flush() {
  local i st
  [[ -n $LOG_FD ]] || return 0
  exec {LOG_FD}>&-
  LOG_FD=""
  for ((i = 0; i < 400; i++)); do # until it exits (gone, or a zombie not reaped yet)
    st=""
    { read -r st <"/proc/$LOG_PID/stat"; } 2>/dev/null || return 0
    [[ $st != *") Z "* ]] || return 0
    time_nap 0.005
  done
}

# record_print TEXT: under systemd stderr also lands in the journal; print it only for a human at a
# terminal or a script. A closed stderr must not abort a stop.
record_print() {
  if [[ -z ${INVOCATION_ID:-} ]]; then printf '%s: %s\n' "$ESS_PROG" "$1" >&2 || true; fi
}

# record_clean_text TEXT [MAX], record_clean_text_v VAR TEXT [MAX]: operator-supplied text ends up
# in JSON, logs and Redis: printable ASCII only, bounded length.
record_clean_text() { local s=${1//[^ -~]/ }; printf '%s' "${s:0:${2:-256}}"; }
record_clean_text_v() {
  local _ct=${2//[^ -~]/ }
  printf -v "$1" '%s' "${_ct:0:${3:-256}}"
}

# record_json_str TEXT, record_json_str_v VAR TEXT: a JSON string. Every byte outside printable
# ASCII becomes \u00XX (its byte value), so any input, invalid UTF-8 included, gives valid JSON that
# round-trips through a strict parser. Needs LC_ALL=C (bytes).
record_json_str() { local out; record_json_str_v out "$1"; printf '%s' "$out"; }
record_json_str_v() {
  local _js=$2 _jo="" _jc _jcode _ji
  _js=${_js//\\/\\\\}
  _js=${_js//\"/\\\"}
  if [[ $_js == *[^\ -~]* ]]; then
    for ((_ji = 0; _ji < ${#_js}; _ji++)); do
      _jc=${_js:_ji:1}
      if [[ $_jc == [\ -~] ]]; then
        _jo+=$_jc
      else
        printf -v _jcode '\\u%04x' "'$_jc"
        _jo+=$_jcode
      fi
    done
    _js=$_jo
  fi
  printf -v "$1" '"%s"' "$_js"
}

# record_actor_v VAR: who asked. Root runs every state change; sudo names the person, systemd the
# unit. No fork.
record_actor_v() {
  local _who=root
  [[ -z ${SUDO_USER:-} ]] || record_clean_text_v _who "${SUDO_USER} (sudo)" 64
  [[ -z ${INVOCATION_ID:-} ]] || _who=systemd
  ((EUID == 0)) || _who="uid:$EUID"
  printf -v "$1" '%s' "$_who"
}

# ---------------------------------------------------------------- state
# state.env is the controller's own memory (KEY=VALUE, root-owned, values printable ASCII only so a
# value can never forge a line); state.json (contract/README.md section 3) is rendered from it for
# the exporter, the drill and `status --json`. Both are replaced atomically.
declare -gA ST=()

# record_state_load: ST from STATE_DIR/state.env (empty when there is none). Writes ST.
record_state_load() {
  local f=${CFG[STATE_DIR]}/state.env line
  ST=()
  [[ -r $f ]] || return 0
  while IFS= read -r line; do
    if [[ $line =~ ^([A-Z_][A-Za-z0-9_-]*)=(.*)$ ]]; then
      ST[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    fi
  done <"$f"
}

# record_atomic_write FILE MODE [CONTENT]: CONTENT (else stdin) into FILE through a new file in the
# same directory (created exclusively, MODE 0600 or 0644 set by the umask at creation: no chmod
# window), fsync and rename. Entry points run with umask 022. Forks only sync and mv.
record_atomic_write() {
  local dst=$1 tmp=${1%/*}/.${1##*/}.$$.$RANDOM rc=0
  case $2 in 0600) umask 077 ;; 0644) ;; *) return 1 ;; esac
  set -C
  if (($# > 2)); then
    printf '%s' "$3" 2>/dev/null >"$tmp" || rc=1
  else
    cat 2>/dev/null >"$tmp" || rc=1
  fi
  set +C
  umask 022
  if ((rc == 0)) && sync -- "$tmp" && mv -f -- "$tmp" "$dst"; then return 0; fi
  [[ ! -f $tmp ]] || rm -f -- "$tmp"
  return 1
}

# record_atomic_write_set DIR NAME MODE CONTENT [NAME MODE CONTENT]...: each CONTENT into DIR/NAME,
# replaced atomically as record_atomic_write does, but together: every new file is written (bash,
# no fork) into DIR/.staging under its final name, all of them fsynced by one sync, then renamed
# into DIR by one mv, in the order given. A crash at any point leaves each file old or new (a file
# is renamed only once its content is on disk). 1 when any step failed (some files may be new,
# none is half-written): the caller writes them one by one to learn which (record_atomic_write).
# Forks sync and mv, two processes for any number of files.
readonly RECORD_STAGING=.staging
record_atomic_write_set() {
  local dir=$1 stage=$1/$RECORD_STAGING names=() i rc=0
  shift
  [[ -d $stage && ! -L $stage && -O $stage ]] || install -d -m 0700 -- "$stage" 2>/dev/null ||
    return 1
  for ((i = 1; i <= $#; i += 3)); do names+=("$stage/${!i}"); done
  # left by a run killed between its sync and its mv: never renamed, so never in force
  for i in "${names[@]}"; do [[ ! -e $i && ! -L $i ]] || { rm -f -- "${names[@]}"; break; }; done
  set -C
  while (($# > 0)) && ((rc == 0)); do
    case $2 in 0600) umask 077 ;; 0644) ;; *) rc=1; break ;; esac
    printf '%s' "$3" 2>/dev/null >"$stage/$1" || rc=1
    umask 022
    shift 3
  done
  set +C
  umask 022
  if ((rc == 0)) && sync -- "${names[@]}" && mv -f -t "$dir" -- "${names[@]}"; then return 0; fi
  rm -f -- "${names[@]}" 2>/dev/null || true
  return 1
}

# record_num_or_null US: seconds, or null for an empty value. record_bool_json 1|0: true or false.
record_num_or_null() { if [[ -n $1 ]]; then time_us_to_sec "$1"; else printf null; fi; }
record_num_or_null_v() { # record_num_or_null_v VAR US
  if [[ -n $2 ]]; then time_us_to_sec_v "$1" "$2"; else printf -v "$1" null; fi
}
record_bool_json() { if [[ $1 == 1 ]]; then printf true; else printf false; fi; }

# record_render_activation_json_v VAR: state.json's "last_activation" from ST, without a fork.
record_render_activation_json_v() {
  # ACT_UNITS is blank-separated whatever IFS the caller has (status_json renders under IFS=,)
  local -A _ra_j=()
  local _ra_out _ra_items=() _ra_item _ra_u _ra_rest _ra_state _ra_stop _ra_i IFS=$' \t\n'
  local _ra_trig _ra_stopped _ra_lat _ra_fmt _ra_scope=null
  for _ra_i in ACT_ID ACT_SOURCE ACT_ACTOR ACT_REASON ACT_RESULT; do
    record_json_str_v "_ra_j[$_ra_i]" "${ST[$_ra_i]}"
  done
  record_num_or_null_v _ra_trig "${ST[ACT_TRIGGER_US]}"
  record_num_or_null_v _ra_stopped "${ST[ACT_STOPPED_US]}"
  record_num_or_null_v _ra_lat "${ST[ACT_LATENCY_US]}"
  # state.env is root's, but re-checked: only the characters spool.sh lets through, else null
  [[ ! ${ST[ACT_SCOPE]:-} =~ ^[A-Za-z0-9:._,-]{1,600}$ ]] || _ra_scope="\"${ST[ACT_SCOPE]}\""
  for _ra_item in ${ST[ACT_UNITS]}; do # unit=result/state/stop_us
    _ra_u=${_ra_item%%=*} _ra_rest=${_ra_item#*=}
    IFS=/ read -r _ _ra_state _ra_stop <<<"$_ra_rest"
    record_json_str_v _ra_u "$_ra_u"
    record_json_str_v _ra_i "${_ra_rest%%/*}"
    record_json_str_v _ra_state "$_ra_state"
    if [[ $_ra_stop =~ ^[0-9]+$ ]]; then
      time_us_to_sec_v _ra_stop "$_ra_stop"
    else
      _ra_stop=null
    fi
    printf -v _ra_item '{"unit":%s,"result":%s,"state":%s,"stop_seconds":%s}' \
      "$_ra_u" "$_ra_i" "$_ra_state" "$_ra_stop"
    _ra_items+=("$_ra_item")
  done
  record_render_action_runs_v _ra_i "${_ra_j[ACT_ID]}"
  IFS=,
  _ra_fmt='{"id":%s,"source":%s,"actor":%s,"reason":%s,"trigger_time":%s,"all_stopped_time":%s,'
  _ra_fmt+='"latency_seconds":%s,"result":%s,"scope":%s,"units":[%s],"actions":[%s]}'
  # shellcheck disable=SC2059 # the format is the constant above
  printf -v _ra_out "$_ra_fmt" \
    "${_ra_j[ACT_ID]}" "${_ra_j[ACT_SOURCE]}" "${_ra_j[ACT_ACTOR]}" "${_ra_j[ACT_REASON]}" \
    "$_ra_trig" "$_ra_stopped" "$_ra_lat" "${_ra_j[ACT_RESULT]}" "$_ra_scope" "${_ra_items[*]}" \
    "$_ra_i"
  printf -v "$1" '%s' "$_ra_out"
}

# The on-trip actions' results (actions.sh): STATE_DIR/actions/NAME.json, one per action, its last
# run. They are the one record of a run; state.json's last_activation.actions is those of that
# activation, copied whenever state.json is written.
readonly RECORD_ACTIONS_DIR=actions

# record_render_action_runs_v VAR JSON_ID: the result files of the activation JSON_ID (a JSON
# string), comma-joined, in the order of the action names. Only files of the result writer's exact
# shape count (one line, named after its action, for this activation, its counts last). No fork.
record_render_action_runs_v() {
  local _rr_f _rr_text _rr_name _rr_runs=() IFS=,
  for _rr_f in "${CFG[STATE_DIR]}/$RECORD_ACTIONS_DIR"/*.json; do
    config_read_bounded_v _rr_text "$_rr_f" 65536 || continue
    _rr_name=${_rr_f##*/} _rr_name=${_rr_name%.json}
    _rr_text=${_rr_text%$'\n'}
    [[ $_rr_name =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ && $_rr_text != *$'\n'* &&
      $_rr_text == "{\"schema\":1,\"action\":\"$_rr_name\",\"activation\":$2,"* &&
      $_rr_text =~ ,\"counts\":\{[a-z0-9\":,]*\}\}$ ]] && _rr_runs+=("$_rr_text")
  done
  printf -v "$1" '%s' "${_rr_runs[*]}"
}

# record_render_state_json_v VAR: state.json (contract/README.md section 3) from ST, without a fork.
record_render_state_json_v() {
  local _rs_out _rs_a _rs_b _rs_c _rs_d _rs_e _rs_k _rs_counts=()
  record_json_str_v _rs_a "${ST[FLAG_ID]:-}"
  record_num_or_null_v _rs_b "${ST[UPDATED_US]:-}"
  _rs_c=false
  [[ ${ST[ACTIVE]:-0} != 1 ]] || _rs_c=true
  printf -v _rs_out '{"schema":2,"active":%s,"flag_id":%s,"updated_at":%s,"last_activation":' \
    "$_rs_c" "$_rs_a" "$_rs_b"
  if [[ -n ${ST[ACT_ID]:-} ]]; then
    record_render_activation_json_v _rs_a
    _rs_out+=$_rs_a
  else
    _rs_out+=null
  fi
  _rs_out+=',"last_deactivation":'
  if [[ -n ${ST[DEA_TIME_US]:-} ]]; then
    time_us_to_sec_v _rs_a "${ST[DEA_TIME_US]}"
    record_json_str_v _rs_b "${ST[DEA_ACTOR]}"; record_json_str_v _rs_c "${ST[DEA_REASON]}"
    record_json_str_v _rs_d "${ST[DEA_RESULT]}"; record_json_str_v _rs_e "${ST[DEA_DETAIL]:-}"
    printf -v _rs_a '{"time":%s,"actor":%s,"reason":%s,"result":%s,"detail":%s}' \
      "$_rs_a" "$_rs_b" "$_rs_c" "$_rs_d" "$_rs_e"
    _rs_out+=$_rs_a
  else
    _rs_out+=null
  fi
  _rs_out+=',"last_tamper":'
  if [[ -n ${ST[TAMPER_TIME_US]:-} ]]; then
    time_us_to_sec_v _rs_a "${ST[TAMPER_TIME_US]}"
    record_json_str_v _rs_b "${ST[TAMPER_DETAIL]:-}"
    _rs_out+="{\"time\":$_rs_a,\"detail\":$_rs_b}"
  else
    _rs_out+=null
  fi
  for _rs_k in "${!ST[@]}"; do
    [[ $_rs_k == COUNT_* ]] || continue
    record_json_str_v _rs_a "${_rs_k#COUNT_}"
    _rs_counts+=("$_rs_a:$((10#${ST[$_rs_k]}))")
  done
  local IFS=,
  printf -v "$1" '%s,"activations_total":{%s},"tamper_total":%d,"leftover_kills_total":%d}\n' \
    "$_rs_out" "${_rs_counts[*]}" "${ST[TAMPER_TOTAL]:-0}" "${ST[LEFTOVER_KILLS_TOTAL]:-0}"
}

# record_state_save [NAME MODE CONTENT]...: ST into state.env (the controller's memory, any key
# order) and state.json, each replaced atomically, after the files named (in STATE_DIR: the
# persisted latch), all with one sync (record_atomic_write_set). 1 when any of them may not have
# been written. Writes ST[UPDATED_US].
record_state_save() {
  local dir=${CFG[STATE_DIR]} k v env="" json
  time_now_us_v v
  ST[UPDATED_US]=$v
  [[ -d $dir ]] || install -d -m 0755 "$dir" || return 1
  for k in "${!ST[@]}"; do record_clean_text_v v "${ST[$k]}" 4096; env+="$k=$v"$'\n'; done
  record_render_state_json_v json
  set -- "$@" state.env 0644 "$env" state.json 0644 "$json"
  record_atomic_write_set "$dir" "$@" && return 0
  # one by one, each with its own sync (a staging directory that cannot be used)
  while (($# > 0)); do record_atomic_write "$dir/$1" "$2" "$3" || return 1; shift 3; done
}

# ---------------------------------------------------------------- runtime markers
# /run/quantum-ess (tmpfs, root-owned, world-readable): what status and the exporter must know even
# when /var could not be written. Gone after a reboot, like what they describe.
readonly ESS_RUNTIME_DIR=/run/quantum-ess

# record_marker_set NAME TEXT, record_marker_clear NAME: a marker file in ESS_RUNTIME_DIR.
record_marker_set() {
  [[ -d $ESS_RUNTIME_DIR ]] || install -d -m 0755 "$ESS_RUNTIME_DIR" || return 1
  record_atomic_write "$ESS_RUNTIME_DIR/$1" 0644 "$2"$'\n'
}
record_marker_clear() { # no process when there is none (the usual case)
  [[ ! -e $ESS_RUNTIME_DIR/$1 && ! -L $ESS_RUNTIME_DIR/$1 ]] || rm -f -- "$ESS_RUNTIME_DIR/$1"
}

# record_marker_read_v VAR NAME: the marker's first line, empty when absent.
record_marker_read_v() {
  local _m=""
  [[ ! -r $ESS_RUNTIME_DIR/$2 ]] || IFS= read -r _m <"$ESS_RUNTIME_DIR/$2" || true
  printf -v "$1" '%s' "$_m"
}

# ---------------------------------------------------------------- audit
# One JSON object per line; "prev" is the sha256 of the previous line, so an edit or a deleted line
# breaks the chain where it happened. Its own lock keeps the chain intact even if the main lock
# timed out.
# record_audit_append EVENT 'already-json-encoded "k":v,...': one line at the end of AUDIT_FILE.
record_audit_append() {
  local event=$1 fields=$2 f=${CFG[AUDIT_FILE]} fd last prev seq=1 now host size iso ts ev
  time_now_us_v now
  record_json_str_v host "${HOSTNAME:-unknown}"
  record_json_str_v ev "$event"
  time_iso_v iso "$now"
  time_us_to_sec_v ts "$now"
  [[ -d ${f%/*} ]] || install -d -m 0750 "${f%/*}" || return 1
  exec {fd}>>"$f" || return 1
  flock -w 2 "$fd" || true
  last=$(tail -n 1 "$f" 2>/dev/null || true)
  if [[ -n $last ]]; then
    prev=$(sha256sum <<<"$last")
    prev=${prev%% *}
    [[ $last =~ \"seq\":([0-9]+) ]] && seq=$((BASH_REMATCH[1] + 1))
  else
    prev=$(printf '%064d' 0)
  fi
  size=$(stat -c %s -- "$f" 2>/dev/null) || size=""
  if ! printf '{"seq":%d,"time":"%s","ts":%s,"host":%s,"event":%s,%s,"prev":"%s"}\n' \
    "$seq" "$iso" "$ts" "$host" "$ev" "$fields" "$prev" >&"$fd"; then
    # a full disk can leave half a line; cut it off so the next entry does not build on it
    if [[ -n $size ]]; then truncate -s "$size" -- "$f" 2>/dev/null || true; fi
    exec {fd}>&-
    return 1
  fi
  exec {fd}>&-
}

# ---------------------------------------------------------------- redis marker
# Best effort, in the background, bounded by REDIS_TIMEOUT_SEC: Redis being down or hung must never
# delay or fail a stop. Plain RESP over bash's /dev/tcp keeps redis-cli off the stop path.
# record_redis_send WORD...: one command; prints Redis's first reply line.
record_redis_send() {
  local payload a
  payload="*$#"$'\r\n'
  for a in "$@"; do payload+="\$${#a}"$'\r\n'"$a"$'\r\n'; done
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout "${CFG[REDIS_TIMEOUT_SEC]}" bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "%s" "$3" >&3
    IFS= read -r reply <&3 || exit 1
    printf "%s\n" "${reply%$'"'\r'"'}"' _ "${CFG[REDIS_HOST]}" "${CFG[REDIS_PORT]}" "$payload"
}

# record_redis_marker_async set VALUE | clear: in a background subshell (it writes no global here).
record_redis_marker_async() {
  [[ ${CFG[REDIS_ENABLED]} == yes ]] || return 0
  # pending until Redis took it: a subshell killed with its unit (a oneshot's leftovers, when the
  # run ends) leaves it, so under systemd it is written before. A command run from a shell is not
  # killed when it returns: the subshell writes it, off the path its caller waits for.
  [[ -z ${INVOCATION_ID:-} ]] || record_marker_set redis-pending "$*" 2>/dev/null || true
  (
    if [[ -n ${LOCK_FD:-} ]]; then exec {LOCK_FD}>&-; fi # never keep the controller's lock alive
    # nor its logger: record_log_flush waits for it
    if [[ -n $LOG_FD ]]; then exec {LOG_FD}>&-; LOG_FD=""; fi
    [[ -n ${INVOCATION_ID:-} ]] || record_marker_set redis-pending "$*" 2>/dev/null || true
    record_redis_marker "$@"
  ) </dev/null >/dev/null 2>&1 &
}

# record_redis_marker set VALUE | clear: the marker, bounded by REDIS_TIMEOUT_SEC. One that Redis
# did not take is left pending (ESS_RUNTIME_DIR/redis-pending) for record_redis_retry: a marker
# cleared at boot (LATCH_ACROSS_REBOOT=clear, before Redis is up) or while Redis was down must not
# keep saying active.
record_redis_marker() {
  local op=$1 value=${2:-} latched=no reply
  # the latch may have changed while we were queued; never write a marker that contradicts it
  [[ -e ${CFG[FLAG_FILE]} ]] && latched=yes
  if [[ ($op == set && $latched == no) || ($op == clear && $latched == yes) ]]; then return 0; fi
  if [[ $op == set ]]; then
    reply=$(record_redis_send SET "$REDIS_KEY" "$value" 2>/dev/null) || reply=""
  else
    reply=$(record_redis_send DEL "$REDIS_KEY" 2>/dev/null) || reply=""
  fi
  if [[ $reply == +OK || $reply == :[0-9]* ]]; then
    record_marker_clear redis-pending 2>/dev/null || true
    record_log info "redis marker $REDIS_KEY ${op}: done"
    return 0
  fi
  record_marker_set redis-pending "$op $value" 2>/dev/null || true
  if [[ -n $reply ]]; then
    record_log warning "redis marker $REDIS_KEY ${op}: redis answered '${reply:0:80}'" \
      "(tried again every 5 s)"
  else
    record_log warning "redis marker $REDIS_KEY ${op}: no answer from" \
      "${CFG[REDIS_HOST]}:${CFG[REDIS_PORT]} within ${CFG[REDIS_TIMEOUT_SEC]}s" \
      "(skipped, tried again every 5 s; the latch does not depend on it)"
  fi
  return 1
}

# record_redis_retry (the sweep's runs): a marker Redis did not take, tried again while the latch
# still says the same; one the latch contradicts by now was superseded and is dropped.
record_redis_retry() {
  local pending="" op value
  [[ ${CFG[REDIS_ENABLED]} == yes && -e $ESS_RUNTIME_DIR/redis-pending ]] || return 0
  record_marker_read_v pending redis-pending
  op=${pending%% *} value=${pending#"$op"}
  value=${value# }
  if [[ $op == set && ! -e ${CFG[FLAG_FILE]} || $op == clear && -e ${CFG[FLAG_FILE]} ||
    $op != @(set|clear) ]]; then
    record_marker_clear redis-pending
    return 0
  fi
  record_redis_marker "$op" "$value" || true
}
