# shellcheck shell=bash
# ESS configuration: one KEY=VALUE file, parsed (never sourced) so that a typo cannot run code and an
# unknown key is refused instead of silently ignored. Sourced by ess_controller.sh and proof_ess.sh.

readonly ESS_DEFAULT_CONFIG=/etc/quantum/ess.conf
readonly EX_CONFIG=78

# Defaults double as the list of known keys.
declare -gA ESS_DEFAULTS=(
  [TRADING_UNITS]="quantum-ai-engine quantum-execution quantum-apply-layer quantum-governor"
  [MONITOR_UNITS]="grafana-server quantum-rl-monitor redis-server prometheus"
  [START_ORDER]="quantum-governor quantum-ai-engine quantum-apply-layer quantum-execution"
  [FLAG_FILE]=/run/quantum/ESS_ON
  [LOCK_FILE]=/run/quantum/ess.lock
  [STATE_DIR]=/var/lib/quantum-ess
  [AUDIT_FILE]=/var/log/quantum-ess/audit.jsonl
  [SPOOL_DIR]=/var/spool/quantum-ess
  [STOP_DEADLINE_SEC]=2
  [KILL_AFTER_SEC]=1
  [START_TIMEOUT_SEC]=30
  [START_SETTLE_SEC]=1
  [LOCK_WAIT_SEC]=10
  [REDIS_ENABLED]=yes
  [REDIS_HOST]=127.0.0.1
  [REDIS_PORT]=6379
  [REDIS_TIMEOUT_SEC]=0.5
)

declare -gA CFG=()
declare -ga TRADING=() MONITOR=() ORDER=()

config_error() {
  printf 'ess: config error in %s: %s\n' "$1" "$2" >&2
  exit "$EX_CONFIG"
}

# Unit names are passed to systemctl unquoted by design (arrays), but must never look like options.
normalize_units() {
  local src=$1 key=$2 name
  local -n out=$3
  out=()
  for name in ${CFG[$key]}; do
    [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9@._:-]*$ ]] || config_error "$src" "$key: invalid unit name '$name'"
    [[ $name == *.* ]] || name+=.service
    out+=("$name")
  done
  ((${#out[@]} > 0)) || config_error "$src" "$key: must list at least one unit"
}

is_decimal() { [[ $1 =~ ^[0-9]+(\.[0-9]{1,6})?$ ]]; }

# Seconds (decimal) to integer microseconds, so deadlines compare with $EPOCHREALTIME in pure bash.
sec_to_us() {
  local int=${1%%.*} frac=000000
  [[ $1 == *.* ]] && frac=${1#*.}000000
  echo $((10#$int * 1000000 + 10#${frac:0:6}))
}

validate_config() {
  local src=$1 key u
  for key in STOP_DEADLINE_SEC KILL_AFTER_SEC START_TIMEOUT_SEC START_SETTLE_SEC LOCK_WAIT_SEC REDIS_TIMEOUT_SEC; do
    is_decimal "${CFG[$key]}" || config_error "$src" "$key: '${CFG[$key]}' is not a number of seconds"
  done
  (($(sec_to_us "${CFG[STOP_DEADLINE_SEC]}") > 0)) || config_error "$src" "STOP_DEADLINE_SEC: must be > 0"
  (($(sec_to_us "${CFG[REDIS_TIMEOUT_SEC]}") > 0)) || config_error "$src" "REDIS_TIMEOUT_SEC: must be > 0 (0 would let a hung Redis keep a process forever)"
  (($(sec_to_us "${CFG[KILL_AFTER_SEC]}") < $(sec_to_us "${CFG[STOP_DEADLINE_SEC]}"))) ||
    config_error "$src" "KILL_AFTER_SEC: must be below STOP_DEADLINE_SEC (SIGKILL has to land before the deadline)"
  for key in FLAG_FILE LOCK_FILE STATE_DIR AUDIT_FILE SPOOL_DIR; do
    [[ ${CFG[$key]} == /* && ${CFG[$key]} != *[[:space:]]* ]] ||
      config_error "$src" "$key: '${CFG[$key]}' must be an absolute path without spaces"
  done
  # /var/run is a link to /run; systemd wants the canonical spelling in unit files.
  CFG[FLAG_FILE]=${CFG[FLAG_FILE]/#\/var\/run\//\/run\/}
  CFG[LOCK_FILE]=${CFG[LOCK_FILE]/#\/var\/run\//\/run\/}
  [[ ${CFG[REDIS_ENABLED]} == @(yes|no) ]] || config_error "$src" "REDIS_ENABLED: must be yes or no"
  if [[ ! ${CFG[REDIS_PORT]} =~ ^[0-9]{1,5}$ ]] || ((CFG[REDIS_PORT] < 1 || CFG[REDIS_PORT] > 65535)); then
    config_error "$src" "REDIS_PORT: '${CFG[REDIS_PORT]}' is not a TCP port"
  fi
  [[ ${CFG[REDIS_HOST]} =~ ^[A-Za-z0-9.:-]+$ ]] || config_error "$src" "REDIS_HOST: '${CFG[REDIS_HOST]}' is not a host name or address"

  normalize_units "$src" TRADING_UNITS TRADING
  normalize_units "$src" MONITOR_UNITS MONITOR
  normalize_units "$src" START_ORDER ORDER

  local -A seen=()
  for u in "${TRADING[@]}"; do
    [[ -z ${seen[$u]:-} ]] || config_error "$src" "TRADING_UNITS: $u listed twice"
    seen[$u]=trading
  done
  for u in "${MONITOR[@]}"; do
    [[ ${seen[$u]:-} != trading ]] || config_error "$src" "MONITOR_UNITS: $u is also a trading unit"
  done
  local -A ordered=()
  for u in "${ORDER[@]}"; do
    [[ ${seen[$u]:-} == trading ]] || config_error "$src" "START_ORDER: $u is not in TRADING_UNITS"
    [[ -z ${ordered[$u]:-} ]] || config_error "$src" "START_ORDER: $u listed twice"
    ordered[$u]=1
  done
  for u in "${TRADING[@]}"; do
    [[ -n ${ordered[$u]:-} ]] || config_error "$src" "START_ORDER: trading unit $u is missing"
  done
}

# load_config: ESS_CONFIG or the default file. A missing default file means "all defaults"; a missing
# file named in ESS_CONFIG is an error.
# shellcheck disable=SC2094 # config_error only prints the file name
load_config() {
  local src=${ESS_CONFIG:-$ESS_DEFAULT_CONFIG} explicit=${ESS_CONFIG:-}
  local key line n=0 value
  for key in "${!ESS_DEFAULTS[@]}"; do CFG[$key]=${ESS_DEFAULTS[$key]}; done
  if [[ -e $src ]]; then
    [[ -r $src ]] || config_error "$src" "file is not readable"
    while IFS= read -r line || [[ -n $line ]]; do
      n=$((n + 1))
      [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
      [[ $line =~ ^[[:space:]]*([A-Z_][A-Z0-9_]*)=(.*)$ ]] ||
        config_error "$src" "line $n: expected KEY=VALUE, got '$line'"
      key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
      [[ -v ESS_DEFAULTS[$key] ]] || config_error "$src" "line $n: unknown key '$key'"
      if [[ $value =~ ^\"(.*)\"$ ]]; then value=${BASH_REMATCH[1]}; fi
      CFG[$key]=$value
    done <"$src"
  elif [[ -n $explicit ]]; then
    config_error "$src" "file not found"
  fi
  validate_config "$src"
}
