// SPDX-License-Identifier: MIT
#include "rundir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "uapi_server.h"

void rundir_paths(char uapi[RUNDIR_MAX], char ctl[RUNDIR_MAX])
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	/* As root, or where the standard folders are writable: where wg(8) and wgud ctl look first. */
	if (!geteuid() || (!access(UAPI_SOCKET_DIR, W_OK) && !access(CTL_SOCKET_DIR, W_OK))) {
		snprintf(uapi, RUNDIR_MAX, "%s", UAPI_SOCKET_DIR);
		snprintf(ctl, RUNDIR_MAX, "%s", CTL_SOCKET_DIR);
	} else if (xdg && xdg[0] == '/' && strlen(xdg) < 60) {
		snprintf(uapi, RUNDIR_MAX, "%s/wireguard", xdg);
		snprintf(ctl, RUNDIR_MAX, "%s/wgud", xdg);
	} else {
		snprintf(uapi, RUNDIR_MAX, "/tmp/wgud-%u/wireguard", (unsigned int)geteuid());
		snprintf(ctl, RUNDIR_MAX, "/tmp/wgud-%u/wgud", (unsigned int)geteuid());
	}
}

void rundir_remove(const char *uapi, const char *ctl)
{
	const char *dirs[2] = { uapi, ctl };
	char parent[80], *slash;
	int i;

	if (!strcmp(uapi, UAPI_SOCKET_DIR))
		return;
	for (i = 0; i < 2; i++)
		(void)rmdir(dirs[i]);
	snprintf(parent, sizeof(parent), "%s", ctl);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (!strncmp(parent, "/tmp/wgud-", 10))
			(void)rmdir(parent);
	}
}

int rundir_own(const char *dir)
{
	char parent[80], *slash;
	struct stat st;

	if (!strcmp(dir, UAPI_SOCKET_DIR) || !strcmp(dir, CTL_SOCKET_DIR))
		return 0;
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0700) < 0 && errno != EEXIST)
			return -errno;
		if (lstat(parent, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
			return -EPERM;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 022) ? 0 : -EPERM;
}
