/* SPDX-License-Identifier: MIT */
/*
 * --user NAME: wgud started as root sets everything up, then runs on as NAME
 * with CAP_NET_ADMIN alone, which is all the running daemon needs for its
 * live changes (nftables, rtnetlink, the net sysctls: the kernel gives
 * CAP_NET_ADMIN the owner's rights on those).
 *
 * In order:
 *   privdrop_lookup()   at option parse, before anything is created;
 *   privdrop_janitor()  still root, single-threaded and without an
 *                       io_uring ring, once the socket files exist and DNS
 *                       is set: a root process that waits for the daemon to
 *                       be gone and then undoes what it no longer can
 *                       (files in root-owned folders, resolvconf -d);
 *   privdrop_apply()    once setup is done (the wall up, PostUp run).
 *
 * Capabilities, no_new_privs and the bounding set are per thread, and the
 * crypto threads are running by then: privdrop_apply() sets no_new_privs and
 * the bounding set in every thread (each thread does it itself, as glibc
 * does for setuid), glibc's setgroups/setresgid/setresuid change every
 * thread, and the uid change from 0 empties the capability sets of every
 * thread but the caller's (the only one with PR_SET_KEEPCAPS), which then
 * takes CAP_NET_ADMIN back as effective. Threads made later copy the
 * caller's. The kernel's io_uring workers (iou-wrk) are not threads of
 * ours: one made before the drop would keep the credentials it was made
 * with until it idles out (privdrop_apply warns of any; wgud's requests
 * are pollable and make none: test_user.sh looks). The signal used for
 * the threads is SIGRTMIN, for the moment of the drop.
 *
 * What the daemon can no longer do: read a conf or policy file only root
 * may read (a SIGHUP reload is then refused: make the file the user's), bind
 * a port below 1024 (`wg set ... listen-port`), give PreDown/PostDown hooks
 * any privilege (they run as the user, with no_new_privs), create or remove
 * files in /var/run/wireguard and /var/run/wgud (hence the helper).
 */
#ifndef WGUD_PRIVDROP_H
#define WGUD_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PRIVDROP_MAX_GROUPS 64
#define PRIVDROP_JANITOR_KEEP_MAX 4

struct privdrop {
	bool set;       /* --user was given (and looked up) */
	uid_t uid;
	gid_t gid;      /* the user's own group */
	char name[64];
	gid_t groups[PRIVDROP_MAX_GROUPS]; /* its supplementary groups, gid among them (getgrouplist) */
	size_t n_groups;
};

/*
 * Looks NAME up (its uid, group and supplementary groups) and refuses, with
 * a line for a person in err: wgud not running as root, an unknown name,
 * uid 0 or group 0, more than PRIVDROP_MAX_GROUPS groups. 0 or -errno.
 */
int privdrop_lookup(struct privdrop *p, const char *name, char *err, size_t err_len);

/*
 * What the root helper does once the daemon is gone. dropped: the daemon
 * came as far as privdrop_apply(), so what it could not undo as the user
 * (DNS it set, files in root's folders) is the helper's to undo; otherwise
 * the daemon undid it itself, as root, or was killed before the drop.
 */
typedef void (*privdrop_janitor_fn)(void *ctx, bool dropped);

/*
 * Forks the root helper. It keeps stderr and the n_keep descriptors in keep
 * (at most PRIVDROP_JANITOR_KEEP_MAX: what fn needs, such as the home
 * network namespace's) and nothing else (stdin and stdout are /dev/null),
 * ignores SIGTERM, SIGINT and SIGHUP (systemd signals the
 * whole cgroup; the helper must outlive the daemon) and waits for EOF on a
 * pipe whose write end only this process holds (close-on-exec: hooks do not
 * keep it), which comes however the daemon ends, SIGKILL included; then for
 * the daemon to have exited. Then it calls fn(ctx, dropped), in its copy of
 * the memory as it was at the fork, and exits.
 * Call it while single-threaded and before any io_uring ring exists: the
 * helper's copy of a ring's mappings would keep the ring, and the TUN device
 * and UDP sockets its requests hold, alive until the helper exits. What fn
 * undoes must be in ctx by then. 0 or -errno.
 */
int privdrop_janitor(privdrop_janitor_fn fn, void *ctx, const int *keep, size_t n_keep);
/* The daemon detached from its terminal: the helper lets go of it too (stderr to /dev/null). */
void privdrop_janitor_quiet(void);

/*
 * The files in paths (the listening sockets) become the user's, group and
 * mode as they are (0600: root and the user; 0660: the --ctl-group's too);
 * then the drop (see above), checked in every thread: uid and gid the
 * user's, CAP_NET_ADMIN the only capability permitted, effective (this
 * thread) and in the bounding set, none ambient, no_new_privs set. On any
 * failure returns -errno having said what did not take; the process may be
 * half way then and must stop. Logs the one line that says what was kept.
 */
int privdrop_apply(const struct privdrop *p, const char *const paths[], size_t n_paths);

#endif
