#!/usr/bin/env bats
# The operator's runbook (README.md), command by command, inside a provisioned sandbox with real
# systemd.
# Run by test/run-all.sh through sandbox/sandbox.sh; the tests build on each other, in order.

bats_require_minimum_version 1.5.0

# The trading units the sandbox was provisioned with: deploy/ess.conf's, the one list
# (sandbox/units.ts).
trading_units() { sed -n 's/^TRADING_UNITS="\(.*\)"$/\1/p' /etc/quantum/ess.conf; }

trading_down() {
  local s
  # shellcheck disable=SC2046 # one word per unit
  for s in $(systemctl is-active $(trading_units)); do
    [[ $s == inactive || $s == failed ]] || return 1
  done
}

wait_trading_down() {
  for _ in $(seq 100); do trading_down && return 0; sleep 0.05; done
  return 1
}

@test "status: INACTIVE and armed, exit 0" {
  run ess_controller.sh status
  [ "$status" -eq 0 ]
  [[ $output == "ESS STATUS: INACTIVE"* ]]
  [[ $output == *"switch:   armed"* ]]
  # one word per meaning: state= is systemd's ActiveState, guard= whether systemd applies the latch
  [[ $output == *"quantum-execution.service"*"state=active"*"guard=yes"*"processes=yes"* ]]
}

@test "status --json is machine-readable" {
  run --separate-stderr ess_controller.sh status --json
  [ "$status" -eq 0 ]
  echo "$output" | node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
    process.exit(d.status === "INACTIVE" && d.armed === true ? 0 : 1)'
}

@test "sudo ess_controller.sh activate --reason ... stops trading, status exit 3" {
  run --separate-stderr ess_controller.sh activate --reason "runbook: flash crash BTC"
  [ "$status" -eq 0 ]
  [[ $output == "ESS ACTIVATED"* ]]
  trading_down
  run ess_controller.sh status
  [ "$status" -eq 3 ]
  [[ $output == "ESS STATUS: ACTIVE"* ]]
}

@test "journalctl -t quantum-ess tells what happened" {
  run journalctl -t quantum-ess --no-pager -o cat
  [[ $output == *'reason="runbook: flash crash BTC"'* ]]
}

@test "the audit file has it and verify-audit checks the chain" {
  grep -q '"reason":"runbook: flash crash BTC"' /var/log/quantum-ess/audit.jsonl
  run ess_controller.sh verify-audit
  [ "$status" -eq 0 ]
  [[ $output == "audit chain OK"* ]]
}

@test "metrics and health answer" {
  run curl -fsS http://127.0.0.1:10170/metrics
  [ "$status" -eq 0 ]
  [[ $output == *$'\ness_active 1\n'* ]]
  run curl -fsS http://127.0.0.1:10170/healthz
  [ "$status" -eq 0 ]
}

@test "deactivate --reason ... resumes trading in order" {
  run --separate-stderr ess_controller.sh deactivate --reason "runbook: incident closed"
  [ "$status" -eq 0 ]
  [[ $output == *"ESS DEACTIVATED"* ]]
  [ "$(systemctl is-active quantum-execution)" = active ]
}

@test "sudo systemctl start quantum-ess.service stops trading" {
  systemctl start quantum-ess.service
  wait_trading_down
  run --separate-stderr ess_controller.sh deactivate --no-start
  [ "$status" -eq 0 ]
  [[ $output == *"NOT started (--no-start)"* ]]
  trading_down
  # shellcheck disable=SC2046 # one word per unit
  systemctl start $(trading_units)
}

@test "sudo touch /run/quantum/ESS_ON stops trading" {
  touch /run/quantum/ESS_ON
  wait_trading_down
  ess_controller.sh deactivate --no-start
}

@test "a disarmed switch shows as NOT ARMED (exit 5) and rearm fixes it" {
  systemctl stop quantum-ess.path
  run ess_controller.sh status
  [ "$status" -eq 5 ]
  [[ $output == *"NOT ARMED"* ]]
  run ess_controller.sh rearm
  [ "$status" -eq 0 ]
  run ess_controller.sh status
  [ "$status" -eq 0 ]
}

@test "proof_ess.sh --dry-run passes and proof_ess.sh passes" {
  # shellcheck disable=SC2046 # one word per unit
  systemctl start $(trading_units)
  run proof_ess.sh --dry-run
  [ "$status" -eq 0 ]
  [[ $output == *"SUMMARY: PASS"* ]]
  run proof_ess.sh
  [ "$status" -eq 0 ]
  [[ $output == *"SUMMARY: PASS"* ]]
}
