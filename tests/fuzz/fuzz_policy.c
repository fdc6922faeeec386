// SPDX-License-Identifier: MIT
/*
 * Policy words as the control socket and a policy file bring them: each
 * input line is split and applied in turn (a line starting with "--" goes
 * through the flag path), and the whole input is also read as a policy
 * file. A refused command or file must leave the policy byte for byte as it
 * was, a refused line must be left as it came, messages must be printable
 * one-liners, and whatever is accepted must format as valid JSON.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 64 /* each costs two copies of the policy */

static struct policy pol, before;
static char out[POLICY_FORMAT_MAX];

#include "../unit/json_check.h"

static void check_message(const char *err, size_t cap)
{
	const char *end = memchr(err, '\0', cap);
	const char *c;

	if (!end || end == err)
		abort();
	for (c = err; c < end; c++)
		if (*c < 0x20 || *c == 0x7f)
			abort();
}

static void check_formats(const struct policy *p)
{
	const char *end;
	int n;

	if (p->n_allow_lan > POLICY_MAX_ENTRIES || p->n_allow > POLICY_MAX_ENTRIES ||
	    p->n_forward_from > POLICY_MAX_ENTRIES || p->n_port_forward > POLICY_MAX_ENTRIES ||
	    p->n_dns > POLICY_MAX_ENTRIES)
		abort();
	n = policy_format_json(p, out, sizeof(out));
	if (n <= 0 || (size_t)n != strlen(out))
		abort();
	end = json_value(out, 0);
	if (!end || *json_ws(end))
		abort();
	n = policy_format_text(p, out, sizeof(out));
	if (n <= 0 || (size_t)n != strlen(out))
		abort();
}

static void apply_line(const char *text, size_t len)
{
	static char line[2 * POLICY_MAX_LINE + 2], orig[sizeof(line)];
	char *words[POLICY_MAX_WORDS], err[256];
	size_t n_words;
	int ret;

	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	memcpy(line, text, len);
	line[len] = '\0';
	memcpy(orig, line, len + 1);
	ret = policy_split(line, words, &n_words);
	if (ret) {
		if ((ret != -EINVAL && ret != -E2BIG) || memcmp(line, orig, len + 1))
			abort();
		return;
	}
	if (!n_words)
		return;
	memcpy(&before, &pol, sizeof(pol));
	err[0] = '\0';
	if (!strncmp(words[0], "--", 2))
		ret = policy_apply_flag(&pol, words[0], words + 1, n_words - 1, err, sizeof(err));
	else
		ret = policy_apply_words(&pol, words, n_words, err, sizeof(err));
	if (ret) {
		if (ret != -EINVAL && ret != -E2BIG && ret != -ENOENT && ret != -EEXIST)
			abort();
		if (memcmp(&before, &pol, sizeof(pol)))
			abort();
		check_message(err, sizeof(err));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *nl;
	size_t pos = 0, lines = 0, n;
	char err[256];
	int ret;

	policy_init(&pol);
	while (pos < size && lines++ < MAX_LINES) {
		nl = memchr(text + pos, '\n', size - pos);
		/* The newline goes with its line: policy_split strips it. */
		n = nl ? (size_t)(nl - (text + pos)) + 1 : size - pos;
		apply_line(text + pos, n);
		pos += n;
	}
	check_formats(&pol);

	policy_init(&pol);
	memcpy(&before, &pol, sizeof(pol));
	err[0] = '\0';
	ret = policy_apply_file(&pol, "fuzz", text, size, err, sizeof(err));
	if (ret) {
		if (memcmp(&before, &pol, sizeof(pol)))
			abort();
		check_message(err, sizeof(err));
		if (strncmp(err, "fuzz:", 5))
			abort();
	}
	check_formats(&pol);
	return 0;
}
