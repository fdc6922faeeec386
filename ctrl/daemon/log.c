// SPDX-License-Identifier: MIT
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char interface[32];
static int verbosity;

void log_set_interface(const char *ifname)
{
	snprintf(interface, sizeof(interface), "%s", ifname ? ifname : "");
}

void log_set_verbose(int verbose)
{
	verbosity = verbose;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { "error: ", "warning: ", "", "" };
	char line[1024];
	va_list ap;

	if (level == LOG_DEBUG && !verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (interface[0])
		fprintf(stderr, "wgud: %s: %s%s\n", interface, tags[level], line);
	else
		fprintf(stderr, "wgud: %s%s\n", tags[level], line);
}
