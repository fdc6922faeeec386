/* SPDX-License-Identifier: MIT */
/*
 * Where the UAPI and control sockets (and the state file) go. As root, or
 * where they are writable: /var/run/wireguard and /var/run/wgud, where wg(8)
 * and `wgud ctl` look. Otherwise $XDG_RUNTIME_DIR/wireguard and
 * $XDG_RUNTIME_DIR/wgud, or /tmp/wgud-UID/... without it: folders of the
 * user's own, made on the way, refused when someone else owns them or may
 * write in them, and removed again once empty.
 */
#ifndef WGUD_RUNDIR_H
#define WGUD_RUNDIR_H

#define RUNDIR_MAX 80

void rundir_paths(char uapi[RUNDIR_MAX], char ctl[RUNDIR_MAX]);
/* Make dir (and its parent outside the standard folders) the user's own: 0 or -errno (-EPERM: not ours alone). */
int rundir_own(const char *dir);
/* The folders rundir_own() made, if empty now: a rootless `wgud run` leaves nothing behind. */
void rundir_remove(const char *uapi, const char *ctl);

#endif
