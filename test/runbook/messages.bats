#!/usr/bin/env bats
# shellcheck disable=SC2154 # stderr is set by bats (run --separate-stderr)
# What the operator reads, taken literally on a fresh install: every trigger of the runbook logs its
# banners, status during a stop says a stop is in progress, one activation has one id on every
# surface, every command a message suggests is accepted when pasted, and each message is said once.
# Run by test/run-all.sh inside its own provisioned sandbox (real systemd); the tests build on each
# other, in order.

bats_require_minimum_version 1.5.0

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

# journal_mark: now, for journal_since MARK: the ESS's journal lines since then.
journal_mark() { date +%s.%N; }
journal_since() {
  journalctl --sync 2>/dev/null || true
  journalctl -t quantum-ess --since "@$1" -o cat --no-pager
}

# until_activated MARK: the activation's last banner is in the journal since MARK (the state is
# recorded a moment before it is logged).
until_activated() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(journal_since "$1") != *"=== ESS ACTIVATED - TRADING STOPPED ==="* ]] || return 0
    sleep 0.05
  done
  return 1
}

@test "every trigger logs the runbook's banners for a new activation, with the id status shows" {
  local method mark id
  for method in command systemctl touch; do
    mark=$(journal_mark)
    case $method in
      command) ess_controller.sh activate --reason "banner test" >/dev/null 2>&1 ;;
      systemctl) systemctl start quantum-ess.service ;;
      touch) touch /run/quantum/ESS_ON ;;
    esac
    until_activated "$mark"
    id=$(jq -r .flag_id /var/lib/quantum-ess/state.json)
    run journal_since "$mark"
    echo "$method: $output"
    [[ ${lines[0]} == "=== ESS ACTIVATION INITIATED === ACTIVATING id=$id source="* ]]
    [[ $output == *$'\n'"Stopping quantum-ai-engine.service: stopped, now inactive"$'\n'* ]]
    [[ $output == *$'\n'"=== ESS ACTIVATED - TRADING STOPPED === ESS ACTIVATED id=$id "* ]]
    [[ $output != *"latch present"*"=== ESS ACTIVATION INITIATED"* ]]
    run ess_controller.sh status
    [ "$status" -eq 3 ]
    [[ $output == *"present (id $id"* ]]
    ess_controller.sh deactivate --reason "banner test done" >/dev/null 2>&1 </dev/null
  done
}

@test "a touched flag: status during the stop says it is in progress, never a violation" {
  local i id
  # The activation records its stop under the controller's lock: held for a second here, the stop
  # stays in progress (flag there, not recorded yet) long enough for status to see it, however fast
  # the host is.
  rm -f /run/ess-test-lock-held
  flock /run/quantum-ess/ess.lock sh -c 'touch /run/ess-test-lock-held; sleep 1' >/dev/null 2>&1 3>&- &
  for ((i = 0; i < 200; i++)); do [[ ! -e /run/ess-test-lock-held ]] || break; sleep 0.01; done
  touch /run/quantum/ESS_ON
  for ((i = 0; i < 3; i++)); do
    run ess_controller.sh status
    echo "$output"
    [ "$status" -eq 3 ]
    [[ $output != *VIOLATION* && $output != *"NOT PERSISTED"* ]]
    [[ $i -gt 0 || $output == *"stop:     activating: flag seen at "*", stop in progress;"* ]]
  done
  wait
  run as_nobody /usr/local/sbin/ess_controller.sh status --json
  [ "$status" -eq 3 ]
  [ "$(jq -r .verdict <<<"$output")" = active ]
  # one id on every surface: status, status --json, state.json, the audit trail, Redis
  id=$(jq -r .state.flag_id <<<"$output")
  [[ $id == flag-[0-9]* ]]
  [ "$(jq -r .state.last_activation.id <<<"$output")" = "$id" ]
  run ess_controller.sh status
  [[ $output == *"ESS_ON present (id $id; the flag is empty, as touch makes it)"* ]]
  grep -q "\"event\":\"activate\",\"id\":\"$id\"" /var/log/quantum-ess/audit.jsonl
  [[ $(redis-cli GET quantum:ess:active) == "{\"id\":\"$id\","* ]]
  run proof_ess.sh --dry-run
  [[ $output == *"PASS latch recorded "*"activation $id (source path)"* ]]
  ess_controller.sh deactivate --reason "touch test done" >/dev/null 2>&1 </dev/null
}

@test "a touched flag with the switch broken: status waits for nothing and says what to run" {
  local start ms
  # the switch's wiring broken (the runbook's copy of the templates leaves the path unit
  # bad-setting): nothing acts on the flag, so no stop is in progress whatever its age
  systemctl stop quantum-ess.path
  touch /run/quantum/ESS_ON
  start=$(date +%s%N)
  run ess_controller.sh status
  ms=$((($(date +%s%N) - start) / 1000000))
  echo "$output (${ms} ms)"
  [ "$status" -eq 4 ]
  [[ $output != *"stop in progress"* ]]
  [[ $output == *"stop:     flag set at "*", but nothing is stopping them: sudo ess_controller.sh\
 activate --reason \"...\", then sudo ess_controller.sh rearm"* ]]
  # a second for the path unit to start the stop, never the stop's whole deadline
  ((ms < 5000))
  ess_controller.sh activate --reason "broken switch test" >/dev/null 2>&1
  ess_controller.sh rearm >/dev/null
  run ess_controller.sh status
  [ "$status" -eq 3 ]
  ess_controller.sh deactivate --reason "broken switch test done" >/dev/null 2>&1 </dev/null
}

@test "each command says its answer once: on stdout, nothing repeated from the journal on stderr" {
  run --separate-stderr ess_controller.sh activate --reason "said once"
  [ "$status" -eq 0 ]
  [[ $output == "ESS ACTIVATED (id "* && -z $stderr ]]
  run --separate-stderr ess_controller.sh exempt quantum-execution --for 5m --reason "deploy"
  [ "$status" -eq 0 ]
  [[ $output == "EXEMPTED quantum-execution.service until "* && -z $stderr ]]
  [ "${#lines[@]}" -eq 1 ]
  run --separate-stderr ess_controller.sh unexempt quantum-execution
  [ "$status" -eq 0 ]
  [[ $output == "EXEMPTION ENDED for quantum-execution.service "* && -z $stderr ]]
  [ "${#lines[@]}" -eq 1 ]
  run --separate-stderr ess_controller.sh rearm
  [ "$status" -eq 0 ]
  [[ $output == "switch re-armed: "* && -z $stderr ]]
  run --separate-stderr ess_controller.sh deactivate --reason "said once, done" </dev/null
  [ "$status" -eq 0 ]
  [[ $output == *"ESS DEACTIVATED: latch cleared"* && -z $stderr ]]
  # each of them is in the journal all the same
  run journalctl -t quantum-ess -o cat --no-pager -n 40
  [[ $output == *"EXEMPTED quantum-execution.service from the latch until "* ]]
  [[ $output == *"EXEMPTION of quantum-execution.service ended by root"* ]]
  [[ $output == *"=== ESS DEACTIVATED - TRADING RESUMED ==="* ]]
}

@test "rearm exits as documented: 0 once it repaired the switch (a latch drop-in put back)" {
  local dropin=/etc/systemd/system/quantum-governor.service.d/50-quantum-ess-latch.conf
  mv "$dropin" /run/latch.conf.aside
  systemctl daemon-reload
  run ess_controller.sh status
  [ "$status" -eq 5 ]
  run --separate-stderr ess_controller.sh rearm
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  [[ $output == "repaired: restored $dropin"*"switch re-armed: "*"verdict armed" && -z $stderr ]]
  run ess_controller.sh status
  [ "$status" -eq 0 ]
  rm -f /run/latch.conf.aside
}

@test "status --json says why the configuration is refused, as the human status does" {
  cp /etc/quantum/ess.conf /run/ess.conf.good
  echo 'STOP_DEADLNE_SEC=2' >>/etc/quantum/ess.conf
  run as_nobody /usr/local/sbin/ess_controller.sh status --json
  [ "$status" -eq 0 ]
  [ "$(jq -r .config_pending <<<"$output")" = true ]
  [[ $(jq -r .config_refused <<<"$output") == "STOP_DEADLNE_SEC: unknown key (line "*")" ]]
  run as_nobody /usr/local/sbin/ess_controller.sh status
  [[ $output == *"REFUSE the file (exit 78): STOP_DEADLNE_SEC: unknown key (line "* ]]
  cp /run/ess.conf.good /etc/quantum/ess.conf
  run ess_controller.sh status --json
  [ "$(jq -r .config_refused <<<"$output")" = null ]
}

@test "a dry-run drill in a maintenance window says what is true: latched units down, one running" {
  ess_controller.sh activate --reason "window" >/dev/null 2>&1
  ess_controller.sh exempt quantum-execution --for 10m --reason "deploy" >/dev/null
  systemctl start quantum-execution.service
  run proof_ess.sh --dry-run
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output != *"PASS trading stopped"* ]]
  local says="3 latched trading units down, their cgroups empty; exempt for maintenance (may run):"
  says+=" quantum-execution.service is RUNNING (active),"
  [[ $output == *"PASS latched units down "*"$says"* ]]
  ess_controller.sh deactivate --reason "window done" >/dev/null 2>&1 </dev/null
}
