#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # every @test runs in its own subshell by design
# Controller and installer behaviour that needs no systemd: argument handling, permissions, config
# validation and the evidence helpers. The systemd behaviour is tested for real in test/integration.

bats_require_minimum_version 1.5.0

load ess_setup

setup() { ess_setup START_ORDER MONITOR_UNITS; }

# incoming/ may have been made append-only by a claim
teardown() { chattr -R -a "$TMP" 2>/dev/null || true; rm -rf "$TMP"; }

# The documented configuration without the keys a test sets itself (a key set twice is refused).
base_config() { ess_base_config START_ORDER MONITOR_UNITS; }

# load_libs: the controller's libraries, in the entry scripts' order (deploy/lib/load.sh)
load_libs() {
  export LC_ALL=C
  # shellcheck source=deploy/lib/load.sh
  source "$REPO/deploy/lib/load.sh"
  load_all
}

@test "no command exits 64, says so and points to --help" {
  run "$CTL"
  [ "$status" -eq 64 ]
  [[ $output == *"missing command (see 'ess_controller.sh --help')"* ]]
}

@test "unknown command exits 64 and names it" {
  run "$CTL" explode
  [ "$status" -eq 64 ]
  [[ $output == *"unknown command 'explode'"* ]]
}

@test "unknown flags exit 64 and name the flag (activate excepted: it reads them as meant)" {
  run "$CTL" deactivate --now
  [ "$status" -eq 64 ]
  [[ $output == *"unknown option '--now'"* ]]
  run "$CTL" status --yaml
  [ "$status" -eq 64 ]
  run "$CTL" deactivate --reason
  [ "$status" -eq 64 ]
  [[ $output == *"--reason needs a value"* ]]
}

@test "a --source that is not a plain name is never used: the activation is the operator's (cli)" {
  load_libs
  first_stop_options --source 'x;rm -rf /' --reason x
  [ "$ACT_OPT_SOURCE" = cli ]
  first_stop_options --source=drill
  [ "$ACT_OPT_SOURCE" = drill ]
}

@test "help exits 0 and documents the exit codes" {
  run "$CTL" help
  [ "$status" -eq 0 ]
  [[ $output == *"Exit codes"* ]]
}

@test "non-root activate, deactivate and rearm are refused with 77 and change nothing" {
  chmod -R a+rX "$TMP"
  for cmd in activate deactivate rearm; do
    run setpriv --reuid=65534 --regid=65534 --clear-groups env ESS_CONFIG="$ESS_CONFIG" \
      "$CTL" "$cmd"
    [ "$status" -eq 77 ]
    [[ $output == *"must run as root"* ]]
  done
  [ ! -e "$TMP/run/ESS_ON" ]
  [ ! -e "$TMP/state" ]
}

@test "an unknown config key is refused with 78, naming key and line" {
  echo "STOP_DEADLNE_SEC=2" >>"$ESS_CONFIG"
  run "$CTL" status
  [ "$status" -eq 78 ]
  [[ $output == *"STOP_DEADLNE_SEC: unknown key (line "* ]]
}

@test "bad values are refused, naming the key" {
  local bad
  for bad in "STOP_DEADLINE_SEC=fast" "KILL_AFTER_SEC=5" "REDIS_PORT=70000" \
    "FLAG_FILE=relative/ESS_ON" \
    "REDIS_ENABLED=maybe" 'TRADING_UNITS="-rf"' "not a key value line"; do
    base_config >"$ESS_CONFIG"
    echo "$bad" >>"$ESS_CONFIG"
    run "$CTL" status
    [ "$status" -eq 78 ]
    [[ $output == *"config error"* ]]
  done
}

@test "START_ORDER must name every trading unit exactly once" {
  base_config >"$TMP/base.conf"
  {
    cat "$TMP/base.conf"
    echo 'START_ORDER="quantum-governor quantum-ai-engine quantum-execution"'
  } >"$ESS_CONFIG"
  run "$CTL" status
  [ "$status" -eq 78 ]
  [[ $output == *"START_ORDER: trading unit quantum-apply-layer.service is missing"* ]]
  {
    cat "$TMP/base.conf"
    echo 'START_ORDER="quantum-governor quantum-ai-engine quantum-apply-layer quantum-execution'\
' redis-server"'
  } >"$ESS_CONFIG"
  run "$CTL" status
  [[ $output == *"START_ORDER: redis-server.service is not in TRADING_UNITS"* ]]
}

@test "a unit cannot be both trading and monitor" {
  echo 'MONITOR_UNITS="redis-server quantum-governor"' >>"$ESS_CONFIG"
  run "$CTL" status
  [ "$status" -eq 78 ]
  [[ $output == *"quantum-governor.service is also a trading unit"* ]]
}

@test "a config file named in ESS_CONFIG must exist" {
  ESS_CONFIG=$TMP/missing.conf run "$CTL" status
  [ "$status" -eq 78 ]
  [[ $output == *"file not found"* ]]
}

@test "/var/run paths are normalised to /run" {
  load_libs
  base_config >"$ESS_CONFIG"
  echo "FLAG_FILE=/var/run/quantum/ESS_ON" >>"$ESS_CONFIG"
  config_load
  [ "${CFG[FLAG_FILE]}" = /run/quantum/ESS_ON ]
  [ "${TRADING[0]}" = quantum-ai-engine.service ]
}

@test "seconds convert to microseconds exactly" {
  load_libs
  [ "$(time_sec_to_us 2)" = 2000000 ]
  [ "$(time_sec_to_us 0.5)" = 500000 ]
  [ "$(time_sec_to_us 1.000001)" = 1000001 ]
  [ "$(time_us_to_sec 1500)" = 0.001500 ]
}

@test "operator text is made safe for JSON and logs" {
  load_libs
  [ "$(record_clean_text $'a\nb\tc\x1b[31m')" = "a b c [31m" ]
  [ "$(record_json_str 'say "hi" \ bye')" = '"say \"hi\" \\ bye"' ]
  [ "$(record_json_str $'two\nlines\x7f\xff')" = '"two\u000alines\u007f\u00ff"' ]
  [ "$(record_clean_text "$(printf 'x%.0s' {1..300})" | wc -c)" -eq 256 ]
}

@test "the audit trail is hash-chained" {
  load_libs
  config_load
  record_audit_append activate '"reason":"one"'
  record_audit_append deactivate '"reason":"two"'
  local first second
  first=$(sed -n 1p "$TMP/log/audit.jsonl")
  second=$(sed -n 2p "$TMP/log/audit.jsonl")
  local zeros hash
  zeros=$(printf '%064d' 0)
  hash=$(printf '%s\n' "$first" | sha256sum | cut -d' ' -f1)
  [[ $first == *'"seq":1,'* && $first == *"\"prev\":\"$zeros\""* ]]
  [[ $second == *'"seq":2,'* && $second == *"\"prev\":\"$hash\""* ]]
}

@test "the state file renders as valid JSON from what the controller remembers" {
  load_libs
  config_load
  # shellcheck disable=SC2034 # read by record_state_save
  ST=([ACTIVE]=1 [FLAG_ID]=x [ACT_ID]=x [ACT_SOURCE]=cli [ACT_ACTOR]=root [ACT_REASON]='say "why"'
    [ACT_TRIGGER_US]=1000000 [ACT_STOPPED_US]=1040000 [ACT_LATENCY_US]=40000 [ACT_RESULT]=ok
    [ACT_UNITS]="a.service=stopped/inactive/30000 b.service=not-found/inactive/0" [COUNT_cli]=3)
  record_state_save
  run node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
    const a=s.last_activation;
    if (s.active!==true||a.latency_seconds!==0.04||a.units.length!==2||
        s.activations_total.cli!==3||a.reason!=="say \"why\"") process.exit(1)' \
    "$TMP/state/state.json"
  [ "$status" -eq 0 ]
}

@test "the persisted latch and the state are written together: one sync, one rename process" {
  load_libs
  config_load
  local dir=$TMP/state bin=$TMP/bin
  mkdir -p "$dir" "$bin"
  # the processes it starts, in order, with their arguments
  for tool in sync mv; do
    printf '#!/bin/bash\necho "%s $*" >>"%s/calls"\nexec /usr/bin/%s "$@"\n' "$tool" "$TMP" "$tool" \
      >"$bin/$tool"
    chmod +x "$bin/$tool"
  done
  # shellcheck disable=SC2034 # read by record_state_save
  ST=([ACTIVE]=1 [FLAG_ID]=x)
  PATH=$bin:$PATH record_state_save latched 0600 '{"id":"x"}'
  run cat "$TMP/calls"
  [ "${#lines[@]}" -eq 2 ]
  [[ ${lines[0]} == "sync -- $dir/.staging/latched $dir/.staging/state.env $dir/.staging/state.json" ]]
  [[ ${lines[1]} == "mv -f -t $dir -- $dir/.staging/latched "* ]]
  [ "$(cat "$dir/latched")" = '{"id":"x"}' ]
  [ "$(stat -c %a "$dir/latched")" = 600 ] && [ "$(stat -c %a "$dir/state.json")" = 644 ]
  grep -q '^ACTIVE=1$' "$dir/state.env"
  [ -z "$(ls -A "$dir/.staging")" ]
  # a file a killed run staged but never renamed is not in force, and does not block the next run
  echo stale >"$dir/.staging/state.json"
  ST[FLAG_ID]=y
  record_state_save
  grep -q '"flag_id":"y"' "$dir/state.json" && [ -z "$(ls -A "$dir/.staging")" ]
  # a staging directory that cannot be used: written one by one, as before
  rm -rf "$dir/.staging" && echo x >"$dir/.staging"
  ST[FLAG_ID]=z
  record_state_save latched 0600 '{"id":"z"}'
  grep -q '"flag_id":"z"' "$dir/state.json" && [ "$(cat "$dir/latched")" = '{"id":"z"}' ]
  [ -z "$(find "$dir" -name '.state*' -o -name '.latched*')" ]
}

@test "install.sh renders a latch drop-in for every configured trading unit and only those" {
  local units_dir=$TMP/units
  mkdir -p "$units_dir"
  run "$REPO/deploy/install.sh" render-units "$units_dir"
  [ "$status" -eq 0 ]
  [ "$(find "$units_dir" -name 50-quantum-ess-latch.conf | wc -l)" -eq 4 ]
  local dropin=$units_dir/quantum-governor.service.d/50-quantum-ess-latch.conf
  grep -qx "AssertPathExists=!$TMP/run/ESS_ON" "$dropin"
  grep -qx "AssertPathExists=!$TMP/state/latched" "$dropin"
  grep -qx "PathChanged=$TMP/run/ESS_ON" "$units_dir/quantum-ess-guard.path"
  grep -qx "PathExists=$TMP/run/ESS_ON" "$units_dir/quantum-ess.path"
  run ! grep -rq "@[A-Z_]*@" "$units_dir"
  [ "$status" -ne 0 ]
}

@test "the drill's twin is quantum-ess.service with its Description and ExecStart's source changed" {
  load_libs
  local real=$REPO/deploy/systemd/quantum-ess.service twin=$REPO/deploy/systemd/quantum-ess-drill-start.service
  diff <(wiring_twin_from_real <"$real") "$twin"
  # `systemctl cat`'s header names the file: the twin's own
  [ "$(printf '# /etc/systemd/system/quantum-ess.service\n' | wiring_twin_from_real)" = \
    "# /etc/systemd/system/quantum-ess-drill-start.service" ]
  # exactly those two lines differ, and the twin never passes the source systemd
  [ "$(diff "$real" "$twin" | grep -c '^>')" -eq 2 ]
  grep -q -- '--source drill ' "$twin" && ! grep -q -- '--source systemd' "$twin"
  # a drop-in's header is not translated: a drop-in on quantum-ess.service alone makes them differ
  [ "$(printf '# /etc/systemd/system/quantum-ess.service.d/x.conf\n' | wiring_twin_from_real)" = \
    "# /etc/systemd/system/quantum-ess.service.d/x.conf" ]
}

@test "a unit's dependencies are compared as a set: sorted bytewise, whatever order systemd lists them in" {
  load_libs
  local out
  LANG=en_US.UTF-8 wiring_sorted_v out "system.slice sysinit.target Zed.service basic.target a-b.target a.target"
  [ "$out" = "Zed.service a-b.target a.target basic.target sysinit.target system.slice" ]
  wiring_sorted_v out ""
  [ "$out" = "" ]
  wiring_sorted_v out "one.service"
  [ "$out" = "one.service" ]
}

@test "install.sh refuses to run as non-root" {
  run setpriv --reuid=65534 --regid=65534 --clear-groups "$REPO/deploy/install.sh"
  [ "$status" -ne 0 ]
  [[ $output == *"must run as root"* ]]
}

@test "a corrupt state.env line is skipped, not fatal" {
  load_libs
  config_load
  mkdir -p "$TMP/state"
  printf 'ACTIVE=1\nFLAG_ID=x\n%s\n' '{garbage' >"$TMP/state/state.env"
  record_state_load
  [ "${ST[ACTIVE]}" = 1 ]
  [ "${ST[FLAG_ID]}" = x ]
}

@test "check-config prints the normalised configuration, or exits 78 naming the key" {
  run "$CTL" check-config "$ESS_CONFIG"
  [ "$status" -eq 0 ]
  [[ $output == *"TRADING_UNITS=quantum-ai-engine.service quantum-execution.service"* ]]
  [[ $output == *"LATCH_ACROSS_REBOOT=keep"* ]]
  local bad key
  for bad in "KILL_AFTER_SEC=18446744073709.551:KILL_AFTER_SEC" \
    "START_TIMEOUT_SEC=0:START_TIMEOUT_SEC" "LOCK_WAIT_SEC=1e20:LOCK_WAIT_SEC" \
    "TRADING_UNITS=a@:TRADING_UNITS" "TRADING_UNITS=a@.service:TRADING_UNITS" \
    "TRADING_UNITS=a.socket:TRADING_UNITS" "FLAG_FILE=/run/q%n/ESS_ON:FLAG_FILE" \
    "FLAG_FILE=/run/q/ESS&ON:FLAG_FILE" 'FLAG_FILE=/run/q\x/ESS_ON:FLAG_FILE' \
    "FLAG_FILE=/run/quantum/ESS_ON/:FLAG_FILE" "FLAG_FILE=/run/../etc/x:FLAG_FILE" \
    "STATE_DIR=/var/spool/quantum-ess/state:SPOOL_DIR" \
    "LATCH_ACROSS_REBOOT=sometimes:LATCH_ACROSS_REBOOT" \
    'MONITOR_UNITS="redis-server redis-server":MONITOR_UNITS' \
    "STOP_DEADLINE_SEC=61:STOP_DEADLINE_SEC"; do
    key=${bad##*:}
    { base_config | grep -v "^${bad%%=*}="; echo "${bad%:*}"; } >"$TMP/bad.conf"
    run "$CTL" check-config "$TMP/bad.conf"
    [ "$status" -eq 78 ] || { echo "accepted: ${bad%:*}"; return 1; }
    [[ $output == *"config error in $TMP/bad.conf: $key:"* ]] ||
      { echo "$bad -> $output"; return 1; }
  done
}

@test "check-config refuses CRLF line ends and a key set twice" {
  printf 'STOP_DEADLINE_SEC=2\r\n' >"$TMP/crlf.conf"
  run "$CTL" check-config "$TMP/crlf.conf"
  [ "$status" -eq 78 ]
  [[ $output == *"line 1: carriage return"* ]]
  printf 'REDIS_PORT=1\nREDIS_PORT=2\n' >"$TMP/twice.conf"
  run "$CTL" check-config "$TMP/twice.conf"
  [ "$status" -eq 78 ]
  [[ $output == *"REDIS_PORT: set twice (lines 1 and 2)"* ]]
}

@test "the lock file is created 0600 with no window" {
  load_libs
  config_load
  latch_take_lock
  [ "$(stat -c %a "$TMP/run/ess.lock")" = 600 ]
  latch_drop_lock
  chmod 0644 "$TMP/run/ess.lock"
  latch_take_lock 2>/dev/null
  [ "$(stat -c %a "$TMP/run/ess.lock")" = 600 ]
}

@test "random bytes in every text field give valid JSON in state.json and the audit trail" {
  load_libs
  config_load
  local s
  for _ in $(seq 1 40); do
    s=$(head -c 64 /dev/urandom | tr -d '\000')
    # shellcheck disable=SC2034 # read by record_state_save
    ST=([ACTIVE]=1 [FLAG_ID]="$s" [ACT_ID]="$s" [ACT_SOURCE]="$s" [ACT_ACTOR]="$s" [ACT_REASON]="$s"
      [ACT_TRIGGER_US]=1 [ACT_LATENCY_US]=2 [ACT_RESULT]="$s"
      [ACT_UNITS]="a.service=stopped/inactive/1"
      [DEA_TIME_US]=3 [DEA_ACTOR]="$s" [DEA_REASON]="$s" [DEA_RESULT]="$s" [DEA_DETAIL]="$s"
      [TAMPER_TIME_US]=4 [TAMPER_DETAIL]="$s")
    record_state_save
    node -e 'JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))' "$TMP/state/state.json"
    record_audit_append test "\"detail\":$(record_json_str "$s")"
  done
  node -e 'const lines = require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n");
    for (const l of lines) JSON.parse(l)' "$TMP/log/audit.jsonl"
  run "$CTL" verify-audit
  [ "$status" -eq 0 ]
  [[ $output == *"audit chain OK: 40 entries"* ]]
}

@test "systemd's us+utc timestamps convert to Unix microseconds without a fork, as date(1) does" {
  load_libs
  local ts got want
  for ts in "2026-11-26 02:09:41.446772" "2024-02-29 23:59:59.999999" \
    "2000-03-01 00:00:00.000001" "1970-01-01 00:00:00.000000"; do
    time_utc_us_v got "Thu $ts UTC"
    want=$(date -u -d "$ts UTC" +%s%6N)
    [ "$got" = "$((10#$want))" ] || { echo "$ts: $got != $want"; return 1; }
  done
  time_utc_us_v got "n/a"
  [ -z "$got" ]
}

# Trip requests as the spool holds them: NAME CONTENT pairs, into SPOOL_DIR/incoming.
spool_put() {
  mkdir -p "$TMP/spool/incoming" "$TMP/spool/tmp"
  while (($# > 1)); do
    printf '%b' "$2" >"$TMP/spool/incoming/$1"
    touch -d "@$((1795656428 + ${#1}))" "$TMP/spool/incoming/$1"
    shift 2
  done
}

load_spool() {
  load_libs
  config_load
  # the journal lines, where the test can read them
  record_log() { printf '%s %s\n' "$1" "${*:2}" >>"$TMP/journal"; }
}

@test "a trip request's scope is checked: invalid or missing is recorded as such, never obeyed" {
  load_spool
  spool_put a1 'source=alertmanager\nscope=host:h1\nreason=one\n' \
    a2 'source=alertmanager\nscope=group:eu.exec-1\nreason=two\n' \
    a3 'source=alertmanager\nscope=fleet\nreason=three\n' \
    a4 'source=alertmanager\nscope=host:h1"},{"x":1\nreason=four\n' \
    a5 'source=alertmanager\nscope=host:-h1\nreason=five\n' \
    a6 "source=alertmanager\nscope=host:$(printf 'h%.0s' {1..64})\nreason=six\n" \
    a7 'source=alertmanager\nscope=HOST:h1\nscope=\nreason=seven\n' \
    a8 'source=alertmanager\nreason=eight, no scope\n' \
    a8u 'source=alertmanager\nscope=unscoped\nreason=eight, no scope label on the alert\n' \
    a9 'source=alertmanager\nscope=host:h1\x1b[31m\nreason=nine\n'
  spool_claim
  local path got=()
  for path in "${SPOOL_ENTRIES[@]}"; do
    spool_read_request "$path"
    got+=("$REQ_NAME=$REQ_SCOPE")
  done
  [ "${got[*]}" = "a1=host:h1 a2=group:eu.exec-1 a3=fleet a4=invalid a5=invalid a6=invalid \
a7=invalid a8=unknown a8u=unscoped a9=invalid" ]
}

@test "a batch records every scope, comma-joined, in the audit lines, the journal and state.json" {
  load_spool
  spool_put r1 'source=alertmanager\nscope=host:h1\nreason=one\n' \
    r2 'source=alertmanager\nscope=group:eu\nreason=two\n' \
    r3 'source=alertmanager\nscope=host:h1\nreason=three\n' \
    r4 'source=alertmanager\nscope=host:"h2\nreason=four\n'
  spool_claim
  spool_describe
  [ "$SPOOL_SCOPE" = "host:h1,group:eu,invalid" ]
  spool_record
  grep -q 'trip request r1: source=alertmanager scope=host:h1 reason=one' "$TMP/journal"
  grep -q 'trip request r4: source=alertmanager scope=invalid reason=four' "$TMP/journal"
  run node -e 'const lines = require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n");
    const e = JSON.parse(lines.at(-1));
    if (e.event !== "trip-requests" || e.scope !== "host:h1,group:eu,invalid") process.exit(1);
    const scopes = e.requests.map((r) => r.scope).join(" ");
    if (scopes !== "host:h1 group:eu host:h1 invalid") process.exit(2)' "$TMP/log/audit.jsonl"
  [ "$status" -eq 0 ]

  # shellcheck disable=SC2034 # read by record_state_save
  ST=([ACTIVE]=1 [FLAG_ID]=x [ACT_ID]=x [ACT_SOURCE]=alertmanager [ACT_ACTOR]=systemd
    [ACT_REASON]=r [ACT_TRIGGER_US]=1 [ACT_LATENCY_US]=2 [ACT_RESULT]=ok [ACT_SCOPE]=$SPOOL_SCOPE
    [ACT_UNITS]="a.service=stopped/inactive/1")
  record_state_save
  run node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
    process.stdout.write(String(s.last_activation.scope))' "$TMP/state/state.json"
  [ "$output" = "host:h1,group:eu,invalid" ]
  # no scope (an operator's activation), or one that is not of the allowed characters: null
  ST[ACT_SCOPE]="" && record_state_save
  grep -q '"scope":null' "$TMP/state/state.json"
  ST[ACT_SCOPE]='a"b' && record_state_save
  grep -q '"scope":null' "$TMP/state/state.json"
}

@test "more than 8 different scopes in one batch are cut, with ... at the end" {
  load_spool
  local i args=()
  for i in $(seq 1 12); do args+=("r$i" "source=alertmanager\nscope=host:h$i\nreason=r\n"); done
  spool_put "${args[@]}"
  spool_claim
  spool_describe
  [ "$SPOOL_SCOPE" = "host:h1,host:h10,host:h11,host:h12,host:h2,host:h3,host:h4,host:h5,..." ]
}

@test "a real trip request claimed with a drill's names the activation, whichever came first" {
  load_spool
  spool_put a1 'source=drill\nscope=host:h1\nreason=drill-X: trip request\n' \
    a2 'source=alertmanager\nscope=host:h1\nreason=RealTrip\n'
  spool_claim
  spool_describe
  [ "$SPOOL_SOURCE" = alertmanager ]
  [ "$SPOOL_REASON" = "RealTrip (+1 more requests, a drill's among them)" ]
  [ "$SPOOL_WITH_DRILL" -eq 1 ]
  # the drill's alone: the drill's activation, as before
  spool_put b1 'source=drill\nscope=host:h1\nreason=drill-Y: trip request\n'
  spool_claim
  spool_describe
  [ "$SPOOL_SOURCE" = drill ] && [ "$SPOOL_WITH_DRILL" -eq 0 ]
  # a request that cannot be read is a real one too
  spool_put c1 'source=drill\nscope=host:h1\nreason=drill-Z: trip request\n'
  mkfifo "$TMP/spool/incoming/c2"
  spool_claim
  spool_describe
  [ "$SPOOL_SOURCE" = trip-request ] && [ "$SPOOL_WITH_DRILL" -eq 1 ]
  rm -f "$TMP/spool/incoming/c2"
  # the real one first
  spool_put d1 'source=alertmanager\nscope=host:h1\nreason=RealFirst\n' \
    d2 'source=drill\nscope=host:h1\nreason=drill-W: trip request\n'
  spool_claim
  spool_describe
  [ "$SPOOL_REASON" = "RealFirst (+1 more requests, a drill's among them)" ]
  # without a drill: the first readable request names the batch, before entries that cannot be read
  mkdir "$TMP/spool/incoming/0-dir"
  spool_put r1 'source=alertmanager\nscope=host:h1\nreason=storm 1\n'
  spool_claim
  spool_describe
  [ "$SPOOL_SOURCE" = alertmanager ] && [ "$SPOOL_REASON" = "storm 1 (+1 more requests)" ]
}

# The spool as installed: its own small tmpfs (here 256 KiB, 64 inodes), the four directories.
# The writers' group is nogroup (65534) here, their user nobody.
spool_mount() {
  mkdir -p "$TMP/spool"
  mount -t tmpfs -o size=256k,nr_inodes=64,mode=0750,gid=65534 ess-bats-spool "$TMP/spool"
  mkdir -m 1730 "$TMP/spool/tmp" "$TMP/spool/incoming" "$TMP/spool/reserve"
  chown 0:65534 "$TMP/spool/tmp" "$TMP/spool/incoming" "$TMP/spool/reserve"
  mkdir -m 0700 "$TMP/spool/processed"
  chattr +a "$TMP/spool/incoming"
  chmod 0755 "$TMP"
}

@test "a spool filled by its writers is emptied of what is no request, and says so (journal, audit)" {
  [ "$EUID" -eq 0 ] || skip "mounting the spool's tmpfs needs root"
  load_spool
  spool_mount
  # shellcheck disable=SC2317 # teardown
  teardown() { chattr -a "$TMP/spool/incoming"; umount "$TMP/spool"; rm -rf "$TMP"; }
  # shellcheck disable=SC2034 # read by spool_clean_reserve
  SPOOL_WRITER_USER=nobody
  local s=$TMP/spool
  printf 'source=alertmanager\nreason=being written\n' >"$s/tmp/young"
  mkdir "$s/tmp/dir" && touch "$s/tmp/dir/"{1..20}
  mkfifo "$s/tmp/fifo" && ln -s /etc/shadow "$s/tmp/link"
  setpriv --reuid=nobody --regid=65534 --clear-groups sh -c "head -c 4096 /dev/zero >$s/reserve/spare"
  printf x >"$s/reserve/foreign"
  dd if=/dev/zero of="$s/tmp/huge" bs=4k 2>/dev/null || true
  local room
  spool_room_v room
  [ "$room" = low ]
  spool_housekeep
  # low on room: tmp/ emptied whole; reserve/ keeps the spare request of the writer's user only
  [ -z "$(ls -A "$s/tmp")" ]
  [ "$(ls -A "$s/reserve")" = spare ]
  [ "$SPOOL_DROP_TMP" -eq 5 ] && [ "$SPOOL_DROP_RESERVE" -eq 1 ]
  grep -q 'warning trip spool .* (room: low): removed 5 entries of tmp/.* 1 of reserve/' "$TMP/journal"
  tail -n 1 "$TMP/log/audit.jsonl" | grep -q '"event":"spool-cleanup","room":"low","tmp_entries":5,"reserve_entries":1'

  # with room: a young plain request stays (its writer is renaming it), anything else goes
  printf 'reason=r\n' >"$s/tmp/young" && mkfifo "$s/tmp/fifo" && head -c 5000 /dev/zero >"$s/tmp/big"
  touch "$s/tmp/linked" && ln "$s/tmp/linked" "$s/tmp/linked2"
  spool_housekeep
  [ "$(ls -A "$s/tmp")" = young ]
  [ "$SPOOL_DROP_TMP" -eq 4 ]
}

@test "claimed batches are kept up to 2000 requests, the newest; the rest is counted as dropped" {
  load_spool
  local b i
  for b in 1 2 3 4 5; do
    mkdir -p "$TMP/spool/processed/179565642800000$b-1"
    (cd "$TMP/spool/processed/179565642800000$b-1" && for i in $(seq 600); do : >"r$i"; done)
  done
  SPOOL_BATCH=$TMP/spool/processed/1795656428000005-1 # the current batch is never dropped
  spool_housekeep
  local kept=("$TMP"/spool/processed/*)
  [ "${kept[*]##*/}" = "1795656428000003-1 1795656428000004-1 1795656428000005-1" ]
  [ "$SPOOL_DROP_BATCHES" -eq 2 ] && [ "$SPOOL_DROP_REQUESTS" -eq 1200 ]
  grep -q '2 claimed batches (1200 requests, each audited when claimed)' "$TMP/journal"
}

@test "a claim takes every request out of the append-only incoming/ and leaves it append-only" {
  [ "$EUID" -eq 0 ] || skip "mounting the spool's tmpfs needs root"
  load_spool
  spool_mount
  # shellcheck disable=SC2317 # teardown
  teardown() { chattr -a "$TMP/spool/incoming"; umount "$TMP/spool"; rm -rf "$TMP"; }
  local s=$TMP/spool
  setpriv --reuid=nobody --regid=65534 --clear-groups sh -c \
    "printf 'reason=mine\n' >$s/tmp/r1 && mv $s/tmp/r1 $s/incoming/r1 && mkfifo $s/incoming/p"
  # its writer cannot withdraw it: not removed, not renamed away, not hidden
  run setpriv --reuid=nobody --regid=65534 --clear-groups sh -c \
    "rm -f $s/incoming/r1 || mv $s/incoming/r1 $s/incoming/.r1 || mv $s/incoming/r1 $s/tmp/r1"
  [ "$status" -ne 0 ]
  [ -e "$s/incoming/r1" ]
  spool_claim
  [ "$SPOOL_COUNT" -eq 2 ]
  [ -z "$(ls -A "$s/incoming")" ]
  [ "$(stat -c %u "$SPOOL_BATCH/r1")" = 0 ]
  lsattr -d "$s/incoming" | grep -q '^-*a'
  spool_describe
  spool_record
  [ "$(ls -A "$SPOOL_BATCH")" = r1 ] # the FIFO went once recorded
  grep -q 'trip request p: .*reason=unreadable trip request p' "$TMP/journal"
}

@test "the controller's own KillSignal= never reaches a main process outside the unit's cgroup" {
  load_libs
  config_load
  record_log() { printf '%s %s\n' "$1" "${*:2}" >>"$TMP/journal"; }
  local u=quantum-governor.service pid own rc=0 i
  sleep 1000 &
  pid=$!
  own=$(sed -n 's/^[0-9]*:[^:]*://p' "/proc/$pid/cgroup" | head -n 1)
  # a root-owned PIDFile= naming another unit's process: systemd reports it as the main PID
  KILL_MODE[$u]=process KILL_SIGNAL[$u]=15 MAINPID[$u]=$pid CGROUP[$u]=/ess-test.slice/$u
  units_sigterm "$u"
  sleep 0.2
  kill -0 "$pid"
  grep -q "unit $u: its main process $pid is not in its cgroup (/ess-test.slice/$u): not signalled" \
    "$TMP/journal"
  run ! grep -q "sent by the controller to:.*$pid" "$TMP/journal"
  # the same process in the unit's cgroup (here the test's own) gets the unit's KillSignal=
  CGROUP[$u]=$own
  units_sigterm "$u"
  wait "$pid" || rc=$?
  [ "$rc" -eq 143 ]
  grep -q "signal 15 (KillSignal=) sent by the controller to:$pid" "$TMP/journal"
  # SendSIGHUP=yes: SIGHUP follows, as systemd sends it (a shell that ignores SIGTERM ends on it)
  # (SIGHUP set back to its default first: under nohup, a shell cannot trap what it inherits ignored)
  # shellcheck disable=SC2016 # $1 is the inner shell's
  env --default-signal=HUP bash -c 'trap "" TERM; trap "exit 9" HUP; : >"$1"; while :; do sleep 0.05; done' \
    _ "$TMP/ready" &
  pid=$! rc=0
  for ((i = 0; i < 200; i++)); do [[ ! -e $TMP/ready ]] || break; sleep 0.05; done
  KILL_MODE[$u]=process MAINPID[$u]=$pid SEND_SIGHUP[$u]=yes
  units_sigterm "$u"
  for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true # still there after 2 s: the test fails (137), never hangs
  wait "$pid" || rc=$?
  [ "$rc" -eq 9 ]
}
