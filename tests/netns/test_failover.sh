#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# --failover: client A's conf lists two endpoints for server B, the first
# dead (B drops UDP to that port), the second B's. With --failover-after 6
# and the kill switch on:
#  - without --failover the same conf is refused, naming file:line;
#  - traffic flows through the tunnel within 6 s plus a few;
#  - A logs "no handshake with DEAD for 6 s, failing over to LIVE";
#  - meanwhile nothing but WireGuard UDP to the two endpoints left A (a
#    capture on B's end of the veth, of what A's MAC sent, while A also
#    tries plain ping and UDP to B outside the tunnel).
# wireguard-go has no --conf: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 120

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode and no failover"
	skip "test_failover"
	t_finish
fi

gw_init
pair_ns
PORT_A=$((20000 + RANDOM % 20000))
PORT_B=$((PORT_A + 1))
PORT_DEAD=$((PORT_A + 2))
DEAD=$V4_2:$PORT_DEAD LIVE=$V4_2:$PORT_B
A_UP=$VETH1 B_DOWN=$VETH2
CAP_SRC_MAC=$(if_mac "$NA" "$A_UP")
export CAP_SRC_MAC

# The dead endpoint: B drops what comes to its port, as a host that is gone would.
nsx "$NB" nft -f - <<-EOF2 || die "nft in $NB"
	table inet dead {
		chain input { type filter hook input priority 0; udp dport $PORT_DEAD drop; }
	}
EOF2

wgconf_iface "$CB" "$KB" "$PORT_B"
wgconf_peer "$CB" "$PA" "$TUN4.1/32"
wg_node "$NB" "$IB" "$WGUD" "$CB" "$TUN4.2/24" "${TUN6}:2/64"

CONF_A=$T_TMP/$IA.conf
wgquick_a "$CONF_A" "$PORT_A" "$DEAD, $LIVE"
LOG_A=$T_TMP/$IA.log

log "---- several endpoints without --failover"
rc=0
nsx "$NA" timeout 10 "$WGUD" --conf "$CONF_A" >"$T_TMP/refused.log" 2>&1 || rc=$?
assert "refused without --failover" test "$rc" -ne 0
assert "the refusal names file:line and the flag" \
	grep -qF "$CONF_A:9: Endpoint lists 2 endpoints: several endpoints need --failover" "$T_TMP/refused.log"
assert "nothing was left behind" bash -c "! ip -n '$NA' link show '$IA' >/dev/null 2>&1"

log "---- control: without wgud the plain tries are seen (the capture works)"
cap_start CAP "$NB" "$B_DOWN" "$T_TMP/control.pcap" --immediate-mode
nsx "$NA" ping -n -c1 -W1 -I "$A_UP" "$V4_2" >/dev/null 2>&1 || true
nsx "$NA" timeout 1 bash -c "echo plain >/dev/udp/$V4_2/7777" 2>/dev/null || true
cap_stop "$CAP"
assert_gt "[control] the plain tries show in the capture" "$(cap_plain "$T_TMP/control.pcap" "$DEAD" "$LIVE")" 0

log "---- the first endpoint dead, the kill switch on"
cap_start CAP "$NB" "$B_DOWN" "$T_TMP/failover.pcap" --immediate-mode
T0=$SECONDS
wgud_conf_start "$NA" "$CONF_A" "$LOG_A" --failover --failover-after 6 --kill-switch on
# Plain tries beside the tunnel's traffic, the whole time: none may leave A.
(
	while :; do
		nsx "$NA" ping -n -c1 -W1 -I "$A_UP" "$V4_2" >/dev/null 2>&1
		nsx "$NA" timeout 1 bash -c "echo plain >/dev/udp/$V4_2/7777" 2>/dev/null
		sleep 0.3
	done
) &
PROBES_PID=$!
register_pid "$PROBES_PID"
if ping_wait "$NA" "$TUN4.2" 20; then
	ELAPSED=$((SECONDS - T0))
	log "first echo through the tunnel after ${ELAPSED}s"
	assert_le "traffic flows within --failover-after plus a few seconds" "$ELAPSED" 14
else
	fail "no echo through the tunnel within 20 s"
fi
assert_ping "the tunnel keeps working after the failover" "$NA" "$TUN4.2"
sleep 1
kill_pid "$PROBES_PID"
cap_stop "$CAP"
assert "A logs the failover" grep -qE "no handshake with $DEAD for 6 s, failing over to $LIVE" "$LOG_A"
assert "A logs the handshake with the second endpoint" grep -q "handshake completed with peer $LIVE" "$LOG_A"
assert_eq "show: the endpoint is the second one" "$(wg_field "$NA" "$IA" endpoints "$PB")" "$LIVE"
OUT=$(CAP_SHOW=10 cap_classify "$T_TMP/failover.pcap" "$DEAD" "$LIVE")
log "capture: $(head -n 1 <<<"$OUT")"
PLAIN=$(sed -n '1s/.* plain=\([0-9]*\).*/\1/p' <<<"$OUT")
assert_eq "nothing but WireGuard UDP to the two endpoints left A $(tail -n +2 <<<"$OUT" | tr '\n' ';')" "$PLAIN" 0
assert_gt "initiations went to the dead endpoint first" \
	"$(cap_count "$T_TMP/failover.pcap" "udp and dst port $PORT_DEAD")" 0

t_finish
