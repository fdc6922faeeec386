#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What wgud says at run time, wgud against wgud:
#  - a working tunnel: the log says "handshake completed ... (RTT ...)", and
#    `wgud ctl show` says "tunnel: up", the handshake's age ("... ago"), the
#    allowed ips and the keepalive; show --json says state "up"; neither
#    holds a private or preshared key;
#  - a client the server does not know: the server logs "unknown peer", the
#    client "no response from ENDPOINT" with the likely causes after its
#    first unanswered initiations, and its show says "connecting";
#  - a client using a wrong public key for the server: the server logs
#    "mac1 is wrong: a peer is using a different public key for us".
# wireguard-go logs otherwise: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 120

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: these are wgud's own messages"
	skip "test_diagnostics"
	t_finish
fi

pair_ns
PORT_A=$((20000 + RANDOM % 20000))
PORT_B=$((PORT_A + 1))
PSK=$(wg genpsk)
wgconf_iface "$CB" "$KB" "$PORT_B"
wgconf_peer "$CB" "$PA" "$TUN4.1/32" "" "$PSK"
wgconf_iface "$CA" "$KA" "$PORT_A"
wgconf_peer "$CA" "$PB" "$TUN4.2/32" "$V4_2:$PORT_B" "$PSK" 25
wg_node "$NB" "$IB" "$WGUD" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
wg_node "$NA" "$IA" "$WGUD" "$CA" "$TUN4.1/24" "${TUN6}:1/64"
LOG_A=$T_TMP/$IA.log LOG_B=$T_TMP/$IB.log

log "---- a working tunnel"
assert_ping "ping through the tunnel" "$NA" "$TUN4.2"
assert "A logs the completed handshake with its RTT" grep -Eq "handshake completed with peer $V4_2:$PORT_B \(RTT [0-9.]+ ms\)" "$LOG_A"
assert "B logs the completed handshake (A initiated)" grep -q "handshake completed with peer $V4_1:$PORT_A (it initiated)" "$LOG_B"
sleep 1.2
SHOW=$(nsx "$NA" "$WGUD" ctl "$IA" show)
assert "show: the tunnel is up" grep -q "^  tunnel: up$" <<<"$SHOW"
assert "show: the handshake's age in words" grep -Eq "^  latest handshake: [0-9]+ seconds? ago$" <<<"$SHOW"
assert "show: the allowed ips" grep -q "^  allowed ips: $TUN4.2/32$" <<<"$SHOW"
assert "show: the keepalive" grep -q "^  persistent keepalive: every 25 seconds$" <<<"$SHOW"
assert "show: the endpoint" grep -q "^  endpoint: $V4_2:$PORT_B$" <<<"$SHOW"
JSON=$(nsx "$NA" "$WGUD" ctl "$IA" show --json)
assert "show --json: state up, allowed ips, keepalive, raw numbers" python3 -c "
import json, sys
j = json.loads(sys.argv[1])
p = [p for p in j['peers'] if p['public_key'] == sys.argv[2]][0]
assert p['state'] == 'up' and p['state_reason'] is None, p
assert p['allowed_ips'] == [sys.argv[3] + '/32'], p
assert p['persistent_keepalive'] == 25, p
assert isinstance(p['latest_handshake'], int) and p['latest_handshake'] > 1700000000, p
assert p['rx_bytes'] > 0 and p['tx_bytes'] > 0, p
" "$JSON" "$PB" "$TUN4.2"
for secret in "$KA" "$PSK"; do
	assert "no private or preshared key in show" bash -c '! grep -qF -- "$1" <<<"$2$3"' _ "$secret" "$SHOW" "$JSON"
	assert "no private or preshared key in the logs" bash -c '! grep -qF -- "$1" "$2" "$3"' _ "$secret" "$LOG_A" "$LOG_B"
done

log "---- a client the server does not know"
keypair K2 P2
nsx "$NA" wg set "$IA" private-key <(echo "$K2")
nsx "$NA" ping -c 3 -i 0.3 -W 1 "$TUN4.2" >/dev/null 2>&1 || true
assert "B logs: unknown peer" wait_for 10 "unknown peer in B's log" grep -q "refused a handshake message from $V4_1:$PORT_A: unknown peer" "$LOG_B"
assert "A logs: no response, with the likely causes" wait_for 20 "no response in A's log" \
	grep -q "no response from $V4_2:$PORT_B after 2 handshake initiations.*different public key" "$LOG_A"
SHOW=$(nsx "$NA" "$WGUD" ctl "$IA" show)
assert "show: connecting, waiting for a response" grep -Eq "^  tunnel: connecting: no handshake response yet \(attempt [0-9]+\)$" <<<"$SHOW"
JSON=$(nsx "$NA" "$WGUD" ctl "$IA" show --json)
assert "show --json: state connecting" python3 -c "
import json, sys
p = json.loads(sys.argv[1])['peers'][0]
assert p['state'] == 'connecting' and 'no handshake response' in p['state_reason'], p
" "$JSON"

log "---- a client with a wrong public key for the server"
keypair KX PX
nsx "$NA" wg set "$IA" private-key <(echo "$KA") peer "$PB" remove
nsx "$NA" wg set "$IA" peer "$PX" allowed-ips "$TUN4.2/32" endpoint "$V4_2:$PORT_B"
nsx "$NA" ping -c 2 -i 0.3 -W 1 "$TUN4.2" >/dev/null 2>&1 || true
assert "B logs: mac1 wrong" wait_for 10 "mac1 in B's log" \
	grep -q "refused a handshake message from $V4_1:$PORT_A: mac1 is wrong: a peer is using a different public key for us" "$LOG_B"
assert_eq "B says each refusal reason at most once per 30 s" \
	"$(grep -c 'mac1 is wrong' "$LOG_B")" 1

t_finish
