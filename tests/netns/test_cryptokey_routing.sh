#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Cryptokey routing on A = $WGUD, with wireguard-go as B:
#  - inbound: B sends, through a valid session, packets whose inner source is
#    outside the allowed-ips A has for B (B's wg interface gets an extra
#    address and pings from it). A must drop them: no echo reply, nothing
#    from that source on A's wg interface (tcpdump), no RX counted there;
#    while the allowed source keeps working (control).
#  - outbound: A must not send B packets for a destination outside B's
#    allowed-ips, even though A's own route sends them to the wg interface.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_cryptokey_routing.sh

source "$(dirname "$0")/lib.sh"
t_init 90
command -v tcpdump >/dev/null || die "tcpdump is not installed"

NS_A=$(nsname a)
NS_B=$(nsname b)
ns_create "$NS_A"
ns_create "$NS_B"
veth_link "$NS_A" "$NS_B" 0

IA=$(ifname a)
IB=$(ifname b)
PA=$((20000 + RANDOM % 20000))
PB=$((PA + 1))
BAD4=$TUN4.99
BAD6=$TUN6:99
OUT4=$TUN4.77	# on A's subnet, but nobody's allowed-ips
keypair KA KPA
keypair KB KPB
wgconf_iface "$T_TMP/a.conf" "$KA" "$PA"
wgconf_peer "$T_TMP/a.conf" "$KPB" "$TUN4.2/32, $TUN6:2/128" "$V4_2:$PB"
wgconf_iface "$T_TMP/b.conf" "$KB" "$PB"
# B would accept anything from A: whatever A lets through reaches B's TUN.
wgconf_peer "$T_TMP/b.conf" "$KPA" "0.0.0.0/0, ::/0" "$V4_1:$PA"
wg_node "$NS_A" "$IA" "$WGUD" "$T_TMP/a.conf" "$TUN4.1/24" "$TUN6:1/64"
PID_A=$STARTED_PID
wg_node "$NS_B" "$IB" "$WGGO" "$T_TMP/b.conf" "$TUN4.2/24" "$TUN6:2/64"
ip -n "$NS_B" addr add "$BAD4/24" dev "$IB"
ip -n "$NS_B" addr add "$BAD6/64" dev "$IB" nodad

require "tunnel up (allowed IPv4 source)" ping_wait "$NS_B" "$TUN4.1" 10 -I "$TUN4.2"
require "tunnel up (allowed IPv6 source)" ping_wait "$NS_B" "$TUN6:1" 10 -I "$TUN6:2"

rx_packets()
{
	nsx "$1" cat "/sys/class/net/$2/statistics/rx_packets"
}

log "---- inbound: inner source outside A's allowed-ips for B"
cap_start CAP_A "$NS_A" "$IA" "$T_TMP/a.pcap"
cap_start CAP_B "$NS_B" "$IB" "$T_TMP/b.pcap"
RX0=$(rx_packets "$NS_A" "$IA")
TX_B0=$(wg_transfer "$NS_B" "$IB" "$KPA" | awk '{ print $2 }')
assert_no_ping "IPv4 from $BAD4 gets no answer" "$NS_B" "$TUN4.1" -I "$BAD4" || true
assert_no_ping "IPv6 from $BAD6 gets no answer" "$NS_B" "$TUN6:1" -I "$BAD6" || true
RX1=$(rx_packets "$NS_A" "$IA")
TX_B1=$(wg_transfer "$NS_B" "$IB" "$KPA" | awk '{ print $2 }')
# Proves the forbidden packets were really encrypted and sent to A, so the
# drop is A's doing.
assert_gt "B did send the forbidden packets to A (tx bytes grew)" "$TX_B1" "$TX_B0" || true
assert_eq "A's wg interface counted no RX for them" "$RX0" "$RX1" || true

log "---- control: the allowed source still works"
assert_ping "IPv4 from the allowed source" "$NS_B" "$TUN4.1" -I "$TUN4.2" || true
assert_ping "IPv6 from the allowed source" "$NS_B" "$TUN6:1" -I "$TUN6:2" || true
assert_gt "A's wg interface counted RX for the allowed source" "$(rx_packets "$NS_A" "$IA")" "$RX1" || true

log "---- outbound: destination outside B's allowed-ips"
assert_no_ping "A -> $OUT4 (no peer has it) gets no answer" "$NS_A" "$OUT4" || true
cap_stop "$CAP_A"
cap_stop "$CAP_B"

assert_eq "tcpdump on A's wg interface: nothing from $BAD4" 0 "$(cap_count "$T_TMP/a.pcap" src host "$BAD4")" || true
assert_eq "tcpdump on A's wg interface: nothing from $BAD6" 0 "$(cap_count "$T_TMP/a.pcap" src host "$BAD6")" || true
assert_gt "tcpdump on A's wg interface: packets from the allowed source" \
	"$(cap_count "$T_TMP/a.pcap" src host "$TUN4.2")" 0 || true
assert_eq "tcpdump on B's wg interface: nothing for $OUT4 came out of the tunnel" 0 \
	"$(cap_count "$T_TMP/b.pcap" dst host "$OUT4")" || true
assert_gt "tcpdump on B's wg interface: the allowed traffic came through" \
	"$(cap_count "$T_TMP/b.pcap" src host "$TUN4.1")" 0 || true

assert "A is still running" pid_alive "$PID_A" || true
t_finish
