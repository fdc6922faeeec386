#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# systemd's readiness protocol without systemd: with NOTIFY_SOCKET set,
# `wgud --conf` sends the datagram READY=1 once the interface is up and
# STOPPING=1 when it stops; to a socket path and to an abstract ('@') name.
# wireguard-go has no --conf: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 60

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode"
	skip "test_sd_notify"
	t_finish
fi

pair_ns
PORT=$((20000 + RANDOM % 20000))
CA=$T_TMP/$IA.conf
wgquick_a "$CA" "$PORT" "$V4_2:$((PORT + 1))"

# listen ADDRESS OUT: datagrams at ADDRESS ('@' = abstract) into OUT, one a line.
listen()
{
	nsx "$NA" "${T_GUARD[@]}" python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:] if sys.argv[1][0] == "@" else sys.argv[1])
open(sys.argv[2] + ".ready", "w").close()
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096) + b"\n")
' "$1" "$2" &
	register_pid $!
	wait_for 5 "listener at $1" test -e "$2.ready" || die "no listener at $1"
}

for where in "$T_TMP/notify.sock" "@wgud-test-notify-$T_ID"; do
	OUT=$T_TMP/notify.$RANDOM
	listen "$where" "$OUT"
	ip netns exec "$NA" env NOTIFY_SOCKET="$where" "${T_GUARD[@]}" "$WGUD" --conf "$CA" </dev/null >"$T_TMP/a.log" 2>&1 &
	PID=$!
	register_pid "$PID"
	assert "READY=1 at $where" wait_for 10 "READY=1" grep -qx "READY=1" "$OUT"
	assert "the interface is up when READY=1 came" grep -q "up: listening" "$T_TMP/a.log"
	kill -TERM "$PID"
	rc=0
	wait "$PID" || rc=$?
	assert_eq "wgud stopped cleanly" 0 "$rc"
	assert "STOPPING=1 at $where, after READY=1" wait_for 5 "STOPPING=1" \
		bash -c "[[ \$(tr '\n' ' ' <'$OUT') == 'READY=1 STOPPING=1 ' ]]"
done
assert "no warning about NOTIFY_SOCKET" bash -c "! grep -q NOTIFY_SOCKET '$T_TMP/a.log'"
t_finish
