# shellcheck shell=bash disable=SC2034 # FLAG_* and V_* are read by callers
# The latch: the flag in /run (what the drop-ins and the path unit watch), its persisted copy in
# STATE_DIR (which the drop-ins also refuse on, so a flag removed by hand or lost at boot cannot
# release anything), and the lock that serialises the bookkeeping.
# Needs config.sh, units.sh, record.sh, verdict.sh, and exempt.sh for latch_observe. Writes FLAG_* LOCK_FD V_*.
[[ -z ${ESS_LIB_LATCH:-} ]] || return 0 # loaded already (first-stop.sh loads it before the rest)
ESS_LIB_LATCH=1

readonly BOOT_ID_FILE=/proc/sys/kernel/random/boot_id

boot_id_v() { local _b=""; IFS= read -r _b 2>/dev/null <"$BOOT_ID_FILE" || true; printf -v "$1" '%s' "$_b"; }

# latch_json ID SOURCE ACTOR REASON REQUESTED_WALL_US -> stdout
latch_json() {
  local id src act why wall boot
  json_str_v id "$1"; json_str_v src "$2"; json_str_v act "$3"; json_str_v why "$4"
  us_to_sec_v wall "$5"
  boot_id_v boot
  printf '{"id":%s,"requested_at":%s,"boot_id":"%s","source":%s,"actor":%s,"reason":%s,"pid":%d}\n' \
    "$id" "$wall" "$boot" "$src" "$act" "$why" "$$"
}

# flag_read FILE: FLAG_ID FLAG_SOURCE FLAG_ACTOR FLAG_REASON FLAG_WALL_US FLAG_BOOT FLAG_PID from a
# latch file; all empty for a flag made by `touch`. Values are never trusted beyond their pattern.
declare -g FLAG_ID="" FLAG_SOURCE="" FLAG_ACTOR="" FLAG_REASON="" FLAG_WALL_US="" FLAG_BOOT="" FLAG_PID=""
flag_field() { # flag_field CONTENT KEY VAR
  local _re="\"$2\":(\"(([^\"\\\\]|\\\\.)*)\"|[0-9.]+)"
  if [[ $1 =~ $_re ]]; then
    if [[ -n ${BASH_REMATCH[2]} || ${BASH_REMATCH[1]} == '""' ]]; then printf -v "$3" '%s' "${BASH_REMATCH[2]}"
    else printf -v "$3" '%s' "${BASH_REMATCH[1]}"; fi
  else
    printf -v "$3" '%s' ""
  fi
}
flag_read() {
  local content="" wall=""
  # only a regular file is read: a FIFO (or a device) at the flag's path would block the stop path
  [[ ! -f $1 ]] || IFS= read -r -d '' -N 4096 content 2>/dev/null <"$1" || true
  flag_field "$content" id FLAG_ID
  flag_field "$content" source FLAG_SOURCE
  flag_field "$content" actor FLAG_ACTOR
  flag_field "$content" reason FLAG_REASON
  flag_field "$content" requested_at wall
  flag_field "$content" boot_id FLAG_BOOT
  flag_field "$content" pid FLAG_PID
  [[ $FLAG_ID =~ ^[A-Za-z0-9T:._-]{1,64}$ ]] || FLAG_ID=""
  [[ $FLAG_SOURCE =~ ^[a-z0-9_-]{1,32}$ ]] || FLAG_SOURCE=""
  [[ $FLAG_PID =~ ^[0-9]{1,9}$ ]] || FLAG_PID=""
  FLAG_WALL_US=""
  if [[ $wall =~ ^([0-9]{1,12})\.([0-9]{6})$ ]]; then FLAG_WALL_US=$((10#${BASH_REMATCH[1]} * 1000000 + 10#${BASH_REMATCH[2]})); fi
  clean_text_v FLAG_ACTOR "$FLAG_ACTOR" 64
  clean_text_v FLAG_REASON "$FLAG_REASON"
}

# flag_create_exclusive ID SOURCE ACTOR REASON WALL_US: 0 this run created the flag (and owns
# the activation), 2 a flag already existed, 1 it could not be written. The content is complete before
# the name appears (hard link of a finished file), and only one of many racers can win the link.
declare -g FLAG_TMP=""
flag_create_exclusive() {
  local f=${CFG[FLAG_FILE]}
  [[ ! -e $f ]] || return 2
  [[ -d ${f%/*} ]] || install -d -m 0755 "${f%/*}" || return 1
  FLAG_TMP=${f%/*}/.${f##*/}.$$.$RANDOM
  if latch_json "$@" 2>/dev/null >"$FLAG_TMP"; then
    if ln -T -- "$FLAG_TMP" "$f" 2>/dev/null; then return 0; fi
    [[ ! -e $f ]] || return 2
  fi
  # no room for the content (a full /run keeps free inodes): an empty flag latches all the same, and
  # noclobber still lets only one racer create it
  rm -f -- "$FLAG_TMP"
  FLAG_TMP=""
  if (set -C && : >"$f") 2>/dev/null; then return 0; fi
  [[ -e $f ]] && return 2
  return 1
}

# flag_tmp_cleanup: our own temporary link, and those of controllers killed before they removed theirs
# (named .FLAG.<pid>.<random>; a live controller's is left alone).
flag_tmp_cleanup() {
  local f=${CFG[FLAG_FILE]} tmp pid
  [[ -z $FLAG_TMP ]] || rm -f -- "$FLAG_TMP"
  FLAG_TMP=""
  for tmp in "${f%/*}/.${f##*/}".*; do
    [[ $tmp =~ \.([0-9]+)\.[0-9]+$ ]] || continue
    pid=${BASH_REMATCH[1]}
    [[ -e /proc/$pid ]] || rm -f -- "$tmp"
  done
}

# The persisted latch, written from the activation record (a flag made by `touch` is empty and must
# survive a reboot all the same). The drop-ins refuse every start while it exists.
latch_persist() { # latch_persist ID SOURCE ACTOR REASON WALL_US
  [[ -d ${CFG[STATE_DIR]} ]] || install -d -m 0755 "${CFG[STATE_DIR]}" || return 1
  local json
  json=$(latch_json "$@") || return 1
  atomic_write "${CFG[STATE_DIR]}/latched" 0600 "$json"$'\n'
}

# ---------------------------------------------------------------- lock
declare -g LOCK_FD=""
# The lock file is created 0600 in one step (umask, no chmod window): flock works on any descriptor,
# so a lock file any user can open lets any user block deactivate and rearm.
take_lock() { # take_lock -> 0 if held, 1 if it could not be had within LOCK_WAIT_SEC
  local f=${CFG[LOCK_FILE]} old
  [[ -d ${f%/*} ]] || install -d -m 0755 "${f%/*}" || return 1
  if [[ -e $f && $(stat -c '%u %a' -- "$f" 2>/dev/null) != "0 600" ]]; then
    log_event warning "lock file $f was not root-owned 0600; replaced"
    rm -f -- "$f"
  fi
  old=$(umask)
  umask 077
  exec {LOCK_FD}>>"$f" || { umask "$old"; return 1; }
  umask "$old"
  flock -w "${CFG[LOCK_WAIT_SEC]}" "$LOCK_FD"
}
drop_lock() { [[ -z $LOCK_FD ]] || exec {LOCK_FD}>&-; LOCK_FD=""; }

# ---------------------------------------------------------------- verdict inputs
# latch_observe: every input of verdict_compute, read from the files and systemd now.
declare -g V_FLAG=0 V_LATCHED_FILE=0 V_PERSIST_PROBLEM="" V_RESUME_PENDING="" V_SYSTEMD_OK=1
latch_observe() {
  V_FLAG=0 V_LATCHED_FILE=0 V_SYSTEMD_OK=1
  [[ -e ${CFG[FLAG_FILE]} ]] && V_FLAG=1
  [[ -e $(persisted_latch_path) ]] && V_LATCHED_FILE=1
  marker_read_v V_PERSIST_PROBLEM persist-failed
  marker_read_v V_RESUME_PENDING resume-pending
  read_unit_states "${TRADING[@]}" "${MONITOR[@]}" "${SWITCH_PATH_UNITS[@]}" "$TRIGGER_UNIT" quantum-ess-guard.path ||
    V_SYSTEMD_OK=0
  read_populated "${TRADING[@]}"
  read_asserts "${TRADING[@]}"
  exempt_read
  verdict_compute
}
