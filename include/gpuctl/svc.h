/*
 * svc: the service floor, between the commands (src/cmd/) and the modules
 * below it (ec2/, state/, ssh/, http/, gpu/).  A service does one piece
 * of the work a command asks for -- find the instance meant, launch,
 * snapshot, reach it over SSH -- and hands back plain structs.  Services
 * never print to stdout and never see the command line's context: they
 * get a struct svc_ctx, report progress through its reporter, fill a
 * struct gpuctl_err (with a hint where one helps) and log notes through
 * gpuctl/log.h.
 *
 * The rooms, one header each:
 *   svc_inventory.h  which instances the user means, list, an instance's
 *                    image and login user
 *   svc_ami.h        AMI resolution for launch, AMI search for images
 *   svc_access.h     does a security group admit SSH (the one check),
 *                    CIDRs, the caller's IP, the rules of an instance
 *   svc_keypair.h    the launch key pair and its private key file
 *   svc_provision.h  launch: VPC, security group, fingerprint, journal,
 *                    RunInstances, the waits
 *   svc_lifecycle.h  stop, start, terminate, and the instance waiter
 *   svc_snapshot.h   snapshots before terminate, the snapshot waiter
 *   svc_reach.h      instance -> SSH target, connect, wait for SSH, why a
 *                    login failed
 *   svc_gputest.h    the ~/test scripts and the nvidia-smi check
 * This header: the context every service takes, its reporter, the clock
 * and the one poll loop every waiter runs on.
 *
 * Ownership: arguments are borrowed; results belong to the caller.
 */
#ifndef GPUCTL_SVC_H
#define GPUCTL_SVC_H

#include "gpuctl/err.h"
#include "gpuctl/state.h"
#include "gpuctl/util.h"

struct ec2_client;

/* The tag every resource gpuctl makes carries. */
#define SVC_MANAGED_TAG "gpuctl:managed"

/*
 * How a service tells the user how a long wait goes: progress() with a
 * one-line status and the seconds spent (called often; it decides whether
 * and where to show it), done() when the wait is over.  Either may be
 * NULL.
 */
struct svc_reporter {
	void (*progress)(void *arg, const char *what, double elapsed_s);
	void (*done)(void *arg);
	void *arg;
};

/*
 * What every service works with.  The caller fills the borrowed fields;
 * paths are gpuctl's local folders, filled by svc_ctx_paths() (services
 * that need them call it) and released by svc_ctx_release().
 */
struct svc_ctx {
	struct ec2_client *ec2; /* borrowed */
	const char *region;	/* borrowed */
	const char *ca_bundle;	/* AWS_CA_BUNDLE, or NULL; borrowed */
	char *const *envp;	/* borrowed */
	struct svc_reporter report;
	struct state_paths paths; /* owned */
	int have_paths;
};

/* Fills s->paths from s->envp, once.  Returns 0, or -1 with err filled. */
int svc_ctx_paths(struct svc_ctx *s, struct gpuctl_err *err);
void svc_ctx_release(struct svc_ctx *s);

/* The reporter's two calls (nothing when it has none). */
void svc_progress(const struct svc_ctx *s, const char *what, double elapsed_s);
void svc_progress_done(const struct svc_ctx *s);

/* Milliseconds on the monotonic clock. */
long long svc_now_ms(void);

/*
 * The one poll loop, for every waiter.  check() looks once and returns 1
 * when the wait is over, 0 when not yet (with what it saw in status, for
 * the progress line and a time-out's message), or -1 to stop with err
 * filled.  Between looks it sleeps an interval that starts at 1 s and
 * grows by a quarter each time, never past 5 s.  When the next look would
 * come after timeout_ms (<= 0: no limit), it fails with GPUCTL_ERR_TIMEOUT
 * "timed out after N s waiting for <waiting_for> (<status>)" and
 * timeout_hint as the hint (when not NULL).  Progress goes to s's
 * reporter after each look that did not end the wait, and done() at the
 * end, whatever the outcome.
 */
struct svc_poll {
	int (*check)(void *arg, struct buf *status, struct gpuctl_err *err);
	void *arg;
	const char *waiting_for;
	const char *timeout_hint;
	long timeout_ms;
};
int svc_poll(const struct svc_ctx *s, const struct svc_poll *p,
	     struct gpuctl_err *err);

#endif
