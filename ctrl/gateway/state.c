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
	struct stat ns;

	memset(st, 0, sizeof(*st));
	if (stat("/proc/self/ns/net", &ns) == 0)
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
	int fd = open(st->path, O_RDONLY | O_CLOEXEC);

	st->n = 0;
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

static void save(struct state *st)
{
	char tmp[PATH_MAX + 8], text[STATE_MAX_LINES * STATE_LINE_MAX];
	size_t len = 0, i;
	int fd = -1;

	if (!st->n) {
		if (unlink(st->path) && errno != ENOENT)
			goto fail;
		return;
	}
	for (i = 0; i < st->n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s\n", st->lines[i]);
	snprintf(tmp, sizeof(tmp), "%s.tmp", st->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) || rename(tmp, st->path)) {
		unlink(tmp);
		goto fail;
	}
	close(fd);
	return;
fail:
	if (fd >= 0)
		close(fd);
	if (!st->warned)
		log_warn("cannot keep %s: %s; after a crash, what wgud changed cannot be undone from it", st->path,
			 strerror(errno));
	st->warned = true;
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
	save(st);
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
		save(st);
}
