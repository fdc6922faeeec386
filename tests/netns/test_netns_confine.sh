#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wgud --conf c.conf --netns NS: the encrypted UDP in wgud's own namespace
# (A, joined to the wireguard-go peer B by a veth), the device, its
# addresses, routes, DNS and kill switch in NS, which has nothing else:
#  - the device is in NS and not in A; NS's loopback is up;
#  - a service in NS reaches a host behind B through the tunnel, and only
#    through it: on the uplink only WireGuard UDP (capture);
#  - NS's resolv.conf (/etc/netns/NS/resolv.conf) holds the conf's DNS
#    while wgud runs, and is gone after;
#  - the kill switch table is in NS, not in A;
#  - with B stopped nothing from NS gets anywhere, and with wgud stopped NS
#    has no device and no way out at all;
#  - --publish 8080:80: a service in NS is reached from the host side
#    (locally and from B, masqueraded over the veth wgud made), but NS
#    cannot open anything towards the host side, and the host side reaches
#    no port of NS that is not published; the veth goes with wgud;
#  - a device moved into another namespace by hand (`ip link set IFACE
#    netns X`) keeps working: wgud no longer stops on "interface deleted".
# wireguard-go has no --netns: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 120
gw_init

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --netns"
	skip "test_netns_confine"
	t_finish
fi

pair_ns
NV=$(nsname v)
# as a user makes it: `ip netns add`, loopback down
ip netns add "$NV" || die "cannot create namespace $NV"
T_NS+=("$NV")
PORT_A=$((20000 + RANDOM % 20000))
PORT_B=$((PORT_A + 1))

wgconf_iface "$CB" "$KB" "$PORT_B"
wgconf_peer "$CB" "$PA" "$TUN4.1/32, ${TUN6}:1/128"
wg_node "$NB" "$IB" "$WGGO" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
PID_B=$STARTED_PID
ip -n "$NB" addr add 203.0.113.1/32 dev lo

CA=$T_TMP/$IA.conf
cat >"$CA" <<CONF
[Interface]
PrivateKey = $KA
ListenPort = $PORT_A
Address = $TUN4.1/24, ${TUN6}:1/64
DNS = $TUN4.2, vpn.example

[Peer]
PublicKey = $PB
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = $V4_2:$PORT_B
CONF
chmod 600 "$CA"

ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" --conf "$CA" --netns "$NV" --publish 8080:80 </dev/null >"$T_TMP/a.log" 2>&1 &
PID=$!
register_pid "$PID"
require "wgud --netns brings $IA up in $NV" wait_for 10 "$IA up in $NV" \
	bash -c "ip -n '$NV' link show '$IA' up | grep -q UP && [[ -S $(sock_path "$IA") ]]"
assert "the device is not in wgud's own namespace" bash -c "! ip -n '$NA' link show '$IA' >/dev/null 2>&1" || true
assert "loopback is up in $NV" bash -c "ip -n '$NV' link show lo | grep -q 'UP'" || true
assert "the UDP socket is in wgud's own namespace" bash -c "ip netns exec '$NA' ss -Hunl 'sport = :$PORT_A' | grep -q ." || true
assert "no UDP socket of wgud in $NV" bash -c "! ip netns exec '$NV' ss -Hunl 'sport = :$PORT_A' | grep -q ." || true
assert "wg show answers through the UAPI socket" bash -c "wg show '$IA' | grep -q '$PB'" || true

cap_start CAP "$NB" "$(ifname v0b)" "$T_TMP/uplink.pcap"
assert_ping "from $NV to a host behind the peer, through the tunnel" "$NV" 203.0.113.1
nsx "$NV" timeout 5 ping -c 2 -W 1 "$V4_2" >/dev/null 2>&1 || true
cap_stop "$CAP"
PLAIN=$(cap_count "$T_TMP/uplink.pcap" icmp)
WGPKTS=$(cap_count "$T_TMP/uplink.pcap" udp port "$PORT_A")
assert_eq "no plain packet on the uplink (only WireGuard)" 0 "$PLAIN" || true
assert_gt "WireGuard UDP on the uplink" "$WGPKTS" 0 || true
assert "the peer's uplink address is reached only through the tunnel" bash -c "ip -n '$NV' route get '$V4_2' | grep -q 'dev $IA'" || true

RC=/etc/netns/$NV/resolv.conf
assert "$RC holds the conf's DNS" grep -q "^nameserver $TUN4.2\$" "$RC" || true
assert "$RC holds the conf's search domain" grep -q "^search vpn.example" "$RC" || true
assert "ip netns exec sees it as /etc/resolv.conf" bash -c "ip netns exec '$NV' cat /etc/resolv.conf | grep -q '^nameserver $TUN4.2\$'" || true
assert "the kill switch table is in $NV" nft_table_exists "$NV" "$IA" || true
assert "no table of wgud in wgud's own namespace" bash -c "! ip netns exec '$NA' nft list table inet 'wgud_$IA' >/dev/null 2>&1" || true

log "---- --publish 8080:80"
QV=$(ip -n "$NV" -o link show | awk -F': ' '$2 ~ /^wgq/ { sub(/@.*/, "", $2); print $2 }')
PV=$(ip -n "$NA" -o link show | awk -F': ' '$2 ~ /^wgp/ { sub(/@.*/, "", $2); print $2 }')
require "a veth pair: one end in $NV, the other here" test -n "$QV" -a -n "$PV"
NS_ADDR=$(ip -n "$NV" -4 -o addr show dev "$QV" | awk '{ sub(/\/.*/, "", $4); print $4 }')
HOST_ADDR=$(ip -n "$NA" -4 -o addr show dev "$PV" | awk '{ sub(/\/.*/, "", $4); print $4 }')
serve_start "$NV" "$T_TMP/nv.log" --addr 0.0.0.0 --tcp 80 --tcp 81
assert "the published port answers on the host side's own address" netprobe "$NA" tcp "$V4_1" 8080 || true
assert "the service saw the host end of the veth (masqueraded)" served "$T_TMP/nv.log" tcp "$HOST_ADDR" '0\.0\.0\.0:80' || true
nsx "$NA" sysctl -qw net.ipv4.ip_forward=1
assert "and from another host, through the host side" netprobe "$NB" tcp "$V4_1" 8080 || true
assert "a port that is not published is closed to the host side" bash -c "! netprobe '$NA' tcp '$NS_ADDR' 81 --timeout 2" || true
assert_no_ping "the namespace opens nothing towards the host side" "$NV" "$HOST_ADDR" || true
assert "the host side's table is there" bash -c "ip netns exec '$NA' nft list table inet 'wgudp_$IA' >/dev/null" || true

log "---- the peer stopped"
kill_pid "$PID_B"
ip -n "$NB" link del "$IB" 2>/dev/null || true
assert_no_ping "nothing from $NV gets through with the peer gone" "$NV" 203.0.113.1 || true
assert_no_ping "nor to the peer's uplink" "$NV" "$V4_2" || true

log "---- wgud stopped"
kill -TERM "$PID"
assert "wgud exits on SIGTERM" pid_wait_exit "$PID" 10 || true
assert "the device is gone from $NV" bash -c "! ip -n '$NV' link show '$IA' >/dev/null 2>&1" || true
assert "$NV has no route left at all" bash -c "[[ -z \$(ip -n '$NV' route show; ip -n '$NV' -6 route show | grep -v '^\(::1\|fe80\)') ]]" || true
assert "$RC is gone" bash -c "[[ ! -e '$RC' ]]" || true
assert "the UAPI socket is gone" bash -c "[[ ! -e $(sock_path "$IA") ]]" || true
assert "the veth pair is gone" bash -c "! ip -n '$NA' link show '$PV' >/dev/null 2>&1" || true
assert "and the host side's table" bash -c "! ip netns exec '$NA' nft list table inet 'wgudp_$IA' >/dev/null 2>&1" || true

log "---- --netns as a path; bad ones refused before anything is made"
ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" --conf "$CA" --netns "/var/run/netns/$NV" </dev/null >"$T_TMP/p.log" 2>&1 &
PID=$!
register_pid "$PID"
assert "a namespace given by path gets the device" wait_for 10 "$IA in $NV" bash -c "ip -n '$NV' link show '$IA' >/dev/null 2>&1" || true
assert "with a word that DNS = has no /etc/netns folder there" grep -q "DNS = is not applied: --netns /var/run/netns/$NV is a path" "$T_TMP/p.log" || true
kill -TERM "$PID"
pid_wait_exit "$PID" 10 || true
for bad in "nx$T_ID" /etc/passwd /proc/self/ns/mnt /proc/self/ns/net; do
	RC=0
	OUT=$(ip netns exec "$NA" "$WGUD" --conf "$CA" --netns "$bad" </dev/null 2>&1) || RC=$?
	assert_ne "--netns $bad is refused" 0 "$RC" || true
	assert "saying why and that nothing changed" grep -q -- "--netns: .*; nothing changed" <<<"$OUT" || true
done
assert "no device was made for them" bash -c "! ip -n '$NA' link show '$IA' >/dev/null 2>&1" || true

log "---- --publish that cannot be: refused before anything is made"
RC=0
OUT=$(ip netns exec "$NA" "$WGUD" --conf "$CA" --netns "$NV" --publish 8080:80 --publish 8080:81 </dev/null 2>&1) || RC=$?
assert_ne "one host port twice is refused" 0 "$RC" || true
assert "saying so" grep -q "is given twice" <<<"$OUT" || true
RC=0
OUT=$(ip netns exec "$NA" "$WGUD" --conf "$CA" --netns "$NV" --publish "$PORT_A:53/udp" </dev/null 2>&1) || RC=$?
assert_ne "wgud's own UDP port is refused" 0 "$RC" || true
assert "saying why" grep -q "is wgud's own UDP port" <<<"$OUT" || true
assert "and nothing stays of it" bash -c "! ip -n '$NA' link show '$PV' >/dev/null 2>&1 && ! ip -n '$NV' link show '$IA' >/dev/null 2>&1" || true

ip -n "$NA" tuntap add "$PV" mode tun
RC=0
OUT=$(ip netns exec "$NA" "$WGUD" --conf "$CA" --netns "$NV" --publish 8080:80 </dev/null 2>&1) || RC=$?
assert_ne "a link of someone else's under the veth's name: refused" 0 "$RC" || true
assert "saying so" grep -q "is not a veth wgud made" <<<"$OUT" || true
assert "and left alone" bash -c "ip -n '$NA' link show '$PV' >/dev/null 2>&1" || true
ip -n "$NA" tuntap del "$PV" mode tun

log "---- --publish after a SIGKILL: the next start replaces what it left; wgud unlock removes it"
ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" --conf "$CA" --netns "$NV" --publish 8080:80 </dev/null >"$T_TMP/k1.log" 2>&1 &
PID=$!
register_pid "$PID"
require "up with --publish" wait_for 10 "the veth" bash -c "ip -n '$NA' link show '$PV' >/dev/null 2>&1"
kill -KILL "$PID"
pid_wait_exit "$PID" 5 || true
assert "the veth a killed wgud left is there" bash -c "ip -n '$NA' link show '$PV' >/dev/null 2>&1" || true
ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" --conf "$CA" --netns "$NV" --publish 8080:80 </dev/null >"$T_TMP/k2.log" 2>&1 &
PID=$!
register_pid "$PID"
assert "a restart comes up over it" wait_for 10 "up again" grep -q "up: listening" "$T_TMP/k2.log" || true
assert "saying what it removed" grep -q "removed $PV, left by a wgud that is gone" "$T_TMP/k2.log" || true
assert "and the published port answers again" netprobe "$NA" tcp "$V4_1" 8080 || true
kill -KILL "$PID"
pid_wait_exit "$PID" 5 || true
rm -f "$(sock_path "$IA")" "$(ctl_path "$IA")"
ip netns exec "$NA" "$WGUD" unlock "$IA" >"$T_TMP/u.log" 2>&1 || true
assert "wgud unlock removes the veth pair" bash -c "! ip -n '$NA' link show '$PV' >/dev/null 2>&1" || true
assert "and the host side's table" bash -c "! ip netns exec '$NA' nft list table inet 'wgudp_$IA' >/dev/null 2>&1" || true
rm -f "/etc/netns/$NV/resolv.conf"
ip netns exec "$NV" "$WGUD" unlock "$IA" >>"$T_TMP/u.log" 2>&1 || true

log "---- lockdown with a broken conf: the wall goes up in $NV, not here"
CX=$T_TMP/$IA-x.conf
printf '[Interface]\nPrivateKey = %s\nNoSuchKey = 1\n' "$KA" >"$CX"
chmod 600 "$CX"
RC=0
ip netns exec "$NA" "$WGUD" --conf "$CX" --interface "$IA" --netns "$NV" --kill-switch lockdown </dev/null >"$T_TMP/x.log" 2>&1 || RC=$?
assert_ne "the broken conf is refused" 0 "$RC" || true
assert "the lockdown table is in $NV" nft_table_exists "$NV" "$IA" || true
assert "and not in wgud's own namespace" bash -c "! ip netns exec '$NA' nft list table inet 'wgud_$IA' >/dev/null 2>&1" || true
assert "wgud unlock in $NV removes it" bash -c "ip netns exec '$NV' '$WGUD' unlock '$IA' >/dev/null 2>&1 && ! ip netns exec '$NV' nft list table inet 'wgud_$IA' >/dev/null 2>&1" || true

log "---- a device moved by hand keeps working"
NM=$(nsname m)
ns_create "$NM"
IM=$(ifname m)
CM=$T_TMP/$IM.conf
wgconf_iface "$CM" "$KA"
ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" --conf "$CM" </dev/null >"$T_TMP/m.log" 2>&1 &
PIDM=$!
register_pid "$PIDM"
require "wgud $IM up" wait_for 10 "$IM" bash -c "ip -n '$NA' link show '$IM' >/dev/null 2>&1"
ip -n "$NA" link set "$IM" netns "$NM"
sleep 1
assert "wgud keeps running after its device moved" pid_alive "$PIDM" || true
assert "and says so" grep -q "moved to another network namespace" "$T_TMP/m.log" || true
ip -n "$NM" link del "$IM"
assert "a deleted device still stops it" pid_wait_exit "$PIDM" 10 || true

t_finish
