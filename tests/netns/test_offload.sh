#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The offloads end to end: TUN TSO/USO (super-packets cut into packets on the
# way out, packets coalesced on the way in) and UDP GSO/GRO, with
# $WGUD_OFFLOAD as set (on unless "off").
#  - `show --json` says what the kernel accepted: all of it with offloads on
#    (this kernel has them), nothing with --offload off;
#  - 24 MiB over TCP, IPv4 and IPv6, each way, arrive byte for byte (a SHA-256
#    of a seeded stream), between $WGUD on both ends and between $WGUD and
#    wireguard-go (which neither cuts nor coalesces the same way): wrong
#    headers or checksums would stall or corrupt the stream;
#  - UDP datagrams of many sizes, some larger than the MTU, come back echoed;
#  - over an uplink narrower than the tunnel's datagrams (1280 bytes), where
#    the kernel refuses GSO sends and fragments single datagrams, the
#    stream still arrives whole;
#  - nothing is dropped on the way for a reason that would mean a bug
#    (invalid inner packet, decryption, TUN write, full queues).
#
# Run by hand, as root: WGUD=/path/to/wgud WGUD_IO=uring tests/netns/test_offload.sh

source "$(dirname "$0")/lib.sh"
t_init 180
gw_init

BYTES=$((24 << 20))

# One program for every end of a stream: BLOB ROLE ADDR PORT BYTES OUT.
#   serve-send / serve-recv: accept one connection on ADDR:PORT (OUT.ready
#     once listening), then send BYTES of the seeded stream, or read to EOF
#     and write the SHA-256 of what came to OUT;
#   get / put: connect, then print the SHA-256 of what came ("short N" if
#     fewer than BYTES), or send the stream;
#   sha: print the SHA-256 the stream should have.
BLOB='
import hashlib, random, socket, sys
role, addr, port, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

def send(c):
    r, left = random.Random(n), n
    while left:
        k = min(left, 1 << 16); c.sendall(r.randbytes(k)); left -= k
    c.shutdown(socket.SHUT_WR)
    c.recv(1)

def digest(c):
    h, got = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 16)
        if not b: break
        h.update(b); got += len(b)
    return h.hexdigest() if got == n else "short %d" % got

if role == "sha":
    r, h, left = random.Random(n), hashlib.sha256(), n
    while left:
        k = min(left, 1 << 16); h.update(r.randbytes(k)); left -= k
    print(h.hexdigest())
elif role.startswith("serve"):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(1)
    open(out + ".ready", "w").close()
    c, _ = s.accept()
    if role == "serve-send":
        send(c)
    else:
        open(out, "w").write(digest(c))
else:
    c = socket.create_connection((addr, port), timeout=30)
    if role == "get":
        print(digest(c))
    else:
        send(c)
'

# blob_serve NS ADDR PORT send|recv: one connection served (backgrounded by the caller).
blob_serve()
{
	exec ip netns exec "$1" "$T_PY" -c "$BLOB" "serve-$4" "$2" "$3" "$BYTES" "$T_TMP/recv.sha"
}

# blob_client NS ADDR PORT get|put
blob_client()
{
	nsx "$1" timeout 60 "$T_PY" -c "$BLOB" "$4" "$2" "$3" "$BYTES" -
}

expected_sha()
{
	"$T_PY" -c "$BLOB" sha - 0 "$BYTES" -
}

# transfer LABEL NS_SERVER NS_CLIENT ADDR PORT: the stream from the server to
# the client, then from the client to the server, each checked.
transfer()
{
	local label=$1 ns=$2 nc=$3 addr=$4 port=$5 pid got
	rm -f "$T_TMP/recv.sha" "$T_TMP/recv.sha.ready"
	blob_serve "$ns" "$addr" "$port" send &
	pid=$!
	register_pid "$pid"
	wait_for 5 "server on $addr" test -e "$T_TMP/recv.sha.ready"
	got=$(blob_client "$nc" "$addr" "$port" get 2>&1 || true)
	assert_eq "$label: 24 MiB towards the client arrive intact" "$WANT" "$got"
	wait "$pid" 2>/dev/null || true

	rm -f "$T_TMP/recv.sha" "$T_TMP/recv.sha.ready"
	blob_serve "$ns" "$addr" $((port + 1)) recv &
	pid=$!
	register_pid "$pid"
	wait_for 5 "server on $addr" test -e "$T_TMP/recv.sha.ready"
	blob_client "$nc" "$addr" $((port + 1)) put >/dev/null 2>&1 || true
	wait "$pid" 2>/dev/null || true
	assert_eq "$label: 24 MiB towards the server arrive intact" "$WANT" "$(cat "$T_TMP/recv.sha" 2>/dev/null)"
}

# no_bug_drops LABEL NS IFACE: none of the drop reasons that only a bug would explain.
no_bug_drops()
{
	assert_json "$1: no packet dropped as invalid, undecryptable, unwritable or for a full queue" "$2" "$3" \
		'all(j["drops"].get(k, 0) == 0 for k in ("invalid_inner_packet", "decrypt_or_replay", "tun_write_error", "tx_queue_full", "rx_truncated", "no_buffer"))'
}

# udp_sizes NS ADDR: datagrams of many sizes, each echoed whole.
udp_sizes()
{
	nsx "$1" timeout 30 "$T_PY" -c '
import socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
bad = []
for n in (1, 100, 1000, 1372, 1400, 1473, 3000, 8000, 20000, 60000):
    data = bytes((i * 7 + n) & 255 for i in range(n))
    for attempt in range(3):
        s.sendto(data, (addr, 7))
        try:
            got, _ = s.recvfrom(65536)
        except socket.timeout:
            continue
        if got == data: break
    else:
        bad.append(n)
print("ok" if not bad else "lost " + " ".join(map(str, bad)))' "$2"
}

# udp_echo NS ADDR: a UDP echo server on port 7 (backgrounded by the caller).
udp_echo()
{
	exec ip netns exec "$1" "$T_PY" -c '
import socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 7))
while True:
    d, a = s.recvfrom(65536)
    s.sendto(d, a)' "$2"
}

# tunnel IMPL_B PORT: NA runs $WGUD, NB runs IMPL_B, allowed-ips v4 and v6.
tunnel()
{
	pair_up "$WGUD" "$1" "$2" "${TUN6}:2/128" "${TUN6}:1/128"
	ping_wait "$NA" "$TUN4.2" 10 || die "no ping through the tunnel"
}

WANT=$(expected_sha)

# ---- wgud <-> wgud
tunnel "$WGUD" 52100
if [[ ${WGUD_OFFLOAD:-on} == off ]]; then
	assert_json "--offload off: no virtio-net header, no TSO/USO, no UDP GSO/GRO" "$NA" "$IA" \
		'not any(j["offloads"].values())'
else
	assert_json "offloads on: TUN TSO and USO, UDP GSO and GRO accepted by this kernel" "$NA" "$IA" \
		'all(j["offloads"][k] for k in ("tun_vnet_hdr", "tun_tso", "tun_uso", "udp_gso", "udp_gro"))'
fi
transfer "wgud<->wgud IPv4" "$NB" "$NA" "$TUN4.2" 7001
transfer "wgud<->wgud IPv6" "$NB" "$NA" "${TUN6}:2" 7003
udp_echo "$NB" "$TUN4.2" &
UDP_PID=$!
register_pid $UDP_PID
sleep 0.3
assert_eq "wgud<->wgud: UDP of 1 to 60000 bytes echoed whole" ok "$(udp_sizes "$NA" "$TUN4.2")"
no_bug_drops "wgud<->wgud (A)" "$NA" "$IA"
no_bug_drops "wgud<->wgud (B)" "$NB" "$IB"
# An uplink narrower than the tunnel's datagrams: Linux refuses a GSO send it
# would have to fragment, and fragments datagrams sent one by one.
ip -n "$NA" link set "$VETH1" mtu 1280
ip -n "$NB" link set "$VETH2" mtu 1280
transfer "wgud<->wgud over a 1280-byte uplink (fragmented datagrams)" "$NB" "$NA" "$TUN4.2" 7005
no_bug_drops "wgud<->wgud over a 1280-byte uplink (A)" "$NA" "$IA"
kill_pid "$UDP_PID"
kill_pid "$PID_A"
kill_pid "$PID_B"
ip netns del "$NA"
ip netns del "$NB"

# ---- wgud <-> wireguard-go
tunnel "$WGGO" 52110
transfer "wgud<->wireguard-go IPv4" "$NB" "$NA" "$TUN4.2" 7011
transfer "wgud<->wireguard-go IPv6" "$NB" "$NA" "${TUN6}:2" 7013
udp_echo "$NB" "$TUN4.2" &
register_pid $!
sleep 0.3
assert_eq "wgud<->wireguard-go: UDP of 1 to 60000 bytes echoed whole" ok "$(udp_sizes "$NA" "$TUN4.2")"
no_bug_drops "wgud<->wireguard-go" "$NA" "$IA"

t_finish
