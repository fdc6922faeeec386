#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What a reduced build promises, in a namespace of its own:
#  - without nftables (WGUD_NFTABLES=OFF): libnftnl is not linked; a conf
#    whose full tunnel turns the kill switch on is refused with the
#    gateway's own message, exit non-zero, nothing left behind (interface,
#    policy rules); one with host routes only starts, on the data plane's
#    guarantee alone;
#  - without io_uring (WGUD_IO_URING=OFF): liburing is not linked; `--io
#    uring` says this build has none and runs the epoll loop.
# ctest registers it in reduced builds only and tells it which (WGUD_NFTABLES,
# WGUD_IO_URING: ON or OFF).
#
# Run by hand, as root: WGUD=build-small/wgud WGUD_NFTABLES=OFF WGUD_IO_URING=OFF tests/small/test_reduced.sh

source "$(dirname "$0")/../netns/lib.sh"
t_init 60

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go is not a build of wgud"
	skip "test_reduced"
	t_finish
fi

NS=$(nsname a)
ns_create "$NS"
IF=$(ifname a)
keypair K P
keypair KP PP
CONF=$T_TMP/$IF.conf

# write_conf ALLOWEDIPS
write_conf()
{
	{
		echo "[Interface]"
		echo "PrivateKey = $K"
		echo "Address = $TUN4.1/24"
		echo
		echo "[Peer]"
		echo "PublicKey = $PP"
		echo "AllowedIPs = $1"
		echo "Endpoint = 198.51.100.2:51820"
	} >"$CONF"
	chmod 600 "$CONF"
}

# start_wgud LOG ARGS...: wgud --conf in NS; sets PID
start_wgud()
{
	local log=$1
	shift
	ip netns exec "$NS" "${T_GUARD[@]}" "$WGUD" --conf "$CONF" "$@" </dev/null >"$log" 2>&1 &
	PID=$!
	register_pid "$PID"
}

stop_wgud()
{
	kill -TERM "$PID" 2>/dev/null
	pid_wait_exit "$PID" 5 || kill_pid "$PID"
}

if [[ ${WGUD_NFTABLES:-ON} == OFF ]]; then
	log "---- a build without nftables"
	assert "libnftnl is not linked" bash -c "! ldd '$WGUD' 2>/dev/null | grep -q libnftnl" || true
	write_conf "0.0.0.0/0"
	start_wgud "$T_TMP/full.log"
	assert "a full tunnel (kill switch on) is refused" pid_wait_exit "$PID" 10 || kill_pid "$PID"
	wait "$PID" && RC=0 || RC=$?
	assert_ne "exit status" 0 "$RC" || true
	assert "the refusal says why" grep -q "needs a firewall" "$T_TMP/full.log" || true
	assert "no interface left behind" bash -c "! ip -n '$NS' link show '$IF' 2>/dev/null" || true
	assert "no policy rule left behind" bash -c "! ip -n '$NS' -4 rule show | grep -q 'fwmark\|suppress_prefixlength'" || true

	write_conf "$TUN4.2/32"
	start_wgud "$T_TMP/split.log"
	assert "host routes only: starts" wait_for 10 "$IF up" grep -q " up: " "$T_TMP/split.log" || true
	assert "and says the data plane alone guards it" grep -q "only the data plane keeps traffic in the tunnel" "$T_TMP/split.log" || true
	stop_wgud
fi

if [[ ${WGUD_IO_URING:-ON} == OFF ]]; then
	log "---- a build without io_uring"
	assert "liburing is not linked" bash -c "! ldd '$WGUD' 2>/dev/null | grep -q liburing" || true
	write_conf "$TUN4.2/32"
	start_wgud "$T_TMP/uring.log" --io uring --no-firewall
	assert "--io uring starts" wait_for 10 "$IF up" grep -q " up: " "$T_TMP/uring.log" || true
	assert "says this build has no io_uring" grep -q "this build has no io_uring (-DWGUD_IO_URING=OFF)" "$T_TMP/uring.log" || true
	assert "runs the epoll loop" grep -q "epoll event loop" "$T_TMP/uring.log" || true
	stop_wgud
fi

t_finish
