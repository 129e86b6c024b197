#!/usr/bin/env bash
# run-all.sh - the whole test suite on a fresh Debian 12 machine, as root: installs what it needs
# (Debian packages pinned where it matters, npm packages from the lock file), then runs static
# checks,
# bats, the TypeScript unit tests and the integration tests against real systemd in a sandbox.
# Ends with one line "N passed, M failed".
set -Eeuo pipefail
export LC_ALL=C.UTF-8

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
# iproute2 and openssl: the fleet harness (sandbox/fleet.sh) wires network namespaces to a bridge
# and makes its throwaway CA; dbus-daemon: the unit and contract tests' fake systemd has a private bus
# binutils (strip) and lintian: the Debian package (npm run package) and its check
readonly APT_PACKAGES=(shellcheck bats redis-server curl jq prometheus prometheus-alertmanager
  iproute2 openssl dbus-daemon binutils lintian)
readonly SANDBOX=$REPO/sandbox/sandbox.sh
REPORT_DIR=$(mktemp -d)
readonly REPORT_DIR
PASSED=0 FAILED=0

step() { printf '\n=== %s\n' "$*"; }
record() { # record NAME RC PASSED FAILED
  PASSED=$((PASSED + $3)) FAILED=$((FAILED + $4))
  # a check that failed without test results
  if (($2 != 0 && $4 == 0)); then FAILED=$((FAILED + 1)); fi
  printf -- '--- %s: rc=%d, %d passed, %d failed\n' "$1" "$2" "$3" "$4"
}

install_debian_packages() {
  bash "$SANDBOX" ensure-packages "${APT_PACKAGES[@]}"
  bash "$SANDBOX" ensure-tools # systemd-nspawn, pinned to the installed systemd
}

install_npm_packages() {
  (cd "$REPO" && npm ci --no-audit --no-fund --loglevel=error)
}

run_shellcheck() {
  local files
  mapfile -t files < <(cd "$REPO" && git ls-files '*.sh' '*.bats' .ci/run deploy/actions \
    packaging/debian/preinst packaging/debian/prerm packaging/debian/postinst packaging/debian/postrm)
  local rc=0
  (cd "$REPO" && shellcheck "${files[@]}") || rc=$?
  record shellcheck "$rc" "$((rc == 0 ? 1 : 0))" "$((rc == 0 ? 0 : 1))"
}

run_typecheck() {
  local rc=0
  (cd "$REPO" && npm run --silent typecheck) || rc=$?
  record "tsc --noEmit" "$rc" "$((rc == 0 ? 1 : 0))" "$((rc == 0 ? 0 : 1))"
}

# The integration tests install the exporter from dist/, as an operator would after `npm run build`.
run_build() {
  local rc=0
  (cd "$REPO" && rm -rf dist && npm run --silent build) || rc=$?
  record "npm run build" "$rc" "$((rc == 0 ? 1 : 0))" "$((rc == 0 ? 0 : 1))"
}

# The Debian package the integration tests install (test/integration/package.test.ts), and lintian
# on it: no error (the warnings that stay are listed in the README).
run_package() {
  local rc=0 deb
  deb=$(cd "$REPO" && npm run --silent package | tail -n 1) || rc=$?
  record "npm run package" "$rc" "$((rc == 0 ? 1 : 0))" "$((rc == 0 ? 0 : 1))"
  ((rc == 0)) || return 0
  (cd "$REPO" && lintian --fail-on error "$deb") || rc=$?
  record "lintian $(basename "$deb")" "$rc" "$((rc == 0 ? 1 : 0))" "$((rc == 0 ? 0 : 1))"
}

run_bats() {
  local rc=0 out=$REPORT_DIR/bats.tap
  (cd "$REPO" && bats --tap test/bats) | tee "$out" || rc=$?
  record bats "$rc" "$(grep -c '^ok ' "$out" || true)" "$(grep -c '^not ok ' "$out" || true)"
}

# The README runbook, command by command, and the operator's runbook followed literally with a
# tired operator's mistakes: each file of test/runbook as bats inside a sandbox booted for it.
run_runbook() {
  local file
  for file in "$REPO"/test/runbook/*.bats; do run_runbook_file "${file##*/}"; done
}

run_runbook_file() { # run_runbook_file NAME.bats
  local rc=0 out=$REPORT_DIR/runbook-${1%.bats}.tap box=ess-runbook
  bash "$SANDBOX" down "$box" >/dev/null
  local inside=/opt/quantum-ess-src
  if bash "$SANDBOX" up "$box" >/dev/null &&
    bash "$SANDBOX" exec "$box" bash "$inside/sandbox/provision.sh" >/dev/null; then
    bash "$SANDBOX" exec "$box" bats --tap "$inside/test/runbook/$1" | tee "$out" || rc=$?
  else
    rc=1
  fi
  bash "$SANDBOX" down "$box" >/dev/null
  record "runbook $1 (bats on real systemd)" "$rc" \
    "$(grep -c '^ok ' "$out" 2>/dev/null || true)" "$(grep -c '^not ok ' "$out" 2>/dev/null || true)"
}

run_vitest() { # run_vitest PROJECT
  local rc=0 json=$REPORT_DIR/vitest-$1.json counts
  (cd "$REPO" && npx vitest run --project "$1" --reporter=default --reporter=json \
    --outputFile="$json") || rc=$?
  counts=$(node -e 'try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(r.numPassedTests, r.numFailedTests + r.numPendingTests + r.numTodoTests)
    } catch { console.log("0 0") }' "$json")
  record "vitest $1" "$rc" "${counts% *}" "${counts#* }"
}

main() {
  if ((EUID != 0)); then
    echo "run-all.sh: the tests boot a systemd container and install packages: run as root" >&2
    exit 1
  fi
  step "dependencies"
  install_debian_packages
  install_npm_packages
  step "shellcheck";      run_shellcheck
  step "typescript";      run_typecheck
  step "bats";            run_bats
  step "build";           run_build
  step "Debian package";  run_package
  step "unit tests";      run_vitest unit
  step "contract tests (bash and TypeScript on the same fixtures)"; run_vitest contract
  step "runbook on real systemd"; run_runbook
  step "integration tests on real systemd (systemd-nspawn sandboxes)"; run_vitest integration
  rm -rf "$REPORT_DIR"
  printf '\n%d passed, %d failed\n' "$PASSED" "$FAILED"
  ((FAILED == 0))
}

main "$@"
