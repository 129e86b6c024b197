# Shared by the bats files that run the controller without systemd.
# shellcheck shell=bash

# ess_setup [KEY...]: REPO, CTL, a private TMP and ESS_CONFIG, the documented configuration less
# the keys given (a key set twice is refused) with every path under TMP. TMP lives in the checkout,
# not under /tmp: check-config refuses a latch flag where any user can create its directory.
ess_setup() {
  REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  # shellcheck disable=SC2034 # used by the tests that load this file
  CTL=$REPO/deploy/ess_controller.sh
  mkdir -p "$REPO/.test-tmp"
  TMP=$(mktemp -d -p "$REPO/.test-tmp")
  export ESS_CONFIG=$TMP/ess.conf
  ess_base_config "$@" >"$ESS_CONFIG"
  cat >>"$ESS_CONFIG" <<CONF
FLAG_FILE=$TMP/run/ESS_ON
LOCK_FILE=$TMP/run/ess.lock
STATE_DIR=$TMP/state
AUDIT_FILE=$TMP/log/audit.jsonl
SPOOL_DIR=$TMP/spool
CONF
}

# ess_base_config [KEY...]: the documented configuration without the paths and the keys given.
ess_base_config() {
  local keys="FLAG_FILE|LOCK_FILE|STATE_DIR|AUDIT_FILE|SPOOL_DIR" key
  for key in "$@"; do keys+="|$key"; done
  grep -Ev "^($keys)=" "$REPO/deploy/ess.conf"
}
