// SPDX-License-Identifier: MIT
/*
 * Runs a fuzz harness without libFuzzer: every file of the corpus directories
 * given, then bounded rounds of random bytes and of random mutations of the
 * corpus (fixed seed), so that gcc and sanitizer builds exercise the same
 * harnesses under ctest. Exits non-zero if a corpus directory is unreadable;
 * a crash in the harness fails the test by itself.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT 4096
#define MAX_SEEDS 256
#define RANDOM_ROUNDS 20000

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS], nseeds;

static int load_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d) {
		fprintf(stderr, "replay: cannot open corpus %s\n", path);
		return -1;
	}
	while ((e = readdir(d)) && nseeds < MAX_SEEDS) {
		char file[4096];
		FILE *f;
		uint8_t *buf;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		f = fopen(file, "rb");
		if (!f)
			continue;
		buf = malloc(REPLAY_MAX_INPUT);
		if (!buf) {
			fclose(f);
			break;
		}
		n = fread(buf, 1, REPLAY_MAX_INPUT, f);
		fclose(f);
		seeds[nseeds] = buf;
		seed_len[nseeds++] = n;
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t buf[REPLAY_MAX_INPUT];
	unsigned int seed = 0x77677564;
	size_t i, runs = 0;
	int a;

	for (a = 1; a < argc; a++)
		if (load_dir(argv[a]))
			return 1;
	for (i = 0; i < nseeds; i++, runs++)
		LLVMFuzzerTestOneInput(seeds[i], seed_len[i]);
	for (i = 0; i < RANDOM_ROUNDS; i++, runs++) {
		size_t len, k, flips;

		if (nseeds && i % 2) {
			/* A corpus input with a few random bytes changed, or cut short. */
			size_t s = (size_t)rand_r(&seed) % nseeds;

			len = seed_len[s];
			memcpy(buf, seeds[s], len);
			flips = 1 + (size_t)rand_r(&seed) % 4;
			for (k = 0; k < flips && len; k++)
				buf[(size_t)rand_r(&seed) % len] ^= (uint8_t)(1 + rand_r(&seed) % 255);
			if (rand_r(&seed) % 8 == 0 && len)
				len = (size_t)rand_r(&seed) % len;
		} else {
			len = (size_t)rand_r(&seed) % 300;
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)rand_r(&seed);
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	for (i = 0; i < nseeds; i++)
		free(seeds[i]);
	printf("replay: %zu inputs (%zu from the corpus) ran without a fault\n", runs, nseeds);
	return 0;
}
