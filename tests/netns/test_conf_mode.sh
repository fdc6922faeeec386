#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wgud --conf through its whole life, against a wireguard-go peer:
#  - a full tunnel (AllowedIPs 0.0.0.0/0, ::/0) with Table=auto: wgud sets a
#    fwmark and the two policy rules, traffic to a "remote" address goes
#    through the tunnel while the encrypted UDP still leaves over the veth;
#  - SIGHUP with a new peer added: the peer appears, the existing peer keeps
#    its session (no new handshake), the port stays;
#  - SIGHUP with the conf's MTU changed: applied to the link; one the
#    buffers cannot hold refused; none in the conf keeps the link's own;
#  - SIGHUP with a broken file: refused, everything stays as it was;
#  - SIGTERM: exit 0, interface, UAPI socket and policy rules gone.
# wireguard-go has no --conf: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 120

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode"
	skip "test_conf_mode"
	t_finish
fi

pair_ns
keypair KC PC
PORT_A=$((20000 + RANDOM % 20000))
PORT_B=$((PORT_A + 1))

# B: wireguard-go, with a "remote" host address behind it.
CB=$T_TMP/b.conf
wgconf_iface "$CB" "$KB" "$PORT_B"
wgconf_peer "$CB" "$PA" "$TUN4.1/32, ${TUN6}:1/128"
wg_node "$NB" "$IB" "$WGGO" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
ip -n "$NB" addr add 203.0.113.1/32 dev lo
ip -n "$NB" addr add 2001:db8:1::1/128 dev lo nodad
nsx "$NB" sysctl -qw net.ipv4.ip_forward=1

CA=$T_TMP/$IA.conf
write_a()
{
	{
		echo "[Interface]"
		echo "PrivateKey = $KA"
		echo "ListenPort = $PORT_A"
		echo "Address = $TUN4.1/24, ${TUN6}:1/64"
		echo
		echo "[Peer]"
		echo "PublicKey = $PB"
		echo "AllowedIPs = 0.0.0.0/0, ::/0"
		echo "Endpoint = $V4_2:$PORT_B"
		printf '%s\n' "$@"
	} >"$CA"
	chmod 600 "$CA"
}
write_a
ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" --conf "$CA" </dev/null >"$T_TMP/a.log" 2>&1 &
PID=$!
register_pid "$PID"
require "wgud --conf brings up $IA" wait_for 10 "$IA up" bash -c "ip -n '$NA' link show '$IA' up | grep -q UP && [[ -S $(sock_path "$IA") ]]"

assert_ping "full tunnel: remote IPv4 host through the tunnel" "$NA" 203.0.113.1
assert_ping "full tunnel: remote IPv6 host through the tunnel" "$NA" 2001:db8:1::1
MARK=$(nsx "$NA" wg show "$IA" fwmark)
assert_ne "wgud set a fwmark on its sockets" "off" "$MARK" || true
assert "policy rule: not fwmark -> tunnel table" grep -q "not from all fwmark $MARK lookup" <(ip -n "$NA" -4 rule show) || true
assert "policy rule: main with suppress_prefixlength 0" grep -q "suppress_prefixlength 0" <(ip -n "$NA" -4 rule show) || true
assert "IPv6 policy rule" grep -q "not from all fwmark $MARK lookup" <(ip -n "$NA" -6 rule show) || true
assert "default route in the tunnel table" grep -q "default dev $IA" <(ip -n "$NA" route show table "$((MARK))") || true
assert "the endpoint is still reached over the veth" grep -q "dev $(ifname v0a)" <(ip -n "$NA" route get "$V4_2" mark "$((MARK))") || true
HS1=$(wg_handshake "$NA" "$IA" "$PB")
assert_gt "handshake recorded" "$HS1" 0 || true

log "---- SIGHUP with a peer added"
sleep 1.5 # a new handshake would show as a later second
write_a "" "[Peer]" "PublicKey = $PC" "AllowedIPs = 203.0.113.77/32"
kill -HUP "$PID"
assert "second peer appears after SIGHUP" wait_for 5 "peer C" bash -c "ip netns exec '$NA' wg show '$IA' peers | grep -q '$PC'" || true
assert_ping "tunnel still works after the reload" "$NA" 203.0.113.1
assert_eq "existing peer kept its session (same handshake)" "$HS1" "$(wg_handshake "$NA" "$IA" "$PB")" || true
assert_eq "listen port unchanged" "$PORT_A" "$(wg_listen_port "$NA" "$IA")" || true
assert_eq "fwmark unchanged" "$MARK" "$(nsx "$NA" wg show "$IA" fwmark)" || true

log "---- SIGHUP with the conf's MTU changed"
link_mtu()
{
	ip -n "$NA" -o link show "$IA" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'
}
write_a "" "[Peer]" "PublicKey = $PC" "AllowedIPs = 203.0.113.77/32"
sed -i "s/^Address = .*/&\nMTU = 1380/" "$CA"
kill -HUP "$PID"
assert "the reload applies the new MTU" wait_for 5 "MTU 1380" grep -q "MTU 1380 (from $CA)" "$T_TMP/a.log" || true
assert_eq "the link has it" 1380 "$(link_mtu)" || true
assert_ping "the tunnel works at MTU 1380" "$NA" 203.0.113.1 -s 1352 -M do
sed -i "s/^MTU = .*/MTU = 65500/" "$CA"
kill -HUP "$PID"
assert "an MTU the buffers cannot hold refuses the reload" \
	wait_for 5 "the refusal" grep -q "reload refused (MTU 65500: the packet buffers hold at most" "$T_TMP/a.log" || true
assert_eq "the link keeps its MTU" 1380 "$(link_mtu)" || true
write_a "" "[Peer]" "PublicKey = $PC" "AllowedIPs = 203.0.113.77/32"
nsx "$NA" ip link set dev "$IA" mtu 1400
kill -HUP "$PID"
sleep 1
assert_eq "no MTU in the conf: the link's own (set with ip link) stays" 1400 "$(link_mtu)" || true

log "---- SIGHUP with a broken file"
echo "Bogus = 1" >>"$CA"
kill -HUP "$PID"
sleep 1
assert "still running after a bad reload" pid_alive "$PID" || true
assert_eq "peers unchanged after a bad reload" 2 "$(nsx "$NA" wg show "$IA" peers | wc -l)" || true
assert "the refusal names the file and line" grep -q "$CA:[0-9]*:" "$T_TMP/a.log" || true

log "---- SIGTERM"
kill -TERM "$PID"
assert "exits on SIGTERM" pid_wait_exit "$PID" 5 || true
wait "$PID" 2>/dev/null && RC=0 || RC=$?
assert_eq "exit status 0" 0 "$RC" || true
assert "interface removed" bash -c "! ip -n '$NA' link show '$IA' 2>/dev/null" || true
assert "UAPI socket removed" bash -c "[[ ! -e $(sock_path "$IA") ]]" || true
assert "IPv4 policy rules removed" bash -c "! ip -n '$NA' -4 rule show | grep -q 'fwmark\|suppress_prefixlength'" || true
assert "IPv6 policy rules removed" bash -c "! ip -n '$NA' -6 rule show | grep -q 'fwmark\|suppress_prefixlength'" || true

log "---- Table = off adds no routes"
IO=$(ifname o)
CO=$T_TMP/$IO.conf
keypair KO PO
{
	echo "[Interface]"
	echo "PrivateKey = $KO"
	echo "Address = 192.0.2.201/32"
	echo "Table = off"
	echo
	echo "[Peer]"
	echo "PublicKey = $PB"
	echo "AllowedIPs = 203.0.113.0/24, 0.0.0.0/0"
} >"$CO"
chmod 600 "$CO"
ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" --conf "$CO" </dev/null >"$T_TMP/o.log" 2>&1 &
PIDO=$!
register_pid "$PIDO"
require "Table=off interface comes up" wait_for 10 "$IO up" bash -c "ip -n '$NA' link show '$IO' up | grep -q UP"
assert "no route via the interface but the kernel's own" bash -c "! ip -n '$NA' route show table all | grep 'dev $IO ' | grep -vq 'proto kernel'" || true
assert "no policy rules" bash -c "! ip -n '$NA' rule show | grep -q 'fwmark\|suppress_prefixlength'" || true
kill -TERM "$PIDO"
assert "Table=off instance exits on SIGTERM" pid_wait_exit "$PIDO" 5 || true

t_finish
