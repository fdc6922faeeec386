#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# LONG TEST (about 135 s): A = $WGUD against wireguard-go with a ping every
# 0.2 s for 130 s. WireGuard rekeys after 120 s (REKEY_AFTER_TIME); the new
# session must take over without losing traffic: at most 1 echo lost, and
# the latest handshake on A must have moved at least 120 s - slack after the
# first one.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_rekey.sh

source "$(dirname "$0")/lib.sh"
t_init 200

DURATION=130	# seconds of pinging
COUNT=$((DURATION * 5))
MAX_LOSS=1

log "LONG TEST: about $((DURATION + 5)) s of continuous ping across a rekey"
NS_A=$(nsname a)
NS_B=$(nsname b)
ns_create "$NS_A"
ns_create "$NS_B"
veth_link "$NS_A" "$NS_B" 0

IA=$(ifname a)
IB=$(ifname b)
PA=$((20000 + RANDOM % 20000))
PB=$((PA + 1))
keypair KA KPA
keypair KB KPB
wgconf_iface "$T_TMP/a.conf" "$KA" "$PA"
wgconf_peer "$T_TMP/a.conf" "$KPB" "$TUN4.2/32, $TUN6:2/128" "$V4_2:$PB"
wgconf_iface "$T_TMP/b.conf" "$KB" "$PB"
wgconf_peer "$T_TMP/b.conf" "$KPA" "$TUN4.1/32, $TUN6:1/128" "$V4_1:$PA"
wg_node "$NS_A" "$IA" "$WGUD" "$T_TMP/a.conf" "$TUN4.1/24" "$TUN6:1/64"
PID_A=$STARTED_PID
wg_node "$NS_B" "$IB" "$WGGO" "$T_TMP/b.conf" "$TUN4.2/24" "$TUN6:2/64"

# Handshake first (A initiates, so A's session is the one that ages out and
# A must start the rekey), then time the run from that handshake.
require "tunnel up before the long run" ping_wait "$NS_A" "$TUN4.2" 10
HS0=$(wg_handshake "$NS_A" "$IA" "$KPB")
require "A reports the first handshake" test "$HS0" -gt 0
log "first handshake at $HS0; pinging $COUNT times at 0.2 s intervals"

OUT=$(nsx "$NS_A" timeout $((DURATION + 30)) ping -n -q -c "$COUNT" -i 0.2 -W 2 "$TUN4.2" 2>&1) || true
log "ping: $(echo "$OUT" | tail -n 2 | head -n 1)"
if [[ $OUT =~ ([0-9]+)\ packets\ transmitted,\ ([0-9]+)\ received ]]; then
	SENT=${BASH_REMATCH[1]} RECV=${BASH_REMATCH[2]}
	assert_eq "all $COUNT echoes sent" "$COUNT" "$SENT" || true
	assert_le "echoes lost across the rekey" $((SENT - RECV)) "$MAX_LOSS" || true
else
	fail "cannot read the ping summary: $OUT"
fi

HS1=$(wg_handshake "$NS_A" "$IA" "$KPB")
HSB=$(wg_handshake "$NS_B" "$IB" "$KPA")
log "latest handshake on A: $HS0 -> $HS1 (+$((HS1 - HS0)) s), on B: $HSB"
assert_ne "A: a new handshake happened (rekey)" "$HS0" "$HS1" || true
assert_gt "A: the new handshake came after ~120 s (REKEY_AFTER_TIME)" $((HS1 - HS0)) 110 || true
assert "A is still running" pid_alive "$PID_A" || true

t_finish
