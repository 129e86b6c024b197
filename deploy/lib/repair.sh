# shellcheck shell=bash
# repair: `rearm` puts the switch back as the installer left it, also while the ESS is active, and
# without ever starting or unlatching a trading unit. The installer keeps a copy of every unit file
# and drop-in it installed (REPAIR_COPY, the configuration in force rendered); rearm restores each
# that differs (a unit copied over from the repository's template, a unit masked in /etc), moves
# aside what overrides the ESS's own root units (a drop-in in <unit>.d, a mask or copy elsewhere in
# systemd's search path) into STATE_DIR/quarantine, reloads systemd, re-arms the path units, makes
# the repaired trigger re-verify a latch that is set, and judges the result with the verdict.
# Every file is replaced by rename (a kill at any point leaves each file whole, the latch drop-ins
# never missing); a drop-in on another unit too (service.d/, a prefix) is named, never touched.
# Needs config.sh time.sh record.sh units.sh verdict.sh latch.sh deactivate.sh, from load.sh.
# Writes REPAIR_DONE REPAIR_LEFT, each function the ones its comment names.

# the installer's copy of what it installed, beside the libraries (install.sh install_programs):
# found by repair_run
declare -g REPAIR_COPY=""
readonly REPAIR_UNIT_DIR=/etc/systemd/system
# the writable directories of systemd's unit search path (systemd.unit(5)) but REPAIR_UNIT_DIR: a
# file or mask of an ESS unit in the first four overrides the installed one; in the others it is
# shadowed by it, and only misleads. (A copy in /usr, read-only, is shadowed too; generator output
# is made again at every reload.)
readonly REPAIR_OTHER_DIRS=(/etc/systemd/system.control /run/systemd/system.control
  /run/systemd/transient /run/systemd/generator.early /etc/systemd/system.attached
  /run/systemd/system /run/systemd/system.attached)
declare -ga REPAIR_DONE=() REPAIR_LEFT=()

# repair_own_units: the ESS's root units (the installed copy's unit files but the exporter's and
# the spool's mount, which an operator may tune): nothing but the ESS may change them.
repair_own_units() {
  local f
  for f in "$REPAIR_COPY"/quantum-ess*; do
    [[ -f $f ]] || continue
    f=${f##*/}
    [[ $f == quantum-ess-exporter.service || $f == *.mount ]] || printf '%s\n' "$f"
  done
}

# repair_restore_files: every file of the installed copy back in REPAIR_UNIT_DIR where it differs
# or is not a regular file (a symlink to /dev/null: masked). Writes REPAIR_DONE REPAIR_LEFT.
repair_restore_files() {
  local f rel dst
  while IFS= read -r -d '' f; do
    rel=${f#"$REPAIR_COPY"/}
    dst=$REPAIR_UNIT_DIR/$rel
    if [[ -f $dst && ! -L $dst ]] && cmp -s -- "$f" "$dst"; then continue; fi
    if install -d -m 0755 "${dst%/*}" && install -m 0644 "$f" "$dst.new" &&
      mv -fT -- "$dst.new" "$dst"; then
      REPAIR_DONE+=("restored $dst")
    else
      REPAIR_LEFT+=("could not restore $dst")
    fi
  done < <(find "$REPAIR_COPY" -type f -print0 | sort -z)
}

# repair_quarantine PATH: PATH moved into STATE_DIR/quarantine/<time>/ under its own path, kept as
# evidence. Writes REPAIR_DONE REPAIR_LEFT.
declare -g REPAIR_STAMP=""
repair_quarantine() {
  local dir
  [[ -n $REPAIR_STAMP ]] || printf -v REPAIR_STAMP '%(%Y%m%dT%H%M%SZ)T' -1
  dir=${CFG[STATE_DIR]}/quarantine/$REPAIR_STAMP${1%/*}
  if install -d -m 0700 "$dir" && mv -fT -- "$1" "$dir/${1##*/}"; then
    REPAIR_DONE+=("moved aside $1 (kept in $dir)")
  else
    REPAIR_LEFT+=("could not move aside $1")
  fi
}

# repair_overrides: what overrides an ESS root unit moved aside: drop-ins systemd loads for it
# (DropInPaths) from a directory of its own, files or masks of it anywhere else in the search path,
# and the links of other units that require it (UNIT.requires/, an enabled RequiredBy=: their
# failure fails its start). Writes REPAIR_DONE REPAIR_LEFT.
repair_overrides() {
  local u d p paths
  while IFS= read -r u; do
    for d in "${REPAIR_OTHER_DIRS[@]}"; do
      [[ ! -e $d/$u && ! -L $d/$u ]] || repair_quarantine "$d/$u"
    done
    for d in "$REPAIR_UNIT_DIR" "${REPAIR_OTHER_DIRS[@]}"; do
      for p in "$d/$u.requires"/*; do
        [[ ! -e $p && ! -L $p ]] || repair_quarantine "$p"
      done
    done
    paths=$(units_sctl show -P DropInPaths -- "$u" 2>/dev/null) || paths=""
    for p in $paths; do
      if [[ ${p%/*} == */"$u.d" ]]; then
        repair_quarantine "$p"
      else
        REPAIR_LEFT+=("$p applies to $u and to other units: remove it by hand")
      fi
    done
  done < <(repair_own_units)
}

# repair_run (lock held): the repair, in that order; 0 when systemd took it. Writes REPAIR_DONE
# REPAIR_LEFT REPAIR_COPY, and the unit states (deactivate_rearm_switch).
repair_run() {
  REPAIR_DONE=() REPAIR_LEFT=()
  REPAIR_COPY=$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)/units
  if [[ ! -d $REPAIR_COPY ]]; then
    REPAIR_LEFT+=("no installed copy of the units in $REPAIR_COPY (installed by an older"
      "installer): only the path units were re-armed; re-run the installer once deactivated")
  else
    repair_restore_files
    repair_overrides
  fi
  units_sctl daemon-reload || { REPAIR_LEFT+=("systemctl daemon-reload failed"); return 1; }
  ((${#REPAIR_DONE[@]} == 0)) ||
    units_sctl restart -- "${SWITCH_PATH_UNITS[@]}" quantum-ess-guard.path 2>/dev/null || true
  deactivate_rearm_switch || REPAIR_LEFT+=("${SWITCH_PATH_UNITS[*]} could not be started")
  # a latch set while the trigger was broken: the repaired one re-verifies it now (stops only)
  if [[ -e ${CFG[FLAG_FILE]} ]] && ((${#REPAIR_DONE[@]} > 0)); then
    units_sctl restart --no-block -- "$TRIGGER_UNIT" 2>/dev/null ||
      REPAIR_LEFT+=("$TRIGGER_UNIT could not be restarted to re-verify the latch")
  fi
  ((${#REPAIR_LEFT[@]} == 0))
}
