#!/usr/bin/env bash
# provision.sh - runs INSIDE a sandbox: stand-in trading and monitor units (the real names), a real
# Redis as redis-server.service, then the ESS through its own installer, with a test configuration.
#
#   provision.sh [--no-ess]     --no-ess: only the stand-ins (to test the installer itself)
set -Eeuo pipefail
export LC_ALL=C

readonly SRC=/opt/quantum-ess-src
readonly WORKER=$SRC/sandbox/fixtures/stand-in-worker.sh

# The units of the documented configuration (the one list; sandbox/units.ts is its TypeScript copy):
# stand-ins for all but redis-server, which is a real Redis.
conf_list() { sed -n "s/^$1=\"\\(.*\\)\"\$/\\1/p" "$SRC/deploy/ess.conf"; }
read -ra TRADING <<<"$(conf_list TRADING_UNITS)"
read -ra MONITORS <<<"$(conf_list MONITOR_UNITS)"
STAND_IN_MONITORS=()
for u in "${MONITORS[@]}"; do [[ $u == redis-server ]] || STAND_IN_MONITORS+=("$u"); done
readonly TRADING STAND_IN_MONITORS

stand_in_unit() { # stand_in_unit NAME ROLE
  cat >"/etc/systemd/system/$1.service" <<EOF
[Unit]
Description=Stand-in $2 service $1

[Service]
ExecStart=$WORKER $1
Restart=always
RestartSec=200ms

[Install]
WantedBy=multi-user.target
EOF
}

main() {
  local with_ess=1 u
  [[ ${1:-} == --no-ess ]] && with_ess=0
  for u in "${TRADING[@]}"; do stand_in_unit "$u" trading; done
  for u in "${STAND_IN_MONITORS[@]}"; do stand_in_unit "$u" monitor; done
  # Debian's redis-server.service expects /etc/redis; the sandbox has an empty /etc.
  cat >/etc/systemd/system/redis-server.service <<'EOF'
[Unit]
Description=Redis (sandbox)

[Service]
ExecStart=/usr/bin/redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no \
  --daemonize no
Restart=always

[Install]
WantedBy=multi-user.target
EOF
  systemctl daemon-reload
  systemctl enable --quiet --now "${TRADING[@]/%/.service}" "${STAND_IN_MONITORS[@]/%/.service}" \
    redis-server.service
  ((with_ess)) || return 0

  # /usr is the host's, read-only; the installer writes its production paths under /usr/local
  mountpoint -q /usr/local || mount -t tmpfs -o mode=0755,size=128m ess-usr-local /usr/local
  install -d -m 0755 /etc/quantum
  sed -e 's/^START_SETTLE_SEC=.*/START_SETTLE_SEC=0.3/' "$SRC/deploy/ess.conf" \
    >/etc/quantum/ess.conf
  bash "$SRC/deploy/install.sh" >/dev/null
}

main "$@"
