# shellcheck shell=bash disable=SC2034 # RUNBOOK_* are read by install.sh, advice.sh, proof_ess.sh
# runbook: the operator's runbook calls the ESS at its own paths, ROOT/ops/ess_controller.sh and
# ROOT/scripts/proof_ess.sh (install.sh --runbook-root ROOT), and runs them as root. Whoever can
# write a directory on the way to them can replace what root runs (rename the directory, put their
# own script there), and no file mode or ownership of the script itself prevents that. The installer
# and the drill apply this one rule and name the same fix:
#   every directory on the way (each prefix of the path as written and as resolved) is owned by
#   root or by a user the operator named as trusted (--trust-owner NAME), is group-writable only for
#   root's group or a trusted name, and is not writable by others (unless sticky, as /tmp).
# LIBEXEC/runbook-root records the root (first line) and the trusted names (one a line).
# Files at the runbook paths are small root-owned programs that run the installed ones (not links:
# the runbook's own `chmod 700 ops/ess_controller.sh` would follow a link and make the installed
# controller unreadable for every non-root `status`). No library needed. Writes RUNBOOK_*, each
# function the ones its comment names.

readonly RUNBOOK_FILES=(ops/ess_controller.sh scripts/proof_ess.sh)
declare -ga RUNBOOK_UNSAFE=() RUNBOOK_UNTRUSTED=() RUNBOOK_WORLD=()

# runbook_program_text LIBEXEC FILE: what install.sh writes at ROOT/FILE (FILE of RUNBOOK_FILES).
runbook_program_text() {
  printf '%s\n' '#!/bin/bash' \
    "# The operator's runbook path to the Quantum ESS (install.sh --runbook-root): it runs the" \
    "# installed program. Written by the installer; re-run it to change this file." \
    "exec $1/${2#*/} \"\$@\""
}

# runbook_dirs ROOT: every directory on the way to the runbook files, as written and as resolved,
# one per line (those that exist; ops/ and scripts/ may not yet).
runbook_dirs() {
  local path d sub
  for sub in ops scripts; do
    for path in "$1/$sub" "$(readlink -m -- "$1/$sub")"; do
      d=$path
      while [[ -n $d ]]; do
        [[ ! -d $d ]] || printf '%s\n' "$d"
        d=${d%/*}
      done
    done
  done | sort -u
  printf '/\n'
}

# runbook_check ROOT TRUSTED...: the directories someone other than root (or the trusted names)
# can write. Returns 1 when there are any. Writes RUNBOOK_UNSAFE ("DIR: why" each),
# RUNBOOK_UNTRUSTED (the owners and groups that would have to be trusted), RUNBOOK_WORLD (the
# directories writable by anyone).
runbook_check() {
  local root=$1 d uid user gid group mode
  shift
  RUNBOOK_UNSAFE=() RUNBOOK_UNTRUSTED=() RUNBOOK_WORLD=()
  while IFS= read -r d; do
    read -r uid user gid group mode < <(stat -L -c '%u %U %g %G %a' -- "$d") || continue
    mode=$((8#$mode))
    if ((uid != 0)) && ! runbook_trusted "$user" "$@"; then
      RUNBOOK_UNSAFE+=("$d is owned by $user")
      runbook_trusted "$user" "${RUNBOOK_UNTRUSTED[@]}" || RUNBOOK_UNTRUSTED+=("$user")
    fi
    if ((mode & 8#020 && gid != 0)) && ! runbook_trusted "$group" "$@"; then
      RUNBOOK_UNSAFE+=("$d is writable by group $group")
      runbook_trusted "$group" "${RUNBOOK_UNTRUSTED[@]}" || RUNBOOK_UNTRUSTED+=("$group")
    fi
    if ((mode & 8#002 && !(mode & 8#1000))); then
      RUNBOOK_UNSAFE+=("$d is writable by every user")
      RUNBOOK_WORLD+=("$d")
    fi
  done < <(runbook_dirs "$root")
  ((${#RUNBOOK_UNSAFE[@]} == 0))
}

# runbook_trusted NAME LIST...: NAME is one of LIST.
runbook_trusted() {
  local n=$1 t
  shift
  for t in "$@"; do [[ $t != "$n" ]] || return 0; done
  return 1
}

# runbook_problem ROOT INSTALLER TRUSTED... (after runbook_check failed): the cause, and the one
# command that fixes it: write access taken from everybody where anyone may write, and the
# installer again, trusting the owners named (their accounts can then change what the runbook runs
# as root: for the ESS they are as trusted as root). The owners of the user's project stay as they
# are. Writes RUNBOOK_CAUSE RUNBOOK_FIX.
declare -g RUNBOOK_CAUSE="" RUNBOOK_FIX=""
runbook_problem() {
  local root=$1 installer=$2 cmd="" n
  shift 2
  n="${RUNBOOK_UNSAFE[*]/%/,}"
  RUNBOOK_CAUSE="the runbook runs $root/ops/ess_controller.sh as root, but ${n%,}:"
  RUNBOOK_CAUSE+=" whoever can write there can replace what root runs"
  if ((${#RUNBOOK_WORLD[@]} > 0)); then
    cmd="sudo chmod o-w"
    for n in "${RUNBOOK_WORLD[@]}"; do printf -v cmd '%s %q' "$cmd" "$n"; done
    cmd+=" && "
  fi
  printf -v cmd '%ssudo %q --runbook-root %q' "$cmd" "$installer" "$root"
  for n in "$@" "${RUNBOOK_UNTRUSTED[@]}"; do printf -v cmd '%s --trust-owner %q' "$cmd" "$n"; done
  RUNBOOK_FIX="fix: $cmd"
  if ((${#RUNBOOK_UNTRUSTED[@]} > 0)); then
    RUNBOOK_FIX="if ${RUNBOOK_UNTRUSTED[*]// / and } may change what root runs there (the runbook"
    RUNBOOK_FIX+=" assumes so), fix: $cmd"
  fi
}

# runbook_read LIBEXEC: the runbook root and trusted names the installer recorded; 1 when none.
# Writes RUNBOOK_ROOT_RECORDED RUNBOOK_TRUSTED.
declare -g RUNBOOK_ROOT_RECORDED=""
declare -ga RUNBOOK_TRUSTED=()
runbook_read() {
  local lines=()
  RUNBOOK_ROOT_RECORDED="" RUNBOOK_TRUSTED=()
  mapfile -t lines 2>/dev/null <"$1/runbook-root" || return 1
  RUNBOOK_ROOT_RECORDED=${lines[0]:-}
  RUNBOOK_TRUSTED=("${lines[@]:1}")
  [[ -n $RUNBOOK_ROOT_RECORDED ]]
}

# runbook_file_ok ROOT LIBEXEC FILE: ROOT/FILE is the program the installer wrote there (not a link,
# not replaced).
runbook_file_ok() {
  local want got=""
  [[ -f $1/$3 && ! -L $1/$3 ]] || return 1
  want=$(runbook_program_text "$2" "$3")
  IFS= read -r -d '' -N 4096 got 2>/dev/null <"$1/$3" || true
  [[ $got == "$want"$'\n' ]]
}
