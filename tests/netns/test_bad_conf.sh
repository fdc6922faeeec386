#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wgud's own config mode: `$WGUD --conf FILE --interface NAME`.
#  - control: a valid wg-quick style file brings the interface up with its
#    key, port, addresses, MTU, peer and routes; SIGTERM ends it.
#  - every kind of config error makes it exit non-zero within 5 s with one
#    line on stderr naming FILE:LINE:, and leaves no interface behind.
# wireguard-go has no --conf mode: in harness validation this test reports
# "not applicable" and exits 0; with wgud nothing is skipped.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_bad_conf.sh

source "$(dirname "$0")/lib.sh"
t_init 90

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode; this test only means something with wgud"
	skip "test_bad_conf (all cases)"
	t_finish
fi

NS=$(nsname a)
ns_create "$NS"
keypair K KPUB
keypair K1 PUB1
PORT=$((20000 + RANDOM % 20000))

# The valid file; cases below change one line of it (numbers are 1-based).
BASE=(
	"[Interface]"					# 1
	"PrivateKey = $K"				# 2
	"ListenPort = $PORT"				# 3
	"Address = $TUN4.1/24, $TUN6:1/64"		# 4
	"MTU = 1380"					# 5
	""						# 6
	"[Peer]"					# 7
	"PublicKey = $PUB1"				# 8
	"AllowedIPs = $TUN4.2/32, 203.0.113.0/24"	# 9
	"Endpoint = 198.51.100.2:51820"			# 10
	"PersistentKeepalive = 25"			# 11
)

write_conf()
{
	printf '%s\n' "${@:2}" >"$1"
	chmod 600 "$1"
}

log "---- control: a valid file"
IFC=$(ifname g)
CONF=$T_TMP/$IFC.conf
write_conf "$CONF" "${BASE[@]}"
ip netns exec "$NS" "${T_GUARD[@]}" "$WGUD" --conf "$CONF" --interface "$IFC" \
	</dev/null >"$T_TMP/$IFC.log" 2>&1 &
PID=$!
register_pid "$PID"
conf_applied()
{
	impl_ready "$NS" "$IFC" "$PID" &&
		[[ $(nsx "$NS" wg show "$IFC" public-key) == "$KPUB" ]] &&
		ip -n "$NS" addr show dev "$IFC" up | grep "inet $TUN4.1/" >/dev/null
}
# The socket may answer before the whole file is applied: wait for the end
# state (key set, address on, link up) rather than for the socket.
require "--conf brings up $IFC configured" wait_for 10 "$IFC configured from --conf" conf_applied
assert_eq "public key from PrivateKey" "$KPUB" "$(nsx "$NS" wg show "$IFC" public-key)" || true
assert_eq "ListenPort" "$PORT" "$(wg_listen_port "$NS" "$IFC")" || true
assert_eq "peer present" "$PUB1" "$(nsx "$NS" wg show "$IFC" peers)" || true
assert_eq "peer endpoint" "198.51.100.2:51820" "$(wg_endpoint "$NS" "$IFC" "$PUB1")" || true
assert_eq "peer keepalive" 25 "$(wg_field "$NS" "$IFC" persistent-keepalive "$PUB1")" || true
assert "IPv4 address" grep -q "inet $TUN4.1/24" <(ip -n "$NS" addr show dev "$IFC") || true
assert "IPv6 address" grep -q "inet6 $TUN6:1/64" <(ip -n "$NS" addr show dev "$IFC") || true
assert "MTU" grep -q "mtu 1380" <(ip -n "$NS" link show dev "$IFC") || true
assert "interface is up" grep -q "[<,]UP[,>]" <(ip -n "$NS" link show dev "$IFC") || true
assert "route for AllowedIPs" grep -q "dev $IFC" <(ip -n "$NS" route get 203.0.113.9) || true
kill -TERM "$PID"
assert "--conf mode exits on SIGTERM" pid_wait_exit "$PID" 5 || true
assert "interface gone after SIGTERM" wait_for 3 "$IFC to go" bash -c "! ip -n '$NS' link show '$IFC'" || true

# bad_case NAME LINE_REGEX LINES...: the file LINES must be refused at LINE_REGEX.
N=0
bad_case()
{
	local name=$1 line=$2 ifc conf rc=0 err nl
	shift 2
	N=$((N + 1))
	ifc=$(ifname "b$N")
	conf=$T_TMP/$ifc.conf
	write_conf "$conf" "$@"
	err=$T_TMP/$ifc.err
	nsx "$NS" timeout 5 "$WGUD" --conf "$conf" --interface "$ifc" </dev/null >/dev/null 2>"$err" || rc=$?
	if ((rc == 124)); then
		fail "[$name] still running after 5 s"
	elif ((rc == 0)); then
		fail "[$name] exited 0"
	else
		nl=$(wc -l <"$err")
		if [[ $nl != 1 ]]; then
			fail "[$name] stderr has $nl lines, want 1: $(head -c 300 "$err" | tr '\n' '|')"
		elif ! grep -Eq "$(printf '%s' "$conf" | sed 's/[.[\*^$()+?{|]/\\&/g'):($line):" "$err"; then
			fail "[$name] stderr does not name $conf:$line: '$(cat "$err")'"
		else
			pass "[$name] refused, rc=$rc: $(cat "$err")"
		fi
	fi
	if ip -n "$NS" link show "$ifc" >/dev/null 2>&1 || [[ -e $(sock_path "$ifc") ]]; then
		fail "[$name] $ifc (or its socket) exists afterwards"
		ip -n "$NS" link del "$ifc" 2>/dev/null || true
	fi
}

b=("${BASE[@]}")
set_line() { b=("${BASE[@]}"); b[$1 - 1]=$2; }

set_line 5 "Bogus = 1";				bad_case "unknown key in [Interface]" 5 "${b[@]}"
set_line 11 "Bogus = 1";			bad_case "unknown key in [Peer]" 11 "${b[@]}"
set_line 7 "[Peers]";				bad_case "unknown section" 7 "${b[@]}"
set_line 2 "PrivateKey = notakey";		bad_case "bad PrivateKey" 2 "${b[@]}"
set_line 2 "PrivateKey = ${K%?}";		bad_case "PrivateKey one char short" 2 "${b[@]}"
set_line 8 "PublicKey = AAAA";			bad_case "bad PublicKey" 8 "${b[@]}"
b=("${BASE[@]:0:1}" "${BASE[@]:2}");		bad_case "missing PrivateKey" "[0-9]+" "${b[@]}"
set_line 9 "AllowedIPs = $TUN4.2/33";		bad_case "bad CIDR prefix" 9 "${b[@]}"
set_line 9 "AllowedIPs = 192.0.2.256/32";	bad_case "bad CIDR address" 9 "${b[@]}"
set_line 4 "Address = $TUN4.1/24, fd00:2::1/129"; bad_case "bad Address" 4 "${b[@]}"
set_line 10 "Endpoint = 198.51.100.2";		bad_case "endpoint without port" 10 "${b[@]}"
set_line 10 "Endpoint = [fd00::2]:70000";	bad_case "endpoint port out of range" 10 "${b[@]}"
set_line 10 "Endpoint = [fd00::2:51820";	bad_case "endpoint unclosed bracket" 10 "${b[@]}"
set_line 3 "ListenPort = 65536";		bad_case "ListenPort out of range" 3 "${b[@]}"
set_line 3 "ListenPort = 12ab";			bad_case "ListenPort not a number" 3 "${b[@]}"
set_line 5 "MTU = many";			bad_case "MTU not a number" 5 "${b[@]}"
set_line 11 "PersistentKeepalive = 70000";	bad_case "keepalive out of range" 11 "${b[@]}"
b=("${BASE[@]}" "" "[Peer]" "PublicKey = $PUB1" "AllowedIPs = $TUN4.3/32")
						bad_case "duplicate peer" "13|14" "${b[@]}"
b=("ListenPort = 1" "${BASE[@]}");		bad_case "key outside any section" 1 "${b[@]}"
set_line 5 "MTU 1380";				bad_case "line without '='" 5 "${b[@]}"

t_finish
