/*
 * The key pair a launch logs in with and its private key file: the
 * default name, reuse, creation, and recovery of a key pair whose private
 * key was lost on the way (the .creating marker, a lost answer).
 */
#include "gpuctl/svc_keypair.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gpuctl/ec2.h"
#include "gpuctl/log.h"

char *svc_key_path(struct svc_ctx *s, const char *name, struct gpuctl_err *err)
{
	if (svc_ctx_paths(s, err))
		return NULL;
	return state_key_path(&s->paths, s->region, name);
}

char *svc_key_file(struct svc_ctx *s, const char *name)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	char *path = name ? svc_key_path(s, name, &err) : NULL;

	err_clear(&err);
	if (path && access(path, F_OK)) {
		free(path);
		path = NULL;
	}
	return path;
}

void svc_keypair_release(struct svc_keypair *k)
{
	free(k->name);
	free(k->path);
	k->name = NULL;
	k->path = NULL;
}

static char *default_key_name(void)
{
	char host[256] = "";
	struct buf b = BUF_INIT;
	const char *p;

	gethostname(host, sizeof(host) - 1);
	buf_adds(&b, "gpuctl-");
	for (p = host; *p && b.len < 64; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
			buf_addch(&b, *p);
		else if (*p == '.')
			break;
	if (b.len == 7)
		buf_adds(&b, "key");
	return buf_detach(&b, NULL);
}

/* What one ensure works with. */
struct keyjob {
	struct svc_ctx *s;
	struct svc_keypair *k;
	const char *key_type;
	char *nonce; /* tags a key pair this run creates */
};

static int key_tag_matches(const struct ec2_key_pair *k, const char *token)
{
	size_t i;

	for (i = 0; i < k->ntags; i++)
		if (!strcmp(k->tags[i].key, "gpuctl:launch") &&
		    !strcmp(k->tags[i].value, token))
			return 1;
	return 0;
}

/*
 * KEY.pem.creating holds the tag of a key pair being created: a launch
 * interrupted between CreateKeyPair and the private key on disk leaves it,
 * and the next one knows the key pair for its own, lost, and makes it again.
 */
static char *creating_path(const struct keyjob *j)
{
	return xasprintf("%s.creating", j->k->path);
}

/* 1 when key pair k is the one an interrupted launch was creating. */
static int key_was_being_created(const struct keyjob *j,
				 const struct ec2_key_pair *k)
{
	struct buf b = BUF_INIT;
	char *path = creating_path(j);
	int r = 0;

	if (!read_file(path, &b) && b.len) {
		if (b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		r = key_tag_matches(k, b.data);
	}
	buf_release(&b);
	free(path);
	return r;
}

/*
 * After InvalidKeyPair.Duplicate: 1 when the key pair is ours, made by a
 * request whose answer was lost (the key material with it).
 */
static int made_by_lost_request(const struct keyjob *j)
{
	struct ec2_key_pair_list kl = {0};
	struct ec2_describe q = {0};
	struct gpuctl_err e2 = GPUCTL_ERR_INIT;
	int ours;

	q.names = (const char *const *)&j->k->name;
	q.nnames = 1;
	ours = !ec2_describe_key_pairs(j->s->ec2, &q, &kl, &e2) && kl.n &&
	       key_tag_matches(&kl.items[0], j->nonce);
	ec2_key_pair_list_release(&kl);
	err_clear(&e2);
	return ours;
}

static int create_key(struct keyjob *j, struct gpuctl_err *err)
{
	struct ec2_key_pair kp = {0};
	struct ec2_param tags[2] = {{SVC_MANAGED_TAG, "true"},
				    {"gpuctl:launch", j->nonce}};
	struct buf pem = BUF_INIT;
	char *creating = creating_path(j);
	int rc = -1, tries;

	if (state_write_private(creating, j->nonce, strlen(j->nonce), 0, err))
		goto out;
	for (tries = 0; tries < 2; tries++) {
		if (!ec2_create_key_pair(j->s->ec2, j->k->name, j->key_type,
					 tags, 2, &kp, err))
			break;
		ec2_key_pair_release(&kp);
		if (!err->code || strcmp(err->code, "InvalidKeyPair.Duplicate"))
			goto out;
		/* ours, its answer lost: delete it and make it again */
		if (!made_by_lost_request(j))
			goto out;
		err_clear(err);
		log_info("key pair %s was made by a request whose "
			 "answer was lost: making it again",
			 j->k->name);
		if (ec2_delete_key_pair(j->s->ec2, j->k->name, err))
			goto out;
	}
	if (tries == 2)
		goto out;
	if (!kp.material || !kp.material_len) {
		err_set(err, GPUCTL_ERR_PARSE,
			"CreateKeyPair answered without key material");
		goto out;
	}
	/*
	 * EC2 sends the key without a final newline, and OpenSSH will not
	 * load an OpenSSH-format key without one ("error in libcrypto").
	 */
	buf_add(&pem, kp.material, kp.material_len);
	if (pem.data[pem.len - 1] != '\n')
		buf_addch(&pem, '\n');
	if (state_write_private(j->k->path, pem.data, pem.len, 1, err)) {
		struct gpuctl_err e2 = GPUCTL_ERR_INIT;

		/* an unusable key pair would block the next launch */
		ec2_delete_key_pair(j->s->ec2, j->k->name, &e2);
		err_clear(&e2);
		goto out;
	}
	log_info("created key pair %s, private key in %s", j->k->name,
		 j->k->path);
	rc = 0;
out:
	/* kept while a key pair of ours may be lost */
	if (rc == 0)
		unlink(creating);
	free(creating);
	buf_release_secret(&pem);
	ec2_key_pair_release(&kp);
	return rc;
}

/* A key file whose key pair is gone: keep it aside. */
static int move_aside(const struct keyjob *j, struct gpuctl_err *err)
{
	char *aside =
	    xasprintf("%s.orphaned-%lld", j->k->path, (long long)time(NULL));
	int rc = -1;

	if (rename(j->k->path, aside)) {
		err_set(err, GPUCTL_ERR_IO, "cannot move %s aside: %s",
			j->k->path, strerror(errno));
		goto out;
	}
	log_warn("key pair %s no longer exists in %s; its old "
		 "private key was moved to %s",
		 j->k->name, j->s->region, aside);
	rc = 0;
out:
	free(aside);
	return rc;
}

int svc_keypair_ensure(struct svc_ctx *s, const char *name,
		       const char *key_type, struct svc_keypair *out,
		       struct gpuctl_err *err)
{
	struct keyjob j = {s, out, key_type, NULL};
	struct ec2_key_pair_list kl = {0};
	struct ec2_describe q = {0};
	struct stat st;
	int have_local, rc = -1;

	memset(out, 0, sizeof(*out));
	out->name = name ? xstrdup(name) : default_key_name();
	out->path = svc_key_path(s, out->name, err);
	if (!out->path)
		return -1;
	j.nonce = state_new_token();
	have_local = !lstat(out->path, &st);
	q.names = (const char *const *)&out->name;
	q.nnames = 1;
	if (ec2_describe_key_pairs(s->ec2, &q, &kl, err)) {
		if (!err->code || strcmp(err->code, "InvalidKeyPair.NotFound"))
			goto out;
		err_clear(err);
		if (have_local && move_aside(&j, err))
			goto out;
		rc = create_key(&j, err);
		goto out;
	}
	if (!have_local && kl.n && key_was_being_created(&j, &kl.items[0])) {
		log_info("key pair %s was made by an interrupted launch "
			 "before its private key was saved: making it again",
			 out->name);
		if (ec2_delete_key_pair(s->ec2, out->name, err))
			goto out;
		rc = create_key(&j, err);
		goto out;
	}
	if (!have_local) {
		err_set(err, GPUCTL_ERR_OTHER,
			"key pair %.100s exists in %s, but its private key is "
			"not in %s",
			out->name, s->region, out->path);
		err_hint(err, "copy the private key there (chmod 600), or "
			      "pass --key NEW-NAME to create another key pair");
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		err_set(err, GPUCTL_ERR_OTHER,
			"private key %s is readable by others", out->path);
		err_hint(err, "chmod 600 %s", out->path);
		goto out;
	}
	rc = 0;
out:
	free(j.nonce);
	ec2_key_pair_list_release(&kl);
	return rc;
}
