#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Health in real time, nothing shortened: wgud (A, `--conf --kill-switch on
# --metrics`) with a live tunnel to B, then B killed. `wgud ctl IFACE health`
# keeps exiting 0 while A's latest handshake is younger than
# REJECT_AFTER_TIME (180 s; A keeps sending and retrying meanwhile), then
# exits 1 within a few seconds of it, its one line naming the peer's
# endpoint; wgud_tunnel_up and wgud_healthy drop to 0 and show says the
# kill switch holds traffic. Runs once (the uring variant): it is about
# time, not the event loop, and takes over 3 minutes.

source "$(dirname "$0")/lib.sh"
t_init 300
gw_init

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wgud's own control commands"
	skip "test_health_expiry"
	t_finish
fi
metrics_pair 127.0.0.1

scrape() { prom_scrape "$NA" "$IA" "$MPORT" "$1"; }
metric() { prom_metric "$@"; }
has_metric() { prom_metric "$@" >/dev/null; }

assert_ping "ping through the tunnel" "$NA" "$TUN4.2"
wctl_rc rc "$NA" "$IA" health
assert_eq "health exits 0 on a live tunnel" "$rc" 0

log "---- the server gone: healthy until REJECT_AFTER_TIME, then not (real time)"
nsx "$NA" ping -c 1 -W 1 "$TUN4.2" >/dev/null 2>&1 || true
HS=$(wg_handshake "$NA" "$IA" "$PB")
kill_pid "$PID_B"
BAD_AT=""
while :; do
	now=$(date +%s)
	wctl_rc rc "$NA" "$IA" health
	if [[ $rc != 0 ]]; then
		BAD_AT=$now
		break
	fi
	((now < HS + 200)) || break
	# traffic keeps the client trying (and must not refresh anything)
	nsx "$NA" ping -c 1 -W 1 "$TUN4.2" >/dev/null 2>&1 || true
	sleep 2
done
log "latest handshake at $HS, health failed at ${BAD_AT:-never} ($((${BAD_AT:-0} - HS)) s later): ${CTL_ERR:-}"
assert "health failed within REJECT_AFTER_TIME and a few seconds" test -n "$BAD_AT"
assert_ge_180() { ((BAD_AT - HS >= 178)); }
assert "health stayed 0 while the session was younger than 180 s" assert_ge_180
assert "health exits 1 naming the peer's endpoint and the age" \
	grep -q "unhealthy: no handshake with the peer at $V4_2:$PORT_B for over 180 s" <<<"$CTL_ERR"
M=$(scrape http)
assert_eq "wgud_tunnel_up 0" "$(metric "$M" wgud_tunnel_up "$L")" 0
assert_eq "wgud_healthy 0" "$(metric "$M" wgud_healthy "interface=$IA")" 0
SHOW=$(wctl "$NA" "$IA" show)
assert "show: the kill switch holds traffic with no session up" \
	grep -Eq "^  kill switch: on, enforced: no session is up: traffic is held, only handshakes leave$" <<<"$SHOW"

t_finish
