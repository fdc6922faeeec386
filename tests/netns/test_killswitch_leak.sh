#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The kill switch leaks nothing. C runs `$WGUD --conf` with a full tunnel
# (0.0.0.0/0, ::/0: the kill switch is on by default); R is C's uplink
# router, the VPN server (wireguard-go) and "the internet": addresses on its
# lo (203.0.113.0/24, 2001:db8:1::/64) with a TCP greeter, a UDP echo and two
# DNS responders, also on its veth addresses. A capture on R's end of the
# veth (direction in: what C sends) must hold nothing but WireGuard UDP to
# the server's port (ARP, neighbour discovery and MLD aside) while probes run:
# ping, UDP, TCP, DNS (python and bash /dev/udp), IPv4 and IPv6, to the
# "internet", bound to the uplink device (SO_BINDTODEVICE: bypasses policy
# routing) and to the uplink router itself. Phases:
#   control  no wgud: every probe is answered and seen plain (the capture and
#            the probes work)
#   a        wgud up, the server has a wrong key: no handshake
#   b        connected: the "internet" probes are answered through the
#            tunnel (the server sees C's tunnel address), still nothing plain
#   c        the server is gone (wireguard-go killed)
#   d        wgud killed with SIGKILL: its table stays, still nothing plain
#   e        wgud restarted: the table is replaced, the tunnel works again;
#            SIGTERM then deletes the table
#   control  --kill-switch off: bound probes get out plain while it runs, and
#            after a SIGKILL everything does (the table was what held them)
# wireguard-go has no --conf: not applicable in harness validation.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_killswitch_leak.sh

source "$(dirname "$0")/lib.sh"
t_init 240

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode and no kill switch"
	skip "test_killswitch_leak (all phases)"
	t_finish
fi
gw_init

NC=$(nsname c)
NR=$(nsname r)
ns_create "$NC"
ns_create "$NR"
veth_link "$NC" "$NR" 0
C_UP=$VETH1	# C's uplink
R_DOWN=$VETH2	# R's end: the capture point
# Only what C sends counts (by its MAC: tcpdump -Q in misses veth traffic).
CAP_SRC_MAC=$(if_mac "$NC" "$C_UP")
export CAP_SRC_MAC
C4=$V4_1 R4=$V4_2
C6=$(addr_norm "$V6_1") R6=$(addr_norm "$V6_2")
ip -n "$NC" route add default via "$R4"
ip -n "$NC" -6 route add default via "$R6"

NET4=203.0.113.1 NET6=2001:db8:1::1		# "internet" hosts
DNS4=203.0.113.53 DNS6=2001:db8:1::53		# the conf's resolvers
ODNS4=203.0.113.54 ODNS6=2001:db8:1::54		# some other resolver
for a in $NET4 $DNS4 $ODNS4; do
	ip -n "$NR" addr add "$a/32" dev lo
done
for a in $NET6 $DNS6 $ODNS6; do
	ip -n "$NR" addr add "$a/128" dev lo nodad
done
SRV_LOG=$T_TMP/internet.log
serve_start "$NR" "$SRV_LOG" --addr $NET4 --addr $NET6 --addr $DNS4 --addr $DNS6 --addr $ODNS4 --addr $ODNS6 \
	--addr "$R4" --addr "$R6" --tcp 8080 --udp 7777 --dns 53

IC=$(ifname c)
IS=$(ifname s)
PORT_C=$((20000 + RANDOM % 20000))
PORT_S=$((PORT_C + 1))
keypair KC PC
keypair KS PS
keypair KX PX	# the wrong key the server first expects
WG_EPS=("$R4:$PORT_S" "[$R6]:$PORT_S")

CONF_C=$T_TMP/$IC.conf
{
	echo "[Interface]"
	echo "PrivateKey = $KC"
	echo "ListenPort = $PORT_C"
	echo "Address = $TUN4.1/24, $TUN6:1/64"
	echo "DNS = $DNS4, $DNS6"
	echo
	echo "[Peer]"
	echo "PublicKey = $PS"
	echo "AllowedIPs = 0.0.0.0/0, ::/0"
	echo "Endpoint = $R4:$PORT_S"
} >"$CONF_C"
chmod 600 "$CONF_C"
CONF_S=$T_TMP/$IS.conf
wgconf_iface "$CONF_S" "$KS" "$PORT_S"
wgconf_peer "$CONF_S" "$PX" "$TUN4.1/32, $TUN6:1/128"
CONF_S_GOOD=$T_TMP/$IS.good.conf
wgconf_iface "$CONF_S_GOOD" "$KS" "$PORT_S"
wgconf_peer "$CONF_S_GOOD" "$PC" "$TUN4.1/32, $TUN6:1/128"

# ------------------------------------------------------------------ probes

PROBES=(ping4 ping6 udp4 udp6 tcp4 tcp6 dns4 dns6 odns4 odns6 bashdns4 bashdns6
	dev_ping4 dev_ping6 dev_tcp4 dev_udp6 dev_dns4 up_ping4 up_tcp4 up_udp6 up_dns4)
ANSWERABLE_PROBES=(ping4 ping6 udp4 udp6 tcp4 tcp6 dns4 dns6 odns4 odns6
	dev_ping4 dev_ping6 dev_tcp4 dev_udp6 dev_dns4 up_ping4 up_tcp4 up_udp6 up_dns4)	# bash cannot tell
TUNNEL_PROBES=(ping4 ping6 udp4 udp6 tcp4 tcp6 dns4 dns6)
BYPASS_PROBES=(dev_ping4 dev_ping6 dev_tcp4 dev_udp6 dev_dns4 up_ping4 up_tcp4 up_udp6 up_dns4)

# Probes run by a process of their own (ping, bash); the others go to one
# netprobe.py batch (see py_probes).
probe_cmd()
{
	case $1 in
	ping4) nsx "$NC" ping -n -c1 -W2 "$NET4" ;;
	ping6) nsx "$NC" ping -n -c1 -W2 "$NET6" ;;
	bashdns4) nsx "$NC" timeout 2 bash -c "echo probe >/dev/udp/$ODNS4/53" ;;
	bashdns6) nsx "$NC" timeout 2 bash -c "echo probe >/dev/udp/$ODNS6/53" ;;
	dev_ping4) nsx "$NC" ping -n -c1 -W2 -I "$C_UP" "$NET4" ;;
	dev_ping6) nsx "$NC" ping -n -c1 -W2 -I "$C_UP" "$NET6" ;;
	up_ping4) nsx "$NC" ping -n -c1 -W2 "$R4" ;;
	*) return 99 ;;
	esac
}
CMD_PROBES=(ping4 ping6 bashdns4 bashdns6 dev_ping4 dev_ping6 up_ping4)

# NAME KIND ADDR PORT [DEV], for netprobe.py batch
py_probes()
{
	cat <<-EOF
	udp4 udp $NET4 7777
	udp6 udp $NET6 7777
	tcp4 tcp $NET4 8080
	tcp6 tcp $NET6 8080
	dns4 dns $DNS4 53
	dns6 dns $DNS6 53
	odns4 dns $ODNS4 53
	odns6 dns $ODNS6 53
	dev_tcp4 tcp $NET4 8080 $C_UP
	dev_udp6 udp $NET6 7777 $C_UP
	dev_dns4 dns $ODNS4 53 $C_UP
	up_tcp4 tcp $R4 8080
	up_udp6 udp $R6 7777
	up_dns4 dns $R4 53
	EOF
}

# probe_phase LABEL [HOLD]: the server log is cleared, a capture runs on R's
# end of the veth while every probe runs at once (each bounded by ~2 s), and
# HOLD seconds more. Leaves the capture in $T_TMP/LABEL.pcap and each probe's
# status in PROBE_RC[name].
declare -A PROBE_RC
probe_phase()
{
	local label=$1 hold=${2:-0} cap p pids=() dir=$T_TMP/probes.$1
	mkdir -p "$dir"
	: >"$SRV_LOG"
	# immediate mode: else packets of the last second are still in the
	# kernel ring when cap_stop interrupts tcpdump, and are lost
	cap_start cap "$NR" "$R_DOWN" "$T_TMP/$label.pcap" --immediate-mode
	for p in "${CMD_PROBES[@]}"; do
		(
			rc=0
			probe_cmd "$p" >"$dir/$p.out" 2>&1 || rc=$?
			echo "$rc" >"$dir/$p.rc"
		) &
		pids+=($!)
	done
	py_probes | netprobe "$NC" batch >"$dir/batch.out" 2>&1 || true
	wait "${pids[@]}" || true
	sleep "$hold"
	cap_stop "$cap"
	PROBE_RC=()
	while read -r p rc _; do
		[[ -n $p ]] && echo "$rc" >"$dir/$p.rc"
	done <"$dir/batch.out"
	for p in "${PROBES[@]}"; do
		PROBE_RC[$p]=$(cat "$dir/$p.rc" 2>/dev/null || echo 98)
	done
	log "[$label] probes: $(for p in "${PROBES[@]}"; do
		if [[ ${PROBE_RC[$p]} == 0 ]]; then printf '%s=ok ' "$p"; else printf '%s=no ' "$p"; fi
	done)"
	log "[$label] capture: $(cap_classify "$T_TMP/$label.pcap" "${WG_EPS[@]}" | head -n 1)"
}

# assert_no_leak LABEL: nothing but WireGuard left C during the phase.
assert_no_leak()
{
	local label=$1 out n
	out=$(CAP_SHOW=10 cap_classify "$T_TMP/$label.pcap" "${WG_EPS[@]}")
	n=$(sed -n '1s/.* plain=\([0-9]*\).*/\1/p' <<<"$out")
	if [[ $n == 0 ]]; then
		pass "[$label] nothing but WireGuard UDP to port $PORT_S left C ($(head -n 1 <<<"$out"))"
	else
		fail "[$label] $n plain packets left C: $(tail -n +2 <<<"$out" | tr '\n' ';')"
	fi
}

# wg_sent LABEL: WireGuard packets C sent during the phase.
wg_sent()
{
	cap_classify "$T_TMP/$1.pcap" "${WG_EPS[@]}" | sed -n '1s/^wg=\([0-9]*\).*/\1/p'
}

# assert_probes LABEL ok|fail NAME...
assert_probes()
{
	local label=$1 want=$2 p bad=()
	shift 2
	for p in "$@"; do
		if [[ $want == ok && ${PROBE_RC[$p]} != 0 ]] || [[ $want == fail && ${PROBE_RC[$p]} == 0 ]]; then
			bad+=("$p")
		fi
	done
	if ((${#bad[@]} == 0)); then
		pass "[$label] probes $want: $*"
	else
		fail "[$label] probes that should be $want but are not: ${bad[*]}"
	fi
}

# seen_plain LABEL REGEX: a plain packet matching REGEX is in the capture.
# shellcheck disable=SC2317 # called through assert
seen_plain()
{
	CAP_SHOW=100000 cap_classify "$T_TMP/$1.pcap" "${WG_EPS[@]}" | grep -Eq "^  plain: $2"
}

table_count()
{
	nsx "$NC" nft list tables 2>/dev/null | grep -cx "table inet wgud_$IC" || true
}

# --------------------------------------------------------------- control

log "---- control: no wgud, C's default route goes to R"
probe_phase ctl0
assert_probes ctl0 ok "${ANSWERABLE_PROBES[@]}"
assert "[ctl0] capture sees plain IPv4 echo requests" seen_plain ctl0 "ip $C4 > $NET4 icmp type 8" || true
assert "[ctl0] capture sees plain IPv6 echo requests" seen_plain ctl0 "ip6 $C6 > $NET6 icmp6 type 128" || true
assert "[ctl0] capture sees plain TCP" seen_plain ctl0 "ip $C4 > $NET4 tcp [0-9]+ > 8080" || true
assert "[ctl0] capture sees plain DNS" seen_plain ctl0 "ip $C4 > $ODNS4 udp [0-9]+ > 53" || true
assert "[ctl0] capture sees plain IPv6 DNS from bash" seen_plain ctl0 "ip6 $C6 > $ODNS6 udp [0-9]+ > 53" || true
assert "[ctl0] the server saw C's uplink address" served "$SRV_LOG" tcp "$C4" "$NET4:8080" || true

log "---- phase a: wgud up, no handshake possible (the server expects another key)"
wg_node "$NR" "$IS" "$WGGO" "$CONF_S" "$TUN4.2/24" "$TUN6:2/64"
WGGO_PID=$STARTED_PID
wgud_conf_start "$NC" "$CONF_C" "$T_TMP/c.log"
WGUD_PID=$STARTED_PID
require "[a] wgud's table inet wgud_$IC exists" nft_table_exists "$NC" "$IC"
# 4 s more: a handshake retry (every 5 s) falls in the window for sure
probe_phase a 4
assert_no_leak a
assert_gt "[a] wgud kept trying to reach the server (WireGuard packets seen)" "$(wg_sent a)" 0 || true
assert_eq "[a] no handshake" 0 "$(wg_handshake "$NC" "$IC" "$PS")" || true
assert_probes a fail "${TUNNEL_PROBES[@]}" "${BYPASS_PROBES[@]}"

log "---- phase b: connected"
nsx "$NR" wg setconf "$IS" "$CONF_S_GOOD"
require "[b] tunnel up" ping_wait "$NC" "$NET4" 20
probe_phase b
assert_no_leak b
assert_gt "[b] probes went out as WireGuard" "$(wg_sent b)" 0 || true
assert_probes b ok "${TUNNEL_PROBES[@]}"
assert_probes b fail "${BYPASS_PROBES[@]}"
assert "[b] the server saw TCP from C's tunnel address (IPv4)" served "$SRV_LOG" tcp "$TUN4.1" "$NET4:8080" || true
assert "[b] the server saw TCP from C's tunnel address (IPv6)" served "$SRV_LOG" tcp "$TUN6:1" "$NET6:8080" || true
assert "[b] the resolver saw C's tunnel address" served "$SRV_LOG" dns "$TUN4.1" "$DNS4:53" || true
assert "[b] nothing reached the server from C's uplink address" bash -c "! grep -Eq ' ($C4|$C6) ' '$SRV_LOG'" || true
log "[b] the other resolver through the tunnel: odns4=${PROBE_RC[odns4]} odns6=${PROBE_RC[odns6]} (0 = answered)"
assert_json "[b] show --json lists the server as peer" "$NC" "$IC" \
	"any(p['public_key'] == '$PS' for p in j['peers'])" || true

log "---- phase c: the server is gone"
kill_pid "$WGGO_PID"
probe_phase c
assert_no_leak c
assert_probes c fail "${TUNNEL_PROBES[@]}" "${BYPASS_PROBES[@]}"
assert "[c] wgud still running" pid_alive "$WGUD_PID" || true

log "---- phase d: wgud killed with SIGKILL"
disown "$WGUD_PID"	# no "Killed" job report
kill -KILL "$WGUD_PID"
pid_wait_exit "$WGUD_PID" 5 || die "wgud did not die on SIGKILL"
assert "[d] the table stays after SIGKILL (fail-closed)" nft_table_exists "$NC" "$IC" || true
if ip -n "$NC" link show "$IC" >/dev/null 2>&1; then
	log "[d] note: $IC still exists after SIGKILL"
fi
probe_phase d
assert_no_leak d
assert_probes d fail "${TUNNEL_PROBES[@]}" "${BYPASS_PROBES[@]}"

log "---- phase e: server and wgud restarted"
wg_node "$NR" "$IS" "$WGGO" "$CONF_S_GOOD" "$TUN4.2/24" "$TUN6:2/64"
WGGO_PID=$STARTED_PID
wgud_conf_start "$NC" "$CONF_C" "$T_TMP/c.log"
WGUD_PID=$STARTED_PID
assert_eq "[e] exactly one table inet wgud_$IC after the restart" 1 "$(table_count)" || true
assert_ping "[e] tunnel works again (IPv4)" "$NC" "$NET4" || true
assert_ping "[e] tunnel works again (IPv6)" "$NC" "$NET6" || true
probe_phase e
assert_no_leak e
assert_probes e ok "${TUNNEL_PROBES[@]}"
assert_probes e fail "${BYPASS_PROBES[@]}"

kill -TERM "$WGUD_PID"
assert "[e] wgud exits on SIGTERM" pid_wait_exit "$WGUD_PID" 5 || true
wait "$WGUD_PID" 2>/dev/null && RC=0 || RC=$?
assert_eq "[e] exit status 0" 0 "$RC" || true
assert "[e] clean stop deleted the table" bash -c "! ip netns exec '$NC' nft list table inet 'wgud_$IC' >/dev/null 2>&1" || true

log "---- control: --kill-switch off, the server down"
kill_pid "$WGGO_PID"
wgud_conf_start "$NC" "$CONF_C" "$T_TMP/c.log" --kill-switch off
WGUD_PID=$STARTED_PID
assert_json "[off] show --json reports the kill switch off" "$NC" "$IC" \
	"j['policy']['kill_switch'] in (False, 'off')" || true
probe_phase off
assert_probes off ok dev_ping4 dev_ping6 dev_tcp4 up_ping4 up_tcp4
assert "[off] capture sees the bound probe plain" seen_plain off "ip $C4 > $NET4 icmp type 8" || true
assert "[off] capture sees the uplink probe plain" seen_plain off "ip $C4 > $R4 tcp [0-9]+ > 8080" || true
# The routing alone keeps the rest in the (dead) tunnel while wgud runs.
assert_probes off fail ping4 tcp4 udp6
disown "$WGUD_PID"	# no "Killed" job report
kill -KILL "$WGUD_PID"
pid_wait_exit "$WGUD_PID" 5 || die "wgud did not die on SIGKILL"
probe_phase offkill
assert_probes offkill ok ping4 ping6 udp4 tcp4 tcp6 odns4
assert "[offkill] capture sees plain echo requests" seen_plain offkill "ip $C4 > $NET4 icmp type 8" || true
assert "[offkill] capture sees plain DNS" seen_plain offkill "ip $C4 > $ODNS4 udp [0-9]+ > 53" || true

t_finish
