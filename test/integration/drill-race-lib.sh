# shellcheck shell=bash
# Sourced by test/integration/drill.test.ts inside the sandbox: helpers for the races between a
# drill's conditional deactivate and real stops.
set -u
# shellcheck disable=SC2034 # used by the test's scripts
CTL=/usr/local/sbin/ess_controller.sh
readonly FLAG=/run/quantum/ESS_ON

# token: the latch as the drill reads it (proof_ess.sh: latch_flag_identity_v, ID@MTIME)
token() {
  local id
  id=$(grep -o '"id":"[^"]*"' "$FLAG" | head -1 | cut -d'"' -f4)
  printf '%s@%s' "${id:--}" "$(stat -c %.9Y "$FLAG")"
}

# settle: every run of the switch and the guard finished
settle() {
  local _
  for _ in $(seq 300); do
    [ "$(systemctl show -P ActiveState quantum-ess.service quantum-ess-trigger.service \
      quantum-ess-trip.service quantum-ess-guard.service | grep -c activating)" = 0 ] && return
    sleep 0.02
  done
}

wait_for() {
  local _
  for _ in $(seq 500); do eval "$1" && return 0; sleep 0.01; done
  echo "timeout: $1"
  return 1
}

# pause_in CMD WORD: a PATH shim that holds CMD, when its arguments have WORD, until /tmp/go exists
pause_in() {
  rm -rf /tmp/shim /tmp/paused /tmp/go
  mkdir -p /tmp/shim
  printf '#!/bin/bash\ncase " $* " in *%s*) touch /tmp/paused\n' "$2" >/tmp/shim/"$1"
  printf '  until [ -e /tmp/go ]; do sleep 0.01; done;; esac\nexec /usr/bin/%s "$@"\n' "$1" \
    >>/tmp/shim/"$1"
  chmod +x /tmp/shim/"$1"
}

real_reason() { grep -o '"reason":"[^"]*"' "$FLAG" | head -1; }
