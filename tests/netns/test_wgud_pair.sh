#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# $WGUD against itself: the basic pair checks, then one server interface
# with 50 peers (10 live clients, each its own namespace and $WGUD instance,
# plus 40 configured but idle peers). All 10 clients ping the server at the
# same time; the server answers each. Last, SIGTERM ends the server and takes
# its interface with it.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_wgud_pair.sh

source "$(dirname "$0")/lib.sh"
t_init 120
command -v iperf3 >/dev/null || die "iperf3 is not installed"

N_CLIENTS=10
N_IDLE=40

NS_A=$(nsname a)
NS_B=$(nsname b)
ns_create "$NS_A"
ns_create "$NS_B"
veth_link "$NS_A" "$NS_B" 0
LINK_A4=$V4_1 LINK_B4=$V4_2 LINK_A6=$V6_1 LINK_B6=$V6_2

#          label impl_a  impl_b  initiator outer psk iperf
pair_round r1    "$WGUD" "$WGUD" a         4     0   1
pair_round r2    "$WGUD" "$WGUD" b         6     1   0

log "---- one server, $((N_CLIENTS + N_IDLE)) peers, $N_CLIENTS of them live"
NS_S=$NS_A
SIF=$(ifname s)
SPORT=$((20000 + RANDOM % 20000))
keypair S_PRIV S_PUB
SCONF=$T_TMP/$SIF.conf
wgconf_iface "$SCONF" "$S_PRIV" "$SPORT"

# host part of the tunnel address of peer i (1-based)
host_of() { echo $((10 + $1)); }

declare -a C_NS C_IF C_PUB C_PID C_EP
priv="" pub=""
for ((i = 1; i <= N_CLIENTS; i++)); do
	C_NS[i]=$(nsname "c$i")
	ns_create "${C_NS[i]}"
	veth_link "$NS_S" "${C_NS[i]}" "$i"
	C_EP[i]=$V4_1:$SPORT
	C_IF[i]=$(ifname "c$i")
	keypair priv pub
	C_PUB[i]=$pub
	h=$(host_of "$i")
	wgconf_iface "$T_TMP/${C_IF[i]}.conf" "$priv"
	wgconf_peer "$T_TMP/${C_IF[i]}.conf" "$S_PUB" "$TUN4.1/32, $TUN6:1/128" "${C_EP[i]}"
	wgconf_peer "$SCONF" "$pub" "$TUN4.$h/32, $TUN6:$(printf '%x' "$h")/128"
done
for ((i = N_CLIENTS + 1; i <= N_CLIENTS + N_IDLE; i++)); do
	keypair priv pub
	h=$(host_of "$i")
	wgconf_peer "$SCONF" "$pub" "$TUN4.$h/32, $TUN6:$(printf '%x' "$h")/128"
done

wg_node "$NS_S" "$SIF" "$WGUD" "$SCONF" "$TUN4.1/24" "$TUN6:1/64"
S_PID=$STARTED_PID
for ((i = 1; i <= N_CLIENTS; i++)); do
	h=$(host_of "$i")
	wg_node "${C_NS[i]}" "${C_IF[i]}" "$WGUD" "$T_TMP/${C_IF[i]}.conf" \
		"$TUN4.$h/24" "$TUN6:$(printf '%x' "$h")/64"
	C_PID[i]=$STARTED_PID
done

assert_eq "server lists all peers" $((N_CLIENTS + N_IDLE)) \
	"$(nsx "$NS_S" wg show "$SIF" peers | wc -l)" || true
assert_eq "server lists one allowed-ips line per peer" $((N_CLIENTS + N_IDLE)) \
	"$(nsx "$NS_S" wg show "$SIF" allowed-ips | wc -l)" || true
h=$(host_of $((N_CLIENTS + N_IDLE)))
assert "server keeps the allowed-ips of the last idle peer" \
	grep -q "$TUN4.$h/32" <(nsx "$NS_S" wg show "$SIF" allowed-ips) || true

# All clients at once: 5 answered echoes each within 15 s, handshakes included.
for fam in 4 6; do
	dst=$TUN4.1
	[[ $fam == 6 ]] && dst=$TUN6:1
	declare -a P=()
	for ((i = 1; i <= N_CLIENTS; i++)); do
		nsx "${C_NS[i]}" timeout 20 ping -n -q -c 5 -i 0.2 -w 15 "$dst" \
			>"$T_TMP/ping$fam-$i.out" 2>&1 &
		P[i]=$!
	done
	ok=0
	for ((i = 1; i <= N_CLIENTS; i++)); do
		if wait "${P[i]}"; then
			ok=$((ok + 1))
		else
			log "client $i: $(tail -n 2 "$T_TMP/ping$fam-$i.out" | tr '\n' ' ')"
		fi
	done
	assert_eq "concurrent IPv$fam pings: clients with 5/5 answers" "$N_CLIENTS" "$ok" || true
done

live=$(nsx "$NS_S" wg show "$SIF" latest-handshakes | awk '$2 != 0' | wc -l)
assert_eq "server has handshaken with exactly the live clients" "$N_CLIENTS" "$live" || true

ok=0
for ((i = 1; i <= N_CLIENTS; i++)); do
	h=$(host_of "$i")
	if ping_all "$NS_S" "$TUN4.$h" 2; then
		ok=$((ok + 1))
	else
		log "server -> client $i ($TUN4.$h) failed"
	fi
done
assert_eq "server reaches every live client" "$N_CLIENTS" "$ok" || true

# The server learnt each client's endpoint from its handshake.
bad=0
for ((i = 1; i <= N_CLIENTS; i++)); do
	ep=$(wg_endpoint "$NS_S" "$SIF" "${C_PUB[i]}")
	[[ $ep == 198.51.100.$((i * 4 + 2)):* ]] || { bad=$((bad + 1)); log "client $i endpoint: '$ep'"; }
done
assert_eq "server endpoints match the clients' veth addresses" 0 "$bad" || true

alive=0
for ((i = 1; i <= N_CLIENTS; i++)); do
	pid_alive "${C_PID[i]}" && alive=$((alive + 1))
done
assert_eq "all client instances still running" "$N_CLIENTS" "$alive" || true

kill -TERM "$S_PID"
assert "server exits on SIGTERM" pid_wait_exit "$S_PID" 5 || true
assert "server interface is gone after SIGTERM" \
	wait_for 3 "$SIF to disappear" bash -c "! ip -n '$NS_S' link show '$SIF'" || true

t_finish
