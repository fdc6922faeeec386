// SPDX-License-Identifier: MIT
/*
 * RFC 6479 replay detection without bit shifts of the whole window: when the
 * highest counter moves on, only the words it moved past are cleared, at most
 * the whole ring once.
 */
#include <stddef.h>
#include <string.h>

#include "replay.h"

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

/*
 * counter + 1, the bit number the struct explains, into *shifted; or
 * false when it is past REJECT_AFTER_MESSAGES or behind the window. The sums
 * cannot wrap: counter < REJECT_AFTER_MESSAGES = 2^64 - 2^13 - 1.
 */
static bool locate(const struct replay_window *w, uint64_t counter, uint64_t *shifted)
{
	if (counter >= REJECT_AFTER_MESSAGES)
		return false;
	*shifted = counter + 1;
	return *shifted + COUNTER_WINDOW_SIZE >= w->counter;
}

/* Where word number n of the unbounded bitmap lives in the ring. */
static size_t ring(uint64_t n)
{
	return (size_t)(n & (REPLAY_WORDS - 1));
}

bool replay_check(const struct replay_window *w, uint64_t counter)
{
	uint64_t shifted;

	if (!locate(w, counter, &shifted))
		return false;
	/* Bits above the highest counter are always clear: slide() cleared them. */
	if (shifted > w->counter)
		return true;
	return !(w->backtrack[ring(shifted / 64)] & (1ULL << (shifted % 64)));
}

/* Moves the top of the window to shifted, recycling the words it passes. */
static void slide(struct replay_window *w, uint64_t shifted)
{
	uint64_t cur = w->counter / 64, top = shifted / 64 - cur, i;

	if (top > REPLAY_WORDS)
		top = REPLAY_WORDS;
	for (i = 1; i <= top; i++)
		w->backtrack[ring(cur + i)] = 0;
	w->counter = shifted;
}

bool replay_update(struct replay_window *w, uint64_t counter)
{
	uint64_t shifted, bit, *word;

	if (!locate(w, counter, &shifted))
		return false;
	if (shifted > w->counter)
		slide(w, shifted);
	word = &w->backtrack[ring(shifted / 64)];
	bit = 1ULL << (shifted % 64);
	if (*word & bit)
		return false;
	*word |= bit;
	return true;
}
