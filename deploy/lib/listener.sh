# shellcheck shell=bash disable=SC2034 # LISTENER_* are read by callers
# listener: whether the exporter's address belongs to the ESS. The address is held by systemd
# (quantum-ess-exporter.socket, owned by PID 1, kept across exporter restarts) and served by the
# exporter it passes the socket to; any other process listening there (a local user who bound the
# port while it was free) answers trips 200 without latching and serves made-up metrics. Needs ss
# (iproute2) and root to see other users' processes. Needs advice.sh (advice_exporter_down_v).
# Writes LISTENER_PROBLEM and LISTENER_FIX.

readonly LISTENER_SOCKET_UNIT=quantum-ess-exporter.socket

# listener_address: the address the socket unit listens on (HOST:PORT as ss prints it), or nothing
# when the unit is not installed.
listener_address() {
  local listen
  listen=$(systemctl show -P Listen "$LISTENER_SOCKET_UNIT" 2>/dev/null) || return 0
  printf '%s' "${listen%% (*}"
}

# listener_check [ADDR]: 0 when the socket unit is active and every listener on ADDR (default the
# unit's own) is systemd's socket (PID 1, shared with the exporter it was passed to); else 1 with
# LISTENER_PROBLEM and LISTENER_FIX (the command that gives the address back to the ESS). The
# owners are judged as root only.
listener_check() {
  local want=${1:-} line local_addr found=0 state
  LISTENER_PROBLEM="" LISTENER_FIX="sudo systemctl restart $LISTENER_SOCKET_UNIT"
  [[ -n $want ]] || want=$(listener_address)
  if [[ -z $want ]]; then
    LISTENER_PROBLEM="$LISTENER_SOCKET_UNIT is not installed: the exporter's port is free for\
 anyone while it restarts"
    LISTENER_FIX="re-run the installer (it installs $LISTENER_SOCKET_UNIT)"
    return 1
  fi
  state=$(systemctl is-active "$LISTENER_SOCKET_UNIT" 2>/dev/null) || true
  if [[ $state != active ]]; then
    LISTENER_PROBLEM="$LISTENER_SOCKET_UNIT is ${state:-unknown}, not listening on $want"
    advice_exporter_down_v LISTENER_FIX
  fi
  while IFS= read -r line; do
    read -r _ _ _ local_addr _ <<<"$line"
    [[ $local_addr == "$want" ]] || continue
    found=1
    # without root, ss names no other user's process: only the socket unit's state is judged
    ((EUID == 0)) || continue
    if [[ $line != *'"systemd",pid=1,'* ]]; then
      LISTENER_PROBLEM="$want is listened on by $(listener_owners "$line"),\
 not by systemd for the ESS"
      LISTENER_FIX="stop that process, then sudo systemctl restart $LISTENER_SOCKET_UNIT\
 quantum-ess-exporter.service"
      return 1
    fi
  done < <(ss -Hltnp "sport = :${want##*:}" 2>/dev/null)
  ((found)) || LISTENER_PROBLEM=${LISTENER_PROBLEM:-"nothing listens on $want"}
  [[ -z $LISTENER_PROBLEM ]]
}

# listener_owners SS_LINE: the processes of one ss line, as "comm (PID n, user u)", or "an unknown
# process" when ss shows none (not root).
listener_owners() {
  local users=${1#*users:} out=() comm pid user
  while [[ $users =~ \(\"([^\"]*)\",pid=([0-9]+), ]]; do
    comm=${BASH_REMATCH[1]} pid=${BASH_REMATCH[2]}
    user=$(ps -o user= -p "$pid" 2>/dev/null) || user='?'
    out+=("${comm//[^[:alnum:]._-]/?} (PID $pid, user $user)")
    users=${users#*"pid=$pid,"}
  done
  ((${#out[@]})) || out=("an unknown process")
  local IFS=,
  printf '%s' "${out[*]}"
}
