#!/usr/bin/env bats
# shellcheck disable=SC2016 # the single-quoted scripts and patterns are expanded by the inner bash
# The shape of the controller's libraries (deploy/lib): loaded from one ordered list (load.sh),
# only defining functions, constants and state, each function carrying its file's prefix.

bats_require_minimum_version 1.5.0

setup() {
  REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  LIB=$REPO/deploy/lib
}

# functions_by_file: "FUNCTION FILE" for every function the list defines (bash's own record of
# where each was defined), after loading it as the entry scripts do.
functions_by_file() {
  bash -c 'set -Eeuo pipefail; shopt -s extdebug; source "$1/load.sh"; load_all
    for f in $(compgen -A function); do declare -F "$f"; done' _ "$LIB" |
    while read -r name _ file; do
      # not the functions bats exports to every process it starts
      [[ $file != "$LIB"/* ]] || printf '%s %s\n' "$name" "${file##*/}"
    done
}

@test "every library function carries its file's prefix (first-stop.sh: first_stop)" {
  local name file prefix bad=() n=0
  while read -r name file; do
    prefix=${file%.sh} prefix=${prefix//-/_}
    n=$((n + 1))
    [[ $name == "$prefix" || $name == "${prefix}_"* ]] || bad+=("$file: $name")
  done < <(functions_by_file)
  ((n > 100)) || { echo "only $n functions found"; return 1; }
  ((${#bad[@]} == 0)) || { printf '%s\n' "${bad[@]}"; return 1; }
}

@test "load.sh sources every library once, and no library sources another" {
  local lib name listed
  for lib in "$LIB"/*.sh; do
    name=${lib##*/}
    [[ $name != load.sh ]] || continue
    listed=$(grep -cF "source \"\${BASH_SOURCE[0]%/*}/$name\"" "$LIB/load.sh" || true)
    [ "$listed" = 1 ] || { echo "$name is sourced $listed times by load.sh"; return 1; }
    run ! grep -nE '^\s*(source|\.)\s|(\|\||&&|;|then|do)\s*(source|\.)\s' "$lib"
  done
}

# Outside its functions a library holds comments, function definitions, and readonly / declare -g
# of its own constants and state: loading it runs no other command and starts no process.
@test "the libraries only define functions: loading the whole list runs no command" {
  run env -i PATH=/nonexistent "$BASH" -c 'set -Eeuo pipefail -T; source "$1/load.sh"
    trap '\''printf "%s %s\n" "${BASH_SOURCE[0]:-}" "${BASH_COMMAND%% *}"'\'' DEBUG
    load_all
    trap - DEBUG' _ "$LIB"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  # what ran, by file: load.sh's own functions, and in the libraries only declare and readonly
  local ran
  ran=$(grep -vE "^$LIB/load\.sh |^$LIB/[a-z-]+\.sh (declare|readonly)\$|^ (load_all|trap)\$" \
    <<<"$output" || true)
  [ -z "$ran" ] || { echo "$ran"; return 1; }
  [[ $output == *"/config.sh readonly"* && $output == *"/first-stop.sh declare"* ]]
}

@test "activate parses only what the stop needs before it, and the rest from descriptors opened before it" {
  # the controller's own order: load_stop, the rest opened (not parsed), first_stop, then the rest
  run grep -nE '^(load_stop|  load_open_activate|  first_stop "\$@"|  load_activate)$' \
    "$REPO/deploy/ess_controller.sh"
  [ "${#lines[@]}" -eq 5 ]
  [[ ${lines[0]} == *:load_stop && ${lines[1]} == *load_open_activate &&
    ${lines[2]} == *first_stop* && ${lines[3]} == *load_activate ]]
  # first_stop and the functions it calls are all defined by load_stop alone; verdict.sh,
  # exempt.sh, wiring.sh and activate.sh are not parsed before the stop
  run bash -c 'set -Eeuo pipefail; source "$1/load.sh"; load_stop
    for f in first_stop first_stop_options args_parse first_stop_init config_load_in_force \
      latch_flag_create_exclusive units_stop_begin record_actor_v spool_has_requests; do
      declare -F "$f" >/dev/null || echo "missing $f"
    done
    declare -F activate_cmd verdict_compute exempt_read wiring_read deactivate_cmd \
      status_cmd >/dev/null || echo none' _ "$LIB"
  [ "$output" = none ]
  # opened before, parsed after: a library directory swapped meanwhile changes nothing
  local tmp
  tmp=$(mktemp -d)
  cp -r "$LIB" "$tmp/lib"
  run bash -c 'set -Eeuo pipefail; source "$1/load.sh"; load_stop; load_open_activate
    rm -rf "$1"
    load_activate
    declare -F activate_cmd verdict_compute exempt_read wiring_read >/dev/null && echo loaded
    ls -l /proc/$$/fd | grep -c "/lib/" || true' _ "$tmp/lib"
  rm -rf "$tmp"
  [ "${lines[0]}" = loaded ]
  [ "${lines[1]}" = 0 ]
}
