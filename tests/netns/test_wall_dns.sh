#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# DNS, confined for the gateway and for its clients. The gateway topology
# (gw_topology in lib.sh: L -- G -- S, resolvers 203.0.113.53 and
# 2001:db8:1::53 behind S, and 203.0.113.54, 2001:db8:1::54 that are not
# the tunnel's), with two twists:
#  - the kill switch with no DNS = (as under wg-quick): DNS goes only
#    through the tunnel, not even to a resolver on an allow-lan network
#  - the VPN endpoint listens on UDP port 53, as many providers' do (S maps
#    198.51.100.2:53 to its wireguard-go), and the conf says DNS =: the
#    tunnel comes up (wgud's own UDP passes before the DNS rules), DNS from
#    G goes only to the conf's resolvers through the tunnel, and nothing
#    plain leaves G
#  - the LAN behind G: its DNS to another resolver gets no answer, its DNS
#    to the tunnel's resolver goes through the tunnel; with `dns-forward
#    on`, L asks the gateway's own address (as gluetun's clients do) and the
#    tunnel's resolver answers, seeing G's tunnel address; with the peer
#    gone that fails, and nothing leaves plain
# wireguard-go has no --conf: not applicable in harness validation.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_wall_dns.sh

# shellcheck disable=SC2317 # helpers below are called through assert & co.
source "$(dirname "$0")/lib.sh"
t_init 150

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode and no firewall"
	skip "test_wall_dns (all cases)"
	t_finish
fi
gw_init
gw_topology

DNS_LOG=$T_TMP/dns.log
# The endpoint on port 53: S sends it on to wireguard-go's port.
nsx "$NS" nft -f - <<-EOF
	table ip endpoint53 {
		chain pre { type nat hook prerouting priority dstnat; ip daddr 198.51.100.2 udp dport 53 dnat to :$PORT_S; }
	}
EOF
sed -i "s/^Endpoint = .*/Endpoint = 198.51.100.2:53/" "$CONF_G"
sed -i "s/^Address = .*/&\nDNS = 203.0.113.53, 2001:db8:1::53/" "$CONF_G"
WG_EPS=("198.51.100.2:53")

# dns_rc NS ADDR [DEV]: 0 when ADDR answered an A query
dns_ok()
{
	netprobe "$1" dns "$2" --timeout 1.5 ${3:+--dev "$3"} >/dev/null
}
dns_no()
{
	! dns_ok "$@"
}
# capture LABEL CMD...: G's plain frames on the uplink while CMD runs
capture()
{
	local label=$1 out
	shift
	out=$(gw_uplink_capture "$label" "$@")
	printf '%s' "$out"
}

log "---- the kill switch without DNS = in the conf: DNS only through the tunnel, even to an allowed LAN"
sed '/^DNS = /d' "$CONF_G" >"$T_TMP/nodns/$IG.conf" 2>/dev/null || { mkdir -p "$T_TMP/nodns" && sed '/^DNS = /d' "$CONF_G" >"$T_TMP/nodns/$IG.conf"; }
chmod 600 "$T_TMP/nodns/$IG.conf"
wgud_conf_start "$NG" "$T_TMP/nodns/$IG.conf" "$T_TMP/g.log" --kill-switch on --allow-lan 203.0.113.0/24
WGUD_PID=$STARTED_PID
assert "[nodns] the allowed network is reached directly" \
	bash -c "ip netns exec '$NG' '$T_PY' '$NETPROBE' tcp 203.0.113.10 8080 --dev '$G_UP' >/dev/null" || true
assert "[nodns] DNS to a resolver there is dropped" dns_no "$NG" 203.0.113.53 "$G_UP" || true
kill -TERM "$WGUD_PID"
pid_wait_exit "$WGUD_PID" 5 || true

log "---- the endpoint on UDP port 53, DNS = in the conf"
wgud_conf_start "$NG" "$CONF_G" "$T_TMP/g.log" --forward-from 198.18.0.0/24 --forward-from 2001:db8:18::/64 \
	--masquerade
WGUD_PID=$STARTED_PID
assert "[53] the tunnel comes up through an endpoint on port 53" ping_wait "$NG" 203.0.113.10 20 || true
assert "[53] the nftables table confines DNS" bash -c "ip netns exec '$NG' nft list table inet 'wgud_$IG' | grep -q 'udp dport 53 jump dns'" || true
: >"$DNS_LOG"
N=$(capture g53 bash -c "
	ip netns exec '$NG' '$T_PY' '$NETPROBE' dns 203.0.113.53 --timeout 1.5;
	ip netns exec '$NG' '$T_PY' '$NETPROBE' dns 203.0.113.54 --timeout 1.5;
	ip netns exec '$NG' '$T_PY' '$NETPROBE' dns 198.51.100.2 --timeout 1.5;
	ip netns exec '$NG' '$T_PY' '$NETPROBE' dns 203.0.113.54 --timeout 1.5 --dev '$G_UP'")
assert_eq "[53] nothing plain from G on the uplink while it asks around" 0 "$N" || true
assert "[53] G's DNS to the conf's resolver works" dns_ok "$NG" 203.0.113.53 || true
assert "[53] ... over IPv6 too" dns_ok "$NG" 2001:db8:1::53 || true
assert "[53] ... and it came through the tunnel" served "$DNS_LOG" dns "$TUN4.1" "203.0.113.53:53" || true
assert "[53] G's DNS to another resolver is dropped" dns_no "$NG" 203.0.113.54 || true
assert "[53] the other resolver saw nothing" bash -c "! grep -q '203.0.113.54:53\|2001:db8:1::54' '$DNS_LOG'" || true

log "---- DNS from the LAN behind the gateway"
: >"$DNS_LOG"
assert "[lan] L's DNS to another resolver gets no answer" dns_no "$NL" 203.0.113.54 || true
assert "[lan] ... over IPv6 neither" dns_no "$NL" 2001:db8:1::54 || true
assert "[lan] the other resolver saw nothing" bash -c "! grep -q '203.0.113.54:53\|2001:db8:1::54' '$DNS_LOG'" || true
assert "[lan] L's DNS to the tunnel's resolver works" dns_ok "$NL" 203.0.113.53 || true
assert "[lan] ... masqueraded, through the tunnel" served "$DNS_LOG" dns "$TUN4.1" "203.0.113.53:53" || true
assert "[lan] without dns-forward, the gateway's own address does not answer" dns_no "$NL" 198.18.0.1 || true

TABLE0=$(nft_table "$NG" "$IG")
assert_ctl "[fwd] dns-forward on" "$NG" "$IG" dns-forward on || true
: >"$DNS_LOG"
assert "[fwd] L asks the gateway, and is answered" dns_ok "$NL" 198.18.0.1 || true
assert "[fwd] ... by the tunnel's resolver, seeing G's tunnel address" served "$DNS_LOG" dns "$TUN4.1" "203.0.113.53:53" || true
assert "[fwd] L asks the gateway over IPv6, and is answered" dns_ok "$NL" 2001:db8:18::1 || true
assert "[fwd] ... by the tunnel's IPv6 resolver" served "$DNS_LOG" dns "$(addr_norm "${TUN6}:1")" "2001:db8:1::53:53" || true
assert_json "[fwd] show --json says dns-forward" "$NG" "$IG" "j['policy']['dns_forward'] is True" || true

log "---- the peer is gone"
kill_pid "$WGGO_PID"
N=$(capture gone bash -c "
	ip netns exec '$NL' '$T_PY' '$NETPROBE' dns 198.18.0.1 --timeout 1.5;
	ip netns exec '$NL' '$T_PY' '$NETPROBE' dns 203.0.113.54 --timeout 1.5;
	ip netns exec '$NG' '$T_PY' '$NETPROBE' dns 203.0.113.54 --timeout 1.5")
assert "[gone] L's query to the gateway fails" dns_no "$NL" 198.18.0.1 || true
assert_eq "[gone] nothing plain from G on the uplink" 0 "$N" || true

assert_ctl "[off] dns-forward off" "$NG" "$IG" dns-forward off || true
assert "[off] the table is as before dns-forward on, byte for byte" test "$TABLE0" == "$(nft_table "$NG" "$IG")" || true
kill -TERM "$WGUD_PID"
pid_wait_exit "$WGUD_PID" 5 || true
nsx "$NG" "$WGUD" unlock "$IG" >/dev/null 2>&1 || true

t_finish
