#!/usr/bin/env bash
# Routing tests for alerting/alertmanager.example.yml: each case is a label set and the receivers
# Alertmanager must resolve for it, in order. Usage: routes.sh [CONFIG_FILE]; exits 1 on any mismatch.
set -Eeuo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR

# expected receivers | labels (space-separated name=value)
readonly CASES=(
  # Trip alerts reach the ESS and always page a human, whatever their severity.
  'quantum-ess,oncall-pager|alertname=QuantumDrawdownBreach ess_trip=true severity=critical instance=h1 strategy=momentum'
  'quantum-ess,oncall-pager|alertname=QuantumOrderRejectRateHigh ess_trip=true severity=critical instance=h1'
  'quantum-ess,oncall-pager|alertname=QuantumTradingEngineDown ess_trip=true severity=critical instance=h1 job=quantum-ai-engine'
  'quantum-ess,oncall-pager|alertname=CustomTrip ess_trip=true severity=warning'
  'quantum-ess,oncall-pager|alertname=CustomTrip ess_trip=true'
  # The receiver's default rule is the exact value "true"; anything else must not trip.
  'oncall-pager|alertname=NotATrip ess_trip=false severity=critical'
  'oncall-chat|alertname=NotATrip ess_trip=TRUE severity=warning'
  'oncall-chat|alertname=NotATrip ess_trip=yes'
  # The ESS's own alerts never reach the ESS receiver: critical pages, warning goes to chat.
  'oncall-pager|alertname=ESSActive service=quantum-ess severity=critical instance=h1 job=quantum-ess'
  'oncall-pager|alertname=ESSLatchViolation service=quantum-ess severity=critical instance=h1 job=quantum-ess'
  'oncall-pager|alertname=ESSSwitchDisarmed service=quantum-ess severity=critical instance=h1 job=quantum-ess'
  'oncall-pager|alertname=ESSLatchTampered service=quantum-ess severity=critical instance=h1 job=quantum-ess'
  'oncall-pager|alertname=ESSStatusUnknown service=quantum-ess severity=critical instance=h1 job=quantum-ess'
  'oncall-chat|alertname=ESSLeftoverProcessesKilled service=quantum-ess severity=warning instance=h1 job=quantum-ess'
  'oncall-pager|alertname=ESSExporterDown service=quantum-ess severity=critical job=quantum-ess'
  'oncall-chat|alertname=ESSExporterReadErrors service=quantum-ess severity=warning instance=h1 source=state'
  'oncall-chat|alertname=ESSActivationAboveTarget service=quantum-ess severity=warning instance=h1'
  'oncall-chat|alertname=ESSExemptionActive service=quantum-ess severity=warning instance=h1 job=quantum-ess'
  'oncall-chat|alertname=ESSDrillOverdue service=quantum-ess severity=warning drill_pass=none instance=h1 job=quantum-ess'
  'oncall-chat|alertname=ESSDrillFailed service=quantum-ess severity=warning mode=full instance=h1 job=quantum-ess'
  # Everything else: critical pages, the rest goes to chat.
  'oncall-pager|alertname=NodeDown severity=critical instance=h1'
  'oncall-chat|alertname=DiskFilling severity=warning instance=h1'
  'oncall-chat|alertname=NoLabelsAtAll'
)

die() {
  printf 'routes.sh: %s\n' "$*" >&2
  exit 1
}

main() {
  local config=${1:-$SCRIPT_DIR/../alertmanager.example.yml}
  command -v amtool >/dev/null || die "amtool not found: apt-get install -y prometheus-alertmanager"
  [[ -r $config ]] || die "cannot read $config"

  local case expected labels got passed=0 failed=0
  local -a label_args
  for case in "${CASES[@]}"; do
    expected=${case%%|*}
    labels=${case#*|}
    read -r -a label_args <<<"$labels"
    # amtool warns on stderr that --config.file overrides --alertmanager.url; only stdout matters.
    if ! got=$(amtool config routes test --config.file="$config" "${label_args[@]}" 2>/dev/null); then
      got="(amtool failed)"
    fi
    if [[ $got == "$expected" ]]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      printf 'FAIL: {%s}\n  expected: %s\n  got:      %s\n' "$labels" "$expected" "$got" >&2
    fi
  done
  printf 'routes: %d passed, %d failed\n' "$passed" "$failed"
  ((failed == 0))
}

main "$@"
