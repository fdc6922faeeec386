/* SPDX-License-Identifier: MIT */
/*
 * A small strict JSON syntax check for the tests and fuzz harnesses of the
 * JSON wgud prints (policy, show --json): objects, arrays, strings without
 * raw control characters, true/false/null and unsigned integers.
 */
#ifndef WGUD_JSON_CHECK_H
#define WGUD_JSON_CHECK_H

#include <stdbool.h>
#include <string.h>

static inline const char *json_value(const char *s, int depth);

static inline const char *json_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

static inline const char *json_string(const char *s)
{
	if (*s++ != '"')
		return NULL;
	for (; *s != '"'; s++) {
		if ((unsigned char)*s < 0x20)
			return NULL;
		if (*s == '\\' && !*++s)
			return NULL;
	}
	return s + 1;
}

static inline const char *json_list(const char *s, char close, int depth, bool object)
{
	s = json_ws(s + 1);
	if (*s == close)
		return s + 1;
	for (;;) {
		if (object) {
			s = json_string(json_ws(s));
			if (!s || *(s = json_ws(s)) != ':')
				return NULL;
			s++;
		}
		s = json_value(s, depth + 1);
		if (!s)
			return NULL;
		s = json_ws(s);
		if (*s == close)
			return s + 1;
		if (*s++ != ',')
			return NULL;
	}
}

static inline const char *json_value(const char *s, int depth)
{
	s = json_ws(s);
	if (depth > 16)
		return NULL;
	if (*s == '{')
		return json_list(s, '}', depth, true);
	if (*s == '[')
		return json_list(s, ']', depth, false);
	if (*s == '"')
		return json_string(s);
	if (!strncmp(s, "true", 4) || !strncmp(s, "null", 4))
		return s + 4;
	if (!strncmp(s, "false", 5))
		return s + 5;
	if (*s >= '0' && *s <= '9') {
		if (*s == '0' && s[1] >= '0' && s[1] <= '9')
			return NULL;
		while (*s >= '0' && *s <= '9')
			s++;
		return s;
	}
	return NULL;
}

/* True when text is exactly one JSON value, surrounded by nothing but blanks. */
static inline bool json_check(const char *text)
{
	const char *end = json_value(text, 0);

	return end && !*json_ws(end);
}

#endif
