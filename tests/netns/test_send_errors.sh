#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Send errors, told once per change and shown per peer. One wgud (A) with
# four peers on one pair of UDP sockets:
#  - B, a wgud that answers: its tunnel works throughout and its last error
#    stays none, although the sockets it shares get ICMP errors for others;
#  - C, an IPv4 endpoint where nothing listens: the log says "peer
#    ENDPOINT: sending failed: Connection refused (ICMP port unreachable
#    from ADDR)" once, however many initiations get the same answer, and
#    show says "last error: Connection refused (...), N seconds ago";
#    show --json has "last_error" {errno, message, detail, at, seconds_ago};
#  - D, the same over IPv6 (ICMPv6);
#  - E, an endpoint A's own firewall refuses (nftables drop on output): the
#    send fails with EPERM, is counted as send_error, and is told as such.
# wireguard-go has no such messages: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 120

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: these are wgud's own messages"
	skip "test_send_errors"
	t_finish
fi
command -v nft >/dev/null || die "nft is not installed"

pair_ns
PORT_A=$((20000 + RANDOM % 20000))
PORT_B=$((PORT_A + 1))
PORT_C=$((PORT_A + 2)) # nothing listens there, on either family
PORT_E=$((PORT_A + 3))
keypair KC PC
keypair KD PD
keypair KE PE
wgconf_iface "$CB" "$KB" "$PORT_B"
wgconf_peer "$CB" "$PA" "$TUN4.1/32"
wgconf_iface "$CA" "$KA" "$PORT_A"
wgconf_peer "$CA" "$PB" "$TUN4.2/32" "$V4_2:$PORT_B"
wgconf_peer "$CA" "$PC" "$TUN4.3/32" "$V4_2:$PORT_C"
wgconf_peer "$CA" "$PD" "$TUN4.4/32" "[$V6_2]:$PORT_C"
wgconf_peer "$CA" "$PE" "$TUN4.5/32" "$V4_2:$PORT_E"
nsx "$NA" nft -f - <<EOF
table inet t_send_errors {
	chain out {
		type filter hook output priority 0; policy accept;
		udp dport $PORT_E drop
	}
}
EOF
wg_node "$NB" "$IB" "$WGUD" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
wg_node "$NA" "$IA" "$WGUD" "$CA" "$TUN4.1/24" "${TUN6}:1/64"
LOG_A=$T_TMP/$IA.log
# inet_ntop's form of the veth's IPv6 addresses
V6_2N=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]))' "$V6_2")

log "---- ICMP port unreachable, IPv4 and IPv6"
nsx "$NA" ping -c 1 -W 1 "$TUN4.3" >/dev/null 2>&1 || true
nsx "$NA" ping -c 1 -W 1 "$TUN4.4" >/dev/null 2>&1 || true
assert "A logs C's refusal with the ICMP error and its sender" wait_for 10 "C's error in A's log" \
	grep -qF "peer $V4_2:$PORT_C: sending failed: Connection refused (ICMP port unreachable from $V4_2): nothing listens" "$LOG_A"
assert "A logs D's refusal (ICMPv6)" wait_for 10 "D's error in A's log" \
	grep -qF "peer [$V6_2N]:$PORT_C: sending failed: Connection refused (ICMPv6 port unreachable from $V6_2N)" "$LOG_A"

log "---- a refused send: A's own firewall"
nsx "$NA" ping -c 1 -W 1 "$TUN4.5" >/dev/null 2>&1 || true
assert "A logs E's refused send" wait_for 10 "E's error in A's log" \
	grep -qF "peer $V4_2:$PORT_E: sending failed: Operation not permitted: a firewall on this host refused it" "$LOG_A"

log "---- a working peer on the same sockets"
assert_ping "ping through B's tunnel" "$NA" "$TUN4.2"
assert "B's ping loses nothing while C's errors come in" \
	bash -c 'ip netns exec "$1" ping -c 20 -i 0.2 -W 1 -q "$2" >/dev/null' _ "$NA" "$TUN4.2"

log "---- show"
SHOW=$(nsx "$NA" "$WGUD" ctl "$IA" show)
block()
{
	awk -v k="$1" '/^peer: / { on = ($2 == k) } on' <<<"$SHOW"
}
assert "show: C's last error, with the ICMP error and its age" grep -Eq \
	"^  last error: Connection refused \(ICMP port unreachable from $V4_2\), [0-9]+ seconds? ago$" <<<"$(block "$PC")"
assert "show: D's last error (ICMPv6)" grep -Eq \
	"^  last error: Connection refused \(ICMPv6 port unreachable from $V6_2N\), [0-9]+ seconds? ago$" <<<"$(block "$PD")"
assert "show: E's last error" grep -Eq "^  last error: Operation not permitted, [0-9]+ seconds? ago$" <<<"$(block "$PE")"
assert "show: B has none" grep -q "^  last error: none$" <<<"$(block "$PB")"
assert "show: E's refused sends are counted" grep -Eq "^  send_error: [1-9][0-9]* " <<<"$SHOW"
JSON=$(nsx "$NA" "$WGUD" ctl "$IA" show --json)
assert "show --json: last_error per peer" python3 -c "
import errno, json, sys, time
j = json.loads(sys.argv[1])
p = {p['public_key']: p for p in j['peers']}
b, c, d, e = (p[k] for k in sys.argv[2:6])
assert b['last_error'] is None, b
le = c['last_error']
assert le['errno'] == errno.ECONNREFUSED and le['message'] == 'Connection refused', le
assert le['detail'] == 'ICMP port unreachable from ' + sys.argv[6], le
assert abs(le['at'] - time.time()) < 60 and 0 <= le['seconds_ago'] < 60, le
assert d['last_error']['detail'].startswith('ICMPv6 port unreachable'), d
assert e['last_error']['errno'] == errno.EPERM and e['last_error']['detail'] is None, e
assert j['drops']['send_error'] > 0, j['drops']
" "$JSON" "$PB" "$PC" "$PD" "$PE" "$V4_2"

log "---- once per change, not per packet"
# C's initiation is retried every 5 s, and refused every time.
assert "A says that nothing answers C" wait_for 20 "no response from C" \
	grep -q "no response from $V4_2:$PORT_C after" "$LOG_A"
assert_eq "C's refusal told once" "$(grep -cF "peer $V4_2:$PORT_C: sending failed" "$LOG_A")" 1
assert_eq "D's refusal told once" "$(grep -cF "peer [$V6_2N]:$PORT_C: sending failed" "$LOG_A")" 1
SHOW=$(nsx "$NA" "$WGUD" ctl "$IA" show)
assert "show: C's error is recent (the retries refresh it)" grep -Eq \
	"^  last error: Connection refused .*, [0-4] seconds? ago$" <<<"$(block "$PC")"

t_finish
