#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A restart with a fixed ListenPort always binds, at once:
#  - 40 times: `wgud --conf` with ListenPort, up, SIGTERM, exit 0;
#  - the moment it has exited, the UDP port (v4 and v6) binds for anyone
#    else, without SO_REUSEADDR: nothing of the stopped wgud holds it
#    (with io_uring, requests left in the ring would, for a while);
#  - the next start finds neither the port nor the TUN device busy.
# wireguard-go has no --conf: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 90

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode"
	skip "test_restart_bind"
	t_finish
fi

CYCLES=${CYCLES:-40}
pair_ns
PORT=$((20000 + RANDOM % 20000))
CA=$T_TMP/$IA.conf
wgquick_a "$CA" "$PORT" "$V4_2:$((PORT + 1))"

# A prober in NA, started once (a new python3 per check would give the
# kernel time the restart does not have): each line read is a port; it
# answers "free" if a plain bind (no SO_REUSEADDR) of it on v4 and v6
# succeeds, else the error.
coproc PROBE { nsx "$NA" python3 -u -c '
import socket, sys
for line in sys.stdin:
    err = None
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind((addr, int(line)))
        except OSError as e:
            err = err or "%s: %s" % (addr, e)
        s.close()
    print(err or "free")
'; }
register_pid "$PROBE_PID"

port_free()
{
	local answer
	echo "$1" >&"${PROBE[1]}"
	read -r answer <&"${PROBE[0]}"
	[[ $answer == free ]] || { echo "$answer"; return 1; }
}

started=0 stopped=0 freed=0 busy=0
for i in $(seq 1 "$CYCLES"); do
	LOG=$T_TMP/run$i.log
	ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" --conf "$CA" </dev/null >"$LOG" 2>&1 &
	pid=$!
	register_pid "$pid"
	if ! wait_for 10 "start $i" bash -c "grep -q 'up: listening on UDP port $PORT' '$LOG' || ! kill -0 $pid"; then
		fail "start $i did not come up: $(tail -n 3 "$LOG" | tr '\n' ' ')"
		break
	fi
	if grep -q "up: listening on UDP port $PORT" "$LOG"; then
		started=$((started + 1))
	else
		fail "start $i failed: $(tail -n 3 "$LOG" | tr '\n' ' ')"
		break
	fi
	if grep -q "busy" "$LOG"; then
		busy=$((busy + 1))
		log "start $i: $(grep busy "$LOG" | tr '\n' ' ')"
	fi
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	((rc == 0)) && stopped=$((stopped + 1))
	if err=$(port_free "$PORT" 2>&1); then
		freed=$((freed + 1))
	else
		log "after stop $i the port is still bound: $err"
	fi
done
assert_eq "every start bound UDP port $PORT" "$CYCLES" "$started"
assert_eq "every stop exited 0" "$CYCLES" "$stopped"
assert_eq "the port was free the moment wgud had exited" "$CYCLES" "$freed"
assert_eq "no start found the port or the TUN device busy" 0 "$busy"
t_finish
