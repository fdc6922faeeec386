#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The stock wg tool against $WGUD (peer: wireguard-go):
#  - wg showconf round-trips through wg setconf;
#  - wg syncconf adds and removes peers without touching an existing session;
#  - wg set listen-port moves the sockets live and the tunnel follows;
#  - wg set persistent-keepalive: keepalives (32-byte data messages) are seen
#    on the wire with no traffic inside the tunnel;
#  - malformed UAPI requests on the raw socket get an errno and change nothing.

source "$(dirname "$0")/lib.sh"
t_init 90

keypair KC PC
pair_up "$WGUD" "$WGGO" 41001
PIDA=$PID_A
assert_ping "tunnel up" "$NA" "$TUN4.2"

log "---- showconf / setconf round trip"
nsx "$NA" wg showconf "$IA" >"$T_TMP/show.conf"
assert "showconf has the private key" grep -q "PrivateKey = $KA" "$T_TMP/show.conf" || true
assert "showconf has the peer" grep -q "PublicKey = $PB" "$T_TMP/show.conf" || true
assert "showconf has the endpoint" grep -q "Endpoint = $V4_2:41002" "$T_TMP/show.conf" || true
assert "setconf takes showconf's output" nsx "$NA" wg setconf "$IA" "$T_TMP/show.conf" || true
assert_ping "tunnel works after setconf of showconf" "$NA" "$TUN4.2"

log "---- syncconf"
HS=$(wg_handshake "$NA" "$IA" "$PB")
sleep 1.2
cp "$T_TMP/show.conf" "$T_TMP/sync.conf"
wgconf_peer "$T_TMP/sync.conf" "$PC" "203.0.113.50/32"
assert "syncconf adds a peer" nsx "$NA" wg syncconf "$IA" "$T_TMP/sync.conf" || true
assert_eq "two peers after syncconf" 2 "$(nsx "$NA" wg show "$IA" peers | wc -l)" || true
assert_eq "the existing session was kept" "$HS" "$(wg_handshake "$NA" "$IA" "$PB")" || true
assert "syncconf removes it again" nsx "$NA" wg syncconf "$IA" "$T_TMP/show.conf" || true
assert_eq "one peer after the second syncconf" "$PB" "$(nsx "$NA" wg show "$IA" peers)" || true
assert_ping "tunnel works after syncconf" "$NA" "$TUN4.2"

log "---- listen-port change"
assert "wg set listen-port" nsx "$NA" wg set "$IA" listen-port 41011 || true
assert_eq "new port reported" 41011 "$(wg_listen_port "$NA" "$IA")" || true
assert "the new port is bound" bash -c "ip netns exec '$NA' ss -uln | grep -q ':41011 '" || true
assert "the old port is released" bash -c "! ip netns exec '$NA' ss -uln | grep -q ':41001 '" || true
assert_ping "tunnel follows the new port" "$NA" "$TUN4.2"
assert_endpoint "the peer sees A at the new port" "$V4_1:41011" "$(wg_endpoint "$NB" "$IB" "$PA")" || true

log "---- persistent keepalive on the wire"
VB=$(ifname v0b)
cap_start CAP "$NB" "$VB" "$T_TMP/ka.pcap" udp and src host "$V4_1"
nsx "$NA" wg set "$IA" peer "$PB" persistent-keepalive 1
sleep 3.5
cap_stop "$CAP"
# A keepalive is a 32-byte data message: UDP length 40.
KA_N=$(cap_count "$T_TMP/ka.pcap" "udp[4:2] = 40 and udp[8] = 4")
assert_gt "keepalives seen on the wire in 3.5 s" "$KA_N" 2 || true
nsx "$NA" wg set "$IA" peer "$PB" persistent-keepalive 0

log "---- malformed UAPI requests change nothing"
BEFORE=$(nsx "$NA" wg showconf "$IA")
uapi()
{
	python3 - "$(sock_path "$IA")" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
out = b""
try:
    while not out.endswith(b"\n\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
except socket.timeout:
    pass
print(out.decode("latin-1").strip().splitlines()[-1] if out.strip() else "(closed)")
PY
}
HEXB=$(python3 -c 'import base64,sys; print(base64.b64decode(sys.argv[1]).hex())' "$PB")
while IFS='|' read -r name req; do
	got=$(uapi "$req")
	if [[ $got =~ ^errno=-[1-9][0-9]*$ ]]; then
		pass "[$name] refused ($got)"
	else
		fail "[$name] not refused: '$got'"
	fi
done <<EOF2
port out of range|set=1\nlisten_port=99999\n\n
bad private key|set=1\nprivate_key=zz\n\n
bad CIDR after a valid line|set=1\npublic_key=$HEXB\nreplace_allowed_ips=true\nallowed_ip=10.0.0.0/8\nallowed_ip=1.2.3.4/33\n\n
unknown key|set=1\nbogus=1\n\n
device key after a peer|set=1\npublic_key=$HEXB\nlisten_port=1\n\n
protocol version 2|set=1\npublic_key=$HEXB\nprotocol_version=2\n\n
binary garbage|\x01\x02\xff\xfe\n\n
EOF2
assert_eq "configuration unchanged by refused requests" "$BEFORE" "$(nsx "$NA" wg showconf "$IA")" || true
assert "still running" pid_alive "$PIDA" || true
assert_ping "tunnel still works" "$NA" "$TUN4.2"
assert "exits when its interface is deleted" impl_stop "$NA" "$IA" "$PIDA" || true

t_finish
