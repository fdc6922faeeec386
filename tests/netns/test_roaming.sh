#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Roaming: B (wireguard-go) moves while A = $WGUD stays put. A is never told
# B's endpoint; it must follow the source of B's authenticated packets:
#   1. B on veth 0, IPv4
#   2. B on a second veth with another address and a new listen port
#      (the first veth is deleted)
#   3. B switches to IPv6 outside, new listen port again
#   4. B's IPv6 address on that veth changes in place
# After each move B's pings must get through, `wg show A endpoints` must show
# B's new address:port, and A must reach B there.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_roaming.sh

source "$(dirname "$0")/lib.sh"
t_init 90

NS_A=$(nsname a)
NS_B=$(nsname b)
ns_create "$NS_A"
ns_create "$NS_B"
veth_link "$NS_A" "$NS_B" 0
L0_B_DEV=$VETH2 L0_A4=$V4_1 L0_B4=$V4_2

IA=$(ifname a)
IB=$(ifname b)
PA=$((20000 + RANDOM % 20000))
PB=$((PA + 1))
keypair KA KPA
keypair KB KPB
wgconf_iface "$T_TMP/a.conf" "$KA" "$PA"
wgconf_peer "$T_TMP/a.conf" "$KPB" "$TUN4.2/32, $TUN6:2/128"
wgconf_iface "$T_TMP/b.conf" "$KB" "$PB"
wgconf_peer "$T_TMP/b.conf" "$KPA" "$TUN4.1/32, $TUN6:1/128" "$L0_A4:$PA"
wg_node "$NS_A" "$IA" "$WGUD" "$T_TMP/a.conf" "$TUN4.1/24" "$TUN6:1/64"
PID_A=$STARTED_PID
wg_node "$NS_B" "$IB" "$WGGO" "$T_TMP/b.conf" "$TUN4.2/24" "$TUN6:2/64"

# check_at STEP WANT_ENDPOINT: B pings A, A shows WANT, A pings B.
check_at()
{
	assert_ping "$1: B pings A through the tunnel" "$NS_B" "$TUN4.1" || true
	assert_endpoint "$1: A's endpoint for B" "$2" "$(wg_endpoint "$NS_A" "$IA" "$KPB")" || true
	assert_ping "$1: A pings B at its new endpoint" "$NS_A" "$TUN4.2" || true
	assert_ping "$1: A pings B over IPv6 inside" "$NS_A" "$TUN6:2" || true
}

check_at "start" "$L0_B4:$PB"

log "---- B moves to a second veth, new address and listen port; the first veth goes away"
veth_link "$NS_A" "$NS_B" 1
L1_A4=$V4_1 L1_B4=$V4_2 L1_A6=$V6_1 L1_B6=$V6_2 L1_B_DEV=$VETH2
PB2=$((PB + 1))
nsx "$NS_B" wg set "$IB" listen-port "$PB2" peer "$KPA" endpoint "$L1_A4:$PA"
ip -n "$NS_B" link del "$L0_B_DEV"
require "B's listen port changed" test "$(wg_listen_port "$NS_B" "$IB")" = "$PB2"
check_at "second veth" "$L1_B4:$PB2"

log "---- B switches to IPv6 outside, new listen port"
PB3=$((PB + 2))
nsx "$NS_B" wg set "$IB" listen-port "$PB3" peer "$KPA" endpoint "[$L1_A6]:$PA"
check_at "IPv6 outside" "[$L1_B6]:$PB3"

log "---- B's IPv6 address changes in place"
NEW_B6=${L1_B6%::2}::99
ip -n "$NS_B" addr add "$NEW_B6/64" dev "$L1_B_DEV" nodad
ip -n "$NS_B" addr del "$L1_B6/64" dev "$L1_B_DEV"
check_at "new IPv6 address" "[$NEW_B6]:$PB3"

assert "A is still running" pid_alive "$PID_A" || true
t_finish
