#!/usr/bin/env bash
# ess_fleet.sh - the ESS across several trading hosts, through the Prometheus and Alertmanager HA
# pair the desk already runs (docs/fleet.md).
#
#   trip              one alert, posted to every Alertmanager given, latching every targeted host
#   status            every host's ESS state from Prometheus' HTTP API, and which did not latch
#   render-receivers  Alertmanager's per-host webhook receiver from the discovered ESS targets
#
# Trips go through Alertmanager itself, so a manual stop takes the same path as an automatic one:
# HA gossip, per-host retries, the receiver's scope check. Nothing here ever clears a latch.
set -Eeuo pipefail
export LC_ALL=C

readonly EX_NOT_LATCHED=1 EX_UNREACHABLE=2 EX_NO_HOSTS=3 EX_USAGE=64 EX_DATAERR=65
readonly EX_UNAVAILABLE=69
# the receiver's identity rule for host and group names (exporter config keys host, groups)
readonly NAME_RE='^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'
# a host name, or an instance (host:port, [IPv6]:port) for status --expect-hosts
readonly INSTANCE_RE='^[A-Za-z0-9[][]A-Za-z0-9._:[-]{0,254}$'
readonly URL_RE='^https?://[]A-Za-z0-9._~:@%+/?&=[-]+$'
readonly REASON_MAX=200
# what a file this tool hands to amtool or curl may weigh: a certificate bundle or an http config
readonly INPUT_MAX_BYTES=1048576
# what one answer from Prometheus may weigh
readonly ANSWER_MAX_BYTES=16777216
readonly ALERTNAME=ESSManualFleetStop
readonly DEFAULT_JOB=quantum-ess
readonly MARK_BEGIN='# BEGIN ess-fleet-receiver' MARK_END='# END ess-fleet-receiver'
TMP_DIR="" PROM_NOW=""

usage() {
  cat <<'EOF'
Usage: ess_fleet.sh COMMAND [OPTIONS]

Commands:
  trip --reason TEXT [--host NAME | --group NAME] [--alertmanager URL]... [--http-config FILE]
       [--duration DURATION]
      Latch every host (no --host/--group: ess_scope="fleet"), the hosts of one group
      (ess_group) or one host (ess_host) through Alertmanager: posts one new alert
      ESSManualFleetStop with ess_trip="true" and a unique trip_id to every Alertmanager URL
      given (default http://127.0.0.1:9093; give both members of an HA pair), and reads it back:
      an Alertmanager counts only when it holds the alert active (not silenced, inhibited or
      already ended by its clock). Succeeds if at least one does; names those that did not. The alert fires for DURATION (default 1h, 1m to
      24h): Alertmanager keeps retrying an unreachable host that long.
  status --prometheus URL [--job NAME] [--expect-latched] [--expect-hosts H1,H2,...] [--json]
       [--cacert FILE]
      Every ESS target Prometheus knows (job, default quantum-ess): host, groups, up, active,
      verdict, switch armed, last activation and its latency; then "N of M hosts latched", the
      hosts not latched, the unreachable ones and, with --expect-hosts (host names or
      instances), those Prometheus has no target for.
  render-receivers (--targets-file FILE | --prometheus URL [--job NAME] [--cacert FILE])
       [--name NAME] [--token-file FILE] [--ca-file FILE] [--config FILE]
      The fleet receiver for alertmanager.yml, one webhook per ESS target (from a Prometheus
      file_sd JSON file, or the targets Prometheus discovered now, whatever the discovery):
      https://TARGET/alertmanager with the bearer token file and CA file. With --config, prints
      that file with its "# BEGIN ess-fleet-receiver" ... "# END ess-fleet-receiver" block
      replaced. Alertmanager's webhook URLs are static: re-render and reload when targets change.
  help
      This text.

There is no fleet-wide deactivate, on purpose (ISO 13850: a stop is reset deliberately, where the
machine is): resume each host at that host, after checking it, with
  sudo ess_controller.sh deactivate --reason TEXT
First end the trip alert (amtool silence add trip_id=ID), or its repeats latch the host again.

Exit codes: 0 ok (status: every host reachable, and latched with --expect-latched);
  1 status --expect-latched: a reachable host is not latched, or latched with a trading unit
    still running or unknown (verdict violation or unknown: listed as LATCHED BUT NOT STOPPED);
  2 status: a host is unreachable (up == 0), reports no ESS state or has no target;
  3 status: Prometheus knows no ESS target; 64 usage; 65 bad input file;
  69 no Alertmanager accepted the trip, Prometheus unreachable or answered an error, a tool missing.
EOF
}

die() { # die CODE MESSAGE...
  local code=$1
  shift
  printf 'ess_fleet.sh: %s\n' "$*" >&2
  exit "$code"
}

# usage_error MESSAGE: what is wrong, in one line, and where the whole usage is (exit 64)
usage_error() {
  printf "ess_fleet.sh: %s (see 'ess_fleet.sh --help')\n" "$1" >&2
  exit "$EX_USAGE"
}

need_value() { # need_value OPTION ARGC
  (($2 >= 2)) || usage_error "$1 needs a value"
}

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null ||
      die "$EX_UNAVAILABLE" "$tool not found (apt-get install -y $(tool_package "$tool"))"
  done
}

tool_package() {
  case $1 in
    amtool) echo prometheus-alertmanager ;;
    *) echo "$1" ;;
  esac
}

check_name() { # check_name WHAT VALUE
  [[ $2 =~ $NAME_RE ]] ||
    usage_error "$1 '$2' is not a valid name: [A-Za-z0-9][A-Za-z0-9._-], at most 63 characters"
}

check_url() { # check_url OPTION VALUE
  [[ $2 =~ $URL_RE ]] || usage_error "$1 '$2' is not an http:// or https:// URL"
}

# check_input_file OPTION FILE: a regular, readable file of at most INPUT_MAX_BYTES. amtool and curl
# read such files whole: a FIFO, /dev/zero or a huge file would hang or fill memory.
check_input_file() {
  local size
  [[ -r $2 ]] || usage_error "$1: cannot read $2"
  [[ -f $2 ]] || usage_error "$1: $2 is not a regular file"
  size=$(stat -Lc %s -- "$2")
  ((size <= INPUT_MAX_BYTES)) ||
    usage_error "$1: $2 is $size bytes, more than $INPUT_MAX_BYTES: not a configuration file"
}

make_tmp() {
  TMP_DIR=$(mktemp -d)
  trap 'rm -rf "$TMP_DIR"' EXIT
}

# ---------------------------------------------------------------- trip
# duration_seconds TEXT: 90, 90s, 30m, 2h -> seconds; empty when not a duration.
duration_seconds() {
  [[ $1 =~ ^([0-9]{1,5})([smh]?)$ ]] || return 0
  local n=$((10#${BASH_REMATCH[1]}))
  case ${BASH_REMATCH[2]} in
    m) n=$((n * 60)) ;;
    h) n=$((n * 3600)) ;;
  esac
  printf '%d\n' "$n"
}

# check_reason TEXT: one printable ASCII line, not blank, at most REASON_MAX characters.
check_reason() {
  [[ $1 =~ [^[:space:]] ]] || usage_error "--reason must not be empty"
  [[ $1 =~ ^[\ -~]+$ ]] ||
    usage_error "--reason must be one line of printable ASCII (no tabs, newlines or accents)"
  ((${#1} <= REASON_MAX)) || usage_error "--reason is ${#1} characters, at most $REASON_MAX"
}

# amtool reads label and annotation values as matcher values: quote and backslash are escaped.
am_escape() {
  local v=${1//\\/\\\\}
  printf '%s' "${v//\"/\\\"}"
}

new_trip_id() {
  local hex
  hex=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s-%s\n' "$(date -u +%Y%m%dT%H%M%SZ)" "$hex"
}

actor() {
  local who=${SUDO_USER:-${USER:-}}
  [[ -n $who ]] || who=$(id -un 2>/dev/null || echo "uid$EUID")
  printf '%s@%s\n' "$who" "${HOSTNAME:-unknown-host}"
}

# trip_post URL HTTP_CONFIG ARGS...: one amtool alert add; its error text on stdout when it fails.
trip_post() {
  local url=$1 http_config=$2 out
  shift 2
  local -a opts=(--alertmanager.url="$url" --timeout=10s)
  [[ -z $http_config ]] || opts+=(--http.config.file="$http_config")
  if out=$(amtool alert add "${opts[@]}" "$@" 2>&1); then return 0; fi
  printf '%s' "${out:-amtool failed without a message}" | tr '\n' ' '
  return 1
}

# trip_verify URL HTTP_CONFIG TRIP_ID: whether that Alertmanager holds the trip as an ACTIVE alert.
# amtool alert add also succeeds for an alert a silence mutes, an inhibition rule suppresses or
# whose end is already past for Alertmanager (this machine's clock behind its): none of those is
# ever sent to a host. Why it is not active goes to stdout.
trip_verify() {
  local url=$1 id=$3 out why
  local -a opts=(--alertmanager.url="$url" --timeout=10s -o json)
  [[ -z $2 ]] || opts+=(--http.config.file="$2")
  if ! out=$(amtool alert query "${opts[@]}" "trip_id=$id" 2>&1); then
    printf 'accepted, but it could not be read back: %s' "$(tr '\n' ' ' <<<"$out")"
    return 1
  fi
  [[ $(jq -r 'length' <<<"$out" 2>/dev/null) == 0 ]] || return 0
  out=$(amtool alert query "${opts[@]}" --silenced --inhibited "trip_id=$id" 2>/dev/null) || out=""
  why=$(jq -r '.[0].status // empty | (.silencedBy // []) as $s | (.inhibitedBy // []) as $i
    | if ($s | length) > 0 then "SILENCED by \($s | join(" ")) (amtool silence expire ID)"
      elif ($i | length) > 0 then "INHIBITED by alert(s) \($i | join(" "))"
      else "not active (state \(.state))" end' <<<"$out" 2>/dev/null) || why=""
  [[ -n $why ]] || why="not active: its end is already past for that Alertmanager (is this"
  [[ $why != "not active: its end"* ]] || why+=" machine's clock, $(date -u +%FT%TZ), behind?)"
  printf 'accepted but %s: it will NOT be sent to any host' "$why"
  return 1
}

# trip_labels HOST GROUP TRIP_ID: the alert's labels, one per line. No ess_host/ess_group means the
# whole fleet, said explicitly with ess_scope="fleet" so that the audit line reads scope=fleet.
trip_labels() {
  printf '%s\n' "alertname=$ALERTNAME" 'ess_trip=true' 'severity=critical' "trip_id=$3"
  if [[ -n $1 ]]; then
    printf 'ess_host=%s\n' "$1"
  elif [[ -n $2 ]]; then
    printf 'ess_group=%s\n' "$2"
  else
    printf 'ess_scope=fleet\n'
  fi
}

cmd_trip() {
  local reason="" reason_set=0 host="" group="" http_config="" duration=1h
  local -a ams=()
  while (($#)); do
    case $1 in
      --reason) need_value "$1" $#; reason=$2 reason_set=1; shift 2 ;;
      --host) need_value "$1" $#; host=$2; shift 2 ;;
      --group) need_value "$1" $#; group=$2; shift 2 ;;
      --alertmanager) need_value "$1" $#; check_url "$1" "$2"; ams+=("$2"); shift 2 ;;
      --http-config) need_value "$1" $#; http_config=$2; shift 2 ;;
      --duration) need_value "$1" $#; duration=$2; shift 2 ;;
      *) usage_error "trip: unknown option '$1'" ;;
    esac
  done
  ((reason_set)) || usage_error "trip needs --reason TEXT (why trading is being stopped)"
  check_reason "$reason"
  [[ -z $host || -z $group ]] || usage_error "trip takes --host or --group, not both"
  [[ -z $host ]] || check_name --host "$host"
  [[ -z $group ]] || check_name --group "$group"
  [[ -z $http_config ]] || check_input_file --http-config "$http_config"
  local seconds
  seconds=$(duration_seconds "$duration")
  if [[ -z $seconds ]] || ((seconds < 60 || seconds > 86400)); then
    usage_error "--duration '$duration' must be 1m to 24h (e.g. 90s, 30m, 2h)"
  fi
  ((${#ams[@]})) || ams=(http://127.0.0.1:9093)
  require_tools amtool jq
  trip_send "$reason" "$host" "$group" "$http_config" "$seconds" "${ams[@]}"
}

trip_scope_text() { # trip_scope_text HOST GROUP
  if [[ -n $1 ]]; then echo "host $1"; elif [[ -n $2 ]]; then echo "group $2"; else echo fleet; fi
}

# trip_send REASON HOST GROUP HTTP_CONFIG SECONDS URL...
trip_send() {
  local reason=$1 host=$2 group=$3 http_config=$4 seconds=$5 id now scope who
  shift 5
  id=$(new_trip_id)
  now=$(date -u +%s)
  scope=$(trip_scope_text "$host" "$group")
  who=$(actor)
  local -a args
  mapfile -t args < <(trip_labels "$host" "$group" "$id")
  # One start and end for every Alertmanager: the HA pair then holds the same alert, and the
  # receivers' deduplication (fingerprint and start) sees one trip, not one per Alertmanager.
  args+=(--start="$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)"
    --end="$(date -u -d "@$((now + seconds))" +%Y-%m-%dT%H:%M:%SZ)"
    --annotation="summary=$(am_escape "Manual ESS stop ($scope) by $who: $reason")"
    --annotation="reason=$(am_escape "$reason")" --annotation="actor=$(am_escape "$who")")
  local url error accepted=0
  local -a failed=()
  for url in "$@"; do
    if error=$(trip_post "$url" "$http_config" "${args[@]}") &&
      error=$(trip_verify "$url" "$http_config" "$id"); then
      accepted=$((accepted + 1))
      printf 'accepted by %s\n' "$url"
    else
      failed+=("$url")
      printf 'NOT accepted by %s: %s\n' "$url" "$error" >&2
    fi
  done
  if ((accepted == 0)); then
    die "$EX_UNAVAILABLE" "no Alertmanager accepted the trip: NOTHING WAS TRIPPED. Stop each" \
      "host at the host: sudo ess_controller.sh activate --reason \"fleet trip not delivered\""
  fi
  trip_report "$id" "$scope" "$seconds" "$accepted" "${failed[@]}"
}

trip_report() { # trip_report ID SCOPE SECONDS ACCEPTED FAILED_URL...
  local id=$1 scope=$2 seconds=$3 accepted=$4
  shift 4
  printf 'TRIP SENT: %s, trip_id=%s, accepted by %d of %d Alertmanager(s)\n' "$scope" "$id" \
    "$accepted" "$((accepted + $#))"
  (($# == 0)) || printf 'not accepted by: %s (an HA peer delivers for it)\n' "$*"
  printf 'The alert fires for %ds; Alertmanager retries each host until it answers.\n' "$seconds"
  printf 'Check: ess_fleet.sh status --prometheus URL --expect-latched\n'
  printf 'Before resuming any host, end the repeats: amtool silence add trip_id=%s' "$id"
  printf ' --comment "resume" --alertmanager.url=URL; then, at each host: sudo ess_controller.sh'
  printf ' deactivate --reason "<why>"\n'
}

# ---------------------------------------------------------------- Prometheus
# prom_get BASE_URL CACERT OUT PATH [CURL_ARGS...]: GET PATH into OUT; dies on a transport error or
# an answer that is not {"status":"success"}.
prom_get() {
  local base=${1%/} cacert=$2 out=$3 path=$4 code err
  shift 4
  local -a opts=(-sS --max-time 10 --max-filesize "$ANSWER_MAX_BYTES" -o "$out" -w '%{http_code}')
  [[ -z $cacert ]] || opts+=(--cacert "$cacert")
  err=$TMP_DIR/curl.err
  if ! code=$(curl "${opts[@]}" "$@" "$base$path" 2>"$err"); then
    die "$EX_UNAVAILABLE" "cannot reach Prometheus at $base: $(tr '\n' ' ' <"$err")"
  fi
  if ! jq -e '.status == "success"' "$out" >/dev/null 2>&1; then
    local why
    why=$(jq -r "$SAFE_JQ"'"\(.errorType // "error" | safe): \(.error // "no error text" | safe)"' \
      "$out" 2>/dev/null) ||
      why="not a Prometheus API answer: $(head -c 200 "$out" | tr -c '[:print:]' '?')"
    die "$EX_UNAVAILABLE" "Prometheus at $base answered HTTP $code to $path: $why"
  fi
}

# prom_query BASE CACERT OUT EXPR TIME: an instant query at TIME.
prom_query() {
  prom_get "$1" "$2" "$3" /api/v1/query --get --data-urlencode "query=$4" \
    --data-urlencode "time=$5"
}

# ---------------------------------------------------------------- status
# prom_now BASE CACERT: Prometheus' own clock (time() at its now). The queries are made at that
# instant, not at this machine's: a workstation clock minutes behind would show each host as it was
# minutes ago (not yet latched after a trip, up though it has since gone down), one ahead would
# find no samples at all. Writes PROM_NOW.
prom_now() {
  prom_get "$1" "$2" "$TMP_DIR/time.json" /api/v1/query --get --data-urlencode "query=time()"
  PROM_NOW=$(jq -r 'if .data.resultType == "scalar" then .data.result[0] else empty end' \
    "$TMP_DIR/time.json" 2>/dev/null) || PROM_NOW=""
  [[ $PROM_NOW =~ ^[0-9]{1,12}(\.[0-9]+)?$ ]] ||
    die "$EX_UNAVAILABLE" "Prometheus at ${1%/} answered time() without a time:" \
      "not a Prometheus API"
}

# status_collect BASE CACERT JOB: every query into TMP_DIR/NAME.json, all at the same instant,
# Prometheus' now (prom_now).
status_collect() {
  local base=$1 cacert=$2 sel="{job=\"$3\"}" now name
  prom_now "$base" "$cacert"
  now=$PROM_NOW
  local -A exprs=(
    [up]="up$sel"
    # a host down now keeps the name it had: its row, the unreachable list and --expect-hosts
    # name it, not only its address (and --expect-hosts does not call a down host missing)
    [identity]="ess_identity_info$sel or on (job, instance)
      last_over_time(ess_identity_info${sel}[1d])"
    [active]="ess_active$sel"
    [armed]="ess_switch_armed$sel"
    [verdict]="ess_verdict$sel == 1"
    [last]="ess_last_activation_timestamp_seconds$sel"
    [latency]="ess_last_activation_latency_seconds$sel"
  )
  for name in "${!exprs[@]}"; do
    prom_query "$base" "$cacert" "$TMP_DIR/$name.json" "${exprs[$name]}" "$now"
  done
}

# The report as JSON: one record per instance of `up`, the counts and the lists.
# shellcheck disable=SC2016 # jq's variables, not the shell's
readonly STATUS_JQ='
  def by_instance($r): $r[0].data.result | map({key: .metric.instance, value: .}) | from_entries;
  def num($r; $i): (by_instance($r)[$i].value[1] // null) | if . == null then null
    else tonumber end;
  (by_instance($identity)) as $id | (by_instance($verdict)) as $vd |
  ($expected | split(",") | map(select(. != ""))) as $want |
  [ $up[0].data.result[] | .metric.instance as $i | {
      instance: $i,
      host: ($id[$i].metric.host // null),
      groups: (($id[$i].metric.groups // "") | split(",") | map(select(. != ""))),
      up: (.value[1] == "1"),
      active: (num($active; $i) | if . == null then null else . == 1 end),
      verdict: ($vd[$i].metric.verdict // null),
      armed: (num($armed; $i) | if . == null then null else . == 1 end),
      last_activation: num($last; $i),
      latency_seconds: num($latency; $i)
    } | .stop_unconfirmed = (.active == true and (.verdict == "violation" or .verdict == "unknown"))
      | .latched = (.up and .active == true and (.stop_unconfirmed | not))
      | .reachable = (.up and .active != null) ]
  | sort_by([.host == null, .host // "", .instance]) |
  { time: $now, hosts: ., total: length, latched: map(select(.latched)) | length,
    not_latched: map(select(.reachable and (.latched | not)) | .host // .instance),
    not_stopped: map(select(.reachable and .stop_unconfirmed) | .host // .instance),
    unreachable: map(select(.reachable | not) | .host // .instance) }
  | .missing = ($want - [.hosts[] | .host, .instance])
  | .duplicates = ([.hosts[] | .host // empty] | group_by(.) | map(select(length > 1) | .[0]))'

status_report() { # status_report EXPECTED_HOSTS (comma-separated)
  jq -n --arg expected "$1" --argjson now "${PROM_NOW%.*}" --slurpfile up "$TMP_DIR/up.json" \
    --slurpfile identity "$TMP_DIR/identity.json" --slurpfile active "$TMP_DIR/active.json" \
    --slurpfile armed "$TMP_DIR/armed.json" \
    --slurpfile verdict "$TMP_DIR/verdict.json" --slurpfile last "$TMP_DIR/last.json" \
    --slurpfile latency "$TMP_DIR/latency.json" "$STATUS_JQ"
}

# Label values come from whatever Prometheus scraped: control characters (escape sequences that
# would drive the terminal, line breaks that would forge rows) are shown as "?".
readonly SAFE_JQ='def safe: tostring | gsub("[\u0000-\u001f\u007f-\u009f]"; "?");'
readonly TABLE_JQ=$SAFE_JQ'
  def yn: if . == null then "?" elif . then "yes" else "no" end;
  .hosts[] | [ (.host // "?" | safe), (.instance | safe),
    (.groups | join(",") | if . == "" then "-" else safe end),
    (if .up then "up" else "DOWN" end), (.active | if . == null then "?" elif . then "ACTIVE"
    else "inactive" end), (.verdict // "?" | safe), (.armed | yn),
    (.last_activation | if . == null then "never" else todate end),
    (.latency_seconds | if . == null then "-" else "\(. * 1000 | round / 1000)s" end) ] | @tsv'

status_print_table() { # status_print_table REPORT_FILE
  local fmt='%-16s %-22s %-16s %-5s %-9s %-19s %-6s %-21s %s\n'
  local -a f
  # shellcheck disable=SC2059 # the format is the constant above
  printf "$fmt" HOST INSTANCE GROUPS UP LATCH VERDICT ARMED LAST-ACTIVATION LATENCY
  while IFS=$'\t' read -r -a f; do
    # shellcheck disable=SC2059
    printf "$fmt" "${f[@]}"
  done < <(jq -r "$TABLE_JQ" "$1")
  jq -r "$SAFE_JQ"'
    .not_latched |= map(safe) | .not_stopped |= map(safe) | .unreachable |= map(safe)
    | .missing |= map(safe) | .duplicates |= map(safe) |
    "\(.latched) of \(.total) hosts latched",
    (if (.not_latched | length) > 0 then "not latched: \(.not_latched | join(" "))" else empty end),
    (if (.not_stopped | length) > 0 then "LATCHED BUT NOT STOPPED (verdict violation or unknown:"
      + " a trading unit may still run): \(.not_stopped | join(" "))" else empty end),
    (if (.unreachable | length) > 0 then "unreachable: \(.unreachable | join(" "))" else empty end),
    (if (.missing | length) > 0 then "missing (no target): \(.missing | join(" "))" else empty end),
    (if (.duplicates | length) > 0 then "DUPLICATE host names (several instances each; an"
      + " ess_host trip stops all of them): \(.duplicates | join(" "))" else empty end)
    ' "$1"
}

# status_exit_code REPORT_FILE EXPECT_LATCHED
status_exit_code() {
  local total unreachable not_latched
  read -r total unreachable not_latched < <(jq -r \
    '"\(.total) \(.unreachable + .missing | length) \(.not_latched | length)"' "$1")
  if ((total == 0)); then return "$EX_NO_HOSTS"; fi
  if ((unreachable > 0)); then return "$EX_UNREACHABLE"; fi
  if (($2 && not_latched > 0)); then return "$EX_NOT_LATCHED"; fi
  return 0
}

cmd_status() {
  local base="" job=$DEFAULT_JOB expect=0 json=0 cacert="" hosts="" name
  while (($#)); do
    case $1 in
      --prometheus) need_value "$1" $#; check_url "$1" "$2"; base=$2; shift 2 ;;
      --job) need_value "$1" $#; check_name --job "$2"; job=$2; shift 2 ;;
      --cacert) need_value "$1" $#; cacert=$2; shift 2 ;;
      --expect-latched) expect=1; shift ;;
      --json) json=1; shift ;;
      --expect-hosts) need_value "$1" $#; hosts=$2; shift 2 ;;
      *) usage_error "status: unknown option '$1'" ;;
    esac
  done
  [[ -n $base ]] || usage_error "status needs --prometheus URL (e.g. http://prometheus:9090)"
  [[ -z $cacert ]] || check_input_file --cacert "$cacert"
  local -a names
  IFS=, read -r -a names <<<"$hosts"
  for name in "${names[@]}"; do
    [[ $name =~ $INSTANCE_RE ]] ||
      usage_error "--expect-hosts '$name' is neither a host name nor an instance (host:port)"
  done
  require_tools curl jq
  make_tmp
  status_collect "$base" "$cacert" "$job"
  status_report "$hosts" >"$TMP_DIR/report.json"
  if ((json)); then
    cat "$TMP_DIR/report.json"
  else
    status_print_table "$TMP_DIR/report.json"
  fi
  local rc=0
  status_exit_code "$TMP_DIR/report.json" "$expect" || rc=$?
  if ((rc == EX_NO_HOSTS)); then
    printf 'ess_fleet.sh: Prometheus at %s has no target of job "%s"\n' "$base" "$job" >&2
  fi
  return "$rc"
}

# ---------------------------------------------------------------- render-receivers
readonly TARGET_RE='^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):[0-9]{1,5}$'

# targets_from_file FILE: the host:port of every target of a Prometheus file_sd JSON file.
targets_from_file() {
  [[ -r $1 ]] || usage_error "--targets-file: cannot read $1"
  jq -r '.[].targets[]' "$1" 2>/dev/null ||
    die "$EX_DATAERR" "$1 is not a Prometheus file_sd JSON file ([{\"targets\": [\"host:port\"]}])"
}

# targets_from_prometheus BASE CACERT JOB: scheme://host:port of the job's active targets, as
# Prometheus discovered them (file_sd, DNS, static or any other discovery).
targets_from_prometheus() {
  make_tmp
  prom_get "$1" "$2" "$TMP_DIR/targets.json" /api/v1/targets --get --data-urlencode state=active
  jq -r --arg job "$3" '.data.activeTargets[] | select(.labels.job == $job) | .scrapeUrl
    | capture("^(?<base>[a-z]+://[^/]+)").base' "$TMP_DIR/targets.json"
}

# render_receiver NAME TOKEN_FILE CA_FILE URL...: the receiver, indented for `receivers:`.
render_receiver() {
  local name=$1 token=$2 ca=$3 url
  shift 3
  printf '  %s (ess_fleet.sh render-receivers: %d hosts; do not edit by hand)\n' "$MARK_BEGIN" $#
  printf '  - name: %s\n    webhook_configs:\n' "$name"
  for url in "$@"; do
    printf '      - url: %s/alertmanager\n        send_resolved: false\n' "$url"
    printf '        http_config:\n          authorization:\n            type: Bearer\n'
    printf '            credentials_file: %s\n' "$token"
    printf '          tls_config:\n            ca_file: %s\n' "$ca"
  done
  printf '  %s\n' "$MARK_END"
}

# splice_config FILE RECEIVER_FILE: FILE with its marked block replaced by RECEIVER_FILE. The block
# is found by line number, the same test for counting and for cutting: a marker elsewhere in a line,
# or an END above the BEGIN, must not make the splice drop the rest of the file.
splice_config() {
  [[ -r $1 ]] || usage_error "--config: cannot read $1"
  local -a begins ends
  mapfile -t begins < <(grep -n "^[[:space:]]*$MARK_BEGIN" "$1" | cut -d: -f1)
  mapfile -t ends < <(grep -n "^[[:space:]]*$MARK_END" "$1" | cut -d: -f1)
  [[ ${#begins[@]} == 1 && ${#ends[@]} == 1 ]] ||
    die "$EX_DATAERR" "$1 must have one '$MARK_BEGIN' line and one '$MARK_END' line" \
      "around the fleet receiver (found ${#begins[@]} and ${#ends[@]})"
  ((begins[0] < ends[0])) ||
    die "$EX_DATAERR" "$1: its '$MARK_END' line (line ${ends[0]}) comes before its" \
      "'$MARK_BEGIN' line (line ${begins[0]})"
  BLOCK=$2 awk -v b="${begins[0]}" -v e="${ends[0]}" '
    NR == b { while ((getline line < ENVIRON["BLOCK"]) > 0) print line; next }
    NR > b && NR <= e { next }
    { print }' "$1"
}

cmd_render_receivers() {
  local file="" base="" job=$DEFAULT_JOB cacert="" name=quantum-ess-fleet config="" scheme=https
  local token=/etc/prometheus/ess-webhook.token ca=/etc/prometheus/ess-ca.pem
  while (($#)); do
    case $1 in
      --targets-file) need_value "$1" $#; file=$2; shift 2 ;;
      --prometheus) need_value "$1" $#; check_url "$1" "$2"; base=$2; shift 2 ;;
      --job) need_value "$1" $#; check_name --job "$2"; job=$2; shift 2 ;;
      --cacert) need_value "$1" $#; cacert=$2; shift 2 ;;
      --name) need_value "$1" $#; check_name --name "$2"; name=$2; shift 2 ;;
      --token-file) need_value "$1" $#; token=$2; shift 2 ;;
      --ca-file) need_value "$1" $#; ca=$2; shift 2 ;;
      --scheme) need_value "$1" $#; scheme=$2; shift 2 ;;
      --config) need_value "$1" $#; config=$2; shift 2 ;;
      *) usage_error "render-receivers: unknown option '$1'" ;;
    esac
  done
  [[ -n $file || -n $base ]] || usage_error "render-receivers needs --targets-file or --prometheus"
  [[ -z $file || -z $base ]] || usage_error "render-receivers takes --targets-file or --prometheus"
  [[ $scheme == https || $scheme == http ]] || usage_error "--scheme must be https or http"
  local path
  for path in "$token" "$ca"; do
    [[ $path =~ ^/[A-Za-z0-9._/-]+$ ]] || usage_error "'$path' is not an absolute plain path"
  done
  require_tools jq
  local -a urls
  if [[ -n $file ]]; then
    mapfile -t urls < <(targets_from_file "$file" | sort -u)
    urls=("${urls[@]/#/$scheme://}")
  else
    require_tools curl
    mapfile -t urls < <(targets_from_prometheus "$base" "$cacert" "$job" | sort -u)
  fi
  render_checked "$name" "$token" "$ca" "$config" "${urls[@]}"
}

# render_checked NAME TOKEN CA CONFIG URL...: refuses an empty list or a URL that is no target.
render_checked() {
  local name=$1 token=$2 ca=$3 config=$4 url
  shift 4
  (($#)) || die "$EX_DATAERR" "no ESS target found: the fleet receiver would trip nothing"
  for url in "$@"; do
    [[ ${url#http*://} =~ $TARGET_RE && $url =~ ^https?:// ]] ||
      die "$EX_DATAERR" "'$url' is not a target of the form host:port"
  done
  if [[ -z $config ]]; then
    render_receiver "$name" "$token" "$ca" "$@"
    return 0
  fi
  [[ -n $TMP_DIR ]] || make_tmp
  render_receiver "$name" "$token" "$ca" "$@" >"$TMP_DIR/receiver.yml"
  splice_config "$config" "$TMP_DIR/receiver.yml"
}

main() {
  (($#)) || usage_error "missing command"
  local cmd=$1
  shift
  case $cmd in
    trip) cmd_trip "$@" ;;
    status) cmd_status "$@" ;;
    render-receivers) cmd_render_receivers "$@" ;;
    help | --help | -h) usage ;;
    deactivate | reset | resume)
      die "$EX_USAGE" "there is no fleet-wide $cmd (ISO 13850: a stop is reset where the machine" \
        "is): at each host, sudo ess_controller.sh deactivate --reason \"<why>\"" ;;
    *) usage_error "unknown command '$cmd'" ;;
  esac
}

main "$@"
