# shellcheck shell=bash
# args: every controller command's command line, read one way (no fork: activate reads its own
# before the stop). Options come in any order, as `--opt VALUE` or `--opt=VALUE`; a flag takes no
# value. What a command does with what does not fit is its own choice: activate takes it as meant
# and says how it read it (an emergency stop is never refused over its wording), every other
# command refuses it with the command that works. The drill and the installer read theirs with
# args_parse and args_problem_v too. From ess_controller.sh (args_refuse, args_strict): usage,
# usage_error. Writes ARGS_*, each function the
# ones its comment names.

declare -gA ARGS_VAL=()
declare -ga ARGS_WORDS=() ARGS_BARE=() ARGS_UNKNOWN=() ARGS_ALIASED=() ARGS_FLAG_VALUE=()
declare -ga ARGS_EACH=()
declare -g ARGS_HELP=0

# args_parse "VALUE_OPTS" "FLAGS" ARGS...: the options of a command (names without --) read from
# ARGS:
#   --opt VALUE, --opt=VALUE   ARGS_VAL[opt]=VALUE (the last one given); ARGS_EACH: opt=VALUE,
#                              every one in order (a repeatable option)
#   --opt with no value        ARGS_BARE (at the end, or before an option: args_is_option)
#   --flag                     ARGS_VAL[flag]=1; --flag=X: also ARGS_FLAG_VALUE
#   -r                         --reason, where the command has it; in ARGS_ALIASED
#   --help, -h                 ARGS_HELP=1
#   any other -x, --xyz        ARGS_UNKNOWN;  any other word  ARGS_WORDS (after --: every word)
# Writes ARGS_VAL ARGS_EACH ARGS_WORDS ARGS_BARE ARGS_UNKNOWN ARGS_ALIASED ARGS_FLAG_VALUE
# ARGS_HELP.
args_parse() {
  local vals=" $1 " flags=" $2 " a name
  shift 2
  ARGS_VAL=() ARGS_WORDS=() ARGS_BARE=() ARGS_UNKNOWN=() ARGS_ALIASED=() ARGS_FLAG_VALUE=()
  ARGS_EACH=() ARGS_HELP=0
  while (($#)); do
    a=$1
    shift
    if [[ $a == -r || $a == -r=* ]] && [[ $vals == *" reason "* ]]; then
      ARGS_ALIASED+=("-r")
      a=--reason${a#-r}
    fi
    name=${a#--} name=${name%%=*}
    if [[ $a == -- ]]; then
      ARGS_WORDS+=("$@")
      break
    elif [[ $a == @(--help|-h) ]]; then
      ARGS_HELP=1
    elif [[ $a == --?* && $vals == *" $name "* ]]; then
      if [[ $a == *=* ]]; then
        ARGS_VAL[$name]=${a#*=}
        ARGS_EACH+=("$name=${a#*=}")
      elif (($#)) && ! args_is_option "$vals$flags" "$1"; then
        ARGS_VAL[$name]=$1 ARGS_EACH+=("$name=$1")
        shift
      else
        ARGS_BARE+=("$name")
      fi
    elif [[ $a == --?* && $flags == *" $name "* ]]; then
      ARGS_VAL[$name]=1
      [[ $a != *=* ]] || ARGS_FLAG_VALUE+=("$name")
    elif [[ $a == -?* ]]; then
      ARGS_UNKNOWN+=("$a")
    else
      ARGS_WORDS+=("$a")
    fi
  done
}

# args_is_option " NAMES " WORD: WORD is no option's value: --WORD, or one of the command's short
# forms (-r, -h). A value may start with a single dash ("-5% drawdown").
args_is_option() {
  [[ $2 == --?* || ($2 == -r && $1 == *" reason "*) || $2 == -h ]]
}

# args_reason_v VAR [FIRST]: the reason as the operator meant it: --reason's text and the words
# from the FIRST-th on (0: all of them), joined by spaces.
args_reason_v() {
  local _r=${ARGS_VAL[reason]:-} _w=("${ARGS_WORDS[@]:${2:-0}}")
  if ((${#_w[@]} > 0)); then _r+="${_r:+ }${_w[*]}"; fi
  printf -v "$1" '%s' "$_r"
}

# args_quote_v VAR WORDS...: the words as an operator would type them: a word with spaces or
# shell characters in double quotes, with what they would expand escaped.
args_quote_v() {
  local _w _out=() _q
  for _w in "${@:2}"; do
    if [[ -z $_w || $_w =~ [^A-Za-z0-9_./:=@%+,-] ]]; then
      _q=${_w//\\/\\\\} _q=${_q//\"/\\\"} _q=${_q//\$/\\\$} _q=${_q//\`/\\\`}
      _out+=("\"$_q\"")
    else
      _out+=("$_w")
    fi
  done
  printf -v "$1" '%s' "${_out[*]}"
}

# args_problem_v VAR CMD TAKEN: what in the last args_parse a strict command (every one but
# activate) refuses, in words, the first of: an option CMD does not have, -r, an option without its
# value, a flag given a value, a word beyond the TAKEN words CMD takes; empty when none.
args_problem_v() {
  local _p="" _w
  if ((${#ARGS_UNKNOWN[@]} > 0)); then
    _p="unknown option '${ARGS_UNKNOWN[0]}'"
  elif ((${#ARGS_ALIASED[@]} > 0)); then
    _p="-r is not an option (write --reason)"
  elif ((${#ARGS_BARE[@]} > 0)); then
    _p="--${ARGS_BARE[0]} needs a value"
  elif ((${#ARGS_FLAG_VALUE[@]} > 0)); then
    _p="--${ARGS_FLAG_VALUE[0]} takes no value"
  elif ((${#ARGS_WORDS[@]} > $3)); then
    _p="unexpected"
    for _w in "${ARGS_WORDS[@]:$3}"; do _p+=" '$_w'"; done
  fi
  printf -v "$1" '%s' "$_p"
}

# args_refuse CMD PROBLEM WORDS...: a strict command's usage error (exit 64, nothing changed): what
# is wrong, the forms CMD accepts and, built from WORDS, the command that works.
args_refuse() {
  local cmd=$1 problem=$2 working forms
  args_quote_v working "${@:3}"
  case $cmd in
    deactivate) forms="deactivate [--reason TEXT] [--no-start]" ;;
    status) forms="status [--json]" ;;
    exempt) forms="exempt UNIT --for DURATION --reason TEXT" ;;
    unexempt) forms="unexempt UNIT" ;;
    check-config) forms="check-config [FILE]" ;;
    watchdog) forms="watchdog check | watchdog pause --for DURATION --reason TEXT | watchdog resume" ;;
    *) forms="$cmd, with no options" ;;
  esac
  [[ $forms != *--* ]] || forms+=" (in any order; --opt=VALUE too)"
  # pasteable as is: every command but status and check-config needs root (require_root)
  working="ess_controller.sh $working"
  [[ $cmd == @(status|check-config) ]] || working="sudo $working"
  usage_error "$cmd: $problem; accepted: $forms; the command that works: $working"
}

# args_strict CMD TAKEN WORKING...: after args_parse, a strict command's --help (the usage, exit 0)
# or its refusal of what does not fit (args_problem_v, args_refuse with WORKING).
args_strict() {
  local problem
  if ((ARGS_HELP)); then usage; exit 0; fi
  args_problem_v problem "$1" "$2"
  [[ -z $problem ]] || args_refuse "$1" "$problem" "${@:3}"
}
