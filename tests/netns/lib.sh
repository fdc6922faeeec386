# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Shared helpers for the namespace integration tests. Source it from a
# test_*.sh script, then call t_init. Everything a test creates (namespaces,
# processes, interfaces, temp files) is named after this run's $$ and removed
# by the EXIT trap, by name or PID only.
#
# Addresses: veth links use 198.51.100.0/24 (TEST-NET-2, a /30 per link) and
# fd00:0:IDX::/64; tunnel inner addresses use 192.0.2.0/24 (TEST-NET-1) and
# fd00:2::/64; "remote" addresses behind a peer use 203.0.113.0/24 and
# 2001:db8::/32. None of them exist outside the namespaces a test creates.

set -euo pipefail

NETNS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T_ID=$$
T_NAME=$(basename "$0" .sh)
T_PASS=0
T_FAIL=0
T_SKIP=0
T_TMP=""
T_WATCHDOG=""
T_NS=()
T_PIDS=()
T_START=$SECONDS
T_ERR=""

TUN4=192.0.2
TUN6=fd00:2:
WG_SOCK_DIR=/var/run/wireguard
# Long-lived helpers get SIGTERM if this script dies without cleaning up
# (SIGKILL), so nothing outlives a test run.
T_GUARD=()
if setpriv --help 2>/dev/null | grep pdeathsig >/dev/null; then
	T_GUARD=(setpriv --pdeathsig TERM)
fi

# ---------------------------------------------------------------- reporting

log()
{
	printf '[%s +%3ds] %s\n' "$T_NAME" $((SECONDS - T_START)) "$*"
}

pass()
{
	T_PASS=$((T_PASS + 1))
	log "PASS: $*"
}

fail()
{
	T_FAIL=$((T_FAIL + 1))
	log "FAIL: $*" >&2
}

# skip MSG: only allowed while validating the harness with wireguard-go; a
# real wgud run never passes by skipping.
skip()
{
	if is_wggo "$WGUD"; then
		T_SKIP=$((T_SKIP + 1))
		log "SKIP (not applicable to wireguard-go, harness validation only): $*"
	else
		fail "$* (cannot be skipped when testing wgud)"
	fi
}

# die MSG: a precondition failed, the rest of the test makes no sense.
die()
{
	fail "$*"
	exit 1
}

# assert MSG CMD...: record CMD's success as a pass, failure as a fail. Always
# returns CMD's status, so callers can branch (use `assert ... || true` when
# going on regardless).
assert()
{
	local msg=$1 rc=0
	shift
	"$@" || rc=$?
	if ((rc == 0)); then
		pass "$msg"
	else
		fail "$msg (command failed, rc=$rc: $*)"
	fi
	return $rc
}

# require MSG CMD...: like assert, but a failure ends the test.
require()
{
	local msg=$1
	shift
	"$@" || die "$msg (command failed: $*)"
	pass "$msg"
}

assert_eq()
{
	if [[ $3 == "$2" ]]; then
		pass "$1 ($3)"
	else
		fail "$1: expected '$2', got '$3'"
		return 1
	fi
}

assert_ne()
{
	if [[ $3 != "$2" ]]; then
		pass "$1 ($3)"
	else
		fail "$1: got '$3', which it must not be"
		return 1
	fi
}

# assert_gt MSG A B: integer A > B.
assert_gt()
{
	if [[ $2 =~ ^-?[0-9]+$ && $3 =~ ^-?[0-9]+$ ]] && (($2 > $3)); then
		pass "$1 ($2 > $3)"
	else
		fail "$1: expected '$2' > '$3'"
		return 1
	fi
}

# assert_le MSG A B: integer A <= B.
assert_le()
{
	if [[ $2 =~ ^-?[0-9]+$ && $3 =~ ^-?[0-9]+$ ]] && (($2 <= $3)); then
		pass "$1 ($2 <= $3)"
	else
		fail "$1: expected '$2' <= '$3'"
		return 1
	fi
}

# --------------------------------------------------------------- lifecycle

# t_init [TIMEOUT_SECONDS]: check the environment, resolve $WGUD, set the
# cleanup trap and a watchdog that ends the whole test after the timeout.
t_init()
{
	local timeout=${1:-90} c

	[[ $(id -u) == 0 ]] || { echo "$T_NAME: must run as root (network namespaces)" >&2; exit 1; }
	for c in ip wg ping python3 timeout ss; do
		command -v "$c" >/dev/null || { echo "$T_NAME: missing tool: $c" >&2; exit 1; }
	done

	if [[ -z ${WGUD:-} && -x $NETNS_DIR/../../build/wgud ]]; then
		WGUD=$NETNS_DIR/../../build/wgud
	fi
	if [[ -z ${WGUD:-} ]]; then
		echo "$T_NAME: set WGUD=/path/to/wgud (or WGUD=\$(command -v wireguard-go) to validate the harness)" >&2
		exit 1
	fi
	if [[ $WGUD != */* ]]; then
		WGUD=$(command -v "$WGUD") || { echo "$T_NAME: WGUD not found in PATH" >&2; exit 1; }
	fi
	[[ -x $WGUD ]] || { echo "$T_NAME: WGUD=$WGUD is not executable" >&2; exit 1; }
	WGUD=$(readlink -f "$WGUD")
	WGGO=${WGGO:-$(command -v wireguard-go || true)}
	[[ -n $WGGO && -x $WGGO ]] || { echo "$T_NAME: wireguard-go (the reference peer) is not installed" >&2; exit 1; }
	export LOG_LEVEL=${LOG_LEVEL:-error}	# wireguard-go's own logging

	T_TMP=$(mktemp -d "/tmp/wgud-netns.$T_ID.XXXXXX")
	set -E
	trap 'T_ERR="${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
	trap t_exit EXIT
	trap 'log "interrupted"; exit 130' INT
	trap 'log "hangup"; exit 129' HUP
	trap 'log "terminated (watchdog: test took longer than its limit?)"; T_FAIL=$((T_FAIL + 1)); exit 143' TERM

	# The watchdog kills its sleep on exit so nothing is left holding
	# the test's stdout (ctest waits for it to close).
	(
		trap 'kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$timeout" & sp=$!
		wait "$sp"
		kill -TERM $T_ID
		# bash runs the trap only once its foreground command ends
		pkill -TERM -P $T_ID
	) </dev/null >/dev/null 2>&1 &
	T_WATCHDOG=$!

	log "WGUD=$WGUD ($(impl_kind "$WGUD")), WGUD_IO=${WGUD_IO:-<unset>}, WGUD_OFFLOAD=${WGUD_OFFLOAD:-<unset>}, peer=$WGGO, limit ${timeout}s, tmp=$T_TMP"
}

# is_wggo PATH: true if PATH is wireguard-go, i.e. we are validating the
# harness rather than testing wgud.
is_wggo()
{
	[[ $(basename "$1") == wireguard-go ]]
}

impl_kind()
{
	if is_wggo "$1"; then echo "harness validation with wireguard-go"; else echo "implementation under test"; fi
}

t_cleanup()
{
	local pid ns sock
	set +e
	for pid in "${T_PIDS[@]}"; do
		pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		pid_wait_exit "$pid" 3 || kill -KILL "$pid" 2>/dev/null
	done
	for ns in "${T_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
		# what `ip netns exec` binds over /etc, if a test made it
		[[ -d /etc/netns/$ns ]] && rm -rf "/etc/netns/$ns"
	done
	# An implementation killed hard may leave its socket behind; ours all
	# carry this run's id.
	for sock in "$WG_SOCK_DIR"/w"$T_ID"[a-z]*.sock; do
		[[ -e $sock ]] && rm -f "$sock"
	done
	if [[ -n $T_WATCHDOG ]]; then
		kill -TERM "$T_WATCHDOG" 2>/dev/null
		wait "$T_WATCHDOG" 2>/dev/null
	fi
	if [[ -n $T_TMP && -d $T_TMP ]]; then
		if { ((T_FAIL > 0)) || [[ ${KEEP_TMP:-} == always ]]; } && [[ -n ${KEEP_TMP:-} ]]; then
			log "keeping $T_TMP"
		else
			rm -rf "$T_TMP"
		fi
	fi
}

t_exit()
{
	local rc=$?
	trap - EXIT TERM INT HUP
	set +e
	if ((T_FAIL > 0)); then
		t_dump_logs
	fi
	t_cleanup
	if ((rc != 0 && T_FAIL == 0)); then
		# set -e ended the script on a command outside any assert.
		T_FAIL=1
		log "FAIL: unexpected error (exit status $rc) at ${T_ERR:-?}" >&2
	fi
	if ((T_FAIL == 0 && T_PASS == 0 && T_SKIP == 0)); then
		T_FAIL=1
		log "FAIL: no check ran" >&2
	fi
	if ((T_SKIP > 0)); then
		echo "netns: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	else
		echo "netns: $T_PASS passed, $T_FAIL failed"
	fi
	((T_FAIL == 0)) && exit 0
	exit 1
}

# t_dump_logs: show the tail of every implementation log, to explain a failure.
t_dump_logs()
{
	local f
	[[ -n $T_TMP && -d $T_TMP ]] || return 0
	for f in "$T_TMP"/*.log; do
		[[ -s $f ]] || continue
		echo "----- ${f##*/} (last lines) -----" >&2
		# wireguard-go's "use the kernel module" banner says nothing here
		grep -v '[│┌└]' "$f" | tail -n 15 >&2
	done
}

# t_finish: end of a test script.
t_finish()
{
	exit 0
}

# -------------------------------------------------------------- processes

pid_alive()
{
	local state
	[[ -r /proc/$1/stat ]] || return 1
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z && $state != X ]]
}

# pid_wait_exit PID SECONDS: true once PID is gone.
pid_wait_exit()
{
	local deadline=$((SECONDS + $2))
	while pid_alive "$1"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
	return 0
}

register_pid()
{
	T_PIDS+=("$1")
}

# kill_pid PID: TERM, then KILL if it is still there after 3 s.
kill_pid()
{
	pid_alive "$1" || return 0
	kill -TERM "$1" 2>/dev/null || true
	pid_wait_exit "$1" 3 || kill -KILL "$1" 2>/dev/null || true
	pid_wait_exit "$1" 2 || true
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.1 s until it succeeds.
wait_for()
{
	local secs=$1 desc=$2 deadline
	shift 2
	deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			log "timed out after ${secs}s waiting for $desc"
			return 1
		fi
		sleep 0.1
	done
}

# ---------------------------------------------------------------- naming

# ifname SUFFIX: a unique interface/veth name for this run (<= 15 chars).
ifname()
{
	local n="w${T_ID}$1"
	((${#n} <= 15)) || { echo "interface name too long: $n" >&2; return 1; }
	echo "$n"
}

nsname()
{
	echo "wgt${T_ID}_$1"
}

# -------------------------------------------------------------- namespaces

# ns_create NAME: new namespace with lo up and IPv6 DAD off, so addresses are
# usable at once.
ns_create()
{
	local ns=$1
	ip netns add "$ns" || die "cannot create namespace $ns"
	T_NS+=("$ns")
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.dad_transmits=0
	ip -n "$ns" link set lo up
}

nsx()
{
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# veth_link NS1 NS2 IDX: a veth pair between NS1 and NS2, IDX 0..63 picks the
# subnets. Sets VETH1 VETH2 (device names), V4_1 V4_2 and V6_1 V6_2
# (addresses of the NS1 and NS2 ends, no prefix length).
veth_link()
{
	local ns1=$1 ns2=$2 idx=$3 hex
	((idx >= 0 && idx < 64)) || die "veth_link: index $idx out of range"
	hex=$(printf '%x' "$idx")
	VETH1=$(ifname "v${idx}a")
	VETH2=$(ifname "v${idx}b")
	V4_1=198.51.100.$((idx * 4 + 1))
	V4_2=198.51.100.$((idx * 4 + 2))
	V6_1=fd00:0:$hex::1
	V6_2=fd00:0:$hex::2
	ip link add "$VETH1" netns "$ns1" type veth peer name "$VETH2" netns "$ns2" ||
		die "cannot create veth $VETH1/$VETH2"
	ip -n "$ns1" addr add "$V4_1/30" dev "$VETH1"
	ip -n "$ns2" addr add "$V4_2/30" dev "$VETH2"
	ip -n "$ns1" addr add "$V6_1/64" dev "$VETH1" nodad
	ip -n "$ns2" addr add "$V6_2/64" dev "$VETH2" nodad
	ip -n "$ns1" link set "$VETH1" up
	ip -n "$ns2" link set "$VETH2" up
	wait_for 5 "veth $VETH1 to carry IPv4" nsx "$ns1" ping -c1 -W1 "$V4_2" ||
		die "veth $VETH1 <-> $VETH2 does not pass IPv4"
	wait_for 5 "veth $VETH1 to carry IPv6" nsx "$ns1" ping -c1 -W1 "$V6_2" ||
		die "veth $VETH1 <-> $VETH2 does not pass IPv6"
}

# ------------------------------------------------------------------- keys

# keypair PRIVVAR PUBVAR
keypair()
{
	local _priv _pub
	_priv=$(wg genkey)
	_pub=$(wg pubkey <<<"$_priv")
	printf -v "$1" '%s' "$_priv"
	printf -v "$2" '%s' "$_pub"
}

# --------------------------------------------------------- setconf files

# wgconf_iface FILE PRIVKEY [LISTENPORT] [FWMARK]: start a `wg setconf` file.
wgconf_iface()
{
	local f=$1
	{
		echo "[Interface]"
		echo "PrivateKey = $2"
		[[ -z ${3:-} ]] || echo "ListenPort = $3"
		[[ -z ${4:-} ]] || echo "FwMark = $4"
	} >"$f"
	chmod 600 "$f"
}

# wgconf_peer FILE PUBKEY ALLOWEDIPS [ENDPOINT] [PSK] [KEEPALIVE]: append a
# peer; empty arguments are left out.
wgconf_peer()
{
	local f=$1
	{
		echo
		echo "[Peer]"
		echo "PublicKey = $2"
		[[ -z ${3:-} ]] || echo "AllowedIPs = $3"
		[[ -z ${4:-} ]] || echo "Endpoint = $4"
		[[ -z ${5:-} ]] || echo "PresharedKey = $5"
		[[ -z ${6:-} ]] || echo "PersistentKeepalive = $6"
	} >>"$f"
}

# wgquick_a FILE PORT ENDPOINT [KEEPALIVE]: a wg-quick conf for A as
# `wgud --conf` reads it: A's key KA on UDP PORT, Address $TUN4.1/24, one
# peer B (PB) with AllowedIPs $TUN4.2/32 at ENDPOINT (any text: a list for
# --failover too).
wgquick_a()
{
	{
		echo "[Interface]"
		echo "PrivateKey = $KA"
		echo "ListenPort = $2"
		echo "Address = $TUN4.1/24"
		echo
		echo "[Peer]"
		echo "PublicKey = $PB"
		echo "AllowedIPs = $TUN4.2/32"
		echo "Endpoint = $3"
		[[ -z ${4:-} ]] || echo "PersistentKeepalive = $4"
	} >"$1"
	chmod 600 "$1"
}

# ---------------------------------------------------------- implementations

sock_path()
{
	echo "$WG_SOCK_DIR/$1.sock"
}

# impl_start NS IFACE IMPL: run `IMPL -f IFACE` inside NS (WGUD_IO is passed
# on through the environment) and wait until its UAPI socket answers. Sets
# STARTED_PID; output goes to $T_TMP/IFACE.log.
impl_start()
{
	local ns=$1 ifc=$2 impl=$3 pid log=$T_TMP/$2.log
	rm -f "$(sock_path "$ifc")"
	ip netns exec "$ns" "${T_GUARD[@]}" "$impl" -f "$ifc" </dev/null >"$log" 2>&1 &
	pid=$!
	register_pid "$pid"
	STARTED_PID=$pid
	if ! wait_for 10 "UAPI socket of $ifc ($impl)" impl_ready_or_dead "$ns" "$ifc" "$pid" ||
		! pid_alive "$pid"; then
		local why="within 10 s"
		pid_alive "$pid" || why="(it exited)"
		die "$(basename "$impl") did not bring up $ifc in $ns $why; log: $(tail -n 5 "$log" | tr '\n' ' ')"
	fi
}

impl_ready_or_dead()
{
	! pid_alive "$3" || impl_ready "$@"
}

impl_ready()
{
	pid_alive "$3" && [[ -S $(sock_path "$2") ]] && nsx "$1" wg show "$2" >/dev/null 2>&1
}

# impl_stop NS IFACE PID: delete the interface; true if the implementation
# then exits by itself within 5 s (it is killed otherwise).
impl_stop()
{
	local ns=$1 ifc=$2 pid=$3 rc=0
	ip -n "$ns" link del "$ifc" 2>/dev/null || true
	if ! pid_wait_exit "$pid" 5; then
		rc=1
		kill_pid "$pid"
	fi
	return $rc
}

# if_setup NS IFACE ADDR4/LEN ADDR6/LEN [MTU]: addresses and link up, as
# wg-quick would.
if_setup()
{
	local ns=$1 ifc=$2
	[[ -z ${5:-} ]] || ip -n "$ns" link set "$ifc" mtu "$5"
	ip -n "$ns" addr add "$3" dev "$ifc"
	ip -n "$ns" addr add "$4" dev "$ifc" nodad
	ip -n "$ns" link set "$ifc" up
}

# wg_node NS IFACE IMPL CONF ADDR4/LEN ADDR6/LEN: start, `wg setconf`,
# addresses, up. Sets STARTED_PID.
wg_node()
{
	local ns=$1 ifc=$2 impl=$3 conf=$4
	impl_start "$ns" "$ifc" "$impl"
	nsx "$ns" wg setconf "$ifc" "$conf" || die "wg setconf $ifc $conf failed"
	if_setup "$ns" "$ifc" "$5" "$6"
}


# pair_ns: namespaces NA and NB joined by a veth (V4_1 in NA, V4_2 in NB),
# keys KA/PA and KB/PB, interface names IA/IB and the conf paths CA/CB (not
# written yet).
pair_ns()
{
	NA=$(nsname a)
	NB=$(nsname b)
	ns_create "$NA"
	ns_create "$NB"
	veth_link "$NA" "$NB" 0
	keypair KA PA
	keypair KB PB
	IA=$(ifname a)
	IB=$(ifname b)
	CA=$T_TMP/a.conf
	CB=$T_TMP/b.conf
}

# pair_up IMPL_A IMPL_B PORT [ALLOWED_B ALLOWED_A]: pair_ns, then a tunnel
# between them, IMPL_A in NA on UDP PORT ($TUN4.1) and IMPL_B in NB on
# PORT + 1 ($TUN4.2), each peer's allowed-ips the other's tunnel address
# (and ALLOWED_B / ALLOWED_A besides, such as an IPv6 one). Sets PID_A PID_B.
pair_up()
{
	pair_ns
	wgconf_iface "$CA" "$KA" "$3"
	wgconf_peer "$CA" "$PB" "$TUN4.2/32${4:+, $4}" "$V4_2:$(($3 + 1))"
	wgconf_iface "$CB" "$KB" "$(($3 + 1))"
	wgconf_peer "$CB" "$PA" "$TUN4.1/32${5:+, $5}" "$V4_1:$3"
	wg_node "$NA" "$IA" "$1" "$CA" "$TUN4.1/24" "${TUN6}:1/64"
	PID_A=$STARTED_PID
	wg_node "$NB" "$IB" "$2" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
	PID_B=$STARTED_PID
}

# ------------------------------------------------------------ wg queries

# wg_field NS IFACE FIELD PUBKEY: the value column of `wg show IFACE FIELD`
# for one peer (empty if the peer is not there).
wg_field()
{
	nsx "$1" wg show "$2" "$3" 2>/dev/null | awk -v k="$4" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }'
}

wg_handshake()
{
	local v
	v=$(wg_field "$1" "$2" latest-handshakes "$3")
	echo "${v:-0}"
}

# wg_transfer NS IFACE PUBKEY: "RX TX" in bytes.
wg_transfer()
{
	local v
	v=$(wg_field "$1" "$2" transfer "$3")
	echo "${v:-0 0}"
}

wg_endpoint()
{
	wg_field "$1" "$2" endpoints "$3"
}

# ep_norm ENDPOINT: ADDR:PORT with the address in canonical form, so that
# [fd00:0:0::2]:1 and [fd00::2]:1 compare equal.
ep_norm()
{
	python3 -c 'import ipaddress, sys
ep = sys.argv[1]
try:
    host, port = ep.rsplit(":", 1)
    host = host.strip("[]")
    a = ipaddress.ip_address(host)
    print(("[%s]:%s" if a.version == 6 else "%s:%s") % (a.compressed, int(port)))
except ValueError:
    print(ep)' "$1"
}

# assert_endpoint MSG WANT GOT
assert_endpoint()
{
	assert_eq "$1" "$(ep_norm "$2")" "$(ep_norm "$3")"
}

wg_listen_port()
{
	nsx "$1" wg show "$2" listen-port
}

# ------------------------------------------------------------------- ping

# ping_wait NS DST SECONDS [PING ARGS...]: true once one echo is answered
# (the first packets may be spent on the handshake).
ping_wait()
{
	local ns=$1 dst=$2 secs=$3
	shift 3
	wait_for "$secs" "echo reply from $dst" nsx "$ns" ping -c1 -W1 "$@" "$dst"
}

# ping_all NS DST COUNT [PING ARGS...]: true if all COUNT echoes are answered.
ping_all()
{
	local ns=$1 dst=$2 count=$3 out
	shift 3
	out=$(nsx "$ns" timeout $((count + 10)) ping -n -q -c "$count" -i 0.2 -W 2 "$@" "$dst" 2>&1) || true
	[[ $out =~ ([0-9]+)\ received ]] && ((BASH_REMATCH[1] == count))
}

# assert_ping MSG NS DST [PING ARGS...]: a handshake (up to 10 s), then 3 of 3
# echoes answered.
assert_ping()
{
	local msg=$1 ns=$2 dst=$3
	shift 3
	if ! ping_wait "$ns" "$dst" 10 "$@"; then
		fail "$msg: no echo reply from $dst within 10 s"
		return 1
	fi
	if ! ping_all "$ns" "$dst" 3 "$@"; then
		fail "$msg: lost echoes to $dst after the first reply"
		return 1
	fi
	pass "$msg"
}

# assert_no_ping MSG NS DST [PING ARGS...]: 3 echoes, none answered.
assert_no_ping()
{
	local msg=$1 ns=$2 dst=$3 out
	shift 3
	out=$(nsx "$ns" timeout 10 ping -n -q -c 3 -i 0.3 -W 1 "$@" "$dst" 2>&1) || true
	if [[ $out =~ ([0-9]+)\ received ]] && ((BASH_REMATCH[1] == 0)); then
		pass "$msg"
	else
		fail "$msg: got echo replies from $dst: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
		return 1
	fi
}

# ---------------------------------------------------------------- capture

# cap_start VAR NS IFACE FILE FILTER...: tcpdump into FILE until cap_stop;
# sets VAR to its PID once it is listening.
cap_start()
{
	local _var=$1 _ns=$2 _ifc=$3 _file=$4 _pid
	shift 4
	ip netns exec "$_ns" "${T_GUARD[@]}" tcpdump -Z root -n -U --immediate-mode -i "$_ifc" -w "$_file" "$@" \
		</dev/null >/dev/null 2>"$_file.err" &
	_pid=$!
	register_pid "$_pid"
	wait_for 10 "tcpdump on $_ifc" grep -q "listening on" "$_file.err" ||
		die "tcpdump on $_ifc did not start: $(cat "$_file.err")"
	printf -v "$_var" '%s' "$_pid"
}

cap_stop()
{
	sleep 0.3	# let the last packets reach the capture
	kill -INT "$1" 2>/dev/null || true
	pid_wait_exit "$1" 5 || kill_pid "$1"
}

# cap_count FILE FILTER...: packets in FILE matching FILTER.
cap_count()
{
	local file=$1
	shift
	tcpdump -n -r "$file" "$@" 2>/dev/null | wc -l
}

# ------------------------------------------------------------------ iperf

# iperf_bps VAR NS_SERVER SERVER_ADDR NS_CLIENT [-R]: a 3 s TCP test through
# the tunnel; sets VAR to the received bits/s (0 on failure).
iperf_bps()
{
	local _var=$1 _nss=$2 _addr=$3 _nsc=$4 _rev=${5:-} _spid _out _bps=0 _port=5201
	ip netns exec "$_nss" "${T_GUARD[@]}" timeout 30 iperf3 -s -1 -B "$_addr" -p "$_port" \
		</dev/null >"$T_TMP/iperf-server.log" 2>&1 &
	_spid=$!
	register_pid "$_spid"
	if wait_for 5 "iperf3 server" iperf_listening "$_nss" "$_port"; then
		_out=$(nsx "$_nsc" timeout 20 iperf3 -c "$_addr" -p "$_port" -t 3 -J ${_rev:+"$_rev"} 2>&1) || true
		_bps=$(python3 -c 'import json, sys
try:
    print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))
except Exception:
    print(0)' <<<"$_out")
	fi
	kill_pid "$_spid"
	printf -v "$_var" '%s' "$_bps"
}

iperf_listening()
{
	nsx "$1" ss -Htln "sport = :$2" | grep LISTEN >/dev/null
}

# ------------------------------------------------------------ scenarios

# pair_round LABEL IMPL_A IMPL_B INITIATOR(a|b) OUTER(4|6) PSK(0|1|mismatch) IPERF(0|1)
#
# A fresh pair of interfaces in $NS_A and $NS_B, joined by the veth whose
# addresses are LINK_A4/LINK_B4 and LINK_A6/LINK_B6. Only the initiator is
# given the other's endpoint, so the responder must learn it. With PSK
# "mismatch" the two sides get different preshared keys and the handshake
# must fail.
pair_round()
{
	local label=$1 impl_a=$2 impl_b=$3 init=$4 outer=$5 psk=$6 iperf=$7
	local ia ib pa pb ka kpa kb kpb psk_a="" psk_b="" ep_a ep_b ca cb pid_a pid_b
	local hs rx tx bps ini res ini_ip4 ini_ip6 res_ip4 res_ip6
	local desc
	desc="[$label: $(basename "$impl_a") vs $(basename "$impl_b"), $init initiates, IPv$outer outside, psk=$psk]"

	log "---- round $desc"
	ia=$(ifname "${label}a")
	ib=$(ifname "${label}b")
	pa=$((20000 + RANDOM % 20000))
	pb=$((pa + 1))
	keypair ka kpa
	keypair kb kpb
	case $psk in
	1) psk_a=$(wg genpsk); psk_b=$psk_a ;;
	mismatch) psk_a=$(wg genpsk); psk_b=$(wg genpsk) ;;
	esac
	if [[ $outer == 4 ]]; then
		ep_a=$LINK_A4:$pa ep_b=$LINK_B4:$pb
	else
		ep_a=[$LINK_A6]:$pa ep_b=[$LINK_B6]:$pb
	fi
	ca=$T_TMP/$ia.conf cb=$T_TMP/$ib.conf
	wgconf_iface "$ca" "$ka" "$pa"
	wgconf_iface "$cb" "$kb" "$pb"
	if [[ $init == a ]]; then
		wgconf_peer "$ca" "$kpb" "$TUN4.2/32, $TUN6:2/128" "$ep_b" "$psk_a"
		wgconf_peer "$cb" "$kpa" "$TUN4.1/32, $TUN6:1/128" "" "$psk_b"
		ini=$NS_A res=$NS_B ini_ip4=$TUN4.1 ini_ip6=$TUN6:1 res_ip4=$TUN4.2 res_ip6=$TUN6:2
	else
		wgconf_peer "$ca" "$kpb" "$TUN4.2/32, $TUN6:2/128" "" "$psk_a"
		wgconf_peer "$cb" "$kpa" "$TUN4.1/32, $TUN6:1/128" "$ep_a" "$psk_b"
		ini=$NS_B res=$NS_A ini_ip4=$TUN4.2 ini_ip6=$TUN6:2 res_ip4=$TUN4.1 res_ip6=$TUN6:1
	fi
	wg_node "$NS_A" "$ia" "$impl_a" "$ca" "$TUN4.1/24" "$TUN6:1/64"
	pid_a=$STARTED_PID
	wg_node "$NS_B" "$ib" "$impl_b" "$cb" "$TUN4.2/24" "$TUN6:2/64"
	pid_b=$STARTED_PID

	if [[ $psk == mismatch ]]; then
		assert_no_ping "$desc no tunnel with different preshared keys" "$ini" "$res_ip4" || true
		assert_eq "$desc A reports no handshake" 0 "$(wg_handshake "$NS_A" "$ia" "$kpb")" || true
	else
		assert_ping "$desc initiator pings IPv4 inside" "$ini" "$res_ip4" || true
		assert_ping "$desc initiator pings IPv6 inside" "$ini" "$res_ip6" || true
		assert_ping "$desc responder pings IPv4 back" "$res" "$ini_ip4" || true
		assert_ping "$desc responder pings IPv6 back" "$res" "$ini_ip6" || true

		hs=$(wg_handshake "$NS_A" "$ia" "$kpb")
		assert_gt "$desc A: latest handshake set" "$hs" 0 || true
		read -r rx tx <<<"$(wg_transfer "$NS_A" "$ia" "$kpb")"
		assert_gt "$desc A: rx bytes" "$rx" 0 || true
		assert_gt "$desc A: tx bytes" "$tx" 0 || true
		assert_endpoint "$desc A: endpoint of B" "$ep_b" "$(wg_endpoint "$NS_A" "$ia" "$kpb")" || true
		if [[ $psk == 1 ]]; then
			assert_eq "$desc A: preshared key" "$psk_a" "$(wg_field "$NS_A" "$ia" preshared-keys "$kpb")" || true
		fi

		if [[ $iperf == 1 ]]; then
			iperf_bps bps "$NS_B" "$TUN4.2" "$NS_A"
			log "$desc iperf3 A -> B: $bps bit/s"
			assert_gt "$desc iperf3 TCP A -> B" "$bps" 0 || true
			iperf_bps bps "$NS_B" "$TUN4.2" "$NS_A" -R
			log "$desc iperf3 B -> A: $bps bit/s"
			assert_gt "$desc iperf3 TCP B -> A" "$bps" 0 || true
		fi
	fi

	assert "$desc A ($(basename "$impl_a")) exits when its interface is deleted" \
		impl_stop "$NS_A" "$ia" "$pid_a" || true
	impl_stop "$NS_B" "$ib" "$pid_b" || true
}

# ============================================= gateway and kill-switch tests
#
# Helpers for test_killswitch_leak, test_gateway and test_ctl: wgud's own
# config mode with a policy, its control socket, its nftables table, and
# traffic probes (netprobe.py) whose arrival can be told apart by source.

NETPROBE=$NETNS_DIR/netprobe.py
CTL_DIR=/var/run/wgud
T_PY=""

# gw_init: after t_init. Resolves python3 once (a pyenv shim costs ~100 ms a
# call) and makes the EXIT trap also remove control sockets and state files a
# SIGKILLed wgud of this run left behind.
gw_init()
{
	T_PY=$(python3 -c 'import sys; print(sys.executable)')
	[[ -x $T_PY ]] || die "cannot resolve python3"
	command -v nft >/dev/null || die "nft is not installed"
	command -v tcpdump >/dev/null || die "tcpdump is not installed"
	trap gw_exit EXIT
}

gw_exit()
{
	local rc=$? sock
	set +e
	trap - ERR	# keep the failing command t_exit reports
	# and the records of what a SIGKILLed wgud had changed (state.h)
	for sock in "$CTL_DIR"/w"$T_ID"[a-z]*.ctl "$CTL_DIR"/w"$T_ID"[a-z]*.state; do
		[[ -e $sock ]] && rm -f "$sock"
	done
	(exit "$rc")
	t_exit
}

# netprobe NS ARGS...: netprobe.py in NS, bounded (see netprobe.py).
netprobe()
{
	local ns=$1
	shift
	nsx "$ns" timeout 15 "$T_PY" "$NETPROBE" "$@"
}

# serve_start NS LOG ARGS...: `netprobe.py serve LOG ARGS...` in NS until the
# end of the test; returns once every socket is bound. Sets STARTED_PID.
serve_start()
{
	local ns=$1 log=$2 pid
	shift 2
	: >"$log"
	ip netns exec "$ns" "${T_GUARD[@]}" "$T_PY" "$NETPROBE" serve "$log" "$@" \
		</dev/null >"$log.err" 2>&1 &
	pid=$!
	register_pid "$pid"
	STARTED_PID=$pid
	wait_for 10 "netprobe server in $ns" grep -qx ready "$log" ||
		die "netprobe server in $ns did not start: $(tail -n 3 "$log.err" | tr '\n' ' ')"
}

# served LOG KIND PEER LOCAL: true if the server logged that exchange
# (PEER, LOCAL may be regular expressions).
served()
{
	grep -Eq "^$2 $3 $4\$" "$1"
}

# veth_addrs NS1 NS2 TAG A1/LEN A2/LEN A6_1/LEN A6_2/LEN: a veth pair with
# the given addresses (veth_link only knows its 198.51.100.0/24 plan). Sets
# VETH1 VETH2.
veth_addrs()
{
	local ns1=$1 ns2=$2 tag=$3
	VETH1=$(ifname "${tag}a")
	VETH2=$(ifname "${tag}b")
	ip link add "$VETH1" netns "$ns1" type veth peer name "$VETH2" netns "$ns2" ||
		die "cannot create veth $VETH1/$VETH2"
	ip -n "$ns1" addr add "$4" dev "$VETH1"
	ip -n "$ns2" addr add "$5" dev "$VETH2"
	ip -n "$ns1" addr add "$6" dev "$VETH1" nodad
	ip -n "$ns2" addr add "$7" dev "$VETH2" nodad
	ip -n "$ns1" link set "$VETH1" up
	ip -n "$ns2" link set "$VETH2" up
	wait_for 5 "veth $VETH1 to carry IPv4" nsx "$ns1" ping -c1 -W1 "${5%/*}" ||
		die "veth $VETH1 <-> $VETH2 does not pass IPv4"
	wait_for 5 "veth $VETH1 to carry IPv6" nsx "$ns1" ping -c1 -W1 "${7%/*}" ||
		die "veth $VETH1 <-> $VETH2 does not pass IPv6"
}

ctl_path()
{
	echo "$CTL_DIR/$1.ctl"
}

# wctl NS IFACE WORDS...: `wgud ctl`, bounded; stdout and stderr as they come.
wctl()
{
	local ns=$1 ifc=$2
	shift 2
	nsx "$ns" timeout 10 "$WGUD" ctl "$ifc" "$@"
}

# wctl_rc VAR NS IFACE WORDS...: run wctl, set VAR to its exit status and
# CTL_OUT/CTL_ERR to its output (never fails itself).
wctl_rc()
{
	local _var=$1 _rc=0
	shift
	wctl "$@" >"$T_TMP/ctl.out" 2>"$T_TMP/ctl.err" || _rc=$?
	# shellcheck disable=SC2034 # for the caller
	CTL_OUT=$(cat "$T_TMP/ctl.out")
	CTL_ERR=$(cat "$T_TMP/ctl.err")
	printf -v "$_var" '%s' "$_rc"
}

# assert_ctl MSG NS IFACE WORDS...: the command is accepted (exit 0).
assert_ctl()
{
	local msg=$1 rc
	shift
	wctl_rc rc "$@"
	if [[ $rc == 0 ]]; then
		pass "$msg"
	else
		fail "$msg: wgud ctl ${*:3} exited $rc: $CTL_ERR"
		return 1
	fi
}

# wgud_ready NS IFACE PID: interface up, control socket answers.
wgud_ready()
{
	pid_alive "$3" && ip -n "$1" link show "$2" up 2>/dev/null | grep UP >/dev/null &&
		[[ -S $(ctl_path "$2") ]] && wctl "$1" "$2" show >/dev/null 2>&1
}

wgud_ready_or_dead()
{
	! pid_alive "$3" || wgud_ready "$@"
}

# wgud_conf_start NS CONF LOG [ARGS...]: `$WGUD --conf CONF ARGS...` in NS
# (the interface is named after CONF's basename); waits until the control
# socket answers. Sets STARTED_PID; dies if it does not come up in 10 s.
wgud_conf_start()
{
	local ns=$1 conf=$2 log=$3 ifc pid
	shift 3
	ifc=$(basename "$conf" .conf)
	ip netns exec "$ns" "${T_GUARD[@]}" "$WGUD" --conf "$conf" "$@" </dev/null >>"$log" 2>&1 &
	pid=$!
	register_pid "$pid"
	STARTED_PID=$pid
	wait_for 10 "wgud $ifc up with its control socket" wgud_ready_or_dead "$ns" "$ifc" "$pid" || true
	wgud_ready "$ns" "$ifc" "$pid" ||
		die "wgud --conf $conf $* did not come up in $ns; log: $(tail -n 5 "$log" | tr '\n' ' ')"
}

# nft_table NS IFACE: wgud's table, without counter values (-s), so two
# listings compare equal unless the rules changed.
nft_table()
{
	nsx "$1" nft -s list table inet "wgud_$2" 2>/dev/null
}

nft_table_exists()
{
	nsx "$1" nft list table inet "wgud_$2" >/dev/null 2>&1
}

# ctl_json NS IFACE PYEXPR: evaluate PYEXPR with j = `show --json` parsed,
# print the result (json-encoded); fails if the output does not parse.
ctl_json()
{
	local out
	out=$(wctl "$1" "$2" show --json 2>/dev/null) || return 1
	"$T_PY" -c 'import json, sys
j = json.loads(sys.stdin.read())
print(json.dumps(eval(sys.argv[1])))' "$3" <<<"$out"
}

# assert_json MSG NS IFACE PYEXPR: PYEXPR (over j) is true.
assert_json()
{
	local v
	v=$(ctl_json "$2" "$3" "$4" 2>&1) || v="error: $v"
	if [[ $v == true ]]; then
		pass "$1"
	else
		fail "$1: $4 -> $v"
		return 1
	fi
}

# cap_classify FILE WG_ENDPOINT...: "wg=N plain=M ignored=K" plus the first
# $CAP_SHOW (default 5) plain packets, one per line (see netprobe.py pcap);
# with $CAP_SRC_MAC set, only the frames that MAC sent; with $CAP_MARKER,
# also " marked=N", the plain frames carrying that text.
cap_classify()
{
	local file=$1 a=() ep
	shift
	for ep in "$@"; do
		a+=(--wg "$ep")
	done
	[[ -z ${CAP_SRC_MAC:-} ]] || a+=(--src-mac "$CAP_SRC_MAC")
	[[ -z ${CAP_MARKER:-} ]] || a+=(--marker "$CAP_MARKER")
	"$T_PY" "$NETPROBE" pcap "$file" --show "${CAP_SHOW:-5}" "${a[@]}"
}

# if_mac NS IFACE
if_mac()
{
	nsx "$1" cat "/sys/class/net/$2/address"
}

# cap_plain FILE WG_ENDPOINT...: the number of plain packets in FILE.
cap_plain()
{
	cap_classify "$@" | sed -n '1s/.* plain=\([0-9]*\).*/\1/p'
}

# nobody_wgud VAR: a path to $WGUD that uid 65534 may execute (a copy in a
# world-readable directory of this run, if need be).
nobody_wgud()
{
	local _d
	if setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$WGUD" 2>/dev/null; then
		printf -v "$1" '%s' "$WGUD"
		return 0
	fi
	_d=$T_TMP/pub
	mkdir -p "$_d"
	cp "$WGUD" "$_d/wgud"
	chmod 755 "$_d" "$_d/wgud"
	chmod 711 "$T_TMP"
	printf -v "$1" '%s' "$_d/wgud"
}

# addr_norm ADDR: canonical text form (fd00:0:0::1 -> fd00::1), as the
# kernel and netprobe.py print addresses.
addr_norm()
{
	"${T_PY:-python3}" -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]))' "$1"
}

# gw_topology: the gateway scenario's namespaces, used by test_gateway and
# test_ctl.
#
#   L (LAN client) --- G (gateway: $WGUD, started by the test) --- S (uplink
#   router and VPN server: wireguard-go)
#
#   LAN   198.18.0.0/24, 2001:db8:18::/64: G .1/::1, L .2/::2, L's default
#         route via G
#   uplink  veth_link 0: G 198.51.100.1, S 198.51.100.2 (fd00::1, fd00::2);
#         G's default route via S; S routes the LAN back via G, so only G's
#         firewall keeps the LAN off the uplink
#   tunnel  G 192.0.2.1, S 192.0.2.2 (fd00:2::1, fd00:2::2). S accepts only
#         G's tunnel addresses from G: only masqueraded LAN traffic works.
#   behind S (on its lo): 203.0.113.10 and 2001:db8:1::10 (TCP greeter 8080,
#         UDP echo 7777), resolvers 203.0.113.53/.54, 2001:db8:1::53/::54;
#         netprobe log $SRV_LOG
#
# Sets NL NG NS, G_LAN L_LAN (LAN veths), G_UP S_DOWN (uplink veths), G_UP_MAC,
# IG IS, PORT_S, KG PG KS PS, CONF_G (wgud's --conf file, full tunnel),
# CONF_S, WG_EPS, SRV_LOG, WGGO_PID (wireguard-go already running).
gw_topology()
{
	NL=$(nsname l)
	NG=$(nsname g)
	NS=$(nsname s)
	ns_create "$NL"
	ns_create "$NG"
	ns_create "$NS"
	veth_addrs "$NG" "$NL" l 198.18.0.1/24 198.18.0.2/24 2001:db8:18::1/64 2001:db8:18::2/64
	# shellcheck disable=SC2034 # for the test
	G_LAN=$VETH1 L_LAN=$VETH2
	veth_link "$NG" "$NS" 0
	G_UP=$VETH1 S_DOWN=$VETH2
	G_UP_MAC=$(if_mac "$NG" "$G_UP")
	ip -n "$NL" route add default via 198.18.0.1
	ip -n "$NL" -6 route add default via 2001:db8:18::1
	ip -n "$NG" route add default via 198.51.100.2
	ip -n "$NG" -6 route add default via fd00::2
	ip -n "$NS" route add 198.18.0.0/24 via 198.51.100.1
	ip -n "$NS" -6 route add 2001:db8:18::/64 via fd00::1
	local a
	for a in 203.0.113.10 203.0.113.53 203.0.113.54; do
		ip -n "$NS" addr add "$a/32" dev lo
	done
	for a in 2001:db8:1::10 2001:db8:1::53 2001:db8:1::54; do
		ip -n "$NS" addr add "$a/128" dev lo nodad
	done
	SRV_LOG=$T_TMP/server.log
	serve_start "$NS" "$SRV_LOG" --addr 203.0.113.10 --addr 2001:db8:1::10 --addr 198.51.100.2 \
		--addr fd00::2 --tcp 8080 --udp 7777
	serve_start "$NS" "$T_TMP/dns.log" --addr 203.0.113.53 --addr 203.0.113.54 \
		--addr 2001:db8:1::53 --addr 2001:db8:1::54 --dns 53

	IG=$(ifname g)
	IS=$(ifname s)
	PORT_S=$((20000 + RANDOM % 20000))
	keypair KG PG
	keypair KS PS
	WG_EPS=("198.51.100.2:$PORT_S" "[fd00::2]:$PORT_S")
	CONF_G=$T_TMP/$IG.conf
	{
		echo "[Interface]"
		echo "PrivateKey = $KG"
		echo "Address = $TUN4.1/24, $TUN6:1/64"
		echo
		echo "[Peer]"
		echo "PublicKey = $PS"
		echo "AllowedIPs = 0.0.0.0/0, ::/0"
		echo "Endpoint = 198.51.100.2:$PORT_S"
	} >"$CONF_G"
	chmod 600 "$CONF_G"
	CONF_S=$T_TMP/$IS.conf
	wgconf_iface "$CONF_S" "$KS" "$PORT_S"
	wgconf_peer "$CONF_S" "$PG" "$TUN4.1/32, $TUN6:1/128"
	gw_server_start
}

# gw_server_start: (re)start S's wireguard-go. Sets WGGO_PID.
gw_server_start()
{
	wg_node "$NS" "$IS" "$WGGO" "$CONF_S" "$TUN4.2/24" "$TUN6:2/64"
	# shellcheck disable=SC2034 # for the test
	WGGO_PID=$STARTED_PID
}

# gw_uplink_capture LABEL CMD...: run CMD (its status ignored) while
# capturing on S's end of the uplink; prints the number of frames G sent that
# were not WireGuard to S (the first ones are logged).
gw_uplink_capture()
{
	local label=$1 cap out
	shift
	cap_start cap "$NS" "$S_DOWN" "$T_TMP/$label.pcap"
	"$@" >/dev/null 2>&1 || true
	cap_stop "$cap"
	out=$(CAP_SRC_MAC=$G_UP_MAC CAP_SHOW=5 cap_classify "$T_TMP/$label.pcap" "${WG_EPS[@]}")
	log "[$label] uplink capture: $(tr '\n' ';' <<<"$out")" >&2
	sed -n '1s/.* plain=\([0-9]*\).*/\1/p' <<<"$out"
}

# ------------------------------------------------------------ metrics

# Debian's python3 (it has python3-prometheus-client), whatever python3 comes first in PATH
PROM_PY=/usr/bin/python3

# prom_scrape NS IFACE PORT ctl|http: `wgud ctl IFACE metrics` or GET /metrics
# from 127.0.0.1:PORT in NS, parsed by Debian's prometheus_client; prints the
# samples as "name{label=value,...} value", labels sorted, or fails.
prom_scrape()
{
	local text
	if [[ $4 == ctl ]]; then
		text=$(wctl "$1" "$2" metrics) || return 1
	else
		text=$(nsx "$1" "$PROM_PY" - "$3" <<-'EOF'
			import socket, sys
			s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
			s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n")
			data = b""
			while True:
			    chunk = s.recv(65536)
			    if not chunk:
			        break
			    data += chunk
			head, _, body = data.partition(b"\r\n\r\n")
			lines = head.decode().split("\r\n")
			assert lines[0] == "HTTP/1.1 200 OK", lines[0]
			h = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
			assert h["content-type"].startswith("text/plain; version=0.0.4"), h
			assert int(h["content-length"]) == len(body), (h, len(body))
			sys.stdout.write(body.decode())
		EOF
		) || return 1
	fi
	"$PROM_PY" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print("%s{%s} %d" % (s.name, labels, s.value))
' <<<"$text"
}

# prom_metric SAMPLES NAME LABELS: the value of one sample of prom_scrape's output
prom_metric()
{
	awk -v k="$2{$3}" '$1 == k { print $2; found = 1 } END { exit !found }' <<<"$1"
}

# metrics_pair ADDR: a wgud server B (wgud -f) and a client A, `wgud --conf
# --kill-switch on --metrics ADDR:$MPORT`, A's log in LOG_A; sets PORT_A,
# PORT_B, MPORT, CA, PID_A, PID_B, and L (the labels of A's peer B). Needs
# prometheus_client (it is what the checks parse with).
metrics_pair()
{
	require "python3-prometheus-client is installed" "$PROM_PY" -c 'import prometheus_client.parser'
	pair_ns
	PORT_A=$((20000 + RANDOM % 20000))
	PORT_B=$((PORT_A + 1))
	MPORT=$((PORT_A + 2))
	CA=$T_TMP/$IA.conf
	wgquick_a "$CA" "$PORT_A" "$V4_2:$PORT_B"
	wgconf_iface "$CB" "$KB" "$PORT_B"
	wgconf_peer "$CB" "$PA" "$TUN4.1/32"
	wg_node "$NB" "$IB" "$WGUD" "$CB" "$TUN4.2/24" "${TUN6}:2/64"
	PID_B=$STARTED_PID
	LOG_A=$T_TMP/a.log
	wgud_conf_start "$NA" "$CA" "$LOG_A" --kill-switch on --metrics "$1:$MPORT"
	PID_A=$STARTED_PID
	L="interface=$IA,public_key=$PB"
	assert "A logs where it serves the metrics" grep -q "metrics: serving http://$1:$MPORT/metrics" "$LOG_A"
}
