#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wgud --conf c.conf --tun-fd 3 with no capability at all, on a device a
# privileged helper (tun_helper.py) opened, addressed and set up, against a
# wireguard-go peer:
#  - /proc/PID/status shows no capability and an unprivileged user;
#  - the tunnel carries ping both ways and `show` says what is enforced (the
#    data plane only: no nftables without CAP_NET_ADMIN);
#  - a descriptor that is not a TUN device, or a TAP one, is refused with a
#    clear message before anything is made;
#  - a policy that needs the firewall is refused, as everywhere.
# wireguard-go has no --tun-fd: not applicable in harness validation.

source "$(dirname "$0")/lib.sh"
t_init 90
gw_init

if is_wggo "$WGUD"; then
	log "NOT APPLICABLE: wireguard-go has no --tun-fd"
	skip "test_tun_fd"
	t_finish
fi
HELPER=$NETNS_DIR/tun_helper.py
USER_NAME=wgudtest
id "$USER_NAME" >/dev/null 2>&1 || USER_NAME=nobody

pair_ns
PORT_A=$((20000 + RANDOM % 20000))
PORT_B=$((PORT_A + 1))
wgconf_iface "$CB" "$KB" "$PORT_B"
wgconf_peer "$CB" "$PA" "$TUN4.1/32" "$V4_1:$PORT_A"
wg_node "$NB" "$IB" "$WGGO" "$CB" "$TUN4.2/24" "${TUN6}:2/64"

chmod 711 "$T_TMP"
UD=$T_TMP/user
mkdir "$UD"
CA=$UD/$IA.conf
wgconf_iface "$CA" "$KA" "$PORT_A"
wgconf_peer "$CA" "$PB" "$TUN4.2/32" "$V4_2:$PORT_B"
chown -R "$USER_NAME" "$UD"

# No capability in any set, no way to gain one.
NOPRIV=(setpriv --reuid="$USER_NAME" --regid="$(id -g "$USER_NAME")" --clear-groups --inh-caps=-all
	--bounding-set=-all --no-new-privs env XDG_RUNTIME_DIR="$UD")
ip netns exec "$NA" "${T_GUARD[@]}" "$T_PY" "$HELPER" "$IA" "$TUN4.1/24" -- "${NOPRIV[@]}" \
	"$WGUD" --conf "$CA" --tun-fd 3 </dev/null >"$T_TMP/a.log" 2>&1 &
PID=$!
register_pid "$PID"
require "wgud serves the helper's device" wait_for 10 "wgud up" grep -q "up: listening" "$T_TMP/a.log"
ST=/proc/$PID/status
assert_eq "no effective capability" 0000000000000000 "$(awk '/^CapEff/ { print $2 }' "$ST")" || true
assert_eq "no permitted capability" 0000000000000000 "$(awk '/^CapPrm/ { print $2 }' "$ST")" || true
assert_eq "running as $USER_NAME" "$(id -u "$USER_NAME")" "$(awk '/^Uid/ { print $2 }' "$ST")" || true
assert_ping "A -> B through the tunnel" "$NA" "$TUN4.2"
assert_ping "B -> A through the tunnel" "$NB" "$TUN4.1"
assert "it said what it cannot do" grep -q "no CAP_NET_ADMIN" "$T_TMP/a.log" || true
SHOW=$(ip netns exec "$NA" "${NOPRIV[@]}" "$WGUD" ctl "$IA" show 2>&1) || true
assert "show says only the data plane enforces" grep -q "enforced: data plane" <<<"$SHOW" || true
assert "show says nftables is not in force" grep -q "not enforced:.*nftables" <<<"$SHOW" || true
kill -TERM "$PID"
assert "wgud stops on SIGTERM" pid_wait_exit "$PID" 10 || true
assert "its socket folder is left empty" bash -c "[[ -z \$(ls -A '$UD/wireguard' '$UD/wgud' 2>/dev/null) ]]" || true

log "---- descriptors that are not a layer-3 TUN device"
RC=0
OUT=$(ip netns exec "$NA" "${NOPRIV[@]}" "$WGUD" --conf "$CA" --tun-fd 5 </dev/null 5</dev/null 2>&1) || RC=$?
assert_ne "a file that is not a TUN device is refused" 0 "$RC" || true
assert "with a clear message" grep -q "not an attached TUN device" <<<"$OUT" || true
RC=0
OUT=$(ip netns exec "$NA" "${NOPRIV[@]}" "$WGUD" --conf "$CA" --tun-fd 0 </dev/null 2>&1) || RC=$?
assert_ne "a standard stream is refused (detaching replaces them)" 0 "$RC" || true
assert "saying so" grep -q "is a standard stream" <<<"$OUT" || true
RC=0
OUT=$(ip netns exec "$NA" "$T_PY" "$HELPER" --tap "$(ifname t)" 10.99.0.1/24 -- "${NOPRIV[@]}" \
	"$WGUD" --conf "$CA" --tun-fd 3 </dev/null 2>&1) || RC=$?
assert_ne "a TAP device is refused" 0 "$RC" || true
assert "saying why" grep -q "TAP device" <<<"$OUT" || true

log "---- a policy that needs the firewall"
RC=0
OUT=$(ip netns exec "$NA" "$T_PY" "$HELPER" "$(ifname k)" 10.98.0.1/24 -- "${NOPRIV[@]}" \
	"$WGUD" --conf "$CA" --tun-fd 3 --kill-switch on </dev/null 2>&1) || RC=$?
assert_ne "the kill switch without nftables is refused" 0 "$RC" || true
assert "as everywhere: it needs a firewall" grep -q "needs a firewall" <<<"$OUT" || true

t_finish
