#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# `cmake --install` of a build into a temporary prefix: wgud lands in
# PREFIX/bin and runs; the systemd units land in PREFIX/lib/systemd/system
# with ExecStart naming that wgud (and, with DESTDIR, the prefix without
# it); `systemd-analyze verify` takes both units without a word about them;
# each unit keeps exactly the capabilities it needs (CAP_NET_ADMIN, and
# CAP_SYS_ADMIN for setns in the netns one) and the shared runtime
# directories; systemd rates their exposure "OK" or better.
# Not a namespace test: it runs once per build, whichever the event loop.
#
# Run by hand: WGUD_BUILD=$PWD/build tests/install/test_units.sh

set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${WGUD_BUILD:-$top/build}
units=(wgud@.service wgud-netns@.service)
passed=0 failed=0

check() { # description, command...
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "PASS: $what"
	else
		failed=$((failed + 1))
		echo "FAIL: $what"
	fi
}

command -v systemd-analyze >/dev/null || { echo "test_units: systemd-analyze is missing (scripts/setup.sh installs it)" >&2; exit 1; }
[[ -f $build/CMakeCache.txt ]] || { echo "test_units: WGUD_BUILD=$build is not a CMake build directory" >&2; exit 1; }
tmp=$(mktemp -d /tmp/wgud-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
unitdir=$prefix/lib/systemd/system

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1
check "cmake --install into $prefix" test $? -eq 0 || cat "$tmp/install.log"
check "wgud in PREFIX/bin, executable" test -x "$prefix/bin/wgud"
check "the installed wgud answers --version" grep -Eq '^wgud [0-9]+\.[0-9]+' <("$prefix/bin/wgud" --version 2>&1)

for u in "${units[@]}"; do
	f=$unitdir/$u
	check "$u installed" test -f "$f"
	check "$u: ExecStart runs the installed wgud" grep -q "^ExecStart=$prefix/bin/wgud --conf /etc/wireguard/%i.conf" "$f"
	check "$u: no placeholder left" bash -c "! grep -q '@[A-Z_]*@' '$f'"
	check "$u: the runtime directories outlive the instance" \
		bash -c "grep -qx 'RuntimeDirectory=wireguard wgud' '$f' && grep -qx 'RuntimeDirectoryPreserve=yes' '$f'"
	# an instance of the template, loaded from the install's own folder
	inst=${u/@/@t0}
	(cd "$unitdir" && systemd-analyze verify --man=no "./$inst") >"$tmp/verify.log" 2>&1
	rc=$?
	check "$u: systemd-analyze verify exits 0" test "$rc" -eq 0
	check "$u: systemd-analyze verify says nothing about it" \
		bash -c "! grep -E '${u%%@*}@|$unitdir' '$tmp/verify.log'"
	[[ $rc == 0 ]] && ! grep -qE "${u%%@*}@|$unitdir" "$tmp/verify.log" || sed 's/^/    | /' "$tmp/verify.log"
	level=$(cd "$unitdir" && systemd-analyze security --offline=yes --no-pager "./$inst" 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	echo "    $u: exposure ${level:-?} (systemd-analyze security --offline=yes)"
	check "$u: exposure below 4.0 (systemd calls under 5 \"OK\"; these units have 2.6 and 3.0)" awk -v l="${level:-99}" 'BEGIN { exit !(l < 4.0) }'
done

check "wgud@: CapabilityBoundingSet is CAP_NET_ADMIN alone" \
	test "$(grep '^CapabilityBoundingSet=' "$unitdir/wgud@.service")" = "CapabilityBoundingSet=CAP_NET_ADMIN"
check "wgud-netns@: CapabilityBoundingSet is CAP_NET_ADMIN and CAP_SYS_ADMIN (setns)" \
	test "$(grep '^CapabilityBoundingSet=' "$unitdir/wgud-netns@.service")" = "CapabilityBoundingSet=CAP_NET_ADMIN CAP_SYS_ADMIN"
check "wgud-netns@: wgud joins namespace %i" grep -q -- '^ExecStart=.* --netns %i$' "$unitdir/wgud-netns@.service"

# A packager's staged install: the files under DESTDIR, the paths inside them without it.
DESTDIR=$tmp/stage cmake --install "$build" --prefix /usr >"$tmp/stage.log" 2>&1
check "staged install (DESTDIR) puts wgud under it" test -x "$tmp/stage/usr/bin/wgud"
check "staged install: ExecStart is /usr/bin/wgud, without DESTDIR" \
	grep -q '^ExecStart=/usr/bin/wgud ' "$tmp/stage/usr/lib/systemd/system/wgud@.service"

echo "install: $passed passed, $failed failed"
((failed == 0))
