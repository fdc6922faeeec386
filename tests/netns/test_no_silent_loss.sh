#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# No packet lost without a counter saying why, at full rate, with the loop
# $WGUD_IO picks and the offloads as $WGUD_OFFLOAD sets them. A floods B
# through the tunnel (UDP to a port nobody listens on in B, then a TCP
# stream); in B's namespace, where wgud's socket is the only UDP socket that
# receives anything, three books must balance:
#
#   what the kernel handed to B's UDP sockets (Udp InDatagrams; with UDP GRO
#     a buffer of many datagrams counts once) = the buffers wgud read
#     (show --json io.udp_reads);
#   the datagrams in them (io.udp_datagrams) = the packets wgud wrote to TUN
#     (io.tun_packets) + the packets it counted as dropped (every reason but
#     those only the TUN -> peer path counts: B's kernel sends a router
#     solicitation or two into the tunnel, dropped as no_route);
#   the TUN writes wgud made (io.tun_writes; a coalesced super-packet is
#     one) = the packets the interface received (the TUN's rx_packets).
#
# The window starts after the handshake and ends long before a keepalive is
# due (10 s after the last received data), so every datagram in it is a data
# message. Datagrams the kernel dropped before wgud read them (socket buffer
# overflow) are not in InDatagrams; wgud reports those as socket_overflow
# (SO_RXQ_OVFL), and the test checks them against Udp RcvbufErrors. Last,
# datagrams up to the largest a UDP socket takes are received whole.
#
# Run by hand, as root: WGUD=/path/to/wgud WGUD_IO=uring tests/netns/test_no_silent_loss.sh

source "$(dirname "$0")/lib.sh"
t_init 90
command -v iperf3 >/dev/null || die "iperf3 is not installed"

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: the drop counters are wgud's"
	skip "test_no_silent_loss"
	t_finish
fi

FLOOD_SECONDS=${FLOOD_SECONDS:-5}
pair_up "$WGUD" "$WGUD" 42001
assert_ping "ping through the tunnel (handshake done before the window)" "$NA" "$TUN4.2"

# The books, all read in B's namespace:
# "INDATAGRAMS RCVBUFERRORS TUN_RX UDP_READS UDP_DATAGRAMS TUN_WRITES TUN_PACKETS WGUD_DROPS SOCKET_OVERFLOW"
books()
{
	local snmp tun drops
	snmp=$(nsx "$NB" awk '/^Udp:/ { if (h) { print $2, $6; exit } h = 1 }' /proc/net/snmp)
	tun=$(nsx "$NB" cat "/sys/class/net/$IB/statistics/rx_packets")
	drops=$(wctl "$NB" "$IB" show --json | python3 -c 'import json, sys
j = json.load(sys.stdin)
d, io = j["drops"], j["io"]
out = ("no_route", "no_endpoint", "staged_overflow", "staged_expired", "send_error")
print(io["udp_reads"], io["udp_datagrams"], io["tun_writes"], io["tun_packets"],
      sum(v for k, v in d.items() if k not in out), d.get("socket_overflow", 0))')
	echo "$snmp $tun $drops"
}

# Each named drop reason that moved, for the log.
drops_json()
{
	wctl "$NB" "$IB" show --json | python3 -c 'import json, sys
print({k: v for k, v in json.load(sys.stdin)["drops"].items() if v})'
}

# check LABEL BEFORE AFTER: the three books over the window.
check()
{
	local label=$1 in0 rb0 tun0 rd0 dg0 tw0 tp0 dr0 ov0 in1 rb1 tun1 rd1 dg1 tw1 tp1 dr1 ov1
	read -r in0 rb0 tun0 rd0 dg0 tw0 tp0 dr0 ov0 <<<"$2"
	read -r in1 rb1 tun1 rd1 dg1 tw1 tp1 dr1 ov1 <<<"$3"
	log "$label: the kernel handed over $((in1 - in0)) (wgud read $((rd1 - rd0)) buffers of $((dg1 - dg0)) datagrams);" \
		"wgud wrote $((tp1 - tp0)) packets in $((tw1 - tw0)) writes (the interface received $((tun1 - tun0)));" \
		"counted $((dr1 - dr0)) drops (socket_overflow $((ov1 - ov0)), kernel RcvbufErrors $((rb1 - rb0))); $(drops_json)"
	assert_gt "$label: traffic arrived" $((dg1 - dg0)) 1000 || true
	assert_eq "$label: what the kernel handed over = the buffers wgud read" $((in1 - in0)) $((rd1 - rd0)) || true
	assert_eq "$label: datagrams read = packets written to TUN + counted drops" $((dg1 - dg0)) \
		$((tp1 - tp0 + dr1 - dr0 - (ov1 - ov0))) || true
	assert_eq "$label: TUN writes = packets the interface received" $((tw1 - tw0)) $((tun1 - tun0)) || true
	assert_eq "$label: the kernel's socket drops are reported as socket_overflow" $((rb1 - rb0)) $((ov1 - ov0)) || true
}

# Full rate: two senders, 1200-byte datagrams, as fast as A's wgud takes them.
flood()
{
	nsx "$NA" timeout $((FLOOD_SECONDS + 5)) python3 -c '
import errno, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + float(sys.argv[2])
buf = b"x" * 1200
while time.monotonic() < end:
    for _ in range(256):
        try:
            s.sendto(buf, (sys.argv[1], 9))
        except OSError as e:
            if e.errno not in (errno.ENOBUFS, errno.EAGAIN, errno.ECONNREFUSED):
                raise
' "$TUN4.2" "$FLOOD_SECONDS"
}

B0=$(books)
flood &
F1=$!
flood &
F2=$!
register_pid "$F1"
register_pid "$F2"
wait "$F1" "$F2" || true
sleep 1 # what is in flight lands
check "UDP flood" "$B0" "$(books)"

B0=$(books)
iperf_bps BPS "$NB" "$TUN4.2" "$NA"
sleep 1
log "iperf3 TCP A -> B: $BPS bit/s"
check "TCP stream" "$B0" "$(books)"
# The sender's side: what the kernel could not queue to wgud's TUN reads is
# the link's tx_dropped, and show says it.
assert_eq "show reports the kernel's TUN queue drops on the sender (the link's tx_dropped)" \
	"$(nsx "$NA" cat "/sys/class/net/$IA/statistics/tx_dropped")" \
	"$(wctl "$NA" "$IA" show --json | python3 -c 'import json, sys
print(json.load(sys.stdin)["kernel_drops"]["tun_queue_full"])')" || true

# Datagrams up to the largest a UDP socket takes (65507 bytes over IPv4)
# are received whole: three of 65507 and three of 20000 bytes, not
# WireGuard, so each counted as invalid_message, none as rx_truncated.
drop_of()
{
	wctl "$NB" "$IB" show --json | python3 -c 'import json, sys
print(json.load(sys.stdin)["drops"].get(sys.argv[1], 0))' "$1"
}
B0=$(books)
T0=$(drop_of rx_truncated)
I0=$(drop_of invalid_message)
nsx "$NA" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for size in (65507, 20000) * 3:
    s.sendto(b"\x05" * size, (sys.argv[1], 42002))
' "$V4_2"
sleep 0.5
read -r IN0 _ <<<"$B0"
read -r IN1 _ <<<"$(books)"
assert_eq "the largest datagrams: six received" 6 $((IN1 - IN0)) || true
assert_eq "the largest datagrams: none cut short (rx_truncated)" 0 $(($(drop_of rx_truncated) - T0)) || true
assert_eq "the largest datagrams: all six received whole (invalid_message)" 6 \
	$(($(drop_of invalid_message) - I0)) || true

assert "B still running" pid_alive "$PID_B" || true
t_finish
