// SPDX-License-Identifier: MIT
/*
 * What a client of the control socket sends: the input is a byte stream for
 * ctl_frame, fed whole and again in pieces whose sizes come from the input
 * (the answers must agree), each with and without EOF after it, and checked
 * against a plain reading of the protocol. A framed line goes on to
 * policy_split, as the server does, and every word must be what the handler
 * may rely on: non-empty, printable, no blanks.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The protocol as ctl.h states it, byte by byte. */
static int reference(const uint8_t *data, size_t size, bool eof, size_t *line_len)
{
	size_t i;

	for (i = 0; i < size; i++) {
		if (data[i] == '\n') {
			*line_len = i;
			return 1;
		}
		if (data[i] != '\t' && (data[i] < 0x20 || data[i] >= 0x7f))
			return -EINVAL;
		if (i == POLICY_MAX_LINE - 1)
			return -E2BIG;
	}
	return eof ? -ENODATA : 0;
}

static int feed(const uint8_t *data, size_t size, bool pieces, bool eof, struct ctl_client_buf *b, char **line)
{
	size_t off = 0;
	int ret = 0;

	memset(b, 0, sizeof(*b));
	while (off < size && !ret) {
		/* Piece sizes from the bytes themselves, so a saved input always splits the same way. */
		size_t n = pieces ? (size_t)(1 + data[off] % 7) : size - off;

		if (n > size - off)
			n = size - off;
		ret = ctl_frame(b, (const char *)data + off, n, line);
		off += n;
	}
	if (!ret && eof)
		ret = ctl_frame(b, NULL, 0, line);
	return ret;
}

static void check_words(const char *line)
{
	char copy[POLICY_MAX_LINE], *words[POLICY_MAX_WORDS];
	size_t n = 0, i, j;
	int ret;

	memcpy(copy, line, strlen(line) + 1);
	ret = policy_split(copy, words, &n);
	if (ret && ret != -EINVAL)
		abort();
	if (ret)
		return;
	if (n > POLICY_MAX_WORDS)
		abort();
	for (i = 0; i < n; i++) {
		if (!words[i][0] || words[i] < copy || words[i] >= copy + sizeof(copy))
			abort();
		for (j = 0; words[i][j]; j++)
			if (words[i][j] == ' ' || words[i][j] == '\t' || words[i][j] < 0x20 || words[i][j] >= 0x7f)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_client_buf whole, split;
	int e;

	for (e = 0; e < 2; e++) {
		char *line_a = NULL, *line_b = NULL;
		size_t want_len = 0;
		int want = reference(data, size, e, &want_len);
		int a = feed(data, size, false, e, &whole, &line_a);
		int b = feed(data, size, true, e, &split, &line_b);

		if (a != want || b != want)
			abort();
		if (want != 1)
			continue;
		if (strlen(line_a) != want_len || memcmp(line_a, data, want_len) || strcmp(line_a, line_b))
			abort();
		/* Whatever follows the line is ignored, EOF included. */
		if (ctl_frame(&whole, (const char *)data, size, &line_a) != 1 ||
		    ctl_frame(&whole, NULL, 0, &line_a) != 1 || line_a != whole.data)
			abort();
		check_words(line_a);
	}
	return 0;
}
