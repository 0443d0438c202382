/*
 * svc_provision: launching, the tutorial's console walk-through in one
 * call.  Resolves the AMI (svc_ami.h), finds the VPC, makes or reuses the
 * key pair (svc_keypair.h) and the security group that admits SSH from
 * the caller, runs the instances idempotently (a client token from the
 * launch journal, under a fingerprint of the request), and waits as asked
 * (svc_lifecycle.h, svc_reach.h).  Also what launching needs from the
 * account (its instance limit, for doctor).
 *
 * Ownership: arguments are borrowed; a struct svc_launch owns what it
 * holds (svc_launch_release()); *max belongs to the caller.
 */
#ifndef GPUCTL_SVC_PROVISION_H
#define GPUCTL_SVC_PROVISION_H

#include "gpuctl/ec2.h"
#include "gpuctl/state.h"
#include "gpuctl/svc.h"
#include "gpuctl/svc_keypair.h"

/* How long a launch waits. */
enum svc_launch_wait {
	SVC_LAUNCH_WAIT_NONE,
	SVC_LAUNCH_WAIT_RUNNING, /* running, with a public address */
	SVC_LAUNCH_WAIT_SSH,	 /* and SSH ready (svc_wait_ssh()) */
};

/* What to launch (all borrowed). */
struct svc_launch_opts {
	const char *ami;  /* ID, exact name or pattern */
	const char *type; /* instance type */
	const char *name; /* Name tag, or NULL */
	long count;
	const char *key;      /* key pair name, or NULL: gpuctl-HOSTNAME */
	const char *key_type; /* "ed25519" or "rsa", for a new key pair */
	long volume_size;     /* GiB */
	int volume_size_given;
	int spot;
	const char *allow;  /* CIDR admitted to SSH, or NULL: caller's /32 */
	const char *subnet; /* or NULL: the default VPC's */
	const struct buf *user_data; /* svc_read_user_data(); may be NULL */
	enum svc_launch_wait wait;
	long long deadline_ms; /* svc_now_ms() clock */
	const char *user;      /* login user for the SSH wait, or NULL */
	int accept_new_hostkey;
};

/* How far a launch went. */
enum svc_launch_stage {
	SVC_LAUNCH_AT_PREPARE, /* AMI, VPC, key pair, group, journal */
	SVC_LAUNCH_AT_RUN,     /* RunInstances */
	SVC_LAUNCH_AT_RUNNING, /* waiting for running */
	SVC_LAUNCH_AT_SSH,     /* waiting for SSH */
	SVC_LAUNCH_AT_END,     /* launched */
};

/* What a launch found and made. */
struct svc_launch {
	enum svc_launch_stage stage;
	struct ec2_image_list images;
	const struct ec2_image *image; /* in images */
	long volume_size;	       /* GiB, after the image's rule */
	char *vpc_id;
	struct svc_keypair key;
	char *group_id;
	char *caller_cidr;
	char *fingerprint;
	struct state_journal_entry journal;
	/*
	 * The journal entry stays open when a launch failed after EC2 may
	 * have started instances: the same request run again adopts them.
	 */
	int journal_open;
	struct ec2_instance_list instances; /* as last described */
};

/*
 * Reads a --user-data file into out (at most 16 KiB, EC2's limit);
 * nothing when file is NULL.
 */
int svc_read_user_data(const char *file, struct buf *out,
		       struct gpuctl_err *err);

/*
 * Launches as o says into l (zeroed first; release it whatever this
 * returns).  On failure l->stage says where it stopped; when EC2 said no
 * to RunInstances, or an instance will never run, the journal entry is
 * closed (the next try is a new request), else it stays open and
 * l->instances holds what was started.  Hints for the usual RunInstances
 * errors (limits, capacity, an unknown type...).
 */
int svc_launch(struct svc_ctx *s, const struct svc_launch_opts *o,
	       struct svc_launch *l, struct gpuctl_err *err);
void svc_launch_release(struct svc_launch *l);

/*
 * The account's max-instances attribute: *max (caller frees) is NULL
 * when EC2 does not say.
 */
int svc_account_max_instances(struct svc_ctx *s, char **max,
			      struct gpuctl_err *err);

#endif
