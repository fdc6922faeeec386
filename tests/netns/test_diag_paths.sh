#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The two path failures test_diagnostics and test_send_errors leave out,
# each as the log and `show` name it. One wgud (A, wg-configured) with two
# peers that initiate at once (keepalive 1 s):
#  - F, an endpoint that does not exist (an IPv6 address on A's own link
#    that nobody has): the neighbour lookup fails, the kernel answers
#    "address unreachable", and A logs "sending failed: No route to host"
#    once; show says "last error: No route to host (...)" and "connecting";
#  - H, an endpoint no route leads to: "sending failed: Network is
#    unreachable", and show says so;
#  - G, UDP blocked on the way (B's namespace drops it silently): no error
#    comes back; A logs "no response from G after 2 handshake initiations"
#    with "UDP may be blocked" among the causes; show says "connecting:
#    no handshake response yet" and "last error: none".
# wireguard-go has no such messages: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 90
gw_init

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wgud's own messages"
	skip "test_diag_paths"
	t_finish
fi

pair_ns
PORT_A=$((20000 + RANDOM % 20000))
PORT_G=$((PORT_A + 1))
NOBODY=[$(addr_norm "${V6_2%::2}::77")]
NOWHERE=${V4_2%.*}.77
keypair KF PF
keypair KH PH
keypair KG PG
wgconf_iface "$CA" "$KA" "$PORT_A"
wgconf_peer "$CA" "$PF" "$TUN4.6/32" "$NOBODY:$PORT_G" "" 1
wgconf_peer "$CA" "$PG" "$TUN4.7/32" "$V4_2:$PORT_G" "" 1
wgconf_peer "$CA" "$PH" "$TUN4.8/32" "$NOWHERE:$PORT_G" "" 1
# B's namespace drops what comes to G's port, and answers nothing
nsx "$NB" nft -f - <<EOF
table inet t$T_ID {
	chain in { type filter hook input priority 0; udp dport $PORT_G drop; }
}
EOF
wg_node "$NA" "$IA" "$WGUD" "$CA" "$TUN4.1/24" "${TUN6}:1/64"
LOG_A=$T_TMP/$IA.log

assert "F: A logs that the endpoint does not exist (host unreachable), with the errno" \
	wait_for 20 "F's error in A's log" grep -qF "peer $NOBODY:$PORT_G: sending failed: No route to host" "$LOG_A"
assert "G: A logs no response, UDP blocked among the causes" wait_for 25 "no response from G" \
	grep -q "no response from $V4_2:$PORT_G after 2 handshake initiations.*UDP may be blocked" "$LOG_A"
assert "H: A logs that no route leads there" wait_for 10 "H's error in A's log" \
	grep -q "peer $NOWHERE:$PORT_G: sending failed: Network is unreachable" "$LOG_A"
assert_eq "F's error told once" "$(grep -cF "peer $NOBODY:$PORT_G: sending failed" "$LOG_A")" 1

SHOW=$(wctl "$NA" "$IA" show)
# block KEY: the lines of one peer in show
block() { awk -v k="peer: $1" '$0 == k { p = 1; next } /^peer: |^drops:/ { p = 0 } p' <<<"$SHOW"; }
assert "show: F's last error names the cause" grep -Eq "^  last error: No route to host( \(.*\))?, [0-9]+ seconds? ago$" <<<"$(block "$PF")"
assert "show: F is connecting" grep -Eq "^  tunnel: connecting: no handshake response yet" <<<"$(block "$PF")"
assert "show: H's last error" grep -Eq "^  last error: Network is unreachable, [0-9]+ seconds? ago$" <<<"$(block "$PH")"
assert "show: G is connecting, waiting for a response" \
	grep -Eq "^  tunnel: connecting: no handshake response yet \(attempt [0-9]+\)$" <<<"$(block "$PG")"
assert "show: G has no error (nothing came back)" grep -q "^  last error: none$" <<<"$(block "$PG")"
assert_json "show --json: last_error F EHOSTUNREACH, G null, H ENETUNREACH" "$NA" "$IA" \
	"{p['public_key']: (p['last_error'] or {}).get('errno') for p in j['peers']} == {'$PF': 113, '$PG': None, '$PH': 101}"

t_finish
