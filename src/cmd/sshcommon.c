/*
 * SSH to instances: what launch, ssh, cp, test and ssh-config share.
 * Builds the ssh_target of an instance (address, login user, key, known
 * hosts, host keys pinned from the console output) and explains failed
 * logins the way the tutorial lists their causes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/log.h"
#include "gpuctl/ssh.h"
#include "gpuctl/state.h"
#include "gpuctl/svc.h"

/* Everything a target borrows, owned here. */
struct target {
	struct ssh_target t;
	struct state_paths paths;
	char *user;
	char *key_path;
	char *known_hosts;
	char **pins;
	struct ec2_image_list images;
};

static void target_release(struct target *x)
{
	state_paths_release(&x->paths);
	free(x->user);
	free(x->key_path);
	free(x->known_hosts);
	ssh_strv_free(x->pins);
	ec2_image_list_release(&x->images);
}

/* The login user: -l, else guessed from the AMI (looked up if needed). */
static char *login_user(struct gpuctl_ctx *ctx, const struct ec2_instance *i,
			const struct cmd_ssh_wait *w, struct target *x)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	const struct ec2_image *img = w ? w->image : NULL;

	if (w && w->user)
		return xstrdup(w->user);
	if (!img)
		img = svc_instance_image(ctx->ec2, i, &x->images, &err);
	err_clear(&err);
	if (!img)
		log_warn("cannot see image %s to guess the login user; "
			 "trying ec2-user (pass -l USER)",
			 i->image_id ? i->image_id : "?");
	return xstrdup(svc_login_user(img));
}

char *cmd_login_user(struct gpuctl_ctx *ctx, const struct ec2_instance *i,
		     const char *user)
{
	struct cmd_ssh_wait w = {0};
	struct target x;
	char *u;

	memset(&x, 0, sizeof(x));
	w.user = user;
	u = login_user(ctx, i, &w, &x);
	ec2_image_list_release(&x.images);
	return u;
}

/* Host key fingerprints from the console output, when it shows them. */
static char **console_pins(struct gpuctl_ctx *ctx, const char *id)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_console_output out = {0};
	char **pins = NULL;

	if (!ec2_get_console_output(ctx->ec2, id, 0, &out, &err) && out.output)
		pins = ssh_console_fingerprints(out.output, out.output_len);
	err_clear(&err);
	ec2_console_output_release(&out);
	if (pins && !pins[0]) {
		ssh_strv_free(pins);
		pins = NULL;
	}
	return pins;
}

static int make_target(struct gpuctl_ctx *ctx, const struct ec2_instance *i,
		       const struct cmd_ssh_wait *w, struct target *x,
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
	if (state_paths_init(&x->paths, ctx->envp, err))
		return -1;
	x->user = login_user(ctx, i, w, x);
	if (w && w->key_path)
		x->key_path = xstrdup(w->key_path);
	else if (i->key_name)
		x->key_path =
		    state_key_path(&x->paths, ctx->cfg.region, i->key_name);
	x->known_hosts = state_known_hosts_path(&x->paths);
	x->t.host = i->public_ip ? i->public_ip : i->public_dns;
	x->t.port = 22;
	x->t.user = x->user;
	x->t.identity_file = x->key_path;
	x->t.use_agent = env_get(ctx->envp, "SSH_AUTH_SOCK") != NULL;
	x->t.known_hosts = x->known_hosts;
	x->t.policy = w && w->accept_new_hostkey ? SSH_HOSTKEY_ACCEPT_NEW
						 : SSH_HOSTKEY_PIN_OR_TOFU;
	x->pins = console_pins(ctx, i->id);
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

/* Does any inbound rule of the instance's groups admit ip on TCP 22? */
static int group_admits(struct gpuctl_ctx *ctx, const struct ec2_instance *i,
			const char *ip)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_security_group_list gl = {0};
	struct ec2_describe q = {0};
	const char **ids = xcalloc(i->ngroups + 1, sizeof(*ids));
	size_t g, p, r;
	int admits = -1; /* unknown */

	for (g = 0; g < i->ngroups; g++)
		ids[g] = i->groups[g].id;
	q.ids = ids;
	q.nids = i->ngroups;
	if (i->ngroups &&
	    !ec2_describe_security_groups(ctx->ec2, &q, &gl, &err)) {
		admits = 0;
		for (g = 0; g < gl.n; g++)
			for (p = 0; p < gl.items[g].ningress; p++) {
				const struct ec2_permission *pm =
				    &gl.items[g].ingress[p];
				int all = !strcmp(pm->protocol, "-1");

				if (!all &&
				    (strcmp(pm->protocol, "tcp") ||
				     pm->from_port > 22 || pm->to_port < 22))
					continue;
				for (r = 0; r < pm->nranges; r++)
					if (svc_cidr_contains(
						pm->ranges[r].cidr, ip))
						admits = 1;
			}
	}
	err_clear(&err);
	ec2_security_group_list_release(&gl);
	free(ids);
	return admits;
}

/*
 * A failed connection or login: say which of the tutorial's causes holds
 * (not running, wrong key, wrong address, wrong user, a security group that
 * does not admit this machine's current IP) instead of a bare refusal.
 */
static void diagnose(struct gpuctl_ctx *ctx, const struct ec2_instance *i,
		     struct target *x, struct gpuctl_err *err)
{
	struct gpuctl_err e2 = GPUCTL_ERR_INIT;
	struct buf why = BUF_INIT;
	struct stat st;
	char *ip = NULL;
	int auth = err->message && (strstr(err->message, "authenticat") ||
				    strstr(err->message, "denied"));

	if (auth) {
		if (!x->images.n)
			svc_instance_image(ctx->ec2, i, &x->images, &e2);
		err_clear(&e2);
		if (x->key_path && is_rsa_key(x->key_path))
			buf_addf(&why,
				 "%s is an RSA key: libssh2 1.10 signs "
				 "RSA logins with ssh-rsa (SHA-1), which "
				 "OpenSSH 8.8 and later refuse; launch "
				 "with an ed25519 key pair (the default), "
				 "or pass -i with an ed25519 key",
				 x->key_path);
		else if (!x->key_path || stat(x->key_path, &st))
			buf_addf(&why,
				 "the private key of key pair %s is not "
				 "in %s (wrong key?); pass -i KEY",
				 i->key_name ? i->key_name : "(none)",
				 x->key_path ? x->key_path : "?");
		else
			buf_addf(&why,
				 "%s is not the right user, or %s not "
				 "the key of key pair %s: the AMI "
				 "suggests user '%s'; try -l USER or -i "
				 "KEY",
				 x->user, x->key_path,
				 i->key_name ? i->key_name : "?",
				 svc_login_user(
				     x->images.n ? &x->images.items[0] : NULL));
	} else if (!svc_caller_ip(ctx->envp, ctx->cfg.ca_bundle, &ip, &e2) &&
		   group_admits(ctx, i, ip) == 0) {
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

struct ssh_session *cmd_ssh_connect(struct gpuctl_ctx *ctx,
				    const struct ec2_instance *inst,
				    const struct cmd_ssh_wait *w,
				    struct gpuctl_err *err)
{
	struct ssh_hostkey_info info;
	struct ssh_session *s = NULL;
	struct target x;

	if (make_target(ctx, inst, w, &x, err))
		goto out;
	s = ssh_connect(&x.t, &info, err);
	if (!s && err->kind == GPUCTL_ERR_SSH && !err->hint)
		diagnose(ctx, inst, &x, err);
out:
	target_release(&x);
	return s;
}

struct wait_ctx {
	struct gpuctl_ctx *ctx;
	const char *id;
	long long start;
};

static void wait_stage(void *arg, const char *what)
{
	struct wait_ctx *w = arg;
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s: ssh: %s", w->id, what);
	cmd_progress(w->ctx, b.data,
		     (double)(svc_now_ms() - w->start) / 1000.0);
	buf_release(&b);
}

int cmd_wait_ssh(struct gpuctl_ctx *ctx, const struct ec2_instance_list *l,
		 const struct cmd_ssh_wait *w, struct gpuctl_err *err)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct ec2_instance *inst = &l->items[i];
		struct wait_ctx wc = {ctx, inst->id, svc_now_ms()};
		struct ssh_hostkey_info info;
		struct ssh_session *s;
		struct target x;

		if (make_target(ctx, inst, w, &x, err)) {
			target_release(&x);
			return -1;
		}
		x.t.new_instance = 1; /* launched just now */
		s = ssh_wait_ready(&x.t, w->deadline_ms, wait_stage, &wc, &info,
				   err);
		cmd_progress_done(ctx);
		if (!s) {
			if (err->kind == GPUCTL_ERR_SSH && !err->hint)
				diagnose(ctx, inst, &x, err);
			target_release(&x);
			return -1;
		}
		log_info("%s: ssh ready as %s@%s (%s %s%s)", inst->id, x.user,
			 x.t.host, info.type, info.fingerprint,
			 info.was_pinned ? ", pinned from the console" : "");
		ssh_close(s);
		target_release(&x);
	}
	return 0;
}
