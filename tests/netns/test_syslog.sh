#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A daemonized `wgud IFACE` (no -f) logs to syslog once it has left the
# terminal: its run-time lines (a completed handshake, the stop) arrive at
# /dev/log with the daemon facility, the right priority and the ident
# wgud[PID]. This machine has no /dev/log: the test runs wgud in a mount
# namespace of its own whose /dev is a tmpfs holding copies of the few
# device nodes needed and a listening socket at /dev/log. The host's /dev
# is never written.
# wireguard-go logs otherwise: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 60

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wgud's own syslog"
	skip "test_syslog"
	t_finish
fi
command -v unshare >/dev/null || die "unshare (util-linux) is needed"

pair_ns
PORT_A=$((20000 + RANDOM % 20000))
PORT_B=$((PORT_A + 1))
wgconf_iface "$CB" "$KB" "$PORT_B"
wgconf_peer "$CB" "$PA" "$TUN4.1/32"
wg_node "$NB" "$IB" "$WGGO" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
wgconf_iface "$CA" "$KA" "$PORT_A"
wgconf_peer "$CA" "$PB" "$TUN4.2/32" "$V4_2:$PORT_B"

SYSLOG=$T_TMP/syslog
INNER=$T_TMP/inner.sh
cat >"$INNER" <<'INNER_EOF'
set -euo pipefail
# In a private mount namespace: nothing below reaches the host's mounts.
mount --make-rprivate /
mkdir -p "$T_TMP/dev"
mount --rbind /dev "$T_TMP/dev"
mount -t tmpfs -o mode=755 wgud-test-dev /dev
cp -a "$T_TMP/dev/null" "$T_TMP/dev/zero" "$T_TMP/dev/full" "$T_TMP/dev/random" "$T_TMP/dev/urandom" "$T_TMP/dev/net" /dev/
python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$SYSLOG" &
LISTENER=$!
for _ in $(seq 50); do [[ -e $SYSLOG.ready ]] && break; sleep 0.1; done
[[ -S /dev/log ]] || { echo "no listener at /dev/log"; exit 2; }
# detaches: the starter returns once the interface is up
ip netns exec "$NA" env -u WG_PROCESS_FOREGROUND "$WGUD" "$IA" >"$T_TMP/start.log" 2>&1 || { echo "start failed"; exit 3; }
ip netns exec "$NA" wg setconf "$IA" "$CA"
ip -n "$NA" addr add "$TUN4.1/24" dev "$IA"
ip -n "$NA" link set "$IA" up
ip netns exec "$NA" ping -c 3 -W 2 "$TUN4.2" >/dev/null || echo "no ping"
for _ in $(seq 50); do grep -q "handshake completed" "$SYSLOG" 2>/dev/null && break; sleep 0.1; done
ip -n "$NA" link del "$IA"
for _ in $(seq 50); do grep -q "interface deleted; stopping" "$SYSLOG" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
kill "$LISTENER"
INNER_EOF
export T_TMP SYSLOG NA IA CA WGUD TUN4
assert "the daemonized wgud ran in a mount namespace with a /dev/log listener" \
	unshare --mount bash "$INNER"
assert "the host's /dev has no log socket left" test ! -e /dev/log
log "syslog got: $(head -c 2000 "$SYSLOG" 2>/dev/null | tr '\n' '|')"
# <30>: facility daemon (3 << 3) + priority info (6)
assert "the starter printed the start-up lines on its stderr" grep -q "crypto on" "$T_TMP/start.log"
assert "syslog: the first line after detaching, daemon.info, ident wgud[PID]" \
	grep -Eq "^<30>.*wgud\[[0-9]+\]: $IA: up: listening on UDP port" "$SYSLOG"
assert "syslog: the completed handshake, daemon.info, ident wgud[PID]" \
	grep -Eq "^<30>.*wgud\[[0-9]+\]: $IA: handshake completed with peer $V4_2:$PORT_B" "$SYSLOG"
assert "syslog: the stop line" grep -Eq "^<30>.*wgud\[[0-9]+\]: $IA: interface deleted; stopping" "$SYSLOG"
assert "syslog: the start-up lines only once, on the starter's stderr" bash -c "! grep -q 'crypto on' '$SYSLOG'"
# <27>: daemon.err; an error line carries no other priority
assert "syslog: error lines at priority err" bash -c "! grep ': error: ' '$SYSLOG' | grep -qv '^<27>'"
t_finish
