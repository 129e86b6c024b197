#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # every @test runs in its own subshell by design
# What a tired operator reads when a command is mistyped: every entry point (controller, drill,
# installer, fleet tool) answers a usage error with one line saying what is wrong and where the
# help is, and the same exit code for the same kind of error (docs/operator-guide.md, "Exit
# codes"). No systemd needed: these are refused before anything is read from it.

bats_require_minimum_version 1.5.0

load ess_setup

setup() {
  ess_setup
  chmod -R a+rX "$TMP"
}

teardown() { rm -rf "$TMP"; }

# one_line_usage_error TOOL: the last `run` was a usage error of TOOL: exit 64, one line, the
# pointer to TOOL --help, no help text.
one_line_usage_error() {
  [ "$status" -eq 64 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ ${lines[0]} == *"(see '$1 --help')" ]]
  [[ $output != *"Usage:"* && $output != *"Exit codes"* ]]
}

as_nobody() {
  setpriv --reuid=65534 --regid=65534 --clear-groups env ESS_CONFIG="$ESS_CONFIG" "$@"
}

@test "controller: a usage error is one line and a pointer to --help (exit 64)" {
  local args
  for args in "" "explode" "deactivate --now" "deactivate incident closed" "deactivate -r x" \
    "deactivate --reason" "deactivate --no-start=yes" "status --yaml" "status --json=1" "stauts" \
    "exempt" "exempt --for 30m --reason deploy" "unexempt" "unexempt a b" "rearm now" \
    "verify-audit extra" "check-config a b" "guard x" "restore-latch --now"; do
    # shellcheck disable=SC2086 # one word per argument
    run "$CTL" $args
    one_line_usage_error ess_controller.sh
  done
  run "$CTL" stauts
  [[ $output == "ess: unknown command 'stauts' (did you mean: ess_controller.sh status?): nothing\
 was done, trading was NOT stopped; to stop it: sudo ess_controller.sh activate --reason \"...\"\
 (see 'ess_controller.sh --help')" ]]
  run "$CTL" deactviate
  [[ $output == "ess: unknown command 'deactviate' (did you mean: sudo ess_controller.sh deactivate?):"* ]]
  run "$CTL" explode
  [[ $output == "ess: unknown command 'explode': nothing was done, trading was NOT stopped;"* ]]
  run "$CTL" --help
  [ "$status" -eq 0 ]
  [[ $output == *"Exit codes"* ]]
}

@test "drill, installer and fleet tool: the same one-line usage errors, exit 64" {
  run "$REPO/deploy/proof_ess.sh" --dryrun
  one_line_usage_error proof_ess.sh
  [[ $output == *"unknown option '--dryrun'"* ]]
  run "$REPO/deploy/proof_ess.sh" --exporter-url
  one_line_usage_error proof_ess.sh
  run "$REPO/fleet/ess_fleet.sh" trp
  one_line_usage_error ess_fleet.sh
  run "$REPO/fleet/ess_fleet.sh"
  one_line_usage_error ess_fleet.sh
  run "$REPO/deploy/install.sh" --runbook-rot /home/qt/quantum_trader
  one_line_usage_error install.sh
  # the prefix is said once
  [[ $output == "install: unknown option '--runbook-rot' (see 'install.sh --help')" ]]
  run "$REPO/deploy/install.sh" unistall
  one_line_usage_error install.sh
  run "$REPO/deploy/install.sh" --runbook-root
  one_line_usage_error install.sh
  run "$REPO/deploy/install.sh" --runbook-root --force
  one_line_usage_error install.sh
  run "$REPO/deploy/install.sh" --help
  [ "$status" -eq 0 ]
  [[ $output == *"Usage: install.sh"*"Exit codes"* ]]
}

@test "drill and installer read their options as the controller does (args.sh): any order, =VALUE" {
  run "$REPO/deploy/proof_ess.sh" --exporter-url=http://127.0.0.1:1/m --dryrun
  one_line_usage_error proof_ess.sh
  [[ $output == "proof_ess.sh: unknown option '--dryrun' (see "* ]]
  run "$REPO/deploy/proof_ess.sh" --dry-run=yes
  one_line_usage_error proof_ess.sh
  [[ $output == *"--dry-run takes no value"* ]]
  run "$REPO/deploy/proof_ess.sh" --exporter-url= --dry-run
  [[ $output == *"--exporter-url needs a value"* ]]
  run "$REPO/deploy/proof_ess.sh" dry-run
  one_line_usage_error proof_ess.sh
  [[ $output == *"unexpected 'dry-run'"* ]]
  # read as meant in any order: the root check is what stops these
  run as_nobody "$REPO/deploy/proof_ess.sh" --exporter-url=http://127.0.0.1:1/m --dry-run
  [ "$status" -eq 77 ]
  [[ $output == "proof_ess.sh: the dry-run drill "* ]]
  run as_nobody "$REPO/deploy/install.sh" --trust-owner=qt --allow-missing-units \
    --runbook-root=/home/qt/quantum_trader --trust-owner nobody install
  [ "$status" -eq 77 ]
  run as_nobody "$REPO/deploy/install.sh" --force uninstall
  [ "$status" -eq 77 ]
  run "$REPO/deploy/install.sh" uninstall --allow-missing-units
  one_line_usage_error install.sh
  [[ $output == "install: unknown option '--allow-missing-units' for uninstall (see "* ]]
  run "$REPO/deploy/install.sh" --trust-owner='bad name'
  one_line_usage_error install.sh
  [[ $output == *"--trust-owner needs a user or group name"* ]]
  run "$REPO/deploy/install.sh" --runbook-root=
  one_line_usage_error install.sh
  run "$REPO/deploy/install.sh" install extra
  one_line_usage_error install.sh
  [[ $output == *"unexpected 'extra'"* ]]
}

@test "not root: 77 from the controller, the drill and the installer alike, nothing changed" {
  run as_nobody "$CTL" activate
  [ "$status" -eq 77 ]
  [[ $output == *"must run as root"* ]]
  run as_nobody "$REPO/deploy/proof_ess.sh"
  [ "$status" -eq 77 ]
  [[ $output == "proof_ess.sh: the drill (it stops trading briefly) must run as root"*\
"Nothing was changed. Run: sudo $REPO/deploy/proof_ess.sh" ]]
  # the operator's own arguments, quoted for the shell
  run as_nobody "$REPO/deploy/proof_ess.sh" --dry-run --exporter-url 'http://127.0.0.1:1/a b'
  [ "$status" -eq 77 ]
  [[ $output == "proof_ess.sh: the dry-run drill "*"must run as root"*\
"Run: sudo $REPO/deploy/proof_ess.sh --dry-run --exporter-url http://127.0.0.1:1/a\\ b" ]]
  run as_nobody "$REPO/deploy/install.sh"
  [ "$status" -eq 77 ]
  [[ $output == "install: install must run as root (uid 0); you are uid 65534."*\
"Run: sudo $REPO/deploy/install.sh" ]]
  run as_nobody "$REPO/deploy/install.sh" uninstall
  [ "$status" -eq 77 ]
  [ ! -e "$TMP/run/ESS_ON" ]
}

@test "a bad configuration: 78 from the controller, the drill and the installer's render alike" {
  echo "STOP_DEADLNE_SEC=2" >>"$ESS_CONFIG"
  run "$CTL" status
  [ "$status" -eq 78 ]
  run "$REPO/deploy/proof_ess.sh" --dry-run
  [ "$status" -eq 78 ]
  [[ $output == "proof_ess.sh: config error in $ESS_CONFIG: STOP_DEADLNE_SEC: unknown key"* ]]
  run "$REPO/deploy/install.sh" render-units "$TMP"
  [ "$status" -eq 78 ]
  # each entry point's own prefix, once: never the controller's on top of it
  [[ $output == "install: config error in $ESS_CONFIG: STOP_DEADLNE_SEC: unknown key"* ]]
}

@test "exempt --for: a bare number is refused with the accepted forms; units are required" {
  local args
  mkdir -p "$TMP/run"
  touch "$TMP/run/ESS_ON" # latched: not active would be said first
  run "$CTL" exempt quantum-execution --for 30 --reason deploy
  one_line_usage_error ess_controller.sh
  [[ $output == *"--for 30 has no unit: write 30s, 30m or 30h"* ]]
  for args in "--for 30min" "--for 1.5h" "--for 0m" "--for -5m" "--for soon"; do
    # shellcheck disable=SC2086 # one word per argument
    run "$CTL" exempt quantum-execution $args --reason deploy
    one_line_usage_error ess_controller.sh
    [[ $output == *"is not a duration: a number with its unit: 90s, 30m or 1h"* ]]
  done
  run "$CTL" exempt quantum-execution --reason deploy
  one_line_usage_error ess_controller.sh
  [[ $output == *"exempt: needs --for DURATION (a number with its unit: 90s, 30m or 1h)"* ]]
  run "$CTL" exempt quantum-execution --for 2h --reason deploy
  one_line_usage_error ess_controller.sh
  [[ $output == *"longer than MAX_EXEMPTION_SEC (1h), the maximum;"* ]]
}

@test "the exit codes are listed once in the operator guide and every --help agrees with it" {
  local table
  table=$(sed -n '/^## Exit codes/,/^## /p' "$REPO/docs/operator-guide.md")
  [[ $table == *"| 64 |"*"| 77 |"*"| 78 |"* ]]
  run "$CTL" --help
  [[ $output == *"64 usage"*"77 not root"*"78 bad configuration"* ]]
  run "$REPO/deploy/install.sh" --help
  [[ $output == *"64 usage; 77 not root; 78 bad configuration"* ]]
  run "$REPO/deploy/proof_ess.sh" --help
  [[ $output == *"64 usage"*"77 not root"*"78 bad configuration"* ]]
  run "$REPO/fleet/ess_fleet.sh" --help
  [[ $output == *"64 usage"* ]]
}

@test "demo: echoed commands keep their quotes; times are local ISO times" {
  # shellcheck source=/dev/null
  source "$REPO/demo/run.sh" # defines the functions only (main runs when executed)
  local line
  args_quote_v line ess_controller.sh activate --reason "demo: runaway strategy"
  [ "$line" = 'ess_controller.sh activate --reason "demo: runaway strategy"' ]
  # shellcheck disable=SC2016 # the $ is meant literally
  args_quote_v line bash -c 'echo "$HOME"' ""
  # shellcheck disable=SC2016 # the $ is meant literally
  [ "$line" = 'bash -c "echo \"\$HOME\"" ""' ]
  [ "$(TZ=Europe/Berlin demo_local_time 1796520920.443859)" = "2026-12-06T02:35:20.443+0100" ]
  [ "$(TZ=UTC demo_local_time 1796520920)" = "2026-12-06T01:35:20.000+0000" ]
  [ "$(demo_seconds 10.250 10.3125)" = "0.062" ]
}

# activate_reads ARGS...: activate's reading of ARGS (first_stop_options, as before the stop), then
# what it says after the stop (activate_say_reading): "REASON|SOURCE" and the lines it says.
activate_reads() {
  bash -c 'set -Eeuo pipefail; source "$1/deploy/lib/load.sh"; load_all
    record_log() { printf "ess: %s\n" "${*:2}" >&2; }
    first_stop_options "${@:2}"
    printf "%s|%s\n" "$ACT_OPT_REASON" "$ACT_OPT_SOURCE"
    activate_say_reading 2>&1' _ "$REPO" "$@"
}

@test "activate: every way it is written is read as meant, and it says how after the stop" {
  run activate_reads "market crash"
  [ "${lines[0]}" = "market crash|cli" ]
  [ "${lines[1]}" = 'ess: read "market crash" as the reason' ]
  [ "${lines[2]}" = \
    'ess: the exact form of this command: sudo ess_controller.sh activate --reason "market crash"' ]
  run activate_reads -r x
  [ "${lines[0]}" = "x|cli" ]
  [ "${lines[1]}" = "ess: read -r as --reason" ]
  [ "${lines[2]}" = \
    "ess: the exact form of this command: sudo ess_controller.sh activate --reason x" ]
  run activate_reads --reason
  [ "${lines[0]}" = "|cli" ]
  [ "${lines[1]}" = 'ess: --reason had no text: recorded as "no reason given"' ]
  [ "${lines[2]}" = \
    "ess: the exact form of this command: sudo ess_controller.sh activate --reason TEXT" ]
  run activate_reads --reason flash crash BTC
  [ "${lines[0]}" = "flash crash BTC|cli" ]
  [[ ${lines[2]} == *'activate --reason "flash crash BTC"' ]]
  run activate_reads --force --reason x
  [ "${lines[0]}" = "x|cli" ]
  [ "${lines[1]}" = "ess: ignored '--force': activate has no such option" ]
  run activate_reads --source 'x;rm -rf /' --reason x
  [ "${lines[0]}" = "x|cli" ]
  [[ ${lines[1]} == "ess: --source 'x;rm -rf /' is not a plain name"*": taken as cli" ]]
  # the exact forms say nothing more
  local args
  for args in "" "--reason x" "--reason=x" "--source=drill --reason=a" "--source drill"; do
    # shellcheck disable=SC2086 # one word per argument
    run activate_reads $args
    [ "${#lines[@]}" -eq 1 ]
  done
  [ "$output" = "|drill" ]
  run activate_reads "--reason=market crash" --source=drill
  [ "$output" = "market crash|drill" ]
}

@test "activate's reading of its arguments starts no process (the stop comes first)" {
  # shellcheck disable=SC2016 # expanded by the inner bash
  run env -i PATH=/nonexistent "$BASH" -c 'set -Eeuo pipefail -T; source "$1/load.sh"; load_stop
    trap '\''[[ $BASHPID == "$$" ]] || echo "a process in ${FUNCNAME[0]:-?}" >&2'\'' DEBUG
    first_stop_options "market crash" -r x --reason --force --source=a --from-spool=1 -- -y
    trap - DEBUG
    printf "%s|%s|%s\n" "$ACT_OPT_REASON" "$ACT_OPT_SOURCE" "$ACT_OPT_FROM_SPOOL"' _ \
    "$REPO/deploy/lib"
  [ "$status" -eq 0 ]
  [ "$output" = "x market crash -y|a|1" ]
}

@test "options in any order and --opt=VALUE for every command; refusals show what works" {
  # exempt with its options before the unit, in either form: read, then refused only because
  # the ESS is not active (2)
  run "$CTL" exempt --for 30m --reason deploy quantum-execution
  [ "$status" -eq 2 ]
  [[ $output == *"the ESS is not active: there is no latch to exempt quantum-execution.service"* ]]
  run "$CTL" exempt --for=30m --reason="deploy v2" quantum-execution
  [ "$status" -eq 2 ]
  run "$CTL" unexempt quantum-execution --expired
  [ "$status" -eq 2 ]
  mkdir -p "$TMP/run"
  touch "$TMP/run/ESS_ON" # latched: what is wrong with the command line is said next
  run "$CTL" exempt --for=30 quantum-execution --reason=deploy
  one_line_usage_error ess_controller.sh
  [[ $output == *"--for 30 has no unit: write 30s, 30m or 30h"* ]]
  run "$CTL" exempt quantum-execution --for 30m deploy v2
  one_line_usage_error ess_controller.sh
  [[ $output == "ess: exempt: unexpected 'deploy' 'v2'; accepted: exempt UNIT --for DURATION"* ]]
  [[ $output == *"(in any order; --opt=VALUE too); the command that works: sudo"* ]]
  [[ $output == *' exempt quantum-execution --for 30m --reason "deploy v2" (see '* ]]
  run "$CTL" exempt --for 30m --reason deploy
  [[ $output == *"needs a trading unit (ess_controller.sh status lists them); accepted: "* ]]
  rm "$TMP/run/ESS_ON"
  # deactivate stays strict (it resumes trading), and shows the command that works
  run "$CTL" deactivate "incident closed"
  one_line_usage_error ess_controller.sh
  [[ $output == "ess: deactivate: unexpected 'incident closed'; accepted: deactivate"* ]]
  [[ $output == *'works: sudo ess_controller.sh deactivate --reason "incident closed" (see '* ]]
  run "$CTL" deactivate -r x --no-start
  [[ $output == *"-r is not an option (write --reason);"* ]]
  [[ $output == *"works: sudo ess_controller.sh deactivate --reason x --no-start (see "* ]]
  run "$CTL" deactivate --reason
  [[ $output == *"--reason needs a value;"*"works: sudo ess_controller.sh deactivate --reason"* ]]
  run "$CTL" deactivate --no-start=yes
  [[ $output == *"--no-start takes no value;"* ]]
  run "$CTL" deactivate "--reason=all clear" --no-start
  [ "$status" -eq 2 ] # read: not active, nothing to deactivate
  run "$CTL" status --yaml
  [[ $output == *"unknown option '--yaml'; accepted: status [--json]"* ]]
  [[ $output == *"the command that works: ess_controller.sh status (see "* ]] # no root needed
  run "$CTL" check-config "$ESS_CONFIG" extra
  [[ $output == *"unexpected 'extra'; accepted: check-config [FILE];"* ]]
  [[ $output == *"the command that works: ess_controller.sh check-config "* ]]
  run "$CTL" rearm --force
  [[ $output == *"unknown option '--force'; accepted: rearm, with no options;"* ]]
  # --help after any command is the help
  for args in "activate --help" "deactivate -h" "exempt --help" "status --help" "rearm --help"; do
    # shellcheck disable=SC2086 # one word per argument
    run "$CTL" $args
    [ "$status" -eq 0 ]
    [[ $output == "Usage: ess_controller.sh"* ]]
  done
  [ ! -e "$TMP/run/ESS_ON" ]
}

@test "not root: 77 names the sudo command with the operator's own arguments, verify-audit too" {
  local args
  for args in "activate" "deactivate --reason=x" "rearm" "exempt quantum-execution --for 30m" \
    "unexempt quantum-execution" "verify-audit" "guard" "restore-latch"; do
    # shellcheck disable=SC2086 # one word per argument
    run as_nobody "$CTL" $args --reason y
    [[ $args == @(rearm|verify-audit|guard|restore-latch|unexempt*) ]] && continue
    [ "$status" -eq 77 ]
    [[ $output == *"must run as root (uid 0); you are uid 65534. Nothing was changed. Run: sudo"* ]]
    [[ $output == *"Run: sudo ess_controller.sh $args --reason y" ]]
  done
  for args in "rearm" "verify-audit" "guard" "restore-latch" "unexempt quantum-execution"; do
    # shellcheck disable=SC2086 # one word per argument
    run as_nobody "$CTL" $args
    [ "$status" -eq 77 ]
    [[ $output == *"Run: sudo ess_controller.sh $args" ]]
  done
  run as_nobody "$CTL" activate "market crash" -r "BTC -5%"
  [ "$status" -eq 77 ]
  [[ $output == *'Run: sudo ess_controller.sh activate "market crash" -r "BTC -5%"' ]]
  [ ! -e "$TMP/run/ESS_ON" ]
}

# help_codes CMD: the exit codes --help lists for CMD, one a line
help_codes() {
  "$CTL" --help | sed -n '/^Exit codes, by command/,$p' |
    awk -v c="$1" '$1 == c { on = 1; print; next } on && /^                 / { print; next }
      { on = 0 }' | grep -oE '(^ *([a-z-]+ +)?|; )[0-9]+ ' | grep -oE '[0-9]+'
}

@test "--help lists every exit code each command returns, as the operator guide does" {
  run "$CTL" exempt quantum-execution --for 30m --reason deploy
  [ "$status" -eq 2 ]
  help_codes exempt | grep -qx 2
  run "$CTL" unexempt quantum-execution
  [ "$status" -eq 2 ]
  help_codes unexempt | grep -qx 2
  run "$CTL" deactivate --reason x
  [ "$status" -eq 2 ]
  help_codes deactivate | grep -qx 2
  run "$CTL" verify-audit
  [ "$status" -eq 1 ]
  help_codes verify-audit | grep -qx 1
  run "$CTL" check-config
  [ "$status" -eq 0 ]
  help_codes check-config | grep -qx 0
  [ "$(help_codes status | tr '\n' ' ')" = "0 1 3 4 5 6 7 8 " ]
  # every code --help lists is in the guide's table, and the guide names each command with its
  # own codes (the generic ones, 0, 64, 75, 77, 78, aside)
  local table cmd code row
  table=$(sed -n '/^## Exit codes/,/^## /p' "$REPO/docs/operator-guide.md")
  for cmd in activate deactivate status exempt unexempt rearm check-config verify-audit; do
    for code in $(help_codes "$cmd"); do
      ((code < 3 || code > 8)) || code=3-8
      row=$(grep -E "^\| $code \|" <<<"$table") || { echo "no row $code ($cmd)"; return 1; }
      [[ $code == @(0|3-8) || $row == *"\`$cmd\`"* ]] || { echo "$code: no $cmd"; return 1; }
    done
  done
}

# exempt_accepts CMD ARGS...: exempt's or unexempt's own reading and checks (exempt_options and
# exempt_validate, args.sh) take CMD ARGS as they are: prints "UNIT|SECONDS|REASON".
exempt_accepts() {
  bash -c 'set -Eeuo pipefail; source "$1/deploy/lib/load.sh"; load_all
    usage_error() { echo "REFUSED: $1"; exit 64; }
    usage() { :; }
    config_load
    check() {
      local unit duration reason secs=0 u cmd=$1
      shift
      if [[ $cmd == exempt ]]; then exempt_options "$@"; exempt_validate
      else args_parse "" "expired" "$@"; unit=${ARGS_WORDS[0]}; exempt_unit_or_refuse u unexempt
      fi
      printf "%s|%s|%s\n" "$u" "$secs" "${reason:-}"
    }
    check "${@:2}"' _ "$REPO" "$@"
}

@test "exempt: every command its refusals suggest is accepted as pasted; not active is said first" {
  local line suggestion cmd
  mkdir -p "$TMP/run"
  touch "$TMP/run/ESS_ON"
  for line in "quantum-execution --for 30 --reason deploy" "execution --for 30m --reason deploy" \
    "quantum-execution --for 30h --reason deploy" "quantum-execution --for soon --reason 'a b'" \
    "quantum-execution --reason deploy" "quantum-execution --for 30m" "--for 90 --reason x gov" \
    "quantum-execution --for 30 --reason deploy --now" "apply --for=2h --reason=x" \
    "quantum-execution --for=45 -r deploy"; do
    eval "set -- $line"
    run "$CTL" exempt "$@"
    echo "exempt $line: $output"
    [ "$status" -eq 64 ]
    [[ $output == *"the command that works: sudo ess_controller.sh exempt "* ]]
    suggestion=${output##*the command that works: sudo ess_controller.sh }
    suggestion=${suggestion% (see \'ess_controller.sh --help\')}
    eval "set -- $suggestion"
    run exempt_accepts "$@"
    echo "  $suggestion: $output"
    [ "$status" -eq 0 ]
    [[ $output == quantum-*.service\|[0-9]*\|?* ]]
  done
  run "$CTL" exempt quantum-execution --for 30 --reason deploy
  [[ $output == *"--for 30 has no unit: write 30s, 30m or 30h; "*" --for 30m --reason deploy "* ]]
  run "$CTL" exempt execution --for 30m --reason deploy
  [[ $output == *"'execution' is not one of the trading units: did you mean quantum-execution?"* ]]
  run "$CTL" exempt quantum-execution --for 30h --reason deploy
  [[ $output == *"longer than MAX_EXEMPTION_SEC (1h), the maximum; "*" --for 1h --reason deploy "* ]]
  # unexempt: the same unit names
  run "$CTL" unexempt execution
  [ "$status" -eq 64 ]
  [[ $output == *"the command that works: sudo ess_controller.sh unexempt quantum-execution ("* ]]
  run exempt_accepts unexempt quantum-execution
  [ "$status" -eq 0 ]
  # nothing to guess from: the units named, no command to paste
  run "$CTL" exempt redis --for 30m --reason x
  [ "$status" -eq 64 ]
  [[ $output == *"'redis' is not one of the trading units (quantum-ai-engine quantum-execution"* ]]
  # not active: said first, whatever else is missing
  rm "$TMP/run/ESS_ON"
  run "$CTL" exempt quantum-execution --for 30m
  [ "$status" -eq 2 ]
  [[ $output == "ess: the ESS is not active: there is no latch to exempt "*quantum-execution.service* ]]
}

# The root side's message texts: continued lines joined, comments left out.
message_texts() {
  local f
  for f in "$REPO"/deploy/*.sh "$REPO"/deploy/lib/*.sh; do
    sed -e ':a' -e '/\\$/{N;s/\\\n//;ba}' "$f" | grep -v '^[[:space:]]*#' | sed "s|^|${f##*/}: |"
  done
}

@test "every command the ESS suggests that needs root is printed pasteable, with sudo" {
  local root_cmd found
  root_cmd='ess_controller\.sh (activate|deactivate|exempt|unexempt|rearm|guard|restore-latch'
  root_cmd+='|verify-audit)|systemctl (start|restart|stop|enable|disable|daemon-reload|reset-failed'
  root_cmd+='|kill|edit|revert|mask|unmask)|proof_ess\.sh --dry-run|install\.sh (install|uninstall)'
  # a suggestion sits in a quoted text; the code that runs systemctl itself, what failed ("systemctl
  # start failed"), the drill's method names and the text matched against argv are no suggestions
  found=$(message_texts | grep -P "[\"'][^\"'\n]*?(?<!sudo )(?<![\w/.-])($root_cmd)\b" |
    grep -vP "($root_cmd) (failed|refused|of leftover)|systemctl start -- |\) printf '|\
\\*\"ess_contr|# Quantum ESS maintenance exemption" || true)
  echo "$found"
  [ -z "$found" ]
}
