#!/usr/bin/env bash
# install.sh - install, update or remove the Quantum ESS root side (controller, units, latch
# drop-ins).
#
#   install.sh [install] [--runbook-root DIR]
#                                   idempotent: install or update, then arm the switch; with
#                                   --runbook-root also DIR/ops/ess_controller.sh and
#                                   DIR/scripts/proof_ess.sh, where the operator's runbook calls
#                                   them
#   install.sh uninstall [--force]  remove units, drop-ins and programs; keep config, state and
#                                   audit
#
# The configuration (/etc/quantum/ess.conf, or ESS_CONFIG) is validated before anything is
# changed.
set -Eeuo pipefail
export LC_ALL=C
umask 022

SRC=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
readonly SRC
# Installed from a checkout: the programs under /usr/local, the exporter run by node from dist/.
# The Debian package ships this tree under /usr/share/quantum-ess with a layout file beside this
# script (packaging/build-deb.sh writes it) that moves the programs to /usr/lib and /usr/sbin and
# names the package's single-executable exporter (EXPORTER_BIN); its maintainer scripts run this
# installer, so both ways install the same way.
LIBEXEC=/usr/local/lib/quantum-ess SBIN_DIR=/usr/local/sbin EXPORTER_BIN=""
SYSUSERS=/etc/sysusers.d/quantum-ess.conf PACKAGED=0
# shellcheck source=/dev/null # the package's layout file: those four assignments
if [[ -f $SRC/package-layout ]]; then source "$SRC/package-layout"; PACKAGED=1; fi
readonly LIBEXEC SBIN_DIR EXPORTER_BIN SYSUSERS PACKAGED
readonly SBIN_LINK=$SBIN_DIR/ess_controller.sh
readonly PROOF_LINK=$SBIN_DIR/proof_ess.sh
# the fleet tool (trip through Alertmanager, fleet status; not the stop path, in its own folder of
# the checkout): root not needed, also for a workstation
readonly FLEET_TOOL=$SRC/../fleet/ess_fleet.sh FLEET_LINK=$SBIN_DIR/ess_fleet.sh
readonly UNITS=(quantum-ess.path quantum-ess-trigger.service quantum-ess.service
  quantum-ess-trip.path quantum-ess-trip.service quantum-ess-restore.service quantum-ess-guard.path
  quantum-ess-guard.service quantum-ess-guard.timer quantum-ess-drill.timer
  quantum-ess-drill.service quantum-ess-drill-start.service quantum-ess-trip-sweep.timer quantum-ess-watchdog.timer
  quantum-ess-watchdog.service)
readonly FULL_DRILL_UNITS=(quantum-ess-drill-full.timer quantum-ess-drill-full.service)
readonly EXPORTER_UNIT=quantum-ess-exporter.service
readonly EXPORTER_SOCKET=quantum-ess-exporter.socket
readonly EXPORTER_DEFAULT_LISTEN=127.0.0.1:10170
readonly EXPORTER_DIR=$LIBEXEC-exporter
readonly EXPORTER_CONFIG=/etc/quantum/ess-exporter.json
readonly EXPORTER_WEB_CONFIG=/etc/quantum/ess-web-config.yml
readonly WEBHOOK_TOKEN=/etc/quantum/ess-webhook.token
readonly EX_USAGE=64
readonly LATCH_DESCRIPTION_MARK="(Quantum ESS latch:"
RUNBOOK_ROOT=""
TRUST_OWNERS=()
ALLOW_MISSING_UNITS=0

# shellcheck source=deploy/lib/load.sh
source "$SRC/lib/load.sh"
load_all
ESS_PROG=install # the libraries' messages start with the installer's name, as its own do
readonly UNIT_DIR=$ESS_UNIT_DIR DROPIN_NAME=$ESS_DROPIN_NAME
readonly TMPFILES=$TMPFILES_CONF
readonly INSTALLED_CONFIG=$LIBEXEC/ess.conf.installed

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }

# exporter_ip_allow LISTEN: who may reach the exporter's address (its socket unit's IPAddressAllow=):
# loopback, and off loopback the networks of the interfaces holding the address (every interface's
# for a wildcard address), where Prometheus and the Alertmanagers of a fleet usually are. Others are
# added with a drop-in (docs/exporter.md). The address may not be up yet (FreeBind): then said.
exporter_ip_allow() {
  local host=${1%:*} nets net allow=localhost
  host=${host#[}
  host=${host%]}
  case $host in
    127.* | ::1) nets="" ;;
    0.0.0.0 | ::) nets=$(ip -o addr show scope global | awk '{print $4}') ;;
    *)
      nets=$(ip -o addr show to "$host" | awk '{print $4}')
      [[ -n $nets ]] || say "WARNING: no interface holds $host yet: the exporter is reachable" \
        "from loopback only until the installer runs again, or a drop-in allows Prometheus" \
        "and Alertmanager (docs/exporter.md)" >&2
      ;;
  esac
  for net in $nets; do allow+=" $net"; done
  printf '%s\n' "$allow"
}

# install_render TEMPLATE: substitute @KEY@ placeholders from the validated config
install_render() {
  [[ -n ${EXPORTER_LISTEN:-} ]] || exporter_listen_load
  [[ -n ${EXPORTER_IP_ALLOW:-} ]] || EXPORTER_IP_ALLOW=$(exporter_ip_allow "$EXPORTER_LISTEN")
  local flag_dir=${CFG[FLAG_FILE]%/*} audit_dir=${CFG[AUDIT_FILE]%/*}
  sed -e "s|@FLAG_FILE@|${CFG[FLAG_FILE]}|g" -e "s|@FLAG_DIR@|$flag_dir|g" \
    -e "s|@LIBEXEC@|$LIBEXEC|g" -e "s|@EXPORTER_DIR@|$EXPORTER_DIR|g" \
    -e "s|@SPOOL_DIR@|${CFG[SPOOL_DIR]}|g" -e "s|@STATE_DIR@|${CFG[STATE_DIR]}|g" \
    -e "s|@AUDIT_DIR@|$audit_dir|g" -e "s|@EXPORTER_LISTEN@|$EXPORTER_LISTEN|g" \
    -e "s|@EXPORTER_IP_ALLOW@|$EXPORTER_IP_ALLOW|g" \
    -e "s|@DRILL_FULL_ONCALENDAR@|${CFG[DRILL_FULL_ONCALENDAR]}|g" \
    -e "s|@EXPORTER_EXEC@|${EXPORTER_BIN:-/usr/bin/node $EXPORTER_DIR/dist/src/main.js}|g" "$1"
}

# install_spool_mount_unit: the name of the spool's mount unit.
install_spool_mount_unit() { systemd-escape -p --suffix=mount -- "${CFG[SPOOL_DIR]}"; }

# install_render_units DIR: every unit file and latch drop-in as it will be installed, into DIR
# (also used by the tests to run systemd-analyze verify on exactly what gets installed).
install_render_units() {
  local dir=$1 unit u
  for unit in "${UNITS[@]}" "$EXPORTER_UNIT" "$EXPORTER_SOCKET"; do
    install_render "$SRC/systemd/$unit" >"$dir/$unit"
  done
  if [[ -n ${CFG[DRILL_FULL_ONCALENDAR]} ]]; then
    for unit in "${FULL_DRILL_UNITS[@]}"; do install_render "$SRC/systemd/$unit" >"$dir/$unit"; done
  fi
  install_render "$SRC/systemd/quantum-ess-spool.mount.in" >"$dir/$(install_spool_mount_unit)"
  for u in "${TRADING[@]}"; do
    mkdir -p "$dir/$u.d"
    {
      install_render "$SRC/systemd/latch-dropin.conf"
      install_latch_description "$u"
    } >"$dir/$u.d/$DROPIN_NAME"
  done
}

# install_latch_description UNIT: the drop-in's Description= line. A refused start says only
# "Assertion failed"; systemd names the unit by its description in that journal line and on the
# first line of `systemctl status UNIT`, so the description says that the ESS latch refused it and
# what to run. The unit's own description is kept in front (without what an earlier install
# added; the unit's name when systemd does not know it yet).
install_latch_description() {
  local u=$1 desc=""
  desc=$(systemctl show -P Description -- "$u" 2>/dev/null) || desc=""
  desc=${desc%%" $LATCH_DESCRIPTION_MARK"*}
  [[ -n $desc ]] || desc=$u
  desc+=" $LATCH_DESCRIPTION_MARK \"Assertion failed\" means the ESS is ACTIVE; run"
  desc+=" sudo ess_controller.sh status; then sudo ess_controller.sh exempt ${u%.service} --for 30m"
  desc+=" --reason WHY, or deactivate)"
  printf 'Description=%s\n' "${desc//%/%%}"
}

# install_programs STAGE_DIR: the programs, the configuration validated by this install, and a copy
# of every unit and drop-in it installs (STAGE_DIR's, and the spool's mount), from which
# `ess_controller.sh rearm` repairs the switch without the installer (which refuses while latched).
install_programs() {
  local stage
  install -d -m 0755 "${LIBEXEC%/*}"
  stage=$(mktemp -d "$LIBEXEC.new.XXXXXX")
  install -m 0755 "$SRC/ess_controller.sh" "$SRC/proof_ess.sh" "$FLEET_TOOL" "$stage/"
  install -d -m 0755 "$stage/lib" "$stage/units"
  install -m 0644 "$SRC"/lib/*.sh "$stage/lib/"
  # the shipped on-trip actions, disabled: enabled by a copy into ACTIONS_DIR (actions.sh)
  install -d -m 0755 "$stage/actions" "$ACTIONS_DIR"
  install -m 0755 "$SRC"/actions/* "$stage/actions/"
  cp -R -- "$1/." "$stage/units/"
  install_render "$SRC/systemd/quantum-ess-spool.mount.in" \
    >"$stage/units/$(install_spool_mount_unit)"
  chmod -R u=rwX,go=rX "$stage/units"
  # the configuration validated by this install: what activate stops with if ess.conf is later
  # broken
  install -m 0644 "${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}" "$stage/${INSTALLED_CONFIG##*/}"
  # ... and the values it validated, which the controller loads without parsing them again
  (umask 022 && config_snapshot >"$stage/${INSTALLED_CONFIG##*/}.bash")
  sync -- "$stage/${INSTALLED_CONFIG##*/}" "$stage/${INSTALLED_CONFIG##*/}.bash"
  chmod 0755 "$stage"
  # swap the whole directory so a running controller never sees a half-copied library
  rm -rf "$LIBEXEC.old"
  if [[ -d $LIBEXEC ]]; then mv "$LIBEXEC" "$LIBEXEC.old"; fi
  mv "$stage" "$LIBEXEC"
  rm -rf "$LIBEXEC.old"
  install -d -m 0755 "${SBIN_LINK%/*}"
  ln -sfn "$LIBEXEC/ess_controller.sh" "$SBIN_LINK"
  ln -sfn "$LIBEXEC/proof_ess.sh" "$PROOF_LINK"
  ln -sfn "$LIBEXEC/ess_fleet.sh" "$FLEET_LINK"
}

# The exporter is the unprivileged, optional side: installed only from a built checkout (npm ci &&
# npm run build), with just the production packages; the stop path never depends on it.
# From the package, the exporter is its single executable.
exporter_built() {
  if [[ -n $EXPORTER_BIN ]]; then [[ -x $EXPORTER_BIN ]]; return; fi
  [[ -f $SRC/../dist/src/main.js && -d $SRC/../node_modules ]]
}

# exporter_run ARGS...: the installed exporter (the package's executable, or node and dist/), with
# ARGS; before install_exporter has copied dist/, the checkout's (exporter_run --source ARGS...).
exporter_run() {
  if [[ -n $EXPORTER_BIN ]]; then
    [[ $1 != --source ]] || shift
    "$EXPORTER_BIN" "$@"
  elif [[ $1 == --source ]]; then
    node "$SRC/../dist/src/main.js" "${@:2}"
  else
    node "$EXPORTER_DIR/dist/src/main.js" "$@"
  fi
}

# exporter_listen_load: EXPORTER_LISTEN, the exporter's listen address, which its socket unit binds:
# from its configuration (the installed one, else the shipped one; the exporter validates the rest),
# else the default. systemd binds an IP address, never a host name.
exporter_listen_load() {
  local conf=$EXPORTER_CONFIG listen=""
  [[ -e $conf ]] || conf=$SRC/ess-exporter.json
  if command -v node >/dev/null; then
    # shellcheck disable=SC2016 # a JavaScript template, not a shell expansion
    listen=$(node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      process.stdout.write(typeof c.listen === "string" ? c.listen : "")' "$conf" 2>/dev/null) ||
      true
  else
    # a host without Node (the package): the "listen" line as the shipped file writes it; the
    # exporter's --check-config judges the whole file before anything is changed
    listen=$(sed -n 's/^ *"listen": *"\([^"]*\)",\{0,1\} *$/\1/p' "$conf" | head -n 1)
  fi
  EXPORTER_LISTEN=${listen:-$EXPORTER_DEFAULT_LISTEN}
  [[ $EXPORTER_LISTEN =~ ^([0-9.]+|\[[0-9A-Fa-f:.]+\]):[0-9]+$ ]] ||
    die "the exporter's listen '$EXPORTER_LISTEN' ($conf) is not IP:PORT; its socket unit binds" \
      "an address, not a host name"
}

install_exporter() {
  local repo stage dir rel
  if [[ -n $EXPORTER_BIN ]]; then # the package's executable is already in place
    install_exporter_config
    return
  fi
  repo=$(cd "$SRC/.." && pwd)
  install -d -m 0755 "${EXPORTER_DIR%/*}"
  stage=$(mktemp -d "$EXPORTER_DIR.new.XXXXXX")
  cp -r "$repo/dist" "$repo/package.json" "$stage/"
  while IFS= read -r dir; do
    rel=${dir#"$repo"/}
    [[ $rel == node_modules/* ]] || continue
    mkdir -p "$stage/${rel%/*}"
    cp -r "$dir" "$stage/$rel"
  done < <(cd "$repo" && npm ls --omit=dev --all --parseable 2>/dev/null)
  chmod -R a+rX,go-w "$stage"
  rm -rf "$EXPORTER_DIR.old"
  if [[ -d $EXPORTER_DIR ]]; then mv "$EXPORTER_DIR" "$EXPORTER_DIR.old"; fi
  mv "$stage" "$EXPORTER_DIR"
  rm -rf "$EXPORTER_DIR.old"
  install_exporter_config
}

# install_exporter_config: the shipped exporter configuration and web configuration when there is
# none, then checked.
install_exporter_config() {
  if [[ ! -e $EXPORTER_CONFIG ]]; then
    install -m 0644 "$SRC/ess-exporter.json" "$EXPORTER_CONFIG"
  fi
  if [[ ! -e $EXPORTER_WEB_CONFIG ]]; then
    install -m 0644 "$SRC/ess-web-config.yml" "$EXPORTER_WEB_CONFIG"
  fi
  exporter_run --config.file "$EXPORTER_CONFIG" --web.config.file "$EXPORTER_WEB_CONFIG" \
    --check-config >/dev/null
}

# The bearer token Alertmanager must present; readable by root and the exporter's group only.
create_webhook_token() {
  [[ -s $WEBHOOK_TOKEN ]] && return 0
  (
    umask 027
    head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$WEBHOOK_TOKEN.new"
  )
  chgrp quantum-ess "$WEBHOOK_TOKEN.new"
  mv "$WEBHOOK_TOKEN.new" "$WEBHOOK_TOKEN"
  say "created the webhook token $WEBHOOK_TOKEN (give it to Alertmanager as credentials_file)"
}

# "active" only means node was started; wait until it actually serves, and until the process that
# listens on the port is the unit's own: any local user may bind a loopback port first and answer
# with made-up metrics.
# With TLS configured it serves HTTPS; the certificate is not checked here (the PID is). Any HTTP
# answer counts (the web config may ask the scrape for basic authentication); where it requires a
# client certificate, which the installer has none of, the listening PID alone.
wait_for_exporter() {
  local listen i pid check scheme=https code any=0
  check=$(exporter_run --config.file "$EXPORTER_CONFIG" --web.config.file "$EXPORTER_WEB_CONFIG" \
    --check-config)
  listen=$(sed -n 's/^ *"listen": "\(.*\)",\{0,1\}$/\1/p' <<<"$check")
  ! grep -q '^ *"tls": null,\{0,1\}$' <<<"$check" || scheme=http
  ! grep -q '^ *"client_auth_type": "Require' <<<"$check" || any=1
  for ((i = 0; i < 100; i++)); do
    pid=$(systemctl show -P MainPID "$EXPORTER_UNIT")
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 1 "$scheme://$listen/metrics") || true
    if [[ $pid != 0 ]] && ss -Hltnp "sport = :${listen##*:}" 2>/dev/null | grep -q "pid=$pid," &&
      [[ $code != 000 || $any == 1 ]]; then
      return 0
    fi
    sleep 0.1
  done
  die "$EXPORTER_UNIT does not serve $scheme://$listen/metrics itself" \
    "(another process may hold the port: ss -ltnp); see journalctl -u $EXPORTER_UNIT"
}

# The spool's own tmpfs, mounted before tmpfiles creates the directories in it. A spool that is
# already a mount point (this mount, or one the host provides) is left as it is. A mount this run
# starts is undone if the install fails before the switch is in place (undo_spool_mount). Writes
# SPOOL_MOUNTED (the unit, 1 when its file is new).
place_spool_mount() { # place_spool_mount STAGE_DIR
  local unit new=0
  unit=$(install_spool_mount_unit)
  [[ -e $UNIT_DIR/$unit ]] || new=1
  install -m 0644 "$1/$unit" "$UNIT_DIR/$unit.new"
  mv -f "$UNIT_DIR/$unit.new" "$UNIT_DIR/$unit"
  rm -f "$1/$unit"
  install -d -m 0750 "${CFG[SPOOL_DIR]}"
  systemctl daemon-reload
  systemctl enable --quiet "$unit"
  mountpoint -q "${CFG[SPOOL_DIR]}" && return 0
  SPOOL_MOUNTED=("$unit" "$new")
  systemctl start "$unit"
}

# undo_spool_mount: after a failed install, the spool mount this run started is stopped again (and
# its unit removed when this run created it): no tmpfs is left over what lies under the spool.
declare -ga SPOOL_MOUNTED=()
undo_spool_mount() {
  ((${#SPOOL_MOUNTED[@]})) || return 0
  local unit=${SPOOL_MOUNTED[0]}
  systemctl stop "$unit" 2>/dev/null || true
  if ((SPOOL_MOUNTED[1])); then
    systemctl disable --quiet "$unit" 2>/dev/null || true
    rm -f "$UNIT_DIR/$unit"
    systemctl daemon-reload || true
  fi
  printf 'install: failed: the spool mount %s this run started is undone\n' "$unit" >&2
}

# The full drill stops trading briefly: scheduled only when DRILL_FULL_ONCALENDAR names a window.
place_full_drill() {
  if [[ -n ${CFG[DRILL_FULL_ONCALENDAR]} ]]; then
    systemctl enable --quiet --now quantum-ess-drill-full.timer
    say "full drill scheduled: OnCalendar=${CFG[DRILL_FULL_ONCALENDAR]}"
  else
    systemctl disable --quiet --now quantum-ess-drill-full.timer 2>/dev/null || true
    rm -f "$UNIT_DIR/quantum-ess-drill-full.timer" "$UNIT_DIR/quantum-ess-drill-full.service"
  fi
}

# place_watchdog: the dead man's switch's timer runs only with WATCHDOG_ACTION alert or trip (off:
# not a process more on the host). An install starts no grace period (new watchdog keys do, at the
# next check): re-running it must not extend a silence already counted. Turned off, its records go:
# turned on again later, it starts from its first check.
place_watchdog() {
  if [[ ${CFG[WATCHDOG_ACTION]} != off ]]; then
    systemctl enable --quiet --now quantum-ess-watchdog.timer
    say "dead man's switch on: WATCHDOG_ACTION=${CFG[WATCHDOG_ACTION]} after\
 ${CFG[WATCHDOG_MAX_SILENCE_SEC]} s without a heartbeat"
  else
    systemctl disable --quiet --now quantum-ess-watchdog.timer 2>/dev/null || true
    rm -f /run/quantum-ess/watchdog.json /run/quantum-ess/watchdog/{seen,grace,acted}
  fi
}

# The runbook's own paths (ops/ess_controller.sh, scripts/proof_ess.sh under the trading checkout):
# small root-owned programs that run the installed ones (runbook.sh says why not links). Checked by
# install_check_runbook_root before anything changed; the drill checks them with the same rule.
place_runbook_links() {
  local f dir n
  [[ -n $RUNBOOK_ROOT ]] || return 0
  for f in "${RUNBOOK_FILES[@]}"; do
    dir=$RUNBOOK_ROOT/${f%/*}
    [[ -d $dir ]] || install -d -m 0755 "$dir"
    runbook_program_text "$LIBEXEC" "$f" >"$dir/.${f#*/}.ess-new"
    chmod 0755 "$dir/.${f#*/}.ess-new"
    mv -fT "$dir/.${f#*/}.ess-new" "$RUNBOOK_ROOT/$f"
  done
  {
    printf '%s\n' "$RUNBOOK_ROOT"
    for n in "${TRUST_OWNERS[@]}"; do printf '%s\n' "$n"; done
  } >"$LIBEXEC/runbook-root"
  say "runbook paths: $RUNBOOK_ROOT/ops/ess_controller.sh, $RUNBOOK_ROOT/scripts/proof_ess.sh" \
    "${TRUST_OWNERS[*]:+(trusted owners: ${TRUST_OWNERS[*]})}"
}

# install_check_runbook_root: --runbook-root names a directory that exists and that nobody but root
# (and the trusted owners) can write on the way to; else refused with the command that fixes it.
install_check_runbook_root() {
  [[ -n $RUNBOOK_ROOT ]] || return 0
  RUNBOOK_ROOT=$(readlink -m -- "$RUNBOOK_ROOT")
  local safe=1
  runbook_check "$RUNBOOK_ROOT" "${TRUST_OWNERS[@]}" || safe=0
  ((safe)) || runbook_problem "$RUNBOOK_ROOT" "$SRC/install.sh" "${TRUST_OWNERS[@]}"
  # a directory still to be made gets both steps at once: the directories above it are checked now
  if [[ ! -d $RUNBOOK_ROOT ]]; then
    local msg="--runbook-root $RUNBOOK_ROOT does not exist. Nothing was changed. Check the spelling;"
    msg+=" if it is right, create it first: sudo install -d -m 0755 $RUNBOOK_ROOT"
    ((safe)) || msg+="; then, since $RUNBOOK_CAUSE: ${RUNBOOK_FIX#fix: }"
    die "$msg"
  fi
  ((safe)) || die "refused: $RUNBOOK_CAUSE. Nothing was changed. ${RUNBOOK_FIX^}"
}

# remove_dropins [KEEP_UNIT...]: every latch drop-in except those of the units named
remove_dropins() {
  local f unit keep
  for f in "$UNIT_DIR"/*.d/"$DROPIN_NAME"; do
    [[ -e $f ]] || continue
    unit=${f%.d/*}
    unit=${unit##*/}
    for keep in "$@"; do [[ $unit != "$keep" ]] || continue 2; done
    rm -f "$f"
    rmdir "${f%/*}" 2>/dev/null || true
  done
}

# Each unit file and drop-in is replaced by rename, never deleted first: a daemon-reload at any
# moment (or an installer that dies half-way) still finds a latch drop-in on every trading unit.
place_units() { # place_units STAGE_DIR
  local f rel
  while IFS= read -r -d '' f; do
    rel=${f#"$1"/}
    [[ $rel != */* ]] || install -d -m 0755 "$UNIT_DIR/${rel%/*}"
    install -m 0644 "$f" "$UNIT_DIR/$rel.new"
    mv -f "$UNIT_DIR/$rel.new" "$UNIT_DIR/$rel"
  done < <(find "$1" -type f -print0)
}

# remove_wiring_overrides: what changes the ESS's own switch units besides their files, moved
# aside into STATE_DIR/removed-overrides/TIME (kept as evidence): drop-in directories
# (systemctl edit, set-property, --runtime), runtime copies or masks in /run/systemd/system, and
# UNIT.requires/ (another unit enabled with RequiredBy= one of them: its failure would fail their
# start).
remove_wiring_overrides() {
  local u d f stamp backup=""
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  for u in "${WIRING_UNITS[@]}"; do
    for d in "$UNIT_DIR" /run/systemd/system /etc/systemd/system.control \
      /run/systemd/system.control; do
      for f in "$d/$u.d" "$d/$u" "$d/$u.requires"; do
        [[ $f != "$UNIT_DIR/$u" ]] || continue # the installed file itself
        [[ -e $f || -L $f ]] || continue
        backup=${CFG[STATE_DIR]}/removed-overrides/$stamp
        install -d -m 0700 "$backup"
        mv -- "$f" "$backup/${f//\//_}"
        say "removed $f (an override of the ESS's own unit $u; kept in $backup)"
      done
    done
  done
}

# record_wiring: the switch as systemd loaded it from the files just placed (contract/README.md
# section 1), the record status compares with. The ESS's units take no drop-ins and come from
# UNIT_DIR: those two are recorded as placed, whatever systemd shows (a drop-in that applies to them
# by type or prefix, such as quantum-.service.d, is named by status until it is removed).
record_wiring() {
  local u key record
  wiring_read || die "systemctl show failed: the switch's wiring could not be recorded"
  for u in "${WIRING_UNITS[@]}"; do
    [[ ${WIRING_FOUND[$u|LoadState]:-} == loaded ]] ||
      say "WARNING: $u is ${WIRING_FOUND[$u|LoadState]:-unreadable} after the daemon-reload"
    key=$u\|DropInPaths
    [[ -z ${WIRING_FOUND[$key]:-} ]] ||
      say "WARNING: drop-ins apply to the ESS's own unit $u: ${WIRING_FOUND[$key]}; remove them"
    WIRING_FOUND[$key]=""
    WIRING_FOUND[$u|FragmentPath]=$UNIT_DIR/$u
    [[ $u != *.path ]] || continue
    for key in ${WIRING_DEPS//,/ }; do record_wiring_deps "$u" "$key"; done
  done
  record=$(wiring_record_text) || die "the switch's wiring could not be read (busctl)"
  printf '%s\n' "$record" >"$LIBEXEC/$WIRING_RECORD_NAME.new"
  sync -- "$LIBEXEC/$WIRING_RECORD_NAME.new"
  mv -f -- "$LIBEXEC/$WIRING_RECORD_NAME.new" "$LIBEXEC/$WIRING_RECORD_NAME"
}

# record_wiring_deps UNIT PROPERTY (record_wiring's): only what systemd and the ESS's own files
# give a service is recorded as installed; another unit that can hold its start (required,
# ordered before it, conflicting) is named and left out, so status says not armed until it is gone.
# Writes WIRING_FOUND.
record_wiring_deps() {
  local key=$1\|$2 w kept=() listed
  read -ra listed <<<"${WIRING_FOUND[$key]:-}"
  for w in "${listed[@]}"; do
    if wiring_dep_expected "$2" "$w"; then kept+=("$w"); continue; fi
    say "WARNING: $1 has $2=$w, which is not the ESS's: its start can wait on or fail with" \
      "that unit; not recorded, so status says not armed until it is removed"
  done
  WIRING_FOUND[$key]=${kept[*]}
}

# latched_anywhere: the latch of the installed configuration or of the new one is set. Installing
# then could move the flag, drop a unit's drop-in or restart the switch under a live incident:
# refused. Writes LATCHED_BY.
# shellcheck disable=SC2016 # print_latch is expanded by the inner bash
latched_anywhere() {
  local conf flag state
  local print_latch='source "$1"; load_all; config_load;'
  print_latch+=' printf "%s %s\n" "${CFG[FLAG_FILE]}" "${CFG[STATE_DIR]}"'
  for conf in "$INSTALLED_CONFIG" "${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}"; do
    [[ -r $conf ]] || continue
    read -r flag state < <(ESS_CONFIG=$conf bash -c "$print_latch" _ "$SRC/lib/load.sh" \
      2>/dev/null) || continue
    if [[ -e $flag || -e $state/latched ]]; then
      LATCHED_BY="$flag or $state/latched (from $conf)"
      return 0
    fi
  done
  for flag in "${CFG[FLAG_FILE]}" "${CFG[STATE_DIR]}/latched"; do
    if [[ -e $flag ]]; then LATCHED_BY=$flag; return 0; fi
  done
  return 1
}

# check_exporter_config: the exporter's own verdict on its configuration, before anything is
# written.
check_exporter_config() {
  local conf=$EXPORTER_CONFIG ess=${ESS_CONFIG:-$ESS_DEFAULT_CONFIG} web=$EXPORTER_WEB_CONFIG
  [[ -e $conf ]] || conf=$SRC/ess-exporter.json
  [[ -e $ess ]] || ess=$SRC/ess.conf
  [[ -e $web ]] || web=$SRC/ess-web-config.yml
  exporter_run --source --config.file "$conf" --web.config.file "$web" --ess-config "$ess" \
    --check-config >/dev/null ||
    die "the exporter refuses its configuration ($conf, see above); nothing was changed"
}

# do_install: install or update. Every check comes before the first change; units and drop-ins are
# replaced by rename, so a failure half-way leaves every trading unit latched as before.
#   install_check         configuration, latch, calendar, --runbook-root (refused: nothing changed)
#   install_stage         units rendered into STAGE; group, token, spool mount, tmpfiles
#   install_exporter      the exporter's files (when built; validates its configuration)
#   install_place         programs, units, drop-ins, timers; the switch re-armed
#   install_start_exporter  the exporter serving (when built)
# Writes STAGE (removed at exit).
do_install() {
  local with_exporter=0
  install_check
  STAGE=$(mktemp -d)
  trap 'rc=$?; rm -rf "$STAGE"; ((rc == 0)) || undo_spool_mount' EXIT
  install_stage "$STAGE"
  if exporter_built; then
    install_exporter # validates its configuration: a failure stops here, before any unit is touched
    with_exporter=1
  else
    rm -f "$STAGE/$EXPORTER_UNIT" "$STAGE/$EXPORTER_SOCKET"
    say "exporter not built (run: npm ci && npm run build); installing the root side only"
  fi
  install_place "$STAGE"
  SPOOL_MOUNTED=() # the switch is in place and watches the spool: a later failure keeps the mount
  ((!with_exporter)) || install_start_exporter
  "$SBIN_LINK" status || true
}

# install_check: the configuration (ESS_CONFIG, /etc/quantum/ess.conf, or the shipped default, which
# is then installed), and everything that refuses the install before any change. Writes CFG TRADING
# MONITOR ORDER LATCHED_BY.
install_check() {
  local conf=${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}
  if [[ -e $conf ]]; then
    config_load # exits with a message naming the bad key; nothing has been changed yet
  else
    ESS_CONFIG=$SRC/ess.conf config_load
  fi
  if latched_anywhere; then
    die "the ESS is ACTIVE ($LATCHED_BY exists): installing now could release latched units." \
      "Nothing was changed. To repair the switch under the latch: sudo ess_controller.sh rearm." \
      "Deactivate first only once the incident is over: sudo ess_controller.sh deactivate" \
      "--reason \"...\" starts the trading units (add --no-start to keep them stopped)."
  fi
  if [[ -n ${CFG[DRILL_FULL_ONCALENDAR]} ]] &&
    ! systemd-analyze calendar "${CFG[DRILL_FULL_ONCALENDAR]}" >/dev/null 2>&1; then
    die "DRILL_FULL_ONCALENDAR: '${CFG[DRILL_FULL_ONCALENDAR]}' is not a calendar expression" \
      "systemd accepts (systemd-analyze calendar). Nothing was changed."
  fi
  install_check_trading_units
  install_keep_runbook_root
  install_check_runbook_root
  if [[ ! -e $conf ]]; then
    install -d -m 0755 "${conf%/*}"
    install -m 0644 "$SRC/ess.conf" "$conf"
    say "installed default configuration $conf"
  fi
}

# install_keep_runbook_root: dpkg runs the package's installer without options (an upgrade): the
# runbook paths an operator added (install.sh --runbook-root) stay, as recorded, checked again.
install_keep_runbook_root() {
  ((PACKAGED)) && [[ -z $RUNBOOK_ROOT ]] || return 0
  runbook_read "$LIBEXEC" || return 0
  RUNBOOK_ROOT=$RUNBOOK_ROOT_RECORDED
  TRUST_OWNERS=("${RUNBOOK_TRUSTED[@]}")
}

# install_check_trading_units: every trading unit loaded by systemd. One it has not (a typo in
# TRADING_UNITS, a package not installed yet) is a unit no trigger would stop or latch while the
# real one trades: refused (exit 78) naming the key, the unit and the nearest existing name, unless
# --allow-missing-units (staging a host before its trading packages): then said, and the verdict
# stays not-armed until the unit exists or the key is fixed. Writes LOAD (units_read_states).
install_check_trading_units() {
  local u near missing=() why
  units_read_states "${TRADING[@]}" || return 0 # systemd unreadable: the re-arm below judges it
  for u in "${TRADING[@]}"; do
    verdict_not_loaded "$u" || continue
    units_suggest_v near "$u"
    why="$u (LoadState ${LOAD[$u]}${near:+; did you mean $near?})"
    missing+=("$why")
  done
  ((${#missing[@]} > 0)) || return 0
  if ((ALLOW_MISSING_UNITS)); then
    say "warning: TRADING_UNITS names units systemd has not loaded: ${missing[*]};" \
      "installing anyway (--allow-missing-units): the ESS stays NOT ARMED until they exist" \
      "or TRADING_UNITS is fixed"
    return 0
  fi
  printf 'install: %s %s: %s. %s %s %s\n' "TRADING_UNITS in" "${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}" \
    "names units systemd has not loaded, which no trigger would stop or latch: ${missing[*]}" \
    "Nothing was changed. Fix: sudoedit ${ESS_CONFIG:-$ESS_DEFAULT_CONFIG} (TRADING_UNITS), then" \
    "re-run the installer; to install before the trading units exist, add --allow-missing-units" \
    "(the ESS stays NOT ARMED until they do)." >&2
  exit "$EX_CONFIG"
}

# install_stage STAGE_DIR: the units rendered; the system user and group, the webhook token, the
# spool's mount and the tmpfiles directories in place.
install_stage() {
  local stage=$1 u
  install_render_units "$stage"

  install -d -m 0755 "${SYSUSERS%/*}" /etc/tmpfiles.d
  # the package ships its own copy (SYSUSERS in /usr/lib/sysusers.d), left as dpkg placed it
  cmp -s "$SRC/systemd/quantum-ess.sysusers" "$SYSUSERS" ||
    install -m 0644 "$SRC/systemd/quantum-ess.sysusers" "$SYSUSERS"
  systemd-sysusers "$SYSUSERS"
  # the group and the token are harmless to create; the exporter's configuration names the token
  # file
  if exporter_built; then
    create_webhook_token
    check_exporter_config
  fi
  place_spool_mount "$stage"
  install_render "$SRC/systemd/quantum-ess.tmpfiles" >"$stage/tmpfiles.conf"
  install -m 0644 "$stage/tmpfiles.conf" "$TMPFILES"
  systemd-tmpfiles --create "$TMPFILES"

  rm -f "$stage/tmpfiles.conf"
}

# install_place STAGE_DIR: the programs and the units in place, the timers started, the switch
# re-armed.
install_place() {
  install_programs "$1"
  # where the fixes the drill names run from: this installer, with these options
  printf '%s\n' "$SRC/install.sh" >"$LIBEXEC/installer"
  place_units "$1"
  remove_dropins "${TRADING[@]}"
  remove_wiring_overrides
  systemctl daemon-reload
  systemctl enable --quiet quantum-ess.path quantum-ess-trip.path quantum-ess-guard.path \
    quantum-ess-restore.service quantum-ess-drill.timer quantum-ess-trip-sweep.timer \
    quantum-ess-guard.timer
  record_wiring
  systemctl start quantum-ess-drill.timer quantum-ess-trip-sweep.timer quantum-ess-guard.timer
  place_full_drill
  place_watchdog
  place_runbook_links
  install_rearm
  say "installed: $SBIN_LINK, units ${UNITS[*]}, latch drop-in on ${TRADING[*]}"
}

# install_rearm: the switch armed from the units just placed (ess_controller.sh rearm); what the
# controller says is said in the installer's voice, once, and only when it did not arm. With
# --allow-missing-units, trading units systemd has not loaded are the one thing it may leave
# unarmed (said by install_check_trading_units and by the status that ends the install).
install_rearm() {
  local out line
  out=$("$SBIN_LINK" rearm 2>&1) && return 0
  if ((ALLOW_MISSING_UNITS)); then
    ESS_LIB=$LIBEXEC/lib latch_observe # judged as the installed controller judges it
    ((!VERDICT_ARMED_BUT_MISSING)) || return 0
  fi
  while IFS= read -r line; do say "${line#ess: }"; done <<<"$out" >&2
  die "the switch is not armed after placing the units (see above); fix: sudo ess_controller.sh\
 rearm, and re-run the installer if it names a unit file"
}

# install_start_exporter: the exporter (re)started and serving, on the address systemd holds for it.
# The socket is (re)bound only when systemd does not hold the address already (first install, an
# exporter that bound the port itself, a new listen address): the one moment the port is free; a
# process that took it is named and the install fails.
install_start_exporter() {
  local listen
  exporter_listen_load
  listen=$EXPORTER_LISTEN
  systemctl enable --quiet "$EXPORTER_SOCKET" "$EXPORTER_UNIT"
  if ! listener_check "$listen" || [[ $(listener_address) != "$listen" ]]; then
    systemctl stop "$EXPORTER_UNIT" "$EXPORTER_SOCKET"
    if ! systemctl start "$EXPORTER_SOCKET"; then
      listener_check "$listen" || true
      die "$EXPORTER_SOCKET cannot bind $listen: $LISTENER_PROBLEM" \
        "(ss -ltnp; journalctl -u $EXPORTER_SOCKET)"
    fi
  fi
  listener_check "$listen" || die "the exporter's address is not the ESS's: $LISTENER_PROBLEM"
  systemctl restart "$EXPORTER_UNIT"
  wait_for_exporter
  say "exporter: $EXPORTER_UNIT running as user quantum-ess on $listen, held by $EXPORTER_SOCKET" \
    "($EXPORTER_CONFIG)"
}

# install_load_for_removal: the configuration whose paths a removal or a latch check uses: ess.conf,
# or, when it does not load (an edit in progress must not make the package impossible to remove),
# the installed copy, the one in force; with none installed (a package whose configure step refused
# that ess.conf), the shipped defaults.
install_load_for_removal() {
  local conf=${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}
  if (config_load) >/dev/null 2>&1; then
    config_load
  elif [[ -f $INSTALLED_CONFIG ]]; then
    say "$conf does not load; using the configuration in force, $INSTALLED_CONFIG"
    ESS_CONFIG=$INSTALLED_CONFIG config_load
  elif ((PACKAGED)); then
    say "$conf does not load and nothing was installed from it; using the shipped defaults"
    ESS_CONFIG=$SRC/ess.conf config_load
  else
    config_load
  fi
}

# do_latch_check: for the package's maintainer scripts (before an upgrade or a removal): exit 1
# while the ESS is active, naming the command that ends the incident (never run for the operator);
# 0 otherwise. Changes nothing.
do_latch_check() {
  install_load_for_removal
  latched_anywhere || return 0
  die "the ESS is ACTIVE ($LATCHED_BY exists): upgrading or removing it now could release" \
    "latched units. Nothing was changed. Once the incident is over: sudo ess_controller.sh" \
    "deactivate --reason \"...\" (add --no-start to keep the trading units stopped), then retry."
}

# The switch: every unit that acts on a trip (the flag's and the spool's watchers, the guard and its
# sweep, the spool's sweep, the dead man's switch, the drills). A removal stops these first, under the lock, and
# then looks again (uninstall_trip_seen) before anything is deleted.
readonly SWITCH_UNITS=(quantum-ess.path quantum-ess-trip.path quantum-ess-guard.path
  quantum-ess-guard.timer quantum-ess-trip-sweep.timer quantum-ess-watchdog.timer quantum-ess-drill.timer
  "${FULL_DRILL_UNITS[0]}")
# the services a trip or a tamper runs in: one of them starting or stopping is a stop under way
readonly STOP_SERVICES=(quantum-ess-trigger.service quantum-ess.service quantum-ess-trip.service
  quantum-ess-guard.service quantum-ess-watchdog.service quantum-ess-drill-start.service)
# how long a removal waits for a stop under way to show its flag or to end
readonly UNINSTALL_SETTLE_SEC=10
SWITCH_ENABLED=() SWITCH_ACTIVE=() SWITCH_STOPPED_AT="" STOP_BUSY=""

# uninstall_switch_stop: the switch's units disabled and stopped; which were enabled and which were
# running is kept, to bring the switch back as it was (uninstall_switch_restore). Writes
# SWITCH_ENABLED SWITCH_ACTIVE SWITCH_STOPPED_AT.
uninstall_switch_stop() {
  local u state
  for u in "${SWITCH_UNITS[@]}"; do
    [[ $(systemctl show -P LoadState -- "$u" 2>/dev/null) == loaded ]] || continue
    state=$(systemctl show -P UnitFileState -- "$u" 2>/dev/null) || state=""
    [[ $state != enabled ]] || SWITCH_ENABLED+=("$u")
    state=$(systemctl show -P ActiveState -- "$u" 2>/dev/null) || state=""
    [[ $state != @(active|activating) ]] || SWITCH_ACTIVE+=("$u")
  done
  ((${#SWITCH_ENABLED[@]} == 0)) || systemctl disable --quiet -- "${SWITCH_ENABLED[@]}" || true
  ((${#SWITCH_ACTIVE[@]} == 0)) || systemctl stop -- "${SWITCH_ACTIVE[@]}" || true
  SWITCH_STOPPED_AT=$(date -u +%H:%M:%S)
}

# uninstall_switch_restore: the switch back as uninstall_switch_stop found it; the path units, once
# started, act on what is there (a flag, requests in the spool).
uninstall_switch_restore() {
  local ok=1
  ((${#SWITCH_ENABLED[@]} == 0)) || systemctl enable --quiet -- "${SWITCH_ENABLED[@]}" || ok=0
  ((${#SWITCH_ACTIVE[@]} == 0)) || systemctl start -- "${SWITCH_ACTIVE[@]}" || ok=0
  ((ok)) || say "the switch could not all be started again (see above); fix:" \
    "sudo ess_controller.sh rearm" >&2
}

# uninstall_stop_under_way: 0 when a stop service is starting or stopping, named in STOP_BUSY.
uninstall_stop_under_way() {
  local u
  for u in "${STOP_SERVICES[@]}"; do
    STOP_BUSY=$u
    [[ $(systemctl show -P ActiveState -- "$u" 2>/dev/null) != @(activating|deactivating) ]] ||
      return 0
  done
  STOP_BUSY=""
  return 1
}

# uninstall_trip_seen (the lock held, the switch stopped): 0 when a trip is there or under way: the
# flag, the persisted latch, a request waiting in the spool, or a stop service still running after
# UNINSTALL_SETTLE_SEC (one that writes its flag meanwhile is seen by its flag). Writes LATCHED_BY.
uninstall_trip_seen() {
  local end=$((SECONDS + UNINSTALL_SETTLE_SEC))
  while :; do
    latched_anywhere && return 0
    if spool_has_requests; then
      LATCHED_BY="trip requests waiting in ${CFG[SPOOL_DIR]}/incoming"
      return 0
    fi
    uninstall_stop_under_way || return 1
    ((SECONDS < end)) || break
    time_nap 0.05
  done
  LATCHED_BY="$STOP_BUSY, still running after ${UNINSTALL_SETTLE_SEC}s (a stop under way)"
  return 0
}

# uninstall_refuse: the removal refused while the ESS is active, naming what made it so (LATCHED_BY).
uninstall_refuse() {
  die "the ESS is ACTIVE ($LATCHED_BY); nothing was removed. Deactivate first, once the" \
    "incident is over (sudo ess_controller.sh deactivate --reason \"...\"), or use --force" \
    "(which releases the latch)."
}

# uninstall_quiesce: under the ESS's lock (so no activation is half-way through its record), the
# removal refused while the ESS is active; then the switch stopped and everything looked at again: a
# trip that ran, or was requested, before the switch stopped brings the switch back (it acts on what
# is there), keeps the latch drop-ins and refuses the removal. The lock stays held until the
# installer exits. With --force, none of this: the latch is released.
uninstall_quiesce() {
  ((!${ARGS_VAL[force]:-0})) || return 0
  latch_take_lock || die "another ESS operation holds ${CFG[LOCK_FILE]}; nothing was removed." \
    "Try again."
  ! latched_anywhere || uninstall_refuse
  uninstall_switch_stop
  ! uninstall_trip_seen || uninstall_switch_back
}

# uninstall_switch_back: a trip came while the switch was being removed: the switch back, acting on
# it, the latch drop-ins kept, the removal refused.
uninstall_switch_back() {
  uninstall_switch_restore
  say "a trip came during the removal: the switch is back and acts on it; the latch drop-ins" \
    "stay" >&2
  uninstall_refuse
}

# uninstall_report_ignored: a trip requested after the switch stopped was not acted upon (the
# trading units were not stopped): said, with what is left of it.
uninstall_report_ignored() {
  local left=()
  [[ ! -e ${CFG[FLAG_FILE]} ]] || left+=("${CFG[FLAG_FILE]}")
  ! spool_has_requests || left+=("requests in ${CFG[SPOOL_DIR]}/incoming")
  ((${#left[@]} > 0)) || return 0
  say "warning: a trip requested after the switch stopped (${SWITCH_STOPPED_AT:-?} UTC) was NOT" \
    "acted upon: the trading units were not stopped. Left: ${left[*]}. Stop them by hand if the" \
    "stop is meant; remove what is left before installing again." >&2
}

# uninstall_force_release: --force while latched (the switch stopped, the drop-ins gone: nothing
# latches any more): the record says so, with the state no longer active and an audit line
# (uninstall-force), and the flag and the persisted latch go, so that neither a reinstall nor the
# guard reads a latch that no longer holds.
uninstall_force_release() {
  local now id
  record_state_load
  latched_anywhere || [[ ${ST[ACTIVE]:-0} == 1 ]] || return 0
  id=${ST[FLAG_ID]:-}
  rm -f -- "${CFG[FLAG_FILE]}" "$(verdict_persisted_latch_path)"
  time_now_us_v now
  ST[ACTIVE]=0 ST[FLAG_ID]="" ST[DEA_TIME_US]=$now ST[DEA_ACTOR]="the installer's uninstall --force"
  ST[DEA_REASON]="uninstall --force" ST[DEA_RESULT]=latch-cleared
  ST[DEA_DETAIL]="activation ${id:-unknown} released by the installer's uninstall --force"
  record_state_save || say "warning: could not write the state file in ${CFG[STATE_DIR]}"
  record_audit_append uninstall-force "\"id\":$(record_json_str "$id"),\
\"detail\":\"the latch released by the installer's uninstall --force\"" ||
    say "warning: AUDIT WRITE FAILED (${CFG[AUDIT_FILE]})"
  record_log warning "latch of activation ${id:-unknown} released by the installer's uninstall --force;" \
    "trading units may start"
  record_redis_marker clear || true
  say "released the latch of activation ${id:-unknown} (recorded in ${CFG[STATE_DIR]} and" \
    "${CFG[AUDIT_FILE]})"
}

# do_uninstall: the switch stopped under the lock and the ESS looked at again (uninstall_quiesce),
# then the latch drop-ins, units and programs removed; the configuration, state, spool and audit
# trail kept. A trip requested once the drop-ins are gone is not acted upon, and said.
do_uninstall() {
  install_load_for_removal
  uninstall_quiesce
  # from here no trip is acted upon: the latch drop-ins go first, as long as nothing latched
  ! latched_anywhere || ((${ARGS_VAL[force]:-0})) || uninstall_switch_back
  remove_dropins
  systemctl disable --now --quiet quantum-ess-restore.service "${SWITCH_UNITS[@]}" 2>/dev/null ||
    true
  systemctl disable --now --quiet "$EXPORTER_UNIT" "$EXPORTER_SOCKET" 2>/dev/null || true
  systemctl stop quantum-ess-trigger.service quantum-ess.service quantum-ess-trip.service \
    quantum-ess-guard.service 2>/dev/null || true
  ((!${ARGS_VAL[force]:-0})) || uninstall_force_release
  local unit
  unit=$(install_spool_mount_unit)
  systemctl disable --now --quiet "$unit" 2>/dev/null || true
  rm -f "$UNIT_DIR/$unit"
  for unit in "${UNITS[@]}" "${FULL_DRILL_UNITS[@]}" "$EXPORTER_UNIT" "$EXPORTER_SOCKET"; do
    rm -f "$UNIT_DIR/$unit"
  done
  local f
  if runbook_read "$LIBEXEC"; then
    for f in "${RUNBOOK_FILES[@]}"; do
      ! runbook_file_ok "$RUNBOOK_ROOT_RECORDED" "$LIBEXEC" "$f" ||
        rm -f -- "$RUNBOOK_ROOT_RECORDED/$f"
    done
  fi
  rm -f "$TMPFILES" "$SBIN_LINK" "$PROOF_LINK" "$FLEET_LINK"
  rm -rf "$LIBEXEC" "$EXPORTER_DIR"
  systemctl daemon-reload
  say "removed the ESS units, latch drop-ins and programs"
  say "kept: ${ESS_CONFIG:-$ESS_DEFAULT_CONFIG}, $EXPORTER_CONFIG, $EXPORTER_WEB_CONFIG," \
    "$WEBHOOK_TOKEN, ${CFG[STATE_DIR]}, ${CFG[AUDIT_FILE]}, ${CFG[SPOOL_DIR]} and $SYSUSERS" \
    "(evidence and config are never deleted)"
  ((${ARGS_VAL[force]:-0})) || uninstall_report_ignored
}

# install_usage: the --help text.
install_usage() {
  cat <<'EOF'
Usage: install.sh [install] [--runbook-root DIR [--trust-owner NAME]...] [--allow-missing-units]
                                                install or update (idempotent), then arm the
                                                switch
       install.sh uninstall [--force]           remove units, drop-ins and programs; keep config,
                                                state and audit trail
       install.sh render-units DIR              the units and drop-ins as they would be installed
       install.sh latch-check                   exit 1 while the ESS is active (the package's
                                                upgrade and removal refuse then)

  --runbook-root DIR  also DIR/ops/ess_controller.sh and DIR/scripts/proof_ess.sh, where the
                      operator's runbook calls them (e.g. /home/qt/quantum_trader); refused
                      when a directory on the way is writable by someone but root
  --trust-owner NAME  ... unless that someone is NAME (a user or group, repeatable): NAME may
                      then change what the runbook runs as root
  --allow-missing-units
                      install although a trading unit of TRADING_UNITS does not exist (a host
                      staged before its trading packages): refused otherwise (exit 78, naming
                      the unit and the nearest existing name); the ESS stays NOT ARMED until
                      the unit exists or TRADING_UNITS is fixed
  --force             uninstall while the ESS is active (releases the latch)

Exit codes (the same for every ESS command): 0 ok; 1 failed or refused (the ESS is active, the
exporter does not serve; the message says which); 64 usage; 77 not root; 78 bad configuration.
EOF
}

# install_usage_error MESSAGE: what is wrong, in one line, and where the whole usage is (exit 64)
install_usage_error() {
  printf "install: %s (see 'install.sh --help')\n" "$1" >&2
  exit "$EX_USAGE"
}

# install_options CMD: what args_parse read for CMD checked (a usage error, exit 64, names the
# first thing that does not fit); writes RUNBOOK_ROOT TRUST_OWNERS ALLOW_MISSING_UNITS.
install_options() {
  local cmd=$1 problem name each words=1
  local -A takes=([install]="runbook-root trust-owner allow-missing-units" [uninstall]=force
    [render-units]="" [latch-check]="")
  [[ " ${ARGS_BARE[*]} " != *" runbook-root "* ]] || install_runbook_root_error
  [[ " ${ARGS_BARE[*]} " != *" trust-owner "* ]] || install_trust_owner_error
  [[ $cmd != render-units ]] || words=2
  args_problem_v problem "$cmd" "$words"
  [[ -z $problem ]] || install_usage_error "$problem"
  for name in "${!ARGS_VAL[@]}"; do
    [[ " ${takes[$cmd]} " == *" $name "* ]] || install_usage_error "unknown option '--$name' for $cmd"
  done
  if [[ -v ARGS_VAL[runbook-root] ]]; then
    [[ -n ${ARGS_VAL[runbook-root]} && ${ARGS_VAL[runbook-root]} != -* ]] ||
      install_runbook_root_error
    RUNBOOK_ROOT=${ARGS_VAL[runbook-root]}
  fi
  for each in "${ARGS_EACH[@]}"; do
    [[ $each == trust-owner=* ]] || continue
    [[ ${each#*=} =~ ^[a-z_][a-z0-9_.-]*[$]?$ ]] || install_trust_owner_error
    TRUST_OWNERS+=("${each#*=}")
  done
  [[ -z ${ARGS_VAL[allow-missing-units]:-} ]] || ALLOW_MISSING_UNITS=1
}

install_runbook_root_error() {
  install_usage_error "--runbook-root needs a directory (e.g. /home/qt/quantum_trader)"
}

install_trust_owner_error() {
  install_usage_error "--trust-owner needs a user or group name (e.g. qt)"
}

# main [COMMAND] [OPTIONS]: options in any order, --opt=VALUE too (args.sh), as for the controller.
main() {
  local cmd=install argv=("$@")
  args_parse "runbook-root trust-owner" "allow-missing-units force" "$@"
  if ((ARGS_HELP)) || [[ ${ARGS_WORDS[0]:-} == help ]]; then
    install_usage
    return 0
  fi
  # a mistyped option first: its value would otherwise be taken for the command
  ((${#ARGS_UNKNOWN[@]} == 0)) || install_usage_error "unknown option '${ARGS_UNKNOWN[0]}'"
  ((${#ARGS_WORDS[@]} == 0)) || cmd=${ARGS_WORDS[0]}
  [[ $cmd == @(install|uninstall|render-units|latch-check) ]] ||
    install_usage_error "unknown command '$cmd'"
  if [[ $cmd == render-units ]]; then # for tests: no root needed
    ((${#ARGS_WORDS[@]} == 2)) || install_usage_error "render-units needs one directory"
    install_options "$cmd"
    config_load
    install_render_units "${ARGS_WORDS[1]}"
    return 0
  fi
  install_options "$cmd"
  ((EUID == 0)) || advice_not_root "$SRC/install.sh" "$cmd" "${argv[@]}"
  case $cmd in
    install) do_install ;;
    uninstall) do_uninstall ;;
    latch-check) do_latch_check ;;
  esac
}

main "$@"
