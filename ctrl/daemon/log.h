/* SPDX-License-Identifier: MIT */
/*
 * Messages for a person, on stderr: "wgud: wg0: ...", with the time in front
 * when stderr is neither a terminal nor journald's stream; to syslog (daemon
 * facility) once a detached wgud has left its terminal. Levels: -q shows
 * warnings and errors, the default info too, -v debug too. Never pass key
 * material.
 */
#ifndef WGUD_LOG_H
#define WGUD_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_interface(const char *ifname);
/* -1 quiet, 0 normal, 1 or more verbose. */
void log_set_verbose(int verbose);
/* From now on to syslog rather than stderr (a detached daemon). */
void log_use_syslog(void);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
