#!/usr/bin/env bash
# The README's first command. Installs what is missing, builds wgud, then shows
# what the protocol core does today: keys that the stock `wg` agrees with, and
# the micro-benchmarks (handshakes/s, seal/open beside raw libsodium).
# The namespace tunnel against wireguard-go joins this script with the daemon.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
echo "built: $(build/wgud --version)"

priv=$(build/wgud genkey 2>/dev/null)
ours=$(printf '%s\n' "$priv" | build/wgud pubkey)
theirs=$(printf '%s\n' "$priv" | wg pubkey)
unset priv
echo "public key from wgud: $ours"
echo "public key from wg:   $theirs"
[ "$ours" = "$theirs" ] || { echo "demo: wgud and wg disagree on a public key" >&2; exit 1; }

build/wgud-bench "${@:---quick}"
