/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz harness shares: a responder ("b") and an initiator ("a")
 * with fixed keys, so that saved corpus files keep meaning the same thing
 * from run to run.
 */
#ifndef WGUD_FUZZ_HARNESS_H
#define WGUD_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "cookie.h"
#include "keypair.h"
#include "noise.h"

struct fuzz_world {
	struct noise_static_identity ia, ib;
	struct noise_handshake a_sees_b, b_sees_a;
	struct cookie_maker ma, mb;
	struct cookie_checker ca, cb;
	struct keypair kp; /* b's receive keypair for data messages */
};

#define FUZZ_NOW (5 * NSEC_PER_SEC)
#define FUZZ_INITIATOR_INDEX 7
#define FUZZ_DATA_KEY_BYTE 0x33
#define FUZZ_DATA_INDEX 0x01020304

extern struct fuzz_world fuzz_world;
extern const uint8_t fuzz_src[6];

/* Set up the world once; reset the per-input state (handshakes, keypair) before each input. */
void fuzz_world_reset(void);
/* a's initiation to b, with MACs, as the harness makes it after a reset. */
int fuzz_send_initiation(struct message_handshake_initiation *msg);
struct noise_handshake *fuzz_lookup_b(void *ctx, const uint8_t pub[NOISE_PUBLIC_KEY_LEN]);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
