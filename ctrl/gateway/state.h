/* SPDX-License-Identifier: MIT */
/*
 * What wgud changed in its namespace outside the device and the nftables
 * table, kept in STATE_DIR/IFACE.netns-INODE.state (one file per interface
 * and network namespace), so that a start after a crash, a
 * clean stop and `wgud unlock` undo exactly that and nothing of anyone
 * else's: the IP forwarding it turned on (with the value it found), the
 * policy rules of its full tunnel (by table), its allow-lan rules (by
 * prefix).
 *
 * The file holds lines "KEY VALUE"; a key may come more than once
 * (allow_lan). Every change is written at once, whole, under a temporary
 * name that is then renamed, so a crash leaves the old file or the new one;
 * an empty state removes the file. Only the loop thread touches it.
 *
 * A wgud that drops root (--user) can neither rename into nor remove from
 * the root-owned folder: state_hand_over() gives it the file, which is then
 * rewritten in place (a crash mid-way leaves the new lines, then blank ones
 * where the old were longer), and an empty state leaves it empty, for the
 * root helper's state_tidy().
 */
#ifndef WGUD_STATE_H
#define WGUD_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define STATE_MAX_LINES 512 /* 256 allow-lan prefixes and a few more */
#define STATE_LINE_MAX 64

struct state {
	char path[PATH_MAX];
	char lines[STATE_MAX_LINES][STATE_LINE_MAX]; /* "KEY VALUE" each */
	size_t n;
	bool warned;   /* a failed write was reported */
	bool in_place; /* rewritten where it is, not renamed into place: state_hand_over() */
};

void state_init(struct state *st, const char *dir, const char *ifname);
/*
 * The same for the network namespace netns_fd (what --netns changes is
 * recorded under the namespace it is changed in); STATE_NOWHERE keeps the
 * record in memory only (`wgud run`: its namespace goes with it).
 */
#define STATE_NOWHERE (-2)
void state_init_for(struct state *st, const char *dir, const char *ifname, int netns_fd);
/* What an earlier run recorded; no file is an empty state. 0 or -errno (the state is then empty). */
int state_load(struct state *st);
/* The values of key in turn: start with *cursor = 0; NULL when there are no more. */
const char *state_next(const struct state *st, const char *key, size_t *cursor);
/* Whether key is recorded with value. */
bool state_has(const struct state *st, const char *key, const char *value);
/* Record key and value (once) and write the file. */
void state_add(struct state *st, const char *key, const char *value);
/* Forget key with value (NULL: with any value) and write the file. */
void state_remove(struct state *st, const char *key, const char *value);

/*
 * Before dropping root: the file, made if missing, becomes uid:gid's (mode
 * 0600) and holds what st holds; from now on it is rewritten in place.
 * 0 or -errno (st is then as it was).
 */
int state_hand_over(struct state *st, uid_t uid, gid_t gid);
/* Removes the file if it records nothing: for the root helper, once a wgud that dropped root is gone. */
void state_tidy(const struct state *st);

#endif
