#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# No pass for old connections. In the gateway topology (gw_topology in
# lib.sh: L -- G -- S), conntrack is active in G before wgud starts (a table
# with a ct rule, as docker, ufw and firewalld load), IP forwarding is on,
# and these flows run in the clear before wgud starts, and go on trying:
#   G -> L (a LAN host)           TCP, a line every 0.2 s
#   G -> 203.0.113.10, 2001:db8:1::10 (off-link, behind S)   TCP, and ping, ping6
#   L -> 203.0.113.10 (a forwarded client)                   TCP, and ping
# Then wgud starts as a full-tunnel gateway (--forward-from the LAN,
# --masquerade): captures on S's end of the uplink and on L's end of the LAN
# must hold nothing plain from G while the tunnel runs, and nothing after
# `kill -9` of wgud either. The phase before wgud is the control: the same
# captures see the flows' lines in the clear.
# wireguard-go has no --conf: not applicable in harness validation.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_wall_conntrack.sh

# shellcheck disable=SC2317 # helpers below are called through assert & co.
source "$(dirname "$0")/lib.sh"
t_init 150

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode and no firewall"
	skip "test_wall_conntrack (all phases)"
	t_finish
fi
gw_init
gw_topology

SRV4=203.0.113.10 SRV6=2001:db8:1::10
MARK=wgud-old-flow
G_LAN_MAC=$(if_mac "$NG" "$G_LAN")
serve_start "$NL" "$T_TMP/lsink.log" --addr 198.18.0.2 --sink 9000
serve_start "$NS" "$T_TMP/ssink.log" --addr "$SRV4" --addr "$SRV6" --sink 9000 --sink 9001

# Conntrack in G before wgud, as a container runtime or host firewall would have it.
nsx "$NG" nft -f - <<-EOF
	table inet preexisting {
		chain c_out { type filter hook output priority 10; policy accept; ct state established counter accept; }
		chain c_fwd { type filter hook forward priority 10; policy accept; ct state established counter accept; }
	}
EOF
nsx "$NG" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

# flow NAME NS ADDR PORT: a TCP stream for the whole test.
flow()
{
	ip netns exec "$2" "${T_GUARD[@]}" timeout 120 "$T_PY" "$NETPROBE" stream "$3" "$4" 100 \
		</dev/null >"$T_TMP/$1.out" 2>&1 &
	register_pid $!
}

# pinger NAME NS ADDR: echo requests every 0.2 s with one id, so conntrack keeps one flow.
pinger()
{
	ip netns exec "$2" "${T_GUARD[@]}" timeout 120 ping -n -i 0.2 -w 100 "$3" </dev/null >"$T_TMP/$1.out" 2>&1 &
	register_pid $!
}

flow g_lan "$NG" 198.18.0.2 9000
flow g_off4 "$NG" "$SRV4" 9000
flow g_off6 "$NG" "$SRV6" 9000
flow l_fwd "$NL" "$SRV4" 9001
pinger g_ping4 "$NG" "$SRV4"
pinger g_ping6 "$NG" "$SRV6"
pinger l_ping4 "$NL" "$SRV4"
for f in g_lan g_off4 g_off6 l_fwd; do
	wait_for 10 "stream $f to connect" grep -q connected "$T_TMP/$f.out" || die "stream $f did not connect: $(cat "$T_TMP/$f.out")"
done
sleep 1

# window LABEL SECONDS: captures on the uplink (S's end) and the LAN (L's end) meanwhile; sets UP and LAN
# to the classification of what G sent on each.
window()
{
	local label=$1 cu cl
	cap_start cu "$NS" "$S_DOWN" "$T_TMP/$label.up.pcap" --immediate-mode
	cap_start cl "$NL" "$L_LAN" "$T_TMP/$label.lan.pcap" --immediate-mode
	sleep "$2"
	cap_stop "$cu"
	cap_stop "$cl"
	UP=$(CAP_SRC_MAC=$G_UP_MAC CAP_MARKER=$MARK CAP_SHOW=6 cap_classify "$T_TMP/$label.up.pcap" "${WG_EPS[@]}")
	LAN=$(CAP_SRC_MAC=$G_LAN_MAC CAP_MARKER=$MARK CAP_SHOW=6 cap_classify "$T_TMP/$label.lan.pcap" "${WG_EPS[@]}")
	log "[$label] uplink: $(tr '\n' ';' <<<"$UP")"
	log "[$label] LAN: $(tr '\n' ';' <<<"$LAN")"
}

field()
{
	sed -n "1s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"
}

log "---- control: the flows run in the clear before wgud"
window before 2
assert_gt "[before] G's and L's lines on the uplink in the clear" "$(field marked "$UP")" 0 || true
assert_gt "[before] G's lines to L on the LAN in the clear" "$(field marked "$LAN")" 0 || true
assert_gt "[before] echo requests from G on the uplink" \
	"$(cap_count "$T_TMP/before.up.pcap" "ether src $G_UP_MAC and icmp[icmptype] == 8")" 0 || true

log "---- wgud up: full tunnel, kill switch, gateway for the LAN"
wgud_conf_start "$NG" "$CONF_G" "$T_TMP/g.log" --forward-from 198.18.0.0/24 --forward-from 2001:db8:18::/64 --masquerade
WGUD_PID=$STARTED_PID
require "[up] the tunnel works for new connections" ping_wait "$NG" "$SRV4" 20
assert "[up] and for the LAN" ping_wait "$NL" "$SRV4" 10 || true
window up 4
assert_eq "[up] nothing plain from G on the uplink" 0 "$(field plain "$UP")" || true
assert_eq "[up] nothing plain from G on the LAN" 0 "$(field plain "$LAN")" || true

log "---- wgud killed with SIGKILL"
disown "$WGUD_PID"	# no "Killed" job report
kill -KILL "$WGUD_PID"
pid_wait_exit "$WGUD_PID" 5 || die "wgud did not die on SIGKILL"
assert "[killed] the table stays" nft_table_exists "$NG" "$IG" || true
window killed 4
assert_eq "[killed] nothing plain from G on the uplink" 0 "$(field plain "$UP")" || true
assert_eq "[killed] nothing plain from G on the LAN" 0 "$(field plain "$LAN")" || true

t_finish
