#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `wgud run --conf c.conf -- COMMAND` as an unprivileged user (the CI's test
# user wgudtest, else nobody) inside a test namespace A, against a
# wireguard-go peer B that has a service and a DNS responder behind it:
#  - COMMAND resolves the service's name through the conf's DNS (a private
#    resolv.conf) and reaches it through the tunnel;
#  - the peer's uplink address is routed into the tunnel, never to the
#    uplink: on the uplink only WireGuard UDP (capture);
#  - once the peer is stopped COMMAND reaches nothing;
#  - wgud exits with COMMAND's status, and leaves no namespace, device,
#    mount, socket or process behind;
#  - as root the same command works without a user namespace.
# /dev/net/tun must be open to the user, as udev makes it (0666); where it is
# not (containers), the test binds a 0666 node over it in a mount namespace
# of its own, never on the machine.
# wireguard-go has no run: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 120
gw_init

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no run command"
	skip "test_run"
	t_finish
fi

USER_NAME=wgudtest
id "$USER_NAME" >/dev/null 2>&1 || USER_NAME=nobody
USER_ID=$(id -u "$USER_NAME")
log "unprivileged user: $USER_NAME ($USER_ID)"

pair_ns
PORT_B=$((20000 + RANDOM % 20000))
wgconf_iface "$CB" "$KB" "$PORT_B"
wgconf_peer "$CB" "$PA" "$TUN4.1/32"
wg_node "$NB" "$IB" "$WGGO" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
PID_B=$STARTED_PID
ip -n "$NB" addr add 203.0.113.1/32 dev lo
serve_start "$NB" "$T_TMP/served.log" --addr 203.0.113.1 --addr "$TUN4.2" --tcp 8080 --dns 53 --dns-answer 203.0.113.1

# The user's own folder: the conf (0600, theirs), the command's reports.
chmod 711 "$T_TMP"
UD=$T_TMP/user
mkdir "$UD"
IR=r$T_ID
CR=$UD/$IR.conf
cat >"$CR" <<CONF
[Interface]
PrivateKey = $KA
Address = $TUN4.1/24
DNS = $TUN4.2

[Peer]
PublicKey = $PB
AllowedIPs = 0.0.0.0/0
Endpoint = $V4_2:$PORT_B
CONF
chmod 600 "$CR"
cat >"$UD/cmd.sh" <<'CMD'
#!/bin/bash
# In the tunnel's namespace: what it can reach, before and after the peer goes.
d=$1 uplink=$2
r=$d/report
{
	echo "uid $(id -u)"
	echo "netns $(readlink /proc/self/ns/net | tr -dc 0-9)"
	echo "mntns $(readlink /proc/self/ns/mnt | tr -dc 0-9)"
	echo "resolv $(grep -c "^nameserver $3\$" /etc/resolv.conf)"
	addr=$(getent ahostsv4 svc.wgud.test | awk 'NR == 1 { print $1 }')
	echo "resolved ${addr:-none}"
	if exec 3<>"/dev/tcp/$addr/8080" && read -r -t 5 greeting <&3; then
		echo "service ok"
	else
		echo "service fail"
	fi
	exec 3>&-
	echo "uplink-route $(ip route get "$uplink" | grep -c "dev $4")"
	echo "links $(ip -o link | wc -l)"
} >"$r" 2>&1
touch "$d/phase1"
for _ in $(seq 100); do [[ -e $d/phase2 ]] && break; sleep 0.1; done
{
	if timeout 4 bash -c "exec 3<>/dev/tcp/203.0.113.1/8080 && read -r -t 3 g <&3"; then
		echo "after service reached"
	else
		echo "after service unreachable"
	fi
	if ping -c 2 -W 1 "$uplink" >/dev/null 2>&1; then echo "after uplink reached"; else echo "after uplink unreachable"; fi
} >>"$r" 2>&1
exit 42
CMD
chmod 755 "$UD/cmd.sh"
chown -R "$USER_NAME" "$UD"

# /dev/net/tun as a distribution's udev leaves it, in a mount namespace of the test's own.
TUN_WRAP=()
if [[ $(stat -c %a /dev/net/tun) != 666 ]]; then
	mknod -m 666 "$T_TMP/tun" c 10 200
	TUN_WRAP=(unshare -m sh -c 'mount --bind "$0" /dev/net/tun && exec "$@"' "$T_TMP/tun")
fi

MOUNTS_BEFORE=$(grep -c resolv.conf /proc/self/mountinfo || true)
cap_start CAP "$NB" "$(ifname v0b)" "$T_TMP/uplink.pcap"
"${TUN_WRAP[@]}" ip netns exec "$NA" "${T_GUARD[@]}" setpriv --reuid="$USER_NAME" --regid="$(id -g "$USER_NAME")" \
	--clear-groups env HOME=/ XDG_RUNTIME_DIR= "$WGUD" run --conf "$CR" -- "$UD/cmd.sh" "$UD" "$V4_2" "$TUN4.2" "$IR" \
	</dev/null >"$T_TMP/run.log" 2>&1 &
PID=$!
register_pid "$PID"
require "the command ran its first checks" wait_for 15 "phase 1" test -e "$UD/phase1"
log "---- the peer stopped"
kill_pid "$PID_B"
ip -n "$NB" link del "$IB" 2>/dev/null || true
touch "$UD/phase2"
RC=0
wait "$PID" || RC=$?
cap_stop "$CAP"
cat "$UD/report" >&2 || true
tcpdump -n -r "$T_TMP/uplink.pcap" src host "$V4_1" and not arp and not \( udp and port "$PORT_B" \) 2>/dev/null | head -n 5 >&2 || true

assert_eq "wgud run exits with the command's status" 42 "$RC" || true
assert "the command ran as $USER_NAME" grep -qx "uid $USER_ID" "$UD/report" || true
assert "its resolv.conf holds the conf's DNS" grep -qx "resolv 1" "$UD/report" || true
assert "it resolved the service's name through the tunnel's DNS" grep -qx "resolved 203.0.113.1" "$UD/report" || true
assert "it reached the service behind the peer" grep -qx "service ok" "$UD/report" || true
assert "the peer's uplink address is routed into the tunnel" grep -qx "uplink-route 1" "$UD/report" || true
assert "its namespace has only lo and the tunnel" grep -qx "links 2" "$UD/report" || true
assert "with the peer gone it reaches nothing behind it" grep -qx "after service unreachable" "$UD/report" || true
assert "nor the peer's uplink" grep -qx "after uplink unreachable" "$UD/report" || true
assert_eq "nothing but WireGuard UDP from A on the uplink" 0 \
	"$(cap_count "$T_TMP/uplink.pcap" src host "$V4_1" and not arp and not \( udp and port "$PORT_B" \))" || true
assert_gt "WireGuard UDP on the uplink" "$(cap_count "$T_TMP/uplink.pcap" udp port "$PORT_B")" 0 || true
assert "the DNS query came through the tunnel" grep -q "^dns $TUN4.1 " "$T_TMP/served.log" || true
CMD_NS=$(awk '$1 == "netns" { print $2 }' "$UD/report")
assert "the command had a network namespace of its own" bash -c "[[ -n '$CMD_NS' && '$CMD_NS' != \$(readlink /proc/self/ns/net | tr -dc 0-9) ]]" || true
assert "that namespace is gone" bash -c "! lsns -n -t net -o NS | grep -qx '$CMD_NS'" || true
CMD_MNT=$(awk '$1 == "mntns" { print $2 }' "$UD/report")
assert "its mount namespace (the private resolv.conf) is gone" bash -c "[[ -n '$CMD_MNT' ]] && ! lsns -n -t mnt -o NS | grep -qx '$CMD_MNT'" || true
assert_eq "no resolv.conf mount here" "$MOUNTS_BEFORE" "$(grep -c resolv.conf /proc/self/mountinfo || true)" || true
assert "no process of $USER_NAME left" bash -c "! pgrep -u '$USER_ID' -f '$WGUD|cmd.sh' >/dev/null" || true
assert "no socket folder left" bash -c "[[ ! -e /tmp/wgud-$USER_ID ]]" || true
assert "no device left in $NA" bash -c "! ip -n '$NA' link show '$IR' >/dev/null 2>&1" || true

log "---- as root, without a user namespace"
RC=0
ip netns exec "$NA" "$WGUD" run --conf "$CR" -- sh -c "ip -o link | grep -q ' $IR:' && grep -q '^CapEff:.0000000000000000' /proc/self/status && grep -q '^CapBnd:.0000000000000000' /proc/self/status && exit 7" </dev/null >"$T_TMP/root.log" 2>&1 || RC=$?
assert_eq "as root too: the command runs, in the tunnel's namespace, with no capability at all" 7 "$RC" || true
log "---- as root with --publish: a service in the command's namespace, SIGTERM passed on to it"
ip netns exec "$NA" "${T_GUARD[@]}" "$WGUD" run --conf "$CR" --publish 8081:80 -- \
	"$T_PY" "$NETPROBE" serve "$T_TMP/pub.log" --addr 0.0.0.0 --tcp 80 </dev/null >>"$T_TMP/root.log" 2>&1 &
PID=$!
register_pid "$PID"
if wait_for 10 "the published service" grep -qx ready "$T_TMP/pub.log"; then
	assert "the command's service answers on the published port" netprobe "$NA" tcp "$V4_1" 8081 || true
else
	fail "the service in wgud run did not start: $(tail -n 3 "$T_TMP/root.log" | tr '\n' ' ')"
fi
kill -TERM "$PID"
RC=0
wait "$PID" || RC=$?
assert_eq "SIGTERM reaches the command, and wgud exits with its status" 143 "$RC" || true
assert "the veth pair went with it" bash -c "! ip -n '$NA' -o link show | grep -q ' wgp'" || true
assert "and the host side's table" bash -c "! ip netns exec '$NA' nft list table inet 'wgudp_$IR' >/dev/null 2>&1" || true
RC=0
ip netns exec "$NA" "$WGUD" run --conf "$CR" -- sh -c "sleep 30$T_ID & exit 3" </dev/null >>"$T_TMP/root.log" 2>&1 || RC=$?
assert_eq "a command that leaves a process behind: its status" 3 "$RC" || true
assert "and what it left is gone with it (a PID namespace of its own)" wait_for 3 "no sleep 30$T_ID" \
	bash -c "! pgrep -f '^sleep 30$T_ID\$' >/dev/null" || true
RC=0
ip netns exec "$NA" "$WGUD" run --conf "$CR" -- /nonexistent/cmd </dev/null >>"$T_TMP/root.log" 2>&1 || RC=$?
assert_eq "a command that does not exist: 127" 127 "$RC" || true
assert "no UAPI socket left" bash -c "[[ ! -e $(sock_path "$IR") ]]" || true

t_finish
