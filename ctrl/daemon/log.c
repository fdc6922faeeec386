// SPDX-License-Identifier: MIT
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char interface[32];
static int verbosity;
static bool to_syslog;
static bool stamps;
static bool stamps_decided;

void log_set_interface(const char *ifname)
{
	snprintf(interface, sizeof(interface), "%s", ifname ? ifname : "");
}

void log_set_verbose(int verbose)
{
	verbosity = verbose;
}

/*
 * Lines get a time when they go to a file or a pipe someone reads later; not
 * on a terminal (a person sees them as they come), and not to journald
 * (JOURNAL_STREAM names the stream it gave us; it stamps lines itself). The
 * variable is inherited by children whose stderr is elsewhere, hence the
 * device and inode check.
 */
static bool want_stamps(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (isatty(STDERR_FILENO))
		return false;
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		return false;
	return true;
}

void log_use_syslog(void)
{
	openlog("wgud", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = true;
}

static void stamp(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, len - n, ".%03dZ ", (int)(ts.tv_nsec / 1000000));
}

bool log_enabled(enum log_level level)
{
	if (level == LOG_DEBUG)
		return verbosity > 0;
	if (level == LOG_INFO)
		return verbosity >= 0;
	return true;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { "error: ", "warning: ", "", "" };
	static const int priorities[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[1024], when[48] = "";
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (to_syslog) {
		if (interface[0])
			syslog(priorities[level], "%s: %s%s", interface, tags[level], line);
		else
			syslog(priorities[level], "%s%s", tags[level], line);
		return;
	}
	if (!stamps_decided) {
		stamps = want_stamps();
		stamps_decided = true;
	}
	if (stamps)
		stamp(when, sizeof(when));
	if (interface[0])
		fprintf(stderr, "%swgud: %s: %s%s\n", when, interface, tags[level], line);
	else
		fprintf(stderr, "%swgud: %s%s\n", when, tags[level], line);
}
