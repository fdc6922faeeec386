#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wgud --conf --wait-up SECONDS:
#  - a live peer: the starter returns 0, and `wg show` shows a handshake
#    right after; the daemon runs on, detached;
#  - a dead peer: the starter returns 1 after about SECONDS, saying "no
#    handshake within SECONDS s" and why; the daemon keeps running;
#  - with NOTIFY_SOCKET: wgud stays in the foreground and sends READY=1
#    only once the handshake completed.
# wireguard-go has no --conf: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 90

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode"
	skip "test_wait_up"
	t_finish
fi

pair_ns
PORT_A=$((20000 + RANDOM % 20000))
PORT_B=$((PORT_A + 1))
wgconf_iface "$CB" "$KB" "$PORT_B"
wgconf_peer "$CB" "$PA" "$TUN4.1/32"
wg_node "$NB" "$IB" "$WGGO" "$CB" "$TUN4.2/24" "${TUN6}:2/64"

# write_a PEER_PORT: A's conf, its peer B at PEER_PORT, keepalive 1 s (so it initiates at once).
CA=$T_TMP/$IA.conf
write_a() { wgquick_a "$CA" "$PORT_A" "$V4_2:$1" 1; }

# stop_a: the detached wgud of IA stops with its interface.
stop_a()
{
	ip -n "$NA" link del "$IA" 2>/dev/null || true
	wait_for 5 "$IA's UAPI socket to go" bash -c "! [[ -S $(sock_path "$IA") ]]" || true
}

log "---- a live peer"
write_a "$PORT_B"
rc=0
START=$SECONDS
ip netns exec "$NA" "$WGUD" --conf "$CA" --wait-up 10 </dev/null >"$T_TMP/live.log" 2>&1 || rc=$?
assert_eq "the starter returns 0 with a live peer" 0 "$rc"
assert_le "and within the limit" $((SECONDS - START)) 10
assert_gt "wg show shows a handshake right after" "$(wg_handshake "$NA" "$IA" "$PB")" 0
assert "it said it waited for the handshake" grep -q "the first handshake completed within --wait-up 10" "$T_TMP/live.log"
assert "the detached daemon runs on" nsx "$NA" wg show "$IA"
stop_a

log "---- a dead peer"
write_a $((PORT_B + 7))
rc=0
START=$SECONDS
ip netns exec "$NA" "$WGUD" --conf "$CA" --wait-up 6 </dev/null >"$T_TMP/dead.log" 2>&1 || rc=$?
ELAPSED=$((SECONDS - START))
assert_eq "the starter returns 1 with a dead peer" 1 "$rc"
assert "after about 6 s" test "$ELAPSED" -ge 5 -a "$ELAPSED" -le 9
assert "it says no handshake within 6 s, and why" grep -q "no handshake within 6 s: no response from $V4_2:$((PORT_B + 7))" "$T_TMP/dead.log"
assert "the daemon keeps running" nsx "$NA" wg show "$IA"
stop_a

log "---- NOTIFY_SOCKET"
write_a "$PORT_B"
NOTES=$T_TMP/notify.out
nsx "$NA" "${T_GUARD[@]}" python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + ".ready", "w").close()
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096) + b"\n")
' "$T_TMP/notify.sock" "$NOTES" &
register_pid $!
wait_for 5 "the notify listener" test -e "$NOTES.ready" || die "no notify listener"
ip netns exec "$NA" env NOTIFY_SOCKET="$T_TMP/notify.sock" "${T_GUARD[@]}" "$WGUD" --conf "$CA" --wait-up 10 \
	</dev/null >"$T_TMP/notify.log" 2>&1 &
PID=$!
register_pid "$PID"
assert "READY=1 arrives" wait_for 10 "READY=1" grep -qx "READY=1" "$NOTES"
assert "READY=1 came after the handshake" grep -q "the first handshake completed within --wait-up 10" "$T_TMP/notify.log"
assert "wgud stayed in the foreground" pid_alive "$PID"
kill -TERM "$PID"
wait "$PID" || true
assert "STOPPING=1 at the stop" wait_for 5 "STOPPING=1" grep -qx "STOPPING=1" "$NOTES"
t_finish
