#!/usr/bin/env bash
# The whole test suite (root): installs what is missing, then builds and runs
# ctest three ways: Release with -Werror (unit tests, fuzz replays, and every
# namespace scenario with both event loops, against wireguard-go), ASan+UBSan
# (the same but the 140 s rekey run), and the libFuzzer harnesses (clang)
# for a bounded time each.
#   WGUD_FUZZ_SECONDS   seconds per fuzzer (default 30)
#   WGUD_SKIP_FUZZ=1    leave the fuzzing pass out (quick local runs)
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
