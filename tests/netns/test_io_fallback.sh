#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# With io_uring refused by a seccomp filter (as Docker's default profile
# does), wgud says so once, falls back to epoll with recvmmsg/sendmmsg and
# works the same against wireguard-go; `--io uring` forced under the same
# filter refuses to start with a clear error.
# NO_URING_EXEC is build/tests/no_uring_exec (ctest sets it).

source "$(dirname "$0")/lib.sh"
t_init 60

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no io_uring loop"
	skip "test_io_fallback"
	t_finish
fi
NOU=${NO_URING_EXEC:-$NETNS_DIR/../../build/tests/no_uring_exec}
[[ -x $NOU ]] || die "NO_URING_EXEC=$NOU is not built"

pair_ns

log "---- forced io_uring under the filter"
RC=0
nsx "$NA" env -u WGUD_IO timeout 5 "$NOU" "$WGUD" -f --io uring "$IA" </dev/null >/dev/null 2>"$T_TMP/forced.err" || RC=$?
assert_ne "refuses to start" 0 "$RC" || true
assert "says why" grep -qi "io_uring" "$T_TMP/forced.err" || true
assert "no interface left behind" bash -c "! ip -n '$NA' link show '$IA' 2>/dev/null" || true

log "---- automatic fallback"
rm -f "$(sock_path "$IA")"
ip netns exec "$NA" env -u WGUD_IO "${T_GUARD[@]}" "$NOU" "$WGUD" -f "$IA" </dev/null >"$T_TMP/a.log" 2>&1 &
PID=$!
register_pid "$PID"
require "wgud starts under the filter" wait_for 10 "UAPI of $IA" impl_ready "$NA" "$IA" "$PID"
assert "reports the fallback once" test "$(grep -c 'io_uring not used' "$T_TMP/a.log")" = 1 || true
assert "runs the epoll loop" grep -q "epoll event loop" "$T_TMP/a.log" || true

wgconf_iface "$CA" "$KA" 40001
wgconf_peer "$CA" "$PB" "$TUN4.2/32" "$V4_2:40002"
wgconf_iface "$CB" "$KB" 40002
wgconf_peer "$CB" "$PA" "$TUN4.1/32" "$V4_1:40001"
nsx "$NA" wg setconf "$IA" "$CA"
if_setup "$NA" "$IA" "$TUN4.1/24" "${TUN6}:1/64"
wg_node "$NB" "$IB" "$WGGO" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
assert_ping "tunnel works on the fallback loop" "$NA" "$TUN4.2"
iperf_bps BPS "$NB" "$TUN4.2" "$NA"
assert_gt "iperf3 through the fallback loop (bit/s)" "$BPS" 0 || true
assert "exits when its interface is deleted" impl_stop "$NA" "$IA" "$PID" || true

t_finish
