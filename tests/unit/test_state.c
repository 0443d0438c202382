/* Tests of state/: paths, private files, last instance, launch journal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpuctl/state.h"

struct fixture {
	char dir[64];
	char *env[4];
	struct state_paths paths;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct gpuctl_err err = GPUCTL_ERR_INIT;

	snprintf(f->dir, sizeof(f->dir), "/tmp/gpuctl-state-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->env[0] = xasprintf("HOME=%s", f->dir);
	f->env[1] = xasprintf("XDG_STATE_HOME=%s/st", f->dir);
	f->env[2] = xstrdup("XDG_CONFIG_HOME=relative/ignored");
	if (state_paths_init(&f->paths, f->env, &err))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);
	int i;

	if (system(cmd) != 0)
		return -1;
	free(cmd);
	for (i = 0; i < 3; i++)
		free(f->env[i]);
	state_paths_release(&f->paths);
	free(f);
	return 0;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_paths(void **state)
{
	struct fixture *f = *state;
	char *want = xasprintf("%s/.config/gpuctl", f->dir);
	char *key;

	/* a relative XDG_CONFIG_HOME is ignored, as XDG says */
	assert_string_equal(f->paths.config_dir, want);
	free(want);
	want = xasprintf("%s/st/gpuctl", f->dir);
	assert_string_equal(f->paths.state_dir, want);
	free(want);
	key = state_key_path(&f->paths, "us-west-1", "gpuctl-abc");
	want = xasprintf("%s/.config/gpuctl/keys/us-west-1/gpuctl-abc.pem",
			 f->dir);
	assert_string_equal(key, want);
	free(want);
	free(key);
}

static void test_private_file(void **state)
{
	struct fixture *f = *state;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	char *path = state_key_path(&f->paths, "us-west-1", "k");
	char *dir = xasprintf("%s/.config/gpuctl/keys/us-west-1", f->dir);
	struct buf b = BUF_INIT;
	mode_t old = umask(0);

	/* even with umask 000 nothing is more open than 0600/0700 */
	assert_int_equal(state_write_private(path, "secret", 6, 1, &err), 0);
	umask(old);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(mode_of(dir), 0700);
	assert_int_equal(read_file(path, &b), 0);
	assert_string_equal(b.data, "secret");
	/* exclusive: an existing key is never replaced */
	assert_int_equal(state_write_private(path, "other", 5, 1, &err), -1);
	assert_int_equal(err.kind, GPUCTL_ERR_IO);
	err_clear(&err);
	buf_reset(&b);
	assert_int_equal(read_file(path, &b), 0);
	assert_string_equal(b.data, "secret");
	/* no temporary file is left behind */
	{
		char *cmd = xasprintf("ls -A '%s' | grep -c tmp", dir);
		FILE *p = popen(cmd, "r");
		int n = -1;

		assert_non_null(p);
		assert_int_equal(fscanf(p, "%d", &n), 1);
		pclose(p);
		assert_int_equal(n, 0);
		free(cmd);
	}
	/* non-exclusive replaces atomically */
	assert_int_equal(state_write_private(path, "new", 3, 0, &err), 0);
	buf_reset(&b);
	assert_int_equal(read_file(path, &b), 0);
	assert_string_equal(b.data, "new");
	buf_release(&b);
	free(path);
	free(dir);
}

static void test_last_instance(void **state)
{
	struct fixture *f = *state;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	char *id = NULL;

	assert_int_equal(state_last_instance(&f->paths, "us-east-1", &id, &err),
			 0);
	assert_null(id);
	assert_int_equal(state_set_last_instance(&f->paths, "us-east-1",
						 "i-0123456789abcdef0", &err),
			 0);
	assert_int_equal(state_last_instance(&f->paths, "us-east-1", &id, &err),
			 0);
	assert_string_equal(id, "i-0123456789abcdef0");
	free(id);
	/* regions are separate */
	assert_int_equal(state_last_instance(&f->paths, "us-west-1", &id, &err),
			 0);
	assert_null(id);
}

static void test_journal(void **state)
{
	struct fixture *f = *state;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct state_journal_entry a, b, c;
	const char *ids[] = {"i-aaa", "i-bbb"};
	long long now = 1700000000;

	assert_int_equal(
	    state_journal_begin(&f->paths, "us-west-1", "fp1", now, &a, &err),
	    0);
	assert_false(a.reused);
	assert_int_equal(strlen(a.token), 32);
	assert_null(a.instance_ids[0]);
	/* an interrupted run: the re-run gets the same token */
	assert_int_equal(state_journal_instances(&f->paths, "us-west-1",
						 a.token, ids, 2, &err),
			 0);
	assert_int_equal(state_journal_begin(&f->paths, "us-west-1", "fp1",
					     now + 60, &b, &err),
			 0);
	assert_true(b.reused);
	assert_string_equal(b.token, a.token);
	assert_string_equal(b.instance_ids[0], "i-aaa");
	assert_string_equal(b.instance_ids[1], "i-bbb");
	assert_null(b.instance_ids[2]);
	state_journal_entry_release(&b);
	/* another request gets another token */
	assert_int_equal(
	    state_journal_begin(&f->paths, "us-west-1", "fp2", now, &c, &err),
	    0);
	assert_false(c.reused);
	assert_string_not_equal(c.token, a.token);
	state_journal_entry_release(&c);
	/* once ended, the same request is a new launch */
	assert_int_equal(
	    state_journal_end(&f->paths, "us-west-1", a.token, &err), 0);
	assert_int_equal(
	    state_journal_begin(&f->paths, "us-west-1", "fp1", now, &b, &err),
	    0);
	assert_false(b.reused);
	assert_string_not_equal(b.token, a.token);
	state_journal_entry_release(&b);
	/* a stale open entry (over a day old) is dropped */
	assert_int_equal(state_journal_begin(&f->paths, "us-west-1", "fp1",
					     now + 2 * 86400, &b, &err),
			 0);
	assert_false(b.reused);
	state_journal_entry_release(&b);
	state_journal_entry_release(&a);
}

static void test_journal_damaged(void **state)
{
	struct fixture *f = *state;
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct state_journal_entry e;
	char *path = xasprintf("%s/st/gpuctl/eu-west-1/journal.json", f->dir);
	char *bad = xasprintf("%s.damaged", path);

	assert_int_equal(state_write_private(path, "{not json", 9, 0, &err), 0);
	assert_int_equal(state_journal_begin(&f->paths, "eu-west-1", "fp",
					     1700000000, &e, &err),
			 0);
	assert_false(e.reused);
	/* the damaged file is kept aside, not lost */
	assert_int_equal(access(bad, F_OK), 0);
	assert_int_equal(mode_of(path), 0600);
	state_journal_entry_release(&e);
	free(path);
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_private_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_last_instance, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_damaged, setup,
					    teardown),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
