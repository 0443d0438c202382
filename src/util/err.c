/* The error type filled in by module functions. */
#include "gpuctl/err.h"

#include <stdarg.h>
#include <stdlib.h>

#include "gpuctl/util.h"

static char *vformat(const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	buf_vaddf(&b, fmt, ap);
	return buf_detach(&b, NULL);
}

int err_set(struct gpuctl_err *e, enum gpuctl_err_kind kind, const char *fmt,
	    ...)
{
	va_list ap;

	err_clear(e);
	e->kind = kind;
	va_start(ap, fmt);
	e->message = vformat(fmt, ap);
	va_end(ap);
	return -1;
}

void err_hint(struct gpuctl_err *e, const char *fmt, ...)
{
	va_list ap;

	free(e->hint);
	va_start(ap, fmt);
	e->hint = vformat(fmt, ap);
	va_end(ap);
}

void err_prefix(struct gpuctl_err *e, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	buf_addf(&b, ": %s", e->message ? e->message : "unknown error");
	free(e->message);
	e->message = buf_detach(&b, NULL);
}

void err_clear(struct gpuctl_err *e)
{
	free(e->code);
	free(e->message);
	free(e->request_id);
	free(e->hint);
	e->kind = GPUCTL_ERR_NONE;
	e->http_status = 0;
	e->code = NULL;
	e->message = NULL;
	e->request_id = NULL;
	e->hint = NULL;
}

int err_exit_status(const struct gpuctl_err *e)
{
	switch (e->kind) {
	case GPUCTL_ERR_NONE:
		return 0;
	case GPUCTL_ERR_USAGE:
		return 2;
	case GPUCTL_ERR_CONFIG:
		return 3;
	case GPUCTL_ERR_AWS:
		return 4;
	case GPUCTL_ERR_TIMEOUT:
		return 5;
	case GPUCTL_ERR_SSH:
		return 255;
	default:
		return 1;
	}
}
