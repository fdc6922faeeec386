#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The small-footprint setting: wgud with the fewest packet buffers it
# accepts (--buffers 256) still carries a tunnel to wireguard-go both ways,
# with either event loop (the io_uring ring may hold only part of the pool,
# or TUN reads starve).

source "$(dirname "$0")/lib.sh"
t_init 60

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: --buffers is wgud's"
	skip "test_small_pool"
	t_finish
fi

pair_ns

rm -f "$(sock_path "$IA")"
ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" -f --buffers 256 "$IA" </dev/null >"$T_TMP/a.log" 2>&1 &
PID=$!
register_pid "$PID"
require "wgud starts with 256 buffers" wait_for 10 "UAPI of $IA" impl_ready "$NA" "$IA" "$PID"

wgconf_iface "$CA" "$KA" 42001
wgconf_peer "$CA" "$PB" "$TUN4.2/32" "$V4_2:42002"
wgconf_iface "$CB" "$KB" 42002
wgconf_peer "$CB" "$PA" "$TUN4.1/32" "$V4_1:42001"
nsx "$NA" wg setconf "$IA" "$CA"
if_setup "$NA" "$IA" "$TUN4.1/24" "${TUN6}:1/64"
wg_node "$NB" "$IB" "$WGGO" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
assert_ping "ping through the tunnel" "$NA" "$TUN4.2"
iperf_bps BPS "$NB" "$TUN4.2" "$NA"
assert_gt "iperf3 A -> B with 256 buffers (bit/s)" "$BPS" 1000000 || true
iperf_bps BPS "$NA" "$TUN4.1" "$NB"
assert_gt "iperf3 B -> A with 256 buffers (bit/s)" "$BPS" 1000000 || true
assert "still running" pid_alive "$PID" || true
assert "exits when its interface is deleted" impl_stop "$NA" "$IA" "$PID" || true

t_finish
