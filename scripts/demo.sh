#!/usr/bin/env bash
# The README's first command: install what is missing, build, then bring up a
# real tunnel on this host between two network namespaces: wgud (configured
# from a wg-quick file, `wgud --conf`) in one, wireguard-go in the other.
# Shows a ping, a throughput figure and `wg show`, then removes everything.
# Root is needed for namespaces and TUN devices.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
echo "built: $(build/wgud --version)"

id=$$
nsa=wgdemoA$id nsb=wgdemoB$id
ifa=wgd${id}a ifb=wgd${id}b
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$nsa" 2>/dev/null || true
	ip netns del "$nsb" 2>/dev/null || true
	rm -f "/var/run/wireguard/$ifb.sock"
	rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$nsa"
ip netns add "$nsb"
ip link add va netns "$nsa" type veth peer name vb netns "$nsb"
ip -n "$nsa" addr add 198.51.100.1/30 dev va
ip -n "$nsb" addr add 198.51.100.2/30 dev vb
for ns in "$nsa" "$nsb"; do ip -n "$ns" link set lo up; done
ip -n "$nsa" link set va up
ip -n "$nsb" link set vb up

ka=$(wg genkey) kb=$(wg genkey)
pa=$(wg pubkey <<<"$ka") pb=$(wg pubkey <<<"$kb")
umask 077
cat >"$tmp/$ifa.conf" <<CONF
[Interface]
PrivateKey = $ka
Address = 192.0.2.1/24
ListenPort = 51820

[Peer]
PublicKey = $pb
AllowedIPs = 192.0.2.2/32
Endpoint = 198.51.100.2:51821
PersistentKeepalive = 25
CONF

echo "== wireguard-go in $nsb, wgud --conf in $nsa"
ip netns exec "$nsb" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$ifb" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "/var/run/wireguard/$ifb.sock" ] && break; sleep 0.05; done
ip netns exec "$nsb" wg set "$ifb" private-key <(echo "$kb") listen-port 51821 \
	peer "$pa" allowed-ips 192.0.2.1/32 endpoint 198.51.100.1:51820
ip -n "$nsb" addr add 192.0.2.2/24 dev "$ifb"
ip -n "$nsb" link set "$ifb" up

ip netns exec "$nsa" build/wgud --conf "$tmp/$ifa.conf" &
pids+=($!)
for _ in $(seq 100); do ip -n "$nsa" link show "$ifa" up >/dev/null 2>&1 && break; sleep 0.05; done

echo "== ping through the tunnel"
ip netns exec "$nsa" ping -c 3 -i 0.3 -W 2 192.0.2.2

echo "== throughput (iperf3 TCP, 3 s, wgud -> wireguard-go)"
ip netns exec "$nsb" iperf3 -s -1 -D
sleep 0.3
ip netns exec "$nsa" timeout 20 iperf3 -c 192.0.2.2 -t 3 | grep -E 'sender|receiver'

echo "== wg show (stock wg talking to wgud's UAPI socket)"
ip netns exec "$nsa" wg show "$ifa"
echo
echo "demo: done; removing namespaces"
