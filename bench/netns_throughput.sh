#!/usr/bin/env bash
# Tunnel throughput, side by side in one run: iperf3 TCP through
#   wgud <-> wgud, wgud <-> wireguard-go, wireguard-go <-> wireguard-go
# each between two network namespaces joined by a veth pair. Prints Mbit/s
# and each figure as a ratio to wireguard-go <-> wireguard-go.
#   bench/netns_throughput.sh [BUILD_DIR] [SECONDS]     (root)
set -euo pipefail
build=${1:-build}
secs=${2:-5}
wgud=$(cd "$build" && pwd)/wgud
wggo=$(command -v wireguard-go)
id=$$
nsa=wgbA$id nsb=wgbB$id
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	sleep 0.3
	ip netns del "$nsa" 2>/dev/null || true
	ip netns del "$nsb" 2>/dev/null || true
	rm -f "/var/run/wireguard/wgb${id}a.sock" "/var/run/wireguard/wgb${id}b.sock"
}
trap cleanup EXIT

setup_ns() {
	ip netns add "$nsa"
	ip netns add "$nsb"
	ip link add va netns "$nsa" type veth peer name vb netns "$nsb"
	ip -n "$nsa" addr add 198.51.100.1/30 dev va
	ip -n "$nsb" addr add 198.51.100.2/30 dev vb
	for ns in "$nsa" "$nsb"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$nsa" link set va up
	ip -n "$nsb" link set vb up
}

# start NS IMPL IFACE: run an implementation in the foreground mode both share.
start() {
	local ns=$1 impl=$2 ifc=$3 i
	ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 "$impl" -f "$ifc" >/dev/null 2>&1 &
	pids+=($!)
	for i in $(seq 100); do [ -S "/var/run/wireguard/$ifc.sock" ] && return 0; sleep 0.05; done
	echo "bench: $impl did not create $ifc" >&2
	return 1
}

run_pair() { # IMPL_A IMPL_B -> prints Mbit/s A->B
	local ia=$1 ib=$2 ka kb pa pb bps
	local ifa=wgb${id}a ifb=wgb${id}b
	ka=$(wg genkey) kb=$(wg genkey)
	pa=$(wg pubkey <<<"$ka") pb=$(wg pubkey <<<"$kb")
	start "$nsa" "$ia" "$ifa"
	start "$nsb" "$ib" "$ifb"
	ip netns exec "$nsa" wg set "$ifa" private-key <(echo "$ka") listen-port 40001 \
		peer "$pb" allowed-ips 192.0.2.2/32 endpoint 198.51.100.2:40002
	ip netns exec "$nsb" wg set "$ifb" private-key <(echo "$kb") listen-port 40002 \
		peer "$pa" allowed-ips 192.0.2.1/32 endpoint 198.51.100.1:40001
	ip -n "$nsa" addr add 192.0.2.1/24 dev "$ifa"
	ip -n "$nsb" addr add 192.0.2.2/24 dev "$ifb"
	ip -n "$nsa" link set "$ifa" up
	ip -n "$nsb" link set "$ifb" up
	ip netns exec "$nsa" ping -c 2 -W 2 192.0.2.2 >/dev/null
	ip netns exec "$nsb" iperf3 -s -1 -D -p 5201
	sleep 0.3
	bps=$(ip netns exec "$nsa" timeout $((secs + 15)) iperf3 -c 192.0.2.2 -p 5201 -t "$secs" -J |
		python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))')
	ip -n "$nsa" link del "$ifa" 2>/dev/null || true
	ip -n "$nsb" link del "$ifb" 2>/dev/null || true
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	echo $((bps / 1000000))
}

setup_ns
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; iperf3 TCP ${secs}s, veth between namespaces"
go=$(run_pair "$wggo" "$wggo")
mixed=$(run_pair "$wgud" "$wggo")
ours=$(run_pair "$wgud" "$wgud")
printf '  %-32s %6s Mbit/s   %s\n' "wireguard-go -> wireguard-go" "$go" "1.00"
printf '  %-32s %6s Mbit/s   %.2f\n' "wgud -> wireguard-go" "$mixed" "$(python3 -c "print($mixed / max($go, 1))")"
printf '  %-32s %6s Mbit/s   %.2f\n' "wgud -> wgud" "$ours" "$(python3 -c "print($ours / max($go, 1))")"
