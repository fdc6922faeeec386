#!/usr/bin/env bash
# Installs everything wgud needs to build, test and benchmark on Debian 12.
# Safe to run again: it only calls apt-get when a package is missing.
set -euo pipefail

packages=(
	build-essential cmake pkg-config clang
	libsodium-dev libssl-dev liburing-dev libmnl-dev libnftnl-dev libcmocka-dev
	wireguard-tools wireguard-go iperf3 nftables iproute2 tcpdump iputils-ping
	python3 python3-prometheus-client
)
# systemd-analyze checks the installed units (tests/install); containers may lack it.
command -v systemd-analyze >/dev/null || packages+=(systemd)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The unprivileged user of the rootless tests (wgud run, --tun-fd, --user): no home, no login.
if [ "$(id -u)" -eq 0 ] && ! id wgudtest >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin wgudtest
	echo "setup: made the test user wgudtest"
fi

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#packages[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
	exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# No recommends: wireguard-tools would otherwise pull in a kernel image.
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "setup: apt-get failed; full log in $log" >&2
	exit 1
fi
rm -f "$log"
echo "setup: installed ${#missing[@]} packages"
