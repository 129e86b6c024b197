#!/usr/bin/env bash
# newer-package.sh DEB VERSION OUT - a newer build of the package for the upgrade test, in seconds
# rather than the minutes of a full build (most of it xz): DEB's tree with the exporter built again
# with VERSION stamped in (its --version and ess_build_info say VERSION), a marker line in the root
# side's status library, the package's version set to VERSION, its md5sums written again, and a fast
# compression.
set -Eeuo pipefail
export LC_ALL=C
umask 022

readonly MARKED=usr/share/quantum-ess/deploy/lib/status.sh
# deb_md5sums, and REPO (the checkout)
# shellcheck source=../../packaging/build-deb.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../packaging/build-deb.sh"

main() {
  local deb=$1 version=$2 out=$3 work exe
  work=$(mktemp -d)
  WORK=$work
  trap 'rm -rf "$WORK"' EXIT
  dpkg-deb -R "$deb" "$work/root"
  exe=$(cd "$REPO" && ESS_PACKAGE_VERSION=$version node packaging/build-exporter.mjs "$work/exporter" | tail -n 1)
  install -m 0755 "$exe" "$work/root/usr/bin/quantum-ess-exporter"
  printf '# quantum-ess %s\n' "$version" >>"$work/root/$MARKED"
  sed -i "s/^Version: .*/Version: $version/" "$work/root/DEBIAN/control"
  deb_md5sums "$work/root"
  dpkg-deb --root-owner-group -Zgzip -z1 --build "$work/root" "$out" >/dev/null
  printf '%s\n' "$out"
}

main "$@"
