#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Hostile UDP input to A = $WGUD while it has a live tunnel to wireguard-go.
# A third namespace M (its own veth to A), and B from a different source
# port, send thousands of datagrams to A's listen port: truncated, oversized
# (up to 65507 bytes), random message types, initiations with a forged mac1
# and with a valid mac1 but garbage inside, bit-flipped transport packets,
# and verbatim replays of real handshake and transport packets captured on
# the veth. Afterwards A must still run, its RSS must not have grown by more
# than 16 MiB, it must still show B's real endpoint (replays from elsewhere
# must not move it), and the tunnel must still carry pings both ways.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_hostile_input.sh

source "$(dirname "$0")/lib.sh"
t_init 120
command -v tcpdump >/dev/null || die "tcpdump is not installed"

MAX_RSS_GROWTH_KIB=$((16 * 1024))

NS_A=$(nsname a)
NS_B=$(nsname b)
NS_M=$(nsname m)
ns_create "$NS_A"
ns_create "$NS_B"
ns_create "$NS_M"
veth_link "$NS_A" "$NS_B" 0
VETH_A=$VETH1 A4=$V4_1 B4=$V4_2
veth_link "$NS_A" "$NS_M" 1
AM4=$V4_1 AM6=$V6_1

IA=$(ifname a)
IB=$(ifname b)
PA=$((20000 + RANDOM % 20000))
PB=$((PA + 1))
keypair KA KPA
keypair KB KPB
wgconf_iface "$T_TMP/a.conf" "$KA" "$PA"
wgconf_peer "$T_TMP/a.conf" "$KPB" "$TUN4.2/32, $TUN6:2/128" "$B4:$PB"
wgconf_iface "$T_TMP/b.conf" "$KB" "$PB"
wgconf_peer "$T_TMP/b.conf" "$KPA" "$TUN4.1/32, $TUN6:1/128" "$A4:$PA"
wg_node "$NS_A" "$IA" "$WGUD" "$T_TMP/a.conf" "$TUN4.1/24" "$TUN6:1/64"
PID_A=$STARTED_PID
wg_node "$NS_B" "$IB" "$WGGO" "$T_TMP/b.conf" "$TUN4.2/24" "$TUN6:2/64"

# Capture a real handshake (B initiates) and transport traffic both ways.
cap_start CAP "$NS_A" "$VETH_A" "$T_TMP/real.pcap" udp port "$PA"
require "tunnel up (B initiates)" ping_wait "$NS_B" "$TUN4.1" 10
ping_all "$NS_B" "$TUN4.1" 10 || true
ping_all "$NS_A" "$TUN6:2" 10 -s 1000 || true
cap_stop "$CAP"
require "captured real WireGuard packets" test "$(cap_count "$T_TMP/real.pcap")" -ge 20
REAL_EP=$(wg_endpoint "$NS_A" "$IA" "$KPB")
assert_endpoint "A's endpoint for B before the attack" "$B4:$PB" "$REAL_EP" || true

uapi_ok()
{
	nsx "$1" wg show "$2" >/dev/null
}

rss_kib()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
RSS0=$(rss_kib "$PID_A")
HS0=$(wg_handshake "$NS_A" "$IA" "$KPB")

cat >"$T_TMP/hostile.py" <<'PY'
# Send hostile datagrams to a WireGuard listener (stdlib only).
import hashlib, os, random, socket, struct, sys

def pcap_payloads(path):
    """UDP payloads from an Ethernet pcap written by tcpdump."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) < 14:
            continue
        etype = struct.unpack("!H", frame[12:14])[0]
        ip = frame[14:]
        if etype == 0x0800 and len(ip) >= 20 and ip[9] == 17:
            udp = ip[(ip[0] & 15) * 4:]
        elif etype == 0x86DD and len(ip) >= 40 and ip[6] == 17:
            udp = ip[40:]
        else:
            continue
        if len(udp) > 8:
            out.append(udp[8:])
    return out

def mac1(pub, msg):
    key = hashlib.blake2s(b"mac1----" + pub).digest()
    return hashlib.blake2s(msg, key=key, digest_size=16).digest()

def main():
    mode, pcap, pub_b64 = sys.argv[1], sys.argv[2], sys.argv[3]
    targets = [(h, int(p)) for h, p in (t.rsplit(",", 1) for t in sys.argv[4:])]
    import base64
    pub = base64.b64decode(pub_b64)
    rnd = random.Random(0x5eed)
    real = pcap_payloads(pcap)
    transport = [p for p in real if p[0] == 4]
    handshake = [p for p in real if p[0] in (1, 2, 3)]
    socks = {}
    for host, _ in targets:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        if fam not in socks:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            socks[fam] = s
    sent = {}
    errors = 0

    def send(kind, payload):
        nonlocal errors
        host, port = targets[rnd.randrange(len(targets))]
        s = socks[socket.AF_INET6 if ":" in host else socket.AF_INET]
        try:
            s.sendto(payload, (host, port))
            sent[kind] = sent.get(kind, 0) + 1
        except OSError:
            errors += 1

    rb = lambda n: bytes(rnd.getrandbits(8) for _ in range(n))
    hdr = lambda t: bytes([t, 0, 0, 0])

    for _ in range(3):
        for p in real:			# verbatim replays of real traffic
            send("replay", p)
    if mode == "replay":
        print("sent %s, errors %d" % (sent, errors))
        return

    for _ in range(1500):		# truncated real and well-typed packets
        base = rnd.choice(real) if real and rnd.random() < 0.5 else hdr(rnd.randint(1, 4)) + rb(144)
        send("truncated", base[:rnd.randrange(len(base))])
    for i in range(300):		# oversized
        send("oversized", rb(65507 if i < 20 else rnd.randint(1500, 65507)))
    for _ in range(2000):		# random types and lengths
        send("random", bytes([rnd.getrandbits(8)]) + rb(rnd.randint(0, 1500)))
    for _ in range(1000):		# initiation, forged mac1
        send("init-forged-mac1", hdr(1) + rb(144))
    for _ in range(1000):		# initiation, valid mac1, garbage inside
        body = hdr(1) + rb(112)
        send("init-valid-mac1", body + mac1(pub, body) + bytes(16))
    for _ in range(300):		# response and cookie reply aimed at real indices
        idx = rnd.choice(real)[4:8] if real else rb(4)
        send("response", hdr(2) + rb(4) + idx + rb(48) + bytes(32))
        send("cookie", hdr(3) + idx + rb(56))
    for _ in range(500):		# bit-flipped real transport packets
        if not transport:
            break
        p = bytearray(rnd.choice(transport))
        p[rnd.randrange(16, len(p))] ^= 1 << rnd.randrange(8)
        send("transport-flipped", bytes(p))
    for _ in range(200):		# real receiver index, far future counter
        if not transport:
            break
        p = rnd.choice(transport)
        send("transport-counter", p[:8] + struct.pack("<Q", rnd.choice([2**64 - 1, 2**63, 2**60 + rnd.getrandbits(20)])) + p[16:])
    for p in handshake * 5:		# handshake replays again, after the noise
        send("replay-handshake", p)
    print("sent %s, total %d, errors %d" % (sent, sum(sent.values()), errors))

main()
PY

log "---- attack from a third namespace (other address)"
OUT=$(nsx "$NS_M" timeout 60 python3 "$T_TMP/hostile.py" all "$T_TMP/real.pcap" "$KPA" \
	"$AM4,$PA" "$AM6,$PA" 2>&1) || die "sender in $NS_M failed: $OUT"
log "M: $OUT"
log "---- replays from B's address, another source port"
OUT=$(nsx "$NS_B" timeout 60 python3 "$T_TMP/hostile.py" replay "$T_TMP/real.pcap" "$KPA" \
	"$A4,$PA" 2>&1) || die "sender in $NS_B failed: $OUT"
log "B: $OUT"
sleep 1

assert "A is still running" pid_alive "$PID_A" || true
RSS1=$(rss_kib "$PID_A" 2>/dev/null || echo 0)
log "A's RSS: $RSS0 KiB -> $RSS1 KiB"
assert_le "A's RSS growth in KiB" $((RSS1 - RSS0)) "$MAX_RSS_GROWTH_KIB" || true
assert "A still answers on its UAPI socket" uapi_ok "$NS_A" "$IA" || true
assert_endpoint "A's endpoint for B did not move" "$REAL_EP" "$(wg_endpoint "$NS_A" "$IA" "$KPB")" || true
assert_ping "tunnel still works B -> A" "$NS_B" "$TUN4.1" || true
assert_ping "tunnel still works A -> B" "$NS_A" "$TUN4.2" || true
assert_endpoint "A's endpoint for B after the pings" "$REAL_EP" "$(wg_endpoint "$NS_A" "$IA" "$KPB")" || true
HS1=$(wg_handshake "$NS_A" "$IA" "$KPB")
log "latest handshake on A: $HS0 -> $HS1 (a replayed initiation must not count)"

t_finish
