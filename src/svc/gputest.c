/*
 * Does the GPU stack work: upload a folder of scripts, run each
 * executable file of ~/test (or DIR) on the instance, then nvidia-smi,
 * and return a result row per check.
 */
#include "gpuctl/svc_gputest.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gpuctl/ssh.h"

#define OUTPUT_MAX (1 << 20) /* kept of a script's output */

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

int svc_gputest_upload(struct ssh_session *ss, const char *local,
		       const char *dir, struct gpuctl_err *err)
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
	if (ssh_exec_capture(ss, cmd.data, 4096, &out, &st, err))
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
	rc = n ? ssh_upload(ss, names, n, dir, &co, err) : 0;
out:
	for (k = 0; k < n; k++)
		free(owned[k]);
	free(owned);
	free(names);
	buf_release(&cmd);
	buf_release(&out);
	return rc;
}

static struct svc_test_row *row_add(struct svc_test_report *r, const char *name,
				    const char *program)
{
	struct svc_test_row *x;

	r->rows = xrealloc(r->rows, (r->n + 1) * sizeof(*r->rows));
	x = &r->rows[r->n++];
	memset(x, 0, sizeof(*x));
	x->name = xstrdup(name);
	x->program = xstrdup(program);
	buf_init(&x->output);
	return x;
}

/* The executable files of dir, NUL-separated into *names. */
static int list_scripts(struct ssh_session *ss, const char *dir,
			struct buf *names, struct gpuctl_err *err)
{
	struct buf cmd = BUF_INIT;
	int st, rc = -1;

	buf_adds(&cmd, "cd ");
	shell_quote(&cmd, dir);
	buf_adds(&cmd, " 2>/dev/null || exit 93; for f in * .[!.]*; do "
		       "[ -f \"$f\" ] && [ -x \"$f\" ] && printf '%s\\0' "
		       "\"$f\"; done; exit 0");
	if (ssh_exec_capture(ss, cmd.data, OUTPUT_MAX, names, &st, err))
		goto out;
	if (st == 93) {
		err_set(err, GPUCTL_ERR_OTHER,
			"no folder '%.200s' on the "
			"instance",
			dir);
		err_hint(err, "pass --dir DIR, or --upload LOCALDIR");
		goto out;
	}
	rc = 0;
out:
	buf_release(&cmd);
	return rc;
}

static int run_script(struct ssh_session *ss, const char *dir, const char *name,
		      struct svc_test_report *r, struct gpuctl_err *err)
{
	struct svc_test_row *x = row_add(r, name, name);
	struct buf cmd = BUF_INIT;
	long long t0 = svc_now_ms();
	int rc = -1;

	buf_adds(&cmd, "cd ");
	shell_quote(&cmd, dir);
	buf_adds(&cmd, " && ./");
	shell_quote(&cmd, name);
	buf_adds(&cmd, " 2>&1 </dev/null");
	if (ssh_exec_capture(ss, cmd.data, OUTPUT_MAX, &x->output, &x->status,
			     err))
		goto out;
	x->seconds = (double)(svc_now_ms() - t0) / 1000.0;
	x->failed = x->status != 0;
	x->detail = x->failed ? xasprintf("exit %d", x->status) : xstrdup("");
	r->failed |= x->failed;
	rc = 0;
out:
	buf_release(&cmd);
	return rc;
}

/* nvidia-smi: the GPUs it lists, or why it failed. */
static int gpu_check(struct ssh_session *ss, struct svc_test_report *r,
		     struct gpuctl_err *err)
{
	struct svc_test_row *x =
	    row_add(r, SVC_GPUTEST_GPU_CHECK, "nvidia-smi");
	struct gpuctl_err perr = GPUCTL_ERR_INIT;
	struct buf detail = BUF_INIT;
	long long t0 = svc_now_ms();
	size_t k;

	if (ssh_exec_capture(ss, NVSMI_QUERY_COMMAND " 2>&1", OUTPUT_MAX,
			     &x->output, &x->status, err))
		return -1;
	x->seconds = (double)(svc_now_ms() - t0) / 1000.0;
	if (x->status ||
	    nvsmi_parse_csv(x->output.data, x->output.len, &r->gpus, &perr) ||
	    !r->gpus.n) {
		x->failed = 1;
		nvsmi_list_release(&r->gpus);
		if (!x->status && !perr.message)
			err_set(&perr, GPUCTL_ERR_PARSE,
				"nvidia-smi lists no GPU");
		if (x->status)
			buf_addf(&detail, "nvidia-smi exit %d", x->status);
		else
			buf_adds(&detail, perr.message);
	} else {
		for (k = 0; k < r->gpus.n; k++) {
			const struct nvsmi_gpu *g = &r->gpus.gpus[k];

			buf_addf(&detail, "%s%s %lld MiB (driver %s)",
				 k ? "; " : "", g->name ? g->name : "?",
				 g->memory_total_mib,
				 g->driver_version ? g->driver_version : "?");
		}
		buf_release(&x->output);
	}
	x->detail = buf_detach(&detail, NULL);
	r->failed |= x->failed;
	err_clear(&perr);
	return 0;
}

int svc_gputest_run(struct ssh_session *ss, const char *dir,
		    struct svc_test_report *out, struct gpuctl_err *err)
{
	struct buf names = BUF_INIT;
	const char *p;
	int rc = -1;

	if (list_scripts(ss, dir, &names, err))
		goto out;
	for (p = names.data; p < names.data + names.len; p += strlen(p) + 1) {
		if (run_script(ss, dir, p, out, err))
			goto out;
		if (!out->rows[out->n - 1].failed)
			buf_release(&out->rows[out->n - 1].output);
	}
	if (gpu_check(ss, out, err))
		goto out;
	rc = 0;
out:
	buf_release(&names);
	return rc;
}

void svc_test_report_release(struct svc_test_report *r)
{
	size_t k;

	for (k = 0; k < r->n; k++) {
		free(r->rows[k].name);
		free(r->rows[k].program);
		free(r->rows[k].detail);
		buf_release(&r->rows[k].output);
	}
	free(r->rows);
	nvsmi_list_release(&r->gpus);
	memset(r, 0, sizeof(*r));
}
