/* SPDX-License-Identifier: MIT */
/* The listening UNIX sockets wgud serves (UAPI, control): made the same careful way. */
#ifndef WGUD_UNIXSOCK_H
#define WGUD_UNIXSOCK_H

#include <stdbool.h>

#include "loop.h"

/*
 * A non-blocking listening stream socket at path, mode 0600 from the moment
 * it exists (0660 and the group's with group_gid >= 0). A socket left by a
 * dead process is replaced; -EADDRINUSE when a live server answers there,
 * -EEXIST when something that is not a socket is in the way (never removed).
 */
int unixsock_listen(const char *path, int group_gid, int backlog, int *fd_out);
/*
 * The folder the sockets live in: made 0755 if missing, and set to 0755
 * explicitly when made, whatever the umask (wg-quick runs with 077, which
 * would lock a --ctl-group out). An existing folder is left as it is.
 */
int unixsock_dir(const char *dir);

/*
 * Something is listening at path, for a process that still runs: a socket
 * a dead process left is not, nor one that outlives a killed process for
 * the moment io_uring takes to let go of its files.
 */
bool unixsock_alive(const char *path);

/* Unregister from loop (if any), close, and remove the file; path is emptied. */
void unixsock_close(struct loop *loop, int *fd, char *path);

#endif
