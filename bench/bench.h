/* SPDX-License-Identifier: MIT */
/* Benchmarks that live in their own file, called from wgud_bench.c's main. */
#ifndef WGUD_BENCH_H
#define WGUD_BENCH_H

#include <stddef.h>

/* Responder handshakes per second through device_receive_udp, with n_peers configured. 0 or -errno. */
int bench_device_handshakes(double seconds, size_t n_peers);

#endif
