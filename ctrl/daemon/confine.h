/* SPDX-License-Identifier: MIT */
/*
 * `wgud run --conf FILE -- COMMAND`: COMMAND in namespaces that have only
 * the tunnel. wgud binds its UDP first, where it was started, then moves
 * itself into a new network and mount namespace (and, when not root, a new
 * user namespace that maps only the caller's own uid and gid, so no
 * privilege is needed where unprivileged user namespaces are allowed). The
 * device, its routes, the kill switch and a private resolv.conf are made
 * there, then COMMAND is started there. When COMMAND exits wgud stops, and
 * since nothing else holds the namespaces they go with it: no namespace,
 * device, mount or process stays.
 */
#ifndef WGUD_CONFINE_H
#define WGUD_CONFINE_H

#include <stddef.h>
#include <sys/types.h>

/* Into new namespaces (netns.h then knows home is left). 0 or -errno with the reason in err. */
int confine_unshare(char *err, size_t err_len);

/*
 * COMMAND, in the namespaces this process is in and a PID namespace of its
 * own, under a small init of wgud's (the pid returned) that passes signals
 * on, reaps, and exits with COMMAND's status; when it exits, or wgud dies,
 * everything in that PID namespace is killed. 0, or -errno.
 */
int confine_spawn(char *const argv[], pid_t *pid);

/* COMMAND's exit status as a shell reports it: the code, or 128 + the signal. */
int confine_exit_code(int wait_status);

/* Stop COMMAND if it still runs: SIGTERM, then SIGKILL after grace_ms; reaped either way. */
void confine_reap(pid_t pid, int grace_ms);

#endif
