#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wgud --user NAME: set up as root, then run on as NAME with CAP_NET_ADMIN
# alone (privdrop.h), against a wireguard-go peer. NAME is the CI user
# wgudtest where scripts/setup.sh made it, nobody otherwise.
#  - refused before anything is made: root, an unknown name, a wgud not
#    started as root;
#  - after the drop: every thread has the user's ids and no_new_privs, the
#    bounding set is CAP_NET_ADMIN alone, the main thread has it permitted
#    and effective and the crypto threads nothing; the socket files are the
#    user's;
#  - it still works: ping through the tunnel (on io_uring unless WGUD_IO
#    says otherwise: a ring made before the drop), `wg show` and `wg set`
#    from root, `wgud ctl` from root and from the user, live changes that
#    take nftables, rtnetlink and a net sysctl (allow-lan: a rule and a
#    routing rule; forward-from: ip_forward), and the state file that
#    records them, rewritten in place;
#  - SIGTERM: exit 0, everything it changed undone (sysctl, rules, table),
#    the socket and state files gone (the root helper removed them), no
#    process left;
#  - SIGKILL: the root helper still removes the socket files, the state file
#    stays (what the dead wgud changed) and `wgud unlock` undoes it;
#  - DNS = (resolvconf, a stand-in here): -a as root at start, -d as root
#    from the root helper at stop;
#  - --netns NAME --publish: the host side's table and veth pair and
#    /etc/netns/NAME/resolv.conf are the root helper's to remove at stop;
#  - wireguard-go style (`wgud --user NAME IFACE`, detached): the caller's
#    output is let go (the helper leaves the terminal too) and `wg setconf`
#    from root configures it.
# wireguard-go has no --user: not applicable in harness validation.

# shellcheck disable=SC2317 # helpers below are called through assert & co.
source "$(dirname "$0")/lib.sh"
t_init 150

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --user"
	skip "test_user"
	t_finish
fi
gw_init

U=wgudtest
id -u "$U" >/dev/null 2>&1 || U=nobody
UID_U=$(id -u "$U")
GID_U=$(id -g "$U")
NET_ADMIN=0000000000001000
log "dropping to $U (uid $UID_U, gid $GID_U)"

# A copy of $WGUD the user may execute (for its own `wgud ctl` and the refusal when not root).
U_WGUD=$WGUD
if ! setpriv --reuid="$UID_U" --regid="$GID_U" --clear-groups test -x "$WGUD" 2>/dev/null; then
	mkdir -p "$T_TMP/pub"
	cp "$WGUD" "$T_TMP/pub/wgud"
	chmod 755 "$T_TMP/pub" "$T_TMP/pub/wgud"
	chmod 711 "$T_TMP"
	U_WGUD=$T_TMP/pub/wgud
fi
AS_USER=(setpriv --reuid="$UID_U" --regid="$GID_U" --init-groups)

pair_ns
PORT_A=$((20000 + RANDOM % 20000))
PORT_B=$((PORT_A + 1))
wgconf_iface "$CB" "$KB" "$PORT_B"
wgconf_peer "$CB" "$PA" "$TUN4.1/32, ${TUN6}:1/128"
wg_node "$NB" "$IB" "$WGGO" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
CA=$T_TMP/$IA.conf
{
	echo "[Interface]"
	echo "PrivateKey = $KA"
	echo "ListenPort = $PORT_A"
	echo "Address = $TUN4.1/24, ${TUN6}:1/64"
	echo
	echo "[Peer]"
	echo "PublicKey = $PB"
	echo "AllowedIPs = $TUN4.2/32, ${TUN6}:2/128"
	echo "Endpoint = $V4_2:$PORT_B"
} >"$CA"
chmod 600 "$CA"
STATE=$CTL_DIR/$IA.netns-$(nsx "$NA" stat -L -c %i /proc/self/ns/net).state

log "---- refusals, before anything is made"
refused()
{
	local want=$1 rc=0
	shift
	"$@" </dev/null >"$T_TMP/refused.out" 2>&1 || rc=$?
	[[ $rc == 2 ]] && grep -q -- "$want" "$T_TMP/refused.out" && ! ip -n "$NA" link show "$IA" >/dev/null 2>&1
}
assert "--user root is refused" refused "is uid 0" nsx "$NA" "$WGUD" --conf "$CA" --user root || true
assert "--user with an unknown name is refused" refused "no such user" \
	nsx "$NA" "$WGUD" --conf "$CA" --user "nosuch$T_ID" || true
assert "--user from a wgud not started as root is refused" refused "needs wgud started as root" \
	"${AS_USER[@]}" "$U_WGUD" --conf "$CA" --user "$U" || true

log "---- up with --user $U"
ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" --conf "$CA" --user "$U" --kill-switch on --threads 2 \
	</dev/null >"$T_TMP/a.log" 2>&1 &
PID=$!
register_pid "$PID"
wait_for 10 "wgud $IA up" wgud_ready_or_dead "$NA" "$IA" "$PID" || true
wgud_ready "$NA" "$IA" "$PID" || die "wgud --user $U did not come up; log: $(tail -n 5 "$T_TMP/a.log" | tr '\n' ' ')"
pass "wgud --conf --user $U comes up"
assert "it says what it kept" grep -q "dropped to user $U (uid $UID_U, gid $GID_U), keeping CAP_NET_ADMIN only" \
	"$T_TMP/a.log" || true

field()
{
	awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1/status"
}
MAIN=/proc/$PID
assert_eq "Uid (real, effective, saved, fs)" "$UID_U $UID_U $UID_U $UID_U" "$(field "$MAIN" Uid | tr -s '\t ' ' ')" || true
assert_eq "Gid" "$GID_U $GID_U $GID_U $GID_U" "$(field "$MAIN" Gid | tr -s '\t ' ' ')" || true
assert_eq "CapEff: CAP_NET_ADMIN alone" "$NET_ADMIN" "$(field "$MAIN" CapEff)" || true
assert_eq "CapPrm: CAP_NET_ADMIN alone" "$NET_ADMIN" "$(field "$MAIN" CapPrm)" || true
assert_eq "CapBnd: CAP_NET_ADMIN alone" "$NET_ADMIN" "$(field "$MAIN" CapBnd)" || true
assert_eq "CapInh" 0000000000000000 "$(field "$MAIN" CapInh)" || true
assert_eq "CapAmb" 0000000000000000 "$(field "$MAIN" CapAmb)" || true
assert_eq "NoNewPrivs" 1 "$(field "$MAIN" NoNewPrivs)" || true
assert_eq "supplementary groups: the user's" "$(id -G "$U" | tr ' ' '\n' | sort -n | tr '\n' ' ')" \
	"$(field "$MAIN" Groups | tr ' ' '\n' | sed '/^$/d' | sort -n | tr '\n' ' ')" || true

# thread_report: one line per thread but the main one: "comm uid CapPrm CapEff CapBnd NoNewPrivs".
thread_report()
{
	local t
	for t in "$MAIN"/task/*; do
		[[ ${t##*/} == "$PID" ]] && continue
		echo "$(cat "$t/comm") $(field "$t" Uid | awk '{ print $1 }') $(field "$t" CapPrm) $(field "$t" CapEff)" \
			"$(field "$t" CapBnd) $(field "$t" NoNewPrivs)"
	done
}
threads_dropped()
{
	local comm uid prm eff bnd nnp n=0
	while read -r comm uid prm eff bnd nnp; do
		n=$((n + 1))
		[[ $uid == "$UID_U" && $prm == 0000000000000000 && $eff == 0000000000000000 ]] || return 1
		# the kernel's io_uring workers never run user code: the bounding set and no_new_privs are not theirs to hold
		[[ $comm == iou-* || ($bnd == "$NET_ADMIN" && $nnp == 1) ]] || return 1
	done < <(thread_report)
	((n > 0))
}
log "threads: $(thread_report | tr '\n' ';')"
assert "the other threads: the user's uid, no capability, no_new_privs, bounding set CAP_NET_ADMIN" threads_dropped || true

sock_owner()
{
	stat -c '%U %a' "$1"
}
assert_eq "the UAPI socket is the user's (0600)" "$U 600" "$(sock_owner "$(sock_path "$IA")")" || true
assert_eq "the control socket is the user's (0600)" "$U 600" "$(sock_owner "$(ctl_path "$IA")")" || true

log "---- it works as the user"
assert_ping "ping through the tunnel" "$NA" "$TUN4.2" || true
assert_ping "ping6 through the tunnel" "$NA" "${TUN6}:2" || true
if [[ ${WGUD_IO:-uring} == *uring* ]]; then
	assert "the io_uring loop made before the drop serves it" bash -c "'$WGUD' ctl '$IA' show 2>/dev/null | grep -q 'event loop: io_uring'" ||
		true
fi
assert_gt "wg show (root, over the UAPI socket): a handshake" "$(wg_handshake "$NA" "$IA" "$PB")" 0 || true
assert "wg set (root): persistent-keepalive" nsx "$NA" wg set "$IA" peer "$PB" persistent-keepalive 25 || true
assert_eq "wg show has it" 25 "$(wg_field "$NA" "$IA" persistent-keepalive "$PB")" || true
nsx "$NA" ping -c 100 -i 0.01 -q "$TUN4.2" >/dev/null 2>&1 || true
log "threads after traffic: $(thread_report | tr '\n' ';')"
assert "after traffic too (io_uring workers included): no thread with root's uid or a capability" threads_dropped || true

lan_rule()
{
	ip -n "$NA" -4 rule show | grep "to 10.9.0.0/24 lookup main" >/dev/null
}
assert_ctl "wgud ctl (root): allow-lan add 10.9.0.0/24" "$NA" "$IA" allow-lan add 10.9.0.0/24 || true
assert "nftables has it" bash -c "ip netns exec '$NA' nft list table inet 'wgud_$IA' | grep -q 10.9.0.0/24" || true
assert "the routing rule is there (rtnetlink)" lan_rule || true
assert "the state file records it (rewritten in place)" grep -qx "allow_lan 10.9.0.0/24" "$STATE" || true
assert_eq "ip_forward before" 0 "$(nsx "$NA" sysctl -n net.ipv4.ip_forward)" || true
assert_ctl "wgud ctl (root): forward-from add 172.20.0.0/24" "$NA" "$IA" forward-from add 172.20.0.0/24 || true
assert_eq "ip_forward turned on with CAP_NET_ADMIN alone" 1 "$(nsx "$NA" sysctl -n net.ipv4.ip_forward)" || true
assert "the state file records it" grep -qx "forward_ipv4 0" "$STATE" || true
assert_eq "the state file stays root's folder's, the user's file" "$U 600" "$(stat -c '%U %a' "$STATE")" || true
assert "wgud ctl as $U: show" bash -c "ip netns exec '$NA' ${AS_USER[*]} '$U_WGUD' ctl '$IA' show | grep -q 10.9.0.0/24" ||
	true
assert "wgud ctl as $U: allow-lan del 10.9.0.0/24" nsx "$NA" "${AS_USER[@]}" "$U_WGUD" ctl "$IA" allow-lan del 10.9.0.0/24 ||
	true
assert "the routing rule is gone" bash -c "! ip -n '$NA' -4 rule show | grep -q 'to 10.9.0.0/24'" || true
assert "the state file forgot it, and has nothing else" bash -c "[[ \$(grep -c . '$STATE') == 1 ]] && grep -qx 'forward_ipv4 0' '$STATE'" ||
	true

log "---- SIGHUP: the conf is read again as the user"
kill -HUP "$PID"
assert "a conf only root may read: the reload is refused" wait_for 5 "the refusal" \
	grep -q "$CA: cannot open: Permission denied" "$T_TMP/a.log" || true
assert "and wgud runs on as it was" wgud_ready "$NA" "$IA" "$PID" || true
chmod 711 "$T_TMP"
chown "$U" "$CA"
kill -HUP "$PID"
assert "the conf made the user's (0600): the reload is applied" wait_for 5 "the reload" \
	grep -q "configuration reloaded" "$T_TMP/a.log" || true
assert_ping "ping through the tunnel after the reload" "$NA" "$TUN4.2" || true

log "---- SIGTERM"
JANITOR=$(awk '{ print $1 }' "$MAIN/task/$PID/children")
assert "a root helper waits" bash -c "[[ -n '$JANITOR' ]] && [[ \$(stat -c %u /proc/$JANITOR) == 0 ]]" || true
kill -TERM "$PID"
assert "exits on SIGTERM" pid_wait_exit "$PID" 5 || true
wait "$PID" 2>/dev/null && RC=0 || RC=$?
assert_eq "exit status 0" 0 "$RC" || true
[[ -z $JANITOR ]] || assert "the root helper is gone too" pid_wait_exit "$JANITOR" 5 || true
assert "no warning at the stop" bash -c "! sed -n '/stopping on signal/,\$p' '$T_TMP/a.log' | grep -q 'warning\|error'" || true
assert "the UAPI socket file is gone" bash -c "[[ ! -e $(sock_path "$IA") ]]" || true
assert "the control socket file is gone" bash -c "[[ ! -e $(ctl_path "$IA") ]]" || true
assert "the state file is gone" bash -c "[[ ! -e '$STATE' ]]" || true
assert_eq "ip_forward put back" 0 "$(nsx "$NA" sysctl -n net.ipv4.ip_forward)" || true
assert "the table is gone" bash -c "! ip netns exec '$NA' nft list table inet 'wgud_$IA' >/dev/null 2>&1" || true
assert "the interface is gone" bash -c "! ip -n '$NA' link show '$IA' 2>/dev/null" || true

log "---- SIGKILL (and --ctl-group), under the bounding set the unit's comment names for --user"
G_U=$(id -gn "$U")
chown root "$CA" # root's, as wg-quick files are: without CAP_DAC_OVERRIDE root reads only its own
ip netns exec "$NA" "${T_GUARD[@]}" setpriv --bounding-set=-all,+net_admin,+setuid,+setgid,+chown,+setpcap \
	"$WGUD" --conf "$CA" --user "$U" --kill-switch on --ctl-group "$G_U" \
	</dev/null >"$T_TMP/k.log" 2>&1 &
PID=$!
register_pid "$PID"
wait_for 10 "wgud $IA up" wgud_ready_or_dead "$NA" "$IA" "$PID" || true
require "up again with --user $U --ctl-group $G_U" wgud_ready "$NA" "$IA" "$PID"
assert_eq "the control socket keeps the --ctl-group's group and mode" "$U $G_U 660" \
	"$(stat -c '%U %G %a' "$(ctl_path "$IA")")" || true
JANITOR=$(awk '{ print $1 }' "/proc/$PID/task/$PID/children")
assert_ctl "allow-lan add 10.9.0.0/24" "$NA" "$IA" allow-lan add 10.9.0.0/24 || true
kill -KILL "$PID"
assert "gone on SIGKILL" pid_wait_exit "$PID" 5 || true
wait "$PID" 2>/dev/null || true
[[ -z $JANITOR ]] || assert "the root helper is gone too" pid_wait_exit "$JANITOR" 5 || true
assert "the root helper removed the UAPI socket file" bash -c "[[ ! -e $(sock_path "$IA") ]]" || true
assert "the root helper removed the control socket file" bash -c "[[ ! -e $(ctl_path "$IA") ]]" || true
assert "the state file stays: what the killed wgud changed" grep -qx "allow_lan 10.9.0.0/24" "$STATE" || true
assert "wgud unlock undoes it" nsx "$NA" "$WGUD" unlock "$IA" >>"$T_TMP/k.log" 2>&1 || true
assert "the routing rule is gone" bash -c "! ip -n '$NA' -4 rule show | grep -q 'to 10.9.0.0/24'" || true
assert "and the state file" bash -c "[[ ! -e '$STATE' ]]" || true

log "---- DNS = with --user: resolvconf -d at stop from the root helper"
ID=$(ifname d)
CD=$T_TMP/$ID.conf
keypair KD PD
printf '[Interface]\nPrivateKey = %s\nAddress = %s.9/32\nDNS = 10.64.0.1\n\n[Peer]\nPublicKey = %s\nAllowedIPs = %s.2/32\n' \
	"$KD" "$TUN4" "$PB" "$TUN4" >"$CD"
chmod 600 "$CD"
mkdir -p "$T_TMP/bin"
# a stand-in that records who ran it with what (a real one would rewrite the machine's resolv.conf)
# shellcheck disable=SC2016 # expanded by the stand-in, not here
printf '#!/bin/sh\n{ echo "uid $(id -u): $*"; cat >/dev/null; } >>%s\n' "$T_TMP/rc.log" >"$T_TMP/bin/resolvconf"
chmod 755 "$T_TMP/bin/resolvconf"
: >"$T_TMP/rc.log"
ip netns exec "$NA" "${T_GUARD[@]}" env PATH="$T_TMP/bin:$PATH" "$WGUD" --conf "$CD" --user "$U" \
	</dev/null >"$T_TMP/d.log" 2>&1 &
PID=$!
register_pid "$PID"
require "up with DNS = and --user $U" wait_for 10 "wgud up" grep -q "up: listening" "$T_TMP/d.log"
assert "resolvconf -a ran as root, before the drop" grep -qx "uid 0: -a $ID -m 0 -x" "$T_TMP/rc.log" || true
kill -TERM "$PID"
assert "exits on SIGTERM" pid_wait_exit "$PID" 5 || true
assert "resolvconf -d ran as root, from the root helper" \
	wait_for 5 "resolvconf -d" grep -qx "uid 0: -d $ID -f" "$T_TMP/rc.log" || true
assert "and only once" bash -c "[[ \$(grep -c -- ' -d ' '$T_TMP/rc.log') == 1 ]]" || true
assert "no error at the stop" bash -c "! grep -q 'error' '$T_TMP/d.log'" || true

log "---- --netns and --publish with --user: the root helper undoes the host side"
NV=$(nsname v)
ip netns add "$NV" || die "cannot create namespace $NV"
T_NS+=("$NV")
IV=$(ifname v)
CV=$T_TMP/$IV.conf
printf '[Interface]\nPrivateKey = %s\nAddress = %s.1/24\nDNS = %s.2\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 0.0.0.0/0\nEndpoint = %s:%s\n' \
	"$KA" "$TUN4" "$TUN4" "$PB" "$V4_2" "$PORT_B" >"$CV"
chmod 600 "$CV"
ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" --conf "$CV" --netns "$NV" --publish 8080:80 --user "$U" \
	</dev/null >"$T_TMP/v.log" 2>&1 &
PID=$!
register_pid "$PID"
require "up in $NV as $U" wait_for 10 "the drop" grep -q "up: listening" "$T_TMP/v.log"
assert "dropped" grep -q "dropped to user $U" "$T_TMP/v.log" || true
assert_ping "ping from $NV through the tunnel" "$NV" "$TUN4.2" || true
assert "the host side's table is there" bash -c "ip netns exec '$NA' nft list table inet 'wgudp_$IV' >/dev/null 2>&1" || true
kill -TERM "$PID"
assert "exits on SIGTERM" pid_wait_exit "$PID" 5 || true
assert "/etc/netns/$NV/resolv.conf removed" wait_for 5 "the DNS undone" bash -c "[[ ! -e /etc/netns/$NV/resolv.conf ]]" || true
assert "the host side's table removed" wait_for 5 "the table removed" bash -c "! ip netns exec '$NA' nft list table inet 'wgudp_$IV' >/dev/null 2>&1" || true
assert "the veth pair removed" bash -c "! ip -n '$NA' -o link show type veth | grep -q wgp" || true
assert "no error at the stop" bash -c "! grep -q 'error\|warning' '$T_TMP/v.log'" || true

log "---- wireguard-go style: wgud --user $U IFACE"
IW=$(ifname w)
# The caller reads the output to its end: it must not wait for the root helper.
START=$SECONDS
OUT=$(nsx "$NA" timeout 10 "$WGUD" --user "$U" "$IW" 2>&1) && RC=0 || RC=$?
assert_eq "detaches with status 0" 0 "$RC" || log "output: $OUT"
assert_le "and lets go of the caller's output at once" $((SECONDS - START)) 3 || true
WPID=$(pgrep -u "$U" -nx wgud || true)
[[ -z $WPID ]] || register_pid "$WPID"
assert_eq "runs as $U" "$UID_U" "$([[ -z $WPID ]] || awk '/^Uid:/ { print $2 }' "/proc/$WPID/status")" || true
CW=$T_TMP/w.conf
wgconf_iface "$CW" "$KA" "$PORT_A"
wgconf_peer "$CW" "$PB" "$TUN4.2/32" "$V4_2:$PORT_B"
assert "wg setconf (root) configures it" nsx "$NA" wg setconf "$IW" "$CW" || true
ip -n "$NA" addr add "$TUN4.1/24" dev "$IW"
ip -n "$NA" link set "$IW" up
assert_ping "ping through it" "$NA" "$TUN4.2" || true
if [[ -n $WPID ]]; then
	kill -TERM "$WPID"
	assert "it stops on SIGTERM" pid_wait_exit "$WPID" 5 || true
fi
assert "the UAPI socket file is gone" wait_for 3 "the socket removed" bash -c "[[ ! -e $(sock_path "$IW") ]]" || true

t_finish
