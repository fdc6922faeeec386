// SPDX-License-Identifier: MIT
#include "ctl.h"
#include "unixsock.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "tun.h"

#define CTL_CLIENT_TIMEOUT_S 30
#define CTL_REPLY_MAX (CTL_BUF_MAX + 4096) /* a body, its last newline and the verdict */

void ctl_buf_init(struct ctl_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void ctl_buf_uninit(struct ctl_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Room for extra more bytes and a NUL; a failure sticks so a handler may check once at the end. */
static int reserve(struct ctl_buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->error)
		return b->error;
	if (extra > CTL_BUF_MAX - b->len) {
		b->error = -EMSGSIZE;
		return b->error;
	}
	if (b->len + extra + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	if (cap > CTL_BUF_MAX + 1)
		cap = CTL_BUF_MAX + 1;
	p = realloc(b->data, cap);
	if (!p) {
		b->error = -ENOMEM;
		return b->error;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int ctl_buf_append(struct ctl_buf *b, const char *data, size_t len)
{
	int ret = reserve(b, len);

	if (ret)
		return ret;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, ret;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (!b->error)
			b->error = -EINVAL;
		return b->error;
	}
	ret = reserve(b, (size_t)n);
	if (ret)
		return ret;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* What may appear in a command: words are ASCII, and a reason echoed back must not carry terminal controls. */
static bool byte_ok(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c < 0x7f);
}

static int frame(struct ctl_client_buf *b, const char *data, size_t n, char **line)
{
	size_t i;

	if (!data)
		return -ENODATA;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n') {
			b->data[b->len] = '\0';
			*line = b->data;
			return 1;
		}
		if (!byte_ok(c))
			return -EINVAL;
		if (b->len == sizeof(b->data) - 1)
			return -E2BIG;
		b->data[b->len++] = (char)c;
	}
	return 0;
}

int ctl_frame(struct ctl_client_buf *b, const char *data, size_t n, char **line)
{
	if (!b->result)
		b->result = frame(b, data, n, line);
	else if (b->result == 1)
		*line = b->data;
	return b->result;
}

static int socket_path(char *path, size_t cap, const char *dir, const char *ifname)
{
	if (!tun_ifname_valid(ifname))
		return -EINVAL;
	if ((size_t)snprintf(path, cap, "%s/%s.ctl", dir, ifname) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

/* A folder an older run made 0700 (umask 077) keeps the group out however the socket is set. */
static void warn_unreachable(const char *dir, int group_gid)
{
	struct stat st;

	if (group_gid < 0 || stat(dir, &st))
		return;
	if (!(st.st_mode & S_IXOTH) && !((st.st_mode & S_IXGRP) && st.st_gid == (gid_t)group_gid))
		log_warn("ctl: members of the --ctl-group cannot enter %s (mode %04o): chmod 755 %s", dir,
			 (unsigned int)(st.st_mode & 07777), dir);
}

/* The final line; a reason is one line of printable text whatever a handler wrote. */
static size_t error_line(char *line, size_t cap, const char *reason)
{
	int n = snprintf(line, cap, "error: %s", reason);
	size_t i, len = n < 0 ? 0 : (size_t)n < cap - 1 ? (size_t)n : cap - 2;

	for (i = 7; i < len; i++)
		if (!byte_ok((unsigned char)line[i]))
			line[i] = ' ';
	line[len++] = '\n';
	return len;
}

static int queue_error(struct sockserver_client *c, const char *reason)
{
	char line[320];

	return sockserver_queue(c, line, error_line(line, sizeof(line), reason));
}

static void set_reason(char *err, size_t err_len, int ret)
{
	switch (ret) {
	case -E2BIG:
		snprintf(err, err_len, "the command is longer than %d bytes with its newline", POLICY_MAX_LINE);
		break;
	case -EINVAL:
		snprintf(err, err_len, "the command holds a byte that is not printable ASCII");
		break;
	case -ENODATA:
		snprintf(err, err_len, "the command must end with a newline");
		break;
	default:
		snprintf(err, err_len, "%s", strerror(-ret));
	}
}

/* Runs one complete line and queues its reply; the handler sees only lines that framed and split cleanly. */
static void serve_line(struct ctl_server *s, struct sockserver_client *c, char *line)
{
	char *words[POLICY_MAX_WORDS];
	char err[256] = "";
	struct ctl_buf out;
	size_t n_words = 0;
	int ret;

	ctl_buf_init(&out);
	ret = policy_split(line, words, &n_words);
	if (ret == -EINVAL)
		snprintf(err, sizeof(err), "more than %d words", POLICY_MAX_WORDS);
	if (!ret && !n_words) {
		ret = -EINVAL;
		snprintf(err, sizeof(err), "empty command");
	}
	if (!ret)
		ret = s->handle(s->ctx, words, n_words, &out, err, sizeof(err));
	if (!ret && out.error) {
		ret = out.error;
		if (ret == -EMSGSIZE)
			snprintf(err, sizeof(err), "the reply is longer than %u bytes", CTL_BUF_MAX);
	}
	if (ret) {
		if (!err[0])
			set_reason(err, sizeof(err), ret);
		log_debug("ctl: refused a command on %s: %s", s->core.path, err);
		ret = queue_error(c, err);
	} else {
		if (out.len && out.data[out.len - 1] != '\n')
			ctl_buf_append(&out, "\n", 1);
		ret = out.error;
		if (!ret && out.len) {
			ret = sockserver_queue_owned(c, out.data, out.len, out.cap);
			ctl_buf_init(&out); /* the body is the server's now */
		}
		if (!ret)
			ret = sockserver_queue(c, "ok\n", 3);
	}
	if (ret)
		log_warn("ctl: could not answer a client on %s: %s", s->core.path, strerror(-ret));
	ctl_buf_uninit(&out);
}

/* One request per connection: the first line (or why there is none) is answered, then the server closes. */
static enum sockserver_next on_input(void *ctx, struct sockserver_client *c, const char *data, size_t n)
{
	struct ctl_server *s = ctx;
	char *line = NULL;
	int ret = ctl_frame(c->state, data, n, &line);

	if (!ret)
		return SOCKSERVER_MORE;
	if (ret == 1) {
		serve_line(s, c, line);
	} else {
		char err[128];

		set_reason(err, sizeof(err), ret);
		queue_error(c, err);
	}
	return SOCKSERVER_CLOSE;
}

/* The group counts as the client's primary group or any of its supplementary ones (SO_PEERGROUPS). */
static bool in_group(int fd, gid_t group, gid_t primary)
{
	gid_t groups[NGROUPS_MAX];
	socklen_t len = sizeof(groups);
	size_t i;

	if (primary == group)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (i = 0; i < len / sizeof(groups[0]); i++)
		if (groups[i] == group)
			return true;
	return false;
}

static bool peer_allowed(const struct ctl_server *s, int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0 || len != sizeof(*cred))
		return false;
	return cred->uid == 0 || cred->uid == geteuid() ||
	       (s->group_gid >= 0 && in_group(fd, (gid_t)s->group_gid, cred->gid));
}

/* Before a client takes a slot: a stranger must not make room for itself by evicting anyone. */
static int refuse(void *ctx, int fd, char *msg, size_t cap)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	struct ctl_server *s = ctx;

	if (peer_allowed(s, fd, &cred))
		return -1;
	log_warn("ctl: refused a client with uid %d gid %d pid %d on %s", (int)cred.uid, (int)cred.gid, (int)cred.pid,
		 s->core.path);
	return (int)error_line(msg, cap, "permission denied");
}

static const struct sockserver_proto ctl_proto = {
	.name = "ctl",
	.state_size = sizeof(struct ctl_client_buf),
	.refuse = refuse,
	.input = on_input,
	.idle_farewell = "error: no command within the idle time\n",
};

void ctl_server_init(struct ctl_server *s)
{
	memset(s, 0, sizeof(*s));
	sockserver_init(&s->core, &ctl_proto, s);
	s->group_gid = -1;
}

int ctl_server_open(struct ctl_server *s, const char *dir, const char *ifname, int group_gid)
{
	char path[sizeof(s->core.path)];
	int ret;

	ctl_server_init(s);
	s->group_gid = group_gid < 0 ? -1 : group_gid;
	ret = socket_path(path, sizeof(path), dir, ifname);
	if (ret)
		return ret;
	ret = unixsock_dir(dir);
	if (ret)
		return ret;
	ret = sockserver_listen(&s->core, path, s->group_gid);
	if (ret)
		return ret;
	warn_unreachable(dir, group_gid);
	return 0;
}

int ctl_server_start(struct ctl_server *s, struct loop *loop, ctl_handler handle, void *ctx)
{
	s->handle = handle;
	s->ctx = ctx;
	return sockserver_start(&s->core, loop);
}

void ctl_server_close(struct ctl_server *s)
{
	sockserver_close(&s->core);
}

/* The words as one line with its newline; words may not hold what the server would refuse. */
static int join(char *line, size_t cap, int argc, char **argv, int *bad_word)
{
	size_t len = 0;
	int i;

	for (i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]), j;

		for (j = 0; j < n; j++) {
			if (!byte_ok((unsigned char)argv[i][j])) {
				*bad_word = i + 1;
				return -EINVAL;
			}
		}
		if (len + (i > 0) + n + 1 > cap - 1)
			return -E2BIG;
		if (i > 0)
			line[len++] = ' ';
		memcpy(line + len, argv[i], n);
		len += n;
	}
	line[len++] = '\n';
	line[len] = '\0';
	return (int)len;
}

static int client_connect(const char *path, const char *ifname)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_CLIENT_TIMEOUT_S };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fprintf(stderr, "wgud ctl: socket: %s\n", strerror(errno));
		return -1;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		if (e == ENOENT)
			fprintf(stderr, "wgud ctl: no control socket at %s: is wgud running for %s?\n", path, ifname);
		else if (e == ECONNREFUSED)
			fprintf(stderr, "wgud ctl: nothing answers on %s: wgud for %s is not running (stale socket)\n",
				path, ifname);
		else if (e == EACCES || e == EPERM)
			fprintf(stderr,
				"wgud ctl: %s: permission denied: run as root or as a member of wgud's --ctl-group\n",
				path);
		else
			fprintf(stderr, "wgud ctl: cannot connect to %s: %s\n", path, strerror(e));
		close(fd);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		fprintf(stderr, "wgud ctl: %s: setsockopt: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The whole reply: the verdict is its last line, so nothing is printed before EOF. */
static int read_reply(int fd, char **out, size_t *out_len)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *p;

			if (cap >= CTL_REPLY_MAX) {
				free(buf);
				return -EMSGSIZE;
			}
			cap = cap ? cap * 2 : 4096;
			p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		/* A server that closes with our unread bytes queued resets the connection after its reply. */
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		if (n < 0) {
			int ret = errno == EAGAIN ? -ETIMEDOUT : -errno;

			free(buf);
			return ret;
		}
		len += (size_t)n;
	}
	if (!buf)
		buf = malloc(1);
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* Splits off the verdict and reports; returns the exit code. */
static int report(const char *path, const char *ifname, char *reply, size_t len)
{
	size_t start;
	char *verdict;

	if (!len || reply[len - 1] != '\n' || memchr(reply, '\0', len)) {
		fprintf(stderr, "wgud ctl: %s: the reply %s\n", path, len ? "is cut short or garbled" : "is empty");
		return 2;
	}
	reply[--len] = '\0';
	start = len;
	while (start && reply[start - 1] != '\n')
		start--;
	verdict = reply + start;
	if (start)
		fwrite(reply, 1, start, stdout);
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "wgud ctl: writing to stdout: %s\n", strerror(errno));
		return 2;
	}
	if (!strcmp(verdict, "ok"))
		return 0;
	if (!strncmp(verdict, "error: ", 7)) {
		fprintf(stderr, "wgud ctl: %s: %s\n", ifname, verdict + 7);
		return 1;
	}
	fprintf(stderr, "wgud ctl: %s: the reply ends without ok or error\n", path);
	return 2;
}

int ctl_client_main(const char *dir, const char *ifname, int argc, char **argv)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char line[POLICY_MAX_LINE + 1];
	size_t reply_len = 0, off;
	char *reply = NULL;
	int fd, ret, bad_word = 0, len;

	if (argc < 1) {
		fprintf(stderr, "usage: wgud ctl IFACE COMMAND [ARGS...]   (e.g. wgud ctl wg0 show)\n");
		return 2;
	}
	ret = socket_path(path, sizeof(path), dir, ifname);
	if (ret) {
		if (ret == -EINVAL)
			fprintf(stderr, "wgud ctl: '%s' is not an interface name\n", ifname);
		else
			fprintf(stderr, "wgud ctl: the socket path %s/%s.ctl is too long\n", dir, ifname);
		return 2;
	}
	len = join(line, sizeof(line), argc, argv, &bad_word);
	if (len == -E2BIG) {
		fprintf(stderr, "wgud ctl: the command is longer than %d bytes\n", POLICY_MAX_LINE - 1);
		return 2;
	}
	if (len < 0) {
		fprintf(stderr, "wgud ctl: word %d holds a character that is not printable ASCII\n", bad_word);
		return 2;
	}
	fd = client_connect(path, ifname);
	if (fd < 0)
		return 2;
	for (off = 0; off < (size_t)len;) {
		ssize_t n = send(fd, line + off, (size_t)len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		/* The server may have answered already (a refusal) and closed: its reply still says why. */
		if (n < 0)
			break;
		off += (size_t)n;
	}
	ret = read_reply(fd, &reply, &reply_len);
	close(fd);
	if (ret) {
		fprintf(stderr, "wgud ctl: no answer from %s: %s\n", path,
			ret == -ETIMEDOUT ? "timed out" : strerror(-ret));
		return 2;
	}
	ret = report(path, ifname, reply, reply_len);
	free(reply);
	return ret;
}
