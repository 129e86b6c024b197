# shellcheck shell=bash disable=SC2034 # SPOOL_* are read by callers
# Trip requests from the unprivileged exporter: every name and byte in them is hostile. They are
# claimed (moved into a root-only batch directory) before anything looks at them: no TOCTOU, and an
# alert storm costs a few processes, not one per request. Names are never parsed as text (they may
# hold newlines): entries come from a glob, readability from `find -print0`. Any entry at all is a
# request to stop, even one that cannot be claimed or read. Only one request is read before the
# stop, and a run claims at most SPOOL_BATCH_MAX requests: the path unit runs again while more are
# waiting, so every batch gets its audit line within the service's timeout. Needs config.sh,
# time.sh, record.sh, from load.sh. Writes SPOOL_* REQ_*, each function the ones its comment names.

readonly SPOOL_BATCH_MAX=500
# Room for the next request, whatever came before (spool_housekeep): claimed requests kept in
# processed/ (each was audited when claimed), the receiver's spare requests kept in reserve/, and
# the free share of the spool's bytes or inodes below which tmp/ and processed/ are emptied.
readonly SPOOL_KEEP_MAX=2000 SPOOL_RESERVE_MAX=16 SPOOL_LOW_PERCENT=25
# the receiver's user (contract/README.md section 4): only its files are spare requests
declare -g SPOOL_WRITER_USER=quantum-ess
# the receiver's configuration (installed by install.sh), for webhook_dry_run
declare -g SPOOL_WRITER_CONFIG=/etc/quantum/ess-exporter.json
readonly SPOOL_SCOPES_MAX=8
# a request's scope (contract/README.md section 6); anything else is recorded as `invalid`
readonly SPOOL_SCOPE_RE='^(fleet|unscoped|(host|group):[A-Za-z0-9][A-Za-z0-9._-]{0,62})$'
declare -g SPOOL_SOURCE="" SPOOL_REASON="" SPOOL_COUNT=0 SPOOL_BATCH="" SPOOL_FIRST_MTIME_US=""
declare -g SPOOL_SCOPE="" SPOOL_DROP_TMP=0 SPOOL_DROP_RESERVE=0 SPOOL_DROP_BATCHES=0
declare -g SPOOL_DROP_REQUESTS=0 SPOOL_WITH_DRILL=0 SPOOL_FIRST_REAL=""
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
# incoming/ is append-only (chattr +a, set by tmpfiles): a writer can add a request but never
# withdraw it, so every request that latched, even for an instant, is claimed and recorded. To move
# them, each entry is made root's first (the sticky bit then keeps its writer out), and only then is
# the flag lifted, for the move alone. Writes SPOOL_BATCH SPOOL_ENTRIES SPOOL_COUNT SPOOL_READABLE.
spool_claim() {
  local path now rc=0 in=${CFG[SPOOL_DIR]}/incoming entries=()
  time_now_us_v now
  SPOOL_BATCH=${CFG[SPOOL_DIR]}/processed/$now-$$
  if ! install -d -m 0700 "${CFG[SPOOL_DIR]}/processed" "$SPOOL_BATCH" 2>/dev/null; then
    # the spool is full: without room for the batch directory no claim could ever run again
    record_log warning "the trip spool ${CFG[SPOOL_DIR]} is full; making room to claim"
    spool_housekeep low
    install -d -m 0700 "${CFG[SPOOL_DIR]}/processed" "$SPOOL_BATCH" || return 1
  fi
  shopt -s nullglob dotglob
  entries=("$in"/*)
  shopt -u nullglob dotglob
  entries=("${entries[@]:0:SPOOL_BATCH_MAX}")
  if ((${#entries[@]} > 0)); then
    chown -h 0:0 -- "${entries[@]}" 2>/dev/null || rc=1
    chattr -a -- "$in" 2>/dev/null || true # not append-only (an older install): mv works anyway
    mv -f -t "$SPOOL_BATCH" -- "${entries[@]}" || rc=1
    spool_seal_incoming
  fi
  # whatever was moved is audited, even when part of the claim failed
  shopt -s nullglob dotglob
  SPOOL_ENTRIES=("$SPOOL_BATCH"/*)
  shopt -u nullglob dotglob
  SPOOL_COUNT=${#SPOOL_ENTRIES[@]}
  while IFS= read -r -d '' path; do SPOOL_READABLE[$path]=1; done < <(
    find "$SPOOL_BATCH" -mindepth 1 -maxdepth 1 -type f -links 1 -size -4097c -print0)
  return "$rc"
}

# spool_seal_incoming: incoming/ append-only again; said loudly when the filesystem refuses it (a
# writer could then withdraw its request before the claim, and nothing would record it).
spool_seal_incoming() {
  chattr +a -- "${CFG[SPOOL_DIR]}/incoming" 2>/dev/null && return 0
  record_log crit "cannot make ${CFG[SPOOL_DIR]}/incoming append-only (chattr +a): a writer can" \
    "withdraw a trip request before it is claimed, unrecorded"
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

# spool_describe: names the activation after the first readable request that is not a drill's
# (spool_scopes; the first readable one when all are the drill's), and dates it by that file's
# mtime (when the exporter wrote it: the trigger instant of a webhook trip); its scope is every
# request's. A real request claimed together with a drill's makes the activation real: SPOOL_WITH_DRILL
# says so (activate_claim_spool then takes the latch over from the drill).
# Writes SPOOL_SOURCE SPOOL_REASON SPOOL_FIRST_MTIME_US SPOOL_SCOPE SPOOL_WITH_DRILL
# SPOOL_FIRST_REAL REQ_*.
spool_describe() {
  local path first="" mtime
  SPOOL_SOURCE=trip-request
  SPOOL_REASON="trip request(s) in ${CFG[SPOOL_DIR]}/incoming that could not be claimed"
  SPOOL_FIRST_MTIME_US="" SPOOL_SCOPE=unknown
  ((SPOOL_COUNT > 0)) || return 0
  spool_scopes
  first=$SPOOL_FIRST_REAL
  if [[ -z $first ]]; then
    for path in "${SPOOL_ENTRIES[@]}"; do
      if [[ -n ${SPOOL_READABLE[$path]:-} ]]; then first=$path && break; fi
    done
  fi
  spool_read_request "${first:-${SPOOL_ENTRIES[0]}}"
  SPOOL_SOURCE=$REQ_SOURCE SPOOL_REASON=$REQ_REASON
  if ((SPOOL_COUNT > 1)); then
    SPOOL_REASON="$SPOOL_REASON (+$((SPOOL_COUNT - 1)) more requests"
    ((SPOOL_WITH_DRILL == 0)) || SPOOL_REASON+=", a drill's among them"
    SPOOL_REASON+=")"
  fi
  if [[ -n $first ]] && mtime=$(stat -c %.6Y -- "$first" 2>/dev/null) &&
    [[ $mtime =~ ^([0-9]+)\.([0-9]{6})$ ]]; then
    SPOOL_FIRST_MTIME_US=$((10#${BASH_REMATCH[1]} * 1000000 + 10#${BASH_REMATCH[2]}))
  fi
}

# spool_scopes: the distinct scopes of the batch's requests (the first 100, those the audit line
# lists), comma-joined in the order first seen; past SPOOL_SCOPES_MAX of them the list ends in
# `,...` (at most 8 * 69 + 4 characters). Among the same requests: the first that is not a
# drill's (a readable one first; an unreadable one counts as real), and whether a drill's is
# claimed with one. Writes SPOOL_SCOPE SPOOL_FIRST_REAL SPOOL_WITH_DRILL REQ_*.
spool_scopes() {
  local path i=0 scopes=() more=0 drill=0 unreadable=""
  local -A seen=()
  SPOOL_FIRST_REAL="" SPOOL_WITH_DRILL=0
  for path in "${SPOOL_ENTRIES[@]}"; do
    ((i < 100)) || break
    i=$((i + 1))
    spool_read_request "$path"
    if [[ $REQ_SOURCE == drill ]]; then
      drill=1
    elif [[ -z ${SPOOL_READABLE[$path]:-} ]]; then
      [[ -n $unreadable ]] || unreadable=$path
    elif [[ -z $SPOOL_FIRST_REAL ]]; then
      SPOOL_FIRST_REAL=$path
    fi
    [[ -z ${seen[$REQ_SCOPE]:-} ]] || continue
    seen[$REQ_SCOPE]=1
    if ((${#scopes[@]} < SPOOL_SCOPES_MAX)); then scopes+=("$REQ_SCOPE"); else more=1; fi
  done
  ((more == 0)) || scopes+=("...")
  SPOOL_FIRST_REAL=${SPOOL_FIRST_REAL:-$unreadable}
  [[ -z $SPOOL_FIRST_REAL ]] || SPOOL_WITH_DRILL=$drill
  local IFS=,
  SPOOL_SCOPE=${scopes[*]:-unknown}
}

# spool_record: after the stop, the batch's audit line first, then one journal line per request
# (the first 20); then the spool is kept roomy (spool_drop_unreadable, spool_housekeep): storms
# cannot fill the small spool (the audit line keeps what goes). Writes REQ_* SPOOL_DROP_*.
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
  spool_drop_unreadable
  spool_housekeep
}

# spool_drop_unreadable: the batch's entries that are no request file (a directory, FIFO, link, a
# file over 4 KiB or with a second link) are removed once recorded: they may be as big as the spool.
spool_drop_unreadable() {
  local path gone=()
  for path in "${SPOOL_ENTRIES[@]}"; do
    [[ -n ${SPOOL_READABLE[$path]:-} ]] || gone+=("$path")
  done
  ((${#gone[@]} > 0)) || return 0
  rm -rf -- "${gone[@]}" 2>/dev/null || true
  record_log warning "removed ${#gone[@]} unreadable trip request(s) of $SPOOL_BATCH" \
    "(directories, FIFOs, links or files over 4 KiB; recorded above)"
}

# spool_room_v VAR: `low` when less than SPOOL_LOW_PERCENT of the spool's bytes or of its inodes
# is free, `ok` otherwise or when that cannot be read.
spool_room_v() {
  local -n _room=$1
  local avail total ifree itotal
  _room=ok
  read -r avail total ifree itotal < <(
    stat -f -c '%a %b %d %c' -- "${CFG[SPOOL_DIR]}" 2>/dev/null) || return 0
  [[ "$avail$total$ifree$itotal" =~ ^[0-9]+$ ]] || return 0
  if ((avail * 100 < total * SPOOL_LOW_PERCENT || ifree * 100 < itotal * SPOOL_LOW_PERCENT)); then
    _room=low
  fi
}

# spool_housekeep [low]: room for the next request whatever came before, whether or not anything
# is claimed: every trip service run does it, the sweep's runs on an empty spool included (every
# 5 s), and a claim that found the spool full. The group can write into tmp/ and reserve/: what is
# no request being written and no spare request goes, and what it was is said (journal, audit
# `spool-cleanup`). Claimed batches beyond the bounds go too (they were audited when claimed).
# Writes SPOOL_DROP_*.
spool_housekeep() {
  local room=${1:-} fields
  [[ -n $room ]] || spool_room_v room
  spool_clean_tmp "$room"
  spool_clean_reserve
  spool_trim_processed "$room"
  ((SPOOL_DROP_TMP + SPOOL_DROP_RESERVE + SPOOL_DROP_BATCHES > 0)) || return 0
  record_log warning "trip spool ${CFG[SPOOL_DIR]} (room: $room): removed $SPOOL_DROP_TMP" \
    "entries of tmp/ (no request being written), $SPOOL_DROP_RESERVE of reserve/ (no spare" \
    "request of the receiver), $SPOOL_DROP_BATCHES claimed batches ($SPOOL_DROP_REQUESTS" \
    "requests, each audited when claimed) to keep room for the next trip"
  fields="\"room\":\"$room\",\"tmp_entries\":$SPOOL_DROP_TMP"
  fields+=",\"reserve_entries\":$SPOOL_DROP_RESERVE,\"batches\":$SPOOL_DROP_BATCHES"
  fields+=",\"requests\":$SPOOL_DROP_REQUESTS"
  record_audit_append spool-cleanup "$fields" ||
    record_log err "AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
}

# spool_clean_tmp ROOM: a writer holds its tmp/ file for milliseconds. Anything that is no plain
# one-link file of at most 4 KiB, or older than a minute (by ctime, which no writer can set back),
# is removed; with the spool low on room, everything (a writer that loses its file still latches:
# src/webhook/trip-request.ts). Writes SPOOL_DROP_TMP.
spool_clean_tmp() {
  local dir=${CFG[SPOOL_DIR]}/tmp out="" entries=() which=()
  SPOOL_DROP_TMP=0
  shopt -s nullglob dotglob
  entries=("$dir"/*)
  shopt -u nullglob dotglob
  ((${#entries[@]} > 0)) || return 0
  [[ $1 == low ]] || which=(\( ! -type f -o -size +4096c -o -links +1 -o -cmin +1 \))
  out=$(find "$dir" -mindepth 1 -maxdepth 1 "${which[@]}" -printf x -exec rm -rf -- {} + \
    2>/dev/null) || true
  SPOOL_DROP_TMP=${#out}
}

# spool_clean_reserve: reserve/ holds the receiver's spare requests (plain one-link files of its
# user, at most 4 KiB); anything else is removed, and past SPOOL_RESERVE_MAX the oldest (left by an
# exporter that restarted). Writes SPOOL_DROP_RESERVE.
spool_clean_reserve() {
  local dir=${CFG[SPOOL_DIR]}/reserve out="" uid entries=() old=() foreign=(-true)
  SPOOL_DROP_RESERVE=0
  shopt -s nullglob dotglob
  entries=("$dir"/*)
  shopt -u nullglob dotglob
  ((${#entries[@]} > 0)) || return 0
  if uid=$(id -u "$SPOOL_WRITER_USER" 2>/dev/null); then foreign=(! -uid "$uid"); fi
  out=$(find "$dir" -mindepth 1 -maxdepth 1 \( "${foreign[@]}" -o ! -type f -o -size +4096c \
    -o -links +1 \) -printf x -exec rm -rf -- {} + 2>/dev/null) || true
  SPOOL_DROP_RESERVE=${#out}
  ((${#entries[@]} - SPOOL_DROP_RESERVE > SPOOL_RESERVE_MAX)) || return 0
  mapfile -d '' old < <(find "$dir" -mindepth 1 -maxdepth 1 -type f -printf '%C@ %p\0' |
    sort -z -r -n | tail -z -n +$((SPOOL_RESERVE_MAX + 1)) | cut -z -d ' ' -f 2-)
  ((${#old[@]} == 0)) || rm -f -- "${old[@]}"
  SPOOL_DROP_RESERVE=$((SPOOL_DROP_RESERVE + ${#old[@]}))
}

# spool_trim_processed ROOM: claimed batches older than 10 minutes go silently (their audit line
# keeps them); younger ones past the newest SPOOL_KEEP_MAX requests, or every one but the current
# batch with the spool low on room, are counted. Writes SPOOL_DROP_BATCHES SPOOL_DROP_REQUESTS.
spool_trim_processed() {
  local dir=${CFG[SPOOL_DIR]}/processed batches=() files=() i kept=0
  SPOOL_DROP_BATCHES=0 SPOOL_DROP_REQUESTS=0
  [[ -d $dir ]] || return 0
  find "$dir" -mindepth 1 -maxdepth 1 -mmin +10 -exec rm -rf -- {} + 2>/dev/null || true
  shopt -s nullglob dotglob
  batches=("$dir"/*) # named <microseconds>-<pid>: oldest first
  for ((i = ${#batches[@]} - 1; i >= 0; i--)); do
    files=("${batches[i]}"/*)
    if [[ ${batches[i]} != "$SPOOL_BATCH" ]] &&
      { [[ $1 == low ]] || ((kept + ${#files[@]} > SPOOL_KEEP_MAX)); }; then
      rm -rf -- "${batches[i]}" 2>/dev/null || true
      SPOOL_DROP_BATCHES=$((SPOOL_DROP_BATCHES + 1))
      SPOOL_DROP_REQUESTS=$((SPOOL_DROP_REQUESTS + ${#files[@]}))
    else
      kept=$((kept + ${#files[@]}))
    fi
  done
  shopt -u nullglob dotglob
}

# spool_trip_path_v VAR: why a webhook trip may not latch, with the fix, or '' when nothing says so
# (no receiver installed or running, or reserve/ not readable: not root). webhook_dry_run on: trips
# are only logged. No spare request in reserve/: a trip needs room in the spool, which any member
# of the ESS group can take (files held open keep their inodes whatever the sweep removes).
spool_trip_path_v() {
  local -n _why=$1
  local dir=${CFG[SPOOL_DIR]}/reserve spares room="" unit=quantum-ess-exporter.service
  _why=""
  [[ $(systemctl is-active "$unit" 2>/dev/null) == active ]] || return 0
  if grep -Eqs '"webhook_dry_run"[[:space:]]*:[[:space:]]*true' -- "$SPOOL_WRITER_CONFIG"; then
    _why="webhook_dry_run is true in $SPOOL_WRITER_CONFIG: webhook trips are answered 200 and"
    _why+=" only logged, nothing latches; fix: set \"webhook_dry_run\": false there, then"
    _why+=" sudo systemctl restart $unit"
    return 0
  fi
  [[ -r $dir && -x $dir ]] || return 0
  spares=$(find "$dir" -mindepth 1 -maxdepth 1 -type f -user "$SPOOL_WRITER_USER" -size 4096c \
    -links 1 -printf x 2>/dev/null) || return 0
  ((${#spares} == 0)) || return 0
  room=$(stat -f -c '%d of %c inodes, %a of %b blocks free' -- "${CFG[SPOOL_DIR]}" 2>/dev/null) ||
    room="room unknown"
  _why="no spare trip request in $dir ($room): a webhook trip needs room there and answers 500"
  _why+=" without latching; fix: sudo fuser -vm ${CFG[SPOOL_DIR]} (who holds its files), stop"
  _why+=" that process and take its user out of group quantum-ess; the exporter refills its"
  _why+=" reserve within 5 s of room"
}
