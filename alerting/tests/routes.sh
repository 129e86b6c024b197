#!/usr/bin/env bash
# Routing tests for alerting/alertmanager.example.yml (and, with --fleet,
# alerting/alertmanager.fleet.example.yml): each case is a label set and the receivers Alertmanager
# must resolve for it, in order. Usage: routes.sh [--fleet] [CONFIG_FILE]; exits 1 on any mismatch.
set -Eeuo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR

# expected receivers | labels (space-separated name=value)
readonly ESS=quantum-ess,oncall-pager PAGER=oncall-pager CHAT=oncall-chat
readonly TRIP='ess_trip=true' OWN='service=quantum-ess' AT='instance=h1 job=quantum-ess'
readonly HEARTBEAT='alertname=ESSWatchdog ess_heartbeat=true service=quantum-ess'
readonly CASES=(
  # The heartbeat reaches the ESS receiver only (never a page), even with a trip label on it.
  "quantum-ess|$HEARTBEAT"
  "quantum-ess|$HEARTBEAT $TRIP severity=critical prometheus=p1"
  # Trip alerts reach the ESS and always page a human, whatever their severity.
  "$ESS|alertname=QuantumDrawdownBreach $TRIP severity=critical instance=h1 strategy=momentum"
  "$ESS|alertname=QuantumOrderRejectRateHigh $TRIP severity=critical instance=h1"
  "$ESS|alertname=QuantumTradingEngineDown $TRIP severity=critical instance=h1 job=quantum-ai-engine"
  "$ESS|alertname=CustomTrip $TRIP severity=warning"
  "$ESS|alertname=CustomTrip $TRIP"
  # The receiver's default rule is the exact value "true"; anything else must not trip.
  "$PAGER|alertname=NotATrip ess_trip=false severity=critical"
  "$CHAT|alertname=NotATrip ess_trip=TRUE severity=warning"
  "$CHAT|alertname=NotATrip ess_trip=yes"
  # The ESS's own alerts never reach the ESS receiver: critical pages, warning goes to chat.
  "$PAGER|alertname=ESSActive $OWN severity=critical $AT"
  "$PAGER|alertname=ESSLatchViolation $OWN severity=critical $AT"
  "$PAGER|alertname=ESSSwitchDisarmed $OWN severity=critical $AT"
  "$PAGER|alertname=ESSLatchTampered $OWN severity=critical $AT"
  "$PAGER|alertname=ESSStatusUnknown $OWN severity=critical $AT"
  "$CHAT|alertname=ESSLeftoverProcessesKilled $OWN severity=warning $AT"
  "$PAGER|alertname=ESSExporterDown $OWN severity=critical job=quantum-ess"
  "$CHAT|alertname=ESSExporterReadErrors $OWN severity=warning instance=h1 source=state"
  "$CHAT|alertname=ESSActivationAboveTarget $OWN severity=warning instance=h1"
  "$CHAT|alertname=ESSExemptionActive $OWN severity=warning $AT"
  "$CHAT|alertname=ESSDrillOverdue $OWN severity=warning drill_pass=none $AT"
  "$CHAT|alertname=ESSDrillFailed $OWN severity=warning mode=full $AT"
  # Everything else: critical pages, the rest goes to chat.
  "$PAGER|alertname=NodeDown severity=critical instance=h1"
  "$CHAT|alertname=DiskFilling severity=warning instance=h1"
  "$CHAT|alertname=NoLabelsAtAll"
)

# The fleet: every trip alert, whatever its scope, reaches the fleet receiver (each host's receiver
# decides whether it is targeted) and a pager; the fleet's own alerts reach humans only.
readonly FLEET=quantum-ess-fleet,oncall-pager
readonly MANUAL="alertname=ESSManualFleetStop $TRIP severity=critical trip_id=20261126T0600Z-0a"
readonly FLEET_CASES=(
  "quantum-ess-fleet|$HEARTBEAT"
  "quantum-ess-fleet|$HEARTBEAT $TRIP severity=critical"
  "$FLEET|$MANUAL ess_scope=fleet"
  "$FLEET|$MANUAL ess_group=exec"
  "$FLEET|$MANUAL ess_host=h2"
  "$FLEET|alertname=QuantumDrawdownBreach $TRIP severity=critical instance=h1 ess_host=h1"
  "$FLEET|alertname=CustomTrip $TRIP"
  "$PAGER|alertname=NotATrip ess_trip=false ess_scope=fleet severity=critical"
  "$CHAT|alertname=NotATrip ess_scope=fleet"
  "$PAGER|alertname=ESSFleetPartialLatch $OWN severity=critical trip_scope=fleet job=quantum-ess"
  "$PAGER|alertname=ESSFleetPartialLatch $OWN severity=critical trip_scope=group $AT host=h3"
  "$PAGER|alertname=ESSHostUnreachableDuringTrip $OWN severity=critical $AT"
  "$CHAT|alertname=ESSFleetHostMissing $OWN severity=warning $AT host=h4 groups=exec"
  "$PAGER|alertname=ESSActive $OWN severity=critical $AT"
  "$CHAT|alertname=ESSDrillFailed $OWN severity=warning mode=full $AT"
  "$PAGER|alertname=NodeDown severity=critical instance=h1"
  "$CHAT|alertname=DiskFilling severity=warning instance=h1"
)

die() {
  printf 'routes.sh: %s\n' "$*" >&2
  exit 1
}

main() {
  local config_name=alertmanager.example.yml
  local -a cases=("${CASES[@]}")
  if [[ ${1:-} == --fleet ]]; then
    config_name=alertmanager.fleet.example.yml
    cases=("${FLEET_CASES[@]}")
    shift
  fi
  local config=${1:-$SCRIPT_DIR/../$config_name}
  command -v amtool >/dev/null || die "amtool not found: apt-get install -y prometheus-alertmanager"
  [[ -r $config ]] || die "cannot read $config"

  local case expected labels got passed=0 failed=0
  local -a label_args
  for case in "${cases[@]}"; do
    expected=${case%%|*}
    labels=${case#*|}
    read -r -a label_args <<<"$labels"
    # amtool warns on stderr that --config.file overrides --alertmanager.url; only stdout matters.
    if ! got=$(amtool config routes test --config.file="$config" "${label_args[@]}" 2>/dev/null)
    then
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
