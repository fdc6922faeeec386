#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wg-quick driving $WGUD as its userspace implementation
# (WG_QUICK_USERSPACE_IMPLEMENTATION, so $WGUD must daemonize when run as
# `$WGUD IFACE`), against a wireguard-go server:
#   - split tunnel: only the server's tunnel address and a "remote" network
#     behind it are routed into the tunnel
#   - full tunnel: 0.0.0.0/0 and ::/0 (fwmark, policy rules, nft marking)
# Each time: ping through, then `wg-quick down` removes the interface and the
# daemon ends.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_wg_quick.sh

source "$(dirname "$0")/lib.sh"
t_init 90
command -v wg-quick >/dev/null || die "wg-quick is not installed"

NS_C=$(nsname c)
NS_S=$(nsname s)
ns_create "$NS_C"
ns_create "$NS_S"
veth_link "$NS_S" "$NS_C" 0
S4=$V4_1
REMOTE4=203.0.113.1
REMOTE6=2001:db8:1::1
ip -n "$NS_S" addr add "$REMOTE4/32" dev lo
ip -n "$NS_S" addr add "$REMOTE6/128" dev lo

# wg-quick only uses the userspace implementation when the kernel cannot
# create a wireguard link, and gives up if /sys/module/wireguard exists.
# Where the kernel has WireGuard, hide it from wg-quick (and only from it).
WQ_PRE=()
if [[ -n ${WQ_FORCE_SHIM:-} ]] || ip -n "$NS_C" link add "$(ifname k)" type wireguard 2>/dev/null; then
	ip -n "$NS_C" link del "$(ifname k)" 2>/dev/null || true
	log "kernel WireGuard present (or WQ_FORCE_SHIM set): wg-quick runs with an ip(8) wrapper refusing 'type wireguard'"
	mkdir -p "$T_TMP/shim"
	cat >"$T_TMP/shim/ip" <<-SHIM
	#!/bin/bash
	[[ \${1:-} == link && \${2:-} == add && \${4:-} == type && \${5:-} == wireguard ]] && exit 2
	exec $(command -v ip) "\$@"
	SHIM
	chmod +x "$T_TMP/shim/ip"
	WQ_PRE=(unshare -m --propagation private bash -c \
		'[[ ! -e /sys/module/wireguard ]] || mount -t tmpfs none /sys/module || exit 1; exec "$@"' wq)
	WQ_PATH=$T_TMP/shim:$PATH
else
	WQ_PATH=$PATH
fi

wq()
{
	ip netns exec "$NS_C" "${WQ_PRE[@]}" env PATH="$WQ_PATH" \
		WG_QUICK_USERSPACE_IMPLEMENTATION="$WGUD" timeout 30 wg-quick "$@"
}

# sock_owner NS IFACE: PID of the process listening on IFACE's UAPI socket.
sock_owner()
{
	nsx "$1" ss -xlpH src "$(sock_path "$2")" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2
}

# wq_round LABEL split|full
wq_round()
{
	local label=$1 mode=$2 sif cif conf ps kc kpc ks kps pid allowed
	log "---- wg-quick, $mode tunnel"
	sif=$(ifname "${label}s")
	cif=$(ifname "${label}c")
	ps=$((20000 + RANDOM % 20000))
	keypair kc kpc
	keypair ks kps
	wgconf_iface "$T_TMP/$sif.conf" "$ks" "$ps"
	wgconf_peer "$T_TMP/$sif.conf" "$kpc" "$TUN4.2/32, $TUN6:2/128"
	wg_node "$NS_S" "$sif" "$WGGO" "$T_TMP/$sif.conf" "$TUN4.1/24" "$TUN6:1/64"

	if [[ $mode == split ]]; then
		allowed="$TUN4.1/32, $TUN6:1/128, ${REMOTE4%.*}.0/24, ${REMOTE6%::*}::/64"
	else
		allowed="0.0.0.0/0, ::/0"
	fi
	conf=$T_TMP/wq/$cif.conf
	mkdir -p "$T_TMP/wq"
	cat >"$conf" <<-CONF
	[Interface]
	PrivateKey = $kc
	Address = $TUN4.2/32, $TUN6:2/128

	[Peer]
	PublicKey = $kps
	Endpoint = $S4:$ps
	AllowedIPs = $allowed
	CONF
	chmod 600 "$conf"

	if ! wq up "$conf" >"$T_TMP/$cif-up.log" 2>&1; then
		fail "[$mode] wg-quick up failed: $(grep -v '^\[#\]' "$T_TMP/$cif-up.log" | tail -n 5 | tr '\n' ' ')"
		return 0
	fi
	pass "[$mode] wg-quick up"
	pid=$(sock_owner "$NS_C" "$cif")
	if [[ -z $pid ]]; then
		fail "[$mode] no process listens on $(sock_path "$cif") after wg-quick up"
		return 0
	fi
	register_pid "$pid"
	log "[$mode] daemon pid $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline)"
	assert "[$mode] the daemon is $WGUD" test "$(readlink -f /proc/"$pid"/exe)" = "$WGUD" || true

	assert_ping "[$mode] ping the server's tunnel address" "$NS_C" "$TUN4.1" || true
	assert_ping "[$mode] ping the server's tunnel IPv6 address" "$NS_C" "$TUN6:1" || true
	assert_ping "[$mode] ping the remote network behind the server" "$NS_C" "$REMOTE4" || true
	assert_ping "[$mode] ping the remote IPv6 network behind the server" "$NS_C" "$REMOTE6" || true
	assert "[$mode] route to the remote network goes into the tunnel" \
		grep -q "dev $cif" <(ip -n "$NS_C" route get "$REMOTE4") || true
	if [[ $mode == full ]]; then
		assert "[$mode] wg-quick set a fwmark" \
			grep -qv off <(nsx "$NS_C" wg show "$cif" fwmark) || true
		assert "[$mode] wg-quick added its policy rules" \
			grep -q suppress_prefixlength <(ip -n "$NS_C" rule show) || true
		assert "[$mode] the endpoint is still reached over the veth" \
			grep -q "dev $VETH2" <(ip -n "$NS_C" route get "$S4" mark "$(nsx "$NS_C" wg show "$cif" fwmark)") || true
	fi
	assert_gt "[$mode] handshake recorded" "$(wg_handshake "$NS_C" "$cif" "$kps")" 0 || true

	if wq down "$conf" >"$T_TMP/$cif-down.log" 2>&1; then
		pass "[$mode] wg-quick down"
	else
		fail "[$mode] wg-quick down failed: $(tail -n 3 "$T_TMP/$cif-down.log" | tr '\n' ' ')"
	fi
	assert "[$mode] interface removed" bash -c "! ip -n '$NS_C' link show '$cif' 2>/dev/null" || true
	assert "[$mode] daemon ended after wg-quick down" pid_wait_exit "$pid" 5 || true
	assert "[$mode] UAPI socket removed" wait_for 2 "socket removal" test ! -e "$(sock_path "$cif")" || true
	if [[ $mode == full ]]; then
		assert_eq "[$mode] policy rules removed" 0 \
			"$(ip -n "$NS_C" rule show | grep -c 'suppress_prefixlength\|lookup [0-9]' || true)" || true
	fi
	kill_pid "$pid"
	impl_stop "$NS_S" "$sif" "$STARTED_PID" || true
}

wq_round q1 split
wq_round q2 full

t_finish
