#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wgud as a VPN gateway for a LAN (gw_topology in lib.sh): L (198.18.0.2)
# routes through G, which runs `$WGUD --conf` with a full tunnel,
# --forward-from for the LAN (IPv4 and IPv6) and --masquerade; S is the
# uplink router and the wireguard-go server, with 203.0.113.10 /
# 2001:db8:1::10 behind it and AllowedIPs for G's tunnel addresses only.
#  - L reaches 203.0.113.10 (ping, TCP, UDP; IPv6 too) and the server sees
#    G's tunnel address (masquerade); wgud turned forwarding on itself
#  - L cannot reach the uplink (S's veth address) directly, although S
#    routes the LAN back to G: nothing plain from G on the uplink
#  - the server gone (wireguard-go killed): L has no access at all, nothing
#    plain on the uplink
#  - wgud SIGKILLed (its table stays, forwarding stays on, the tunnel routes
#    are gone): still no access and nothing plain on the uplink
#  - wgud and the server restarted: access again; SIGTERM leaves lockdown's
#    blocking table (forward-from makes lockdown the default), forwarding goes
#    back to off; `wgud unlock` removes the table
#  - control: without wgud and with forwarding on, L does reach the uplink
#    and 203.0.113.10 directly (what the firewall was stopping)
# wireguard-go has no --conf: not applicable in harness validation.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_gateway.sh

# shellcheck disable=SC2317 # helpers below are called through assert & co.
source "$(dirname "$0")/lib.sh"
t_init 180

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode and no gateway policy"
	skip "test_gateway (all cases)"
	t_finish
fi
gw_init
gw_topology

SRV4=203.0.113.10 SRV6=2001:db8:1::10
GW_FLAGS=(--forward-from 198.18.0.0/24 --forward-from 2001:db8:18::/64 --masquerade)

start_gw()
{
	wgud_conf_start "$NG" "$CONF_G" "$T_TMP/g.log" "${GW_FLAGS[@]}"
	WGUD_PID=$STARTED_PID
}

# lan_access: L reaches the server through the tunnel (answered at all).
lan_tcp()
{
	netprobe "$NL" tcp "$1" 8080 >/dev/null
}

# lan_blocked_probes: everything L might try, none of which may work or leak.
lan_blocked_probes()
{
	local pids=() p
	nsx "$NL" ping -n -c2 -i 0.3 -W1 "$SRV4" & pids+=($!)
	nsx "$NL" ping -n -c2 -i 0.3 -W1 "$SRV6" & pids+=($!)
	nsx "$NL" ping -n -c2 -i 0.3 -W1 198.51.100.2 & pids+=($!)
	nsx "$NL" ping -n -c2 -i 0.3 -W1 fd00::2 & pids+=($!)
	printf '%s\n' "t4 tcp $SRV4 8080" "t6 tcp $SRV6 8080" "u4 udp $SRV4 7777" \
		"up4 tcp 198.51.100.2 8080" "up6 udp fd00::2 7777" | netprobe "$NL" batch --timeout 1.5 >"$T_TMP/blocked.out" || true
	for p in "${pids[@]}"; do
		wait "$p" || true
	done
}

# none_answered: no probe of lan_blocked_probes got an answer.
none_answered()
{
	! grep -q '^[a-z0-9]* 0 ' "$T_TMP/blocked.out"
}

log "---- gateway up"
assert_eq "forwarding off before wgud" 0 "$(nsx "$NG" sysctl -n net.ipv4.ip_forward)" || true
start_gw
require "table inet wgud_$IG exists" nft_table_exists "$NG" "$IG"
assert_eq "wgud turned IPv4 forwarding on" 1 "$(nsx "$NG" sysctl -n net.ipv4.ip_forward)" || true
assert_eq "wgud turned IPv6 forwarding on" 1 "$(nsx "$NG" sysctl -n net.ipv6.conf.all.forwarding)" || true
assert_json "show --json: forward-from holds the LAN (IPv4, IPv6)" "$NG" "$IG" \
	"'198.18.0.0/24' in json.dumps(j['policy']['forward_from']) and '2001:db8:18::/64' in json.dumps(j['policy']['forward_from'])" || true
assert_json "show --json: masquerade on" "$NG" "$IG" "j['policy']['masquerade'] in (True, 'on')" || true
assert_json "show --json: kill switch on (full tunnel)" "$NG" "$IG" "j['policy']['kill_switch'] in (True, 'on', 'auto')" || true

assert_ping "L pings the gateway itself (its answers to its clients pass)" "$NL" 198.18.0.1 || true
assert_ping "L pings $SRV4 through G's tunnel" "$NL" "$SRV4" || true
assert_ping "L pings $SRV6 through G's tunnel" "$NL" "$SRV6" || true
: >"$SRV_LOG"
assert "L connects to $SRV4:8080 (TCP)" lan_tcp "$SRV4" || true
assert "L connects to [$SRV6]:8080 (TCP)" lan_tcp "$SRV6" || true
assert "L's UDP is echoed by $SRV4:7777" bash -c "ip netns exec '$NL' '$T_PY' '$NETPROBE' udp $SRV4 7777 >/dev/null" || true
assert "server saw the TCP connection from G's tunnel address (masquerade)" served "$SRV_LOG" tcp "$TUN4.1" "$SRV4:8080" || true
assert "server saw the IPv6 connection from G's tunnel address" served "$SRV_LOG" tcp "$TUN6:1" "$SRV6:8080" || true
assert "server saw the UDP from G's tunnel address" served "$SRV_LOG" udp "$TUN4.1" "$SRV4:7777" || true
assert "server saw nothing from the LAN's own addresses" bash -c "! grep -q ' 198\.18\.0\.2 \| 2001:db8:18::2 ' '$SRV_LOG'" || true

log "---- L cannot use the uplink directly"
N=$(gw_uplink_capture direct bash -c "
	ip netns exec '$NL' ping -n -c3 -i 0.3 -W1 198.51.100.2;
	ip netns exec '$NL' ping -n -c2 -i 0.3 -W1 fd00::2;
	ip netns exec '$NL' timeout 5 '$T_PY' '$NETPROBE' tcp 198.51.100.2 8080 --timeout 1.5")
assert_eq "nothing plain from G on the uplink while L tries it" 0 "$N" || true
assert_no_ping "L cannot ping S's uplink address" "$NL" 198.51.100.2 || true
assert_no_ping "L cannot ping S's uplink address (IPv6)" "$NL" fd00::2 || true
assert "L cannot connect to S's uplink address" bash -c "! ip netns exec '$NL' timeout 5 '$T_PY' '$NETPROBE' tcp 198.51.100.2 8080 --timeout 1.5" || true

log "---- the server is gone"
kill_pid "$WGGO_PID"
N=$(gw_uplink_capture peergone lan_blocked_probes)
assert "L has no access at all (nothing answered)" none_answered || true
assert_eq "nothing plain from G on the uplink" 0 "$N" || true
assert "wgud still running" pid_alive "$WGUD_PID" || true

log "---- wgud killed with SIGKILL"
disown "$WGUD_PID"	# no "Killed" job report
kill -KILL "$WGUD_PID"
pid_wait_exit "$WGUD_PID" 5 || die "wgud did not die on SIGKILL"
assert "the table stays after SIGKILL" nft_table_exists "$NG" "$IG" || true
log "forwarding after SIGKILL: $(nsx "$NG" sysctl -n net.ipv4.ip_forward)"
N=$(gw_uplink_capture killed lan_blocked_probes)
assert "L has no access at all (nothing answered)" none_answered || true
assert_eq "nothing plain from G on the uplink" 0 "$N" || true

log "---- wgud and the server restarted"
gw_server_start
start_gw
assert_eq "exactly one table inet wgud_$IG" 1 "$(nsx "$NG" nft list tables | grep -cx "table inet wgud_$IG" || true)" || true
assert_ping "L pings $SRV4 again" "$NL" "$SRV4" || true
: >"$SRV_LOG"
assert "L connects to $SRV4:8080 again" lan_tcp "$SRV4" || true
assert "still masqueraded" served "$SRV_LOG" tcp "$TUN4.1" "$SRV4:8080" || true

kill -TERM "$WGUD_PID"
assert "wgud exits on SIGTERM" pid_wait_exit "$WGUD_PID" 5 || true
wait "$WGUD_PID" 2>/dev/null && RC=0 || RC=$?
assert_eq "exit status 0" 0 "$RC" || true
assert "clean stop in lockdown: the blocking table stays" nft_table_exists "$NG" "$IG" || true
assert_eq "clean stop: forwarding back to off, as before wgud" 0 "$(nsx "$NG" sysctl -n net.ipv4.ip_forward)" || true
assert "clean stop removed the control socket" bash -c "[[ ! -e $(ctl_path "$IG") ]]" || true
assert "wgud unlock removes the table" nsx "$NG" "$WGUD" unlock "$IG" || true
assert "no table after wgud unlock" bash -c "! ip netns exec '$NG' nft list table inet 'wgud_$IG' >/dev/null 2>&1" || true

log "---- control: no wgud, forwarding on"
nsx "$NG" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
assert_ping "L reaches S's uplink address without wgud's firewall" "$NL" 198.51.100.2 || true
assert_ping "L reaches $SRV4 directly without wgud" "$NL" "$SRV4" || true

t_finish
