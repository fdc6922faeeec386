// SPDX-License-Identifier: MIT
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LIBC_MAXNS 3 /* resolv.h MAXNS: the C library reads only the first three nameservers */
#define SAVED_SUFFIX ".saved"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define ADDR_LEN (INET6_ADDRSTRLEN + 1 + IF_NAMESIZE + 10) /* "fe80::1%eth0" */
#define SUMMARY_LEN (ADDR_LEN + 32)
#define WAIT_TICK_MS 10

extern char **environ;

/* ---- text ---- */

static void format_addr(char out[ADDR_LEN], const union model_sockaddr *a)
{
	char ifname[IF_NAMESIZE];
	size_t n;

	out[0] = '\0';
	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->sin.sin_addr, out, ADDR_LEN);
		return;
	}
	inet_ntop(AF_INET6, &a->sin6.sin6_addr, out, ADDR_LEN);
	if (!a->sin6.sin6_scope_id)
		return;
	n = strlen(out);
	if (if_indextoname(a->sin6.sin6_scope_id, ifname))
		snprintf(out + n, ADDR_LEN - n, "%%%s", ifname);
	else
		snprintf(out + n, ADDR_LEN - n, "%%%u", a->sin6.sin6_scope_id);
}

__attribute__((format(printf, 4, 5))) static int append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len - *used)
		return -ENOSPC;
	*used += (size_t)n;
	return 0;
}

ssize_t dns_render(const struct model_device *m, char *buf, size_t len)
{
	char addr[ADDR_LEN];
	size_t used = 0, i;
	int ret;

	if (!m || !m->n_dns)
		return 0;
	ret = append(buf, len, &used, "%s", DNS_HEADER);
	for (i = 0; !ret && i < m->n_dns; i++) {
		format_addr(addr, &m->dns[i]);
		ret = append(buf, len, &used, "nameserver %s\n", addr);
	}
	for (i = 0; !ret && i < m->n_dns_search; i++)
		ret = append(buf, len, &used, "%s%s%s", i ? " " : "search ", m->dns_search[i],
			     i + 1 == m->n_dns_search ? "\n" : "");
	return ret ? ret : (ssize_t)used;
}

/* "10.64.0.1" or "10.64.0.1 and 2 more", for the one line that says what was applied. */
static const char *summary(char out[SUMMARY_LEN], const struct model_device *m)
{
	char addr[ADDR_LEN];

	format_addr(addr, &m->dns[0]);
	if (m->n_dns > 1)
		snprintf(out, SUMMARY_LEN, "%s and %zu more", addr, m->n_dns - 1);
	else
		snprintf(out, SUMMARY_LEN, "%s", addr);
	return out;
}

/* m's text into text: its length, 0 when m has no DNS, or -ENOSPC (logged). */
static ssize_t render_checked(const struct model_device *m, char text[DNS_TEXT_MAX])
{
	ssize_t n = dns_render(m, text, DNS_TEXT_MAX);

	if (n == -ENOSPC)
		log_error("DNS = holds more than fits in %d bytes of resolv.conf: list fewer resolvers or search domains",
			  DNS_TEXT_MAX);
	else if (n > 0 && m->n_dns > LIBC_MAXNS)
		log_warn("DNS = lists %zu resolvers; the C library uses only the first %d", m->n_dns, LIBC_MAXNS);
	return n;
}

/* ---- files ---- */

__attribute__((format(printf, 3, 4))) static int path_of(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A new file of mode 0644 holding text, made by mkostemp(tmpl) (tmpl becomes its name); gone again on error. */
static int write_temp(char *tmpl, const char *text, size_t n)
{
	int fd = mkostemp(tmpl, O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = fchmod(fd, 0644) ? -errno : 0;
	if (!ret)
		ret = write_all(fd, text, n);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		unlink(tmpl);
	return ret;
}

/* Whether path is a regular file that starts with DNS_HEADER: one that wgud wrote. */
static bool ours(const char *path)
{
	char head[sizeof(DNS_HEADER) - 1];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	ssize_t n = -1;

	if (fd < 0)
		return false;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		n = read(fd, head, sizeof(head));
	close(fd);
	return n == (ssize_t)sizeof(head) && !memcmp(head, DNS_HEADER, sizeof(head));
}

/* ---- --netns NAME: /etc/netns/NAME/resolv.conf ---- */

struct netns_paths {
	char dir[PATH_MAX], file[PATH_MAX], saved[PATH_MAX], tmp[PATH_MAX];
};

static int netns_paths(struct netns_paths *p, const char *base, const char *name)
{
	if (path_of(p->dir, sizeof(p->dir), "%s/%s", base, name) ||
	    path_of(p->file, sizeof(p->file), "%s/resolv.conf", p->dir) ||
	    /* beside the folder, not in it: `ip netns exec` binds every file in it over /etc */
	    path_of(p->saved, sizeof(p->saved), "%s/.wgud-%s.resolv.conf" SAVED_SUFFIX, base, name) ||
	    path_of(p->tmp, sizeof(p->tmp), "%s/.wgud-%s.resolv.conf.XXXXXX", base, name))
		return -ENAMETOOLONG;
	return 0;
}

static bool valid_netns_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n && n <= NAME_MAX && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

/* mkdir 0755 whatever the umask; *made tells whether it is new. */
static int make_dir(const char *path, bool *made)
{
	struct stat st;

	*made = false;
	if (!mkdir(path, 0755)) {
		*made = true;
		return chmod(path, 0755) ? -errno : 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* The directories wgud made, when nothing else is in them. */
static void remove_dirs(const char *dir, bool made_dir, const char *base, bool made_base)
{
	const char *paths[2] = { dir, base };
	bool made[2] = { made_dir, made_base };
	int i;

	for (i = 0; i < 2; i++)
		if (made[i] && rmdir(paths[i]) && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
			log_warn("removing %s, which wgud made: %s; remove it yourself", paths[i], strerror(errno));
}

/*
 * What is at p->file before ours goes there: 1 an earlier file to keep, 0
 * none (or one a killed wgud wrote), -EEXIST when a saved file is there as
 * well and p->file is not ours (which one is the person's, wgud cannot
 * tell), or -errno. *have_saved: a killed wgud's saved file is there.
 */
static int earlier_file(const struct netns_paths *p, bool *have_saved)
{
	struct stat st;
	bool exists, leftover;

	exists = !lstat(p->file, &st);
	if (!exists && errno != ENOENT)
		return -errno;
	*have_saved = !lstat(p->saved, &st);
	if (!*have_saved && errno != ENOENT)
		return -errno;
	leftover = exists && ours(p->file);
	if (*have_saved && exists && !leftover)
		return -EEXIST;
	if (leftover || *have_saved)
		log_warn("%s: an earlier wgud did not stop cleanly; %s", leftover ? p->file : p->saved,
			 *have_saved ? "the file it saved is put back at stop" : "its file is replaced");
	return exists && !leftover;
}

static void netns_error(const struct netns_paths *p, int err)
{
	if (err == -EEXIST)
		log_error("%s and %s both exist and the first was not written by wgud: which to put back at stop "
			  "cannot be told; remove one of them",
			  p->file, p->saved);
	else
		log_error("%s: %s", p->file, strerror(-err));
}

/* The first apply: directories, the earlier file kept, ours renamed into place. */
static int netns_first(struct dns_state *s, struct netns_paths *p, const char *base, const char *name,
		       const char *text, size_t n)
{
	bool made_base, made_dir = false, have_saved = false;
	int ret, keep;

	ret = make_dir(base, &made_base);
	if (ret) {
		log_error("making the directory %s: %s", base, strerror(-ret));
		goto err;
	}
	ret = make_dir(p->dir, &made_dir);
	if (ret) {
		log_error("making the directory %s: %s", p->dir, strerror(-ret));
		goto err;
	}
	keep = earlier_file(p, &have_saved);
	if (keep < 0) {
		netns_error(p, ret = keep);
		goto err;
	}
	ret = write_temp(p->tmp, text, n);
	if (ret) {
		log_error("writing a temp file in %s: %s", p->dir, strerror(-ret));
		goto err;
	}
	/* A hard link, so that resolv.conf is there at every moment: the rename then replaces it. */
	if (keep && link(p->file, p->saved)) {
		ret = -errno;
		log_error("keeping %s as %s: %s", p->file, p->saved, strerror(-ret));
		goto err_tmp;
	}
	if (rename(p->tmp, p->file)) {
		ret = -errno;
		log_error("putting %s in place: %s", p->file, strerror(-ret));
		goto err_link;
	}
	s->kind = DNS_NETNS;
	snprintf(s->netns.base, sizeof(s->netns.base), "%s", base);
	snprintf(s->netns.name, sizeof(s->netns.name), "%s", name);
	s->netns.made_base = made_base;
	s->netns.made_dir = made_dir;
	s->netns.saved = keep || have_saved;
	return 0;

err_link:
	if (keep)
		unlink(p->saved);
err_tmp:
	unlink(p->tmp);
err:
	remove_dirs(p->dir, made_dir, base, made_base);
	return ret;
}

/* A reload: the file is ours already, only its text changes. */
static int netns_rewrite(struct netns_paths *p, const char *text, size_t n)
{
	int ret = write_temp(p->tmp, text, n);

	if (ret) {
		log_error("writing a temp file in %s: %s", p->dir, strerror(-ret));
		return ret;
	}
	if (rename(p->tmp, p->file)) {
		ret = -errno;
		log_error("putting %s in place: %s", p->file, strerror(-ret));
		unlink(p->tmp);
	}
	return ret;
}

int dns_netns_apply(struct dns_state *s, const char *etc_netns, const char *netns_name, const struct model_device *m)
{
	char text[DNS_TEXT_MAX], what[SUMMARY_LEN];
	struct netns_paths p;
	ssize_t n;
	int ret;

	etc_netns = etc_netns ? etc_netns : DNS_ETC_NETNS;
	if (!valid_netns_name(netns_name)) {
		log_error("network namespace name \"%s\" cannot name a directory in %s", netns_name ? netns_name : "",
			  etc_netns);
		return -EINVAL;
	}
	if (s->kind != DNS_NONE &&
	    (s->kind != DNS_NETNS || strcmp(s->netns.base, etc_netns) || strcmp(s->netns.name, netns_name))) {
		log_error("DNS for network namespace %s: already put in place another way", netns_name);
		return -EBUSY;
	}
	if (strlen(etc_netns) >= sizeof(s->netns.base) || netns_paths(&p, etc_netns, netns_name)) {
		log_error("%s/%s/resolv.conf: %s", etc_netns, netns_name, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	n = render_checked(m, text);
	if (n <= 0) {
		if (!n)
			dns_restore(s);
		return (int)n;
	}
	if (s->kind == DNS_NETNS)
		ret = netns_rewrite(&p, text, (size_t)n);
	else
		ret = netns_first(s, &p, etc_netns, netns_name, text, (size_t)n);
	if (!ret)
		log_info("DNS: %s in %s", summary(what, m), p.file);
	return ret;
}

static void netns_restore(struct dns_state *s)
{
	struct netns_paths p;
	struct stat st;

	if (netns_paths(&p, s->netns.base, s->netns.name))
		return; /* cannot be: the apply made these paths */
	if (!lstat(p.file, &st) && !ours(p.file))
		log_warn("%s was changed since wgud wrote it: left as it is%s%s", p.file,
			 s->netns.saved ? "; the one from before wgud is " : "", s->netns.saved ? p.saved : "");
	else if (s->netns.saved && rename(p.saved, p.file))
		log_warn("putting back %s from %s: %s; rename it yourself", p.file, p.saved, strerror(errno));
	else if (!s->netns.saved && unlink(p.file) && errno != ENOENT)
		log_warn("removing %s: %s; remove it yourself", p.file, strerror(errno));
	remove_dirs(p.dir, s->netns.made_dir, s->netns.base, s->netns.made_base);
}

/* ---- the host: resolvconf ---- */

/* The first executable resolvconf on PATH; relative entries are skipped (a root daemon runs nothing from its cwd). */
static int find_resolvconf(char out[PATH_MAX])
{
	static const char leaf[] = "/resolvconf";
	const char *path = getenv("PATH"), *p, *end;
	struct stat st;

	for (p = path ? path : DEFAULT_PATH; *p; p = *end ? end + 1 : end) {
		size_t len;

		end = strchrnul(p, ':');
		len = (size_t)(end - p);
		if (!len || *p != '/' || len + sizeof(leaf) > PATH_MAX)
			continue;
		memcpy(out, p, len);
		memcpy(out + len, leaf, sizeof(leaf));
		if (!stat(out, &st) && S_ISREG(st.st_mode) && !access(out, X_OK))
			return 0;
	}
	return -ENOENT;
}

/*
 * One line of interface-order as wg-quick's `read -r` and its regex see it:
 * blanks around it trimmed, then only letters, digits and '-' and one final
 * '*'. The prefix is that name and a dot.
 */
static bool prefix_line(const char *line, char *prefix, size_t len)
{
	size_t start = 0, end = strlen(line), i;

	while (end && strchr(" \t\n", line[end - 1]))
		end--;
	while (start < end && (line[start] == ' ' || line[start] == '\t'))
		start++;
	if (end - start < 2 || line[end - 1] != '*' || end - start >= len)
		return false;
	for (i = start; i < end - 1; i++) {
		char c = line[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	memcpy(prefix, line + start, end - 1 - start);
	prefix[end - 1 - start] = '.';
	prefix[end - start] = '\0';
	return true;
}

static void read_prefix(FILE *f, char *prefix, size_t len)
{
	char line[DNS_NAME_MAX];
	bool fresh = true; /* this piece starts a line */

	while (fgets(line, sizeof(line), f)) {
		bool whole = strchr(line, '\n') != NULL;

		/* `while read` never sees a last line without its newline, nor would a name this long fit. */
		if (fresh && whole && prefix_line(line, prefix, len))
			return;
		fresh = whole;
	}
}

int dns_resolvconf_name(char *out, size_t len, const char *interface_order, const char *ifname)
{
	const char *order = interface_order ? interface_order : DNS_INTERFACE_ORDER;
	char prefix[DNS_NAME_MAX] = "";
	FILE *f = fopen(order, "re");

	if (f) {
		read_prefix(f, prefix, sizeof(prefix));
		fclose(f);
	} else if (errno != ENOENT) {
		log_warn("reading %s: %s; resolvconf gets the interface's name without a prefix", order, strerror(errno));
	}
	return path_of(out, len, "%s%s", prefix, ifname);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* pid's wait status within timeout_ms; then it is killed (-ETIMEDOUT). */
static int wait_bounded(pid_t pid, unsigned int timeout_ms, int *status)
{
	const struct timespec tick = { 0, WAIT_TICK_MS * 1000000L };
	uint64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			break;
		nanosleep(&tick, NULL);
	}
	if (kill(pid, SIGKILL) && errno != ESRCH)
		return -errno;
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return -ETIMEDOUT;
}

/*
 * exe with argv and text on its stdin, with the signal state of an ordinary
 * command. The text goes into the pipe before the child starts (it fits in
 * any pipe's buffer), so neither side can wait on the other.
 */
static int spawn(const char *exe, char *const argv[], const char *text, size_t n, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int fds[2], ret, err;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	ret = fcntl(fds[0], F_SETFL, 0) ? -errno : write_all(fds[1], text, n);
	close(fds[1]);
	if (ret)
		goto out;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	/* posix_spawn and its helpers return a positive errno. */
	err = posix_spawn_file_actions_init(&fa);
	if (err)
		goto out_err;
	err = posix_spawnattr_init(&attr);
	if (err)
		goto out_fa;
	err = posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	if (!err)
		err = posix_spawnattr_setsigmask(&attr, &none);
	if (!err)
		err = posix_spawnattr_setsigdefault(&attr, &all);
	if (!err)
		err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!err)
		err = posix_spawn(pid, exe, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
out_fa:
	posix_spawn_file_actions_destroy(&fa);
out_err:
	ret = -err;
out:
	close(fds[0]);
	return ret;
}

/*
 * `resolvconf OP NAME ...` (OP "-a" with -m 0 -x, or "-d" with -f), waited
 * for at most timeout_ms. 0, or -EIO (exit code or signal), -ETIMEDOUT,
 * -errno; each logged at level with the command and what to do.
 */
static int run_resolvconf(enum log_level level, const char *exe, const char *op, const char *name, const char *text,
			  size_t n, unsigned int timeout_ms)
{
	char *add[] = { "resolvconf", "-a", (char *)name, "-m", "0", "-x", NULL };
	char *del[] = { "resolvconf", "-d", (char *)name, "-f", NULL };
	bool adding = !strcmp(op, "-a");
	char cmd[DNS_NAME_MAX + 32], then[DNS_NAME_MAX + 64];
	int ret, status = 0;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "resolvconf %s %s %s", op, name, adding ? "-m 0 -x" : "-f");
	if (adding)
		snprintf(then, sizeof(then), "the resolvers are not set: set them yourself");
	else
		snprintf(then, sizeof(then), "remove the entry yourself: resolvconf -d %s", name);
	ret = spawn(exe, adding ? add : del, text, n, &pid);
	if (ret) {
		log_msg(level, "running %s: %s; %s", exe, strerror(-ret), then);
		return ret;
	}
	ret = wait_bounded(pid, timeout_ms, &status);
	if (ret == -ETIMEDOUT)
		log_msg(level, "`%s` did not finish in %u ms and was killed; %s", cmd, timeout_ms, then);
	else if (ret)
		log_msg(level, "waiting for `%s`: %s; %s", cmd, strerror(-ret), then);
	else if (WIFEXITED(status) && WEXITSTATUS(status))
		log_msg(level, "`%s` failed with exit code %d (resolvconf's own message says why); %s", cmd, WEXITSTATUS(status), then);
	else if (WIFSIGNALED(status))
		log_msg(level, "`%s` was killed by signal %d (%s); %s", cmd, WTERMSIG(status), strsignal(WTERMSIG(status)),
			then);
	if (!ret && !(WIFEXITED(status) && !WEXITSTATUS(status)))
		ret = -EIO;
	return ret;
}

static unsigned int timeout_of(const struct dns_state *s)
{
	return s->timeout_ms ? s->timeout_ms : DNS_RESOLVCONF_TIMEOUT_MS;
}

int dns_resolvconf_apply(struct dns_state *s, const char *ifname, const struct model_device *m)
{
	char text[DNS_TEXT_MAX], exe[PATH_MAX], name[DNS_NAME_MAX], what[SUMMARY_LEN];
	ssize_t n;
	int ret;

	if (s->kind != DNS_NONE && s->kind != DNS_RESOLVCONF) {
		log_error("DNS for %s: already put in place another way", ifname ? ifname : "");
		return -EBUSY;
	}
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		log_error("interface name \"%s\" for resolvconf: empty or too long", ifname ? ifname : "");
		return -EINVAL;
	}
	n = render_checked(m, text);
	if (n <= 0) {
		if (!n)
			dns_restore(s);
		return (int)n;
	}
	if (s->kind == DNS_RESOLVCONF) {
		memcpy(exe, s->rc.exe, sizeof(exe));
		memcpy(name, s->rc.name, sizeof(name));
	} else {
		ret = find_resolvconf(exe);
		if (ret)
			return ret;
		ret = dns_resolvconf_name(name, sizeof(name), s->interface_order, ifname);
		if (ret) {
			log_error("resolvconf's name for %s: %s", ifname, strerror(-ret));
			return ret;
		}
	}
	ret = run_resolvconf(LOG_ERROR, exe, "-a", name, text, (size_t)n, timeout_of(s));
	if (ret)
		return ret;
	if (s->kind == DNS_NONE) {
		s->kind = DNS_RESOLVCONF;
		memcpy(s->rc.exe, exe, sizeof(exe));
		memcpy(s->rc.name, name, sizeof(name));
	}
	log_info("DNS: %s via resolvconf (%s)", summary(what, m), name);
	return 0;
}

/* ---- `wgud run`: a bind mount in wgud's own mount namespace ---- */

/* What to mount over: path's target, a regular file that exists; real gets its full path. */
static int bind_target(const char *path, char real[PATH_MAX])
{
	char to[PATH_MAX];
	struct stat st;
	ssize_t n;
	int ret;

	if (!stat(path, &st)) {
		if (!S_ISREG(st.st_mode)) {
			log_error("%s is not a regular file: the conf's DNS cannot be mounted over it", path);
			return -EINVAL;
		}
		if (realpath(path, real))
			return 0;
	}
	ret = -errno;
	n = ret == -ENOENT ? readlink(path, to, sizeof(to) - 1) : -1;
	if (n >= 0) {
		to[n] = '\0';
		log_error("%s links to %s, which does not exist (as when systemd-resolved is stopped): the conf's DNS has "
			  "nothing to be mounted over; start the resolver or make %s a file",
			  path, to, path);
	} else {
		log_error("%s: %s; the conf's DNS cannot be mounted over it", path, strerror(-ret));
	}
	return ret;
}

/* Octal escapes of /proc/self/mountinfo ("\040" a space) decoded in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

struct holder {
	size_t len; /* of the best mount point so far */
	bool found, shared;
};

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE ...". */
static void consider(char *line, const char *path, struct holder *h)
{
	char *save, *tok, *mp = NULL;
	bool shared = false;
	size_t len;
	int i;

	for (i = 0, tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), i++) {
		if (i == 4)
			mp = tok;
		else if (i >= 6 && !strcmp(tok, "-"))
			break;
		else if (i >= 6 && !strncmp(tok, "shared:", 7))
			shared = true;
	}
	if (!mp)
		return;
	unescape(mp);
	len = strlen(mp);
	if (!(len == 1 && mp[0] == '/') && (strncmp(mp, path, len) || (path[len] && path[len] != '/')))
		return;
	/* The longest mount point over path holds it; of equal ones the last listed is on top. */
	if (h->found && len < h->len)
		return;
	*h = (struct holder){ .len = len, .found = true, .shared = shared };
}

/* Whether the mount that holds path has shared propagation (mounts on it would show in other namespaces). */
static int holder_shared(const char *path, bool *shared)
{
	char line[4096];
	struct holder h = { 0 };
	bool fresh = true;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	/* Only a line's start matters (mount point, optional fields): the rest of a long one is skipped. */
	while (fgets(line, sizeof(line), f)) {
		bool whole = strchr(line, '\n') != NULL;

		if (fresh)
			consider(line, path, &h);
		fresh = whole;
	}
	fclose(f);
	*shared = h.shared;
	return h.found ? 0 : -ENOENT;
}

/* Whether the process pid shares our mount namespace; false when that cannot be read. */
static bool same_mount_ns(pid_t pid)
{
	char path[64];
	struct stat self, other;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	return !stat("/proc/self/ns/mnt", &self) && !stat(path, &other) && self.st_ino == other.st_ino &&
	       self.st_dev == other.st_dev;
}

/*
 * Refuses (-EPERM) a mount that would show in the machine's own mount
 * namespace: ours must differ from our parent's and pid 1's (where they can
 * be read: a process in a user namespace may not, and cannot reach the
 * machine's namespace either), and the mount holding real must not
 * propagate.
 */
static int check_private(const char *real)
{
	bool shared = false;
	int ret;

	if (same_mount_ns(getppid()) || (getpid() != 1 && same_mount_ns(1))) {
		log_error("not in a mount namespace of wgud's own: refusing to mount over %s (unshare(CLONE_NEWNS) first)",
			  real);
		return -EPERM;
	}
	ret = holder_shared(real, &shared);
	if (ret) {
		log_error("finding the mount that holds %s in /proc/self/mountinfo: %s; refusing to mount over it", real,
			  strerror(-ret));
		return ret;
	}
	if (shared) {
		log_error("%s is on a mount with shared propagation: a mount over it would show outside wgud's "
			  "namespace; make / private first (mount --make-rprivate /)",
			  real);
		return -EPERM;
	}
	return 0;
}

int dns_bind_private(const char *tmpdir, const char *resolv_conf, const struct model_device *m)
{
	char text[DNS_TEXT_MAX], real[PATH_MAX], tmp[PATH_MAX], what[SUMMARY_LEN];
	ssize_t n;
	int ret;

	resolv_conf = resolv_conf ? resolv_conf : "/etc/resolv.conf";
	n = render_checked(m, text);
	if (n <= 0)
		return (int)n;
	ret = bind_target(resolv_conf, real);
	if (!ret)
		ret = check_private(real);
	if (ret)
		return ret;
	if (path_of(tmp, sizeof(tmp), "%s/wgud-resolv.conf.XXXXXX", tmpdir)) {
		log_error("temp directory %s: %s", tmpdir, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	ret = write_temp(tmp, text, (size_t)n);
	if (ret) {
		log_error("writing a temp file in %s: %s", tmpdir, strerror(-ret));
		return ret;
	}
	/* A reload: nothing can be mounted on the unlinked file of our earlier mount, so it goes first. */
	if (ours(real) && umount2(real, MNT_DETACH) && errno != EINVAL)
		log_debug("unmounting the earlier resolv.conf at %s: %s", real, strerror(errno));
	if (mount(tmp, real, NULL, MS_BIND, NULL)) {
		ret = -errno;
		log_error("mounting the conf's DNS over %s: %s", real, strerror(-ret));
	} else if (mount(NULL, real, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)) {
		log_debug("%s stays writable in wgud's mount namespace: %s", real, strerror(errno));
	}
	if (unlink(tmp))
		log_warn("removing the temp file %s: %s; remove it yourself", tmp, strerror(errno));
	if (!ret)
		log_info("DNS: %s over %s in wgud's own mount namespace", summary(what, m), resolv_conf);
	return ret;
}

/* ---- stop ---- */

void dns_restore(struct dns_state *s)
{
	if (s->kind == DNS_NETNS)
		netns_restore(s);
	else if (s->kind == DNS_RESOLVCONF)
		run_resolvconf(LOG_WARN, s->rc.exe, "-d", s->rc.name, "", 0, timeout_of(s));
	s->kind = DNS_NONE;
}
