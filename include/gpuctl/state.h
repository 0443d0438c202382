/*
 * state: gpuctl's local files, under the XDG base directories.
 *
 *   $XDG_CONFIG_HOME/gpuctl/keys/REGION/NAME.pem   private keys (0600)
 *   $XDG_CONFIG_HOME/gpuctl/known_hosts            OpenSSH format
 *   $XDG_STATE_HOME/gpuctl/REGION/last-instance    last launched instance
 *   $XDG_STATE_HOME/gpuctl/REGION/journal.json     the launch journal
 *
 * ($XDG_CONFIG_HOME defaults to $HOME/.config, $XDG_STATE_HOME to
 * $HOME/.local/state.)  Folders are created 0700; files are written
 * atomically (a temporary file in the same folder, fsync, rename) and are
 * 0600 from their creation, whatever the umask.
 *
 * Ownership: every char * returned belongs to the caller.
 */
#ifndef GPUCTL_STATE_H
#define GPUCTL_STATE_H

#include <stddef.h>

#include "gpuctl/err.h"
#include "gpuctl/util.h"

struct state_paths {
	char *config_dir; /* .../gpuctl under XDG_CONFIG_HOME */
	char *state_dir;  /* .../gpuctl under XDG_STATE_HOME */
};

/* Fills the folders from envp (HOME, XDG_CONFIG_HOME, XDG_STATE_HOME). */
int state_paths_init(struct state_paths *p, char *const *envp,
		     struct gpuctl_err *err);
void state_paths_release(struct state_paths *p);

/* Path of the private key of key pair name in region (not created). */
char *state_key_path(const struct state_paths *p, const char *region,
		     const char *name);
char *state_known_hosts_path(const struct state_paths *p);

/* mkdir -p, new folders 0700. */
int state_mkdirs(const char *dir, struct gpuctl_err *err);

/*
 * Writes len bytes to path atomically, mode 0600 from the first byte.
 * With exclusive, fails (GPUCTL_ERR_IO, errno EEXIST) when path exists
 * instead of replacing it.  The folder is created when missing.
 */
int state_write_private(const char *path, const void *data, size_t len,
			int exclusive, struct gpuctl_err *err);

/* Reads the last instance launched in region; *id NULL when none. */
int state_last_instance(const struct state_paths *p, const char *region,
			char **id, struct gpuctl_err *err);
int state_set_last_instance(const struct state_paths *p, const char *region,
			    const char *id, struct gpuctl_err *err);

/*
 * The launch journal.  Before RunInstances, a launch records its client
 * token under a fingerprint of its request (state_journal_begin()); a
 * re-run of the same request while that entry is open gets the same token
 * back, so EC2 returns the instances of the first run instead of starting
 * others.  Once RunInstances answered, the instance IDs are recorded
 * (state_journal_instances()); once the launch is over, the entry is
 * closed (state_journal_end()).  Entries older than a day are dropped.
 * The journal is locked (flock) while it is read and written.
 */
struct state_journal_entry {
	char *token;
	char **instance_ids; /* NULL-terminated, may be empty */
	int reused;	     /* an open entry of an earlier run */
};
int state_journal_begin(const struct state_paths *p, const char *region,
			const char *fingerprint, long long now,
			struct state_journal_entry *e, struct gpuctl_err *err);
int state_journal_instances(const struct state_paths *p, const char *region,
			    const char *token, const char *const *ids, size_t n,
			    struct gpuctl_err *err);
int state_journal_end(const struct state_paths *p, const char *region,
		      const char *token, struct gpuctl_err *err);
void state_journal_entry_release(struct state_journal_entry *e);

/* A fresh random client token (32 hex digits). */
char *state_new_token(void);

#endif
