/* What the subcommands share: global options, the EC2 client, errors. */
#include "gpuctl/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpuctl/ec2.h"
#include "gpuctl/log.h"
#include "gpuctl/out.h"
#include "gpuctl/sts.h"
#include "gpuctl/util.h"

/* Matches --name VALUE and --name=VALUE; *value is set on a match. */
static int match_valued(const char *name, int argc, char **argv, int *i,
			const char **value, struct gpuctl_err *err)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (*i + 1 >= argc) {
		err_set(err, GPUCTL_ERR_USAGE, "option %s needs a value", name);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

int cmd_global_option(struct gpuctl_ctx *ctx, int argc, char **argv, int *i,
		      struct gpuctl_err *err)
{
	static const char *const valued[] = {"--region", "--profile",
					     "--endpoint-url", "--output"};
	const char *a = argv[*i], *v = NULL;
	size_t k;
	int r = 0;

	if (!strcmp(a, "--debug")) {
		ctx->debug++;
		log_set_level(ctx->debug > 1 ? LOG_DEBUG2 : LOG_DEBUG);
		return 1;
	}
	if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
		ctx->quiet = 1;
		if (!ctx->debug)
			log_set_level(LOG_ERROR);
		return 1;
	}
	if (!strcmp(a, "--no-color")) {
		ctx->color = 0;
		return 1;
	}
	for (k = 0; k < sizeof(valued) / sizeof(*valued); k++) {
		r = match_valued(valued[k], argc, argv, i, &v, err);
		if (r)
			break;
	}
	if (r <= 0)
		return r;
	switch (k) {
	case 0:
		ctx->region_flag = v;
		break;
	case 1:
		ctx->profile_flag = v;
		break;
	case 2:
		ctx->endpoint_flag = v;
		break;
	default:
		if (!strcmp(v, "text"))
			ctx->output = OUT_TEXT;
		else if (!strcmp(v, "json"))
			ctx->output = OUT_JSON;
		else if (!strcmp(v, "table"))
			ctx->output = OUT_TABLE;
		else
			return err_set(err, GPUCTL_ERR_USAGE,
				       "--output must be text, json or table, "
				       "not '%.40s'",
				       v);
	}
	return 1;
}

/* What creds reads: the options, the environment, STS through src/ec2. */
static void creds_inputs_of(struct gpuctl_ctx *ctx, struct creds_inputs *in)
{
	in->envp = ctx->envp;
	in->profile = ctx->profile_flag;
	in->region = ctx->region_flag;
	in->endpoint_url = ctx->endpoint_flag;
	in->service_env = "EC2";
	in->sts.call = ec2_sts_call;
}

/* The EC2 client's refresh callback: temporary keys, renewed. */
static int refresh_creds(void *arg, int force, struct ec2_credentials *out,
			 struct gpuctl_err *err)
{
	struct gpuctl_ctx *ctx = arg;
	struct creds_inputs in = {0};
	int r;

	creds_inputs_of(ctx, &in);
	r = creds_refresh(&in, &ctx->cfg, force, err);
	if (r > 0) {
		log_debug("credentials refreshed from %s",
			  ctx->cfg.creds_source);
		out->access_key_id = ctx->cfg.access_key_id;
		out->secret_access_key = ctx->cfg.secret_access_key;
		out->session_token = ctx->cfg.session_token;
	}
	return r;
}

int cmd_ec2(struct gpuctl_ctx *ctx, struct gpuctl_err *err)
{
	struct creds_inputs in = {0};
	struct ec2_client_options o = {0};

	if (ctx->ec2)
		return 0;
	creds_inputs_of(ctx, &in);
	if (!ctx->have_cfg) {
		if (creds_resolve_region(&in, &ctx->cfg, err))
			return -1;
		ctx->have_cfg = 1;
		if (creds_resolve_credentials(&in, &ctx->cfg, err))
			return -1;
		if (ctx->cfg.creds_world_readable)
			log_warn("%s is readable by other users; "
				 "chmod 600 it",
				 ctx->cfg.creds_source);
		log_debug("credentials from %s", ctx->cfg.creds_source);
	}
	o.endpoint_url = ctx->cfg.endpoint_url;
	o.region = ctx->cfg.region;
	o.access_key_id = ctx->cfg.access_key_id;
	o.secret_access_key = ctx->cfg.secret_access_key;
	o.session_token = ctx->cfg.session_token;
	o.ca_bundle = ctx->cfg.ca_bundle;
	if (ctx->cfg.refresh_at) {
		o.refresh = refresh_creds;
		o.refresh_arg = ctx;
	}
	ctx->ec2 = ec2_client_new(&o, err);
	return ctx->ec2 ? 0 : -1;
}

/* Untrusted text for a message: no control characters, at most max. */
static void add_clean(struct buf *b, const char *s, size_t max)
{
	size_t n;

	for (n = 0; s && s[n] && n < max; n++) {
		unsigned char c = (unsigned char)s[n];

		buf_addch(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	if (s && s[n])
		buf_adds(b, "...");
}

int cmd_report(const struct gpuctl_err *err, const char *what)
{
	struct buf b = BUF_INIT;
	char *safe;

	buf_adds(&b, "gpuctl: ");
	if (what)
		buf_addf(&b, "%s: ", what);
	if (err->kind == GPUCTL_ERR_AWS && err->code) {
		add_clean(&b, err->code, 100);
		buf_adds(&b, ": ");
	}
	add_clean(&b, err->message ? err->message : "unknown error", 1000);
	if (err->request_id) {
		buf_adds(&b, " (request ID ");
		add_clean(&b, err->request_id, 100);
		buf_adds(&b, ")");
	}
	buf_addch(&b, '\n');
	if (err->hint) {
		buf_adds(&b, "hint: ");
		add_clean(&b, err->hint, 1000);
		buf_addch(&b, '\n');
	}
	/* the logger's redaction, in case a secret slipped into a message */
	safe = log_redact(b.data, b.len);
	fputs(safe, stderr);
	free(safe);
	buf_release(&b);
	return err_exit_status(err);
}

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gpuctl: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nhint: see 'gpuctl help %s'\n", cmd);
	return 2;
}

void cmd_progress(void *arg, const char *what, double elapsed_s)
{
	struct gpuctl_ctx *ctx = arg;
	struct buf b = BUF_INIT;
	size_t cut;

	if (ctx->quiet || !isatty(STDERR_FILENO))
		return;
	out_sanitize(&b, what);
	/* one line: cut at a character boundary */
	for (cut = b.len < 150 ? b.len : 150;
	     cut < b.len && (b.data[cut] & 0xc0) == 0x80; cut--)
		;
	fprintf(stderr, "\r\033[K%.*s (%.0f s)", (int)cut, b.data, elapsed_s);
	fflush(stderr);
	ctx->progress_shown = 1;
	buf_release(&b);
}

void cmd_progress_done(struct gpuctl_ctx *ctx)
{
	if (!ctx->progress_shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	ctx->progress_shown = 0;
}
