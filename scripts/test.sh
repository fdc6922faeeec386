#!/usr/bin/env bash
# The whole test suite (root): installs what is missing, then builds and runs
# ctest three ways: Release with -Werror (unit tests, fuzz replays, and every
# namespace scenario with both event loops, against wireguard-go), ASan+UBSan
# (the same but the 140 s rekey run), and the libFuzzer harnesses (clang)
# for a bounded time each. Between them the small build (no io_uring, no
# nftables) with what it can run, and the static build where the static
# libraries are there.
#   WGUD_FUZZ_SECONDS   seconds per fuzzer (default 30)
#   WGUD_SKIP_FUZZ=1    leave the fuzzing pass out (quick local runs)
#   WGUD_STATIC_PREFIX  a prefix holding libmnl.a (DIR/lib/libmnl.a and
#                       DIR/lib/pkgconfig/libmnl.pc), which Debian does not ship:
#                       the static build runs only with it
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)

bash scripts/setup.sh

build() { # dir, cmake args...
	local dir=$1
	shift
	cmake -S . -B "$dir" -DWGUD_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j "$jobs" >/dev/null
}

status=0
echo "== Release build"
build build -DCMAKE_BUILD_TYPE=Release
(cd build && ctest --output-on-failure -j "$jobs") || status=1

echo "== Small build (-DWGUD_IO_URING=OFF -DWGUD_NFTABLES=OFF)"
# Neither liburing nor libnftnl: its ctest holds the unit tests but test_nft, the fuzz replays, the
# install test, tests/small (a full tunnel refused, --io uring on epoll, neither library linked) and,
# on epoll, only the namespace scenarios a build without the wall can run: CMakeLists.txt names them
# (NETNS_WITHOUT_FIREWALL: test_interop_basic, test_wgud_pair; test_conf_mode's full tunnel needs it).
build build-small -DCMAKE_BUILD_TYPE=Release -DWGUD_IO_URING=OFF -DWGUD_NFTABLES=OFF
(cd build-small && ctest --output-on-failure -j "$jobs") || status=1

static_mnl=${WGUD_STATIC_PREFIX:+$WGUD_STATIC_PREFIX/lib/libmnl.a}
[[ -n $static_mnl ]] || static_mnl=$(gcc -print-file-name=libmnl.a)
if [[ -f $static_mnl ]]; then
	echo "== Static build (-DWGUD_STATIC=ON)"
	build build-static -DCMAKE_BUILD_TYPE=Release -DWGUD_STATIC=ON -DWGUD_TESTS=OFF \
		${WGUD_STATIC_PREFIX:+-DCMAKE_PREFIX_PATH="$WGUD_STATIC_PREFIX"}
	# no program interpreter: what file(1) calls "statically linked"
	if ! readelf -l build-static/wgud | grep -q "program interpreter"; then
		if WGUD=$top/build-static/wgud bash tests/netns/test_interop_basic.sh >build-static/interop.log 2>&1; then
			tail -n 1 build-static/interop.log
		else
			cat build-static/interop.log
			status=1
		fi
	else
		echo "build-static/wgud is not statically linked: $(readelf -l build-static/wgud | grep interpreter)"
		status=1
	fi
else
	echo "== Static build: skipped (no libmnl.a: Debian's libmnl-dev has none; WGUD_STATIC_PREFIX=DIR gives one)"
fi

echo "== ASan+UBSan build"
build build-asan -DCMAKE_BUILD_TYPE=Debug -DWGUD_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --output-on-failure -j "$jobs" -LE "long|nooffload") || status=1

if [ "${WGUD_SKIP_FUZZ:-0}" != 1 ]; then
	echo "== libFuzzer harnesses (${WGUD_FUZZ_SECONDS:-30} s each)"
	build build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DWGUD_FUZZ=ON \
		-DWGUD_FUZZ_SECONDS="${WGUD_FUZZ_SECONDS:-30}"
	(cd build-fuzz && ctest --output-on-failure) || status=1
fi

exit $status
