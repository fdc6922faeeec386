#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Live policy changes through `wgud ctl` on a gateway (gw_topology in lib.sh,
# started with --policy FILE), plus H, a host behind the uplink router S
# (198.51.100.10, fd00:0:2::2) that G's main table reaches only through its
# default route and that answers G's uplink address only, never a tunnel one:
#  - forward-from del: the LAN loses access; add: it is back
#  - allow-lan add: H (through the uplink's default route: wgud adds the
#    routing rule itself) and the directly connected LAN become reachable
#    from G, not through the tunnel; del: they are not any more
#  - port-forward add tcp 8443 198.18.0.2:8080: a connection from S to G's
#    tunnel address reaches L's service; del: it does not
#  - dns set: DNS to that resolver through the tunnel works, to another one
#    is dropped
#  - kill-switch off/on: a socket bound to the uplink gets out, then not
#  - show --json parses and says what was set
#  - refused commands (bad CIDR, unknown word, absent entry, bad port,
#    overlong line, too many words, raw garbage, NUL, no newline, a
#    non-root client) exit non-zero and leave the nftables table
#    byte-for-byte as it was, and the policy too
#  - help lists every word; a policy file re-read on SIGHUP: a broken one is
#    refused with the rule set byte for byte as it was, a good one is applied
#  - 20 silent clients do not lock `wgud ctl` out for long (idle ones are
#    evicted after 5 s when the slots are full)
#  - SIGTERM: table, control socket and allow-lan rules gone
# wireguard-go has no --conf: not applicable in harness validation.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_ctl.sh

# shellcheck disable=SC2317 # helpers below are called through assert & co.
source "$(dirname "$0")/lib.sh"
t_init 240

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode and no control socket"
	skip "test_ctl (all cases)"
	t_finish
fi
gw_init
gw_topology

SRV4=203.0.113.10
NH=$(nsname h)
ns_create "$NH"
veth_link "$NS" "$NH" 2
H4=$V4_2 S_H4=$V4_1
H6=$(addr_norm "$V6_2")
S_H6=$(addr_norm "$V6_1")
ip -n "$NH" route add 198.51.100.0/30 via "$S_H4"
ip -n "$NH" -6 route add fd00::/64 via "$S_H6"
nsx "$NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
H_LOG=$T_TMP/h.log
serve_start "$NH" "$H_LOG" --addr "$H4" --addr "$H6" --tcp 8080
L_LOG=$T_TMP/l.log
serve_start "$NL" "$L_LOG" --addr 198.18.0.2 --tcp 8080
DNS_LOG=$T_TMP/dns.log

POLICY=$T_TMP/gw.policy
cat >"$POLICY" <<-EOF
	# the LAN behind this gateway
	forward-from add 198.18.0.0/24

	masquerade on
EOF

log "---- up with --policy $POLICY"
wgud_conf_start "$NG" "$CONF_G" "$T_TMP/g.log" --policy "$POLICY"
WGUD_PID=$STARTED_PID
require "table inet wgud_$IG exists" nft_table_exists "$NG" "$IG"
assert_json "policy file: forward-from" "$NG" "$IG" "'198.18.0.0/24' in json.dumps(j['policy']['forward_from'])" || true
assert_json "policy file: masquerade" "$NG" "$IG" "j['policy']['masquerade'] in (True, 'on')" || true
assert_ping "L reaches $SRV4 through G" "$NL" "$SRV4" || true

log "---- forward-from del / add"
assert_ctl "forward-from del 198.18.0.0/24" "$NG" "$IG" forward-from del 198.18.0.0/24 || true
assert_no_ping "L lost access" "$NL" "$SRV4" || true
assert_json "show --json: forward-from empty" "$NG" "$IG" "'198.18.0.0/24' not in json.dumps(j['policy']['forward_from'])" || true
assert_ctl "forward-from add 198.18.0.0/24" "$NG" "$IG" forward-from add 198.18.0.0/24 || true
assert_ping "L regained access" "$NL" "$SRV4" || true

log "---- allow-lan"
route_dev()
{
	nsx "$NG" ip route get "$1" | grep -o 'dev [^ ]*' | head -n 1 | cut -d' ' -f2
}
lan_rule()
{
	ip -n "$NG" "$1" rule show | grep "to $2 lookup main" >/dev/null
}
g_tcp_h()
{
	netprobe "$NG" tcp "$H4" 8080 --timeout 1.5 >/dev/null
}
assert_eq "before: H is routed into the tunnel" "$IG" "$(route_dev "$H4")" || true
assert_no_ping "before: G cannot reach H" "$NG" "$H4" || true
assert_no_ping "before: G cannot reach L on the LAN (kill switch)" "$NG" 198.18.0.2 || true
assert_ctl "allow-lan add 198.51.100.8/30" "$NG" "$IG" allow-lan add 198.51.100.8/30 || true
assert_ctl "allow-lan add fd00:0:2::/64" "$NG" "$IG" allow-lan add fd00:0:2::/64 || true
assert_ctl "allow-lan add 198.18.0.0/24" "$NG" "$IG" allow-lan add 198.18.0.0/24 || true
assert "wgud added the rule: to 198.51.100.8/30 lookup main" lan_rule -4 198.51.100.8/30 || true
assert "wgud added the rule: to fd00:0:2::/64 lookup main" lan_rule -6 fd00:0:2::/64 || true
assert_eq "H is now routed over the uplink" "$G_UP" "$(route_dev "$H4")" || true
assert_ping "G reaches H directly (no manual route)" "$NG" "$H4" || true
assert_ping "G reaches H over IPv6" "$NG" "$H6" || true
: >"$H_LOG"
assert "G connects to H:8080" g_tcp_h || true
assert "H saw G's uplink address, not a tunnel one" served "$H_LOG" tcp 198.51.100.1 "$H4:8080" || true
assert_ping "G reaches L on the directly connected LAN" "$NG" 198.18.0.2 || true
assert_json "show --json: allow-lan lists all three" "$NG" "$IG" \
	"all(c in json.dumps(j['policy']['allow_lan']) for c in ('198.51.100.8/30', 'fd00:0:2::/64', '198.18.0.0/24'))" || true
assert_ctl "allow-lan del 198.51.100.8/30" "$NG" "$IG" allow-lan del 198.51.100.8/30 || true
assert_ctl "allow-lan del fd00:0:2::/64" "$NG" "$IG" allow-lan del fd00:0:2::/64 || true
assert_ctl "allow-lan del 198.18.0.0/24" "$NG" "$IG" allow-lan del 198.18.0.0/24 || true
assert "the rule is gone" bash -c "! ip -n '$NG' -4 rule show | grep -q 'to 198.51.100.8/30'" || true
assert "the IPv6 rule is gone" bash -c "! ip -n '$NG' -6 rule show | grep -q 'to fd00:0:2::/64'" || true
assert_eq "H is routed into the tunnel again" "$IG" "$(route_dev "$H4")" || true
assert_no_ping "G cannot reach H any more" "$NG" "$H4" || true
assert "G cannot connect to H any more" bash -c "! ip netns exec '$NG' '$T_PY' '$NETPROBE' tcp $H4 8080 --timeout 1.5" || true
assert_no_ping "G cannot reach L any more" "$NG" 198.18.0.2 || true
assert_json "show --json: allow-lan empty" "$NG" "$IG" "len(j['policy']['allow_lan']) == 0" || true

log "---- port-forward"
s_tcp_fwd()
{
	netprobe "$NS" tcp "$TUN4.1" 8443 --timeout 2 >/dev/null
}
assert "before: nothing on G's tunnel address port 8443" bash -c "! ip netns exec '$NS' '$T_PY' '$NETPROBE' tcp $TUN4.1 8443 --timeout 1.5" || true
assert_ctl "port-forward add tcp 8443 198.18.0.2:8080" "$NG" "$IG" port-forward add tcp 8443 198.18.0.2:8080 || true
: >"$L_LOG"
assert "S connects to $TUN4.1:8443 and reaches L's service" s_tcp_fwd || true
assert "L's service saw the connection from S's tunnel address" served "$L_LOG" tcp "$TUN4.2" "198.18.0.2:8080" || true
assert_json "show --json: the port forward" "$NG" "$IG" \
	"'8443' in json.dumps(j['policy']['port_forward']) and '198.18.0.2' in json.dumps(j['policy']['port_forward'])" || true
assert_ctl "port-forward del tcp 8443 198.18.0.2:8080" "$NG" "$IG" port-forward del tcp 8443 198.18.0.2:8080 || true
assert "after del: S cannot connect any more" bash -c "! ip netns exec '$NS' '$T_PY' '$NETPROBE' tcp $TUN4.1 8443 --timeout 1.5" || true
assert_json "show --json: no port forward" "$NG" "$IG" "len(j['policy']['port_forward']) == 0" || true

log "---- dns set"
g_dns()
{
	netprobe "$NG" dns "$1" --timeout 1.5 >/dev/null
}
g_no_dns()
{
	! g_dns "$1"
}
assert_ctl "dns set 203.0.113.53 2001:db8:1::53" "$NG" "$IG" dns set 203.0.113.53 2001:db8:1::53 || true
: >"$DNS_LOG"
assert "DNS to 203.0.113.53 works" g_dns 203.0.113.53 || true
assert "DNS to 2001:db8:1::53 works" g_dns 2001:db8:1::53 || true
assert "DNS to 203.0.113.54 is dropped" g_no_dns 203.0.113.54 || true
assert "DNS to 2001:db8:1::54 is dropped" g_no_dns 2001:db8:1::54 || true
assert "the resolver saw G's tunnel address" served "$DNS_LOG" dns "$TUN4.1" "203.0.113.53:53" || true
assert "the other resolver saw nothing" bash -c "! grep -q '203.0.113.54:53\|2001:db8:1::54:53' '$DNS_LOG'" || true
assert_json "show --json: dns" "$NG" "$IG" \
	"'203.0.113.53' in json.dumps(j['policy']['dns']) and '2001:db8:1::53' in json.dumps(j['policy']['dns']) and '203.0.113.54' not in json.dumps(j['policy']['dns'])" || true
assert_ctl "dns set 203.0.113.54" "$NG" "$IG" dns set 203.0.113.54 || true
assert "DNS to 203.0.113.54 now works" g_dns 203.0.113.54 || true
assert "DNS to 203.0.113.53 is now dropped" g_no_dns 203.0.113.53 || true

log "---- kill-switch off / on"
assert_ctl "kill-switch off" "$NG" "$IG" kill-switch off || true
assert_json "show --json: kill switch off" "$NG" "$IG" "j['policy']['kill_switch'] in (False, 'off')" || true
assert_ping "a ping bound to the uplink gets out" "$NG" "$SRV4" -I "$G_UP" || true
assert_ctl "kill-switch on" "$NG" "$IG" kill-switch on || true
assert_json "show --json: kill switch on" "$NG" "$IG" "j['policy']['kill_switch'] in (True, 'on')" || true
assert_no_ping "a ping bound to the uplink is dropped again" "$NG" "$SRV4" -I "$G_UP" || true
assert_ping "the tunnel still works" "$NG" "$SRV4" || true

log "---- show"
assert_ctl "show" "$NG" "$IG" show || true
assert "show prints something" test -n "$CTL_OUT" || true
assert_json "show --json: policy has its keys" "$NG" "$IG" \
	"all(k in j['policy'] for k in ('kill_switch', 'allow_lan', 'forward_from', 'masquerade', 'port_forward', 'dns'))" || true
assert_json "show --json: the peer, its endpoint and traffic" "$NG" "$IG" \
	"[(p['endpoint'].endswith(':$PORT_S') and '198.51.100.2' in p['endpoint'], p['rx_bytes'] > 0, p['tx_bytes'] > 0, p['latest_handshake'] > 0) for p in j['peers'] if p['public_key'] == '$PS'] == [(True, True, True, True)]" || true
assert_json "show --json: drops are counts by reason" "$NG" "$IG" \
	"isinstance(j['drops'], dict) and all(isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in j['drops'].items())" || true

log "---- help"
assert_ctl "help" "$NG" "$IG" help || true
for w in "kill-switch on|off|auto|lockdown" "allow-lan add|del" "allow add|del" "forward-from add|del" "masquerade on|off" \
	"port-forward add|del" "open [add|del]" "dns set" "dns-forward on|off" "show [--json]" "help"; do
	assert "help lists '$w'" grep -qF -- "$w" <<<"$CTL_OUT" || true
done
wctl_rc RC "$NG" "$IG" frobnicate
assert "an unknown word's refusal names show and help" grep -q "show or help" <<<"$CTL_ERR" || true

log "---- refused commands change nothing"
TABLE0=$(nft_table "$NG" "$IG")
POLICY0=$(ctl_json "$NG" "$IG" "j['policy']")
[[ -n $TABLE0 && -n $POLICY0 ]] || die "cannot read the table or the policy"

# unchanged MSG: the table and the policy are as before, wgud still runs.
unchanged()
{
	local t p
	t=$(nft_table "$NG" "$IG")
	p=$(ctl_json "$NG" "$IG" "j['policy']")
	if [[ $t == "$TABLE0" && $p == "$POLICY0" ]] && pid_alive "$WGUD_PID"; then
		pass "$1: table and policy unchanged"
	else
		fail "$1: something changed (or wgud died): $(diff <(echo "$TABLE0") <(echo "$t") | head -n 5 | tr '\n' ' ') policy: $p"
	fi
}

# refused MSG WORDS...: `wgud ctl` exits 1 with a reason, nothing changes.
refused()
{
	local msg=$1 rc
	shift
	wctl_rc rc "$NG" "$IG" "$@"
	if [[ $rc == 1 && -n $CTL_ERR ]]; then
		pass "$msg: refused (exit 1: $(head -c 120 <<<"$CTL_ERR"))"
	else
		fail "$msg: expected exit 1 and a reason, got exit $rc, stderr '$CTL_ERR'"
	fi
	unchanged "$msg"
}

# raw MSG HEX: bytes straight to the socket; the answer must be an error.
raw()
{
	local msg=$1 out
	out=$(netprobe "$NG" unix "$(ctl_path "$IG")" --hex "$2" 2>&1) || true
	if [[ $(tail -n 1 <<<"$out") == error* ]]; then
		pass "$msg: answered '$(tail -n 1 <<<"$out" | head -c 100)'"
	else
		fail "$msg: expected an error line, got '$(head -c 200 <<<"$out")'"
	fi
	unchanged "$msg"
}

hex()
{
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

refused "bad CIDR" allow-lan add 198.51.100.0/33
refused "not a CIDR" forward-from add 198.51.100.zz/24
refused "unknown word" frobnicate on
refused "unknown sub-word" allow-lan insert 198.51.100.0/30
refused "absent entry" forward-from del 198.51.100.64/26
refused "present entry" forward-from add 198.18.0.0/24
refused "bad port" port-forward add tcp 70000 198.18.0.2:8080
refused "bad protocol" allow sctp 198.51.100.2:80
refused "bad switch value" kill-switch maybe
refused "bad DNS address" dns set 203.0.113.300
refused "open with another verb" open put tcp 51413
refused "allow everything (the kill switch off by the back door)" allow add any 0.0.0.0/0
refused "allow everything over IPv6" allow add tcp ::/0
refused "open of icmp" open add icmp 1
refused "a port forward to an address outside every forward-from subnet" port-forward add tcp 8444 10.99.0.5:80
LONG=$(printf '1%.0s' $(seq 5000))
wctl_rc RC "$NG" "$IG" allow-lan add "$LONG"
assert_ne "overlong line (5000 bytes): non-zero exit" 0 "$RC" || true
unchanged "overlong line"
mapfile -t MANY < <(printf '198.51.100.%d/32\n' $(seq 1 40))
wctl_rc RC "$NG" "$IG" allow-lan add "${MANY[@]}"
assert_ne "too many words: non-zero exit" 0 "$RC" || true
unchanged "too many words"
raw "raw 5000-byte line" "$(printf '61%.0s' $(seq 5000))0a"
raw "raw binary garbage" "$("$T_PY" -c 'import random; r = random.Random(4); print(bytes(r.randrange(256) for _ in range(600)).hex() + "0a")')"
raw "raw NUL inside a valid command" "$(hex 'allow-lan add 198.51.100.64/26')00$(hex ' x')0a"
raw "raw valid command without its newline" "$(hex 'allow-lan add 198.51.100.64/26')"
raw "raw escape sequence" "$(hex 'allow-lan add ')1b5b324a$(hex '198.51.100.64/26')0a"

NOBODY_WGUD=""
nobody_wgud NOBODY_WGUD
RC=0
nsx "$NG" timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups "$NOBODY_WGUD" ctl "$IG" kill-switch off \
	>"$T_TMP/nobody.out" 2>&1 || RC=$?
if [[ $RC == 1 || $RC == 2 ]]; then
	pass "uid 65534 cannot use the control socket (exit $RC: $(head -c 100 "$T_TMP/nobody.out"))"
else
	fail "uid 65534: expected exit 1 or 2, got $RC: $(head -c 200 "$T_TMP/nobody.out")"
fi
unchanged "uid 65534"

log "---- SIGHUP reads the policy file again"
# reloads LOG_LINE_COUNT: true once the log has a reload verdict after that many lines
reloaded()
{
	tail -n +"$(($1 + 1))" "$T_TMP/g.log" | grep "reload refused\|configuration reloaded\|the policy in force stays" >/dev/null
}
sighup()
{
	local lines
	lines=$(wc -l <"$T_TMP/g.log")
	kill -HUP "$WGUD_PID"
	wait_for 10 "wgud to reload" reloaded "$lines" || true
}
TABLE0=$(nft_table "$NG" "$IG")
POLICY0=$(ctl_json "$NG" "$IG" "j['policy']")
cp "$POLICY" "$POLICY.good"
printf 'forward-from add 198.18.0.0/24\nmasquerade on\nforward-from add 10.0.0.0/33\n' >"$POLICY"
sighup
assert "[hup] a broken policy file is refused, naming file and line" grep -q "$POLICY:3: forward-from: bad CIDR" "$T_TMP/g.log" || true
unchanged "[hup] a broken policy file"
head -c 1100000 /dev/zero | tr '\0' '#' >"$POLICY"
sighup
assert "[hup] a policy file larger than 1 MiB is refused, not cut" grep -q "larger than 1 MiB" "$T_TMP/g.log" || true
unchanged "[hup] an overlong policy file"
# a conf that changes too, with a policy that does not hold: neither is applied
cp "$CONF_G" "$CONF_G.good"
sed -i "s/^Address = .*/&\nDNS = 203.0.113.54/" "$CONF_G"
printf 'forward-from add 198.18.0.0/24\nport-forward add tcp 80 10.9.9.9\n' >"$POLICY"
sighup
assert "[hup] a policy that does not hold with the new conf is refused" grep -q "reload refused ($POLICY: port-forward: 10.9.9.9" "$T_TMP/g.log" || true
unchanged "[hup] a refused policy with a changed conf"
cp "$CONF_G.good" "$CONF_G"
printf 'forward-from add 198.18.0.0/24\nmasquerade on\nkill-switch on\nopen add tcp 9191\n' >"$POLICY"
sighup
assert "[hup] a good file is applied" grep -q "configuration reloaded" "$T_TMP/g.log" || true
assert_json "[hup] show --json has the file's open port" "$NG" "$IG" "j['policy']['open'] == [{'proto': 'tcp', 'port': 9191}]" || true
assert "[hup] and nftables has it" bash -c "ip netns exec '$NG' nft list chain inet 'wgud_$IG' input | grep -q 'tcp dport 9191 accept'" || true
assert_ping "[hup] the LAN still reaches the server" "$NL" "$SRV4" || true

log "---- busy socket"
ip netns exec "$NG" "${T_GUARD[@]}" timeout 20 "$T_PY" "$NETPROBE" hold "$(ctl_path "$IG")" 20 12 \
	>"$T_TMP/hold.out" 2>&1 &
HOLD_PID=$!
register_pid "$HOLD_PID"
wait_for 5 "silent clients" grep -q held "$T_TMP/hold.out" || true
log "$(cat "$T_TMP/hold.out")"
# Slots are full now; a silent client may be evicted once idle for 5 s.
T0=$SECONDS
assert "wgud ctl show gets through 20 silent clients within 10 s" \
	wait_for 10 "wgud ctl show past silent clients" wctl "$NG" "$IG" show || true
log "it took $((SECONDS - T0)) s"
kill_pid "$HOLD_PID"
assert "and works at once when they are gone" wctl "$NG" "$IG" show || true
wctl_rc RC "$NG" "$(ifname zz)" show
assert_eq "wgud ctl to an interface without wgud: exit 2" 2 "$RC" || true

log "---- SIGTERM"
assert_ctl "allow-lan add 198.51.100.8/30 (to see it removed at stop)" "$NG" "$IG" allow-lan add 198.51.100.8/30 || true
kill -TERM "$WGUD_PID"
assert "wgud exits on SIGTERM" pid_wait_exit "$WGUD_PID" 5 || true
wait "$WGUD_PID" 2>/dev/null && RC=0 || RC=$?
assert_eq "exit status 0" 0 "$RC" || true
assert "table deleted" bash -c "! ip netns exec '$NG' nft list table inet 'wgud_$IG' >/dev/null 2>&1" || true
assert "control socket removed" bash -c "[[ ! -e $(ctl_path "$IG") ]]" || true
assert "allow-lan rule removed" bash -c "! ip -n '$NG' -4 rule show | grep -q 'to 198.51.100.8/30'" || true

t_finish
