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
  for args in "" "explode" "activate --force" "activate --reason" "deactivate --now" \
    "status --yaml" "stauts" "exempt" "unexempt" "verify-audit extra" "check-config a b"; do
    # shellcheck disable=SC2086 # one word per argument
    run "$CTL" $args
    one_line_usage_error ess_controller.sh
  done
  run "$CTL" stauts
  [[ $output == "ess: unknown command 'stauts' (see 'ess_controller.sh --help')" ]]
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
  [[ $output == *"exempt needs --for DURATION (a number with its unit: 90s, 30m or 1h)"* ]]
  run "$CTL" exempt quantum-execution --for 2h --reason deploy
  one_line_usage_error ess_controller.sh
  [[ $output == *"longer than MAX_EXEMPTION_SEC (1h)"* ]]
  [ ! -e "$TMP/run" ]
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
  demo_quote_v line ess_controller.sh activate --reason "demo: runaway strategy"
  [ "$line" = 'ess_controller.sh activate --reason "demo: runaway strategy"' ]
  # shellcheck disable=SC2016 # the $ is meant literally
  demo_quote_v line bash -c 'echo "$HOME"' ""
  # shellcheck disable=SC2016 # the $ is meant literally
  [ "$line" = 'bash -c "echo \"\$HOME\"" ""' ]
  [ "$(TZ=Europe/Berlin demo_local_time 1796520920.443859)" = "2026-12-06T02:35:20.443+0100" ]
  [ "$(TZ=UTC demo_local_time 1796520920)" = "2026-12-06T01:35:20.000+0000" ]
  [ "$(demo_seconds 10.250 10.3125)" = "0.062" ]
}
