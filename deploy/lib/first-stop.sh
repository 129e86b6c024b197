# shellcheck shell=bash disable=SC2034 # ACT_* and FIRST_* are read by activate.sh
# first-stop: `activate` stops the trading units before the rest of the controller is even loaded.
# load.sh lists this first, in load_stop: for the activate command only the libraries the flag and
# the stop need are parsed (not activate, deactivate, status, guard), the configuration is the
# installer's snapshot (no parse, no validation run), and nothing forks before the stop jobs are
# queued but ln (the flag) and the stop itself. activate.sh then classifies and records the run as
# usual, taking the claim and the first stop from here. Runs only for an installed controller run by
# root (not asked for --help); anything else (a checkout, a latch already present, a re-verifying
# run) takes the ordinary path in activate.sh. It also holds the start of every
# activation (options, identity, trigger instant), which both paths share.
# Needs args.sh config.sh time.sh record.sh units.sh latch.sh spool.sh, from load.sh. From
# ess_controller.sh: ESS_LIB, ESS_START_WALL. Writes ACT_ID ACT_SOURCE ACT_ACTOR ACT_REASON
# ACT_WALL_US ACT_RUN_SOURCE ACT_OPT_* FIRST_DONE FIRST_CLAIM_RC, each function the ones its comment
# names.

declare -g ACT_ID="" ACT_SOURCE="" ACT_ACTOR="" ACT_REASON="" ACT_WALL_US=0 ACT_RUN_SOURCE=""
declare -g ACT_OPT_REASON="" ACT_OPT_SOURCE=cli ACT_OPT_FROM_SPOOL=0
declare -g FIRST_DONE=0 FIRST_CLAIM_RC=""

# first_stop_options ARGS...: activate's options into ACT_OPT_*, read as meant (args.sh), for an
# emergency stop is never refused over its wording: words are the reason (after --reason's text),
# -r is --reason, a bare --reason is no reason, an option activate does not have is ignored, a
# --source that is not a plain name is cli. activate_say_reading tells how, after the stop.
# Writes ACT_OPT_* ARGS_*.
first_stop_options() {
  args_parse "reason source" "from-spool" "$@"
  args_reason_v ACT_OPT_REASON
  ACT_OPT_SOURCE=${ARGS_VAL[source]:-cli} ACT_OPT_FROM_SPOOL=${ARGS_VAL[from-spool]:-0}
  [[ $ACT_OPT_SOURCE =~ ^[a-z0-9_-]{1,32}$ ]] || ACT_OPT_SOURCE=cli
}

# first_stop_trigger_from_wall WALL_US: the trigger instant (the command's start, a flag's or a
# request's mtime), clamped to now. Writes ACT_WALL_US.
first_stop_trigger_from_wall() {
  local now_wall
  time_now_us_v now_wall
  ACT_WALL_US=$1
  ((ACT_WALL_US <= now_wall)) || ACT_WALL_US=$now_wall # a clock that was ahead (touch -d)
}

# first_stop_init (configuration loaded, options parsed): who asks, why and since when; 1 when there
# is nothing to do (no trip request waiting; the flag that woke a path run is gone). Writes ACT_ID
# ACT_RUN_SOURCE ACT_SOURCE ACT_ACTOR ACT_REASON ACT_WALL_US.
first_stop_init() {
  [[ -z $ACT_ID ]] || return 0 # done by first_stop already
  ACT_RUN_SOURCE=$ACT_OPT_SOURCE ACT_SOURCE=$ACT_OPT_SOURCE
  record_actor_v ACT_ACTOR
  # an emergency does not wait for typing: no --reason is recorded as such, never asked for
  record_clean_text_v ACT_REASON "${ACT_OPT_REASON:-$RECORD_NO_REASON}"
  first_stop_trigger_from_wall "${ESS_START_WALL/./}"
  if ((ACT_OPT_FROM_SPOOL)); then
    spool_has_requests || return 1 # the sweep timer's usual run: nothing to log
    # the requests themselves are read after the stop (activate_claim_spool)
    ACT_SOURCE=trip-request ACT_REASON="trip request in ${CFG[SPOOL_DIR]}/incoming"
  fi
  # the path unit's run is about the flag that woke it: gone by now, it was cleared by a deactivate
  # or removed by hand (the guard puts it back and counts that); a new flag from here would hide
  # either
  if [[ $ACT_RUN_SOURCE == path && ! -e ${CFG[FLAG_FILE]} ]]; then
    record_log info "the latch flag that started this run is gone" \
      "(deactivate, or a removal the guard handles); nothing to do"
    return 1
  fi
  printf -v ACT_ID '%(%Y%m%dT%H%M%SZ)T-%04x%04x' "${ESS_START_WALL%.*}" "$RANDOM" "$RANDOM"
}

# first_stop activate ARGS...: the flag, then one blocking stop of every trading unit
# (units_stop_begin). Re-verifying runs (path, tamper) may leave a unit under a maintenance
# exemption running: they take the ordinary path. Writes what first_stop_init and units_stop_begin
# write, FIRST_DONE FIRST_CLAIM_RC.
first_stop() {
  ((EUID == 0)) && [[ -z ${ESS_CONFIG:-} && -e $ESS_LIB/../ess.conf.installed.bash ]] || return 0
  first_stop_options "${@:2}"
  ((!ARGS_HELP)) || return 0
  [[ $ACT_OPT_SOURCE != @(path|tamper) ]] || return 0
  CONFIG_STOP_PATH=1 # a snapshot that does not check out: stop every unit with the latch drop-in
  config_load_in_force
  first_stop_init || return 0
  FIRST_CLAIM_RC=0
  latch_flag_create_exclusive "$ACT_ID" "$ACT_SOURCE" "$ACT_ACTOR" "$ACT_REASON" "$ACT_WALL_US" ||
    FIRST_CLAIM_RC=$?
  # latched already: activate.sh decides (re-verify, drill takeover)
  ((FIRST_CLAIM_RC != 2)) || return 0
  units_stop_begin "${TRADING[@]}"
  FIRST_DONE=1
}
