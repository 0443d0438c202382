/*
 * Reaching an instance over SSH: the ssh_target of an instance (address,
 * login user, key, known hosts, host keys pinned from the console
 * output), connecting, waiting for SSH, and explaining a failed login the
 * way the tutorial lists its causes.
 */
#include "gpuctl/svc_reach.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gpuctl/log.h"
#include "gpuctl/ssh.h"
#include "gpuctl/svc_access.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/svc_keypair.h"

/* Everything a target borrows, owned here. */
struct target {
	struct ssh_target t;
	struct svc_login login;
	char **pins;
	struct ec2_image_list images; /* the instance's, once looked up */
};

static void target_release(struct target *x)
{
	svc_login_release(&x->login);
	ssh_strv_free(x->pins);
	ec2_image_list_release(&x->images);
}

void svc_login_release(struct svc_login *l)
{
	free(l->user);
	free(l->key_path);
	free(l->known_hosts);
	memset(l, 0, sizeof(*l));
}

/* The login for i; the image looked up for the user goes to images. */
static int login_of(struct svc_ctx *s, const struct ec2_instance *i,
		    const struct svc_reach_opts *o, struct svc_login *out,
		    struct ec2_image_list *images, struct gpuctl_err *err)
{
	memset(out, 0, sizeof(*out));
	if (svc_ctx_paths(s, err))
		return -1;
	out->user = svc_instance_login_user(s, i, o ? o->image : NULL,
					    o ? o->user : NULL, images);
	if (o && o->key_path)
		out->key_path = xstrdup(o->key_path);
	else if (i->key_name)
		out->key_path = svc_key_path(s, i->key_name, err);
	out->known_hosts = state_known_hosts_path(&s->paths);
	return 0;
}

int svc_login_of(struct svc_ctx *s, const struct ec2_instance *inst,
		 const struct svc_reach_opts *o, struct svc_login *out,
		 struct gpuctl_err *err)
{
	struct ec2_image_list images = {0};
	int rc = login_of(s, inst, o, out, &images, err);

	ec2_image_list_release(&images);
	return rc;
}

/* Host key fingerprints from the console output, when it shows them. */
static char **console_pins(struct svc_ctx *s, const char *id)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_console_output out = {0};
	char **pins = NULL;

	if (!ec2_get_console_output(s->ec2, id, 0, &out, &err) && out.output)
		pins = ssh_console_fingerprints(out.output, out.output_len);
	err_clear(&err);
	ec2_console_output_release(&out);
	if (pins && !pins[0]) {
		ssh_strv_free(pins);
		pins = NULL;
	}
	return pins;
}

static int make_target(struct svc_ctx *s, const struct ec2_instance *i,
		       const struct svc_reach_opts *o, struct target *x,
		       struct gpuctl_err *err)
{
	const char *state = i->state_name ? i->state_name : "unknown";

	memset(x, 0, sizeof(*x));
	if (strcmp(state, "running")) {
		err_set(err, GPUCTL_ERR_SSH, "%s is %s, not running", i->id,
			state);
		if (!strcmp(state, "stopped"))
			err_hint(err, "start it with 'gpuctl start %s'", i->id);
		return -1;
	}
	if (!i->public_ip && !i->public_dns) {
		err_set(err, GPUCTL_ERR_SSH, "%s has no public address", i->id);
		err_hint(err, "its subnet gives no public IPs; launch with "
			      "--subnet of a public subnet");
		return -1;
	}
	if (login_of(s, i, o, &x->login, &x->images, err))
		return -1;
	x->t.host = i->public_ip ? i->public_ip : i->public_dns;
	x->t.port = 22;
	x->t.user = x->login.user;
	x->t.identity_file = x->login.key_path;
	x->t.use_agent = env_get(s->envp, "SSH_AUTH_SOCK") != NULL;
	x->t.known_hosts = x->login.known_hosts;
	x->t.policy = o && o->accept_new_hostkey ? SSH_HOSTKEY_ACCEPT_NEW
						 : SSH_HOSTKEY_PIN_OR_TOFU;
	x->pins = console_pins(s, i->id);
	x->t.pinned = (const char *const *)x->pins;
	return 0;
}

/* 1 when the private key file holds an RSA key. */
static int is_rsa_key(const char *path)
{
	struct buf b = BUF_INIT;
	int rsa = 0;

	if (!read_file(path, &b))
		rsa = strstr(b.data, "BEGIN RSA PRIVATE KEY") != NULL;
	buf_release_secret(&b);
	return rsa;
}

/* Does a security group of the instance admit ip on SSH?  -1: unknown. */
static int group_admits(struct svc_ctx *s, const struct ec2_instance *i,
			const char *ip)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_security_group_list gl = {0};
	int admits = -1;

	if (i->ngroups && !svc_instance_groups(s, i, &gl, &err))
		admits = svc_groups_admit_ssh(&gl, ip, NULL) != NULL;
	err_clear(&err);
	ec2_security_group_list_release(&gl);
	return admits;
}

/*
 * A failed connection or login: say which of the tutorial's causes holds
 * (not running, wrong key, wrong address, wrong user, a security group that
 * does not admit this machine's current IP) instead of a bare refusal.
 */
static void diagnose(struct svc_ctx *s, const struct ec2_instance *i,
		     struct target *x, struct gpuctl_err *err)
{
	struct gpuctl_err e2 = GPUCTL_ERR_INIT;
	struct buf why = BUF_INIT;
	struct stat st;
	const char *key = x->login.key_path;
	char *ip = NULL;
	int auth = err->message && (strstr(err->message, "authenticat") ||
				    strstr(err->message, "denied"));

	if (auth) {
		if (!x->images.n)
			svc_instance_image(s, i, &x->images, &e2);
		err_clear(&e2);
		if (key && !ssh_rsa_sha2_logins() && is_rsa_key(key))
			buf_addf(&why,
				 "%s is an RSA key: this gpuctl's libssh2 "
				 "(%s) signs RSA logins with ssh-rsa "
				 "(SHA-1), which OpenSSH 8.8 and later "
				 "refuse; build gpuctl without "
				 "LIBSSH2=system, or launch with an ed25519 "
				 "key pair (the default), or pass -i with "
				 "an ed25519 key",
				 key, ssh_lib_version());
		else if (!key || stat(key, &st))
			buf_addf(&why,
				 "the private key of key pair %s is not "
				 "in %s (wrong key?); pass -i KEY",
				 i->key_name ? i->key_name : "(none)",
				 key ? key : "?");
		else
			buf_addf(&why,
				 "%s is not the right user, or %s not "
				 "the key of key pair %s: the AMI "
				 "suggests user '%s'; try -l USER or -i "
				 "KEY",
				 x->login.user, key,
				 i->key_name ? i->key_name : "?",
				 svc_login_user(
				     x->images.n ? &x->images.items[0] : NULL));
	} else if (!svc_caller_ip(s, &ip, &e2) && group_admits(s, i, ip) == 0) {
		buf_addf(&why,
			 "the security group does not admit your IP %s "
			 "on TCP 22 (it may have changed); run 'gpuctl "
			 "rules add in tcp 22 %s/32 %s'",
			 ip, ip, i->id);
	} else {
		buf_addf(&why,
			 "check the address %s (re-launched "
			 "instances change it) and that sshd runs; "
			 "see 'gpuctl doctor %s'",
			 x->t.host, i->id);
	}
	err_hint(err, "%s", why.data);
	err_clear(&e2);
	free(ip);
	buf_release(&why);
}

struct ssh_session *svc_ssh_connect(struct svc_ctx *s,
				    const struct ec2_instance *inst,
				    const struct svc_reach_opts *o,
				    struct gpuctl_err *err)
{
	struct ssh_hostkey_info info;
	struct ssh_session *ss = NULL;
	struct target x;

	if (make_target(s, inst, o, &x, err))
		goto out;
	ss = ssh_connect(&x.t, &info, err);
	if (!ss && err->kind == GPUCTL_ERR_SSH && !err->hint)
		diagnose(s, inst, &x, err);
out:
	target_release(&x);
	return ss;
}

struct wait_ctx {
	struct svc_ctx *s;
	const char *id;
	long long start;
};

static void wait_stage(void *arg, const char *what)
{
	struct wait_ctx *w = arg;
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s: ssh: %s", w->id, what);
	svc_progress(w->s, b.data, (double)(svc_now_ms() - w->start) / 1000.0);
	buf_release(&b);
}

int svc_wait_ssh(struct svc_ctx *s, const struct ec2_instance_list *l,
		 const struct svc_reach_opts *o, struct gpuctl_err *err)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct ec2_instance *inst = &l->items[i];
		struct wait_ctx wc = {s, inst->id, svc_now_ms()};
		struct ssh_hostkey_info info;
		struct ssh_session *ss;
		struct target x;

		if (make_target(s, inst, o, &x, err)) {
			target_release(&x);
			return -1;
		}
		x.t.new_instance = 1; /* launched just now */
		ss = ssh_wait_ready(&x.t, o->deadline_ms, wait_stage, &wc,
				    &info, err);
		svc_progress_done(s);
		if (!ss) {
			if (err->kind == GPUCTL_ERR_SSH && !err->hint)
				diagnose(s, inst, &x, err);
			target_release(&x);
			return -1;
		}
		log_info("%s: ssh ready as %s@%s (%s %s%s)", inst->id,
			 x.login.user, x.t.host, info.type, info.fingerprint,
			 info.was_pinned ? ", pinned from the console" : "");
		ssh_close(ss);
		target_release(&x);
	}
	return 0;
}
