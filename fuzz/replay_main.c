/*
 * Replays fuzz inputs without libFuzzer: every file named on the command
 * line, or found (not recursively) in a folder named there, goes once
 * through LLVMFuzzerTestOneInput.  Built with ASan and UBSan so that a
 * regression crashes here as it did under the fuzzer.  Prints
 * "fuzz-replay: NAME: N inputs, 0 failures"; a crash names the input on
 * stderr and ends the process with a non-zero status.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

void __sanitizer_set_death_callback(void (*callback)(void))
    __attribute__((weak));

static char current[4096];

static void say_current(void)
{
	static const char pre[] = "fuzz-replay: failed; last input run: ";
	size_t n = strlen(current);

	if (write(2, pre, sizeof(pre) - 1) < 0 || write(2, current, n) < 0 ||
	    write(2, "\n", 1) < 0)
		return;
}

static void on_signal(int sig)
{
	say_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *data;
	size_t n = 0;
	FILE *f;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz-replay: cannot read '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	/* an exact-size heap copy, so that ASan sees reads past the end */
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data)
		abort();
	if (st.st_size)
		n = fread(data, 1, (size_t)st.st_size, f);
	fclose(f);
	snprintf(current, sizeof(current), "%s", path);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 1;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "fuzz";
	long inputs = 0;
	int i, r;

	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(say_current);
	signal(SIGABRT, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGBUS, on_signal);
	signal(SIGFPE, on_signal);
	for (i = 2; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;
		char **names = NULL;
		size_t nn = 0, k;

		if (stat(argv[i], &st) < 0)
			continue; /* an absent folder has nothing to replay */
		if (!S_ISDIR(st.st_mode)) {
			r = run_file(argv[i]);
			if (r < 0)
				return 1;
			inputs += r;
			continue;
		}
		d = opendir(argv[i]);
		if (!d)
			return 1;
		while ((e = readdir(d))) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 e->d_name);
			names = realloc(names, (nn + 1) * sizeof(*names));
			if (!names)
				abort();
			names[nn++] = strdup(path);
		}
		closedir(d);
		qsort(names, nn, sizeof(*names), cmp);
		for (k = 0; k < nn; k++) {
			r = run_file(names[k]);
			if (r < 0)
				return 1;
			inputs += r;
			free(names[k]);
		}
		free(names);
	}
	printf("fuzz-replay: %s: %ld inputs, 0 failures\n", name, inputs);
	return 0;
}
