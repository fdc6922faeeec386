#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_interop_basic.sh again with wgud's epoll event loop (WGUD_IO=epoll).
# wireguard-go ignores the variable, so in harness validation this is the
# same run twice.

set -euo pipefail
export WGUD_IO=epoll
exec "$(dirname "$0")/test_interop_basic.sh" "$@"
