# shellcheck shell=bash
# Evidence of what the ESS did: journal lines (tag quantum-ess), the state file the exporter reads, the
# hash-chained audit trail and the best-effort Redis marker. Needs config.sh and units.sh loaded first.

readonly ESS_TAG=quantum-ess
readonly REDIS_KEY=quantum:ess:active

log_event() {
  local prio=$1; shift
  logger -t "$ESS_TAG" -p "user.$prio" -- "$*" 2>/dev/null || true
  print_event "$*"
}

# Under systemd stderr also lands in the journal; print it only for a human at a terminal or a script.
# A closed stderr must not abort a stop.
print_event() {
  if [[ -z ${INVOCATION_ID:-} ]]; then printf 'ess: %s\n' "$1" >&2 || true; fi
}

# Operator-supplied text ends up in JSON, logs and Redis: printable ASCII only, bounded length.
clean_text() { local s=${1//[^ -~]/ }; printf '%s' "${s:0:${2:-256}}"; }
clean_text_v() { # clean_text_v VAR TEXT [MAX]
  local _ct=${2//[^ -~]/ }
  printf -v "$1" '%s' "${_ct:0:${3:-256}}"
}

# Every byte outside printable ASCII becomes \u00XX (its byte value), so any input, invalid UTF-8
# included, gives valid JSON that round-trips through a strict parser. Needs LC_ALL=C (bytes).
json_str() { local out; json_str_v out "$1"; printf '%s' "$out"; }
json_str_v() { # json_str_v VAR TEXT
  local _js=$2 _jo="" _jc _jcode _ji
  _js=${_js//\\/\\\\}
  _js=${_js//\"/\\\"}
  if [[ $_js == *[^\ -~]* ]]; then
    for ((_ji = 0; _ji < ${#_js}; _ji++)); do
      _jc=${_js:_ji:1}
      if [[ $_jc == [\ -~] ]]; then _jo+=$_jc; else printf -v _jcode '\\u%04x' "'$_jc"; _jo+=$_jcode; fi
    done
    _js=$_jo
  fi
  printf -v "$1" '"%s"' "$_js"
}

iso_time() { date -u -d "@$(($1 / 1000000))" +%Y-%m-%dT%H:%M:%SZ; }

# Who asked: root runs every state change; sudo names the person, systemd the unit. No fork.
actor_v() {
  local _who=root
  [[ -z ${SUDO_USER:-} ]] || clean_text_v _who "${SUDO_USER} (sudo)" 64
  [[ -z ${INVOCATION_ID:-} ]] || _who=systemd
  ((EUID == 0)) || _who="uid:$EUID"
  printf -v "$1" '%s' "$_who"
}

# ---------------------------------------------------------------- state
# state.env is the controller's own memory (KEY=VALUE, root-owned, values printable ASCII only so a
# value can never forge a line); state.json (contract/README.md section 3) is rendered from it for the
# exporter, the drill and `status --json`. Both are replaced atomically.
declare -gA ST=()

state_load() {
  local f=${CFG[STATE_DIR]}/state.env line
  ST=()
  [[ -r $f ]] || return 0
  while IFS= read -r line; do
    if [[ $line =~ ^([A-Z_][A-Za-z0-9_-]*)=(.*)$ ]]; then ST[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}; fi
  done <"$f"
}

atomic_write() { # atomic_write FILE MODE: stdin -> FILE via tmp + fsync + rename in the same directory
  local dst=$1 mode=$2 tmp
  tmp=$(mktemp "${dst%/*}/.${dst##*/}.XXXXXX") || return 1
  if cat >"$tmp" && chmod "$mode" "$tmp" && sync -- "$tmp" && mv -f "$tmp" "$dst"; then return 0; fi
  rm -f "$tmp"
  return 1
}

num_or_null() { if [[ -n $1 ]]; then us_to_sec "$1"; else printf null; fi; }
bool_json() { if [[ $1 == 1 ]]; then printf true; else printf false; fi; }

render_activation_json() {
  # ACT_UNITS is blank-separated whatever IFS the caller has (status_json renders under IFS=,)
  local item u rest first=1 state stop IFS=$' \t\n'
  printf '{"id":%s,"source":%s,"actor":%s,"reason":%s,"trigger_time":%s,"all_stopped_time":%s,"latency_seconds":%s,"result":%s,"units":[' \
    "$(json_str "${ST[ACT_ID]}")" "$(json_str "${ST[ACT_SOURCE]}")" "$(json_str "${ST[ACT_ACTOR]}")" "$(json_str "${ST[ACT_REASON]}")" \
    "$(num_or_null "${ST[ACT_TRIGGER_US]}")" "$(num_or_null "${ST[ACT_STOPPED_US]}")" "$(num_or_null "${ST[ACT_LATENCY_US]}")" \
    "$(json_str "${ST[ACT_RESULT]}")"
  for item in ${ST[ACT_UNITS]}; do # unit=result/state/stop_us
    u=${item%%=*} rest=${item#*=}
    IFS=/ read -r _ state stop <<<"$rest"
    ((first)) || printf ','
    first=0
    printf '{"unit":%s,"result":%s,"state":%s,"stop_seconds":%s}' "$(json_str "$u")" "$(json_str "${rest%%/*}")" \
      "$(json_str "$state")" "$(if [[ $stop =~ ^[0-9]+$ ]]; then us_to_sec "$stop"; else echo null; fi)"
  done
  printf ']}'
}

render_state_json() {
  local k first=1
  printf '{"schema":2,"active":%s,"flag_id":%s,"updated_at":%s,"last_activation":' \
    "$(bool_json "${ST[ACTIVE]:-0}")" "$(json_str "${ST[FLAG_ID]:-}")" "$(num_or_null "${ST[UPDATED_US]:-}")"
  if [[ -n ${ST[ACT_ID]:-} ]]; then render_activation_json; else printf null; fi
  printf ',"last_deactivation":'
  if [[ -n ${ST[DEA_TIME_US]:-} ]]; then
    printf '{"time":%s,"actor":%s,"reason":%s,"result":%s,"detail":%s}' \
      "$(us_to_sec "${ST[DEA_TIME_US]}")" "$(json_str "${ST[DEA_ACTOR]}")" "$(json_str "${ST[DEA_REASON]}")" \
      "$(json_str "${ST[DEA_RESULT]}")" "$(json_str "${ST[DEA_DETAIL]:-}")"
  else
    printf null
  fi
  printf ',"last_tamper":'
  if [[ -n ${ST[TAMPER_TIME_US]:-} ]]; then
    printf '{"time":%s,"detail":%s}' "$(us_to_sec "${ST[TAMPER_TIME_US]}")" "$(json_str "${ST[TAMPER_DETAIL]:-}")"
  else
    printf null
  fi
  printf ',"activations_total":{'
  for k in "${!ST[@]}"; do
    [[ $k == COUNT_* ]] || continue
    ((first)) || printf ','
    first=0
    printf '%s:%d' "$(json_str "${k#COUNT_}")" "${ST[$k]}"
  done
  printf '},"tamper_total":%d,"leftover_kills_total":%d}\n' "${ST[TAMPER_TOTAL]:-0}" "${ST[LEFTOVER_KILLS_TOTAL]:-0}"
}

state_save() {
  local dir=${CFG[STATE_DIR]} k v
  now_us_v v
  ST[UPDATED_US]=$v
  [[ -d $dir ]] || install -d -m 0755 "$dir" || return 1
  for k in "${!ST[@]}"; do clean_text_v v "${ST[$k]}" 4096; printf '%s=%s\n' "$k" "$v"; done | sort | atomic_write "$dir/state.env" 0644 || return 1
  render_state_json | atomic_write "$dir/state.json" 0644
}

# ---------------------------------------------------------------- runtime markers
# /run/quantum-ess (tmpfs, root-owned, world-readable): what status and the exporter must know even when
# /var could not be written. Gone after a reboot, like what they describe.
readonly ESS_RUNTIME_DIR=/run/quantum-ess
marker_set() { # marker_set NAME TEXT
  [[ -d $ESS_RUNTIME_DIR ]] || install -d -m 0755 "$ESS_RUNTIME_DIR" || return 1
  printf '%s\n' "$2" | atomic_write "$ESS_RUNTIME_DIR/$1" 0644
}
marker_clear() { rm -f -- "$ESS_RUNTIME_DIR/$1"; }
marker_read_v() { # marker_read_v VAR NAME: the marker's first line, empty when absent
  local _m=""
  [[ ! -r $ESS_RUNTIME_DIR/$2 ]] || IFS= read -r _m <"$ESS_RUNTIME_DIR/$2" || true
  printf -v "$1" '%s' "$_m"
}

# ---------------------------------------------------------------- audit
# One JSON object per line; "prev" is the sha256 of the previous line, so an edit or a deleted line
# breaks the chain where it happened. Its own lock keeps the chain intact even if the main lock timed out.
audit_append() { # audit_append EVENT 'already-json-encoded "k":v,...'
  local event=$1 fields=$2 f=${CFG[AUDIT_FILE]} fd last prev seq=1 now host size
  now=$(now_us)
  host=$(hostname 2>/dev/null || echo unknown)
  install -d -m 0750 "${f%/*}" || return 1
  exec {fd}>>"$f" || return 1
  flock -w 2 "$fd" || true
  last=$(tail -n 1 "$f" 2>/dev/null || true)
  if [[ -n $last ]]; then
    prev=$(printf '%s\n' "$last" | sha256sum | cut -d' ' -f1)
    [[ $last =~ \"seq\":([0-9]+) ]] && seq=$((BASH_REMATCH[1] + 1))
  else
    prev=$(printf '%064d' 0)
  fi
  size=$(stat -c %s -- "$f" 2>/dev/null) || size=""
  if ! printf '{"seq":%d,"time":"%s","ts":%s,"host":%s,"event":%s,%s,"prev":"%s"}\n' \
    "$seq" "$(iso_time "$now")" "$(us_to_sec "$now")" "$(json_str "$host")" "$(json_str "$event")" "$fields" "$prev" >&"$fd"; then
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
redis_send() {
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

redis_marker_async() { # redis_marker_async set VALUE | clear
  [[ ${CFG[REDIS_ENABLED]} == yes ]] || return 0
  local op=$1 value=${2:-}
  (
    if [[ -n ${LOCK_FD:-} ]]; then exec {LOCK_FD}>&-; fi # never keep the controller's lock alive
    # the latch may have changed while we were queued; never write a marker that contradicts it
    latched=no
    [[ -e ${CFG[FLAG_FILE]} ]] && latched=yes
    if [[ ($op == set && $latched == no) || ($op == clear && $latched == yes) ]]; then exit 0; fi
    if [[ $op == set ]]; then
      reply=$(redis_send SET "$REDIS_KEY" "$value" 2>/dev/null) || reply=""
    else
      reply=$(redis_send DEL "$REDIS_KEY" 2>/dev/null) || reply=""
    fi
    if [[ $reply == +OK || $reply == :[0-9]* ]]; then
      log_event info "redis marker $REDIS_KEY ${op}: done"
    elif [[ -n $reply ]]; then
      log_event warning "redis marker $REDIS_KEY ${op}: redis answered '${reply:0:80}'"
    else
      log_event warning "redis marker $REDIS_KEY ${op}: no answer from ${CFG[REDIS_HOST]}:${CFG[REDIS_PORT]} within ${CFG[REDIS_TIMEOUT_SEC]}s (skipped; the latch does not depend on it)"
    fi
  ) </dev/null >/dev/null 2>&1 &
}
