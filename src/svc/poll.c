/*
 * The clock and the one poll loop every waiter runs on (instances,
 * snapshots): the interval policy, the deadline, progress.
 */
#include "gpuctl/svc.h"

#include <errno.h>
#include <time.h>

#define POLL_FIRST_MS 1000
#define POLL_MAX_MS   5000

long long svc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int svc_poll(const struct svc_ctx *s, const struct svc_poll *p,
	     struct gpuctl_err *err)
{
	long long start = svc_now_ms(), elapsed;
	long interval = POLL_FIRST_MS;
	struct buf status = BUF_INIT;
	int r, rc = -1;

	for (;;) {
		buf_reset(&status);
		r = p->check(p->arg, &status, err);
		if (r < 0)
			goto out;
		if (r > 0)
			break;
		elapsed = svc_now_ms() - start;
		svc_progress(s, status.data, (double)elapsed / 1000.0);
		if (p->timeout_ms > 0 && elapsed + interval > p->timeout_ms) {
			err_set(err, GPUCTL_ERR_TIMEOUT,
				"timed out after %.0f s waiting for %s (%s)",
				(double)elapsed / 1000.0, p->waiting_for,
				status.data);
			if (p->timeout_hint)
				err_hint(err, "%s", p->timeout_hint);
			goto out;
		}
		sleep_ms(interval);
		/* start near 1 s, grow slowly, never past 5 s */
		interval = interval + interval / 4 > POLL_MAX_MS
			       ? POLL_MAX_MS
			       : interval + interval / 4;
	}
	rc = 0;
out:
	svc_progress_done(s);
	buf_release(&status);
	return rc;
}
