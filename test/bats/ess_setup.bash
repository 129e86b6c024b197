# Shared by the bats files that run the controller without systemd.
# shellcheck shell=bash

# ess_setup [KEY...]: REPO, CTL, a private TMP and ESS_CONFIG, the documented configuration less
# the keys given (a key set twice is refused) with every path under TMP.
ess_setup() {
  REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  # shellcheck disable=SC2034 # used by the tests that load this file
  CTL=$REPO/deploy/ess_controller.sh
  local root
  root=$(ess_tmp_root)
  mkdir -p "$root"
  TMP=$(mktemp -d -p "$root")
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

# ess_tmp_root: where TMP is made. Not under /tmp, /var/tmp or /dev/shm: check-config refuses a
# latch flag where any user can create its directory. In the checkout (ignored by git); when the
# checkout itself lies there (a CI clone in /tmp), in /var/lib for root (the tests that switch to
# nobody must be able to reach it) or in the user's cache directory.
ess_tmp_root() {
  local path elsewhere=$HOME/.cache/quantum-ess-tests
  ((EUID != 0)) || elsewhere=/var/lib/quantum-ess-tests
  for path in "$(cd "$REPO" && pwd -P)/.test-tmp" "$elsewhere"; do
    case $path in
      /tmp/* | /var/tmp/* | /dev/shm/*) ;;
      *) printf '%s\n' "$path"; return 0 ;;
    esac
  done
  echo "no place for test files outside /tmp, /var/tmp and /dev/shm" >&2
  return 1
}
