# shellcheck shell=bash disable=SC2034 # WIRING_* are read by callers
# The switch's wiring as systemd has loaded it, and the installer's record of it (contract/README.md
# section 1, "the switch as installed"). systemd keeps a unit active while its wiring is broken: a
# unit file that no longer parses (bad-setting), a drop-in that makes the path unit watch another
# path or the trigger run /bin/true. So the verdict compares what systemd loaded with what the
# installer recorded right after it placed the units.
# Needs config.sh, units.sh (units_sctl, units_bus_path_v) and verdict.sh (WIRING_UNITS,
# WIRING_DEPS, verdict_wiring_props_v), from load.sh. Writes WIRING_FOUND WIRING_RECORD
# V_WIRING_RECORD, each function the ones its comment names.

readonly WIRING_RECORD_NAME=wiring.installed

# wiring_record_path_v VAR: the record beside the configuration in force (ESS_CONFIG when set, else
# the installed one beside the programs).
wiring_record_path_v() {
  local _dir=${ESS_LIB:-/nonexistent}/..
  if [[ -n ${ESS_CONFIG:-} ]]; then
    _dir=.
    [[ $ESS_CONFIG != */* ]] || _dir=${ESS_CONFIG%/*}
  fi
  printf -v "$1" '%s/%s' "${_dir:-/}" "$WIRING_RECORD_NAME"
}

# wiring_exec_text_v VAR TEXT: busctl's text of ExecStart without each command's runtime fields
# (ignore flag, timestamps, pid, code, status), which change with every run. Text that does not
# parse is kept as it is (it then matches no record written by this function).
wiring_exec_text_v() {
  local _s='"(([^"\\]|\\.)*)"' _rest _out _n _m _i _j
  [[ $2 =~ ^a\(sasbttttuii\)\ ([0-9]+)(.*)$ ]] || { printf -v "$1" '%s' "$2"; return 0; }
  _n=${BASH_REMATCH[1]} _rest=${BASH_REMATCH[2]} _out="a(sasbttttuii) ${BASH_REMATCH[1]}"
  for ((_i = 0; _i < _n; _i++)); do
    [[ $_rest =~ ^\ ($_s)\ ([0-9]+)(.*)$ ]] || { printf -v "$1" '%s' "$2"; return 0; }
    _out+=" ${BASH_REMATCH[1]} ${BASH_REMATCH[4]}" _m=${BASH_REMATCH[4]} _rest=${BASH_REMATCH[5]}
    for ((_j = 0; _j < _m; _j++)); do
      [[ $_rest =~ ^\ ($_s)(.*)$ ]] || { printf -v "$1" '%s' "$2"; return 0; }
      _out+=" ${BASH_REMATCH[1]}" _rest=${BASH_REMATCH[4]}
    done
    [[ $_rest =~ ^\ (true|false)((\ -?[0-9]+){7})(.*)$ ]] || { printf -v "$1" '%s' "$2"; return 0; }
    _rest=${BASH_REMATCH[4]}
  done
  [[ -z $_rest ]] || { printf -v "$1" '%s' "$2"; return 0; }
  printf -v "$1" '%s' "$_out"
}

# What systemd and the ESS's own files give its services: the installer records these and no other
# (wiring_dep_expected); anything else keeps the switch not armed until it is removed.
readonly WIRING_DEP_EXPECTED_RE='^(sysinit\.target|basic\.target|shutdown\.target|local-fs\.target|system\.slice|systemd-journald\.socket|systemd-tmpfiles-setup\.service|.+\.mount)$'

# wiring_dep_expected PROPERTY UNIT: UNIT is one of what systemd and the ESS's own files put in a
# service's PROPERTY (never in ConflictedBy).
wiring_dep_expected() {
  [[ $1 != ConflictedBy && $2 =~ $WIRING_DEP_EXPECTED_RE ]]
}

# wiring_deps_text_v VAR PROPERTY WORDS: a dependency list as compared: sorted, and for After
# without the .path and .timer units, whose jobs end at once (so they cannot hold a start) and
# which come and go with the ESS's own timers being enabled.
wiring_deps_text_v() {
  local _dt_in _dt_keep=() _dt_w
  read -ra _dt_in <<<"$3"
  for _dt_w in "${_dt_in[@]}"; do
    [[ $2 == After && $_dt_w == *.@(path|timer) ]] || _dt_keep+=("$_dt_w")
  done
  wiring_sorted_v "$1" "${_dt_keep[*]}"
}

# wiring_sorted_v VAR WORDS: WORDS sorted (bytewise) and joined by single spaces: systemd lists a
# unit's dependencies, a set, in no fixed order.
wiring_sorted_v() {
  local LC_ALL=C _ws_in _ws_out=() _ws_w _ws_i
  read -ra _ws_in <<<"$2"
  for _ws_w in "${_ws_in[@]}"; do
    _ws_i=${#_ws_out[@]}
    while ((_ws_i > 0)) && [[ ${_ws_out[_ws_i - 1]} > $_ws_w ]]; do
      _ws_out[_ws_i]=${_ws_out[_ws_i - 1]} _ws_i=$((_ws_i - 1))
    done
    _ws_out[_ws_i]=$_ws_w
  done
  printf -v "$1" '%s' "${_ws_out[*]}"
}

# wiring_read: what systemd has loaded for every wiring unit: one batched systemctl show, and one
# bounded busctl for Paths or ExecStart of each loaded unit. A property not read stays unset.
# Returns 1 when systemctl show failed. Writes WIRING_FOUND["UNIT|PROPERTY"].
declare -gA WIRING_FOUND=()
wiring_read() {
  local out line i=0 u key path iface prop text
  WIRING_FOUND=()
  out=$(units_sctl show --property="LoadState,FragmentPath,DropInPaths,Triggers,$WIRING_DEPS" \
    -- "${WIRING_UNITS[@]}") || return 1
  while IFS= read -r line; do
    if [[ -z $line ]]; then i=$((i + 1)); continue; fi
    ((i < ${#WIRING_UNITS[@]})) || break
    u=${WIRING_UNITS[$i]} key=${line%%=*}
    case $line in
      LoadState=* | FragmentPath=* | DropInPaths=* | Triggers=*)
        WIRING_FOUND[$u|$key]=${line#*=} ;;
      Requires=* | Requisite=* | BindsTo=* | After=* | ConflictedBy=*)
        wiring_deps_text_v "WIRING_FOUND[$u|$key]" "$key" "${line#*=}" ;;
    esac
  done <<<"$out"
  for u in "${WIRING_UNITS[@]}"; do
    # a unit not loaded differs by its LoadState alone
    [[ ${WIRING_FOUND[$u|LoadState]:-} == loaded ]] || continue
    units_bus_path_v path "$u"
    iface=org.freedesktop.systemd1.Service prop=ExecStart
    [[ $u != *.path ]] || iface=org.freedesktop.systemd1.Path prop=Paths
    text=$(timeout "$SYSTEMCTL_TIMEOUT_SEC" busctl get-property org.freedesktop.systemd1 "$path" \
      "$iface" "$prop" 2>/dev/null) || continue
    [[ $prop != ExecStart ]] || wiring_exec_text_v text "$text"
    WIRING_FOUND[$u|$prop]=$text
  done
}

# wiring_record_read: the installer's record (wiring_record_path_v). V_WIRING_RECORD=1 when it was
# read. Writes WIRING_RECORD["UNIT|PROPERTY"] V_WIRING_RECORD WIRING_RECORD_FILE.
declare -gA WIRING_RECORD=()
declare -g V_WIRING_RECORD=0 WIRING_RECORD_FILE=""
wiring_record_read() {
  local file line u key
  WIRING_RECORD=() V_WIRING_RECORD=0
  wiring_record_path_v file
  WIRING_RECORD_FILE=$file
  # a regular file only: a FIFO in its place must not hang status
  [[ -f $file && -r $file ]] || return 0
  while IFS= read -r line; do
    [[ -n $line && $line != \#* ]] || continue
    [[ $line =~ ^([A-Za-z0-9@_.:-]+)\ ([A-Za-z]+)=(.*)$ ]] || continue
    u=${BASH_REMATCH[1]} key=${BASH_REMATCH[2]}
    WIRING_RECORD[$u|$key]=${BASH_REMATCH[3]}
  done < <(head -c 65536 -- "$file" 2>/dev/null)
  V_WIRING_RECORD=1
}

# wiring_record_text: the record of what systemd loaded now (wiring_read before), as the installer
# writes it. Returns 1 when a compared property could not be read.
wiring_record_text() {
  local u p props
  printf '# Quantum ESS: the switch as systemd loaded it from the files the installer placed.\n'
  printf '# Written by install.sh; status compares what systemd loads with it. Do not edit.\n'
  for u in "${WIRING_UNITS[@]}"; do
    verdict_wiring_props_v props "$u"
    for p in $props; do
      [[ -v "WIRING_FOUND[$u|$p]" ]] || return 1
      printf '%s %s=%s\n' "$u" "$p" "${WIRING_FOUND[$u|$p]}"
    done
  done
}

# The full drill proves the systemctl method on a twin of quantum-ess.service, not on the unit
# itself: systemd merges a start into a start job of the same unit already running, so an
# operator's `systemctl start quantum-ess` during the drill's own would be folded into the drill's
# activation, which the drill then clears. The twin is that unit with two lines changed (its
# Description, and the source and reason its ExecStart passes: a drill's), and the drill checks
# that systemd loaded exactly that (wiring_twin_identical).
readonly WIRING_START_UNIT=quantum-ess.service WIRING_TWIN_UNIT=quantum-ess-drill-start.service

# wiring_twin_from_real: stdin, the text of quantum-ess.service (its unit file, or `systemctl cat`'s
# output for it), to stdout as its twin's.
wiring_twin_from_real() {
  sed -E -e "s|^(# .*/)$WIRING_START_UNIT\$|\\1$WIRING_TWIN_UNIT|" \
    -e 's|^Description=.*|Description=Quantum ESS drill: the twin of quantum-ess.service that the full drill starts for its systemctl method|' \
    -e 's|^(ExecStart=.* activate) --source systemd --reason "[^"]*"$|\1 --source drill --reason "drill: the twin of quantum-ess.service, started by systemctl"|'
}

# the dependencies systemd may add to a unit from outside its files (another unit's RequiredBy=,
# Before=, a .requires/ link): a failing or hanging one stops a start from running ExecStart=
readonly WIRING_TWIN_DEPS=Requires,Requisite,Wants,BindsTo,Upholds,After,Conflicts

# wiring_twin_deps_v VAR UNIT: UNIT's WIRING_TWIN_DEPS as loaded, each list sorted (systemd prints
# a set in no fixed order). Returns 1 when systemctl show failed. Writes VAR.
wiring_twin_deps_v() {
  local _td_out _td_line _td_words _td_text=""
  _td_out=$(units_sctl show -p "$WIRING_TWIN_DEPS" -- "$2") || return 1
  while IFS= read -r _td_line; do
    wiring_sorted_v _td_words "${_td_line#*=}"
    _td_text+="${_td_line%%=*}=$_td_words"$'\n'
  done <<<"$_td_out"
  printf -v "$1" '%s' "$_td_text"
}

# wiring_twin_identical: systemd has both units loaded from files without a reload pending, the
# twin's files (unit and drop-ins, as `systemctl cat` prints them) are quantum-ess.service's with
# only those two lines changed, and both have the same dependencies as loaded (WIRING_TWIN_DEPS).
# Returns 1 otherwise.
wiring_twin_identical() {
  local reload real twin real_deps twin_deps
  reload=$(units_sctl show -P NeedDaemonReload -- "$WIRING_START_UNIT" "$WIRING_TWIN_UNIT") ||
    return 1
  # one value per unit, a blank line between
  [[ ${reload//$'\n'/} == nono ]] || return 1
  real=$(units_sctl cat -- "$WIRING_START_UNIT" 2>/dev/null | wiring_twin_from_real) || return 1
  twin=$(units_sctl cat -- "$WIRING_TWIN_UNIT" 2>/dev/null) || return 1
  [[ -n $twin && $twin == "$real" ]] || return 1
  wiring_twin_deps_v real_deps "$WIRING_START_UNIT" && wiring_twin_deps_v twin_deps "$WIRING_TWIN_UNIT" &&
    [[ $real_deps == "$twin_deps" ]]
}
