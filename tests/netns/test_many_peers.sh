#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A large server: $WGUD with 10,000 peers of 4 allowed-ips each (one of them
# a real wireguard-go peer, the rest random keys), all in one `wg setconf`.
#  - setconf and `wg show dump` each finish within a few seconds;
#  - the dump lists all 10,000 peers with their 40,000 allowed-ips;
#  - a ping through the real peer loses nothing while `wg show` and
#    `wg set ... persistent-keepalive 0` run in a loop;
#  - removing a peer and changing one peer's allowed-ips are quick too.
# Logs the resident memory per peer.

source "$(dirname "$0")/lib.sh"
t_init 120

N_PEERS=${N_PEERS:-10000}
LIMIT_S=${LIMIT_S:-10}

pair_ns

# The real peer first, then N_PEERS - 1 random 32-byte keys (wg takes any 32
# bytes as a public key), each with three IPv4 /26s and one IPv6 /64.
wgconf_iface "$CA" "$KA" 41001
python3 - "$CA" "$PB" "$TUN4" "$V4_2" "$N_PEERS" <<'PY'
import base64, os, sys
path, real, tun4, ep, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
with open(path, "a") as f:
    f.write(f"\n[Peer]\nPublicKey = {real}\nAllowedIPs = {tun4}.2/32, 203.0.113.0/26, 203.0.113.64/26, 2001:db8::/64\n"
            f"Endpoint = {ep}:41002\n")
    for i in range(1, n):
        key = base64.b64encode(os.urandom(32)).decode()
        a, b = i >> 8, i & 255
        f.write(f"\n[Peer]\nPublicKey = {key}\nAllowedIPs = 10.{a}.{b}.0/26, 10.{a}.{b}.64/26, "
                f"10.{a}.{b}.128/26, fd00:1:{i:x}::/64\n")
PY
wgconf_iface "$CB" "$KB" 41002
wgconf_peer "$CB" "$PA" "$TUN4.1/32" "$V4_1:41001"

impl_start "$NA" "$IA" "$WGUD"
PIDA=$STARTED_PID
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
RSS0=$(rss_kib "$PIDA")

now() { date +%s.%N; }
# elapsed START: seconds since START, to the millisecond
elapsed() { python3 -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$(now)"; }
# within SECONDS LIMIT: SECONDS < LIMIT
within() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$1" "$2"; }

log "---- setconf with $N_PEERS peers"
T0=$(now)
require "wg setconf with $N_PEERS peers" nsx "$NA" wg setconf "$IA" "$CA"
SETCONF_S=$(elapsed "$T0")
assert "setconf took ${SETCONF_S}s (< ${LIMIT_S}s)" within "$SETCONF_S" "$LIMIT_S" || true
if_setup "$NA" "$IA" "$TUN4.1/24" "${TUN6}:1/64"
RSS1=$(rss_kib "$PIDA")
log "memory: RSS $RSS0 KiB with no peers, $RSS1 KiB with $N_PEERS: $(( (RSS1 - RSS0) * 1024 / N_PEERS )) bytes per peer"

log "---- wg show dump"
T0=$(now)
require "wg show dump" bash -c "ip netns exec '$NA' wg show '$IA' dump >'$T_TMP/dump'"
DUMP_S=$(elapsed "$T0")
assert "dump took ${DUMP_S}s (< ${LIMIT_S}s)" within "$DUMP_S" "$LIMIT_S" || true
# The first line is the interface, then one line per peer.
assert_eq "the dump lists every peer" "$N_PEERS" "$(($(wc -l <"$T_TMP/dump") - 1))" || true
assert_eq "the dump has every allowed-ip" $((4 * N_PEERS)) \
	"$(awk 'NR > 1 { n += split($4, a, ",") } END { print n }' "$T_TMP/dump")" || true
assert "the real peer's allowed-ips are in the order given" \
	grep -q "^$PB	.*	$TUN4.2/32,203.0.113.0/26,203.0.113.64/26,2001:db8::/64	" "$T_TMP/dump" || true

log "---- the real peer"
wg_node "$NB" "$IB" "$WGGO" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
assert_ping "tunnel up through one peer of $N_PEERS" "$NA" "$TUN4.2"

log "---- no loss while wg show and wg set run"
FAKE=$(awk 'NR == 3 { print $1 }' "$T_TMP/dump")
nsx "$NA" ping -n -q -c 40 -i 0.05 -W 2 "$TUN4.2" >"$T_TMP/ping.out" 2>&1 &
PING=$!
register_pid "$PING"
ROUNDS=0
while pid_alive "$PING"; do
	nsx "$NA" wg show "$IA" >/dev/null
	nsx "$NA" wg set "$IA" peer "$FAKE" persistent-keepalive 0
	nsx "$NA" wg set "$IA" peer "$PB" persistent-keepalive 0
	ROUNDS=$((ROUNDS + 1))
done
wait "$PING" || true
RECEIVED=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_TMP/ping.out")
assert_gt "control rounds ran during the ping" "$ROUNDS" 0 || true
assert_eq "40 of 40 echoes answered during $ROUNDS rounds of wg show + wg set" 40 "${RECEIVED:-0}" || true

log "---- changing one peer"
T0=$(now)
require "wg set allowed-ips on one peer" nsx "$NA" wg set "$IA" peer "$FAKE" allowed-ips 10.255.255.0/24
require "wg set remove on one peer" nsx "$NA" wg set "$IA" peer "$(awk 'NR == 4 { print $1 }' "$T_TMP/dump")" remove
ONE_S=$(elapsed "$T0")
assert "two one-peer changes took ${ONE_S}s (< 2s)" within "$ONE_S" 2 || true
assert_eq "the changed peer has its new allowed-ip" "10.255.255.0/24" \
	"$(wg_field "$NA" "$IA" allowed-ips "$FAKE")" || true
assert_eq "one peer fewer" $((N_PEERS - 1)) "$(nsx "$NA" wg show "$IA" peers | wc -l)" || true
assert_ping "tunnel still up" "$NA" "$TUN4.2"
log "figures: setconf ${SETCONF_S}s, dump ${DUMP_S}s, RSS $(( (RSS1 - RSS0) * 1024 / N_PEERS )) B/peer"

t_finish
