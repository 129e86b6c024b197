#!/usr/bin/env bash
# build-deb.sh - the Debian package quantum-ess_VERSION_ARCH.deb, built with dpkg-deb alone (no
# debhelper): the root side as a tree the package's maintainer scripts install with deploy/install.sh
# (which reads the layout file written here), the exporter as one executable (build-exporter.mjs),
# the shipped ess.conf and exporter config as conffiles, and the docs. Prints the package's path as
# its last line.
#
#   build-deb.sh [OUT_DIR]      default: build/ of the checkout
#
# ESS_PACKAGE_VERSION overrides the version of package.json, the package's and the exporter's;
# SOURCE_DATE_EPOCH fixes the dates (default: the last commit's).
set -Eeuo pipefail
export LC_ALL=C
umask 022

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
readonly PKG=quantum-ess
readonly SHARE=usr/share/quantum-ess DOC=usr/share/doc/quantum-ess
readonly MAINTAINER="Quantum Trader SRE <sre@quantum-trader.example>"

die() { printf 'build-deb: %s\n' "$*" >&2; exit 1; }

# deb_version: the package's version (package.json, or ESS_PACKAGE_VERSION), checked as dpkg would
deb_version() {
  local v=${ESS_PACKAGE_VERSION:-}
  [[ -n $v ]] || v=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$REPO/package.json")
  [[ $v =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "'$v' is not a version dpkg accepts (package.json)"
  printf '%s\n' "$v"
}

# deb_root_side ROOT: deploy/ and the fleet tool under /usr/share/quantum-ess, with the layout file
# that makes install.sh install from there
deb_root_side() {
  local root=$1 d=$1/$SHARE/deploy
  install -d -m 0755 "$d/lib" "$d/systemd" "$d/actions" "$root/$SHARE/fleet"
  install -m 0755 "$REPO"/deploy/{install.sh,ess_controller.sh,proof_ess.sh} "$d/"
  install -m 0755 "$REPO"/deploy/actions/* "$d/actions/"
  install -m 0644 "$REPO"/deploy/{ess.conf,ess-exporter.json,ess-web-config.yml} "$d/"
  install -m 0644 "$REPO"/deploy/lib/*.sh "$d/lib/"
  install -m 0644 "$REPO"/deploy/systemd/* "$d/systemd/"
  install -m 0755 "$REPO/fleet/ess_fleet.sh" "$root/$SHARE/fleet/"
  cat >"$d/package-layout" <<'LAYOUT'
# Written by packaging/build-deb.sh: where install.sh puts things when the Debian package runs it.
LIBEXEC=/usr/lib/quantum-ess
SBIN_DIR=/usr/sbin
EXPORTER_BIN=/usr/bin/quantum-ess-exporter
SYSUSERS=/usr/lib/sysusers.d/quantum-ess.conf
LAYOUT
  install -d -m 0755 "$root/usr/lib/sysusers.d" "$root/etc/quantum"
  install -m 0644 "$REPO/deploy/systemd/quantum-ess.sysusers" \
    "$root/usr/lib/sysusers.d/quantum-ess.conf"
  install -m 0644 "$REPO"/deploy/{ess.conf,ess-exporter.json,ess-web-config.yml} "$root/etc/quantum/"
}

# deb_exporter ROOT WORK: the single executable in /usr/bin; writes BUNDLED (its npm packages)
deb_exporter() {
  local exe
  exe=$(cd "$REPO" && node packaging/build-exporter.mjs "$2/exporter" | tail -n 1)
  install -d -m 0755 "$1/usr/bin"
  install -m 0755 "$exe" "$1/usr/bin/quantum-ess-exporter"
  BUNDLED=$2/exporter/bundled-packages.txt
}

# deb_manpage ROOT VERSION: quantum-ess-exporter(1), its --help text
deb_manpage() {
  local man=$1/usr/share/man/man1
  install -d -m 0755 "$man"
  {
    printf '.TH QUANTUM-ESS-EXPORTER 1 "" "quantum-ess %s" "Quantum ESS"\n' "$2"
    printf '.SH NAME\nquantum-ess-exporter \\- Prometheus exporter and Alertmanager webhook'
    printf ' receiver of the Quantum ESS\n.SH DESCRIPTION\n.nf\n'
    "$1/usr/bin/quantum-ess-exporter" --help | sed -e 's/\\/\\e/g' -e 's/^[.'"'"']/\\\&&/'
    printf '.fi\n.SH SEE ALSO\n/usr/share/doc/quantum-ess/README.md.gz\n'
  } | gzip -9n >"$man/quantum-ess-exporter.1.gz"
  chmod 0644 "$man/quantum-ess-exporter.1.gz"
}

# deb_overrides ROOT: the lintian tags that stay, each with why (README, Debian package)
deb_overrides() {
  install -d -m 0755 "$1/usr/share/lintian/overrides"
  install -m 0644 "$REPO/packaging/debian/lintian-overrides" \
    "$1/usr/share/lintian/overrides/$PKG"
}

# deb_docs ROOT VERSION DATE: README, copyright (with every npm package inside the exporter) and
# changelog, compressed as Debian wants them
deb_docs() {
  local root=$1 doc=$1/$DOC
  install -d -m 0755 "$doc"
  gzip -9n <"$REPO/README.md" >"$doc/README.md.gz"
  {
    sed -n '1,/^# bundled packages/p' "$REPO/packaging/debian/copyright" | sed '$d'
    printf 'Comment: npm packages bundled into usr/bin/quantum-ess-exporter (name version licence):\n'
    sed 's/^/ /' "$BUNDLED"
  } >"$doc/copyright"
  {
    printf '%s (%s) unstable; urgency=medium\n\n' "$PKG" "$2"
    printf '  * Build of revision %s.\n\n' "$(git -C "$REPO" rev-parse --short=12 HEAD)"
    printf ' -- %s  %s\n' "$MAINTAINER" "$3"
  } | gzip -9n >"$doc/changelog.gz"
  chmod 0644 "$doc"/*
}

# deb_control ROOT VERSION ARCH: DEBIAN/ (control, conffiles, md5sums, maintainer scripts)
deb_control() {
  local root=$1 size s
  install -d -m 0755 "$root/DEBIAN"
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s/@VERSION@/$2/" -e "s/@ARCH@/$3/" -e "s/@SIZE@/$size/" \
    -e "s/@MAINTAINER@/$MAINTAINER/" "$REPO/packaging/debian/control.in" >"$root/DEBIAN/control"
  printf '/etc/quantum/%s\n' ess.conf ess-exporter.json ess-web-config.yml >"$root/DEBIAN/conffiles"
  for s in preinst prerm postinst postrm; do
    install -m 0755 "$REPO/packaging/debian/$s" "$root/DEBIAN/$s"
  done
  deb_md5sums "$root"
  chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles"
}

# deb_md5sums ROOT: DEBIAN/md5sums, of every file but the conffiles
deb_md5sums() {
  (cd "$1" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' |
    sort -z | xargs -0 md5sum) >"$1/DEBIAN/md5sums"
  chmod 0644 "$1/DEBIAN/md5sums"
}

main() {
  local out=${1:-$REPO/build} version arch epoch date deb
  command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg-dev)"
  version=$(deb_version)
  arch=$(dpkg --print-architecture)
  epoch=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct)}
  export SOURCE_DATE_EPOCH=$epoch
  date=$(date -u -R -d "@$epoch")
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  local root=$WORK/root
  install -d -m 0755 "$root"
  deb_root_side "$root"
  deb_exporter "$root" "$WORK"
  deb_docs "$root" "$version" "$date"
  deb_manpage "$root" "$version"
  deb_overrides "$root"
  deb_control "$root" "$version" "$arch"
  find "$root" -exec touch -h -d "@$epoch" {} +
  install -d -m 0755 "$out"
  deb=$out/${PKG}_${version}_$arch.deb
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
  printf 'build-deb: %s (%s KiB)\n' "$deb" "$(du -k "$deb" | cut -f1)" >&2
  printf '%s\n' "$deb"
}

# sourced (a test's repacked build uses deb_md5sums): only the functions
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
