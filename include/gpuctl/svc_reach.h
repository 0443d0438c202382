/*
 * svc_reach: reaching an instance over SSH.  Turns an instance into an
 * ssh_target (address, login user, key, known_hosts, host keys pinned
 * from its console output), connects, waits until SSH is ready, and when
 * a login fails says which of the tutorial's causes holds: not running,
 * wrong key, wrong address, wrong user, a security group that does not
 * admit this machine's IP.
 *
 * Ownership: arguments are borrowed.  A returned struct ssh_session
 * belongs to the caller (ssh_close()); a struct svc_login's strings belong
 * to it (svc_login_release()).
 */
#ifndef GPUCTL_SVC_REACH_H
#define GPUCTL_SVC_REACH_H

#include "gpuctl/ec2.h"
#include "gpuctl/svc.h"

struct ssh_session;

/* How to log in; all optional (zero: the defaults). */
struct svc_reach_opts {
	const struct ec2_image *image; /* for the login user; may be NULL */
	const char *user;	       /* -l, or NULL: guessed */
	const char *key_path;	       /* -i, or NULL: the key pair's */
	int accept_new_hostkey;
	long long deadline_ms; /* svc_now_ms() clock; 0: no deadline */
};

/* Who logs in to an instance, and with what. */
struct svc_login {
	char *user;
	char *key_path;	   /* -i, else the key pair's; NULL when it has none */
	char *known_hosts; /* gpuctl's known_hosts file */
};

/*
 * The login for inst: the user (-l, else guessed from its image, a
 * warning when that cannot be seen), the key and known_hosts.
 */
int svc_login_of(struct svc_ctx *s, const struct ec2_instance *inst,
		 const struct svc_reach_opts *o, struct svc_login *out,
		 struct gpuctl_err *err);
void svc_login_release(struct svc_login *l);

/*
 * Connects to one instance (no waiting): the session, or NULL with err
 * filled, its hint saying which of the usual causes of a failed login
 * applies.
 */
struct ssh_session *svc_ssh_connect(struct svc_ctx *s,
				    const struct ec2_instance *inst,
				    const struct svc_reach_opts *o,
				    struct gpuctl_err *err);

/*
 * Waits until SSH on every instance of l answers, its host key checks out
 * (pinned from the console output when it shows the fingerprints, else
 * trusted on first use) and a command runs, each in turn, until
 * o->deadline_ms.  Progress through s's reporter.
 */
int svc_wait_ssh(struct svc_ctx *s, const struct ec2_instance_list *l,
		 const struct svc_reach_opts *o, struct gpuctl_err *err);

#endif
