#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # every @test runs in its own subshell by design
# ess_fleet.sh against a fake amtool (records what it was asked to post) and a fake curl (answers
# Prometheus' HTTP API from fixtures). The real Alertmanagers and Prometheus are exercised by the
# fleet integration tests.

bats_require_minimum_version 1.5.0

setup() {
  REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  FLEET=$REPO/fleet/ess_fleet.sh
  TMP=$(mktemp -d)
  REAL_AMTOOL=$(command -v amtool || true)
  mkdir -p "$TMP/bin" "$TMP/prom"
  export FAKE_DIR=$TMP PATH=$TMP/bin:$PATH
  fake_amtool >"$TMP/bin/amtool"
  fake_curl >"$TMP/bin/curl"
  chmod +x "$TMP/bin/amtool" "$TMP/bin/curl"
}

teardown() {
  # an Alertmanager a test started, stopped even when the test failed before its end
  # and waited for: it writes its snapshots into $TMP/am-data as it exits
  if [[ -n ${AM_PID:-} ]]; then
    kill "$AM_PID" 2>/dev/null || true
    wait "$AM_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}

# amtool: one line per `alert add` in $FAKE_DIR/amtool.calls (arguments separated by |); refuses
# any --alertmanager.url listed in $FAKE_DIR/am-down. `alert query` (the read-back) answers the
# alert as active, unless the URL is listed in $FAKE_DIR/am-silenced (held, muted by a silence) or
# $FAKE_DIR/am-ended (held as already ended: nothing active or muted).
fake_amtool() {
  cat <<'EOF'
#!/usr/bin/env bash
url=""
for arg; do [[ $arg != --alertmanager.url=* ]] || url=${arg#*=}; done
if [[ $1 == alert && $2 == query ]]; then
  if grep -qxF "$url" "$FAKE_DIR/am-ended" 2>/dev/null; then echo '[]'; exit 0; fi
  if grep -qxF "$url" "$FAKE_DIR/am-silenced" 2>/dev/null; then
    if [[ " $* " == *" --silenced "* ]]; then
      echo '[{"status":{"state":"suppressed","silencedBy":["5f1c-silence"],"inhibitedBy":[]}}]'
    else
      echo '[]'
    fi
    exit 0
  fi
  echo '[{"status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}]'
  exit 0
fi
(IFS='|'; printf '%s\n' "$*") >>"$FAKE_DIR/amtool.calls"
if grep -qxF "$url" "$FAKE_DIR/am-down" 2>/dev/null; then
  echo "amtool: error: Post \"$url/api/v2/alerts\": connect: connection refused" >&2
  exit 1
fi
EOF
}

# curl: answers /api/v1/query from $FAKE_DIR/prom/METRIC.json (an empty vector when missing),
# time() with $FAKE_PROM_TIME (Prometheus' clock) and /api/v1/targets from
# $FAKE_DIR/prom/targets.json; $FAKE_DIR/prom-down makes it fail to connect. Each query's time= goes
# to $FAKE_DIR/curl.times.
fake_curl() {
  cat <<'EOF'
#!/usr/bin/env bash
out=/dev/stdout query="" url=""
while (($#)); do
  case $1 in
    -o) out=$2; shift 2 ;;
    -w | --max-time | --cacert) shift 2 ;;
    --data-urlencode)
      [[ $2 != query=* ]] || query=${2#query=}
      [[ $2 != time=* ]] || printf '%s\n' "${2#time=}" >>"$FAKE_DIR/curl.times"
      shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
printf '%s\n' "$query" >>"$FAKE_DIR/curl.queries"
if [[ -e $FAKE_DIR/prom-down ]]; then
  echo "curl: (7) Failed to connect to ${url#*://} port 9090: Connection refused" >&2
  exit 7
fi
if [[ -e $FAKE_DIR/prom-error ]]; then
  cp "$FAKE_DIR/prom-error" "$out"; printf 400; exit 0
fi
if [[ $url == */api/v1/targets ]]; then
  cp "$FAKE_DIR/prom/targets.json" "$out"
elif [[ $query == 'time()' ]]; then
  t=${FAKE_PROM_TIME:-1795656500.125}
  printf '{"status":"success","data":{"resultType":"scalar","result":[%s,"%s"]}}\n' "$t" "$t" \
    >"$out"
else
  metric=${query%%[{ ]*}
  file=$FAKE_DIR/prom/$metric.json
  [[ -e $file ]] || file=$FAKE_DIR/prom/empty.json
  cp "$file" "$out"
fi
printf 200
EOF
}

# vector METRIC RESULT...: a fixture answer; each RESULT is `instance value [label=value...]`.
vector() {
  local metric=$1 first=1 r
  shift
  {
    printf '{"status":"success","data":{"resultType":"vector","result":['
    for r in "$@"; do
      read -r -a f <<<"$r"
      ((first)) || printf ','
      first=0
      printf '{"metric":{"job":"quantum-ess","instance":"%s"' "${f[0]}"
      for kv in "${f[@]:2}"; do printf ',"%s":"%s"' "${kv%%=*}" "${kv#*=}"; done
      printf '},"value":[1795656500,"%s"]}' "${f[1]}"
    done
    printf ']}}\n'
  } >"$TMP/prom/$metric.json"
}

# Four hosts: h1 and h2 latched, h3 up and not latched, h4 down.
fleet_fixture() {
  vector empty
  vector up "10.0.0.1:10170 1" "10.0.0.2:10170 1" "10.0.0.3:10170 1" "10.0.0.4:10170 0"
  vector ess_identity_info "10.0.0.1:10170 1 host=h1 groups=exec,ai" \
    "10.0.0.2:10170 1 host=h2 groups=exec" "10.0.0.3:10170 1 host=h3 groups="
  vector ess_active "10.0.0.1:10170 1" "10.0.0.2:10170 1" "10.0.0.3:10170 0"
  vector ess_switch_armed "10.0.0.1:10170 1" "10.0.0.2:10170 1" "10.0.0.3:10170 1"
  vector ess_verdict "10.0.0.1:10170 1 verdict=active" "10.0.0.2:10170 1 verdict=active" \
    "10.0.0.3:10170 1 verdict=armed"
  vector ess_last_activation_timestamp_seconds "10.0.0.1:10170 1795656400.25" \
    "10.0.0.2:10170 1795656400.5"
  vector ess_last_activation_latency_seconds "10.0.0.1:10170 0.0812" "10.0.0.2:10170 0.094"
}

calls() { cat "$TMP/amtool.calls"; }

@test "trip without a target posts one fleet alert to every Alertmanager, with one start and end" {
  run "$FLEET" trip --reason 'flash crash "BTC"' --alertmanager http://am1:9093 \
    --alertmanager http://am2:9093
  [ "$status" -eq 0 ]
  [[ $output == *"TRIP SENT: fleet"*"accepted by 2 of 2"* ]]
  [ "$(calls | wc -l)" -eq 2 ]
  calls | grep -q -- '--alertmanager.url=http://am1:9093|'
  calls | grep -q -- '--alertmanager.url=http://am2:9093|'
  local call
  while IFS= read -r call; do
    [[ "|$call|" == *"|alertname=ESSManualFleetStop|"* ]]
    [[ "|$call|" == *"|ess_trip=true|"* && "|$call|" == *"|ess_scope=fleet|"* ]]
    [[ "|$call|" != *"|ess_host="* && "|$call|" != *"|ess_group="* ]]
    [[ "|$call|" =~ \|trip_id=[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}\| ]]
    [[ $call == *'--annotation=reason=flash crash \"BTC\"|'* ]]
    [[ $call == *"--annotation=actor="*"@"* ]]
  done < <(calls)
  # the same alert on both members of the HA pair: same labels, start and end
  [ "$(calls | sed 's/--alertmanager.url=[^|]*|//' | sort -u | wc -l)" -eq 1 ]
  [[ $(calls | head -1) =~ --start=([0-9T:-]+Z)\|--end=([0-9T:-]+Z) ]]
  local start end
  start=$(date -d "${BASH_REMATCH[1]}" +%s) end=$(date -d "${BASH_REMATCH[2]}" +%s)
  [ $((end - start)) -eq 3600 ]
}

@test "trip --host and --group scope the alert, and every trip gets a new id" {
  run "$FLEET" trip --reason "h2 misbehaves" --host h2 --alertmanager http://am1:9093
  [ "$status" -eq 0 ]
  [[ $output == *"TRIP SENT: host h2"* ]]
  run "$FLEET" trip --reason "execution desk" --group exec --duration 10m
  [ "$status" -eq 0 ]
  [[ "|$(sed -n 1p "$TMP/amtool.calls")|" == *"|ess_host=h2|"* ]]
  [[ "|$(sed -n 1p "$TMP/amtool.calls")|" != *"ess_scope"* ]]
  [[ "|$(sed -n 2p "$TMP/amtool.calls")|" == *"|ess_group=exec|"* ]]
  # the default Alertmanager is the local one
  [[ $(sed -n 2p "$TMP/amtool.calls") == *"--alertmanager.url=http://127.0.0.1:9093|"* ]]
  [ "$(grep -o 'trip_id=[^|]*' "$TMP/amtool.calls" | sort -u | wc -l)" -eq 2 ]
  run "$FLEET" trip --reason "ipv6" --alertmanager 'http://[fd00::9]:9093'
  [ "$status" -eq 0 ]
  [[ $(sed -n 3p "$TMP/amtool.calls") == *"--alertmanager.url=http://[fd00::9]:9093|"* ]]
}

@test "trip succeeds when one Alertmanager accepts and names the one that did not" {
  echo http://am2:9093 >"$TMP/am-down"
  run "$FLEET" trip --reason test --alertmanager http://am1:9093 --alertmanager http://am2:9093
  [ "$status" -eq 0 ]
  [[ $output == *"NOT accepted by http://am2:9093: amtool: error"*"connection refused"* ]]
  [[ $output == *"accepted by 1 of 2"* && $output == *"not accepted by: http://am2:9093"* ]]
}

@test "trip fails with 69 and says nothing was tripped when no Alertmanager accepts" {
  printf '%s\n' http://am1:9093 http://am2:9093 >"$TMP/am-down"
  run "$FLEET" trip --reason test --alertmanager http://am1:9093 --alertmanager http://am2:9093
  [ "$status" -eq 69 ]
  # a command to paste as is: a real reason, not a made-up placeholder
  [[ $output == *"NOTHING WAS TRIPPED"*'ess_controller.sh activate --reason "fleet trip not'* ]]
}

@test "trip counts only an Alertmanager that holds the alert active: not silenced, not ended" {
  echo http://am1:9093 >"$TMP/am-silenced"
  run "$FLEET" trip --reason test --alertmanager http://am1:9093 --alertmanager http://am2:9093
  [ "$status" -eq 0 ]
  [[ $output == *"NOT accepted by http://am1:9093: accepted but SILENCED by 5f1c-silence"* ]]
  [[ $output == *"accepted by 1 of 2"* ]]
  echo http://am2:9093 >"$TMP/am-ended"
  run "$FLEET" trip --reason test --alertmanager http://am1:9093 --alertmanager http://am2:9093
  [ "$status" -eq 69 ]
  [[ $output == *"NOT accepted by http://am2:9093: accepted but not active: its end is already"* ]]
  [[ $output == *"clock"*"behind?"* && $output == *"NOTHING WAS TRIPPED"* ]]
}

@test "trip against a real Alertmanager: a silence or a clock behind it means NOTHING WAS TRIPPED" {
  [ -n "$REAL_AMTOOL" ] || { echo "amtool is not installed (prometheus-alertmanager)"; false; }
  local port=$((20000 + RANDOM % 20000)) am
  am="http://127.0.0.1:$port"
  printf 'route:\n  receiver: none\nreceivers:\n  - name: none\n' >"$TMP/am.yml"
  prometheus-alertmanager --config.file="$TMP/am.yml" --storage.path="$TMP/am-data" \
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address= >"$TMP/am.log" 2>&1 3>&- &
  AM_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    /usr/bin/curl -sf "$am/-/ready" >/dev/null && break
    sleep 0.1
  done
  export PATH=${REAL_AMTOOL%/*}:$PATH
  run "$FLEET" trip --reason "real" --alertmanager "$am"
  [ "$status" -eq 0 ]
  [[ $output == *"accepted by 1 of 1"* ]]
  # a silence left from an earlier resume, wider than its trip_id
  amtool silence add alertname=ESSManualFleetStop --comment old --alertmanager.url="$am" >/dev/null
  run "$FLEET" trip --reason "silenced" --alertmanager "$am"
  [ "$status" -eq 69 ]
  [[ $output == *"accepted but SILENCED by "* && $output == *"NOTHING WAS TRIPPED"* ]]
  amtool silence expire "$(amtool silence query -q --alertmanager.url="$am")" \
    --alertmanager.url="$am"
  # this machine's clock two hours behind Alertmanager's: the alert arrives already ended
  mkdir -p "$TMP/skew"
  cat >"$TMP/skew/date" <<'SKEW'
#!/bin/bash
if [[ $* == "-u +%s" ]]; then echo $(($(/bin/date -u +%s) - 7200)); else exec /bin/date "$@"; fi
SKEW
  chmod +x "$TMP/skew/date"
  PATH=$TMP/skew:$PATH run "$FLEET" trip --reason "skewed" --alertmanager "$am"
  [ "$status" -eq 69 ]
  [[ $output == *"its end is already past"* && $output == *"NOTHING WAS TRIPPED"* ]]
}

@test "trip refuses bad input with 64, naming what is wrong, and posts nothing" {
  run "$FLEET" trip
  [ "$status" -eq 64 ]
  [[ $output == *"trip needs --reason"* ]]
  run "$FLEET" trip --reason "   "
  [ "$status" -eq 64 ]
  [[ $output == *"--reason must not be empty"* ]]
  run "$FLEET" trip --reason $'two\nlines'
  [ "$status" -eq 64 ]
  [[ $output == *"printable ASCII"* ]]
  run "$FLEET" trip --reason "$(printf 'x%.0s' {1..201})"
  [ "$status" -eq 64 ]
  [[ $output == *"at most 200"* ]]
  run "$FLEET" trip --reason r --host 'h1;rm'
  [ "$status" -eq 64 ]
  [[ $output == *"--host 'h1;rm' is not a valid name"* ]]
  run "$FLEET" trip --reason r --group -exec
  [ "$status" -eq 64 ]
  [[ $output == *"--group '-exec' is not a valid name"* ]]
  run "$FLEET" trip --reason r --host h1 --group exec
  [ "$status" -eq 64 ]
  [[ $output == *"not both"* ]]
  run "$FLEET" trip --reason r --duration 5s
  [ "$status" -eq 64 ]
  [[ $output == *"--duration '5s' must be 1m to 24h"* ]]
  run "$FLEET" trip --reason r --alertmanager am1:9093
  [ "$status" -eq 64 ]
  [[ $output == *"not an http:// or https:// URL"* ]]
  run "$FLEET" trip --reason r --http-config "$TMP/none.yml"
  [ "$status" -eq 64 ]
  [[ $output == *"cannot read"* ]]
  run "$FLEET" trip --reason r --force
  [ "$status" -eq 64 ]
  [[ $output == *"unknown option '--force'"* ]]
  run "$FLEET" trip --reason
  [ "$status" -eq 64 ]
  [[ $output == *"--reason needs a value"* ]]
  [ ! -e "$TMP/amtool.calls" ]
}

@test "there is no fleet-wide deactivate: refused, and the usage says why" {
  run "$FLEET" deactivate
  [ "$status" -eq 64 ]
  # the reason is the operator's to type: an obvious placeholder
  [[ $output == *"no fleet-wide deactivate"*'ess_controller.sh deactivate --reason "<why>"' ]]
  run "$FLEET" help
  [ "$status" -eq 0 ]
  [[ $output == *"ISO 13850"* && $output == *"Exit codes"* ]]
  run "$FLEET"
  [ "$status" -eq 64 ]
  [[ $output == *"missing command"* ]]
}

@test "status prints every host, N of M latched, the hosts not latched and unreachable" {
  fleet_fixture
  run "$FLEET" status --prometheus http://prom:9090
  [ "$status" -eq 2 ] # h4 is unreachable
  [[ $output == *"2 of 4 hosts latched"* ]]
  [[ $output == *"not latched: h3"* ]]
  [[ $output == *"unreachable: 10.0.0.4:10170"* ]]
  local h1='h1 +10\.0\.0\.1:10170 +exec,ai +up +ACTIVE +active +yes +2026-11-26T[0-9:]+Z +0\.081s'
  [[ $output =~ $h1 ]]
  [[ $output =~ h3\ +10\.0\.0\.3:10170\ +-\ +up\ +inactive\ +armed\ +yes\ +never ]]
  [[ $output =~ \?\ +10\.0\.0\.4:10170\ +-\ +DOWN\ +\?\ +\?\ +\? ]]
  # every query is scoped to the job
  [ "$(grep -v '^time()$' "$TMP/curl.queries" | grep -vc 'job="quantum-ess"')" -eq 0 ]
}

@test "status names a down host by the identity it had, not only its address" {
  fleet_fixture
  # what Prometheus answers for h4 from last_over_time: the identity of its last scrape
  vector ess_identity_info "10.0.0.1:10170 1 host=h1 groups=exec,ai" \
    "10.0.0.2:10170 1 host=h2 groups=exec" "10.0.0.3:10170 1 host=h3 groups=" \
    "10.0.0.4:10170 1 host=h4 groups=ai"
  run "$FLEET" status --prometheus http://prom:9090 --expect-hosts h1,h2,h3,h4
  [ "$status" -eq 2 ]
  [[ $output =~ h4\ +10\.0\.0\.4:10170\ +ai\ +DOWN\ +\?\ +\?\ +\? ]]
  [[ $output == *"unreachable: h4"* && $output != *"missing"* ]]
  grep -qF 'last_over_time(ess_identity_info{job="quantum-ess"}[1d])' "$TMP/curl.queries"
}

@test "status exit codes: 0 all reachable, 1 not latched with --expect-latched, 0 all latched" {
  fleet_fixture
  vector up "10.0.0.1:10170 1" "10.0.0.2:10170 1" "10.0.0.3:10170 1"
  run "$FLEET" status --prometheus http://prom:9090
  [ "$status" -eq 0 ]
  run "$FLEET" status --prometheus http://prom:9090 --expect-latched
  [ "$status" -eq 1 ]
  [[ $output == *"2 of 3 hosts latched"* && $output == *"not latched: h3"* ]]
  vector ess_active "10.0.0.1:10170 1" "10.0.0.2:10170 1" "10.0.0.3:10170 1"
  run "$FLEET" status --prometheus http://prom:9090 --expect-latched
  [ "$status" -eq 0 ]
  [[ $output == *"3 of 3 hosts latched"* && $output != *"not latched:"* ]]
}

@test "status --expect-hosts names the hosts Prometheus has no target for (exit 2)" {
  fleet_fixture
  vector up "10.0.0.1:10170 1" "10.0.0.2:10170 1" "10.0.0.3:10170 1"
  run "$FLEET" status --prometheus http://prom:9090 --expect-hosts h1,h2,h3
  [ "$status" -eq 0 ]
  [[ $output != *"missing"* ]]
  # by host name or by instance
  run "$FLEET" status --prometheus http://prom:9090 --expect-hosts h1,10.0.0.2:10170,h3,h4,h5
  [ "$status" -eq 2 ]
  [[ $output == *"missing (no target): h4 h5"* ]]
  run --separate-stderr "$FLEET" status --prometheus http://prom:9090 --expect-hosts h4 --json
  [ "$status" -eq 2 ]
  [ "$(jq -c .missing <<<"$output")" = '["h4"]' ]
  run "$FLEET" status --prometheus http://prom:9090 --expect-hosts 'h1,h 2'
  [ "$status" -eq 64 ]
  [[ $output == *"--expect-hosts 'h 2' is neither a host name nor an instance"* ]]
}

@test "status queries at Prometheus' instant, not at this machine's clock" {
  fleet_fixture
  export FAKE_PROM_TIME=1700000000.5 # this machine's clock is years away from it
  run --separate-stderr "$FLEET" status --prometheus http://prom:9090 --json
  [ "$status" -eq 2 ]
  [ "$(sort -u "$TMP/curl.times")" = 1700000000.5 ]
  [ "$(wc -l <"$TMP/curl.times")" -eq 7 ]
  [ "$(jq .time <<<"$output")" = 1700000000 ]
  # an answer to time() that is no time is an error, not a query at some other instant
  export FAKE_PROM_TIME=null
  run "$FLEET" status --prometheus http://prom:9090
  [ "$status" -eq 69 ]
  [[ $output == *"answered time() without a time"* ]]
}

@test "status does not count a latched host whose units still run (violation, unknown) as latched" {
  fleet_fixture
  vector up "10.0.0.1:10170 1" "10.0.0.2:10170 1" "10.0.0.3:10170 1"
  vector ess_active "10.0.0.1:10170 1" "10.0.0.2:10170 1" "10.0.0.3:10170 1"
  vector ess_verdict "10.0.0.1:10170 1 verdict=active" "10.0.0.2:10170 1 verdict=violation" \
    "10.0.0.3:10170 1 verdict=unknown"
  run "$FLEET" status --prometheus http://prom:9090 --expect-latched
  [ "$status" -eq 1 ]
  [[ $output == *"1 of 3 hosts latched"* && $output == *"not latched: h2 h3"* ]]
  [[ $output == *"LATCHED BUT NOT STOPPED"*"): h2 h3"* ]]
  [[ $output =~ h2\ +10\.0\.0\.2:10170\ +exec\ +up\ +ACTIVE\ +violation ]]
  run --separate-stderr "$FLEET" status --prometheus http://prom:9090 --json
  [ "$(jq -c '.not_stopped, [.hosts[].latched]' <<<"$output" | tr '\n' ' ')" = \
    '["h2","h3"] [true,false,false] ' ]
}

@test "status names host names that several instances claim" {
  fleet_fixture
  vector ess_identity_info "10.0.0.1:10170 1 host=h1 groups=exec,ai" \
    "10.0.0.2:10170 1 host=h1 groups=exec" "10.0.0.3:10170 1 host=h3 groups="
  run "$FLEET" status --prometheus http://prom:9090
  [[ $output == *"DUPLICATE host names (several instances each; an ess_host trip"*"): h1"* ]]
  run --separate-stderr "$FLEET" status --prometheus http://prom:9090 --json
  [ "$(jq -c .duplicates <<<"$output")" = '["h1"]' ]
  fleet_fixture
  run "$FLEET" status --prometheus http://prom:9090
  [[ $output != *"DUPLICATE"* ]]
}

@test "status --json has one record per host and the same verdict" {
  fleet_fixture
  run --separate-stderr "$FLEET" status --prometheus http://prom:9090 --json --job quantum-ess
  [ "$status" -eq 2 ]
  [ "$(jq '.total, .latched' <<<"$output" | tr '\n' ' ')" = "4 2 " ]
  [ "$(jq -c '.not_latched, .unreachable' <<<"$output" | tr '\n' ' ')" = \
    '["h3"] ["10.0.0.4:10170"] ' ]
  [ "$(jq -c '.hosts[0] | [.host, .groups, .active, .armed, .verdict, .latency_seconds]' \
    <<<"$output")" = '["h1",["exec","ai"],true,true,"active",0.0812]' ]
}

@test "status says clearly when Prometheus is down, answers an error or has no ESS target" {
  fleet_fixture
  touch "$TMP/prom-down"
  run "$FLEET" status --prometheus http://prom:9090
  [ "$status" -eq 69 ]
  [[ $output == *"cannot reach Prometheus at http://prom:9090: curl: (7)"* ]]
  rm "$TMP/prom-down"
  echo '{"status":"error","errorType":"bad_data","error":"parse error"}' >"$TMP/prom-error"
  run "$FLEET" status --prometheus http://prom:9090
  [ "$status" -eq 69 ]
  [[ $output == *"answered HTTP 400 to /api/v1/query: bad_data: parse error"* ]]
  echo '<html>proxy</html>' >"$TMP/prom-error"
  run "$FLEET" status --prometheus http://prom:9090
  [ "$status" -eq 69 ]
  [[ $output == *"not a Prometheus API answer: <html>proxy"* ]]
  rm "$TMP/prom-error"
  vector up
  run "$FLEET" status --prometheus http://prom:9090
  [ "$status" -eq 3 ]
  [[ $output == *'no target of job "quantum-ess"'* ]]
  run "$FLEET" status
  [ "$status" -eq 64 ]
  [[ $output == *"status needs --prometheus"* ]]
}

@test "render-receivers: one https webhook per file_sd target, with the token and CA files" {
  printf '%s\n' '[{"targets":["h2.example:10170","h1.example:10170"]},' \
    '{"targets":["198.18.0.13:10170"],"labels":{"a":"b"}}]' >"$TMP/targets.json"
  run --separate-stderr "$FLEET" render-receivers --targets-file "$TMP/targets.json" \
    --token-file /etc/am/token --ca-file /etc/am/ca.pem
  [ "$status" -eq 0 ]
  [ "$(grep -c -- '- url: https://' <<<"$output")" -eq 3 ]
  [[ $output == *"- url: https://198.18.0.13:10170/alertmanager"* ]]
  [[ $output == *"- url: https://h1.example:10170/alertmanager"* ]]
  [ "$(grep -c 'send_resolved: false' <<<"$output")" -eq 3 ]
  [ "$(grep -c 'credentials_file: /etc/am/token' <<<"$output")" -eq 3 ]
  [ "$(grep -c 'ca_file: /etc/am/ca.pem' <<<"$output")" -eq 3 ]
  [[ $(head -2 <<<"$output") == *"# BEGIN ess-fleet-receiver"*"- name: quantum-ess-fleet" ]]
}

@test "render-receivers --config splices the fleet example, which amtool then accepts" {
  [ -n "$REAL_AMTOOL" ] || { echo "amtool is not installed (prometheus-alertmanager)"; false; }
  printf '[{"targets":["h1:10170","h2:10170","h3:10170","h4:10170","h5:10170"]}]\n' \
    >"$TMP/targets.json"
  run --separate-stderr "$FLEET" render-receivers --targets-file "$TMP/targets.json" \
    --config "$REPO/alerting/alertmanager.fleet.example.yml"
  [ "$status" -eq 0 ]
  printf '%s\n' "$output" >"$TMP/am.yml"
  [ "$(grep -c -- '- url: https://h[1-5]:10170/alertmanager' "$TMP/am.yml")" -eq 5 ]
  [ "$(grep -c 'ess-fleet-receiver' "$TMP/am.yml")" -eq 2 ]
  run "$REAL_AMTOOL" check-config "$TMP/am.yml"
  [ "$status" -eq 0 ]
}

@test "render-receivers from the targets Prometheus discovered, whatever the discovery" {
  cat >"$TMP/prom/targets.json" <<'EOF'
{"status":"success","data":{"activeTargets":[
 {"labels":{"job":"quantum-ess","instance":"h1"},"scrapeUrl":"https://198.18.0.11:10170/metrics"},
 {"labels":{"job":"quantum-ess","instance":"h2"},"scrapeUrl":"https://198.18.0.12:10170/metrics"},
 {"labels":{"job":"node","instance":"h1"},"scrapeUrl":"http://198.18.0.11:9100/metrics"}]}}
EOF
  run --separate-stderr "$FLEET" render-receivers --prometheus http://prom:9090
  [ "$status" -eq 0 ]
  [ "$(grep -c -- '- url: ' <<<"$output")" -eq 2 ]
  [[ $output == *"- url: https://198.18.0.12:10170/alertmanager"* ]]
}

@test "render-receivers refuses an empty or malformed target list and a config without markers" {
  echo '[]' >"$TMP/targets.json"
  run "$FLEET" render-receivers --targets-file "$TMP/targets.json"
  [ "$status" -eq 65 ]
  [[ $output == *"would trip nothing"* ]]
  echo '{"targets":"x"}' >"$TMP/targets.json"
  run "$FLEET" render-receivers --targets-file "$TMP/targets.json"
  [ "$status" -eq 65 ]
  [[ $output == *"not a Prometheus file_sd JSON file"* ]]
  echo '[{"targets":["h1:10170/x"]}]' >"$TMP/targets.json"
  run "$FLEET" render-receivers --targets-file "$TMP/targets.json"
  [ "$status" -eq 65 ]
  [[ $output == *"not a target of the form host:port"* ]]
  echo '[{"targets":["h1:10170"]}]' >"$TMP/targets.json"
  run "$FLEET" render-receivers --targets-file "$TMP/targets.json" \
    --config "$REPO/alerting/alertmanager.example.yml"
  [ "$status" -eq 65 ]
  [[ $output == *"(found 0 and 0)"* ]]
  run "$FLEET" render-receivers --targets-file "$TMP/targets.json" --token-file 'a b'
  [ "$status" -eq 64 ]
  run "$FLEET" render-receivers
  [ "$status" -eq 64 ]
  [[ $output == *"needs --targets-file or --prometheus"* ]]
}

@test "render-receivers --config never drops what follows a misplaced marker" {
  echo '[{"targets":["h1:10170","h2:10170"]}]' >"$TMP/targets.json"
  # the END marker above the BEGIN marker: refused, not a file cut short after the BEGIN
  cat >"$TMP/swapped.yml" <<'YAML'
route:
  receiver: oncall
receivers:
  # END ess-fleet-receiver
  - name: oncall
  # BEGIN ess-fleet-receiver
  - name: quantum-ess-fleet
  - name: pager
YAML
  run "$FLEET" render-receivers --targets-file "$TMP/targets.json" --config "$TMP/swapped.yml"
  [ "$status" -eq 65 ]
  [[ $output == *"'# END ess-fleet-receiver' line (line 4) comes before"*"(line 6)"* ]]
  # a marker quoted inside another line is not a marker: only the real block is replaced
  cat >"$TMP/quoted.yml" <<'YAML'
route:
  receiver: oncall
receivers:
  - name: oncall # see # BEGIN ess-fleet-receiver below
  # BEGIN ess-fleet-receiver
  - name: quantum-ess-fleet
  # END ess-fleet-receiver
  - name: pager
YAML
  run --separate-stderr "$FLEET" render-receivers --targets-file "$TMP/targets.json" \
    --config "$TMP/quoted.yml"
  [ "$status" -eq 0 ]
  [[ $output == *"- name: oncall # see # BEGIN"* && $output == *"- name: pager"* ]]
  [ "$(grep -c 'url: https://h[12]:10170/alertmanager' <<<"$output")" -eq 2 ]
  [ "$(grep -c 'END ess-fleet-receiver' <<<"$output")" -eq 1 ]
}

@test "trip refuses an http config it cannot read whole (a device, a FIFO, a huge file): 64, nothing posted" {
  run "$FLEET" trip --reason r --http-config /dev/zero
  [ "$status" -eq 64 ]
  [[ $output == *"--http-config: /dev/zero is not a regular file"* ]]
  mkfifo "$TMP/fifo"
  run timeout 10 "$FLEET" trip --reason r --http-config "$TMP/fifo"
  [ "$status" -eq 64 ]
  truncate -s 2M "$TMP/huge.yml"
  run "$FLEET" trip --reason r --http-config "$TMP/huge.yml"
  [ "$status" -eq 64 ]
  [[ $output == *"more than 1048576"* ]]
  run "$FLEET" status --prometheus http://prom:9090 --cacert /dev/zero
  [ "$status" -eq 64 ]
  [[ $output == *"--cacert: /dev/zero is not a regular file"* ]]
  [ ! -e "$TMP/amtool.calls" ]
}

@test "status shows control characters of Prometheus labels as ?, never raw to the terminal" {
  fleet_fixture
  local esc=$'\e' bel=$'\a'
  vector up "10.0.0.1:10170 1"
  vector ess_identity_info "10.0.0.1:10170 1 host=h1\\u001b]0;pwned\\u0007 groups=ex\\u001b[2Jec"
  vector ess_active "10.0.0.1:10170 0"
  vector ess_verdict "10.0.0.1:10170 1 verdict=armed\\u001b[31m"
  run "$FLEET" status --prometheus http://prom:9090
  [ "$status" -eq 0 ]
  [[ $output != *"$esc"* && $output != *"$bel"* ]]
  [[ $output == *"h1?]0;pwned?"* && $output == *"ex?[2Jec"* && $output == *"armed?[31m"* ]]
  [[ $output == *"not latched: h1?]0;pwned?"* ]]
  printf '{"status":"error","errorType":"bad\\u001b[0m","error":"x\\u0007"}' >"$TMP/prom-error"
  run "$FLEET" status --prometheus http://prom:9090
  [ "$status" -eq 69 ]
  [[ $output != *"$esc"* && $output == *"bad?[0m: x?"* ]]
}
