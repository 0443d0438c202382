/*
 * gpuctl's local files: private keys, last instance, launch journal.
 * Every write is atomic and 0600 from the first byte.
 */
#include "gpuctl/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "gpuctl/digest.h"

#define JOURNAL_MAX_AGE (24 * 3600)

int state_paths_init(struct state_paths *p, char *const *envp,
		     struct gpuctl_err *err)
{
	const char *cfg = env_get(envp, "XDG_CONFIG_HOME");
	const char *st = env_get(envp, "XDG_STATE_HOME");
	char *home = NULL;

	p->config_dir = NULL;
	p->state_dir = NULL;
	/* XDG: relative paths are invalid and ignored */
	if (cfg && cfg[0] != '/')
		cfg = NULL;
	if (st && st[0] != '/')
		st = NULL;
	if (!cfg || !st) {
		home = env_home(envp);
		if (!home)
			return err_set(err, GPUCTL_ERR_CONFIG,
				       "cannot find the home folder: HOME is "
				       "not set");
	}
	p->config_dir = cfg ? xasprintf("%s/gpuctl", cfg)
			    : xasprintf("%s/.config/gpuctl", home);
	p->state_dir = st ? xasprintf("%s/gpuctl", st)
			  : xasprintf("%s/.local/state/gpuctl", home);
	free(home);
	return 0;
}

void state_paths_release(struct state_paths *p)
{
	free(p->config_dir);
	free(p->state_dir);
	p->config_dir = NULL;
	p->state_dir = NULL;
}

char *state_key_path(const struct state_paths *p, const char *region,
		     const char *name)
{
	return xasprintf("%s/keys/%s/%s.pem", p->config_dir, region, name);
}

char *state_known_hosts_path(const struct state_paths *p)
{
	return xasprintf("%s/known_hosts", p->config_dir);
}

int state_mkdirs(const char *dir, struct gpuctl_err *err)
{
	char *path = xstrdup(dir);
	char *s;
	int rc = -1;

	for (s = path + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			err_set(err, GPUCTL_ERR_IO, "cannot create %s: %s",
				path, strerror(errno));
			goto out;
		}
		*s = c;
		if (!c)
			break;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash != path ? xstrndup(path, (size_t)(slash - path))
				      : xstrdup("/");
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int state_write_private(const char *path, const void *data, size_t len,
			int exclusive, struct gpuctl_err *err)
{
	char *dir = dir_of(path);
	char *tmp = NULL;
	unsigned char rnd[6];
	char hex[13];
	int fd = -1, dfd, rc = -1, saved;

	if (state_mkdirs(dir, err))
		goto out;
	if (digest_random(rnd, sizeof(rnd))) {
		err_set(err, GPUCTL_ERR_OTHER, "no random bytes");
		goto out;
	}
	hex_encode(rnd, sizeof(rnd), hex);
	tmp = xasprintf("%s.tmp-%s", path, hex);
	/* 0600 from creation: the umask can only take bits away */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		err_set(err, GPUCTL_ERR_IO, "cannot create %s: %s", tmp,
			strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) || write_all(fd, data, len) || fsync(fd)) {
		saved = errno;
		err_set(err, GPUCTL_ERR_IO, "cannot write %s: %s", tmp,
			strerror(saved));
		goto out_unlink;
	}
	if (close(fd)) {
		fd = -1;
		err_set(err, GPUCTL_ERR_IO, "cannot write %s: %s", tmp,
			strerror(errno));
		goto out_unlink;
	}
	fd = -1;
	if (exclusive) {
		/* link() fails when path exists: nothing is replaced */
		if (link(tmp, path)) {
			saved = errno;
			err_set(err, GPUCTL_ERR_IO, "cannot create %s: %s",
				path, strerror(saved));
			errno = saved;
			goto out_unlink;
		}
		unlink(tmp);
	} else if (rename(tmp, path)) {
		err_set(err, GPUCTL_ERR_IO, "cannot replace %s: %s", path,
			strerror(errno));
		goto out_unlink;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
	goto out;
out_unlink:
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(dir);
	return rc;
}

static char *region_file(const struct state_paths *p, const char *region,
			 const char *name)
{
	return xasprintf("%s/%s/%s", p->state_dir, region, name);
}

int state_last_instance(const struct state_paths *p, const char *region,
			char **id, struct gpuctl_err *err)
{
	char *path = region_file(p, region, "last-instance");
	struct buf b = BUF_INIT;
	int rc = -1;

	*id = NULL;
	if (read_file(path, &b)) {
		if (errno == ENOENT)
			rc = 0;
		else
			err_set(err, GPUCTL_ERR_IO, "cannot read %s: %s", path,
				strerror(errno));
		goto out;
	}
	b.data[strcspn(b.data, "\r\n")] = '\0';
	if (starts_with(b.data, "i-") && strlen(b.data) < 64)
		*id = xstrdup(b.data);
	rc = 0;
out:
	buf_release(&b);
	free(path);
	return rc;
}

int state_set_last_instance(const struct state_paths *p, const char *region,
			    const char *id, struct gpuctl_err *err)
{
	char *path = region_file(p, region, "last-instance");
	char *line = xasprintf("%s\n", id);
	int rc = state_write_private(path, line, strlen(line), 0, err);

	free(line);
	free(path);
	return rc;
}

char *state_new_token(void)
{
	unsigned char rnd[16];
	char *hex = xmalloc(33);

	if (digest_random(rnd, sizeof(rnd))) {
		/* the system's RNG failing is not recoverable */
		abort();
	}
	hex_encode(rnd, sizeof(rnd), hex);
	return hex;
}

/* The journal, locked for the time of one update. */
struct journal {
	char *path;
	int lock_fd;
	json_t *doc;
	json_t *entries;
};

static int journal_open(const struct state_paths *p, const char *region,
			struct journal *j, struct gpuctl_err *err)
{
	char *dir = xasprintf("%s/%s", p->state_dir, region);
	char *lock = xasprintf("%s/journal.lock", dir);
	json_error_t jerr;
	struct buf b = BUF_INIT;
	int rc = -1;

	j->path = xasprintf("%s/journal.json", dir);
	j->lock_fd = -1;
	j->doc = NULL;
	if (state_mkdirs(dir, err))
		goto out;
	j->lock_fd =
	    open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->lock_fd < 0 || flock(j->lock_fd, LOCK_EX)) {
		err_set(err, GPUCTL_ERR_IO, "cannot lock %s: %s", lock,
			strerror(errno));
		goto out;
	}
	if (read_file(j->path, &b)) {
		if (errno != ENOENT) {
			err_set(err, GPUCTL_ERR_IO, "cannot read %s: %s",
				j->path, strerror(errno));
			goto out;
		}
	} else {
		j->doc = json_loadb(b.data, b.len, 0, &jerr);
		if (!j->doc ||
		    !json_is_array(json_object_get(j->doc, "entries"))) {
			/* keep the damaged file for inspection */
			char *bad = xasprintf("%s.damaged", j->path);

			rename(j->path, bad);
			free(bad);
			json_decref(j->doc);
			j->doc = NULL;
		}
	}
	if (!j->doc) {
		j->doc = json_pack("{s:i, s:[]}", "version", 1, "entries");
	}
	j->entries = json_object_get(j->doc, "entries");
	rc = 0;
out:
	buf_release(&b);
	free(lock);
	free(dir);
	return rc;
}

static int journal_save(struct journal *j, struct gpuctl_err *err)
{
	char *text = json_dumps(j->doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	int rc;

	if (!text)
		return err_set(err, GPUCTL_ERR_OTHER, "cannot encode journal");
	rc = state_write_private(j->path, text, strlen(text), 0, err);
	free(text);
	return rc;
}

static void journal_close(struct journal *j)
{
	if (j->lock_fd >= 0)
		close(j->lock_fd); /* releases the lock */
	json_decref(j->doc);
	free(j->path);
}

static json_t *find_entry(json_t *entries, const char *key, const char *value)
{
	size_t i;
	json_t *e;

	json_array_foreach(entries, i, e)
	{
		const char *v = json_string_value(json_object_get(e, key));

		if (v && !strcmp(v, value))
			return e;
	}
	return NULL;
}

int state_journal_begin(const struct state_paths *p, const char *region,
			const char *fingerprint, long long now,
			struct state_journal_entry *e, struct gpuctl_err *err)
{
	struct journal j;
	json_t *ent, *ids;
	size_t i, n;
	int rc = -1;

	memset(e, 0, sizeof(*e));
	if (journal_open(p, region, &j, err))
		goto out;
	/* forget closed and stale entries */
	for (i = json_array_size(j.entries); i-- > 0;) {
		json_t *x = json_array_get(j.entries, i);
		json_int_t created =
		    json_integer_value(json_object_get(x, "created"));

		if (!json_is_true(json_object_get(x, "open")) ||
		    now - created > JOURNAL_MAX_AGE)
			json_array_remove(j.entries, i);
	}
	ent = find_entry(j.entries, "fingerprint", fingerprint);
	if (ent) {
		e->reused = 1;
		e->token =
		    xstrdup(json_string_value(json_object_get(ent, "token")));
	} else {
		e->token = state_new_token();
		ent = json_pack("{s:s, s:s, s:I, s:b, s:[]}", "fingerprint",
				fingerprint, "token", e->token, "created",
				(json_int_t)now, "open", 1, "instances");
		json_array_append_new(j.entries, ent);
	}
	ids = json_object_get(ent, "instances");
	n = json_array_size(ids);
	e->instance_ids = xcalloc(n + 1, sizeof(*e->instance_ids));
	for (i = 0; i < n; i++) {
		const char *id = json_string_value(json_array_get(ids, i));

		e->instance_ids[i] = xstrdup(id ? id : "");
	}
	/* saved before RunInstances is sent */
	if (journal_save(&j, err))
		goto out;
	rc = 0;
out:
	journal_close(&j);
	if (rc)
		state_journal_entry_release(e);
	return rc;
}

int state_journal_instances(const struct state_paths *p, const char *region,
			    const char *token, const char *const *ids, size_t n,
			    struct gpuctl_err *err)
{
	struct journal j;
	json_t *ent, *arr;
	size_t i;
	int rc = -1;

	if (journal_open(p, region, &j, err))
		goto out;
	ent = find_entry(j.entries, "token", token);
	if (ent) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_string(ids[i]));
		json_object_set_new(ent, "instances", arr);
		if (journal_save(&j, err))
			goto out;
	}
	rc = 0;
out:
	journal_close(&j);
	return rc;
}

int state_journal_end(const struct state_paths *p, const char *region,
		      const char *token, struct gpuctl_err *err)
{
	struct journal j;
	json_t *ent;
	int rc = -1;

	if (journal_open(p, region, &j, err))
		goto out;
	ent = find_entry(j.entries, "token", token);
	if (ent) {
		json_object_set_new(ent, "open", json_false());
		if (journal_save(&j, err))
			goto out;
	}
	rc = 0;
out:
	journal_close(&j);
	return rc;
}

void state_journal_entry_release(struct state_journal_entry *e)
{
	char **p;

	free(e->token);
	for (p = e->instance_ids; p && *p; p++)
		free(*p);
	free(e->instance_ids);
	memset(e, 0, sizeof(*e));
}
