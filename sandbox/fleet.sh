#!/usr/bin/env bash
# fleet.sh - a fleet of trading hosts on one Linux bridge, for the fleet tests, the fleet benchmark
# and demos. Every host is a real systemd (a sandbox.sh container) in its own network namespace,
# wired to the bridge by a veth pair, with the stand-in trading units and the ESS and its exporter
# installed by deploy/install.sh (sandbox/provision.sh). One Prometheus scrapes every exporter; two
# Alertmanagers form a gossip cluster and notify every host's webhook. Prometheus and each
# Alertmanager are the real Debian binaries, each in its own network namespace on the bridge, so
# one of them can be killed and a host's link cut while the rest runs on.
#
#   fleet.sh up N                  boot N hosts (h1..hN) and the monitoring; waits until
#                                  Prometheus scrapes every host and the cluster has both peers
#   fleet.sh down                  tear everything down; idempotent, also after a failed up
#   fleet.sh link HOST down|up     cut or restore HOST's link (the bridge side of its veth)
#   fleet.sh alertmanager 1|2 kill|start
#   fleet.sh partition on|off      split the two Alertmanagers from each other (their packets to
#                                  each other are lost: no gossip), both still reaching every host
#   fleet.sh state                 print the path of the fleet's JSON description
#
# Addresses: the bridge 198.18.0.1/24, Prometheus .2:9090, Alertmanagers .3 and .4 (API :9093,
# gossip :9094), host hK at 198.18.0.(10+K), its exporter (webhook) on :10170 over HTTPS with a
# bearer token. Host identities are h1..hN; the first half of the hosts is in group "exec", the
# rest in "ai", and h1 also in "canary". A throwaway CA signs each host's certificate (its IP as
# subject alternative name); the fleet shares one token (as alerting/alertmanager.fleet.example.yml
# has it: one credentials file). The Alertmanagers run that example as shipped, its fleet receiver
# rendered by fleet/ess_fleet.sh render-receivers from Prometheus' targets file.
#
# ESS_SANDBOX_PREFIX prefixes the containers (as sandbox.sh does) and names the bridge, veths and
# namespaces, so that two checkouts never touch each other's fleet; only one fleet at a time can
# hold 198.18.0.0/24 on a machine, and `up` says so when another one does.
set -Eeuo pipefail
export LC_ALL=C

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SRC_DIR
readonly SANDBOX=$SRC_DIR/sandbox/sandbox.sh
readonly PREFIX=${ESS_SANDBOX_PREFIX:-}
readonly NET=198.18.0
readonly PROM_IP=$NET.2 AM_IPS=("$NET.3" "$NET.4")
readonly EXPORTER_PORT=10170 MAX_HOSTS=40

die() { printf 'fleet: %s\n' "$*" >&2; exit 1; }
say() { printf 'fleet: %s\n' "$*"; }

# fleet_tag: up to 6 [a-z0-9] derived from the prefix: part of every interface name (<= 15 chars).
fleet_tag() {
  local t
  t=$(printf '%s' "$PREFIX" | tr '[:upper:]' '[:lower:]' | tr -cd 'a-z0-9')
  if ((${#t} > 6)); then t=$(printf '%s' "$PREFIX" | sha256sum | cut -c1-6); fi
  printf '%s' "$t"
}
TAG=$(fleet_tag)
readonly TAG
readonly BRIDGE=qe$TAG-br STATE=/tmp/quantum-ess-fleet/${TAG:-default}

fleet_netns() { printf 'qe-%s-%s' "$TAG" "$1"; } # fleet_netns h3|prom|am1
fleet_veth() { printf 'qe%s-%s' "$TAG" "$1"; }   # the bridge side: qe<tag>-h3, -prom, -am1
fleet_host_ip() { printf '%s.%d' "$NET" "$((10 + $1))"; }
fleet_box() { printf 'fleet-h%d' "$1"; } # sandbox.sh adds the prefix
fleet_groups() { # fleet_groups K N: the JSON list of host K's groups
  local g=ai
  if (($1 <= ($2 + 1) / 2)); then g="exec"; fi
  if (($1 == 1)); then printf '["%s","canary"]' "$g"; else printf '["%s"]' "$g"; fi
}

# ---------------------------------------------------------------- network
fleet_bridge_up() {
  local holder
  holder=$(ip -4 -o addr show to "$NET.1/32" | awk '{print $2}')
  if [[ -n $holder && $holder != "$BRIDGE" ]]; then
    die "$NET.1 is held by $holder (another fleet? its fleet.sh down frees it)"
  fi
  # With br_netfilter on, bridged packets cross iptables' FORWARD chain: a DROP policy (Docker
  # sets one) would silently cut every host off. The fleet's own bridge is let through, and
  # down takes the rule away again.
  if [[ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null) == 1 ]] &&
    command -v iptables >/dev/null &&
    ! iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; then
    say "br_netfilter is on: iptables -I FORWARD -i $BRIDGE -o $BRIDGE -j ACCEPT"
    iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  fi
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

fleet_attach() { # fleet_attach NAME IP: a network namespace on the bridge with IP/24
  local ns veth
  ns=$(fleet_netns "$1") veth=$(fleet_veth "$1")
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" addr add "$2/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
}

# ---------------------------------------------------------------- credentials
fleet_openssl() { OPENSSL_CONF=/dev/null openssl "$@" 2>/dev/null; }

# fleet_credentials N: the CA, every host's key and certificate, the fleet's token, in $STATE/tls.
fleet_credentials() {
  local d=$STATE/tls k ip
  install -d -m 0700 "$d"
  fleet_openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -keyout "$d/ca.key" -out "$d/ca.crt" -subj "/CN=quantum-ess fleet test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
  for ((k = 1; k <= $1; k++)); do
    ip=$(fleet_host_ip "$k")
    fleet_openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$d/h$k.key" -out "$d/h$k.csr" -subj "/CN=h$k"
    fleet_openssl x509 -req -in "$d/h$k.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -days 30 \
      -set_serial "0x$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')" -out "$d/h$k.crt" \
      -extfile <(printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ip")
  done
  (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$d/token")
}

# ---------------------------------------------------------------- hosts
fleet_exporter_config() { # fleet_exporter_config K N
  cat <<EOF
{
  "listen": "$(fleet_host_ip "$1"):$EXPORTER_PORT",
  "ess_config_file": "/etc/quantum/ess.conf",
  "webhook_token_file": "/etc/quantum/ess-webhook.token",
  "trip_rules": [["ess_trip=\"true\""]],
  "host": "h$1",
  "groups": $(fleet_groups "$1" "$2")
}
EOF
}

# fleet_web_config: HTTPS with the host's certificate, in exporter-toolkit's web config format
fleet_web_config() {
  cat <<EOF
tls_server_config:
  cert_file: /etc/quantum/tls/webhook.crt
  key_file: /etc/quantum/tls/webhook.key
EOF
}

# fleet_host_files K ROOT N: the certificate, key and token where the exporter (user quantum-ess,
# created first as the installer would) can read them, and the exporter's configuration.
fleet_host_files() {
  local k=$1 root=$2 box
  box=$(fleet_box "$k")
  bash "$SANDBOX" exec "$box" systemd-sysusers \
    /opt/quantum-ess-src/deploy/systemd/quantum-ess.sysusers
  install -d -m 0755 "$root/etc/quantum" "$root/etc/quantum/tls"
  install -m 0644 "$STATE/tls/h$k.crt" "$root/etc/quantum/tls/webhook.crt"
  install -m 0640 "$STATE/tls/h$k.key" "$root/etc/quantum/tls/webhook.key"
  install -m 0640 "$STATE/tls/token" "$root/etc/quantum/ess-webhook.token"
  bash "$SANDBOX" exec "$box" chgrp quantum-ess /etc/quantum/tls/webhook.key \
    /etc/quantum/ess-webhook.token
  fleet_exporter_config "$k" "$3" >"$root/etc/quantum/ess-exporter.json"
  fleet_web_config >"$root/etc/quantum/ess-web-config.yml"
}

fleet_host_up() { # fleet_host_up K N: boot, configure and provision host K (its own log)
  local k=$1 n=$2 box
  box=$(fleet_box "$k")
  bash "$SANDBOX" up "$box" --netns "/run/netns/$(fleet_netns "h$k")"
  fleet_host_files "$k" "$(bash "$SANDBOX" root "$box")" "$n"
  bash "$SANDBOX" exec "$box" bash /opt/quantum-ess-src/sandbox/provision.sh
}

fleet_hosts_up() { # fleet_hosts_up N: every host in parallel; names the ones that failed
  local n=$1 k failed=() pids=()
  for ((k = 1; k <= n; k++)); do
    fleet_attach "h$k" "$(fleet_host_ip "$k")"
    fleet_host_up "$k" "$n" >"$STATE/logs/h$k.log" 2>&1 &
    pids[k]=$!
  done
  for ((k = 1; k <= n; k++)); do wait "${pids[k]}" || failed+=("h$k"); done
  if ((${#failed[@]} > 0)); then
    for k in "${failed[@]}"; do tail -n 20 "$STATE/logs/$k.log" >&2; done
    die "hosts not provisioned: ${failed[*]} (logs in $STATE/logs)"
  fi
}

# ---------------------------------------------------------------- monitoring
fleet_targets() { # fleet_targets N: Prometheus' file_sd targets, one group per host
  local k sep=""
  printf '['
  for ((k = 1; k <= $1; k++)); do
    printf '%s{"targets":["%s:%d"]}' "$sep" "$(fleet_host_ip "$k")" "$EXPORTER_PORT"
    sep=,
  done
  printf ']\n'
}

fleet_prometheus_config() {
  cat <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $SRC_DIR/alerting/ess.rules.yml
  - $SRC_DIR/alerting/ess-fleet.rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['${AM_IPS[0]}:9093', '${AM_IPS[1]}:9093']
scrape_configs:
  - job_name: quantum-ess
    scheme: https
    tls_config:
      ca_file: $STATE/tls/ca.crt
    file_sd_configs:
      - files: ['$STATE/targets.json']
EOF
}

# The fleet example as shipped, its receiver rendered for these hosts, checked by amtool.
fleet_alertmanager_config() {
  bash "$SRC_DIR/fleet/ess_fleet.sh" render-receivers --targets-file "$STATE/targets.json" \
    --token-file "$STATE/tls/token" --ca-file "$STATE/tls/ca.crt" \
    --config "$SRC_DIR/alerting/alertmanager.fleet.example.yml" >"$STATE/alertmanager.yml"
  amtool check-config "$STATE/alertmanager.yml" >/dev/null ||
    die "the rendered $STATE/alertmanager.yml is refused by amtool"
}

fleet_spawn() { # fleet_spawn NAME CMD...: CMD in NAME's namespace, in the background, logged
  local name=$1
  shift
  ip netns exec "$(fleet_netns "$name")" setsid "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/$name.pid"
}

fleet_alertmanager_start() { # fleet_alertmanager_start 1|2
  local i=$1 me peer
  me=${AM_IPS[i - 1]} peer=${AM_IPS[2 - i]}
  mkdir -p "$STATE/am$i"
  fleet_spawn "am$i" /usr/bin/prometheus-alertmanager --config.file="$STATE/alertmanager.yml" \
    --storage.path="$STATE/am$i" --web.listen-address="$me:9093" \
    --cluster.listen-address="$me:9094" --cluster.peer="$peer:9094"
}

fleet_prometheus_start() {
  mkdir -p "$STATE/prometheus"
  fleet_spawn prom /usr/bin/prometheus --config.file="$STATE/prometheus.yml" \
    --storage.tsdb.path="$STATE/prometheus" --web.listen-address="$PROM_IP:9090"
}

fleet_monitoring_up() { # fleet_monitoring_up N
  fleet_targets "$1" >"$STATE/targets.json"
  fleet_prometheus_config >"$STATE/prometheus.yml"
  fleet_alertmanager_config
  fleet_attach prom "$PROM_IP"
  fleet_attach am1 "${AM_IPS[0]}"
  fleet_attach am2 "${AM_IPS[1]}"
  fleet_prometheus_start
  fleet_alertmanager_start 1
  fleet_alertmanager_start 2
}

fleet_wait() { # fleet_wait WHAT SECONDS CMD...: until CMD succeeds
  local what=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "timed out after $seconds s waiting for $what (logs in $STATE/logs)"
}

fleet_scraped() { # fleet_scraped N: Prometheus has every exporter up
  curl -fsS --max-time 2 --get "http://$PROM_IP:9090/api/v1/query" \
    --data-urlencode 'query=count(up{job="quantum-ess"} == 1)' | grep -q "\"$1\"\\]"
}

fleet_cluster_ready() { # fleet_cluster_ready IP: that Alertmanager has settled with 2 peers
  curl -fsS --max-time 2 "http://$1:9093/api/v2/status" |
    jq -e '.cluster.status == "ready" and (.cluster.peers | length) == 2' >/dev/null
}

fleet_ready() { # fleet_ready N
  local ip
  fleet_wait "Prometheus to scrape all $1 exporters" 90 fleet_scraped "$1"
  for ip in "${AM_IPS[@]}"; do
    fleet_wait "the Alertmanager at $ip to settle with 2 peers" 90 fleet_cluster_ready "$ip"
  done
}

# The fleet's description for its drivers (sandbox/fleet.ts).
fleet_state_json() { # fleet_state_json N
  local k hosts=()
  for ((k = 1; k <= $1; k++)); do
    hosts+=("{\"name\":\"h$k\",\"box\":\"$(fleet_box "$k")\",\"ip\":\"$(fleet_host_ip "$k")\",\
\"groups\":$(fleet_groups "$k" "$1"),\"veth\":\"$(fleet_veth "h$k")\",\
\"webhook\":\"https://$(fleet_host_ip "$k"):$EXPORTER_PORT/alertmanager\"}")
  done
  printf '{"prefix":"%s","bridge":"%s","state_dir":"%s","hosts":[%s],' \
    "$PREFIX" "$BRIDGE" "$STATE" "$(IFS=,; printf '%s' "${hosts[*]}")"
  printf '"prometheus":"http://%s:9090","alertmanagers":["http://%s:9093","http://%s:9093"],' \
    "$PROM_IP" "${AM_IPS[0]}" "${AM_IPS[1]}"
  printf '"ca_file":"%s","token_file":"%s"}\n' "$STATE/tls/ca.crt" "$STATE/tls/token"
}

up() {
  local n=$1
  if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > MAX_HOSTS)); then die "N must be 1 to $MAX_HOSTS"; fi
  [[ -e $SRC_DIR/dist/src/main.js ]] || die "the exporter is not built: npm ci && npm run build"
  if [[ -e $STATE/fleet.json ]] || ip link show "$BRIDGE" >/dev/null 2>&1; then
    die "a fleet is already up (fleet.sh down first)"
  fi
  bash "$SANDBOX" ensure-tools
  mkdir -p "$STATE/logs"
  fleet_credentials "$n"
  fleet_bridge_up
  fleet_hosts_up "$n"
  fleet_monitoring_up "$n"
  fleet_ready "$n"
  fleet_state_json "$n" >"$STATE/fleet.json.new"
  mv "$STATE/fleet.json.new" "$STATE/fleet.json"
  say "$n hosts up; $STATE/fleet.json"
}

# ---------------------------------------------------------------- teardown
fleet_kill() { # fleet_kill NAME: the process fleet_spawn started, and nothing else
  local pid exe
  pid=$(cat "$STATE/$1.pid" 2>/dev/null) || return 0
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || exe=""
  # a recycled PID is not ours: the binary, and this fleet's state directory in its arguments
  if [[ $exe == /usr/bin/prometheus* ]] &&
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE/"; then
    kill -KILL "$pid"
    while [[ -e /proc/$pid ]]; do sleep 0.05; done
  fi
  rm -f "$STATE/$1.pid"
}

down() {
  local name dir ns link pid
  for name in prom am1 am2; do fleet_kill "$name"; done
  for dir in "${ESS_SANDBOX_BASE:-/tmp/quantum-ess-sandbox}/${PREFIX}"fleet-h*; do
    [[ -d $dir ]] || continue
    name=${dir##*/}
    bash "$SANDBOX" down "${name#"$PREFIX"}" >/dev/null
  done
  for ns in $(ip netns list | awk -v p="qe-$TAG-" 'index($1, p) == 1 {print $1}'); do
    # whatever still runs in one of our namespaces (a fleet whose state directory was lost)
    for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
  done
  for link in $(ip -o link show | awk -F': ' -v p="qe$TAG-" 'index($2, p) == 1 {print $2}'); do
    ip link del "${link%@*}" 2>/dev/null || true # a veth goes with its namespace
  done
  if command -v iptables >/dev/null; then # the rule fleet_bridge_up may have added
    while iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
  fi
  rm -rf "$STATE"
  say "down"
}

# ---------------------------------------------------------------- faults
link() { # link HOST down|up
  [[ $1 =~ ^h[0-9]+$ && $2 == @(down|up) ]] || die "usage: fleet.sh link hK down|up"
  ip link show "$(fleet_veth "$1")" >/dev/null 2>&1 || die "no host $1 in this fleet"
  ip link set "$(fleet_veth "$1")" "$2"
}

alertmanager() { # alertmanager 1|2 kill|start
  [[ $1 == @(1|2) && $2 == @(kill|start) ]] || die "usage: fleet.sh alertmanager 1|2 kill|start"
  [[ -e $STATE/fleet.json ]] || die "no fleet is up"
  if [[ $2 == kill ]]; then fleet_kill "am$1"; return; fi
  [[ ! -e $STATE/am$1.pid ]] || die "alertmanager $1 is running"
  fleet_alertmanager_start "$1"
  fleet_wait "alertmanager $1 to be ready" 30 curl -fs "http://${AM_IPS[$1 - 1]}:9093/-/ready"
}

# A silent partition: each Alertmanager sends the other's packets to a MAC address nobody has, so
# they are lost on the bridge (as on a broken link), not refused locally (a blackhole route fails
# the send at once, which memberlist does not count against the peer).
partition() { # partition on|off
  local i ns other
  [[ $1 == @(on|off) ]] || die "usage: fleet.sh partition on|off"
  for i in 1 2; do
    ns=$(fleet_netns "am$i") other=${AM_IPS[2 - i]}
    if [[ $1 == on ]]; then
      ip -n "$ns" neigh replace "$other" lladdr 02:00:00:00:00:01 dev eth0 nud permanent
    else
      ip -n "$ns" neigh del "$other" dev eth0 2>/dev/null || true
    fi
  done
}

main() {
  ((EUID == 0)) || die "run as root (it boots containers and makes network namespaces)"
  local cmd=${1:-}
  shift || true
  case $cmd in
    up) (($# == 1)) || die "usage: fleet.sh up N"; up "$1" ;;
    down) down ;;
    link) (($# == 2)) || die "usage: fleet.sh link hK down|up"; link "$@" ;;
    alertmanager)
      (($# == 2)) || die "usage: fleet.sh alertmanager 1|2 kill|start"
      alertmanager "$@"
      ;;
    partition) (($# == 1)) || die "usage: fleet.sh partition on|off"; partition "$1" ;;
    state) [[ -e $STATE/fleet.json ]] || die "no fleet is up"; printf '%s\n' "$STATE/fleet.json" ;;
    *) sed -n '2,26p' "$0" >&2; exit 64 ;;
  esac
}

main "$@"
