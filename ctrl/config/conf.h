/* SPDX-License-Identifier: MIT */
/*
 * wg-quick configuration files (wg-quick(8), wg(8) CONFIGURATION FILE
 * FORMAT): the [Interface] section with wg-quick's extras and any number of
 * [Peer] sections, parsed into a struct model_device. Parsing is pure; hooks
 * are stored as text and never run here, and endpoint host names are kept
 * for the caller to resolve.
 *
 * A parsed file describes the whole device, as `wg setconf` does: the result
 * carries MODEL_DEVICE_REPLACE_PEERS, HAS_PRIVATE_KEY, HAS_LISTEN_PORT and
 * HAS_FWMARK whether or not the keys were written (absent means 0), and
 * every peer carries MODEL_PEER_REPLACE_ALLOWEDIPS.
 */
#ifndef WGUD_CONF_H
#define WGUD_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

#define CONF_MAX_FILE_SIZE (1U << 20)

struct conf_error {
	char file[256];
	unsigned int line;   /* 0 when the error is not about one line */
	char message[256];   /* whole sentence for a person: "wg0.conf:7: ...". Never holds key material. */
};

/*
 * 0, or -EINVAL with err filled (where, what is wrong, what to do), or
 * -ENOMEM. On error *out is NULL and nothing is left allocated.
 */
int conf_parse(const char *file_name, const char *text, size_t len, struct model_device **out, struct conf_error *err);

/* "/etc/wireguard/wg0.conf" -> "wg0", as wg-quick names the interface; -EINVAL unless that is 1..15 of [a-zA-Z0-9_=+.-]. */
int conf_interface_name(char out[16], const char *path);

/*
 * Reads (at most CONF_MAX_FILE_SIZE bytes of a regular file) and parses
 * path. *world_readable says whether group or others have any permission on
 * it, so the caller can warn that the private key is exposed. Returns what
 * conf_parse returns, -EFBIG for a larger file, or -errno from the file
 * system; err is filled in every case.
 */
int conf_read_file(const char *path, struct model_device **out, struct conf_error *err, bool *world_readable);

#endif
