#!/usr/bin/env bats
# shellcheck disable=SC2154 # stderr is set by bats (run --separate-stderr)
# The operator's runbook followed literally on a fresh install, as root and as a user who is not,
# including what a tired operator does: the runbook root owned by the trading user, its own
# security step (chmod 700 / chown on ops/ess_controller.sh), a drill while the ESS is active or in
# a maintenance window, a missing --reason, a refused start. Every message must lead to the right
# next command. Run by test/run-all.sh inside its own provisioned sandbox (real systemd); the tests
# build on each other, in order.

bats_require_minimum_version 1.5.0

readonly ROOT=/home/qt/quantum_trader
readonly INSTALLER=/opt/quantum-ess-src/deploy/install.sh

trading_units() { sed -n 's/^TRADING_UNITS="\(.*\)"$/\1/p' /etc/quantum/ess.conf; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
# the command after "fix: " in the last output
fix_of() { printf '%s\n' "${output##*fix: }" | head -n1; }

@test "runbook root owned by the trading user: refused with the fixing command, which works" {
  useradd --create-home --user-group qt
  run "$INSTALLER" --runbook-root /home/qt/quantum_trdaer
  [ "$status" -eq 1 ]
  [[ $output == *"quantum_trdaer does not exist. Nothing was changed. Check the spelling;"* ]]
  [[ $output == *"create it first: sudo install -d -m 0755 /home/qt/quantum_trdaer; then, since the\
 runbook runs /home/qt/quantum_trdaer/ops/ess_controller.sh as root, but /home/qt is owned by qt:"* ]]
  [[ $output == *"if qt may change what root runs there (the runbook assumes so), fix: sudo\
 $INSTALLER --runbook-root /home/qt/quantum_trdaer --trust-owner qt" ]]
  run "$INSTALLER" --runbook-root /nonexistent-runbook-root
  [ "$status" -eq 1 ]
  [[ $output == *"create it first: sudo install -d -m 0755 /nonexistent-runbook-root" ]]
  [ ! -e /home/qt/quantum_trdaer ]
  setpriv --reuid=qt --regid=qt --init-groups -- mkdir -p "$ROOT/ops"
  run "$INSTALLER" --runbook-root "$ROOT"
  [ "$status" -eq 1 ]
  [[ $output == "install: refused: the runbook runs $ROOT/ops/ess_controller.sh as root, but"* ]]
  [[ $output == *"/home/qt is owned by qt"*"whoever can write there can replace what root runs."* ]]
  [[ $output == *"Nothing was changed. If qt may change what root runs there"* ]]
  [ "$(fix_of)" = "sudo $INSTALLER --runbook-root $ROOT --trust-owner qt" ]
  [ ! -e "$ROOT/ops/ess_controller.sh" ]
  # the fix, as printed (sudo is root here already)
  run bash -c "${output##*fix: sudo }"
  [ "$status" -eq 0 ]
  [ "$(stat -c %U "$ROOT" "$ROOT/ops")" = "qt"$'\n'"qt" ] # the user's project stays the user's
  [ -f "$ROOT/ops/ess_controller.sh" ] && [ ! -L "$ROOT/ops/ess_controller.sh" ]
  run bash "$ROOT/ops/ess_controller.sh" status
  [ "$status" -eq 0 ]
  # running it twice changes nothing; its messages in its own voice (no controller's ess: line)
  run "$INSTALLER" --runbook-root "$ROOT" --trust-owner qt
  [ "$status" -eq 0 ]
  [[ $output == "install: "* ]]
  run ! grep -E '^(install: )?ess: ' <<<"$output"
}

@test "the runbook's chmod 700 / chown makes its path root's: others use sbin, the drill says so" {
  chmod 700 "$ROOT/ops/ess_controller.sh"
  chown root:root "$ROOT/ops/ess_controller.sh"
  run as_nobody /usr/local/sbin/ess_controller.sh status
  [ "$status" -eq 0 ]
  [[ $output == "ESS STATUS: INACTIVE"* ]]
  # the runbook path is root's now, on purpose: the drill says so and names the path for others
  run as_nobody bash "$ROOT/ops/ess_controller.sh" status
  [ "$status" -eq 126 ]
  cd "$ROOT"
  run bash scripts/proof_ess.sh --dry-run
  [ "$status" -eq 0 ]
  [[ $output == *"PASS runbook paths"*"(trusted owners: qt)"* ]]
  [[ $output == *"PASS status as a non-root user"* ]]
  local name="PASS status via the runbook path        "
  [[ $output == *"$name$ROOT/ops/ess_controller.sh is not for other users (/"*" is mode 700 "* ]]
  [[ $output == *": on purpose, as the runbook's chmod 700 / chown root:root intends); every"* ]]
  [[ $output == *" other user runs ess_controller.sh status (/usr/local/sbin)"* ]]
  # without the runbook's tightening it answers for every user who can reach it (a home may not be)
  chmod 755 "$ROOT/ops/ess_controller.sh"
  run bash scripts/proof_ess.sh --dry-run
  [ "$status" -eq 0 ]
  if as_nobody test -r "$ROOT/ops/ess_controller.sh"; then
    [[ $output == *"${name}bash $ROOT/ops/ess_controller.sh status answers (exit 0)"* ]]
  else
    [[ $output == *"$name$ROOT/ops/ess_controller.sh is not for other users (/home/qt is mode"* ]]
  fi
  chmod 700 "$ROOT/ops/ess_controller.sh"
}

@test "the drill notices a non-root status broken, and a runbook path replaced, naming each fix" {
  chmod 700 /usr/local/lib/quantum-ess/ess_controller.sh # what chmod through the old link did
  run proof_ess.sh --dry-run
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL status as a non-root user"*"exit 126"* ]]
  [ "$(fix_of)" = "sudo chmod 0755 /usr/local/lib/quantum-ess/ess_controller.sh" ]
  ${output##*fix: sudo }
  # the trading user swaps the runbook's ops/ for its own
  setpriv --reuid=qt --regid=qt --init-groups -- bash -c \
    "cd $ROOT && mv ops ops.mine && mkdir ops && echo 'echo pwned' >ops/ess_controller.sh"
  run proof_ess.sh --dry-run
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL runbook paths"*"$ROOT/ops/ess_controller.sh: not the installer's program"* ]]
  [ "$(fix_of)" = "sudo $INSTALLER --runbook-root $ROOT --trust-owner qt" ]
  run bash -c "${output##*fix: sudo }"
  [ "$status" -eq 0 ]
  run proof_ess.sh --dry-run
  [ "$status" -eq 0 ]
}

@test "a dry run passes but does not claim production-ready; the full drill does" {
  run proof_ess.sh --dry-run
  [ "$status" -eq 0 ]
  [[ ${lines[-2]} == "SUMMARY: PASS ("*"dry run: the wiring only, nothing was stopped)" ]]
  [[ $output != *"production-ready"* ]]
  [[ ${lines[-1]} == "The stop itself is proven by the full drill: sudo proof_ess.sh" ]]
  run proof_ess.sh
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "ESS is production-ready for emergency stop scenarios" ]
}

@test "a misspelt key in ess.conf: the drill FAILs naming it and the fix, status says so, 78" {
  cp /etc/quantum/ess.conf /run/ess.conf.good
  echo 'STOP_DEADLNE_SEC=2' >>/etc/quantum/ess.conf
  local n
  n=$(wc -l </etc/quantum/ess.conf)
  run ess_controller.sh check-config /etc/quantum/ess.conf
  [ "$status" -eq 78 ]
  run "$INSTALLER"
  [ "$status" -eq 78 ]
  [[ $output == "install: config error in /etc/quantum/ess.conf: STOP_DEADLNE_SEC: unknown key\
 (line $n)"* ]]
  [[ $output != "ess: "* && $output != *$'\n'"ess: "* ]] # the installer's prefix, said once
  run proof_ess.sh --dry-run
  [ "$status" -eq 1 ]
  [[ $output == *"FAIL configuration "*"/etc/quantum/ess.conf would be refused by the installer"*\
"STOP_DEADLNE_SEC: unknown key (line $n)"* ]]
  [[ $output == *"; fix: sudoedit /etc/quantum/ess.conf, correct that line"*"then apply it: sudo\
 $INSTALLER --runbook-root $ROOT --trust-owner qt"* ]]
  # status: still armed (the installed configuration is in force), but never silently
  run ess_controller.sh status
  [ "$status" -eq 0 ]
  [[ $output == *"WARNING:  /etc/quantum/ess.conf differs from the installed configuration, which"\
*"REFUSE the file (exit 78): STOP_DEADLNE_SEC: unknown key (line $n); fix: sudoedit"* ]]
  run as_nobody /usr/local/sbin/ess_controller.sh status
  [[ $output == *"REFUSE the file (exit 78): STOP_DEADLNE_SEC"* ]]
  cp /run/ess.conf.good /etc/quantum/ess.conf
  run proof_ess.sh --dry-run
  [ "$status" -eq 0 ]
  [[ $output == *"PASS configuration "* ]]
}

@test "not root: the drill says it needs root (77) and the sudo command with the same arguments" {
  local url=http://127.0.0.1:10170/metrics
  run as_nobody /usr/local/sbin/proof_ess.sh --dry-run --exporter-url "$url"
  [ "$status" -eq 77 ]
  [[ $output == "proof_ess.sh: the dry-run drill ("*") must run as root (uid 0); you are uid"* ]]
  [[ $output == *" Nothing was changed. Run: sudo proof_ess.sh --dry-run --exporter-url $url" ]]
  # through the runbook's path, as its text says
  cd /tmp
  run as_nobody bash "$ROOT/scripts/proof_ess.sh" --dry-run
  [ "$status" -eq 77 ]
  [[ $output == *"Run: sudo proof_ess.sh --dry-run" ]]
  run as_nobody "$INSTALLER" --runbook-root "$ROOT"
  [ "$status" -eq 77 ]
  [[ $output == *"Run: sudo $INSTALLER --runbook-root $ROOT" ]]
}

@test "activate without --reason is instant and recorded as no reason given" {
  run --separate-stderr ess_controller.sh activate </dev/null
  [ "$status" -eq 0 ]
  run ess_controller.sh status
  [[ $output == *'last activation:'*'via cli: "no reason given"'* ]]
  [ "$(jq -r .last_activation.reason /var/lib/quantum-ess/state.json)" = \
    "no reason given" ]
  grep -q '"event":"activate".*"reason":"no reason given"' /var/log/quantum-ess/audit.jsonl
  # a tired operator activates again: re-verified, not a second activation
  run --separate-stderr ess_controller.sh activate
  [ "$status" -eq 0 ]
  [[ $output == "ESS ALREADY ACTIVE, re-verified"* ]]
}

@test "while active, the drill checks the latch, passes, and never advises resuming trading" {
  local line
  run proof_ess.sh --dry-run
  [ "$status" -eq 0 ]
  [[ $output == *"PASS verdict: the latch holds "*"verdict active (status exit 3)"* ]]
  [[ $output == *"PASS trading stopped "*"4 trading units down, their cgroups empty"* ]]
  [[ $output == *"PASS latch recorded "*"(source cli) in the flag, the state and "* ]]
  [[ ${lines[-2]} == "SUMMARY: PASS ("*"dry run while the ESS is ACTIVE: the latch holds;"* ]]
  [ "${lines[-1]}" = "The trigger checks need an armed switch: after the incident, once\
 deactivated, run: sudo proof_ess.sh --dry-run" ]
  [[ $output != *"deactivate --"* && $output != *"FAIL"* && $output != *"production-ready"* ]]
  # the full drill cannot prove the triggers now: NOT RUN (2), nothing stopped or cleared
  run proof_ess.sh
  [ "$status" -eq 2 ]
  [[ $output == *"SKIP drill "*"not started: the ESS is ACTIVE"* ]]
  [[ ${lines[-2]} == "SUMMARY: NOT RUN ("*"the ESS is ACTIVE"* ]]
  [[ ${lines[-1]} == *"after the incident, once deactivated, run: sudo proof_ess.sh" ]]
  [[ $output != *"deactivate --"* && $output != *"FAIL"* ]]
  [ -e /run/quantum/ESS_ON ]
  # broken while active: every FAIL names the cause and a command pasted as is, never deactivate
  systemctl stop quantum-ess-guard.path quantum-ess-guard.timer
  rm /run/quantum/ESS_ON
  run proof_ess.sh --dry-run
  [ "$status" -eq 1 ]
  for line in "${lines[@]}"; do
    [[ $line != FAIL* ]] || [[ $line == *"fix: sudo "* && $line != *deactivate* ]]
  done
  [[ $output == *"FAIL verdict: the latch holds "*"verdict tampered"* ]]
  run bash -c "$(fix_of | sed 's/^sudo //')"
  [ "$status" -eq 0 ]
  systemctl start quantum-ess-guard.path quantum-ess-guard.timer
  local dropin=/etc/systemd/system/quantum-governor.service.d/50-quantum-ess-latch.conf
  mv "$dropin" /run/latch.conf.aside
  systemctl daemon-reload
  run proof_ess.sh --dry-run
  [ "$status" -eq 1 ]
  for line in "${lines[@]}"; do
    [[ $line != FAIL* ]] || [[ $line == *"fix: sudo ess_controller.sh rearm" ]]
  done
  [[ $output == *"FAIL verdict: the latch holds "*"verdict violation"* ]]
  ess_controller.sh rearm || true # its fix, as printed (the installer refuses while latched)
  [ -f "$dropin" ]
  run proof_ess.sh --dry-run
  [ "$status" -eq 0 ]
  rm -f /run/latch.conf.aside
}

@test "in a maintenance window: status says what is true, the drill says to end the window" {
  run ess_controller.sh exempt quantum-execution --for 30 --reason "deploy v2"
  [ "$status" -eq 64 ]
  [[ $output == *"--for 30 has no unit: write 30s, 30m or 30h"* ]]
  run ess_controller.sh exempt quantum-execution --for 30m --reason "deploy v2"
  [ "$status" -eq 0 ]
  [[ $output == *"(for 30m)"* ]]
  # again, its options first: it says what it replaced
  run ess_controller.sh exempt --for=20m --reason "deploy v2, second try" quantum-execution
  [ "$status" -eq 0 ]
  [[ $output == *"(for 20m)"* ]]
  local was='REPLACED the exemption of quantum-execution.service: until 20'
  [[ $output == *"$was"*' ("deploy v2") -> until 20'*' ("deploy v2, second try")'* ]]
  grep -q '"event":"exempt".*"reason":"deploy v2, second try","replaced_until":[0-9]*,'\
'"replaced_reason":"deploy v2"' /var/log/quantum-ess/audit.jsonl
  systemctl start quantum-execution.service
  run ess_controller.sh status
  [ "$status" -eq 3 ]
  [[ $output != *"no process of any trading unit runs"* ]]
  [[ $output == *"exempt for maintenance (may run): quantum-execution.service (exit 3)"* ]]
  [[ $output == *"EXEMPT:   quantum-execution.service is RUNNING (active), may run until "* ]]
  run proof_ess.sh --dry-run
  [ "$status" -eq 0 ]
  [[ $output == *"lifted on purpose for maintenance: quantum-execution.service until "* ]]
  [[ $output == *"exempt for maintenance (may run): quantum-execution.service"* ]]
  [[ ${lines[-1]} == *"after the maintenance window, once deactivated, run: sudo proof_ess.sh"* ]]
  [[ $output != *"install.sh"* && $output != *"deactivate --"* && $output != *FAIL* ]]
  ess_controller.sh unexempt quantum-execution
}

@test "a refused start tells, within one command, that the ESS latch refused it and what to run" {
  run systemctl restart quantum-governor.service
  [ "$status" -ne 0 ]
  [[ $output == *"Assertion failed"* ]]
  run systemctl status quantum-governor.service --no-pager
  local says='(Quantum ESS latch: "Assertion failed" means the ESS is ACTIVE; run'
  says+=' sudo ess_controller.sh status; then sudo ess_controller.sh exempt quantum-governor'
  says+=' --for 30m --reason WHY, or deactivate)'
  [[ ${lines[0]} == *"quantum-governor.service - Stand-in trading service"*"$says" ]]
  run journalctl -u quantum-governor.service -n 1 --no-pager -o cat
  [[ $output == "Assertion failed for quantum-governor.service - "*"$says." ]]
}

@test "deactivate without --reason and without a terminal proceeds, recorded as no reason given" {
  run --separate-stderr ess_controller.sh deactivate </dev/null
  [ "$status" -eq 0 ]
  [[ $output == *"ESS DEACTIVATED"* ]]
  run ess_controller.sh status
  [[ $output == *'last deactivation:'*'"no reason given"'* ]]
  [ "$(jq -r .last_deactivation.reason /var/lib/quantum-ess/state.json)" = "no reason given" ]
  grep -q '"event":"resume".*"reason":"no reason given"' /var/log/quantum-ess/audit.jsonl
  # running it twice: not active, nothing to do (exit 2), said in one line
  run ess_controller.sh deactivate </dev/null
  [ "$status" -eq 2 ]
  [[ $output == *"ESS is not active"*"nothing to deactivate"* ]]
}

@test "deactivate at a terminal without --reason asks for one and records the answer" {
  ess_controller.sh activate --reason "terminal test" >/dev/null 2>&1
  run script -qec "ess_controller.sh deactivate" /dev/null <<<"venue back, checked"
  [ "$status" -eq 0 ]
  [[ $output == *"Why is the ESS being deactivated?"* ]]
  run ess_controller.sh status
  [[ $output == *'last deactivation:'*'"venue back, checked"'* ]]
  grep -q '"event":"resume".*"reason":"venue back, checked"' /var/log/quantum-ess/audit.jsonl
  # shellcheck disable=SC2046 # one word per unit
  run ! grep -vx active < <(systemctl is-active $(trading_units))
}

@test "activate typed in a hurry stops trading, then says how it read the words" {
  run --separate-stderr ess_controller.sh activate "market crash"
  [ "$status" -eq 0 ]
  [[ $output == "ESS ACTIVATED (id "*"all trading units stopped in "* ]]
  # after the stop and its report (the journal's lines before it)
  [ "$(tail -n 2 <<<"$stderr")" = \
    'ess: read "market crash" as the reason'$'\n''ess: the exact form of this command:'\
' sudo ess_controller.sh activate --reason "market crash"' ]
  [ "$(jq -r .last_activation.reason /var/lib/quantum-ess/state.json)" = "market crash" ]
  # shellcheck disable=SC2046 # one word per unit
  run ! grep -vxE 'inactive|failed' < <(systemctl is-active $(trading_units))
  run --separate-stderr ess_controller.sh activate -r x
  [ "$status" -eq 0 ]
  [[ $output == "ESS ALREADY ACTIVE, re-verified"* && $stderr == *"ess: read -r as --reason"* ]]
  run --separate-stderr ess_controller.sh activate --reason
  [ "$status" -eq 0 ]
  [[ $stderr == *'ess: --reason had no text: recorded as "no reason given"'$'\n'* ]]
  journalctl -t quantum-ess --no-pager -o cat | grep -q 'read "market crash" as the reason'
}

@test "deactivate stays strict; Ctrl-D at its prompt does not resume; not root: the sudo command" {
  run ess_controller.sh deactivate "all clear"
  [ "$status" -eq 64 ]
  [[ $output == *'the command that works: sudo ess_controller.sh deactivate --reason "all clear" ('* ]]
  run script -qec "ess_controller.sh deactivate --no-start" /dev/null <<<$'\x04'
  [ "$status" -eq 1 ]
  [[ $output == *"Why is the ESS being deactivated?"* ]]
  [[ $output == *"no answer (end of input): deactivate refused, nothing was changed, the ESS"* ]]
  [[ $output == *"To resume trading: sudo ess_controller.sh deactivate --reason TEXT --no-start"* ]]
  run ess_controller.sh status
  [ "$status" -eq 3 ]
  run as_nobody /usr/local/sbin/ess_controller.sh deactivate --reason="all clear"
  [ "$status" -eq 77 ]
  [[ $output == *'Run: sudo ess_controller.sh deactivate "--reason=all clear"' ]]
  run as_nobody /usr/local/sbin/ess_controller.sh verify-audit
  [ "$status" -eq 77 ]
  [[ $output == *"Run: sudo ess_controller.sh verify-audit" ]]
}

@test "a deactivate overtaken by a new activation says so plainly; trading stays stopped" {
  local out=/run/overtaken.out pid rc=0
  ess_controller.sh deactivate --reason "spike over" >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 500); do grep -q "^  started " "$out" && break; sleep 0.02; done
  run ess_controller.sh activate --reason "second spike"
  [ "$status" -eq 0 ]
  wait "$pid" || rc=$?
  cat "$out"
  [ "$rc" -eq 1 ]
  run cat "$out"
  local says='(via cli by root: "second spike") latched while this deactivate was starting'
  [[ $output == *"ess: DEACTIVATE OVERTAKEN: a new activation "*"$says the trading units."* ]]
  [[ $output == *"The ESS is ACTIVE again and trading stays stopped (that stop holds)."* ]]
  [[ $output != *"resume FAILED"* ]]
  run ess_controller.sh status
  [ "$status" -eq 3 ]
  [ "$(jq -r .last_deactivation.result /var/lib/quantum-ess/state.json)" = overtaken ]
  ess_controller.sh deactivate --reason "done" </dev/null
}
