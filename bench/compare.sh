#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wgud and wireguard-go side by side, in one run, on this machine (root):
#
#   bench/compare.sh [--rounds N] [--seconds S] [--wggo PATH] [--out DIR] [--build DIR]
#
# Three pairs, each between two network namespaces joined by a veth pair:
# wgud <-> wgud, wgud <-> wireguard-go, wireguard-go <-> wireguard-go, with
# the wireguard-go binary given by --wggo (Debian's by default; any build
# works, such as the newest upstream one built outside the repository). The
# pairs take turns within every round, in a rotating order, so that the
# machine's drift falls on all of them alike; medians over the rounds.
#
# Measured per pair, with A sending to B:
#   TCP, one stream and four (iperf3), Mbit/s received;
#   UDP at full rate in 1400-byte packets: Mbit/s received and the loss;
#   ping RTT through the tunnel, idle and during the one-stream TCP run;
#   CPU seconds of both daemons together per GB the one-stream run moved;
#   RSS of each daemon after the handshake (idle) and its peak (VmHWM).
# Writes results.json, results.md and throughput.png (gnuplot) into DIR
# (default bench/results), and prints results.md.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
rounds=3 secs=6 wggo=$(command -v wireguard-go || true) out=$top/bench/results build=$top/build
while (($#)); do
	case $1 in
	--rounds) rounds=$2 ;;
	--seconds) secs=$2 ;;
	--wggo) wggo=$2 ;;
	--out) out=$2 ;;
	--build) build=$2 ;;
	-h | --help)
		sed -n '3,22p' "$0"
		exit 0
		;;
	*)
		echo "compare.sh: unknown argument '$1' (see --help)" >&2
		exit 2
		;;
	esac
	shift 2
done
[[ $rounds =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --rounds and --seconds take positive numbers" >&2; exit 2; }
wgud=$(cd "$build" 2>/dev/null && pwd)/wgud
[[ -x $wgud ]] || { echo "compare.sh: no $wgud: build first (cmake -S . -B build && cmake --build build)" >&2; exit 2; }
[[ -x $wggo ]] || { echo "compare.sh: no wireguard-go (--wggo PATH, or apt-get install wireguard-go)" >&2; exit 2; }
for tool in iperf3 wg ping python3; do
	command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (bash scripts/setup.sh installs it)" >&2; exit 2; }
done
if ! command -v gnuplot >/dev/null; then
	echo "compare.sh: installing gnuplot-nox for the chart" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
fi
mkdir -p "$out"
id=$$
nsa=wgcA$id nsb=wgcB$id
ifa=wgc${id}a ifb=wgc${id}b
raw=$out/raw.tsv
pids=()

cleanup()
{
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$nsa" 2>/dev/null || true
	ip netns del "$nsb" 2>/dev/null || true
	rm -f "/var/run/wireguard/$ifa.sock" "/var/run/wireguard/$ifb.sock" \
		"/var/run/wgud/$ifa.ctl" "/var/run/wgud/$ifb.ctl"
}
trap cleanup EXIT

setup_ns()
{
	local ns
	ip netns add "$nsa"
	ip netns add "$nsb"
	ip link add va netns "$nsa" type veth peer name vb netns "$nsb"
	ip -n "$nsa" addr add 198.51.100.1/30 dev va
	ip -n "$nsb" addr add 198.51.100.2/30 dev vb
	for ns in "$nsa" "$nsb"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$nsa" link set va up
	ip -n "$nsb" link set vb up
}

# start NS IMPL IFACE: the daemon in the foreground; prints its PID.
start()
{
	local ns=$1 impl=$2 ifc=$3 i
	ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 "$impl" -f "$ifc" >/dev/null 2>&1 &
	pids+=($!)
	for i in $(seq 100); do
		[[ -S /var/run/wireguard/$ifc.sock ]] && { START_PID=$!; return 0; }
		sleep 0.05
	done
	echo "compare.sh: $impl did not create $ifc" >&2
	return 1
}

cpu_ticks() # PID...: user + system clock ticks of the processes
{
	local p t=0 f
	for p in "$@"; do
		read -r -a f <"/proc/$p/stat"
		# fields 14 and 15 (utime, stime); the name in field 2 has no spaces here
		t=$((t + f[13] + f[14]))
	done
	echo "$t"
}

status_kib() # PID FIELD: VmRSS or VmHWM in KiB
{
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

ping_avg() # NS COUNT INTERVAL: the average RTT in ms, or nan
{
	ip netns exec "$1" ping -n -q -c "$2" -i "$3" -W 1 192.0.2.2 2>/dev/null |
		sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p' | grep . || echo nan
}

iperf() # ARGS...: iperf3 A -> B as JSON
{
	ip netns exec "$nsb" iperf3 -s -1 -D -p 5201
	sleep 0.3
	ip netns exec "$nsa" timeout $((secs + 20)) iperf3 -c 192.0.2.2 -p 5201 -t "$secs" -J "$@"
}

# one KIND IMPL_A IMPL_B ROUND: a fresh tunnel, every measurement, rows into $raw.
one()
{
	local kind=$1 ia=$2 ib=$3 round=$4 ka kb pa pb pid_a pid_b c0 c1 ping_pid load_rtt
	ka=$(wg genkey) kb=$(wg genkey)
	pa=$(wg pubkey <<<"$ka") pb=$(wg pubkey <<<"$kb")
	start "$nsa" "$ia" "$ifa"
	pid_a=$START_PID
	start "$nsb" "$ib" "$ifb"
	pid_b=$START_PID
	ip netns exec "$nsa" wg set "$ifa" private-key <(echo "$ka") listen-port 40001 \
		peer "$pb" allowed-ips 192.0.2.2/32 endpoint 198.51.100.2:40002
	ip netns exec "$nsb" wg set "$ifb" private-key <(echo "$kb") listen-port 40002 \
		peer "$pa" allowed-ips 192.0.2.1/32 endpoint 198.51.100.1:40001
	ip -n "$nsa" addr add 192.0.2.1/24 dev "$ifa"
	ip -n "$nsb" addr add 192.0.2.2/24 dev "$ifb"
	ip -n "$nsa" link set "$ifa" up
	ip -n "$nsb" link set "$ifb" up
	ip netns exec "$nsa" ping -c 3 -W 2 192.0.2.2 >/dev/null
	sleep 1
	row() { printf '%s\t%s\t%s\t%s\n' "$round" "$kind" "$1" "$2" >>"$raw"; }
	row rss_idle_a_kib "$(status_kib "$pid_a" VmRSS)"
	row rss_idle_b_kib "$(status_kib "$pid_b" VmRSS)"
	row rtt_idle_ms "$(ping_avg "$nsa" 20 0.05)"

	c0=$(cpu_ticks "$pid_a" "$pid_b")
	ip netns exec "$nsa" ping -n -q -c $((secs * 5 - 5)) -i 0.2 -W 1 192.0.2.2 >"$out/ping.$id" 2>&1 &
	ping_pid=$!
	iperf >"$out/iperf.$id.json"
	c1=$(cpu_ticks "$pid_a" "$pid_b")
	wait "$ping_pid" || true
	load_rtt=$(sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p' "$out/ping.$id" | grep . || echo nan)
	python3 - "$out/iperf.$id.json" "$c0" "$c1" "$(getconf CLK_TCK)" "$round" "$kind" >>"$raw" <<-'PY'
		import json, sys
		path, c0, c1, hz, rnd, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
		got = json.load(open(path))["end"]["sum_received"]
		gb = got["bytes"] / 1e9
		print("%s\t%s\ttcp1_mbit\t%.1f" % (rnd, kind, got["bits_per_second"] / 1e6))
		print("%s\t%s\tcpu_s_per_gb\t%.3f" % (rnd, kind, (c1 - c0) / hz / gb if gb else float("nan")))
	PY
	row rtt_load_ms "$load_rtt"
	iperf -P 4 | python3 -c 'import json, sys
print("%.1f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))' | { read -r v; row tcp4_mbit "$v"; }
	# 1372 bytes of payload: inner packets of 1400 bytes, inside the 1420 MTU.
	iperf -u -b 0 -l 1372 | python3 -c 'import json, sys
s = json.load(sys.stdin)["end"]["sum"]
loss = s.get("lost_percent", float("nan"))
print("%.1f %.2f" % (s["bits_per_second"] * (1 - loss / 100) / 1e6, loss))' | {
		read -r rate loss
		row udp_mbit "$rate"
		row udp_loss_pct "$loss"
	}
	row rss_peak_a_kib "$(status_kib "$pid_a" VmHWM)"
	row rss_peak_b_kib "$(status_kib "$pid_b" VmHWM)"
	ip -n "$nsa" link del "$ifa" 2>/dev/null || true
	ip -n "$nsb" link del "$ifb" 2>/dev/null || true
	kill "$pid_a" "$pid_b" 2>/dev/null || true
	wait "$pid_a" "$pid_b" 2>/dev/null || true
	pids=()
	# a stopped io_uring lets go of its port a moment later
	sleep 0.5
}

: >"$raw"
setup_ns
kinds=(uu ug gg)
for ((r = 1; r <= rounds; r++)); do
	for ((k = 0; k < 3; k++)); do
		kind=${kinds[$(((k + r - 1) % 3))]}
		case $kind in
		uu) one uu "$wgud" "$wgud" "$r" ;;
		ug) one ug "$wgud" "$wggo" "$r" ;;
		gg) one gg "$wggo" "$wggo" "$r" ;;
		esac
		echo "compare.sh: round $r/$rounds, $kind done" >&2
	done
done
rm -f "$out/ping.$id" "$out/iperf.$id.json"
machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, kernel $(uname -r)"
python3 "$top/bench/compare_report.py" "$raw" "$out" "$machine" "$("$wgud" --version 2>&1 | head -1)" \
	"$("$wggo" --version 2>&1 | head -1) ($wggo)" "$rounds" "$secs"
(cd "$out" && gnuplot throughput.gp)
cat "$out/results.md"
