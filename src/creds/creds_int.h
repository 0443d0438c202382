/*
 * creds internals: the INI reader shared by creds.c and process.c.
 *
 * Ownership: a struct creds_ini owns every string in it; creds_ini_release()
 * wipes and frees them (values may be secrets).  creds_ini_get() returns a
 * pointer into the struct, valid until it is released.
 */
#ifndef GPUCTL_CREDS_INT_H
#define GPUCTL_CREDS_INT_H

#include <stddef.h>

#include "gpuctl/err.h"

struct creds_ini_entry {
	char *key;   /* folded to lower case */
	char *value; /* stripped; continuation lines joined with '\n' */
};

struct creds_ini_section {
	char *name;
	struct creds_ini_entry *entries;
	size_t nr, alloc;
};

struct creds_ini {
	char *path;    /* NULL when there is no such file to read */
	int exists;    /* the file was there and was read */
	unsigned mode; /* its permission bits */
	struct creds_ini_section *sections;
	size_t nr, alloc;
	struct creds_ini_section defaults; /* [DEFAULT] */
};

#define CREDS_INI_INIT \
	{              \
		0      \
	}

/*
 * Reads and parses path (which may be NULL: no file).  A missing file or a
 * path that is not a regular file leaves ini empty and returns 0; an
 * unreadable or malformed file returns -1 with err set.
 */
int creds_ini_load(struct creds_ini *ini, const char *path,
		   struct gpuctl_err *err);
/* Parses text (name is used in messages).  Returns 0 or -1 with err set. */
int creds_ini_parse(struct creds_ini *ini, const char *name, const char *text,
		    size_t len, struct gpuctl_err *err);
void creds_ini_release(struct creds_ini *ini);

/* The section named name (exact match), or NULL. */
const struct creds_ini_section *creds_ini_section(const struct creds_ini *ini,
						  const char *name);
/* key in sect only; NULL when it has none. */
const char *creds_ini_section_get(const struct creds_ini_section *s,
				  const char *key);
/* key in sect, falling back to [DEFAULT]; NULL when neither has it. */
const char *creds_ini_get(const struct creds_ini *ini,
			  const struct creds_ini_section *sect,
			  const char *key);
/*
 * The value of key in a nested block ("s3 =\n  key = value" gives the
 * value "\nkey = value").  Returns a fresh string (caller frees) or NULL.
 */
char *creds_ini_subvalue(const char *block, const char *key);

/*
 * Runs a credential_process command line and fills out's keys.  profile
 * names it in messages.  Returns 0 or -1 with err set.
 */
struct creds_config;
int creds_process_fetch(const char *profile, const char *cmdline,
			char *const *envp, long long now,
			struct creds_config *out, struct gpuctl_err *err);
/*
 * Reads credential_process output (text, len bytes, need not be
 * NUL-terminated) into out's keys, as creds_process_fetch() does with what
 * the command printed.  Pure: for tests and fuzzing.  Returns 0 or -1
 * with err set.
 */
int creds_process_parse(const char *profile, const char *text, size_t len,
			long long now, struct creds_config *out,
			struct gpuctl_err *err);

#endif
