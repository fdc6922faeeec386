#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What stays when wgud goes: lockdown, failed starts, crashes, and `wgud
# unlock`. The gateway topology (gw_topology in lib.sh: L -- G -- S); a
# capture on S's end of the uplink counts what G sends that is not
# WireGuard while L and G try everything (ping, TCP, UDP, v4 and v6, to S's
# uplink address and to the server behind it).
#  - gateway, IP forwarding already on before wgud (a container's sysctls):
#    no cleartext after SIGTERM (lockdown's table stays), after a failed
#    start (a broken conf), and after SIGKILL; `wgud unlock` then restores
#    plain routing and forwarding is what it was (on)
#  - forwarding off before: wgud turns it on and puts it back at stop, and
#    after a SIGKILL `wgud unlock` puts it back from the state file
#  - the host's own traffic: --kill-switch lockdown keeps everything in after
#    SIGTERM; --kill-switch on does not (documented: a clean stop without
#    lockdown removes the table)
#  - after SIGKILL, a restart that fails late (a file where the control
#    socket goes) leaves the table: nothing leaves; a restart whose endpoint
#    is a host name says the table blocks DNS, and what to do
#  - 20 SIGKILL-restart cycles leave exactly one set of policy rules, and a
#    clean stop removes them all; `wgud unlock` refuses while wgud runs
#  - a second wgud for the same interface is refused and leaves the running
#    one's table alone; another interface's start, stop and unlock leave this
#    one's policy rules alone
# wireguard-go has no --conf: not applicable in harness validation.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_lockdown.sh

# shellcheck disable=SC2317 # helpers below are called through assert & co.
source "$(dirname "$0")/lib.sh"
t_init 240

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --conf mode and no firewall"
	skip "test_lockdown (all cases)"
	t_finish
fi
gw_init
gw_topology

SRV4=203.0.113.10 SRV6=2001:db8:1::10
GW=(--forward-from "198.18.0.0/24;2001:db8:18::/64" --masquerade)	# a list, as gluetun's FORWARD_FROM
LOG=$T_TMP/wgud.log

start()
{
	wgud_conf_start "$NG" "$CONF_G" "$LOG" "$@"
	WGUD_PID=$STARTED_PID
}

stop()
{
	kill -TERM "$WGUD_PID"
	pid_wait_exit "$WGUD_PID" 5 || die "wgud did not stop on SIGTERM"
}

crash()
{
	disown "$WGUD_PID" 2>/dev/null || true	# no "Killed" job report
	kill -KILL "$WGUD_PID"
	pid_wait_exit "$WGUD_PID" 5 || die "wgud did not die on SIGKILL"
}

# everything L and G might try; none of it may work or leak
probes()
{
	local pids=() p
	nsx "$NL" ping -n -c2 -i 0.3 -W1 "$SRV4" & pids+=($!)
	nsx "$NL" ping -n -c2 -i 0.3 -W1 198.51.100.2 & pids+=($!)
	nsx "$NL" ping -n -c2 -i 0.3 -W1 fd00::2 & pids+=($!)
	nsx "$NG" ping -n -c2 -i 0.3 -W1 "$SRV6" & pids+=($!)
	nsx "$NG" ping -n -c2 -i 0.3 -W1 198.51.100.2 & pids+=($!)
	printf '%s\n' "lt4 tcp $SRV4 8080" "lt6 tcp $SRV6 8080" "lu4 udp $SRV4 7777" "lup tcp 198.51.100.2 8080" |
		netprobe "$NL" batch --timeout 1.5 >"$T_TMP/l.out" || true
	printf '%s\n' "gt4 tcp $SRV4 8080" "gu6 udp $SRV6 7777" "gd4 dns 203.0.113.54 53" "gup tcp 198.51.100.2 8080" |
		netprobe "$NG" batch --timeout 1.5 >"$T_TMP/g.out" || true
	for p in "${pids[@]}"; do
		wait "$p" || true
	done
}

none_answered()
{
	! grep -q '^[a-z0-9]* 0 ' "$T_TMP/l.out" "$T_TMP/g.out"
}

# sealed LABEL: nothing plain from G on the uplink while everything is tried, and nothing answered
sealed()
{
	local n
	n=$(gw_uplink_capture "$1" probes)
	assert_eq "[$1] nothing plain from G on the uplink" 0 "$n" || true
	assert "[$1] nothing answered" none_answered || true
}

forward4()
{
	nsx "$NG" sysctl -n net.ipv4.ip_forward
}

# rules PRIORITY FAMILY: how many policy rules sit at that priority
rules()
{
	ip -n "$NG" "$2" rule show | grep -c "^$1:" || true
}

log "---- gateway, forwarding on before wgud"
nsx "$NG" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
start "${GW[@]}"
assert "[gw] L reaches the server through the tunnel" ping_wait "$NL" "$SRV4" 20 || true
assert_json "[gw] lockdown by default with forward-from" "$NG" "$IG" "j['kill_switch_mode'] == 'lockdown'" || true
wctl_rc RC "$NG" "$IG" kill-switch lockdown
assert_eq "[gw] wgud ctl: kill-switch lockdown is a policy word" 0 "$RC" || true
RC=0
nsx "$NG" "$WGUD" unlock "$IG" >"$T_TMP/unlock.out" 2>&1 || RC=$?
assert_eq "[gw] wgud unlock refuses while wgud runs" 1 "$RC" || true
assert "[gw] ... and says why" grep -q "is running" "$T_TMP/unlock.out" || true
assert "[gw] ... leaving the table" nft_table_exists "$NG" "$IG" || true

stop
assert "[stop] the lockdown table stays after SIGTERM" nft_table_exists "$NG" "$IG" || true
assert "[stop] wgud said so" grep -q "lockdown: table inet wgud_$IG is in force" "$LOG" || true
assert_eq "[stop] forwarding as it was before wgud (on)" 1 "$(forward4)" || true
assert "[stop] wgud said forwarding stays on" grep -q "forwarding stays on, as it was before wgud started" "$LOG" || true
sealed stop

log "---- a conf that is not there at all: nothing changes"
IT=$(ifname t)
RC=0
nsx "$NG" timeout 10 "$WGUD" --conf "$T_TMP/typo/$IT.conf" "${GW[@]}" >"$T_TMP/typo.log" 2>&1 || RC=$?
assert_eq "[typo] a missing conf is refused" 1 "$RC" || true
assert "[typo] ... and says nothing changed" grep -q "nothing changed in this namespace" "$T_TMP/typo.log" || true
assert "[typo] ... and no lockdown table for the mistyped name blocks the real one" \
	bash -c "! ip netns exec '$NG' nft list table inet 'wgud_$IT' >/dev/null 2>&1" || true

log "---- a failed start (a broken conf) in lockdown"
BROKEN=$T_TMP/$IG.broken.conf
sed 's/^AllowedIPs = .*/AllowedIPs = 0.0.0.0\/33/' "$CONF_G" >"$BROKEN"
cp "$BROKEN" "$T_TMP/broken/$IG.conf" 2>/dev/null || { mkdir -p "$T_TMP/broken" && cp "$BROKEN" "$T_TMP/broken/$IG.conf"; }
RC=0
nsx "$NG" timeout 10 "$WGUD" --conf "$T_TMP/broken/$IG.conf" "${GW[@]}" >"$T_TMP/broken.log" 2>&1 || RC=$?
assert_eq "[broken] the broken conf is refused" 1 "$RC" || true
assert "[broken] ... naming file and line" grep -q "$IG.conf:[0-9]*:" "$T_TMP/broken.log" || true
assert "[broken] the table is there" nft_table_exists "$NG" "$IG" || true
sealed broken

log "---- SIGKILL"
start "${GW[@]}"
assert "[kill] L reaches the server again" ping_wait "$NL" "$SRV4" 20 || true
crash
assert "[kill] the table stays" nft_table_exists "$NG" "$IG" || true
sealed kill

log "---- wgud unlock"
RC=0
nsx "$NG" "$WGUD" unlock "$IG" >"$T_TMP/unlock.out" 2>&1 || RC=$?
assert_eq "[unlock] exits 0" 0 "$RC" || true
assert "[unlock] says what it removed" grep -q "removed table inet wgud_$IG" "$T_TMP/unlock.out" || true
assert "[unlock] no table" bash -c "! ip netns exec '$NG' nft list table inet 'wgud_$IG' >/dev/null 2>&1" || true
assert_eq "[unlock] forwarding is what it was before wgud (on)" 1 "$(forward4)" || true
assert_ping "[unlock] plain routing: L reaches S's uplink address" "$NL" 198.51.100.2 || true
assert_ping "[unlock] plain routing: G reaches the server directly" "$NG" "$SRV4" || true
RC=0
nsx "$NG" "$WGUD" unlock "$IG" >"$T_TMP/unlock.out" 2>&1 || RC=$?
assert_eq "[unlock] again: nothing to do is no error" 0 "$RC" || true
assert "[unlock] ... and it says so" grep -q "no table inet wgud_$IG" "$T_TMP/unlock.out" || true

log "---- forwarding off before wgud"
nsx "$NG" sysctl -qw net.ipv4.ip_forward=0
start "${GW[@]}"
assert_eq "[fwd] wgud turned forwarding on" 1 "$(forward4)" || true
stop
assert_eq "[fwd] SIGTERM put it back to 0" 0 "$(forward4)" || true
start "${GW[@]}"
crash
assert_eq "[fwd] after SIGKILL it is still on" 1 "$(forward4)" || true
start "${GW[@]}"
assert "[fwd] a restart knows it was off before the crash" grep -q "turned on by an earlier wgud; it goes back to 0" "$LOG" || true
crash
nsx "$NG" "$WGUD" unlock "$IG" >"$T_TMP/unlock.out" 2>&1 || true
assert_eq "[fwd] wgud unlock put it back to 0 from the state file" 0 "$(forward4)" || true
assert "[fwd] ... and said so" grep -q "IPv4 forwarding back to 0" "$T_TMP/unlock.out" || true

log "---- forwarding follows forward-from while wgud runs"
start --kill-switch off --forward-from 198.18.0.0/24
assert_eq "[follow] forward-from: forwarding on" 1 "$(forward4)" || true
assert_ctl "[follow] forward-from del the last subnet" "$NG" "$IG" forward-from del 198.18.0.0/24 || true
assert_eq "[follow] forwarding is back off at once, not only at stop" 0 "$(forward4)" || true
stop

log "---- the host's own traffic: --kill-switch lockdown, then on"
start --kill-switch lockdown
assert "[host] tunnel up" ping_wait "$NG" "$SRV4" 20 || true
stop
assert "[host] lockdown: the table stays" nft_table_exists "$NG" "$IG" || true
sealed host-lockdown
nsx "$NG" "$WGUD" unlock "$IG" >/dev/null 2>&1 || true
start --kill-switch lockdown --allow-lan 203.0.113.0/24
stop
assert "[host] lockdown with allow-lan: the allowed network is reached" \
	bash -c "ip netns exec '$NG' '$T_PY' '$NETPROBE' tcp $SRV4 8080 >/dev/null" || true
assert "[host] ... but no DNS goes there, not even to the LAN's resolver" \
	bash -c "! ip netns exec '$NG' '$T_PY' '$NETPROBE' dns 203.0.113.53 --timeout 1.5 >/dev/null" || true
nsx "$NG" "$WGUD" unlock "$IG" >/dev/null 2>&1 || true
start --kill-switch on
stop
assert "[host] without lockdown, a clean stop removes the table" \
	bash -c "! ip netns exec '$NG' nft list table inet 'wgud_$IG' >/dev/null 2>&1" || true
N=$(gw_uplink_capture host-on bash -c "ip netns exec '$NG' ping -n -c2 -i 0.3 -W1 198.51.100.2")
assert_gt "[host] ... and the host's traffic goes out plain, as documented" "$N" 0 || true

log "---- SIGKILL, then a restart that fails late"
start
crash
CTL=$(ctl_path "$IG")
rm -f "$CTL"
: >"$CTL"
RC=0
nsx "$NG" timeout 10 "$WGUD" --conf "$CONF_G" >"$T_TMP/late.log" 2>&1 || RC=$?
assert_eq "[late] the restart fails" 1 "$RC" || true
assert "[late] ... on the file at the control socket's path" grep -q "something that is not a socket" "$T_TMP/late.log" || true
assert "[late] ... and says the table stays" grep -q "table inet wgud_$IG stays as it is" "$T_TMP/late.log" || true
assert "[late] the file is left alone" test -f "$CTL" || true
assert "[late] the table is there" nft_table_exists "$NG" "$IG" || true
N=$(gw_uplink_capture late probes)
assert_eq "[late] nothing plain from G on the uplink" 0 "$N" || true
rm -f "$CTL"

log "---- an endpoint host name while the crashed run's table blocks DNS"
ETC_NETNS_MADE=0
[[ -d /etc/netns ]] || ETC_NETNS_MADE=1
mkdir -p "/etc/netns/$NG" "$T_TMP/named"
printf 'nameserver 203.0.113.53\noptions timeout:1 attempts:1\n' >"/etc/netns/$NG/resolv.conf"
sed 's/^Endpoint = .*/Endpoint = vpn.wgud.test:51820/' "$CONF_G" >"$T_TMP/named/$IG.conf"
chmod 600 "$T_TMP/named/$IG.conf"
RC=0
nsx "$NG" timeout 20 "$WGUD" --conf "$T_TMP/named/$IG.conf" >"$T_TMP/named.log" 2>&1 || RC=$?
rm -rf "/etc/netns/$NG"
((ETC_NETNS_MADE == 0)) || rmdir /etc/netns 2>/dev/null || true
assert_eq "[named] the start is refused" 1 "$RC" || true
assert "[named] ... naming the endpoint's line" grep -q "$IG.conf:[0-9]*: cannot resolve endpoint 'vpn.wgud.test'" "$T_TMP/named.log" || true
assert "[named] ... and saying that the table left behind blocks DNS, and what to do" \
	grep -q "blocks DNS outside the tunnel: give the endpoint as an address" "$T_TMP/named.log" || true
assert "[named] the table is there" nft_table_exists "$NG" "$IG" || true

log "---- 20 SIGKILL-restart cycles"
for i in $(seq 20); do
	start --allow-lan 198.51.100.8/30
	crash
done
start --allow-lan 198.51.100.8/30
assert_eq "[cycles] one 'lookup main suppress_prefixlength 0' (IPv4)" 1 "$(rules 5010 -4)" || true
assert_eq "[cycles] one 'not fwmark lookup' (IPv4)" 1 "$(rules 5020 -4)" || true
assert_eq "[cycles] one 'lookup main suppress_prefixlength 0' (IPv6)" 1 "$(rules 5010 -6)" || true
assert_eq "[cycles] one 'not fwmark lookup' (IPv6)" 1 "$(rules 5020 -6)" || true
assert_eq "[cycles] one allow-lan rule" 1 "$(rules 5000 -4)" || true
# the kernel's three (local, main, default) and those three
assert_eq "[cycles] no other IPv4 rule is left over" 6 "$(ip -n "$NG" -4 rule show | wc -l)" || true
assert_eq "[cycles] no other IPv6 rule is left over" 4 "$(ip -n "$NG" -6 rule show | wc -l)" || true
assert "[cycles] the tunnel works" ping_wait "$NG" "$SRV4" 10 || true

log "---- other instances: a second start of the same interface, and another interface"
TABLE0=$(nft_table "$NG" "$IG")
RC=0
nsx "$NG" timeout 10 "$WGUD" --conf "$CONF_G" --kill-switch lockdown >"$T_TMP/second.log" 2>&1 || RC=$?
assert_eq "[others] a second wgud for the same interface is refused" 1 "$RC" || true
assert "[others] ... saying another process serves it" grep -q "another process serves $IG already" "$T_TMP/second.log" || true
assert "[others] ... and the running one's table is untouched" test "$TABLE0" == "$(nft_table "$NG" "$IG")" || true
assert "[others] ... and its tunnel works" ping_wait "$NG" "$SRV4" 5 || true
IH=$(ifname h)
keypair KH PH
keypair KX2 PX2
CONF_H=$T_TMP/$IH.conf
printf '[Interface]\nPrivateKey = %s\nAddress = 10.99.0.1/24\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.99.0.0/24\n' \
	"$KH" "$PX2" >"$CONF_H"
chmod 600 "$CONF_H"
wgud_conf_start "$NG" "$CONF_H" "$T_TMP/h.log" --kill-switch off
H_PID=$STARTED_PID
kill -TERM "$H_PID"
pid_wait_exit "$H_PID" 5 || true
assert_eq "[others] another interface's start and stop leave this one's rules (IPv4)" 3 \
	"$(($(rules 5000 -4) + $(rules 5010 -4) + $(rules 5020 -4)))" || true
assert_eq "[others] ... and IPv6" 2 "$(($(rules 5010 -6) + $(rules 5020 -6)))" || true
RC=0
nsx "$NG" "$WGUD" unlock "$IH" >"$T_TMP/unlock-h.out" 2>&1 || RC=$?
assert_eq "[others] wgud unlock of the other interface works" 0 "$RC" || true
assert_eq "[others] ... and leaves this one's rules" 3 "$(($(rules 5000 -4) + $(rules 5010 -4) + $(rules 5020 -4)))" || true
stop
assert_eq "[cycles] a clean stop removes them all (IPv4)" 0 "$(($(rules 5000 -4) + $(rules 5010 -4) + $(rules 5020 -4)))" || true
assert_eq "[cycles] ... and IPv6" 0 "$(($(rules 5010 -6) + $(rules 5020 -6)))" || true

t_finish
