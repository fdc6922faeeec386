// SPDX-License-Identifier: MIT
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/*
 * The file is this network namespace's: /var/run is shared by every
 * namespace `ip netns exec` runs in, and an interface name is not unique
 * across them, so a record must never be read, or undone, in the wrong one.
 */
void state_init(struct state *st, const char *dir, const char *ifname)
{
	state_init_for(st, dir, ifname, -1);
}

void state_init_for(struct state *st, const char *dir, const char *ifname, int netns_fd)
{
	struct stat ns;
	int ret;

	memset(st, 0, sizeof(*st));
	if (netns_fd == STATE_NOWHERE)
		return;
	ret = netns_fd >= 0 ? fstat(netns_fd, &ns) : stat("/proc/thread-self/ns/net", &ns);
	if (ret == 0)
		snprintf(st->path, sizeof(st->path), "%s/%s.netns-%llu.state", dir, ifname, (unsigned long long)ns.st_ino);
	else
		snprintf(st->path, sizeof(st->path), "%s/%s.state", dir, ifname);
}

/* A line as we write them: a key, one space, a value, printable ASCII. */
static bool line_ok(const char *line)
{
	const char *space = strchr(line, ' ');
	size_t i;

	if (!space || space == line || !space[1] || strchr(space + 1, ' '))
		return false;
	for (i = 0; line[i]; i++)
		if (line[i] < 0x20 || line[i] >= 0x7f)
			return false;
	return true;
}

int state_load(struct state *st)
{
	char text[STATE_MAX_LINES * STATE_LINE_MAX], *line, *save = NULL;
	ssize_t n;
	int fd;

	st->n = 0;
	if (!st->path[0])
		return 0;
	fd = open(st->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	for (line = strtok_r(text, "\n", &save); line && st->n < STATE_MAX_LINES; line = strtok_r(NULL, "\n", &save))
		if (strlen(line) < STATE_LINE_MAX && line_ok(line))
			snprintf(st->lines[st->n++], STATE_LINE_MAX, "%s", line);
	return 0;
}

static const char *value_of(const char *line, const char *key)
{
	size_t len = strlen(key);

	return !strncmp(line, key, len) && line[len] == ' ' ? line + len + 1 : NULL;
}

const char *state_next(const struct state *st, const char *key, size_t *cursor)
{
	for (; *cursor < st->n; (*cursor)++) {
		const char *v = value_of(st->lines[*cursor], key);

		if (v) {
			(*cursor)++;
			return v;
		}
	}
	return NULL;
}

bool state_has(const struct state *st, const char *key, const char *value)
{
	const char *v;
	size_t cursor = 0;

	while ((v = state_next(st, key, &cursor)))
		if (!strcmp(v, value))
			return true;
	return false;
}

/* Under a temporary name, then renamed: a crash leaves the old file or the new one. */
static int replace(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX + 8];
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) || rename(tmp, path)) {
		ret = errno ? -errno : -EIO;
		unlink(tmp);
	}
	close(fd);
	return ret;
}

/*
 * Where it is, for a process that may not rename in the folder: one write
 * that also covers what the old file held past the new end, with newlines
 * (which state_load skips), then the truncation. text has cap bytes.
 */
static int rewrite(const char *path, char *text, size_t len, size_t cap)
{
	struct stat sb;
	size_t n = len;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), ret = 0;

	if (fd < 0)
		return -errno;
	if (!fstat(fd, &sb) && (size_t)sb.st_size > len) {
		n = (size_t)sb.st_size < cap ? (size_t)sb.st_size : cap;
		memset(text + len, '\n', n - len);
	}
	errno = 0;
	if (pwrite(fd, text, n, 0) != (ssize_t)n || ftruncate(fd, (off_t)len) || fsync(fd))
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

static int save(struct state *st)
{
	char text[STATE_MAX_LINES * STATE_LINE_MAX];
	size_t len = 0, i;
	int ret;

	if (!st->path[0])
		return 0; /* STATE_NOWHERE: kept in memory only */
	for (i = 0; i < st->n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s\n", st->lines[i]);
	if (st->in_place)
		ret = rewrite(st->path, text, len, sizeof(text));
	else if (!st->n)
		ret = unlink(st->path) && errno != ENOENT ? -errno : 0;
	else
		ret = replace(st->path, text, len);
	if (ret && !st->warned)
		log_warn("cannot keep %s: %s; after a crash, what wgud changed cannot be undone from it", st->path,
			 strerror(-ret));
	st->warned |= ret != 0;
	return ret;
}

void state_add(struct state *st, const char *key, const char *value)
{
	char line[STATE_LINE_MAX];
	size_t i;

	if ((size_t)snprintf(line, sizeof(line), "%s %s", key, value) >= sizeof(line) || !line_ok(line))
		return;
	for (i = 0; i < st->n; i++)
		if (!strcmp(st->lines[i], line))
			return;
	if (st->n == STATE_MAX_LINES)
		return;
	memcpy(st->lines[st->n++], line, sizeof(line));
	(void)save(st);
}

void state_remove(struct state *st, const char *key, const char *value)
{
	size_t i = 0, before = st->n;

	while (i < st->n) {
		const char *v = value_of(st->lines[i], key);

		if (!v || (value && strcmp(v, value))) {
			i++;
			continue;
		}
		memmove(st->lines[i], st->lines[i + 1], (st->n - i - 1) * STATE_LINE_MAX);
		st->n--;
	}
	if (st->n != before)
		(void)save(st);
}

int state_hand_over(struct state *st, uid_t uid, gid_t gid)
{
	int fd, ret = 0;

	if (!st->path[0])
		return 0;
	fd = open(st->path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	/* Written and moded while root owns it, given away last: so CAP_CHOWN is all this needs. */
	if (fchmod(fd, 0600))
		ret = -errno;
	close(fd);
	if (ret)
		return ret;
	st->in_place = true;
	ret = save(st);
	if (!ret && lchown(st->path, uid, gid))
		ret = -errno;
	if (ret)
		st->in_place = false;
	return ret;
}

void state_tidy(const struct state *st)
{
	struct stat sb;

	if (!st->path[0] || lstat(st->path, &sb) || !S_ISREG(sb.st_mode) || sb.st_size)
		return;
	if (unlink(st->path) && errno != ENOENT)
		log_warn("cannot remove %s: %s", st->path, strerror(errno));
}
