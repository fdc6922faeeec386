// SPDX-License-Identifier: MIT
/*
 * What a client of --metrics sends: the input is the bytes of a request.
 * metrics_http_parse must agree with a plain reading of metrics.h's rules
 * (written here over a NUL-terminated copy, token by token), and, as the
 * server feeds it what has arrived so far, its first answer other than
 * "not whole yet" must be the one every longer prefix gets.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool bad(uint8_t c)
{
	return c == 0x7f || (c < 0x20 && c != '\r' && c != '\n' && c != '\t');
}

static int reference(const uint8_t *data, size_t size)
{
	size_t end = 0, i;
	char *line, *method, *target, *version, *q, *rest;
	int status;

	if (size > METRICS_HTTP_MAX_REQUEST)
		size = METRICS_HTTP_MAX_REQUEST;
	for (i = 0; i + 1 < size && !end; i++) {
		if (data[i] == '\n' && data[i + 1] == '\n')
			end = i + 2;
		else if (data[i] == '\n' && i + 2 < size && data[i + 1] == '\r' && data[i + 2] == '\n')
			end = i + 3;
	}
	for (i = 0; i < (end ? end : size); i++)
		if (bad(data[i]))
			return 400;
	if (!end)
		return size == METRICS_HTTP_MAX_REQUEST ? 431 : 0;
	line = calloc(1, end + 1);
	if (!line)
		abort();
	memcpy(line, data, end);
	line[strcspn(line, "\n")] = '\0';
	if (*line && line[strlen(line) - 1] == '\r')
		line[strlen(line) - 1] = '\0';
	/* exactly "METHOD SP TARGET SP VERSION", single spaces, method and target not empty */
	method = line;
	target = strchr(method, ' ');
	version = target ? strchr(target + 1, ' ') : NULL;
	if (!target || !version || target == method || version == target + 1 || strchr(version + 1, ' ')) {
		status = 400;
		goto out;
	}
	*target++ = '\0';
	*version++ = '\0';
	if (strncmp(version, "HTTP/", 5)) {
		status = 400;
		goto out;
	}
	if (strcmp(version, "HTTP/1.0") && strcmp(version, "HTTP/1.1")) {
		status = 505;
		goto out;
	}
	if (strcmp(method, "GET")) {
		status = 405;
		goto out;
	}
	q = strchr(target, '?');
	if (q)
		*q = '\0';
	rest = target;
	status = !strcmp(rest, "/metrics") ? 200 : 404;
out:
	free(line);
	return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int whole = metrics_http_parse((const char *)data, size);
	int first = 0;
	size_t n;

	if (whole != reference(data, size))
		abort();
	/* The server asks again as bytes arrive: the first verdict stands. */
	for (n = 0; n <= size && n <= METRICS_HTTP_MAX_REQUEST + 1; n++) {
		int got = metrics_http_parse((const char *)data, n);

		if (first && got != first)
			abort();
		if (!first)
			first = got;
	}
	if (size <= METRICS_HTTP_MAX_REQUEST + 1 && first != whole)
		abort();
	return 0;
}
