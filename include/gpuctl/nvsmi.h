/*
 * nvsmi (src/gpu/): parsers for what nvidia-smi prints, for the GPU check
 * of `gpuctl test` (svc_gputest.h).  GPU knowledge, not SSH: pure, on the
 * lowest floor beside util; the caller runs the command (over SSH) and
 * passes its output in.
 *
 * Ownership: the text passed in is borrowed.  A struct nvsmi_list is filled
 * by a parser and freed with nvsmi_list_release(); its strings belong to it.
 * Errors are GPUCTL_ERR_PARSE, with a message quoting (cut and with control
 * characters replaced) the first line of output when it is not what was
 * expected, e.g. "NVIDIA-SMI has failed because it couldn't communicate
 * with the NVIDIA driver".
 */
#ifndef GPUCTL_NVSMI_H
#define GPUCTL_NVSMI_H

#include <stddef.h>

#include "gpuctl/err.h"

/* The fields asked for, in this order (any order is parsed). */
#define NVSMI_QUERY_FIELDS                                         \
	"index,name,uuid,driver_version,memory.total,memory.used," \
	"utilization.gpu,temperature.gpu,power.draw,pstate"
/* The command to run on the instance. */
#define NVSMI_QUERY_COMMAND \
	"nvidia-smi --query-gpu=" NVSMI_QUERY_FIELDS " --format=csv"
#define NVSMI_LIST_COMMAND "nvidia-smi -L"

/*
 * One GPU.  A value nvidia-smi reports as "[N/A]", "[Not Supported]" and
 * the like, or a column that is absent, is NULL for strings and -1 for
 * numbers.
 */
struct nvsmi_gpu {
	int index;
	char *name;	      /* "NVIDIA H200" */
	char *uuid;	      /* "GPU-79387058-..." */
	char *driver_version; /* "580.159.04" */
	long long memory_total_mib;
	long long memory_used_mib;
	int utilization_pct;
	int temperature_c;
	double power_draw_w;
	char *pstate; /* "P0" */
};

struct nvsmi_list {
	struct nvsmi_gpu *gpus;
	size_t n;
};

#define NVSMI_LIST_INIT \
	{               \
		NULL, 0 \
	}

/*
 * Parses the output of NVSMI_QUERY_COMMAND: a header line naming the
 * columns (with or without units, in any order, unknown ones ignored),
 * then one line per GPU.  LF or CRLF line ends, spaces around fields and
 * double-quoted fields are accepted.  A line with a different number of
 * fields than the header (a cut output) is an error.  Returns 0 with out
 * filled (possibly with no GPU), or -1 with err filled.
 */
int nvsmi_parse_csv(const char *text, size_t len, struct nvsmi_list *out,
		    struct gpuctl_err *err);

/*
 * Parses the output of `nvidia-smi -L`: "GPU 0: NVIDIA H200 (UUID: GPU-…)"
 * lines (MIG device lines are skipped).  Fills index, name and uuid; the
 * other fields are -1 or NULL.  Output without any such line is an error.
 */
int nvsmi_parse_list(const char *text, size_t len, struct nvsmi_list *out,
		     struct gpuctl_err *err);

void nvsmi_list_release(struct nvsmi_list *l);

#endif
