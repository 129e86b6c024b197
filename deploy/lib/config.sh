# shellcheck shell=bash disable=SC2034 # CFG TRADING MONITOR ORDER CONFIG_PENDING: read by callers
# ESS configuration: one KEY=VALUE file, parsed (never sourced) so that a typo cannot run code and
# an unknown key is refused instead of silently ignored. The rules are contract/README.md section 2;
# the exporter applies the same ones (test/contract checks both sides on the same fixtures). Needs
# time.sh, from load.sh. Writes CFG TRADING MONITOR ORDER CONFIG_PENDING, each function the ones its
# comment names. config_error exits (78).

readonly ESS_DEFAULT_CONFIG=/etc/quantum/ess.conf
readonly EX_CONFIG=78
# The name every message of this program starts with, once (docs/operator-guide.md, "Exit codes"):
# the controller's is ess; the drill and the installer set their own after loading the libraries.
declare -g ESS_PROG=ess

# Defaults double as the list of known keys.
declare -gA ESS_DEFAULTS=(
  [TRADING_UNITS]="quantum-ai-engine quantum-execution quantum-apply-layer quantum-governor"
  [MONITOR_UNITS]="grafana-server quantum-rl-monitor redis-server prometheus"
  [START_ORDER]="quantum-governor quantum-ai-engine quantum-apply-layer quantum-execution"
  [FLAG_FILE]=/run/quantum/ESS_ON
  [LOCK_FILE]=/run/quantum-ess/ess.lock
  [STATE_DIR]=/var/lib/quantum-ess
  [AUDIT_FILE]=/var/log/quantum-ess/audit.jsonl
  [SPOOL_DIR]=/var/spool/quantum-ess
  [STOP_DEADLINE_SEC]=2
  [KILL_AFTER_SEC]=1
  [START_TIMEOUT_SEC]=30
  [START_SETTLE_SEC]=1
  [LOCK_WAIT_SEC]=10
  [LATCH_ACROSS_REBOOT]=keep
  [MAX_EXEMPTION_SEC]=3600
  [DRILL_FULL_ONCALENDAR]=""
  [REDIS_ENABLED]=yes
  [REDIS_HOST]=127.0.0.1
  [REDIS_PORT]=6379
  [REDIS_TIMEOUT_SEC]=0.5
  [ACTION_TIMEOUT_SEC]=30
  [ACTION_MODE]=check
  [ACTIONS_ON_RETRIP]=no
  [WATCHDOG_ACTION]=off
  [WATCHDOG_MAX_SILENCE_SEC]=300
  [WATCHDOG_GRACE_SEC]=600
  [MAX_WATCHDOG_PAUSE_SEC]=3600
)

# Seconds keys and their inclusive range in microseconds.
declare -gA ESS_SECONDS_RANGE=(
  [STOP_DEADLINE_SEC]="100000 60000000"
  [KILL_AFTER_SEC]="50000 59000000"
  [START_TIMEOUT_SEC]="1000000 600000000"
  [START_SETTLE_SEC]="0 60000000"
  [LOCK_WAIT_SEC]="100000 300000000"
  [REDIS_TIMEOUT_SEC]="10000 10000000"
  [ACTION_TIMEOUT_SEC]="1000000 600000000"
)

# systemd's unit types: a name ending in one has that type, any other name is a service. Trading
# units must be services; monitor units may be any type that can run or be watched.
readonly ESS_UNIT_TYPES="service socket device mount automount swap target path timer slice scope"
readonly ESS_MONITOR_TYPES="service socket timer target mount path slice scope"

declare -gA CFG=()
declare -ga TRADING=() MONITOR=() ORDER=()

# config_error SRC TEXT: the message naming the file, then exit 78.
config_error() {
  printf '%s: config error in %s: %s\n' "$ESS_PROG" "$1" "$2" >&2
  exit "$EX_CONFIG"
}

# config_unit_list SRC KEY OUTVAR ROLE: names from CFG[KEY], ".service" added when no type is
# given. Writes the array OUTVAR.
readonly CONFIG_UNIT_RE='^[A-Za-z0-9_:]([A-Za-z0-9_.:-]*[A-Za-z0-9_.:])?'\
'(@[A-Za-z0-9_.:-]*[A-Za-z0-9_.:])?$'
# never trading units: the D-Bus daemon and systemd's own services (the stop goes through them),
# and the ESS's own units (the exporter is what reports a stop)
readonly CONFIG_NEVER_TRADING_RE='^(dbus\.service|dbus-broker\.service|systemd-.*|'\
'quantum-ess([-.@].*)?)$'
config_unit_list() {
  local src=$1 key=$2 role=$4 name base suffix allowed=service
  local -n out=$3
  local -A seen=()
  [[ $role == trading ]] || allowed=$ESS_MONITOR_TYPES
  local names=()
  # no glob expansion: a name like quantum-* stays a (refused) name
  read -r -a names <<<"${CFG[$key]}"
  out=()
  for name in "${names[@]}"; do
    base=$name suffix=service
    if [[ $name =~ ^(.*)\.([a-z]+)$ && " $ESS_UNIT_TYPES " == *" ${BASH_REMATCH[2]} "* ]]; then
      base=${BASH_REMATCH[1]} suffix=${BASH_REMATCH[2]}
      [[ " $allowed " == *" $suffix "* ]] ||
        config_error "$src" "$key: '$name': only .${allowed// / .} units are allowed here"
    fi
    # never ending in "-" either: systemd applies a "name-.service.d" drop-in to every unit named
    # name-*
    [[ $base =~ $CONFIG_UNIT_RE ]] ||
      config_error "$src" "$key: invalid unit name '$name' (no leading - or ., no trailing -;\
 templates such as name@ are not units: use an instance name@instance)"
    name=$base.$suffix
    ((${#name} <= 255)) ||
      config_error "$src" "$key: unit name '${name:0:40}...' is longer than 255 characters"
    [[ -z ${seen[$name]:-} ]] || config_error "$src" "$key: $name listed twice"
    [[ $key != TRADING_UNITS || ! $name =~ $CONFIG_NEVER_TRADING_RE ]] ||
      config_error "$src" "$key: $name is part of the system or of the ESS itself;\
 stopping it would take the stop path down with it"
    seen[$name]=1
    out+=("$name")
  done
  [[ $role != trading || ${#out[@]} -gt 0 ]] ||
    config_error "$src" "$key: must list at least one unit"
}

# config_check_seconds SRC KEY: CFG[KEY] is a number of seconds within its range, or exit 78.
config_check_seconds() {
  local src=$1 key=$2 us range
  [[ ${CFG[$key]} =~ ^[0-9]{1,6}(\.[0-9]{1,6})?$ ]] ||
    config_error "$src" "$key: '${CFG[$key]}' is not a number of seconds\
 (digits, optional .fraction of up to 6 digits)"
  time_sec_to_us_v us "${CFG[$key]}"
  read -r -a range <<<"${ESS_SECONDS_RANGE[$key]}"
  ((us >= range[0] && us <= range[1])) ||
    config_error "$src" "$key: ${CFG[$key]} is out of range $(time_us_to_sec_short "${range[0]}")\
 to $(time_us_to_sec_short "${range[1]}") seconds"
}

# config_check_whole_seconds SRC KEY MIN MAX: CFG[KEY] is a whole number of seconds
# (^[0-9]{1,6}$) from MIN to MAX, or exit 78. Writes CFG[KEY] without leading zeros.
config_check_whole_seconds() {
  local src=$1 key=$2
  if [[ ! ${CFG[$key]} =~ ^[0-9]{1,6}$ ]] || ((10#${CFG[$key]} < $3 || 10#${CFG[$key]} > $4)); then
    config_error "$src" "$key: '${CFG[$key]}' is not a whole number of seconds from $3 to $4"
  fi
  CFG[$key]=$((10#${CFG[$key]}))
}

# config_check_watchdog SRC: the dead man's switch (deploy/lib/watchdog.sh): its action and its
# limits, or exit 78. The silence limit must exceed the heartbeat route's repeat_interval in
# Alertmanager, which lives on another host: that rule is the operator's (README), the shipped
# pair is checked by alerting/tests/routes.sh. Writes CFG (normalised values).
config_check_watchdog() {
  local src=$1
  [[ ${CFG[WATCHDOG_ACTION]} == @(off|alert|trip) ]] ||
    config_error "$src" "WATCHDOG_ACTION: '${CFG[WATCHDOG_ACTION]}' must be off or alert or trip"
  config_check_whole_seconds "$src" WATCHDOG_MAX_SILENCE_SEC 10 86400
  config_check_whole_seconds "$src" WATCHDOG_GRACE_SEC 1 86400
  config_check_whole_seconds "$src" MAX_WATCHDOG_PAUSE_SEC 60 86400
}

# config_check_path SRC KEY: paths go into unit files, tmpfiles.d and sed: a whitelist keeps %, &,
# \, spaces and quotes out. Writes CFG[KEY] (normalised), or exits 78.
config_check_path() {
  local src=$1 key=$2 p=${CFG[$2]} comp
  # /var/run is a link to /run; systemd wants the canonical spelling of what it watches
  [[ $key != @(FLAG_FILE|LOCK_FILE) ]] || p=${p/#\/var\/run\//\/run\/}
  [[ $p =~ ^(/[A-Za-z0-9._-]+){2,}$ ]] ||
    config_error "$src" "$key: '${CFG[$key]}' must be an absolute path of at least two components\
 made of A-Z a-z 0-9 . _ - (no trailing /)"
  local IFS=/
  for comp in ${p#/}; do
    [[ $comp != . && $comp != .. ]] ||
      config_error "$src" "$key: '${CFG[$key]}' must not contain . or .. components"
  done
  CFG[$key]=$p
}

# config_validate SRC: every rule of contract/README.md section 2, the first broken one exits 78.
# Writes CFG (normalised values), TRADING MONITOR ORDER.
config_validate() {
  config_check_values "$1"
  config_check_units "$1"
}

# config_check_values SRC: the seconds, paths and words. Writes CFG (normalised values).
config_check_values() {
  local src=$1 key deadline kill_after
  for key in "${!ESS_SECONDS_RANGE[@]}"; do config_check_seconds "$src" "$key"; done
  time_sec_to_us_v deadline "${CFG[STOP_DEADLINE_SEC]}"
  time_sec_to_us_v kill_after "${CFG[KILL_AFTER_SEC]}"
  ((kill_after < deadline)) ||
    config_error "$src" "KILL_AFTER_SEC: must be below STOP_DEADLINE_SEC\
 (SIGKILL has to land before the deadline)"
  for key in FLAG_FILE LOCK_FILE STATE_DIR AUDIT_FILE SPOOL_DIR; do
    config_check_path "$src" "$key"
  done
  # the unprivileged side writes into the spool: nothing of the root side may live there
  for key in FLAG_FILE LOCK_FILE STATE_DIR AUDIT_FILE; do
    [[ ${CFG[$key]} != "${CFG[SPOOL_DIR]}" && ${CFG[$key]} != "${CFG[SPOOL_DIR]}"/* ]] ||
      config_error "$src" "SPOOL_DIR: ${CFG[SPOOL_DIR]} contains $key (${CFG[$key]});\
 the spool is writable by the exporter"
  done
  config_check_whole_seconds "$src" MAX_EXEMPTION_SEC 60 86400
  config_check_watchdog "$src"
  [[ ${CFG[DRILL_FULL_ONCALENDAR]} =~ ^[A-Za-z0-9\ *:,./~-]{0,64}$ ]] ||
    config_error "$src" "DRILL_FULL_ONCALENDAR: '${CFG[DRILL_FULL_ONCALENDAR]}' is not an\
 OnCalendar expression (letters, digits, space and * : , . / ~ - only; empty = off)"
  [[ ${CFG[LATCH_ACROSS_REBOOT]} == @(keep|clear) ]] ||
    config_error "$src" "LATCH_ACROSS_REBOOT: '${CFG[LATCH_ACROSS_REBOOT]}' must be keep or clear"
  [[ ${CFG[REDIS_ENABLED]} == @(yes|no) ]] ||
    config_error "$src" "REDIS_ENABLED: '${CFG[REDIS_ENABLED]}' must be yes or no"
  if [[ ! ${CFG[REDIS_PORT]} =~ ^[0-9]{1,5}$ ]] ||
    ((10#${CFG[REDIS_PORT]} < 1 || 10#${CFG[REDIS_PORT]} > 65535)); then
    config_error "$src" "REDIS_PORT: '${CFG[REDIS_PORT]}' is not a TCP port (1 to 65535)"
  fi
  [[ ${CFG[REDIS_HOST]} =~ ^[A-Za-z0-9.:-]+$ ]] ||
    config_error "$src" "REDIS_HOST: '${CFG[REDIS_HOST]}' is not a host name or address"
  config_check_action_words "$src"
  config_check_path_relations "$src"
  config_check_path_homes "$src"
}

# config_check_action_words SRC: the on-trip actions' words (actions.sh): the full drill's mode and
# whether a trip while latched runs them again.
config_check_action_words() {
  [[ ${CFG[ACTION_MODE]} == @(real|check) ]] ||
    config_error "$1" "ACTION_MODE: '${CFG[ACTION_MODE]}' must be real or check"
  [[ ${CFG[ACTIONS_ON_RETRIP]} == @(yes|no) ]] ||
    config_error "$1" "ACTIONS_ON_RETRIP: '${CFG[ACTIONS_ON_RETRIP]}' must be yes or no"
}

# Directories emptied at every boot, or writable by every user: no home for what the latch relies
# on. The controller's runtime markers (contract/README.md section 4), which no path may be.
readonly CONFIG_VOLATILE_DIRS="/run /var/run /tmp /var/tmp /dev/shm"
readonly CONFIG_SHARED_DIRS="/tmp /var/tmp /dev/shm"
readonly CONFIG_MARKERS="/run/quantum-ess/persist-failed /run/quantum-ess/resume-pending\
 /run/quantum-ess/exempt /run/quantum-ess/redis-pending /run/quantum-ess/drill\
 /run/quantum-ess/config-problem"
# Trees of the kernel and of systemd: no path of the ESS lies in one (contract/README.md section 2).
readonly CONFIG_FOREIGN_TREES="/proc /sys /dev /boot /etc/systemd /lib/systemd /usr/lib/systemd\
 /run/systemd /run/user /run/dbus /var/lib/systemd"
# System directories: a key's home (STATE_DIR and SPOOL_DIR themselves, a file's directory) is none.
readonly CONFIG_SYSTEM_DIRS="/ /bin /etc /home /lib /lib32 /lib64 /libx32 /media /mnt /opt /root\
 /run /sbin /srv /tmp /usr /var /usr/bin /usr/sbin /usr/lib /usr/lib64 /usr/libexec /usr/include\
 /usr/share /usr/src /usr/local /usr/local/bin /usr/local/sbin /usr/local/lib /usr/local/share\
 /usr/local/etc /usr/local/include /var/lib /var/log /var/spool /var/cache /var/tmp /var/run\
 /var/lock /var/mail /var/opt /var/backups /var/local /var/www /run/lock /run/mount"
# The ESS's own install (from a checkout, then from the Debian package), configuration and runtime
# directories (the lock's home is the last one).
readonly CONFIG_ESS_DIRS="/usr/local/lib/quantum-ess /usr/local/lib/quantum-ess-exporter\
 /usr/lib/quantum-ess /usr/share/quantum-ess /etc/quantum /run/quantum-ess"

# config_path_meets A B: A is B, lies inside B, or B inside A.
config_path_meets() { [[ $1 == "$2" || $1 == "$2"/* || $2 == "$1"/* ]]; }

# config_check_path_relations SRC: the root side's files are distinct (a lock that is the flag trips
# the ESS; an audit trail that is state.json or the latch corrupts both), the flag is not where any
# user can create its directory, and a latch kept across a reboot is not kept on a tmpfs.
config_check_path_relations() {
  local src=$1 key other f dir
  local -a owned=() markers=()
  for f in latched state.json state.env drill.json quarantine; do
    owned+=("${CFG[STATE_DIR]}/$f")
  done
  read -r -a markers <<<"$CONFIG_MARKERS"
  for key in FLAG_FILE LOCK_FILE AUDIT_FILE; do
    for other in FLAG_FILE LOCK_FILE; do
      [[ $other != "$key" ]] || break
      ! config_path_meets "${CFG[$key]}" "${CFG[$other]}" ||
        config_error "$src" "$key: ${CFG[$key]} collides with $other (${CFG[$other]})"
    done
    for f in "${CFG[STATE_DIR]}" "${owned[@]}" "${markers[@]}"; do
      [[ $f != "${CFG[STATE_DIR]}" || ${CFG[$key]} != "${CFG[STATE_DIR]}"/* ]] || continue
      ! config_path_meets "${CFG[$key]}" "$f" ||
        config_error "$src" "$key: ${CFG[$key]} collides with $f, which the controller keeps"
    done
  done
  for dir in $CONFIG_SHARED_DIRS; do
    [[ ${CFG[FLAG_FILE]} != "$dir"/* ]] ||
      config_error "$src" "FLAG_FILE: ${CFG[FLAG_FILE]} lies in $dir, where any user can create\
 its directory first (and remove the flag)"
  done
  [[ ${CFG[LATCH_ACROSS_REBOOT]} == keep ]] || return 0
  for dir in $CONFIG_VOLATILE_DIRS; do
    ! config_path_meets "${CFG[STATE_DIR]}" "$dir" ||
      config_error "$src" "STATE_DIR: ${CFG[STATE_DIR]} lies in $dir, emptied at every boot:\
 LATCH_ACROSS_REBOOT=keep could not keep the latch (use /var/lib/..., or LATCH_ACROSS_REBOOT=clear)"
  done
}

# config_check_path_homes SRC: every path key has a dedicated location of its own: not in the
# kernel's or systemd's trees, not where any user can create it, not a system directory (nor a file
# directly in one), not one of the ESS's own directories; the audit trail outlives a boot. The same
# order as src/config/ess-conf.ts, so both name the same key.
config_check_path_homes() {
  local src=$1 key p home dir
  for key in FLAG_FILE LOCK_FILE STATE_DIR AUDIT_FILE SPOOL_DIR; do
    p=${CFG[$key]} home=${CFG[$key]%/*}
    [[ $key != @(STATE_DIR|SPOOL_DIR) ]] || home=$p
    for dir in $CONFIG_FOREIGN_TREES; do
      ! config_path_meets "$p" "$dir" ||
        config_error "$src" "$key: $p lies in $dir, which belongs to the kernel or the system"
    done
    for dir in $CONFIG_SHARED_DIRS; do
      [[ $p != "$dir"/* ]] ||
        config_error "$src" "$key: $p lies in $dir, where any user can create its directory first"
    done
    for dir in $CONFIG_VOLATILE_DIRS; do
      [[ $key != AUDIT_FILE || $p != "$dir"/* ]] ||
        config_error "$src" "$key: $p lies in $dir, emptied at every boot: the audit trail must\
 outlive it"
    done
    for dir in $CONFIG_SYSTEM_DIRS; do
      [[ ${home:-/} != "$dir" ]] ||
        config_error "$src" "$key: $p: $dir is a system directory; give $key a directory of its\
 own (such as the default, ${ESS_DEFAULTS[$key]})"
    done
    for dir in $CONFIG_ESS_DIRS; do
      [[ $key != LOCK_FILE || $p != /run/quantum-ess/* ]] || continue
      ! config_path_meets "$p" "$dir" ||
        config_error "$src" "$key: $p meets $dir, one of the ESS's own directories"
    done
  done
}

# config_check_path_owners SRC: what root writes or reads at each path key is root's alone on this
# host: the path and every directory above it that exists, as written and as its links resolve,
# owned by root and writable by no one else (a directory with the sticky bit excepted: only an
# entry's owner may replace it, and the entry is judged itself; a link's own mode means nothing).
# check-config only: the stop path never refuses over the host's state. The same rule and words as
# src/io/path-owners.ts.
config_check_path_owners() {
  local src=$1 key p deepest real problem
  for key in FLAG_FILE LOCK_FILE STATE_DIR AUDIT_FILE SPOOL_DIR; do
    p=${CFG[$key]}
    config_owner_problem_v problem "$p" "$p"
    deepest=$p
    while [[ -n $deepest && ! -e $deepest && ! -L $deepest ]]; do deepest=${deepest%/*}; done
    deepest=${deepest:-/}
    real=$(realpath -e -- "$deepest" 2>/dev/null) || real=$deepest
    [[ -n $problem || $real == "$deepest" ]] || config_owner_problem_v problem "$p" "$real"
    [[ -z $problem ]] || config_error "$src" "$key: $problem"
  done
}

# config_owner_problem_v VAR P JUDGED: the first component of JUDGED, from / down, that someone
# other than root owns or may write (see config_check_path_owners), said for path P; empty if none.
# Writes VAR.
config_owner_problem_v() {
  local _op_c="" _op_part _op_stat _op_uid _op_gid _op_mode _op_type _op_m
  local -a _op_parts
  IFS=/ read -ra _op_parts <<<"$3"
  printf -v "$1" '%s' ""
  for _op_part in "" "${_op_parts[@]}"; do
    [[ -n $_op_part || -z $_op_c ]] || continue
    [[ -z $_op_part ]] && _op_c=/ || _op_c=${_op_c%/}/$_op_part
    _op_stat=$(stat -c '%u %g %a %F' -- "$_op_c" 2>/dev/null) || continue
    read -r _op_uid _op_gid _op_mode _op_type <<<"$_op_stat"
    _op_m=$((8#$_op_mode))
    if ((_op_uid != 0)); then
      printf -v "$1" '%s' "$2: $_op_c is owned by uid $_op_uid, not root: that user could replace\
 what root writes or reads there"
      return 0
    fi
    [[ $_op_type != symbolic* ]] || continue
    [[ $_op_type != directory ]] || ((!(_op_m & 8#1000))) || continue
    if ((_op_m & 8#2)); then
      printf -v "$1" '%s' "$2: $_op_c is writable by every user (mode $_op_mode): anyone could\
 replace what root writes or reads there"
      return 0
    fi
    if ((_op_m & 8#20 && _op_gid != 0)); then
      printf -v "$1" '%s' "$2: $_op_c is writable by group $_op_gid (mode $_op_mode): its members\
 could replace what root writes or reads there"
      return 0
    fi
  done
}

# config_check_units SRC: the three unit lists, and how they relate. Writes TRADING MONITOR ORDER.
config_check_units() {
  local src=$1 u
  config_unit_list "$src" TRADING_UNITS TRADING trading
  config_unit_list "$src" MONITOR_UNITS MONITOR monitor
  config_unit_list "$src" START_ORDER ORDER trading

  local -A trading=() ordered=()
  for u in "${TRADING[@]}"; do trading[$u]=1; done
  for u in "${MONITOR[@]}"; do
    [[ -z ${trading[$u]:-} ]] || config_error "$src" "MONITOR_UNITS: $u is also a trading unit"
  done
  for u in "${ORDER[@]}"; do
    [[ -n ${trading[$u]:-} ]] || config_error "$src" "START_ORDER: $u is not in TRADING_UNITS"
    ordered[$u]=1
  done
  for u in "${TRADING[@]}"; do
    [[ -n ${ordered[$u]:-} ]] || config_error "$src" "START_ORDER: trading unit $u is missing"
  done
}

# config_load: ESS_CONFIG or the default file. A missing default file means "all defaults"; a
# missing file named in ESS_CONFIG is an error. Writes CFG TRADING MONITOR ORDER.
# shellcheck disable=SC2094 # config_error only prints the file name
config_load() {
  local src=${ESS_CONFIG:-$ESS_DEFAULT_CONFIG} explicit=${ESS_CONFIG:-}
  local key line n=0 value
  local -A set_at=()
  for key in "${!ESS_DEFAULTS[@]}"; do CFG[$key]=${ESS_DEFAULTS[$key]}; done
  if [[ -e $src ]]; then
    [[ -f $src && -r $src ]] || config_error "$src" "file is not a readable regular file"
    while IFS= read -r line || [[ -n $line ]]; do
      n=$((n + 1))
      [[ $line != *$'\r'* ]] ||
        config_error "$src" "line $n: carriage return (CRLF line ends);\
 save the file with LF line ends"
      [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
      [[ $line =~ ^[[:space:]]*([A-Z_][A-Z0-9_]*)=(.*)$ ]] ||
        config_error "$src" "line $n: expected KEY=VALUE, got '${line:0:80}'"
      key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
      [[ -v ESS_DEFAULTS[$key] ]] || config_error "$src" "$key: unknown key (line $n)"
      [[ -z ${set_at[$key]:-} ]] ||
        config_error "$src" "$key: set twice (lines ${set_at[$key]} and $n)"
      set_at[$key]=$n
      if [[ $value =~ ^\"(.*)\"$ ]]; then value=${BASH_REMATCH[1]}; fi
      CFG[$key]=$value
    done <"$src"
  elif [[ -n $explicit ]]; then
    config_error "$src" "file not found"
  fi
  config_validate "$src"
}

# config_check_file_v VAR FILE: FILE judged by the one validation (config_load, as check-config and
# the installer judge it) without loading it here: 0, or 1 with VAR set to what config_error says
# (the key, the line and the problem, without the program's name). Writes VAR.
config_check_file_v() {
  local _cf_err
  if _cf_err=$(ESS_CONFIG=$2 config_load 2>&1 >/dev/null); then
    printf -v "$1" '%s' ""
    return 0
  fi
  _cf_err=${_cf_err##*config error in "$2": }
  printf -v "$1" '%s' "${_cf_err%%$'\n'*}"
  return 1
}

# Where the installer puts the latch drop-in of every trading unit. The drop-ins are what systemd
# latches: a unit carrying one is a trading unit, whatever a snapshot says.
readonly ESS_UNIT_DIR=/etc/systemd/system ESS_DROPIN_NAME=50-quantum-ess-latch.conf
# the installer's snapshot is about 1 KiB; anything far larger is not its file
readonly CONFIG_SNAPSHOT_MAX_BYTES=65536

# config_read_bounded_v VAR FILE MAX: FILE's content when it is a regular file of at most MAX bytes,
# else 1 (VAR empty). A FIFO or a device is never opened (it could block or never end); a file
# swapped for one between the test and the open is caught on the descriptor. Writes VAR.
config_read_bounded_v() {
  local _rb_fd _rb_text="" _rb_more=""
  printf -v "$1" '%s' ""
  [[ -f $2 ]] || return 1
  { exec {_rb_fd}<"$2"; } 2>/dev/null || return 1
  if [[ -f /dev/fd/$_rb_fd ]]; then
    IFS= read -r -d '' -N "$3" -u "$_rb_fd" _rb_text || true
    IFS= read -r -d '' -N 1 -u "$_rb_fd" _rb_more || true
  else
    _rb_more=x
  fi
  exec {_rb_fd}<&-
  [[ -z $_rb_more ]] || return 1
  printf -v "$1" '%s' "$_rb_text"
}

# config_dropin_units: the units carrying the installer's latch drop-in (a glob, no fork).
# Writes CONFIG_DROPIN_UNITS.
declare -ga CONFIG_DROPIN_UNITS=()
config_dropin_units() {
  local f u
  CONFIG_DROPIN_UNITS=()
  for f in "$ESS_UNIT_DIR"/*.service.d/"$ESS_DROPIN_NAME"; do
    [[ -e $f ]] || continue
    u=${f%.d/*} u=${u##*/}
    [[ ${u%.service} =~ $CONFIG_UNIT_RE ]] && CONFIG_DROPIN_UNITS+=("$u")
  done
}

# The installer's snapshot, as config_snapshot writes it: four declarations and the completion mark,
# one line each. Its values obey the rules of section 2: none holds " $ ` \ ( ) ; & | < > or a
# quote, so with only the characters below, eval can run nothing but `declare`, and it either parses
# the whole line or nothing. Globs, not regexes: a regex costs bash about 100 µs to compile, and this
# runs before the stop.
readonly CONFIG_SNAPSHOT_FORM=$'declare -gA CFG=(*)\ndeclare -ga TRADING=(*)\ndeclare -ga MONITOR=(*)'\
$'\ndeclare -ga ORDER=(*)\ndeclare -g ESS_CONFIG_SNAPSHOT=complete\n'
readonly CONFIG_SNAPSHOT_CHARS=$'*[!][A-Za-z0-9_./:=\"() \n*,~@-]*'

# config_snapshot_load FILE: the installer's snapshot, read bounded and never believed blindly: its
# exact form, every key present, the values the stop path computes with (the seconds, the paths,
# the trading units) within their rules. 1 with CONFIG_PROBLEM set (CFG TRADING MONITOR ORDER then
# undefined) when it does not check out. Writes CFG TRADING MONITOR ORDER CONFIG_PROBLEM.
config_snapshot_load() {
  local f=$1 text key us range v
  if ! config_read_bounded_v text "$f" "$CONFIG_SNAPSHOT_MAX_BYTES"; then
    CONFIG_PROBLEM="$f is missing, not a regular file, or over $CONFIG_SNAPSHOT_MAX_BYTES bytes"
    return 1
  fi
  # shellcheck disable=SC2053 # the right-hand sides are the globs above
  if [[ $text != $CONFIG_SNAPSHOT_FORM || $text == $CONFIG_SNAPSHOT_CHARS ]] ||
    ! eval "${text//$'\n'/ ;}" 2>/dev/null; then
    CONFIG_PROBLEM="$f is not the installer's snapshot (incomplete, edited or corrupted)"
    return 1
  fi
  for key in "${!ESS_DEFAULTS[@]}"; do
    [[ -v CFG[$key] ]] || { CONFIG_PROBLEM="$f: $key is missing"; return 1; }
  done
  for key in "${!ESS_SECONDS_RANGE[@]}"; do
    v=${CFG[$key]} range=${ESS_SECONDS_RANGE[$key]} us=-1
    [[ $v != [0-9]* || $v == *[!0-9.]* || $v == *.*.* || ${#v} -gt 13 ]] ||
      time_sec_to_us_v us "$v"
    ((us >= ${range% *} && us <= ${range#* })) ||
      { CONFIG_PROBLEM="$f: $key '${v:0:20}' is out of its rule"; return 1; }
  done
  for key in FLAG_FILE LOCK_FILE STATE_DIR AUDIT_FILE SPOOL_DIR; do
    v=${CFG[$key]}
    [[ $v == /?*/?* && $v != *[!A-Za-z0-9._/-]* && $v != *//* && $v != */ ]] ||
      { CONFIG_PROBLEM="$f: $key '${v:0:60}' is not a path"; return 1; }
  done
  ((${#TRADING[@]} > 0)) || { CONFIG_PROBLEM="$f: no trading unit"; return 1; }
  for v in "${TRADING[@]}"; do
    [[ $v == [A-Za-z0-9_:]*.service && $v != *[!A-Za-z0-9_.:@-]* ]] ||
      { CONFIG_PROBLEM="$f: '${v:0:60}' is not a trading unit name"; return 1; }
  done
}

# config_from_dropins: the stop path's configuration when the snapshot does not check out: the
# defaults, the paths the latch drop-ins assert on (what systemd refuses starts on), and every unit
# carrying one (the default list when none does). Never exits: the stop goes on. Writes CFG TRADING
# MONITOR ORDER.
config_from_dropins() {
  local key text="" line p
  for key in "${!ESS_DEFAULTS[@]}"; do CFG[$key]=${ESS_DEFAULTS[$key]}; done
  TRADING=("${CONFIG_DROPIN_UNITS[@]}") MONITOR=() ORDER=()
  if ((${#TRADING[@]} == 0)); then
    read -r -a TRADING <<<"${CFG[TRADING_UNITS]}"
    TRADING=("${TRADING[@]/%/.service}")
  fi
  ((${#CONFIG_DROPIN_UNITS[@]} == 0)) || config_read_bounded_v text \
    "$ESS_UNIT_DIR/${CONFIG_DROPIN_UNITS[0]}.d/$ESS_DROPIN_NAME" 4096 || true
  while IFS= read -r line; do
    p=${line#*=!}
    [[ $p =~ ^(/[A-Za-z0-9._-]+){2,}$ ]] || continue
    case $line in
      AssertPathExists=!*/latched) CFG[STATE_DIR]=${p%/latched} ;;
      AssertPathExists=!*) CFG[FLAG_FILE]=$p ;;
      AssertDirectoryNotEmpty=!*/incoming) CFG[SPOOL_DIR]=${p%/incoming} ;;
    esac
  done <<<"$text"
}

# config_cross_check: the unit list against the units carrying the latch drop-in. Both are stopped
# and judged (a unit systemd latches is a trading unit); a difference is a problem the verdict
# names. Writes TRADING CONFIG_PROBLEM.
config_cross_check() {
  local u only_list=() only_dropin=()
  local -A listed=()
  for u in "${TRADING[@]}"; do listed[$u]=1; done
  for u in "${CONFIG_DROPIN_UNITS[@]}"; do
    if [[ -n ${listed[$u]:-} ]]; then listed[$u]=2; else only_dropin+=("$u"); fi
  done
  for u in "${TRADING[@]}"; do [[ ${listed[$u]} == 2 ]] || only_list+=("$u"); done
  ((${#only_list[@]} + ${#only_dropin[@]} > 0)) || return 0
  TRADING+=("${only_dropin[@]}")
  [[ -z $CONFIG_PROBLEM ]] || CONFIG_PROBLEM+="; "
  CONFIG_PROBLEM+="the installed unit list does not match the latch drop-ins in $ESS_UNIT_DIR"
  ((${#only_list[@]} == 0)) || CONFIG_PROBLEM+=" (listed without one: ${only_list[*]})"
  ((${#only_dropin[@]} == 0)) || CONFIG_PROBLEM+=" (carrying one, not listed: ${only_dropin[*]})"
}

# config_load_in_force: the configuration the installer validated and built the drop-ins and units
# from (its snapshot beside the programs). Editing /etc/quantum/ess.conf changes nothing until the
# installer runs again: a controller that followed the edited file would stop and judge other
# units than the ones systemd latches. ESS_CONFIG (tests, a checkout without an install) wins.
# The snapshot is checked, never believed blindly (config_snapshot_load); when it does not check
# out, CONFIG_PROBLEM names it (the verdict is then not armed) and the stop path
# (CONFIG_STOP_PATH=1) stops from the latch drop-ins instead (config_from_dropins), while every
# other command parses the installer's copy of ess.conf (exit 78 when that is bad too). In every
# case, every unit carrying the latch drop-in is a trading unit (config_cross_check).
# Writes CFG TRADING MONITOR ORDER CONFIG_PROBLEM, and CONFIG_PENDING (1 when /etc/quantum/ess.conf
# differs from the configuration in force; not read on the stop path).
declare -g CONFIG_PENDING=0 CONFIG_PROBLEM="" CONFIG_STOP_PATH=0
declare -g CONFIG_IN_FORCE_LOADED=0
config_load_in_force() {
  local installed=${ESS_LIB:-/nonexistent/lib} current="" in_force=""
  installed=${installed%/*}/ess.conf.installed
  # once per run: activate's first stop loads it, and so would the rest of the activation after it
  ((!CONFIG_IN_FORCE_LOADED)) || return 0
  CONFIG_IN_FORCE_LOADED=1
  if [[ -n ${ESS_CONFIG:-} ]]; then
    config_load
    return
  fi
  if [[ ! -e $installed && ! -e $installed.bash ]]; then
    config_load # a checkout, no install: the live file
    return
  fi
  config_dropin_units
  if config_snapshot_load "$installed.bash"; then
    :
  elif ((CONFIG_STOP_PATH)); then
    config_from_dropins
  else
    ESS_CONFIG=$installed config_load
  fi
  config_cross_check
  # an edit waiting for the installer is status's to say; the stop path does not read it
  ((!CONFIG_STOP_PATH)) || return 0
  config_read_bounded_v current "$ESS_DEFAULT_CONFIG" "$CONFIG_SNAPSHOT_MAX_BYTES" || true
  config_read_bounded_v in_force "$installed" "$CONFIG_SNAPSHOT_MAX_BYTES" || true
  [[ $current == "$in_force" ]] || CONFIG_PENDING=1
}

# config_reload_in_force: the configuration in force judged again, after a repair put back what it
# was judged on (rearm restores a removed latch drop-in: the unit list matches again). Writes what
# config_load_in_force writes.
config_reload_in_force() {
  CONFIG_IN_FORCE_LOADED=0 CONFIG_PROBLEM="" CONFIG_PENDING=0
  config_load_in_force
}

# config_snapshot: the loaded configuration as bash that restores it (global arrays) when sourced.
config_snapshot() {
  local name text
  for name in CFG TRADING MONITOR ORDER; do
    text=$(declare -p "$name")
    printf 'declare -g%s\n' "${text#declare -}"
  done
  printf 'declare -g ESS_CONFIG_SNAPSHOT=complete\n'
}

# config_print: the normalised configuration, as check-config prints it (the exporter prints the
# same).
config_print() {
  local key lines=()
  for key in "${!ESS_DEFAULTS[@]}"; do
    case $key in
      TRADING_UNITS) lines+=("$key=${TRADING[*]}") ;;
      MONITOR_UNITS) lines+=("$key=${MONITOR[*]}") ;;
      START_ORDER) lines+=("$key=${ORDER[*]}") ;;
      *) lines+=("$key=${CFG[$key]}") ;;
    esac
  done
  printf '%s\n' "${lines[@]}" | sort
}
