/*
 * err: the one error type that module functions fill in.
 *
 * Module functions return 0 on success or -1 on failure after filling the
 * struct gpuctl_err passed in.  Only main.c and src/cmd/ print errors or
 * choose an exit status from it.
 */
#ifndef GPUCTL_ERR_H
#define GPUCTL_ERR_H

enum gpuctl_err_kind {
	GPUCTL_ERR_NONE = 0,
	GPUCTL_ERR_USAGE,   /* bad arguments: exit 2 */
	GPUCTL_ERR_CONFIG,  /* credentials or configuration: exit 3 */
	GPUCTL_ERR_AWS,	    /* the service answered with an error: exit 4 */
	GPUCTL_ERR_TIMEOUT, /* a wait ran out of time: exit 5 */
	GPUCTL_ERR_NETWORK, /* could not talk to the endpoint: exit 1 */
	GPUCTL_ERR_PARSE,   /* a response we cannot read: exit 1 */
	GPUCTL_ERR_IO,	    /* local files: exit 1 */
	GPUCTL_ERR_SSH,	    /* ssh connection or authentication: exit 255 */
	GPUCTL_ERR_OTHER,   /* anything else: exit 1 */
};

struct gpuctl_err {
	enum gpuctl_err_kind kind;
	long http_status; /* 0 when there was no HTTP answer */
	char *code;	  /* AWS error code, or NULL */
	char *message;	  /* what went wrong, never NULL once set */
	char *request_id; /* AWS request ID, or NULL */
	char *hint;	  /* one line telling the user what to do, or NULL */
};

#define GPUCTL_ERR_INIT                                    \
	{                                                  \
		GPUCTL_ERR_NONE, 0, NULL, NULL, NULL, NULL \
	}

/* Sets kind and a printf-style message, replacing any earlier error. */
int err_set(struct gpuctl_err *e, enum gpuctl_err_kind kind, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
/* Sets the hint line (printf-style). */
void err_hint(struct gpuctl_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefixes the message with "what: " (keeps code and request ID). */
void err_prefix(struct gpuctl_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void err_clear(struct gpuctl_err *e);
/* The exit status for an error of this kind (SPEC.md). */
int err_exit_status(const struct gpuctl_err *e);

#endif
