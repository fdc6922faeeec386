// SPDX-License-Identifier: MIT
/*
 * wgud's entry point. Today it carries the key commands; the daemon modes
 * (`--conf FILE`, `IFACE`) join it with the data plane.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "noise.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: wgud COMMAND\n"
		"\n"
		"  genkey        print a new private key (base64)\n"
		"  pubkey        read a private key on stdin, print its public key\n"
		"  genpsk        print a new preshared key\n"
		"  --version     print the version\n"
		"  --help        this text\n");
}

/* Reads one key line from stdin (at most 44 characters and a newline). */
static int read_key_line(uint8_t key[KEY_LEN])
{
	char line[KEY_BASE64_LEN + 3];
	size_t len;
	int ret = -EINVAL;

	if (!fgets(line, sizeof(line), stdin))
		goto out;
	len = strcspn(line, "\r\n");
	if (line[len] == '\0' && !feof(stdin))
		goto out; /* longer than a key */
	ret = key_from_base64(key, line, len);
out:
	sodium_memzero(line, sizeof(line));
	return ret;
}

static int cmd_pubkey(void)
{
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	char text[KEY_BASE64_LEN + 1];
	int ret = 1;

	if (read_key_line(priv)) {
		fprintf(stderr, "wgud pubkey: stdin does not hold a base64 private key (44 characters)\n");
		goto out;
	}
	if (noise_public_from_private(pub, priv)) {
		fprintf(stderr, "wgud pubkey: that private key has no usable public key\n");
		goto out;
	}
	key_to_base64(text, pub);
	puts(text);
	ret = 0;
out:
	sodium_memzero(priv, sizeof(priv));
	return ret;
}

static int cmd_genkey(bool clamp)
{
	uint8_t key[KEY_LEN];
	char text[KEY_BASE64_LEN + 1];

	if (clamp)
		key_generate_private(key);
	else
		randombytes_buf(key, sizeof(key));
	key_to_base64(text, key);
	puts(text);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(text, sizeof(text));
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "wgud: libsodium failed to initialise\n");
		return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("wgud %s\n", WGUD_VERSION);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "genkey")) {
		if (isatty(STDOUT_FILENO))
			fprintf(stderr, "wgud: writing a private key to a terminal\n");
		return cmd_genkey(true);
	}
	if (argc == 2 && !strcmp(argv[1], "genpsk"))
		return cmd_genkey(false);
	if (argc == 2 && !strcmp(argv[1], "pubkey"))
		return cmd_pubkey();
	usage(stderr);
	return 2;
}
