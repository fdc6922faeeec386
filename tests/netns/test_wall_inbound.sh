#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Nothing comes in that the policy did not open, and the tunnel addresses
# are silent everywhere but on the tunnel. The gateway topology (gw_topology
# in lib.sh: L -- G -- S, wireguard-go in S) plus U, another host next to
# G (its own link, 198.51.100.8/30) that routes G's tunnel addresses at G,
# as in CVE-2019-14899. G runs services on every address (TCP 9091, UDP
# 9092) and one bound to the tunnel addresses only (TCP 9093).
#  - control: wgud with --kill-switch off and nothing else (no table): U's
#    probes are answered (the capture on U's link sees it), S reaches
#    G's services through the tunnel
#  - the gateway (kill switch in lockdown, forward-from, a port forward):
#    U gets no answer of any kind, nothing at all from G on U's link; from
#    S through the tunnel TCP, UDP and IPv6 to G's services fail, the port
#    forward works; `open tcp 9091` opens that one only; `port-forward
#    add udp 9092` without an address opens it on this host; a port forward
#    to an address outside every forward-from subnet is refused and changes
#    nothing; a connection G opened out through the tunnel keeps flowing
#    through all of it
# wireguard-go has no --conf: not applicable in harness validation.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_wall_inbound.sh

# shellcheck disable=SC2317 # helpers below are called through assert & co.
source "$(dirname "$0")/lib.sh"
t_init 180

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode and no firewall"
	skip "test_wall_inbound (all cases)"
	t_finish
fi
gw_init
gw_topology

NU=$(nsname u)
ns_create "$NU"
veth_link "$NG" "$NU" 2
G_U=$VETH1 U_G=$VETH2
G_U_MAC=$(if_mac "$NG" "$G_U")
ip -n "$NU" route add "$TUN4.1/32" via "$V4_1"
ip -n "$NU" -6 route add "${TUN6}:1/128" via "$V6_1"
serve_start "$NL" "$T_TMP/l.log" --addr 198.18.0.2 --tcp 8080
serve_start "$NS" "$T_TMP/sink.log" --addr 203.0.113.10 --sink 9000
serve_start "$NG" "$T_TMP/g.log" --addr 0.0.0.0 --tcp 9091 --udp 9092 --sink 9095

# services: TCP 9093 bound to the tunnel addresses only, while wgud runs (they come and go with it)
tunnel_service()
{
	serve_start "$NG" "$T_TMP/gt.log" --addr "$TUN4.1" --addr "${TUN6}:1" --tcp 9093
	TUNNEL_SERVICE_PID=$STARTED_PID
}

# u_probes: what U tries against G's tunnel addresses
u_probes()
{
	nsx "$NU" ping -n -c2 -i 0.3 -W1 "$TUN4.1" >/dev/null 2>&1 || true
	nsx "$NU" ping -n -c2 -i 0.3 -W1 "${TUN6}:1" >/dev/null 2>&1 || true
	printf '%s\n' "t4 tcp $TUN4.1 9093" "t6 tcp ${TUN6}:1 9093" "a4 tcp $TUN4.1 9091" "u4 udp $TUN4.1 9092" \
		"c4 tcp $TUN4.1 9099" | netprobe "$NU" batch --timeout 1.5 >"$T_TMP/u.out" || true
}

# u_window LABEL: G's frames on U's link while U probes, classified
u_window()
{
	local cap
	cap_start cap "$NU" "$U_G" "$T_TMP/$1.pcap" --immediate-mode
	u_probes
	cap_stop "$cap"
	CAP_SRC_MAC=$G_U_MAC CAP_SHOW=6 cap_classify "$T_TMP/$1.pcap" "${WG_EPS[@]}"
}

# s_tcp ADDR PORT / s_udp ADDR PORT: from S, through the tunnel
s_tcp()
{
	netprobe "$NS" tcp "$1" "$2" --timeout 1.5 >/dev/null
}
s_udp()
{
	netprobe "$NS" udp "$1" "$2" --timeout 1.5 >/dev/null
}
s_no_tcp()
{
	! s_tcp "$@"
}
s_no_udp()
{
	! s_udp "$@"
}

log "---- control: wgud without a table (--kill-switch off, nothing else)"
wgud_conf_start "$NG" "$CONF_G" "$T_TMP/wgud.log" --kill-switch off
WGUD_PID=$STARTED_PID
assert "[control] no table" bash -c "! ip netns exec '$NG' nft list table inet 'wgud_$IG' >/dev/null 2>&1" || true
require "[control] tunnel up" ping_wait "$NG" 203.0.113.10 20
tunnel_service
OUT=$(u_window control)
log "[control] G on U's link: $(tr '\n' ';' <<<"$OUT")"
assert_gt "[control] U's probes are answered: G's frames on U's link" "$(sed -n '1s/.* plain=\([0-9]*\).*/\1/p' <<<"$OUT")" 0 || true
assert "[control] U connects to the listener bound to the tunnel address" grep -q '^t4 0 ' "$T_TMP/u.out" || true
assert "[control] S reaches G's TCP service through the tunnel" s_tcp "$TUN4.1" 9091 || true
assert "[control] S's UDP is echoed through the tunnel" s_udp "$TUN4.1" 9092 || true
kill_pid "$TUNNEL_SERVICE_PID"
kill -TERM "$WGUD_PID"
pid_wait_exit "$WGUD_PID" 5 || die "wgud did not stop"

log "---- the gateway: kill switch in lockdown, inbound filtered"
# one quoted argument, as compose files and env variables write it
wgud_conf_start "$NG" "$CONF_G" "$T_TMP/wgud.log" --forward-from 198.18.0.0/24 --masquerade \
	--port-forward "tcp 8443 198.18.0.2:8080"
WGUD_PID=$STARTED_PID
require "[gw] tunnel up" ping_wait "$NG" 203.0.113.10 20
assert_json "[gw] kill switch in lockdown" "$NG" "$IG" "j['kill_switch_mode'] == 'lockdown'" || true
tunnel_service
# a connection out through the tunnel that must keep flowing through every change below
ip netns exec "$NG" "${T_GUARD[@]}" timeout 60 "$T_PY" "$NETPROBE" stream 203.0.113.10 9000 40 --interval 0.1 \
	</dev/null >"$T_TMP/stream.out" 2>&1 &
register_pid $!
wait_for 10 "the stream out through the tunnel" grep -q connected "$T_TMP/stream.out" || die "no stream: $(cat "$T_TMP/stream.out")"

OUT=$(u_window gw)
log "[gw] G on U's link: $(tr '\n' ';' <<<"$OUT")"
assert_eq "[gw] U gets no answer of any kind: nothing from G on U's link" 0 \
	"$(sed -n '1s/.* plain=\([0-9]*\).*/\1/p' <<<"$OUT")" || true
assert "[gw] U cannot connect to the listener on the tunnel address" bash -c "! grep -q '^t[46] 0 ' '$T_TMP/u.out'" || true
assert "[gw] S cannot connect to G's TCP service through the tunnel" s_no_tcp "$TUN4.1" 9091 || true
assert "[gw] S's UDP to G's service gets no answer" s_no_udp "$TUN4.1" 9092 || true
assert "[gw] S cannot connect over IPv6 either" s_no_tcp "${TUN6}:1" 9093 || true
: >"$T_TMP/l.log"
assert "[gw] the port forward still reaches L's service" s_tcp "$TUN4.1" 8443 || true
assert "[gw] L saw the forwarded connection" served "$T_TMP/l.log" tcp "$TUN4.2" "198.18.0.2:8080" || true
assert "[gw] G's new connections out through the tunnel work" bash -c "ip netns exec '$NG' '$T_PY' '$NETPROBE' tcp 203.0.113.10 8080 >/dev/null" || true

TABLE0=$(nft_table "$NG" "$IG")
wctl_rc RC "$NG" "$IG" port-forward add tcp 8444 10.99.0.5:80
assert_eq "[gw] a port forward to an address outside every forward-from subnet is refused" 1 "$RC" || true
assert "[gw] ... with a reason" grep -q "neither in a forward-from subnet nor an address of this host" <<<"$CTL_ERR" || true
assert "[gw] ... and the table is unchanged, byte for byte" test "$TABLE0" == "$(nft_table "$NG" "$IG")" || true
wctl_rc RC "$NG" "$IG" port-forward add tcp 8445 127.0.0.1:9091
assert_eq "[gw] a port forward to loopback is refused" 1 "$RC" || true
assert "[gw] ... with a reason" grep -q "loopback address" <<<"$CTL_ERR" || true

assert_ctl "[open] open tcp 9091" "$NG" "$IG" open tcp 9091 || true
assert "[open] S now connects to G's TCP service" s_tcp "$TUN4.1" 9091 || true
assert "[open] UDP stays closed" s_no_udp "$TUN4.1" 9092 || true
assert "[open] the other TCP port stays closed" s_no_tcp "$TUN4.1" 9093 || true
assert_ctl "[open] port-forward add udp 9092 (to this host)" "$NG" "$IG" port-forward add udp 9092 || true
assert "[open] S's UDP to 9092 is echoed now" s_udp "$TUN4.1" 9092 || true
assert "[open] nft says so: udp dport 9092 accept in the input chain" bash -c "ip netns exec '$NG' nft list chain inet 'wgud_$IG' input | grep -q 'udp dport 9092 accept'" || true
assert_json "[open] show --json lists the open port" "$NG" "$IG" \
	"j['policy']['open'] == [{'proto': 'tcp', 'port': 9091}]" || true
assert_ctl "[open] open del tcp 9091" "$NG" "$IG" open del tcp 9091 || true
assert "[open] closed again" s_no_tcp "$TUN4.1" 9091 || true

# sink_bytes: what G's sink on 9095 has received so far
sink_bytes()
{
	awk '$1 == "sink" && $3 ~ /:9095$/ { n = $4 } END { print n + 0 }' "$T_TMP/g.log"
}
assert_ctl "[open] open tcp 9095" "$NG" "$IG" open tcp 9095 || true
ip netns exec "$NS" "${T_GUARD[@]}" timeout 30 "$T_PY" "$NETPROBE" stream "$TUN4.1" 9095 20 --interval 0.1 \
	</dev/null >"$T_TMP/in-stream.out" 2>&1 &
register_pid $!
wait_for 10 "S's stream in" grep -q connected "$T_TMP/in-stream.out" || true
sleep 1
assert_gt "[open] a connection in through the open port flows" "$(sink_bytes)" 0 || true
assert_ctl "[open] open del tcp 9095" "$NG" "$IG" open del tcp 9095 || true
sleep 0.5
B0=$(sink_bytes)
sleep 1.5
assert_eq "[open] ... and stops with the port closed: nothing more arrives" "$B0" "$(sink_bytes)" || true

BYTES0=$(awk '$1 == "sink" { n = $4 } END { print n + 0 }' "$T_TMP/sink.log")
sleep 1.5
BYTES1=$(awk '$1 == "sink" { n = $4 } END { print n + 0 }' "$T_TMP/sink.log")
assert_gt "[gw] the connection G opened out through the tunnel kept flowing (bytes at the sink)" "$BYTES1" "$BYTES0" || true

kill -TERM "$WGUD_PID"
pid_wait_exit "$WGUD_PID" 5 || true
nsx "$NG" "$WGUD" unlock "$IG" >/dev/null 2>&1 || true

t_finish
