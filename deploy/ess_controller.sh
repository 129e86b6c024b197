#!/usr/bin/env bash
# ess_controller.sh - the Emergency Stop System controller (root side, bash + systemd only).
#
# The stop path never waits on a lock, Redis or the exporter: the latch flag is written first (so
# the systemd drop-ins refuse every start from that instant), stop jobs are queued for all trading
# units in one transaction, and only the bookkeeping (state file, audit) is serialised with flock.
set -Eeuo pipefail
# activate from a terminal: Ctrl-C, a dropped ssh session (HUP) or a TERM would end it silently
# before the flag exists, trading still running. Ignored for the whole run (a trap is a builtin:
# nothing forks before the stop), so a stop begun is finished and recorded. Not under systemd
# (INVOCATION_ID): a unit's own stop must still end its run.
[[ ${1:-} != activate || -n ${INVOCATION_ID:-} ]] || trap '' INT HUP TERM
ESS_START_WALL=$EPOCHREALTIME # the trigger instant of a command-line activation
# against the wall clock: was the clock stepped during the run?
read -r ESS_START_UPTIME _ </proc/uptime
ESS_START_UPTIME=$((10#${ESS_START_UPTIME%.*} * 1000000 + 10#${ESS_START_UPTIME#*.} * 10000))
export LC_ALL=C TZ=UTC
umask 022

# await_flag_writer: a run of quantum-ess-trigger.service is woken by the flag that a live
# controller has just created and is stopping the units for. Before loading anything (bash and the
# libraries would compete with that stop for the CPU), wait for it, asleep; then re-verify as usual.
# If the writer dies, this run stops everything itself. ESS_FLAG_HINT is set by the trigger unit
# only.
await_flag_writer() {
  local content="" pid argv=() i nap_fd=""
  # a regular file: a FIFO would block
  [[ -n ${ESS_FLAG_HINT:-} && -f $ESS_FLAG_HINT ]] || return 0
  IFS= read -r -d '' -N 4096 content <"$ESS_FLAG_HINT" || true
  [[ $content =~ \"pid\":([0-9]{1,9}) ]] || return 0
  pid=${BASH_REMATCH[1]}
  # 15 s at most, beyond any STOP_DEADLINE_SEC + LOCK_WAIT_SEC default
  for ((i = 0; i < 750; i++)); do
    # a root process running the controller: any user can name a process after it
    [[ -O /proc/$pid ]] || break
    mapfile -d '' -t argv 2>/dev/null </proc/"$pid"/cmdline || break
    [[ " ${argv[*]} " == *"ess_controller.sh activate"* ]] || break
    [[ -n ${nap_fd:-} ]] || exec {nap_fd}<> <(:)
    read -r -t 0.02 -u "$nap_fd" _ || true
  done
  [[ -z ${nap_fd:-} ]] || exec {nap_fd}>&-
}
await_flag_writer

# The libraries, in their one order (lib/load.sh). Where install.sh puts the controller is found
# without a fork when it runs through its /usr/local/sbin link (or, installed by the Debian package,
# its /usr/sbin link).
readonly ESS_LIBEXEC=/usr/local/lib/quantum-ess ESS_LIBEXEC_PACKAGE=/usr/lib/quantum-ess
if [[ ${BASH_SOURCE[0]} -ef $ESS_LIBEXEC/ess_controller.sh ]]; then
  ESS_LIB=$ESS_LIBEXEC/lib
elif [[ ${BASH_SOURCE[0]} -ef $ESS_LIBEXEC_PACKAGE/ess_controller.sh ]]; then
  ESS_LIB=$ESS_LIBEXEC_PACKAGE/lib
else
  ESS_LIB=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib
fi
# shellcheck source=deploy/lib/load.sh
source "$ESS_LIB/load.sh"
load_stop
# activate stops before the rest is loaded. The rest it needs (load_activate) is opened now, so
# that an installer swapping the library directory during the stop cannot leave this run without
# it, and parsed after the stop (every library parsed before it is time before the stop jobs).
# After the stop, activate loads its own libraries only (every library parsed is time before it
# returns); every other command loads them all.
if [[ ${1:-} == activate ]]; then
  load_open_activate
  first_stop "$@"
  load_activate
else
  load_activate
  load_rest
fi

readonly EX_USAGE=64 EX_FAIL=1 EX_NOT_ACTIVE=2 EX_BUSY=75 EX_NOPERM=77

usage() {
  # unquoted so that a backslash at a line's end continues it (the text has no $, ` or \)
  cat <<EOF
Usage: ess_controller.sh COMMAND [OPTIONS]
Options in any order, as --opt VALUE or --opt=VALUE; COMMAND --help prints this text.

Commands:
  activate [--reason TEXT] [--source NAME]   stop all trading units now and set the latch (root);
                                             never refused over its wording: words are the \
reason,
                                             -r is --reason; it says how it read them
  activate --from-spool                      activate for queued trip requests (used by \
quantum-ess-trip.service)
  deactivate [--reason TEXT] [--no-start]    clear the latch and start trading units in \
START_ORDER (root);
                                             asks for a reason at a terminal (Ctrl-D: refused)
    [--if-activation ID@MTIME]               only that latch, untouched (the drill's own)
  status [--json]                            the verdict, the latch, the switch and every \
configured unit
  exempt UNIT --for DURATION --reason TEXT   maintenance: let one trading unit start while the ESS \
stays
                                             active, for at most MAX_EXEMPTION_SEC (root)
  unexempt UNIT                              end an exemption early: the unit is stopped and \
latched (root)
  rearm                                      repair the switch from the installed units, also \
while
                                             active; never starts a trading unit (root)
  watchdog pause --for DURATION --reason TEXT
                                             hold the dead man's switch while the monitoring is
                                             maintained, at most MAX_WATCHDOG_PAUSE_SEC (root)
  watchdog resume                            end the pause now (root)
  watchdog check                             one look at the heartbeat (quantum-ess-watchdog timer)
  check-config [FILE]                        validate ess.conf (default ESS_CONFIG); print it \
normalised
  verify-audit                               check the audit trail's hash chain; names the first \
bad line (root)
  restore-latch                              keep or clear the latch after a reboot (used at boot)
  guard                                      put back a flag removed by hand (used by \
quantum-ess-guard)
  action-run NAME, action-result NAME        run an on-trip action, record its result (used by \
its unit)
  help                                       this text

Environment: ESS_CONFIG (default /etc/quantum/ess.conf).
Exit codes, by command (every command also: 64 usage; 77 not root, where it says root;
  78 bad configuration):
  activate       0 every trading unit stopped (result ok or degraded: degraded also when a
                 unit does not exist, named NOT FOUND); 1 a unit not stopped, the
                 latch not set or not persisted, or cleared meanwhile by a deactivate
  deactivate     0 trading resumed, or the latch cleared (--no-start); 1 a unit did not start,
                 the latch was kept, a new activation overtook the resume, or no reason at the
                 prompt (Ctrl-D); 2 not active, or another deactivate is starting the units;
                 75 another operation holds the lock
  status         0 armed; 1 unknown; 3 active; 4 violation (latched but a trading unit runs or
                 systemd would let it start); 5 not armed; 6 tampered (flag removed by hand);
                 7 not persisted; 8 resume interrupted
  exempt         0 exempted; 1 the exemption could not be applied; 2 the ESS is not active;
                 75 another operation holds the lock, or a trip request came in (it ends
                 every exemption)
  unexempt       0 ended; 1 systemd does not apply the latch again; 2 no exemption to end
  rearm          0 re-armed; 1 not re-armed; 75 another operation holds the lock
  check-config   0 valid
  verify-audit   0 the chain is intact; 1 broken, missing or unreadable
  watchdog       0 done; 1 pause not written, or the watchdog's activation failed; 2 resume: not
                 paused
  restore-latch  0 done; 1 the latch could not be restored or cleared
  guard          0 done (what it could not do is logged at crit)
EOF
}

# usage_error MESSAGE: what is wrong, in one line, and where the whole usage is (exit 64)
usage_error() {
  printf "ess: %s (see 'ess_controller.sh --help')\n" "$1" >&2
  exit "$EX_USAGE"
}

# controller_unknown_command WORD: exit 64 in one line. A command within two typos of WORD is named
# first; then, since an operator who typed it may think trading has stopped, the command that stops it.
controller_unknown_command() {
  local word c d best="" bestd=3 guess=""
  record_clean_text_v word "$1" 40
  for c in activate deactivate status rearm exempt unexempt check-config verify-audit watchdog; do
    units_distance_v d "$word" "$c"
    ((d >= bestd || 2 * d >= ${#word})) || best=$c bestd=$d
  done
  case $best in
    "") ;;
    status | check-config) guess=" (did you mean: ess_controller.sh $best?)" ;;
    *) guess=" (did you mean: sudo ess_controller.sh $best?)" ;;
  esac
  usage_error "unknown command '$word'${guess}: nothing was done, trading was NOT stopped; to stop\
 it: sudo ess_controller.sh activate --reason \"...\""
}

# require_root COMMAND: exit 77 unless root, with the command that works: the operator's own
# arguments (ESS_ARGV) under sudo.
declare -a ESS_ARGV=()
require_root() {
  local again
  ((EUID != 0)) || return 0
  args_quote_v again sudo ess_controller.sh "${ESS_ARGV[@]}"
  printf 'ess: %s must run as root (uid 0); you are uid %d. Nothing was changed. Run: %s\n' "$1" \
    "$EUID" "$again" >&2
  exit "$EX_NOPERM"
}


# ---------------------------------------------------------------- audit verification
cmd_verify_audit() {
  args_parse "" "" "$@"
  args_strict verify-audit 0 verify-audit
  require_root verify-audit
  config_load_in_force
  local f=${CFG[AUDIT_FILE]} n=0 line expect
  if [[ ! -r $f ]]; then
    printf 'ess: audit trail %s is missing or not readable\n' "$f" >&2
    exit "$EX_FAIL"
  fi
  expect=$(printf '%064d' 0)
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    if [[ ! $line =~ \"prev\":\"([0-9a-f]{64})\"\}$ ]]; then
      printf 'audit chain BROKEN at %s line %d: %s\n' "$f" "$n" \
        "not a complete audit entry (truncated or foreign line)"
      exit "$EX_FAIL"
    fi
    if [[ ${BASH_REMATCH[1]} != "$expect" ]]; then
      printf 'audit chain BROKEN at %s line %d: "prev" does not match line %d %s\n' "$f" "$n" \
        "$((n - 1))" "(a line was edited, inserted or removed)"
      exit "$EX_FAIL"
    fi
    expect=$(printf '%s\n' "$line" | sha256sum | cut -d' ' -f1)
  done <"$f"
  printf 'audit chain OK: %d entries in %s\n' "$n" "$f"
}

# ---------------------------------------------------------------- rearm / restore
# rearm: the switch repaired from the installed copy of the units (repair.sh), also while the ESS
# is active; never starts or unlatches a trading unit. Exit 0 when the verdict is armed (or active,
# while latched), 1 naming what is left otherwise. Writes what repair_run and latch_observe write.
cmd_rearm() {
  local line
  args_parse "" "" "$@"
  args_strict rearm 0 rearm
  require_root rearm
  config_load_in_force
  latch_take_lock || {
    printf 'ess: another ESS operation holds the lock; try again.\n' >&2
    exit "$EX_BUSY"
  }
  repair_run || true
  latch_drop_lock
  # judged on what the repair left, not on what it found (a drop-in it put back)
  ((${#REPAIR_DONE[@]} == 0)) || config_reload_in_force
  for line in "${REPAIR_DONE[@]}"; do printf 'repaired: %s\n' "$line"; done
  for line in "${REPAIR_DONE[@]}"; do record_journal warning "rearm: $line"; done
  # the trigger's re-verification (a latch set while it was broken) finishes before the verdict
  local i
  for ((i = 0; i < 300; i++)); do
    [[ $(units_sctl show -P ActiveState -- "$TRIGGER_UNIT" 2>/dev/null) != activating ]] && break
    time_nap 0.05
  done
  latch_observe
  for line in "${REPAIR_LEFT[@]}" "${VERDICT_PROBLEMS[@]}"; do printf 'PROBLEM: %s\n' "$line"; done
  if ((VERDICT_ARMED)) && [[ $VERDICT == @(armed|active) && ${#REPAIR_LEFT[@]} == 0 ]]; then
    record_journal notice "switch re-armed (${#REPAIR_DONE[@]} repairs), verdict $VERDICT"
    printf 'switch re-armed: %s active; verdict %s\n' "${SWITCH_PATH_UNITS[*]}" "$VERDICT"
    return 0
  fi
  record_journal crit "rearm: the switch is not armed (verdict $VERDICT): ${REPAIR_LEFT[*]}" \
    "${VERDICT_PROBLEMS[*]}"
  printf 'ess: the switch is NOT re-armed (verdict %s); see the problems above\n' "$VERDICT" >&2
  exit "$EX_FAIL"
}

# check-config [FILE]: the same verdict as the exporter's --check-config on the same file.
cmd_check_config() {
  args_parse "" "" "$@"
  args_strict check-config 1 check-config "${ARGS_WORDS[@]:0:1}"
  ((${#ARGS_WORDS[@]} == 0)) || ESS_CONFIG=${ARGS_WORDS[0]}
  config_load
  config_check_path_owners "${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}"
  config_print
}

main() {
  (($# > 0)) || usage_error "missing command"
  ESS_ARGV=("$@")
  local cmd=$1
  shift
  case $cmd in
    activate) activate_cmd "$@" ;;
    deactivate) deactivate_cmd "$@" ;;
    status) status_cmd "$@" ;;
    rearm) cmd_rearm "$@" ;;
    exempt) exempt_cmd "$@" ;;
    unexempt) exempt_cmd_unexempt "$@" ;;
    check-config) cmd_check_config "$@" ;;
    watchdog) watchdog_cmd "$@" ;;
    verify-audit) cmd_verify_audit "$@" ;;
    restore-latch) guard_cmd_restore_latch "$@" ;;
    guard) guard_cmd "$@" ;;
    action-run) actions_cmd_run "$@" ;; # its unit's unprivileged dynamic user
    action-result) require_root action-result; actions_cmd_result "$@" ;;
    help | --help | -h) usage ;;
    *) controller_unknown_command "$cmd" ;;
  esac
}

trap record_log_flush EXIT # every journal line of the run is written when the command returns
main "$@"
