/*
 * gpuctl test [INSTANCE] [--dir DIR] [--upload LOCALDIR]: runs the scripts
 * of ~/test on the instance, then a GPU check from nvidia-smi.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpuctl/cmd.h"
#include "gpuctl/ec2.h"
#include "gpuctl/nvsmi.h"
#include "gpuctl/out.h"
#include "gpuctl/ssh.h"
#include "gpuctl/state.h"
#include "gpuctl/svc.h"

#define OUTPUT_MAX (1 << 20) /* kept of a script's output */
#define TAIL_LINES 10

const char cmd_test_usage[] =
    "usage: gpuctl test [INSTANCE] [--dir DIR] [--upload LOCALDIR] [-l "
    "USER] [-i KEY]\n"
    "\n"
    "Runs every executable file in ~/test (or DIR) on the instance, one "
    "row per\n"
    "script (name, pass or fail, seconds, and the last lines of its output "
    "when\n"
    "it failed), then checks the GPUs with nvidia-smi (name, memory, "
    "driver).\n"
    "Exit status 1 when a script or the GPU check failed.\n"
    "\n"
    "options:\n"
    "  --dir DIR          the folder of scripts (default: test, in the "
    "home)\n"
    "  --upload LOCALDIR  copy the files of LOCALDIR into DIR first\n"
    "  -l USER, -i KEY    as for gpuctl ssh\n";

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

/* 'name' for the remote shell. */
static void shell_quote(struct buf *b, const char *s)
{
	buf_addch(b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addch(b, *s);
	buf_addch(b, '\'');
}

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

static int upload_dir(struct ssh_session *s, const char *local, const char *dir,
		      struct gpuctl_err *err)
{
	struct ssh_copy_opts co = {1, 1, NULL, NULL};
	struct buf cmd = BUF_INIT, out = BUF_INIT;
	const char **names = NULL;
	char **owned = NULL;
	size_t n = 0, k;
	struct dirent *e;
	DIR *d = opendir(local);
	int st, rc = -1;

	if (!d)
		return err_set(err, GPUCTL_ERR_IO, "cannot open %s: %s", local,
			       strerror(errno));
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		owned = xrealloc(owned, (n + 1) * sizeof(*owned));
		owned[n++] = xasprintf("%s/%s", local, e->d_name);
	}
	closedir(d);
	buf_adds(&cmd, "mkdir -p ");
	shell_quote(&cmd, dir);
	if (ssh_exec_capture(s, cmd.data, 4096, &out, &st, err))
		goto out;
	if (st) {
		err_set(err, GPUCTL_ERR_OTHER,
			"cannot create %s on the "
			"instance",
			dir);
		goto out;
	}
	names = xcalloc(n + 1, sizeof(*names));
	for (k = 0; k < n; k++)
		names[k] = owned[k];
	rc = n ? ssh_upload(s, names, n, dir, &co, err) : 0;
out:
	for (k = 0; k < n; k++)
		free(owned[k]);
	free(owned);
	free(names);
	buf_release(&cmd);
	buf_release(&out);
	return rc;
}

/* Runs the scripts and the GPU check; adds rows; 1 when one failed. */
static int run_tests(struct ssh_session *s, const char *dir,
		     struct out_table *checks, struct out_table *gpus,
		     struct gpuctl_err *err)
{
	struct buf cmd = BUF_INIT, out = BUF_INIT, detail = BUF_INIT;
	struct nvsmi_list l = NVSMI_LIST_INIT;
	char **names = NULL;
	size_t n = 0, k;
	const char *p;
	int st, failed = 0, rc = -1;

	buf_adds(&cmd, "cd ");
	shell_quote(&cmd, dir);
	buf_adds(&cmd, " 2>/dev/null || exit 93; for f in * .[!.]*; do "
		       "[ -f \"$f\" ] && [ -x \"$f\" ] && printf '%s\\0' "
		       "\"$f\"; done; exit 0");
	if (ssh_exec_capture(s, cmd.data, OUTPUT_MAX, &out, &st, err))
		goto out;
	if (st == 93) {
		err_set(err, GPUCTL_ERR_OTHER,
			"no folder '%.200s' on the "
			"instance",
			dir);
		err_hint(err, "pass --dir DIR, or --upload LOCALDIR");
		goto out;
	}
	for (p = out.data; p < out.data + out.len; p += strlen(p) + 1) {
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(p);
	}
	for (k = 0; k < n; k++) {
		long long t0 = svc_now_ms();
		char secs[32];
		const char *cells[4];

		buf_reset(&cmd);
		buf_adds(&cmd, "cd ");
		shell_quote(&cmd, dir);
		buf_adds(&cmd, " && ./");
		shell_quote(&cmd, names[k]);
		buf_adds(&cmd, " 2>&1 </dev/null");
		buf_reset(&out);
		if (ssh_exec_capture(s, cmd.data, OUTPUT_MAX, &out, &st, err))
			goto out;
		snprintf(secs, sizeof(secs), "%.2f",
			 (double)(svc_now_ms() - t0) / 1000.0);
		buf_reset(&detail);
		if (st) {
			failed = 1;
			buf_addf(&detail, "exit %d", st);
			print_tail(names[k], st, &out);
		}
		cells[0] = names[k];
		cells[1] = st ? "fail" : "pass";
		cells[2] = secs;
		cells[3] = detail.data;
		out_table_add(checks, cells);
	}
	/* the GPU check */
	{
		long long t0 = svc_now_ms();
		char secs[32];
		const char *cells[4];
		struct gpuctl_err perr = GPUCTL_ERR_INIT;
		int gpu_failed = 0;

		buf_reset(&out);
		if (ssh_exec_capture(s, NVSMI_QUERY_COMMAND " 2>&1", OUTPUT_MAX,
				     &out, &st, err))
			goto out;
		snprintf(secs, sizeof(secs), "%.2f",
			 (double)(svc_now_ms() - t0) / 1000.0);
		buf_reset(&detail);
		if (st || nvsmi_parse_csv(out.data, out.len, &l, &perr) ||
		    !l.n) {
			gpu_failed = 1;
			if (!st && !perr.message)
				err_set(&perr, GPUCTL_ERR_PARSE,
					"nvidia-smi lists no GPU");
			if (st)
				buf_addf(&detail, "nvidia-smi exit %d", st);
			else
				buf_adds(&detail, perr.message);
			print_tail("nvidia-smi", st, &out);
		} else {
			for (k = 0; k < l.n; k++) {
				char idx[16], tot[32], used[32];
				const char *g[6];

				snprintf(idx, sizeof(idx), "%d",
					 l.gpus[k].index);
				snprintf(tot, sizeof(tot), "%lld",
					 l.gpus[k].memory_total_mib);
				snprintf(used, sizeof(used), "%lld",
					 l.gpus[k].memory_used_mib);
				g[0] = idx;
				g[1] = l.gpus[k].name;
				g[2] = tot;
				g[3] = used;
				g[4] = l.gpus[k].driver_version;
				g[5] = l.gpus[k].uuid;
				out_table_add(gpus, g);
				buf_addf(&detail, "%s%s %lld MiB (driver %s)",
					 k ? "; " : "",
					 l.gpus[k].name ? l.gpus[k].name : "?",
					 l.gpus[k].memory_total_mib,
					 l.gpus[k].driver_version
					     ? l.gpus[k].driver_version
					     : "?");
			}
		}
		err_clear(&perr);
		cells[0] = "gpu (nvidia-smi)";
		failed |= gpu_failed;
		cells[1] = gpu_failed ? "fail" : "pass";
		cells[2] = secs;
		cells[3] = detail.data;
		out_table_add(checks, cells);
	}
	rc = failed;
out:
	nvsmi_list_release(&l);
	for (k = 0; k < n; k++)
		free(names[k]);
	free(names);
	buf_release(&cmd);
	buf_release(&out);
	buf_release(&detail);
	return rc;
}

static int print_results(struct gpuctl_ctx *ctx, const struct out_table *c,
			 const struct out_table *g)
{
	const struct out_table *t[2] = {c, g};
	const char *roots[2] = {"checks", "gpus"};

	if (ctx->output == OUT_JSON)
		return out_json_tables(t, roots, 2, stdout);
	return out_table_print(c, ctx->output, "checks", stdout);
}

/* Connects, uploads, runs; returns the exit status. */
static int test_one(struct gpuctl_ctx *ctx, const struct ec2_instance *inst,
		    const struct cmd_ssh_wait *w, const char *dir,
		    const char *upload)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct out_table *checks = out_table_new(check_cols, 4);
	struct out_table *gpus = out_table_new(gpu_cols, 6);
	struct ssh_session *s = cmd_ssh_connect(ctx, inst, w, &err);
	int status, r;

	if (!s) {
		cmd_report(&err, "test");
		status = 255;
		goto out;
	}
	if (upload && upload_dir(s, upload, dir, &err)) {
		status = cmd_report(&err, "test: upload failed");
		goto out;
	}
	r = run_tests(s, dir, checks, gpus, &err);
	if (r < 0) {
		status = cmd_report(&err, "test");
		goto out;
	}
	status = print_results(ctx, checks, gpus) ? 1 : r;
out:
	ssh_close(s);
	out_table_free(checks);
	out_table_free(gpus);
	err_clear(&err);
	return status;
}

int cmd_test_instances(struct gpuctl_ctx *ctx,
		       const struct ec2_instance_list *l,
		       const struct ec2_image *image, const char *user,
		       const char *key_path)
{
	struct cmd_ssh_wait w = {0};
	size_t i;
	int status = 0, r;

	w.image = image;
	w.user = user;
	w.key_path = key_path;
	for (i = 0; i < l->n; i++) {
		r = test_one(ctx, &l->items[i], &w, "test", NULL);
		if (r > status)
			status = r;
	}
	return status;
}

int cmd_test(int argc, char **argv, struct gpuctl_ctx *ctx)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct cmd_ssh_wait w = {0};
	struct ec2_instance_list found = {0};
	struct state_paths paths = {0};
	const char *instance = NULL, *dir = "test", *upload = NULL;
	int status = 1, i, r;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((!strcmp(a, "--dir") || !strcmp(a, "--upload")) &&
		    i + 1 < argc) {
			if (!strcmp(a, "--dir"))
				dir = argv[++i];
			else
				upload = argv[++i];
			continue;
		}
		r = cmd_ssh_common_option(argc, argv, &i, &w, &err);
		if (!r && a[0] == '-')
			r = cmd_global_option(ctx, argc, argv, &i, &err);
		if (r < 0) {
			status = cmd_usage_error("test", "%s", err.message);
			goto out;
		}
		if (r)
			continue;
		if (a[0] == '-' || instance) {
			status =
			    cmd_usage_error("test", "unexpected '%.100s'", a);
			goto out;
		}
		instance = a;
	}
	if (!*dir) {
		status = cmd_usage_error("test", "--dir must not be empty");
		goto out;
	}
	if (cmd_ec2(ctx, &err) || state_paths_init(&paths, ctx->envp, &err) ||
	    svc_resolve_instances(ctx->ec2, &paths, ctx->cfg.region,
				  instance ? &instance : NULL, instance ? 1 : 0,
				  &found, &err)) {
		status = cmd_report(&err, "test");
		goto out;
	}
	status = test_one(ctx, &found.items[0], &w, dir, upload);
out:
	ec2_instance_list_release(&found);
	state_paths_release(&paths);
	err_clear(&err);
	return status;
}
