/*
 * svc_gputest: does the GPU stack of an instance work?  Uploads a folder
 * of scripts, runs each executable file of ~/test (or another folder) and
 * then nvidia-smi, over an SSH session the caller opened
 * (svc_ssh_connect()), and returns one result row per check and the GPUs
 * nvidia-smi listed.  Printing is the caller's (`test`, `launch --test`).
 *
 * Ownership: arguments are borrowed; a struct svc_test_report and its
 * rows belong to the caller (svc_test_report_release()).
 */
#ifndef GPUCTL_SVC_GPUTEST_H
#define GPUCTL_SVC_GPUTEST_H

#include "gpuctl/nvsmi.h"
#include "gpuctl/svc.h"

struct ssh_session;

/* The name of the GPU check's row. */
#define SVC_GPUTEST_GPU_CHECK "gpu (nvidia-smi)"

struct svc_test_row {
	char *name;    /* the script, or SVC_GPUTEST_GPU_CHECK */
	char *program; /* what ran: the script, or "nvidia-smi" */
	int failed;
	int status;	/* its exit status */
	double seconds; /* how long it ran */
	char *detail;	/* "exit N"; for the GPU check, the GPUs or why not */
	struct buf output; /* what a failed check printed (stdout+stderr) */
};

struct svc_test_report {
	struct svc_test_row *rows;
	size_t n;
	struct nvsmi_list gpus; /* what nvidia-smi listed */
	int failed;		/* a row failed */
};

/* Copies the files of the local folder local into dir on the instance. */
int svc_gputest_upload(struct ssh_session *ss, const char *local,
		       const char *dir, struct gpuctl_err *err);

/*
 * Runs every executable file of dir (relative to the home) and the GPU
 * check, appending a row each to out (rows already run stay there when
 * it fails).  Returns 0 when everything ran, whatever the results; -1
 * with err filled when it could not (no such folder, SSH failed).
 */
int svc_gputest_run(struct ssh_session *ss, const char *dir,
		    struct svc_test_report *out, struct gpuctl_err *err);

void svc_test_report_release(struct svc_test_report *r);

#endif
