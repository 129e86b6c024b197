# shellcheck shell=bash disable=SC2034 # SPOOL_* are read by callers
# Trip requests from the unprivileged exporter: every name and byte in them is hostile. They are
# claimed (moved into a root-only batch directory) before anything looks at them: no TOCTOU, and an
# alert storm costs a few processes, not one per request. Names are never parsed as text (they may
# hold newlines): entries come from a glob, readability from `find -print0`. Any entry at all is a
# request to stop, even one that cannot be claimed or read. Only one request is read before the
# stop, and a run claims at most SPOOL_BATCH_MAX requests: the path unit runs again while more are
# waiting, so every batch gets its audit line within the service's timeout. Needs config.sh,
# time.sh, record.sh; sources them. Writes SPOOL_* REQ_*, each function the ones its comment names.
[[ -z ${_ESS_LIB_SPOOL:-} ]] || return 0
_ESS_LIB_SPOOL=1
# the libraries this one needs, each loaded once (the entry scripts have shellcheck follow them)
for _ess_need in time config record; do
  _ess_guard=_ESS_LIB_${_ess_need^^} _ess_guard=${_ess_guard//-/_}
  # shellcheck source=/dev/null
  [[ -n ${!_ess_guard:-} ]] || source "${BASH_SOURCE[0]%/*}/$_ess_need.sh"
done

readonly SPOOL_BATCH_MAX=500
readonly SPOOL_SCOPES_MAX=8
# a request's scope (contract/README.md section 6); anything else is recorded as `invalid`
readonly SPOOL_SCOPE_RE='^(fleet|unscoped|(host|group):[A-Za-z0-9][A-Za-z0-9._-]{0,62})$'
declare -g SPOOL_SOURCE="" SPOOL_REASON="" SPOOL_COUNT=0 SPOOL_BATCH="" SPOOL_FIRST_MTIME_US=""
declare -g SPOOL_SCOPE=""
declare -ga SPOOL_ENTRIES=()
declare -gA SPOOL_READABLE=()

# spool_has_requests: anything at all in SPOOL_DIR/incoming.
spool_has_requests() {
  local entries
  shopt -s nullglob dotglob
  entries=("${CFG[SPOOL_DIR]}"/incoming/*)
  shopt -u nullglob dotglob
  ((${#entries[@]} > 0))
}

# spool_claim: up to SPOOL_BATCH_MAX requests moved into a new root-only batch directory.
# Writes SPOOL_BATCH SPOOL_ENTRIES SPOOL_COUNT SPOOL_READABLE.
spool_claim() {
  local path now rc=0
  time_now_us_v now
  SPOOL_BATCH=${CFG[SPOOL_DIR]}/processed/$now-$$
  if ! install -d -m 0700 "${CFG[SPOOL_DIR]}/processed" "$SPOOL_BATCH" 2>/dev/null; then
    # the spool is full (the group can fill tmp/): what sits in tmp/ is no request yet, and a writer
    # that loses its file answers 500, so Alertmanager sends it again. Without this the claim would
    # fail on every run and no deactivate could ever succeed.
    record_log warning "the trip spool ${CFG[SPOOL_DIR]} is full; emptying its tmp/ to claim"
    find "${CFG[SPOOL_DIR]}/tmp" -mindepth 1 -maxdepth 1 -delete 2>/dev/null || true
    install -d -m 0700 "${CFG[SPOOL_DIR]}/processed" "$SPOOL_BATCH" || return 1
  fi
  # head closing the pipe early makes find die of SIGPIPE: only mv's status says whether the claim
  # worked
  find "${CFG[SPOOL_DIR]}/incoming" -mindepth 1 -maxdepth 1 -print0 |
    head -z -n "$SPOOL_BATCH_MAX" |
    xargs -0 -r mv -f -t "$SPOOL_BATCH" -- || rc=${PIPESTATUS[2]}
  # whatever was moved is audited, even when part of the claim failed
  shopt -s nullglob dotglob
  SPOOL_ENTRIES=("$SPOOL_BATCH"/*)
  shopt -u nullglob dotglob
  SPOOL_COUNT=${#SPOOL_ENTRIES[@]}
  while IFS= read -r -d '' path; do SPOOL_READABLE[$path]=1; done < <(
    find "$SPOOL_BATCH" -mindepth 1 -maxdepth 1 -type f -links 1 -size -4097c -print0)
  return "$rc"
}

# spool_read_request PATH (an element of SPOOL_ENTRIES): one request, its fields cleaned. The
# scope: `fleet`, `unscoped`, `host:NAME`, `group:NAME`; `invalid` when the line breaks that rule, `unknown`
# when there is none (an older exporter, a request written by hand, an unreadable file). Neither
# changes anything about the stop: every request stops.
# Writes REQ_SOURCE REQ_REASON REQ_NAME REQ_SCOPE.
declare -g REQ_SOURCE="" REQ_REASON="" REQ_NAME="" REQ_SCOPE=""
spool_read_request() {
  local content="" line scope=unknown
  record_clean_text_v REQ_NAME "${1##*/}" 64
  REQ_SOURCE="" REQ_REASON=""
  if [[ -n ${SPOOL_READABLE[$1]:-} ]]; then
    IFS= read -r -d '' -N 4096 content <"$1" || true # short read = EOF, expected
    while IFS= read -r line; do
      case $line in
        source=*) REQ_SOURCE=${line#source=} ;;
        scope=*) scope=${line#scope=} ;;
        reason=*) REQ_REASON=${line#reason=} ;;
      esac
    done <<<"$content"
  else
    REQ_REASON="unreadable trip request $REQ_NAME"
    REQ_REASON+=" (not a plain single-link file of at most 4 KiB)"
  fi
  [[ $REQ_SOURCE =~ ^[a-z0-9_-]{1,32}$ ]] || REQ_SOURCE=trip-request
  REQ_SCOPE=$scope
  [[ $REQ_SCOPE == unknown || $REQ_SCOPE =~ $SPOOL_SCOPE_RE ]] || REQ_SCOPE=invalid
  record_clean_text_v REQ_REASON "${REQ_REASON:-trip request $REQ_NAME without a reason}"
}

# spool_describe: names the activation after the first readable request, and dates it by that
# file's mtime (when the exporter wrote it: the trigger instant of a webhook trip); its scope is
# every request's (spool_scopes).
# Writes SPOOL_SOURCE SPOOL_REASON SPOOL_FIRST_MTIME_US SPOOL_SCOPE REQ_*.
spool_describe() {
  local path first="" mtime
  SPOOL_SOURCE=trip-request
  SPOOL_REASON="trip request(s) in ${CFG[SPOOL_DIR]}/incoming that could not be claimed"
  SPOOL_FIRST_MTIME_US="" SPOOL_SCOPE=unknown
  ((SPOOL_COUNT > 0)) || return 0
  spool_scopes
  for path in "${SPOOL_ENTRIES[@]}"; do
    if [[ -n ${SPOOL_READABLE[$path]:-} ]]; then first=$path && break; fi
  done
  spool_read_request "${first:-${SPOOL_ENTRIES[0]}}"
  SPOOL_SOURCE=$REQ_SOURCE SPOOL_REASON=$REQ_REASON
  if ((SPOOL_COUNT > 1)); then
    SPOOL_REASON="$SPOOL_REASON (+$((SPOOL_COUNT - 1)) more requests)"
  fi
  if [[ -n $first ]] && mtime=$(stat -c %.6Y -- "$first" 2>/dev/null) &&
    [[ $mtime =~ ^([0-9]+)\.([0-9]{6})$ ]]; then
    SPOOL_FIRST_MTIME_US=$((10#${BASH_REMATCH[1]} * 1000000 + 10#${BASH_REMATCH[2]}))
  fi
}

# spool_scopes: the distinct scopes of the batch's requests (the first 100, those the audit line
# lists), comma-joined in the order first seen; past SPOOL_SCOPES_MAX of them the list ends in
# `,...` (at most 8 * 69 + 4 characters). Writes SPOOL_SCOPE REQ_*.
spool_scopes() {
  local path i=0 scopes=() more=0
  local -A seen=()
  for path in "${SPOOL_ENTRIES[@]}"; do
    ((i < 100)) || break
    i=$((i + 1))
    spool_read_request "$path"
    [[ -z ${seen[$REQ_SCOPE]:-} ]] || continue
    seen[$REQ_SCOPE]=1
    if ((${#scopes[@]} < SPOOL_SCOPES_MAX)); then scopes+=("$REQ_SCOPE"); else more=1; fi
  done
  ((more == 0)) || scopes+=("...")
  local IFS=,
  SPOOL_SCOPE=${scopes[*]:-unknown}
}

# spool_record: after the stop, the batch's audit line first, then one journal line per request
# (the first 20); batches older than 10 minutes are dropped so storms cannot fill the small spool
# (the audit line keeps them). Writes REQ_*.
spool_record() {
  local path i=0 items=() item src why name
  for path in "${SPOOL_ENTRIES[@]}"; do
    ((i < 100)) || break
    spool_read_request "$path"
    record_json_str_v name "$REQ_NAME"; record_json_str_v src "$REQ_SOURCE"
    record_json_str_v why "$REQ_REASON"
    printf -v item '{"request":%s,"source":%s,"scope":"%s","reason":%s}' "$name" "$src" \
      "$REQ_SCOPE" "$why"
    items+=("$item")
    i=$((i + 1))
  done
  local IFS=, batch fields
  record_json_str_v batch "$SPOOL_BATCH"
  # scopes are of [A-Za-z0-9:._,-] only (spool_read_request, spool_scopes): nothing to escape
  fields="\"count\":$SPOOL_COUNT,\"scope\":\"$SPOOL_SCOPE\",\"kept_in\":$batch"
  record_audit_append trip-requests "$fields,\"requests\":[${items[*]}]" ||
    record_log err "AUDIT WRITE FAILED for $SPOOL_COUNT trip requests (kept in $SPOOL_BATCH)"
  IFS=' '
  i=0
  for path in "${SPOOL_ENTRIES[@]}"; do
    ((i < 20)) || break
    spool_read_request "$path"
    record_log warning "trip request $REQ_NAME: source=$REQ_SOURCE scope=$REQ_SCOPE" \
      "reason=$REQ_REASON"
    i=$((i + 1))
  done
  ((SPOOL_COUNT <= 20)) || record_log warning "... and $((SPOOL_COUNT - 20)) more trip requests" \
    "(all kept in $SPOOL_BATCH)"
  find "${CFG[SPOOL_DIR]}/processed" -mindepth 1 -maxdepth 1 -mmin +10 -exec rm -rf -- {} + \
    2>/dev/null || true
  find "${CFG[SPOOL_DIR]}/tmp" -mindepth 1 -maxdepth 1 -mmin +10 -delete 2>/dev/null || true
}
