/*
 * gpuctl doctor [INSTANCE]: checks, one by one, each known cause of a
 * failed launch or login (the tutorial's list: credentials and limits,
 * not running, wrong key, wrong address, wrong user, a security group
 * that does not admit the caller's current IP) and says which holds.
 * Each check asks a service (svc_provision.h for the limit,
 * svc_inventory.h, svc_keypair.h, svc_access.h) and words one row.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/out.h"
#include "gpuctl/svc_access.h"
#include "gpuctl/svc_inventory.h"
#include "gpuctl/svc_keypair.h"
#include "gpuctl/svc_provision.h"
#include "gpuctl/util.h"

const char cmd_doctor_usage[] =
    "usage: gpuctl doctor [INSTANCE]\n"
    "\n"
    "Checks each known cause of a failed launch or login and prints one\n"
    "line per check: CHECK, RESULT (OK, WARN or FAIL) and what to do.\n"
    "  credentials  where the credentials and the region come from, and\n"
    "               whether EC2 accepts them\n"
    "  limits       the account's instance limit; GPU instances also need\n"
    "               a vCPU quota per region (\"Running On-Demand G and VT\n"
    "               instances\"), 0 on new accounts, which only the Service\n"
    "               Quotas console shows and raises\n"
    "  state        the instance runs\n"
    "  key          the private key of its key pair is on this machine,\n"
    "               readable only by you (0600)\n"
    "  address      it has a public IP address and DNS name\n"
    "  user         the login user its image expects (ubuntu, ec2-user...)\n"
    "  ssh          a security group admits your current public IP on TCP\n"
    "               22 (GPUCTL_CALLER_IP overrides the address looked up)\n"
    "  outbound     it may open outbound HTTPS connections (pip, git)\n"
    "\n"
    "INSTANCE is an instance ID (i-...) or a Name tag; without it, the\n"
    "instance last launched with gpuctl in this region, and when there is\n"
    "none, only the credentials and limits are checked.\n"
    "\n"
    "Exit status: 0 when every check is OK or WARN, 1 when one FAILs.\n"
    "\n"
    "examples:\n"
    "  gpuctl doctor\n"
    "  gpuctl doctor my-gpu-box --output table\n"
    "\n"
    "JSON: {\"checks\": [{\"check\", \"result\", \"detail\"}]}.\n";

static const struct out_column cols[] = {
    {"CHECK", "check", 0},
    {"RESULT", "result", 0},
    {"DETAIL", "detail", 0},
};

#define QUOTAS_URL "https://console.aws.amazon.com/servicequotas/"

struct checks {
	struct out_table *t;
	int failed;
	struct svc_ctx svc;
};

static void check(struct checks *c, const char *name, const char *result,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void check(struct checks *c, const char *name, const char *result,
		  const char *fmt, ...)
{
	struct buf detail = BUF_INIT;
	const char *cells[3];
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&detail, fmt, ap);
	va_end(ap);
	cells[0] = name;
	cells[1] = result;
	cells[2] = detail.data;
	out_table_add(c->t, cells);
	if (!strcmp(result, "FAIL"))
		c->failed = 1;
	buf_release(&detail);
}

/* Errors that say the credentials themselves are refused. */
static int is_auth_error(const struct gpuctl_err *err)
{
	static const char *const codes[] = {
	    "AuthFailure",
	    "SignatureDoesNotMatch",
	    "InvalidClientTokenId",
	    "UnrecognizedClientException",
	    "ExpiredToken",
	    "RequestExpired",
	    "MissingAuthenticationToken",
	    "IncompleteSignature",
	    "RequestTimeTooSkewed",
	};
	size_t k;

	if (err->kind != GPUCTL_ERR_AWS || !err->code)
		return 0;
	for (k = 0; k < sizeof(codes) / sizeof(*codes); k++)
		if (!strcmp(err->code, codes[k]))
			return 1;
	return 0;
}

static void err_text(struct buf *b, const struct gpuctl_err *err)
{
	if (err->code)
		buf_addf(b, "%.100s: ", err->code);
	buf_addf(b, "%.300s", err->message ? err->message : "unknown error");
	if (err->hint)
		buf_addf(b, "; %.300s", err->hint);
}

/* (1) credentials and region, (2) limits.  Returns -1 to stop there. */
static int check_account(struct gpuctl_ctx *ctx, struct checks *c)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct buf where = BUF_INIT, msg = BUF_INIT;
	const char *region;
	char *max = NULL;
	char until[21];
	int rc = -1;

	if (cmd_svc_init(ctx, CMD_SVC_EC2, &c->svc, &err)) {
		err_text(&msg, &err);
		check(c, "credentials", "FAIL", "%s", msg.data);
		goto out;
	}
	region = ctx->cfg.region;
	creds_format_time(ctx->cfg.expiration, until);
	buf_addf(&where, "credentials from %s%s%s%s; region %s (%s)",
		 ctx->cfg.creds_source ? ctx->cfg.creds_source : "?",
		 ctx->cfg.expiration ? ", temporary until " : "",
		 ctx->cfg.expiration ? until : "",
		 ctx->cfg.refresh_at ? " (renewed as needed)" : "", region,
		 ctx->cfg.region_source ? ctx->cfg.region_source : "?");
	if (ctx->cfg.endpoint_source &&
	    strcmp(ctx->cfg.endpoint_source, "default"))
		buf_addf(&where, "; endpoint %s (%s)", ctx->cfg.endpoint_url,
			 ctx->cfg.endpoint_source);
	if (svc_account_max_instances(&c->svc, &max, &err)) {
		err_text(&msg, &err);
		if (is_auth_error(&err) || err.kind != GPUCTL_ERR_AWS) {
			check(c, "credentials", "FAIL", "%s: %s", where.data,
			      msg.data);
			goto out;
		}
		check(c, "credentials", "OK", "%s", where.data);
		check(c, "limits", "WARN",
		      "cannot read the account's limits: %s", msg.data);
		rc = 0;
		goto out;
	}
	check(c, "credentials", "OK", "%s", where.data);
	if (!max || !strcmp(max, "0"))
		check(c, "limits", "FAIL",
		      "the account may run no instances (max-instances %s): "
		      "request an increase at " QUOTAS_URL
		      " for \"Running On-Demand G and VT instances\" in %s",
		      max ? max : "missing", region);
	else
		check(c, "limits", "OK",
		      "max-instances %.20s; GPU types also need a vCPU quota "
		      "per region (0 on new accounts; launch then fails with "
		      "VcpuLimitExceeded): request \"Running On-Demand G and "
		      "VT instances\" at " QUOTAS_URL " in %s",
		      max, region);
	rc = 0;
out:
	free(max);
	buf_release(&where);
	buf_release(&msg);
	err_clear(&err);
	return rc;
}

static void check_state(struct checks *c, const struct ec2_instance *i)
{
	const char *s = i->state_name ? i->state_name : "unknown";

	if (!strcmp(s, "running"))
		check(c, "state", "OK", "%s is running", i->id);
	else if (!strcmp(s, "pending"))
		check(c, "state", "WARN",
		      "%s is pending: still booting, wait a minute", i->id);
	else if (!strcmp(s, "stopped") || !strcmp(s, "stopping"))
		check(c, "state", "FAIL",
		      "%s is %s: start it with 'gpuctl "
		      "start %s --wait'",
		      i->id, s, i->id);
	else
		check(c, "state", "FAIL",
		      "%s is %s: it is gone, launch another with 'gpuctl "
		      "launch'",
		      i->id, s);
}

static void check_key(struct checks *c, const struct ec2_instance *i)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct stat st;
	char *path = NULL;

	if (!i->key_name) {
		check(c, "key", "FAIL",
		      "%s was launched without a key pair: no key can log in; "
		      "launch another with gpuctl launch",
		      i->id);
		return;
	}
	path = svc_key_path(&c->svc, i->key_name, &err);
	if (!path) {
		check(c, "key", "WARN", "cannot find gpuctl's folders: %.300s",
		      err.message);
		err_clear(&err);
		return;
	}
	if (stat(path, &st)) {
		if (errno == ENOENT)
			check(c, "key", "FAIL",
			      "no private key of key pair %s at %s: use the "
			      "file you saved ('gpuctl ssh -i FILE'), or "
			      "launch with a new key",
			      i->key_name, path);
		else
			check(c, "key", "FAIL", "cannot read %s: %s", path,
			      strerror(errno));
	} else if (st.st_mode & 077) {
		check(c, "key", "FAIL",
		      "%s is readable by others (mode %04o), ssh refuses it: "
		      "chmod 600 %s",
		      path, (unsigned)(st.st_mode & 07777), path);
	} else {
		check(c, "key", "OK", "%s (key pair %s)", path, i->key_name);
	}
	free(path);
}

static void check_address(struct checks *c, const struct ec2_instance *i)
{
	const char *s = i->state_name ? i->state_name : "unknown";

	if (i->public_ip)
		check(c, "address", "OK", "%s%s%s%s", i->public_ip,
		      i->public_dns ? " (" : "",
		      i->public_dns ? i->public_dns : "",
		      i->public_dns ? ")" : "");
	else if (strcmp(s, "running") && strcmp(s, "pending"))
		check(c, "address", "WARN",
		      "no public IP while %s: it gets one when it starts", s);
	else
		check(c, "address", "FAIL",
		      "no public IP: the subnet does not assign one; launch in "
		      "a subnet that does, or associate an Elastic IP");
}

static void check_user(struct checks *c, const struct ec2_instance *i)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_image_list l = {0};
	struct buf msg = BUF_INIT;
	const char *id = i->image_id;
	const struct ec2_image *img;

	if (!id) {
		check(c, "user", "WARN",
		      "its image is unknown: try ubuntu or "
		      "ec2-user ('gpuctl ssh -l USER')");
		return;
	}
	img = svc_instance_image(&c->svc, i, &l, &err);
	if (!img) {
		if (err.kind != GPUCTL_ERR_NONE)
			err_text(&msg, &err);
		check(c, "user", "WARN",
		      "image %s is not visible%s%s: try ubuntu or ec2-user "
		      "('gpuctl ssh -l USER')",
		      id, msg.len ? ": " : "", msg.data);
	} else {
		check(c, "user", "OK", "%s (image %.100s)", svc_login_user(img),
		      img->name ? img->name : id);
	}
	buf_release(&msg);
	ec2_image_list_release(&l);
	err_clear(&err);
}

/* (7) TCP 22 from the caller's IP, (8) outbound HTTPS. */
static void check_groups(struct checks *c, const struct ec2_instance *i)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_security_group_list gl = {0};
	struct buf msg = BUF_INIT;
	char *ip = NULL;
	const struct ec2_security_group *ok_group = NULL;
	const struct ec2_ip_range *ok_range;
	const char *out_how = NULL;
	size_t k, n = 0, g, r;

	for (k = 0; k < i->ngroups; k++)
		n += i->groups[k].id != NULL;
	if (!n) {
		check(c, "ssh", "FAIL", "%s has no security group", i->id);
		goto out;
	}
	if (svc_instance_groups(&c->svc, i, &gl, &err)) {
		err_text(&msg, &err);
		check(c, "ssh", "WARN", "cannot read its security groups: %s",
		      msg.data);
		goto out;
	}
	if (svc_caller_ip(&c->svc, &ip, &err)) {
		err_text(&msg, &err);
		check(c, "ssh", "WARN",
		      "cannot learn your public IP (%s): check that 'gpuctl "
		      "rules' admits it on TCP 22",
		      msg.data);
	} else {
		ok_range = svc_groups_admit_ssh(&gl, ip, &ok_group);
		if (ok_range)
			check(c, "ssh", "OK", "%s admits %s on TCP 22 (%s)",
			      ok_group->id, ip, ok_range->cidr);
		else
			check(c, "ssh", "FAIL",
			      "no security group of %s admits your IP %s on "
			      "TCP 22: gpuctl rules add in tcp 22 %s/32 %s",
			      i->id, ip, ip, i->id);
	}
	for (g = 0; !out_how && g < gl.n; g++)
		for (k = 0; !out_how && k < gl.items[g].negress; k++) {
			const struct ec2_permission *pm =
			    &gl.items[g].egress[k];

			if (!svc_permission_covers_tcp(pm, 443))
				continue;
			for (r = 0; r < pm->nranges; r++)
				if (!strcmp(pm->ranges[r].cidr, "0.0.0.0/0")) {
					out_how = strcmp(pm->protocol, "-1")
						      ? "HTTPS (tcp 443) "
							"allowed to 0.0.0.0/0"
						      : "all traffic allowed "
							"to 0.0.0.0/0";
					break;
				}
		}
	if (out_how)
		check(c, "outbound", "OK", "%s", out_how);
	else
		check(c, "outbound", "WARN",
		      "no outbound HTTPS to the internet: pip, conda and git "
		      "will fail; gpuctl rules add out tcp 443 0.0.0.0/0 %s",
		      i->id);
out:
	free(ip);
	buf_release(&msg);
	ec2_security_group_list_release(&gl);
	err_clear(&err);
}

/* The instance to check, or none (only the account checks). */
static int check_instance(struct checks *c, const char *arg)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ec2_instance_list l = {0};
	struct buf msg = BUF_INIT;
	char *last = NULL;
	const struct ec2_instance *i;
	int rc = -1;

	if (svc_ctx_paths(&c->svc, &err)) {
		err_text(&msg, &err);
		check(c, "state", "WARN", "%s", msg.data);
		err_clear(&err);
		buf_release(&msg);
		return 0;
	}
	if (!arg && svc_last_instance(&c->svc, &last, &err)) {
		err_text(&msg, &err);
		check(c, "state", "WARN", "%s", msg.data);
		rc = 0;
		goto out;
	}
	if (!arg && !last) {
		rc = 0;
		goto out;
	}
	if (svc_resolve_instances(&c->svc, &arg, arg ? 1 : 0, &l, &err)) {
		err_text(&msg, &err);
		check(c, "state", "FAIL", "%s", msg.data);
		rc = 0;
		goto out;
	}
	i = &l.items[0];
	check_state(c, i);
	check_key(c, i);
	check_address(c, i);
	check_user(c, i);
	check_groups(c, i);
	rc = 0;
out:
	free(last);
	buf_release(&msg);
	ec2_instance_list_release(&l);
	err_clear(&err);
	return rc;
}

/* No CMD_NEEDS_EC2: a credentials failure is one of its checks. */
const struct cmd_parse cmd_doctor_parse = {NULL, 0, cmd_check_instance};

int cmd_doctor(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct checks c = {0};
	struct cmd_args args;
	int status = 0;

	if (cmd_parse_options(ctx, argc, argv, &cmd_doctor_parse, NULL, &args,
			      &err)) {
		status = cmd_report(&err, NULL);
		goto out;
	}
	c.t = out_table_new(cols, sizeof(cols) / sizeof(*cols));
	if (!check_account(ctx, &c))
		check_instance(&c, args.argc ? args.argv[0] : NULL);
	if (out_table_print(c.t, ctx->output, "checks", stdout))
		status = 1;
	else
		status = c.failed ? 1 : 0;
out:
	out_table_free(c.t);
	svc_ctx_release(&c.svc);
	err_clear(&err);
	return status;
}
