/*
 * The service context: gpuctl's local folders, filled once when a
 * service first needs them, and the reporter's calls.
 */
#include "gpuctl/svc.h"

int svc_ctx_paths(struct svc_ctx *s, struct gpuctl_err *err)
{
	if (s->have_paths)
		return 0;
	if (state_paths_init(&s->paths, s->envp, err))
		return -1;
	s->have_paths = 1;
	return 0;
}

void svc_ctx_release(struct svc_ctx *s)
{
	state_paths_release(&s->paths);
	s->have_paths = 0;
}

void svc_progress(const struct svc_ctx *s, const char *what, double elapsed_s)
{
	if (s->report.progress)
		s->report.progress(s->report.arg, what, elapsed_s);
}

void svc_progress_done(const struct svc_ctx *s)
{
	if (s->report.done)
		s->report.done(s->report.arg);
}
