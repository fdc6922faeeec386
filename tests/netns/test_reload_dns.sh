#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A SIGHUP reload whose conf names its endpoint by host name, under a full
# tunnel with the kill switch on: the only resolver is behind the tunnel, so
# the lookup's own query has to go through the TUN device the packet loop
# serves. The loop must keep serving while the name is looked up:
#  - the name resolves (through the tunnel), the endpoint is the address it
#    gave, and a ping stream through the tunnel loses at most one echo;
#  - a name that does not exist (NXDOMAIN) refuses the reload, the endpoint
#    stays, nothing is lost meanwhile;
#  - with the resolver silent (S drops the queries) the lookup only times
#    out: the reload is refused after it, and the tunnel carries traffic all
#    along;
#  - a SIGHUP while a lookup runs: it waits for that one and runs after it;
#  - SIGTERM while a lookup runs: wgud stops at once, cleanly.
# Uses the gateway topology (gw_topology in lib.sh): G runs wgud, S a
# wireguard-go with resolvers behind it on 203.0.113.53 (answers 192.0.2.250)
# and 203.0.113.55 (answers 198.51.100.66, a second address of S).
# wireguard-go has no --conf: not applicable in harness validation.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_reload_dns.sh

# shellcheck disable=SC2317 # helpers below are called through assert & co.
source "$(dirname "$0")/lib.sh"
t_init 150

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode"
	skip "test_reload_dns (all cases)"
	t_finish
fi
gw_init
gw_topology

# The name gives S a second address, so the endpoint visibly changes.
ip -n "$NS" addr add 203.0.113.55/32 dev lo
ip -n "$NS" addr add 198.51.100.66/32 dev lo
serve_start "$NS" "$T_TMP/dns55.log" --addr 203.0.113.55 --dns 53 --dns-answer 198.51.100.66
# The resolver wgud's lookups use, bound over /etc/resolv.conf by `ip netns exec`.
mkdir -p "/etc/netns/$NG"
printf 'nameserver 203.0.113.55\noptions timeout:1 attempts:2\n' >"/etc/netns/$NG/resolv.conf"
# 203.0.113.56 is a resolver the wall lets through, but S drops what is sent to it.
ip -n "$NS" addr add 203.0.113.56/32 dev lo
nsx "$NS" nft add table ip blackhole
nsx "$NS" nft add chain ip blackhole in '{ type filter hook input priority 0; }'
nsx "$NS" nft add rule ip blackhole in ip daddr 203.0.113.56 udp dport 53 drop
sed -i "s/^Address = .*/&\nDNS = 203.0.113.55, 203.0.113.56/" "$CONF_G"
wgud_conf_start "$NG" "$CONF_G" "$T_TMP/g.log" --kill-switch on
WGUD_PID=$STARTED_PID
ping_wait "$NG" 203.0.113.10 20 || die "the tunnel did not come up"
assert "the resolver answers through the tunnel" netprobe "$NG" dns 203.0.113.55 --timeout 2 || true

# reloads LINES: true once the log has a reload verdict after that many lines
reloaded()
{
	tail -n +"$(($1 + 1))" "$T_TMP/g.log" | grep "reload refused\|configuration reloaded" >/dev/null
}

# hup_during_ping LABEL: SIGHUP 1 s into 40 echoes 0.1 s apart; sets LOST and
# LINES (the log's length before the signal).
hup_during_ping()
{
	local out
	LINES=$(wc -l <"$T_TMP/g.log")
	nsx "$NG" ping -n -q -c 40 -i 0.1 -W 1 203.0.113.10 >"$T_TMP/$1.ping" 2>&1 &
	local ping_pid=$!
	sleep 1
	kill -HUP "$WGUD_PID"
	wait_for 15 "wgud to finish the reload" reloaded "$LINES" || true
	wait "$ping_pid" || true
	out=$(cat "$T_TMP/$1.ping")
	LOST=40
	[[ $out =~ ([0-9]+)\ received ]] && LOST=$((40 - BASH_REMATCH[1]))
	log "[$1] $(tail -n 2 "$T_TMP/$1.ping" | tr '\n' ' ')"
}

log "---- the endpoint by name, resolved through the tunnel"
sed -i "s/^Endpoint = .*/Endpoint = vpn.wgud.test:$PORT_S/" "$CONF_G"
hup_during_ping name
assert "[name] the reload is applied" bash -c "tail -n +$((LINES + 1)) '$T_TMP/g.log' | grep -q 'configuration reloaded'" || true
assert "[name] the lookup went to the resolver behind the tunnel" grep -q "^dns $TUN4.1 203.0.113.55:53" "$T_TMP/dns55.log" || true
assert_le "[name] echoes lost while the name was looked up" "$LOST" 1 || true
assert_endpoint "[name] the endpoint is the address the name gave" "198.51.100.66:$PORT_S" "$(wg_endpoint "$NG" "$IG" "$PS")" || true

log "---- a name that does not exist"
sed -i "s/^Endpoint = .*/Endpoint = nx-gone.wgud.test:$PORT_S/" "$CONF_G"
hup_during_ping nx
assert "[nx] the reload is refused with the name and the line" \
	bash -c "tail -n +$((LINES + 1)) '$T_TMP/g.log' | grep -q \"cannot resolve endpoint 'nx-gone.wgud.test'\"" || true
assert_le "[nx] echoes lost meanwhile" "$LOST" 1 || true
assert_endpoint "[nx] the endpoint stays" "198.51.100.66:$PORT_S" "$(wg_endpoint "$NG" "$IG" "$PS")" || true

log "---- the resolver unreachable: the lookup can only time out"
printf 'nameserver 203.0.113.56\noptions timeout:2 attempts:2\n' >"/etc/netns/$NG/resolv.conf"
sed -i "s/^Endpoint = .*/Endpoint = slow.wgud.test:$PORT_S/" "$CONF_G"
hup_during_ping timeout
assert "[timeout] the reload is refused after the lookup timed out" \
	bash -c "tail -n +$((LINES + 1)) '$T_TMP/g.log' | grep -q \"cannot resolve endpoint 'slow.wgud.test'\"" || true
assert_le "[timeout] echoes lost while the lookup timed out" "$LOST" 1 || true

log "---- a SIGHUP while a lookup runs waits for it, then reads the files again"
# The first lookup times out (1 s) on the old resolver; the second SIGHUP
# comes meanwhile and runs after it, with the resolver back.
printf 'nameserver 203.0.113.56\noptions timeout:1 attempts:1\n' >"/etc/netns/$NG/resolv.conf"
LINES=$(wc -l <"$T_TMP/g.log")
kill -HUP "$WGUD_PID"
sleep 0.3
printf 'nameserver 203.0.113.55\noptions timeout:1 attempts:2\n' >"/etc/netns/$NG/resolv.conf"
sed -i "s/^Endpoint = .*/Endpoint = vpn.wgud.test:$PORT_S/" "$CONF_G"
kill -HUP "$WGUD_PID"
# verdicts LINES N: true once N reload verdicts follow that many lines
verdicts()
{
	(($(tail -n +"$(($1 + 1))" "$T_TMP/g.log" | grep -c "reload refused\|configuration reloaded") >= $2))
}
wait_for 15 "two reloads" verdicts "$LINES" 2 || true
assert "[twice] the second SIGHUP waited for the first" \
	bash -c "tail -n +$((LINES + 1)) '$T_TMP/g.log' | grep -q 'still waits for endpoint names'" || true
assert_eq "[twice] the second reload ran after the first, and was applied" 1 \
	"$(tail -n +$((LINES + 1)) "$T_TMP/g.log" | grep -c 'configuration reloaded')" || true
assert_ping "[twice] the tunnel works after them" "$NG" 203.0.113.10

log "---- a stop while a lookup runs does not wait for it"
printf 'nameserver 203.0.113.56\noptions timeout:5 attempts:2\n' >"/etc/netns/$NG/resolv.conf"
sed -i "s/^Endpoint = .*/Endpoint = slow.wgud.test:$PORT_S/" "$CONF_G"
LINES=$(wc -l <"$T_TMP/g.log")
kill -HUP "$WGUD_PID"
wait_for 5 "the lookup to start" bash -c "tail -n +$((LINES + 1)) '$T_TMP/g.log' | grep -q 'looking up endpoint names'" || true
sleep 0.5
kill -TERM "$WGUD_PID"
assert "wgud stops within 2 s, the 10 s lookup left behind" pid_wait_exit "$WGUD_PID" 2 || true
rc=0
wait "$WGUD_PID" || rc=$?
assert_eq "and exits 0" 0 "$rc" || true
t_finish
