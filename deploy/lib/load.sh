# shellcheck shell=bash
# load: the libraries, in the one order every entry script and test loads them. A library only
# defines functions, its constants and its state, so the order matters only where a constant is
# made from another library's (exempt.sh's from record.sh's). The list is cut in three for
# `activate`, which stops the trading units before it parses more than the stop needs:
#   load_stop              first-stop.sh, what the stop calls and args.sh (activate's command
#                          line): parsed before the stop
#   load_activate FD       activate.sh; from FD (if not empty) when ess_controller.sh opened it
#                          before the stop
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
  # shellcheck source=deploy/lib/verdict.sh
  source "${BASH_SOURCE[0]%/*}/verdict.sh"
  # shellcheck source=deploy/lib/exempt.sh
  source "${BASH_SOURCE[0]%/*}/exempt.sh"
  # shellcheck source=deploy/lib/wiring.sh
  source "${BASH_SOURCE[0]%/*}/wiring.sh"
  # shellcheck source=deploy/lib/latch.sh
  source "${BASH_SOURCE[0]%/*}/latch.sh"
  # shellcheck source=deploy/lib/spool.sh
  source "${BASH_SOURCE[0]%/*}/spool.sh"
}

# load_activate FD: activate.sh, read from FD (open on it; closed here) unless FD is empty.
load_activate() {
  if [[ -n ${1:-} ]]; then
    local fd=$1
    # shellcheck source=deploy/lib/activate.sh
    source "/dev/fd/$fd"
    exec {fd}<&-
  else
    # shellcheck source=deploy/lib/activate.sh
    source "${BASH_SOURCE[0]%/*}/activate.sh"
  fi
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
}

load_all() {
  load_stop
  load_activate ""
  load_rest
}
