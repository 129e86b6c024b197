#!/usr/bin/env bash
# wiring-record-driver.sh FILE: the bash side's reading of an installer's wiring record
# (deploy/lib/wiring.sh, contract/README.md section 1), one "UNIT|PROPERTY=VALUE" line per entry.
# verdict.contract.test.ts holds the TypeScript reader to the same file.
set -Eeuo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/lib/load.sh
source "$REPO/deploy/lib/load.sh"
load_all

main() {
  (($# == 1)) || { echo "usage: wiring-record-driver.sh FILE" >&2; exit 64; }
  local key
  DIR=$(mktemp -d)
  trap 'rm -rf "$DIR"' EXIT
  cp -- "$1" "$DIR/$WIRING_RECORD_NAME"
  : >"$DIR/ess.conf"
  ESS_CONFIG=$DIR/ess.conf wiring_record_read
  ((V_WIRING_RECORD)) || { echo "not read: $1" >&2; exit 1; }
  for key in "${!WIRING_RECORD[@]}"; do printf '%s=%s\n' "$key" "${WIRING_RECORD[$key]}"; done
}

main "$@"
