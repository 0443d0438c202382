/*
 * What the subcommands share: the global and SSH option tables, the one
 * parse call (cmd_parse_options) and the checks of positional words, the
 * services' context, errors, the progress line, and the run and printer
 * of the GPU tests (gpuctl test and launch --test).
 */
#include "gpuctl/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpuctl/ec2.h"
#include "gpuctl/log.h"
#include "gpuctl/out.h"
#include "gpuctl/ssh.h"
#include "gpuctl/sts.h"
#include "gpuctl/svc.h"
#include "gpuctl/svc_gputest.h"
#include "gpuctl/svc_reach.h"
#include "gpuctl/util.h"

/* --output text|json|table into the enum */
static int output_cb(const struct cmd_option *opt, void *field, const char *v,
		     struct gpuctl_err *err)
{
	static const char *const names[] = {"text", "json", "table", NULL};
	static const enum out_format formats[] = {OUT_TEXT, OUT_JSON,
						  OUT_TABLE};
	int k = cmd_opt_choice(opt, names, v, err);

	if (k < 0)
		return -1;
	*(enum out_format *)field = formats[k];
	return 0;
}

const struct cmd_option cmd_global_options[] = {
    CMD_OPT_STRING(0, "region", struct gpuctl_ctx, region_flag),
    CMD_OPT_STRING(0, "profile", struct gpuctl_ctx, profile_flag),
    CMD_OPT_STRING(0, "endpoint-url", struct gpuctl_ctx, endpoint_flag),
    CMD_OPT_CALLBACK(0, "output", struct gpuctl_ctx, output, output_cb, 0),
    CMD_OPT_COUNT(0, "debug", struct gpuctl_ctx, debug),
    CMD_OPT_FLAG('q', "quiet", struct gpuctl_ctx, quiet),
    CMD_OPT_SET_INT(0, "no-color", struct gpuctl_ctx, color, 0),
    CMD_OPT_END(),
};

const struct cmd_option cmd_ssh_options[] = {
    CMD_OPT_STRING('l', NULL, struct svc_reach_opts, user),
    CMD_OPT_STRING('i', NULL, struct svc_reach_opts, key_path),
    CMD_OPT_FLAG(0, "accept-new-hostkey", struct svc_reach_opts,
		 accept_new_hostkey),
    CMD_OPT_END(),
};

void cmd_apply_globals(const struct gpuctl_ctx *ctx)
{
	/* --debug wins over -q, in whichever order they came */
	if (ctx->debug)
		log_set_level(ctx->debug > 1 ? LOG_DEBUG2 : LOG_DEBUG);
	else if (ctx->quiet)
		log_set_level(LOG_ERROR);
}

int cmd_parse_options(struct gpuctl_ctx *ctx, int argc, char **argv,
		      const struct cmd_parse *p, void *opts,
		      struct cmd_args *args, struct gpuctl_err *err)
{
	static const struct cmd_option none[] = {CMD_OPT_END()};
	const char *name = argc > 0 ? argv[0] : "gpuctl";
	struct cmd_option root[] = {
	    CMD_OPT_INCLUDE_AT(p && p->options ? p->options : none, opts),
	    CMD_OPT_INCLUDE_AT(cmd_global_options, ctx),
	    CMD_OPT_END(),
	};
	int r;

	r = cmd_opt_parse(argc, argv, root, NULL, p ? p->flags : 0, args, err);
	cmd_apply_globals(ctx);
	if (!r && p && p->check)
		r = p->check(opts, args, err);
	if (r) {
		if (err->kind == GPUCTL_ERR_USAGE) {
			err_prefix(err, "%.100s", name);
			if (!err->hint)
				err_hint(err, "see 'gpuctl help %.100s'", name);
		}
		return -1;
	}
	if (ctx->cmd_flags & CMD_NEEDS_EC2)
		return cmd_ec2(ctx, err);
	return 0;
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

int cmd_report_parse(const struct gpuctl_err *err, const char *what)
{
	return cmd_report(err, err->kind == GPUCTL_ERR_USAGE ? NULL : what);
}

int cmd_check_words(const struct cmd_args *args, int max, const char *why,
		    struct gpuctl_err *err)
{
	if (args->argc <= max)
		return 0;
	return err_set(err, GPUCTL_ERR_USAGE,
		       "unexpected argument '%.100s'%s%s", args->argv[max],
		       why ? ": " : "", why ? why : "");
}

int cmd_check_no_words(void *opts, const struct cmd_args *args,
		       struct gpuctl_err *err)
{
	(void)opts;
	return cmd_check_words(args, 0, NULL, err);
}

int cmd_check_instance(void *opts, const struct cmd_args *args,
		       struct gpuctl_err *err)
{
	(void)opts;
	return cmd_check_words(args, 1, "one INSTANCE at a time", err);
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

int cmd_svc_init(struct gpuctl_ctx *ctx, enum cmd_svc_needs needs,
		 struct svc_ctx *s, struct gpuctl_err *err)
{
	memset(s, 0, sizeof(*s));
	s->envp = ctx->envp;
	s->report.progress = cmd_progress;
	s->report.done = cmd_progress_done;
	s->report.arg = ctx;
	if (cmd_ec2(ctx, err))
		return -1;
	s->ec2 = ctx->ec2;
	s->region = ctx->cfg.region;
	s->ca_bundle = ctx->cfg.ca_bundle;
	if ((needs & CMD_SVC_STATE) && svc_ctx_paths(s, err))
		return -1;
	return 0;
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

void cmd_progress(void *arg, const char *what, double elapsed_s)
{
	struct gpuctl_ctx *ctx = arg;
	struct buf b = BUF_INIT;
	int cut;

	if (ctx->quiet || !isatty(STDERR_FILENO))
		return;
	out_sanitize(&b, what);
	/* one line: cut at a character boundary */
	cut = out_utf8_prefix(b.data, 150);
	fprintf(stderr, "\r\033[K%.*s (%.0f s)", cut, b.data, elapsed_s);
	fflush(stderr);
	ctx->progress_shown = 1;
	buf_release(&b);
}

void cmd_progress_done(void *arg)
{
	struct gpuctl_ctx *ctx = arg;

	if (!ctx->progress_shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	ctx->progress_shown = 0;
}

/* ---- gpuctl test and launch --test: one run, one printer ---- */

#define TAIL_LINES 10

static const struct out_column check_cols[] = {
    {"CHECK", "name", 0},
    {"RESULT", "result", 0},
    {"SECONDS", "seconds", 0},
    {"DETAIL", "detail", 0},
};

static const struct out_column gpu_cols[] = {
    {"INDEX", "index", 1},
    {"NAME", "name", 0},
    {"MEMORY MIB", "memoryTotalMiB", 1},
    {"USED MIB", "memoryUsedMiB", 1},
    {"DRIVER", "driverVersion", 0},
    {"UUID", "uuid", 0},
};

/* The last lines of out, on stderr, made safe for the terminal. */
static void print_tail(const char *name, int status, const struct buf *out)
{
	const char *p = out->data + out->len;
	struct buf line = BUF_INIT;
	int lines = 0;

	while (p > out->data && lines <= TAIL_LINES)
		if (*--p == '\n' && p + 1 < out->data + out->len)
			lines++;
	if (*p == '\n')
		p++;
	fprintf(stderr, "--- %s failed (exit %d); last lines of its output:\n",
		name, status);
	while (*p) {
		const char *nl = strchr(p, '\n');
		char *l = xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));

		buf_reset(&line);
		out_sanitize(&line, l);
		fprintf(stderr, "    %s\n", line.data);
		free(l);
		if (!nl)
			break;
		p = nl + 1;
	}
	buf_release(&line);
}

/* The checks (and, in JSON, the GPUs) on stdout. */
static int print_report(struct gpuctl_ctx *ctx, const struct svc_test_report *r)
{
	struct out_table *c = out_table_new(check_cols, 4);
	struct out_table *g = out_table_new(gpu_cols, 6);
	const struct out_table *t[2] = {c, g};
	const char *roots[2] = {"checks", "gpus"};
	size_t k;
	int rc;

	for (k = 0; k < r->n; k++) {
		const struct svc_test_row *x = &r->rows[k];
		char secs[32];
		const char *cells[4];

		snprintf(secs, sizeof(secs), "%.2f", x->seconds);
		cells[0] = x->name;
		cells[1] = x->failed ? "fail" : "pass";
		cells[2] = secs;
		cells[3] = x->detail;
		out_table_add(c, cells);
	}
	for (k = 0; k < r->gpus.n; k++) {
		const struct nvsmi_gpu *x = &r->gpus.gpus[k];
		char idx[16], tot[32], used[32];
		const char *cells[6];

		snprintf(idx, sizeof(idx), "%d", x->index);
		snprintf(tot, sizeof(tot), "%lld", x->memory_total_mib);
		snprintf(used, sizeof(used), "%lld", x->memory_used_mib);
		cells[0] = idx;
		cells[1] = x->name;
		cells[2] = tot;
		cells[3] = used;
		cells[4] = x->driver_version;
		cells[5] = x->uuid;
		out_table_add(g, cells);
	}
	if (ctx->output == OUT_JSON)
		rc = out_json_tables(t, roots, 2, stdout);
	else
		rc = out_table_print(c, ctx->output, "checks", stdout);
	out_table_free(c);
	out_table_free(g);
	return rc;
}

int cmd_gputest(struct gpuctl_ctx *ctx, struct svc_ctx *svc,
		const struct ec2_instance *inst, const struct svc_reach_opts *o,
		const char *dir, const char *upload)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct svc_test_report r = {0};
	struct ssh_session *s = svc_ssh_connect(svc, inst, o, &err);
	size_t k;
	int status, rc;

	if (!s) {
		cmd_report(&err, "test");
		status = 255;
		goto out;
	}
	if (upload && svc_gputest_upload(s, upload, dir, &err)) {
		status = cmd_report(&err, "test: upload failed");
		goto out;
	}
	rc = svc_gputest_run(s, dir, &r, &err);
	for (k = 0; k < r.n; k++)
		if (r.rows[k].failed)
			print_tail(r.rows[k].program, r.rows[k].status,
				   &r.rows[k].output);
	if (rc) {
		status = cmd_report(&err, "test");
		goto out;
	}
	status = print_report(ctx, &r) ? 1 : r.failed;
out:
	ssh_close(s);
	svc_test_report_release(&r);
	err_clear(&err);
	return status;
}
