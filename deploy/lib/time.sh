# shellcheck shell=bash
# Time helpers, all in one place: the uptime clock deadlines are counted on, the wall clock that
# timestamps are taken from, conversions between seconds and microseconds, systemd's timestamps, and
# a sleep without a fork.
#
# Deadlines never use the wall clock: waits are relative timers (timeout(1), read -t), and loops
# count elapsed time on /proc/uptime (CLOCK_BOOTTIME, 10 ms resolution, a builtin read: no fork;
# reading /proc/timer_list for CLOCK_MONOTONIC costs about 50 ms). The instants of a stop are
# systemd's own (InactiveEnterTimestamp, µs); a clock step during a run is detected by comparing the
# wall clock with the uptime clock over the run (time_clock_drift_us_v).
#
# Needs nothing. Writes TIME_NAP_FD (time_nap). A *_v function writes only the variable named by its
# first argument; the other functions print their result.

# time_uptime_us_v VAR: the uptime clock (CLOCK_BOOTTIME) in µs.
time_uptime_us_v() {
  local _uu _ur
  read -r _uu _ur </proc/uptime
  printf -v "$1" '%d' $((10#${_uu%.*} * 1000000 + 10#${_uu#*.} * 10000))
}

# time_now_us, time_now_us_v VAR: the wall clock in µs, for timestamps people read.
time_now_us() { local t=$EPOCHREALTIME; printf '%s' "${t/./}"; }
time_now_us_v() { local _nt=$EPOCHREALTIME; printf -v "$1" '%s' "${_nt/./}"; }

# time_us_to_sec US, time_us_to_sec_v VAR US: 1500 -> 0.001500
time_us_to_sec() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
time_us_to_sec_v() { printf -v "$1" '%d.%06d' $(($2 / 1000000)) $(($2 % 1000000)); }

# time_us_to_sec_short US: 100000 -> 0.1, 60000000 -> 60
time_us_to_sec_short() {
  local s
  printf -v s '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000))
  while [[ $s == *.*0 ]]; do s=${s%0}; done
  printf '%s' "${s%.}"
}

# time_sec_to_us SECONDS: seconds (decimal, at most 6 fraction digits) to integer microseconds; pure
# bash, no fork. time_sec_to_us_v VAR SECONDS: the same into a variable, for paths where a subshell
# would cost a fork.
time_sec_to_us() { local us; time_sec_to_us_v us "$1"; printf '%s' "$us"; }
time_sec_to_us_v() {
  local _si=${2%%.*} _sf=000000
  [[ $2 == *.* ]] && _sf=${2#*.}000000
  printf -v "$1" '%d' $((10#$_si * 1000000 + 10#${_sf:0:6}))
}

# time_iso US, time_iso_v VAR US: Unix µs as 2026-11-26T02:09:41Z (bash's own strftime; the entry
# points run with TZ=UTC).
time_iso() { printf '%(%Y-%m-%dT%H:%M:%SZ)T' $(($1 / 1000000)); }
time_iso_v() { printf -v "$1" '%(%Y-%m-%dT%H:%M:%SZ)T' $(($2 / 1000000)); }

# time_clock_drift_us_v VAR WALL0_US UPTIME0_US: how far the wall clock moved against the uptime
# clock since (WALL0, UPTIME0); more than a few tens of ms means the clock was stepped.
time_clock_drift_us_v() {
  local _cw _cu
  time_now_us_v _cw
  time_uptime_us_v _cu
  printf -v "$1" '%d' $(((_cw - $2) - (_cu - $3)))
}

# time_utc_us_v VAR "Thu 2026-11-26 02:09:41.446772 UTC": systemd's --timestamp=us+utc form to Unix
# µs, without a fork (days from the civil date); empty when the text is not in that form.
time_utc_us_v() {
  local _y _m _d _era _yoe _doy _doe _days _secs
  local _re='([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6}) UTC$'
  if [[ $2 =~ $_re ]]; then
    _y=$((10#${BASH_REMATCH[1]})) _m=$((10#${BASH_REMATCH[2]})) _d=$((10#${BASH_REMATCH[3]}))
    ((_m > 2)) || _y=$((_y - 1))
    _era=$((_y / 400)) _yoe=$((_y - _y / 400 * 400))
    _doy=$(((153 * (_m > 2 ? _m - 3 : _m + 9) + 2) / 5 + _d - 1))
    _doe=$((_yoe * 365 + _yoe / 4 - _yoe / 100 + _doy))
    _days=$((_era * 146097 + _doe - 719468))
    _secs=$((_days * 86400 + 10#${BASH_REMATCH[4]} * 3600 + 10#${BASH_REMATCH[5]} * 60))
    _secs=$((_secs + 10#${BASH_REMATCH[6]}))
    printf -v "$1" '%d' $((_secs * 1000000 + 10#${BASH_REMATCH[7]}))
  else
    printf -v "$1" '%s' ""
  fi
}

# time_nap SECONDS: sleep without a fork per call (a read on a pipe nobody writes times out).
# Writes TIME_NAP_FD (opened on the first call).
declare -g TIME_NAP_FD=""
time_nap() {
  [[ -n $TIME_NAP_FD ]] || exec {TIME_NAP_FD}<> <(:)
  read -r -t "$1" -u "$TIME_NAP_FD" _ || true
}
