/* SPDX-License-Identifier: MIT */
/* The listening UNIX sockets wgud serves (UAPI, control): made the same careful way. */
#ifndef WGUD_UNIXSOCK_H
#define WGUD_UNIXSOCK_H

#include "loop.h"

/*
 * A non-blocking listening stream socket at path, mode 0600 from the moment
 * it exists (0660 and the group's with group_gid >= 0). A socket left by a
 * dead process is replaced; -EADDRINUSE when a live server answers there,
 * -EEXIST when something that is not a socket is in the way (never removed).
 */
int unixsock_listen(const char *path, int group_gid, int backlog, int *fd_out);
/* Unregister from loop (if any), close, and remove the file; path is emptied. */
void unixsock_close(struct loop *loop, int *fd, char *path);

#endif
