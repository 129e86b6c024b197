#!/usr/bin/env bash
# verdict-driver.sh FIXTURE.json: the bash side's verdict (deploy/lib/verdict.sh) on a contract
# fixture (contract/README.md section 1), printed as "VERDICT EXIT_CODE ARMED VIOLATIONS WIRING"
# (WIRING: UNIT=WORD of every wiring unit that is not ok, comma-joined in WIRING_UNITS order, or -).
# The TypeScript side is held to the same fixtures by verdict.contract.test.ts.
set -Eeuo pipefail
export LC_ALL=C
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/lib/load.sh
source "$REPO/deploy/lib/load.sh"
load_all

main() {
  (($# == 1)) || { echo "usage: verdict-driver.sh FIXTURE.json" >&2; exit 64; }
  config_load # the defaults (no ESS_CONFIG): the fixtures are written for them
  declare -gA LOAD=() ACTIVE=() POPULATED=() USER_SLICE=() ASSERTS=() EXEMPT=() WIRING_FOUND=() WIRING_RECORD=()
  TRADING=()
  V_WIRING_RECORD=0 V_FLAG_DIR_REDIRECTED=0
  local kind unit key value u notok=()
  # one "kind US unit US key US value" line per input (US = \x1f: empty fields survive read)
  while IFS=$'\x1f' read -r kind unit key value; do
    case $kind in
      input) printf -v "$key" '%s' "$value" ;;
      trading) [[ $key != LoadState ]] || TRADING+=("$unit")
        case $key in
          LoadState) LOAD[$unit]=$value ;;
          ActiveState) ACTIVE[$unit]=$value ;;
          populated) POPULATED[$unit]=$value ;;
          user_slice) USER_SLICE[$unit]=$value ;;
          asserts) ASSERTS[$unit]=$value ;;
          exempt) EXEMPT[$unit]=$value ;;
        esac ;;
      switch) ACTIVE[$unit]=$value ;;
      record) V_WIRING_RECORD=1; [[ -z $unit ]] || WIRING_RECORD[$unit|$key]=$value ;;
      wiring) WIRING_FOUND[$unit|$key]=$value ;;
    esac
  done < <(node -e '
    const fs = require("fs");
    const f = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).inputs;
    const installed = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
    const b = (v) => (v ? "1" : "0");
    const out = [
      ["input", "", "V_FLAG", b(f.flag)], ["input", "", "V_LATCHED_FILE", b(f.latched_file)],
      ["input", "", "V_FLAG_DIR_REDIRECTED", b(f.flag_dir_redirected)],
      ["input", "", "V_PERSIST_PROBLEM", f.persist_problem ?? ""],
      ["input", "", "V_RESUME_PENDING", f.resume_pending ?? ""],
      ["input", "", "V_CONFIG_PROBLEM", f.config_problem ?? ""],
      ["input", "", "V_SYSTEMD_OK", b(f.systemd_ok)],
    ];
    for (const [unit, u] of Object.entries(f.trading ?? {}))
      for (const key of ["LoadState", "ActiveState", "populated", "asserts"])
        out.push(["trading", unit, key, u[key] ?? ""]);
    for (const [unit, u] of Object.entries(f.trading ?? {}))
      out.push(["trading", unit, "user_slice", u.user_slice ?? "no"]);
    for (const [unit, u] of Object.entries(f.trading ?? {}))
      out.push(["trading", unit, "exempt", b(u.exempt)]);
    for (const [unit, state] of Object.entries(f.switch ?? {}))
      out.push(["switch", unit, "ActiveState", state]);
    const record = f.wiring_record === undefined ? installed.record : f.wiring_record;
    if (record !== null) out.push(["record", "", "", ""]);
    for (const [unit, props] of Object.entries(record ?? {}))
      for (const [key, value] of Object.entries(props)) out.push(["record", unit, key, value]);
    const found = { ...installed.found, ...(f.wiring ?? {}) };
    for (const [unit, props] of Object.entries(found))
      for (const [key, value] of Object.entries(props))
        if (value !== null) out.push(["wiring", unit, key, value]);
    for (const row of out) console.log(row.join("\x1f"));' "$1" "$REPO/contract/fixtures/wiring/installed.json")
  verdict_compute
  for u in "${WIRING_UNITS[@]}"; do [[ ${WIRING[$u]} == ok ]] || notok+=("$u=${WIRING[$u]}"); done
  local IFS=,
  [[ ${#notok[@]} -gt 0 ]] || notok=(-)
  printf '%s %s %s %s %s\n' "$VERDICT" "$VERDICT_CODE" \
    "$( ((VERDICT_ARMED)) && echo true || echo false)" "$VERDICT_VIOLATIONS" "${notok[*]}"
}

main "$@"
