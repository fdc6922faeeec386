/* SPDX-License-Identifier: MIT */
/* Start-up, running and shut-down of one interface. */
#ifndef WGUD_DAEMON_H
#define WGUD_DAEMON_H

#include <net/if.h>
#include <stdbool.h>

#include "loop.h"

struct daemon_options {
	const char *conf_path; /* --conf: configure from a wg-quick file; NULL: wireguard-go style */
	char ifname[IFNAMSIZ];
	bool foreground;
	bool run_hooks;
	int verbose;
	enum loop_backend io;
	unsigned int buffers;
};

/* Returns the process exit code. */
int daemon_run(const struct daemon_options *o);

#endif
