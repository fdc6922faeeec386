#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A = $WGUD against B = wireguard-go across a veth: each side initiating,
# IPv4 and IPv6 inside the tunnel over IPv4 and over IPv6 outside, with and
# without a preshared key (and a mismatched one, which must not connect),
# `wg show` state on A, and iperf3 TCP both ways.
#
# Run by hand, as root: WGUD=/path/to/wgud tests/netns/test_interop_basic.sh

source "$(dirname "$0")/lib.sh"
t_init 90
command -v iperf3 >/dev/null || die "iperf3 is not installed"

NS_A=$(nsname a)
NS_B=$(nsname b)
ns_create "$NS_A"
ns_create "$NS_B"
veth_link "$NS_A" "$NS_B" 0
LINK_A4=$V4_1 LINK_B4=$V4_2 LINK_A6=$V6_1 LINK_B6=$V6_2

#          label impl_a  impl_b  initiator outer psk      iperf
pair_round r1    "$WGUD" "$WGGO" a         4     0        1
pair_round r2    "$WGUD" "$WGGO" b         4     1        0
pair_round r3    "$WGUD" "$WGGO" a         6     1        1
pair_round r4    "$WGUD" "$WGGO" b         6     0        0
pair_round r5    "$WGUD" "$WGGO" a         4     mismatch 0

t_finish
