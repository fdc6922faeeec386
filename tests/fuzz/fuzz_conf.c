// SPDX-License-Identifier: MIT
/*
 * wg-quick files, which an unprivileged user may hand to a privileged
 * daemon: conf_parse on arbitrary bytes, and on success the promises the
 * rest of ctrl/ relies on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_device(const struct model_device *dev)
{
	size_t i, j, total = 0;

	if (!(dev->flags & MODEL_DEVICE_HAS_PRIVATE_KEY) || dev->n_peers > MODEL_MAX_PEERS)
		abort();
	for (i = 0; i < dev->n_peers; i++) {
		const struct model_peer *p = &dev->peers[i];

		if (!(p->flags & MODEL_PEER_HAS_PUBLIC_KEY) || !p->conf_line ||
		    (p->flags & MODEL_PEER_HAS_ENDPOINT && p->flags & MODEL_PEER_HAS_ENDPOINT_HOST))
			abort();
		if (p->flags & MODEL_PEER_HAS_ENDPOINT_HOST && !memchr(p->endpoint_host, '\0', MODEL_HOST_LEN))
			abort();
		for (j = 0; j < i; j++)
			if (!memcmp(dev->peers[j].public_key, p->public_key, MODEL_KEY_LEN))
				abort();
		/* Allowed IPs come out masked: masking again changes nothing. */
		for (j = 0; j < p->n_allowedips; j++) {
			struct cidr c = p->allowedips[j];

			cidr_mask(&c);
			if (memcmp(&c, &p->allowedips[j], sizeof(c)))
				abort();
		}
		total += p->n_allowedips;
	}
	if (total != dev->n_allowedips_total)
		abort();
	if (dev->mtu && (dev->mtu < 576 || dev->mtu > 65535))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_device *dev = (struct model_device *)&dev;
	struct conf_error err;
	char name[256], ifname[16];
	int ret = conf_parse("fuzz.conf", (const char *)data, size, &dev, &err);

	if (ret == 0) {
		if (!dev)
			abort();
		check_device(dev);
		model_device_free(dev);
	} else if (ret != -EINVAL || dev || !memchr(err.message, '\0', sizeof(err.message)) ||
		   strncmp(err.message, "fuzz.conf:", 10)) {
		abort();
	}

	if (size < sizeof(name)) {
		memcpy(name, data, size);
		name[size] = '\0';
		if (!conf_interface_name(ifname, name) && (!ifname[0] || strlen(ifname) > 15))
			abort();
	}
	return 0;
}
