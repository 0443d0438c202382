/*
 * Waiting for a new instance's sshd: probe, handshake, host key, auth and
 * "true", retried at a short interval until the deadline.
 */
#include "ssh_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpuctl/log.h"

#define PROBE_MS   400	/* TCP connect of one attempt */
#define RETRY_MS   100	/* from one attempt's start to the next */
#define DENIED_MS  1000 /* after an authentication refusal */
#define MAX_DENIED 4	/* refusals before the answer is final */

static void sleep_until(long long when)
{
	struct timespec ts;
	long long left = when - ssh_int_now_ms();

	if (left <= 0)
		return;
	ts.tv_sec = left / 1000;
	ts.tv_nsec = (left % 1000) * 1000000;
	nanosleep(&ts, NULL);
}

/* Runs "true": 0 when it exits 0. */
static int run_true(struct ssh_session *ss, struct gpuctl_err *err)
{
	struct buf out = BUF_INIT;
	int r, status = 0;

	r = ssh_exec_capture(ss, "true", 0, &out, &status, err);
	buf_release(&out);
	if (r < 0)
		return -1;
	if (status != 0) {
		err_set(err, GPUCTL_ERR_SSH,
			"'true' exited with status %d on "
			"%.200s",
			status, ss->host);
		return -1;
	}
	return 0;
}

struct ssh_session *ssh_wait_ready(const struct ssh_target *t,
				   long long deadline_ms,
				   void (*stage)(void *ctx, const char *what),
				   void *ctx, struct ssh_hostkey_info *info,
				   struct gpuctl_err *err)
{
	struct gpuctl_err last = GPUCTL_ERR_INIT;
	struct ssh_session *ss = NULL;
	enum ssh_int_stage reached = SSH_STAGE_CONNECT, best = reached;
	enum ssh_int_retry retry;
	long long start, left, next;
	int denied = 0, r;
	long probe;

	for (;;) {
		start = ssh_int_now_ms();
		left = deadline_ms - start;
		if (left <= 0)
			break;
		probe = left < PROBE_MS ? (long)left : PROBE_MS;
		err_clear(&last);
		ss = ssh_int_connect(t, probe, deadline_ms, stage, ctx, info,
				     &reached, &retry, &last);
		if (ss) {
			reached = SSH_STAGE_TRUE;
			if (stage)
				stage(ctx, ssh_int_stage_names[reached]);
			r = run_true(ss, &last);
			if (r == 0) {
				err_clear(&last);
				return ss;
			}
			ssh_close(ss);
			ss = NULL;
			retry = SSH_RETRY_YES;
		}
		if (reached > best)
			best = reached;
		next = start + RETRY_MS;
		if (retry == SSH_RETRY_NO) {
			err_set(err, last.kind, "%s", last.message);
			if (last.hint)
				err_hint(err, "%s", last.hint);
			err_clear(&last);
			return NULL;
		}
		if (retry == SSH_RETRY_DENIED) {
			if (++denied >= MAX_DENIED) {
				err_set(err, last.kind, "%s", last.message);
				err_clear(&last);
				return NULL;
			}
			log_debug("ssh: %s (retrying: the key may not be "
				  "installed yet)",
				  last.message);
			next = ssh_int_now_ms() + DENIED_MS;
		}
		if (next > deadline_ms)
			next = deadline_ms;
		sleep_until(next);
	}
	err_set(err, GPUCTL_ERR_TIMEOUT,
		"timed out waiting for ssh on %.200s port %d (reached: %s%s%s)",
		t->host, t->port > 0 ? t->port : 22, ssh_int_stage_names[best],
		last.message ? "; last error: " : "",
		last.message ? last.message : "");
	err_clear(&last);
	return NULL;
}
