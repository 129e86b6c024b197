# shellcheck shell=bash
# load: the libraries, in the one order every entry script and test loads them. A library only
# defines functions, its constants and its state, so the order matters only where a constant is
# made from another library's (exempt.sh's from record.sh's). The list is cut in three for
# `activate`, which stops the trading units before it parses more than the stop needs:
#   load_stop              first-stop.sh, what the stop calls and args.sh (activate's command
#                          line): parsed before the stop
#   load_open_activate     opens the next part's files (no parse) before the stop, so that an
#                          installer swapping the library directory during the stop cannot leave
#                          the run without them. Writes LOAD_FDS.
#   load_activate          verdict.sh exempt.sh wiring.sh actions.sh activate.sh (what the
#                          activation needs after its first stop), from LOAD_FDS when
#                          load_open_activate opened them
#   load_rest              the other commands' libraries, never parsed by `activate` (after the
#                          stop, every library parsed is time before it returns)
#   load_all               the three in that order: every other command, script and test
# Sourcing this file only defines these functions; each library is sourced once, by one of them.

load_stop() {
  # shellcheck source=deploy/lib/first-stop.sh
  source "${BASH_SOURCE[0]%/*}/first-stop.sh"
  # shellcheck source=deploy/lib/args.sh
  source "${BASH_SOURCE[0]%/*}/args.sh"
  # shellcheck source=deploy/lib/time.sh
  source "${BASH_SOURCE[0]%/*}/time.sh"
  # shellcheck source=deploy/lib/config.sh
  source "${BASH_SOURCE[0]%/*}/config.sh"
  # shellcheck source=deploy/lib/record.sh
  source "${BASH_SOURCE[0]%/*}/record.sh"
  # shellcheck source=deploy/lib/units.sh
  source "${BASH_SOURCE[0]%/*}/units.sh"
  # shellcheck source=deploy/lib/latch.sh
  source "${BASH_SOURCE[0]%/*}/latch.sh"
  # shellcheck source=deploy/lib/spool.sh
  source "${BASH_SOURCE[0]%/*}/spool.sh"
}

declare -gA LOAD_FDS=()
load_open_activate() {
  local name fd
  for name in verdict exempt wiring actions activate; do
    fd=""
    { exec {fd}<"${BASH_SOURCE[0]%/*}/$name.sh"; } 2>/dev/null || fd=""
    LOAD_FDS[$name]=$fd
  done
}

# load_activate: the libraries activate needs after its first stop, each from the descriptor
# load_open_activate opened on it (closed here), else from its file. Writes LOAD_FDS.
load_activate() {
  # shellcheck source=deploy/lib/verdict.sh
  if [[ -n ${LOAD_FDS[verdict]:-} ]]; then source "/dev/fd/${LOAD_FDS[verdict]}"
  else source "${BASH_SOURCE[0]%/*}/verdict.sh"; fi
  # shellcheck source=deploy/lib/exempt.sh
  if [[ -n ${LOAD_FDS[exempt]:-} ]]; then source "/dev/fd/${LOAD_FDS[exempt]}"
  else source "${BASH_SOURCE[0]%/*}/exempt.sh"; fi
  # shellcheck source=deploy/lib/wiring.sh
  if [[ -n ${LOAD_FDS[wiring]:-} ]]; then source "/dev/fd/${LOAD_FDS[wiring]}"
  else source "${BASH_SOURCE[0]%/*}/wiring.sh"; fi
  # shellcheck source=deploy/lib/actions.sh
  if [[ -n ${LOAD_FDS[actions]:-} ]]; then source "/dev/fd/${LOAD_FDS[actions]}"
  else source "${BASH_SOURCE[0]%/*}/actions.sh"; fi
  # shellcheck source=deploy/lib/activate.sh
  if [[ -n ${LOAD_FDS[activate]:-} ]]; then source "/dev/fd/${LOAD_FDS[activate]}"
  else source "${BASH_SOURCE[0]%/*}/activate.sh"; fi
  local name fd
  for name in "${!LOAD_FDS[@]}"; do
    fd=${LOAD_FDS[$name]}
    [[ -z $fd ]] || exec {fd}<&-
  done
  LOAD_FDS=()
}

load_rest() {
  # shellcheck source=deploy/lib/deactivate.sh
  source "${BASH_SOURCE[0]%/*}/deactivate.sh"
  # shellcheck source=deploy/lib/status.sh
  source "${BASH_SOURCE[0]%/*}/status.sh"
  # shellcheck source=deploy/lib/guard.sh
  source "${BASH_SOURCE[0]%/*}/guard.sh"
  # shellcheck source=deploy/lib/repair.sh
  source "${BASH_SOURCE[0]%/*}/repair.sh"
  # shellcheck source=deploy/lib/listener.sh
  source "${BASH_SOURCE[0]%/*}/listener.sh"
  # shellcheck source=deploy/lib/runbook.sh
  source "${BASH_SOURCE[0]%/*}/runbook.sh"
  # shellcheck source=deploy/lib/advice.sh
  source "${BASH_SOURCE[0]%/*}/advice.sh"
  # shellcheck source=deploy/lib/watchdog.sh
  source "${BASH_SOURCE[0]%/*}/watchdog.sh"
}

load_all() {
  load_stop
  load_activate
  load_rest
}
