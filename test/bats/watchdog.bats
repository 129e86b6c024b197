#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # every @test runs in its own subshell by design
# shellcheck disable=SC2016 # the scripts given to wd run in its namespace, expanded there
# The dead man's switch's bookkeeping (deploy/lib/watchdog.sh) without systemd: each test runs the
# check in a mount namespace of its own, with a private 64 KiB tmpfs on /run (so that it can be
# filled), the uptime clock set by hand and the journal on stdout. WATCHDOG_ACTION=alert: acting is
# a journal line at crit and an audit line. The timer and a real trip are tested in
# test/integration/watchdog.test.ts.

bats_require_minimum_version 1.5.0

load ess_setup

setup() {
  ess_setup WATCHDOG_ACTION WATCHDOG_MAX_SILENCE_SEC WATCHDOG_GRACE_SEC
  printf '%s\n' WATCHDOG_ACTION=alert WATCHDOG_MAX_SILENCE_SEC=10 WATCHDOG_GRACE_SEC=10 >>"$ESS_CONFIG"
  mkdir -p "$TMP/spool/heartbeat"
}

teardown() { rm -rf "$TMP"; }

# wd SCRIPT: SCRIPT with the controller's libraries loaded, in a mount namespace with a 64 KiB
# tmpfs on /run. In it: `at SECONDS` sets the uptime clock, `check` runs one watchdog check and
# prints "state=STATE silence=N rc=RC", `beat` replaces the heartbeat file as the receiver does,
# `fill` fills /run and `unfill` makes room again.
wd() {
  TMP=$TMP unshare --mount --propagation private bash -c '
    set -Eeuo pipefail
    mount -t tmpfs -o size=64k tmpfs /run
    export LC_ALL=C
    source "$1/deploy/lib/load.sh"
    load_all
    UP=0
    at() { UP=$(($1 * 1000000)); }
    time_uptime_us_v() { printf -v "$1" "%s" "$UP"; }
    record_journal() { printf "journal %s: %s\n" "$1" "${*:2}" >&2; }
    check() {
      local rc=0
      CONFIG_IN_FORCE_LOADED=0
      watchdog_check >/dev/null || rc=$?
      exec {WD_LOCK}>&- # one process per check in the service: its lock ends with it
      printf "state=%s silence=%s rc=%s\n" "$WD_STATE" "$WD_SILENCE" "$rc"
    }
    beat() {
      printf "{\"path\":\"prometheus=p1 via am-1\"}\n" >"$SPOOL_DIR/heartbeat/.new"
      mv -f "$SPOOL_DIR/heartbeat/.new" "$SPOOL_DIR/heartbeat/last"
    }
    fill() { dd if=/dev/zero of=/run/fill bs=4k 2>/dev/null || true; }
    unfill() { rm -f /run/fill; }
    SPOOL_DIR=$TMP/spool
    eval "$2"' _ "$REPO" "$1"
}

@test "a full /run never restarts the silence: it is counted from the last heartbeat recorded, acts at the limit, fails loudly" {
  run -0 wd 'at 1; check; beat; at 5; check; fill; beat; at 10; check; beat; at 16; check
    at 20; check; beat; at 40; check'
  lines=()
  mapfile -t lines < <(grep '^state=' <<<"$output")
  [ "${lines[0]}" = "state=grace silence= rc=0" ]
  [ "${lines[1]}" = "state=fresh silence=0 rc=0" ]
  # the heartbeats that arrive while nothing can be written do not count, and each check fails
  [ "${lines[2]}" = "state=fresh silence=5 rc=1" ]
  [ "${lines[3]}" = "state=silent silence=11 rc=1" ]
  [ "${lines[4]}" = "state=silent silence=15 rc=1" ]
  [ "${lines[5]}" = "state=silent silence=35 rc=1" ]
  [[ $output == *"journal crit: WATCHDOG: monitoring silent (no heartbeat) for 11 s (limit 10 s)"* ]]
  [[ $output == *"journal crit: WATCHDOG: cannot write /run/quantum-ess/watchdog/seen"* ]]
  grep -q '"event":"watchdog-silent","action":"alert","silence_sec":11' "$TMP/log/audit.jsonl"
}

@test "when room comes back, a heartbeat that changed meanwhile is counted from the last recorded check, not from that moment" {
  run -0 wd 'at 1; check; beat; at 5; check; fill; at 10; check; at 40; check; beat; at 45; check
    unfill; at 50; check; at 52; check; beat; at 55; check'
  lines=()
  mapfile -t lines < <(grep '^state=' <<<"$output")
  [ "${lines[1]}" = "state=fresh silence=0 rc=0" ]
  [ "${lines[3]}" = "state=silent silence=35 rc=1" ]
  [ "${lines[4]}" = "state=silent silence=40 rc=1" ]
  # room again at 50: the last check recorded was at 5, so the new heartbeat counts from 5
  [ "${lines[5]}" = "state=silent silence=45 rc=0" ]
  [ "${lines[6]}" = "state=silent silence=47 rc=0" ]
  # a heartbeat after that is counted from the check that sees it
  [ "${lines[7]}" = "state=fresh silence=0 rc=0" ]
}

@test "a grace period that cannot be recorded is none beyond the boot's" {
  run -0 wd 'fill; at 5; check; at 9; check; at 11; check; unfill; at 12; check; at 50; check'
  lines=()
  mapfile -t lines < <(grep '^state=' <<<"$output")
  [ "${lines[0]}" = "state=grace silence= rc=1" ]
  [ "${lines[1]}" = "state=grace silence= rc=1" ]
  [ "${lines[2]}" = "state=silent silence= rc=1" ]
  # recorded once there is room: the first check of the boot with a book, so from now
  [ "${lines[3]}" = "state=grace silence= rc=0" ]
  [ "${lines[4]}" = "state=silent silence= rc=0" ]
}

@test "only a new boot, a change of the watchdog keys or a deactivate starts a grace period" {
  run -0 wd 'at 1; check; beat; at 3; check; at 30; check
    at 32; check
    mkdir -p "$TMP/state"; echo DEA_TIME_US=123 >>"$TMP/state/state.env"; at 34; check
    at 50; check
    sed -i s/^WATCHDOG_GRACE_SEC=10/WATCHDOG_GRACE_SEC=11/ "$ESS_CONFIG"; at 52; check
    at 60; check'
  lines=()
  mapfile -t lines < <(grep '^state=' <<<"$output")
  [ "${lines[2]}" = "state=silent silence=27 rc=0" ]
  [ "${lines[3]}" = "state=silent silence=29 rc=0" ]
  [ "${lines[4]}" = "state=grace silence=31 rc=0" ]
  [ "${lines[5]}" = "state=silent silence=47 rc=0" ]
  [ "${lines[6]}" = "state=grace silence=49 rc=0" ]
  [ "${lines[7]}" = "state=grace silence=57 rc=0" ]
}

@test "a check older than 30 s on the uptime clock is stale: status --json says so, status and the drill too" {
  run -0 wd 'at 1; check; beat; at 5; check
    at 30; watchdog_status_json_v j; printf "json=%s\n" "$j"; watchdog_last_check && echo recent
    at 36; watchdog_status_json_v j; printf "json=%s\n" "$j"; watchdog_last_check || echo stale
    rm /run/quantum-ess/watchdog.json; watchdog_status_json_v j; printf "json=%s\n" "$j"
    CFG[WATCHDOG_ACTION]=off; watchdog_status_json_v j; printf "json=%s\n" "$j"'
  lines=()
  mapfile -t lines < <(grep -e '^json=' -e '^recent' -e '^stale' <<<"$output")
  [[ ${lines[0]} == 'json={"schema":1,"time":'*',"uptime_us":5000000,"state":"fresh",'* ]]
  [ "${lines[1]}" = recent ]
  [[ ${lines[2]} == 'json={"schema":1,"time":'*',"uptime_us":5000000,"state":"stale","action":"alert",'* ]]
  [ "${lines[3]}" = stale ]
  [[ ${lines[4]} == 'json={"schema":1,"time":'*',"uptime_us":0,"state":"stale","action":"alert","max_silence_sec":10,"silence_sec":null,"paused_until":0}' ]]
  [ "${lines[5]}" = "json=null" ]
}
