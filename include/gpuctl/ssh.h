/*
 * ssh: everything gpuctl does over SSH, through libssh2 only (no command
 * shells out to ssh or scp).  This module knows nothing of AWS: callers
 * pass the address, user, key and the host-key policy.
 *
 * Ownership: const pointers passed in are borrowed for the call.  A struct
 * ssh_session belongs to the caller and is freed with ssh_close().
 * Errors are GPUCTL_ERR_SSH (exit 255) for connection, host key and
 * authentication failures, GPUCTL_ERR_IO for local files, GPUCTL_ERR_TIMEOUT
 * when a deadline passes.
 */
#ifndef GPUCTL_SSH_H
#define GPUCTL_SSH_H

#include <stddef.h>

#include "gpuctl/err.h"
#include "gpuctl/util.h"

struct ssh_session;

enum ssh_hostkey_policy {
	/* known and matching: go on; new: refuse; changed: refuse */
	SSH_HOSTKEY_STRICT = 0,
	/*
	 * new: accept when it matches a pinned fingerprint (below); without
	 * pins, trust on first use with a one-line warning; either way the
	 * key is added to known_hosts.  changed: refuse.
	 */
	SSH_HOSTKEY_PIN_OR_TOFU,
	/* changed: replace the old entry (--accept-new-hostkey) */
	SSH_HOSTKEY_ACCEPT_NEW,
};

/* Where and as whom to connect. */
struct ssh_target {
	const char *host; /* an IP address or a DNS name */
	int port;	  /* 0: 22 */
	const char *user;
	const char *identity_file; /* private key (OpenSSH or PEM); NULL */
	int use_agent;		   /* try keys in SSH_AUTH_SOCK's agent */
	const char *known_hosts;   /* gpuctl's known_hosts file */
	enum ssh_hostkey_policy policy;
	/*
	 * SHA256 fingerprints ("SHA256:base64", no padding) the host key may
	 * have, from the instance's console output; NULL-terminated, or NULL.
	 */
	const char *const *pinned;
	/*
	 * The instance was launched just now: an entry of known_hosts for its
	 * address can only be an earlier instance's (EC2 reuses addresses),
	 * and is replaced when the key presented matches a pinned
	 * fingerprint.  Without such a match a changed key is refused.
	 */
	int new_instance;
	long connect_timeout_ms; /* 0: 10 s */
};

/* What the host key check found, for messages. */
struct ssh_hostkey_info {
	char fingerprint[64]; /* "SHA256:..." of the key presented */
	char type[32];	      /* "ssh-ed25519" ... */
	int was_new;	      /* added to known_hosts by this connect */
	int was_pinned;	      /* matched a pinned fingerprint */
};

/*
 * Connects, checks the host key against known_hosts under the policy, and
 * authenticates (agent keys first when use_agent, then identity_file).  A
 * changed host key fails with a message naming the known_hosts file and
 * the line of the old entry.  A failed authentication fails with
 * GPUCTL_ERR_SSH and a message saying which methods were tried.  info may
 * be NULL.  Returns NULL with err filled on failure.
 */
struct ssh_session *ssh_connect(const struct ssh_target *t,
				struct ssh_hostkey_info *info,
				struct gpuctl_err *err);
void ssh_close(struct ssh_session *s);

/*
 * The version of the libssh2 in use, for --version: "1.11.1", with where
 * it came from when it was built from Debian's source and linked in
 * ("1.11.1, static, from Debian 1.11.1-1+deb13u2").  A static string.
 */
const char *ssh_lib_version(void);

/*
 * 1 when this libssh2 signs RSA logins with rsa-sha2-512/256 (1.11.1 and
 * later), 0 when it signs them with ssh-rsa (SHA-1), which OpenSSH 8.8
 * and later refuse.
 */
int ssh_rsa_sha2_logins(void);

/*
 * Runs command.  Bytes from fd_in (-1: none; EOF is sent when fd_in ends)
 * go to the remote stdin; remote stdout and stderr go to fd_out and fd_err,
 * streamed both ways without holding more than a window in memory.  With
 * pty, a pseudo-terminal is requested (TERM from term, size from the local
 * terminal on fd_out when it is one) and the local terminal, when fd_in is
 * one, is put in raw mode and restored on every exit path.  *status gets
 * the remote exit status, or 128+N for a signal N.  Returns 0 when the
 * command ran (whatever its status), -1 with err filled when it could not.
 */
struct ssh_exec_opts {
	int fd_in, fd_out, fd_err;
	int pty;
	const char *term;
	const char *const *env; /* "K=V" sent with setenv; NULL */
};
int ssh_exec(struct ssh_session *s, const char *command,
	     const struct ssh_exec_opts *o, int *status,
	     struct gpuctl_err *err);

/* Runs command with no stdin and returns its stdout (at most max bytes). */
int ssh_exec_capture(struct ssh_session *s, const char *command, size_t max,
		     struct buf *out, int *status, struct gpuctl_err *err);

/*
 * An interactive login shell in a PTY: raw mode restored on every exit
 * path, window size sent at start and on SIGWINCH, TERM passed.  *status as
 * for ssh_exec().
 */
int ssh_shell(struct ssh_session *s, const char *term, int *status,
	      struct gpuctl_err *err);

/*
 * Port forwarding.  A local forward listens on bind_addr:listen_port here
 * and connects each connection to host:port from the remote side; a remote
 * forward asks the server to listen on listen_port and connects each
 * connection to host:port here.  Many connections are served at once.
 */
struct ssh_forward {
	int remote;	 /* 0: -L, 1: -R */
	char *bind_addr; /* -L: default "127.0.0.1" */
	int listen_port;
	char *host;
	int port;
};
/* Parses -L [BIND:]PORT:HOST:HOSTPORT or -R PORT:HOST:HOSTPORT. */
int ssh_forward_parse(const char *spec, int remote, struct ssh_forward *f,
		      struct gpuctl_err *err);
void ssh_forward_release(struct ssh_forward *f);
/*
 * Runs a command (or, when command is NULL, nothing: -N) while serving the
 * forwards, until the command ends, or for -N until SIGINT/SIGTERM.
 */
int ssh_run_with_forwards(struct ssh_session *s, const struct ssh_forward *fw,
			  size_t nfw, const char *command,
			  const struct ssh_exec_opts *o, int *status,
			  struct gpuctl_err *err);

/*
 * Waiting for a new instance: probe TCP, read the banner, check the host
 * key, authenticate and run "true", retrying every interval until
 * deadline_ms (CLOCK_MONOTONIC milliseconds).  stage() (may be NULL) is
 * told each stage as it starts ("connecting", "banner", "host key",
 * "authenticating", "running true").  Returns the ready session.
 */
struct ssh_session *ssh_wait_ready(const struct ssh_target *t,
				   long long deadline_ms,
				   void (*stage)(void *ctx, const char *what),
				   void *ctx, struct ssh_hostkey_info *info,
				   struct gpuctl_err *err);

/*
 * Host keys.  ssh_console_fingerprints() extracts from cloud-init console
 * output the lines between "-----BEGIN SSH HOST KEY FINGERPRINTS-----" and
 * "-----END SSH HOST KEY FINGERPRINTS-----" (with or without the "ec2: "
 * prefix cloud-init puts on each line): each "BITS SHA256:xxx COMMENT
 * (TYPE)" becomes one "SHA256:xxx" string.  Returns a NULL-terminated array
 * (free with ssh_strv_free()), empty when there is no such block.
 */
char **ssh_console_fingerprints(const char *console, size_t len);
void ssh_strv_free(char **v);

/*
 * SFTP copy in scp's terms.  Each source is a local path (upload) or a
 * remote one (download); dest is the other side.  recursive copies folders
 * (-r); preserve keeps modes and times (-p).  Files are written to a
 * temporary name beside the target and renamed when complete, so a partial
 * file never replaces a good one.  Remote names that would escape the
 * target folder ("..", "/", names with '/') are refused.  progress (may be
 * NULL) is called with bytes done and total for the current file.
 */
struct ssh_copy_opts {
	int recursive;
	int preserve;
	void (*progress)(void *ctx, const char *name, unsigned long long done,
			 unsigned long long total);
	void *progress_ctx;
};
int ssh_upload(struct ssh_session *s, const char *const *local, size_t n,
	       const char *remote_dest, const struct ssh_copy_opts *o,
	       struct gpuctl_err *err);
int ssh_download(struct ssh_session *s, const char *const *remote, size_t n,
		 const char *local_dest, const struct ssh_copy_opts *o,
		 struct gpuctl_err *err);

/*
 * gpuctl's known_hosts file (OpenSSH format), as ssh_connect() uses it.
 * ssh_known_hosts_check() looks host (port 0 or 22: "host", else
 * "[host]:port") up, hashed "|1|" entries included, and returns
 * SSH_KNOWN_MATCH when an entry holds this key, SSH_KNOWN_CHANGED when
 * entries exist for the host but none holds it (or the key is @revoked;
 * *line gets the line of the entry to blame), SSH_KNOWN_NEW when the host
 * is not there (or the file does not exist), -1 with err filled when the
 * file cannot be read.  Unreadable lines are skipped.
 * ssh_known_hosts_add() writes "host type base64" (replacing line
 * replace_line when > 0), atomically, mode 0600, creating the folder
 * 0700.  blob is the key as the server sends it (starts with its type).
 */
enum ssh_known {
	SSH_KNOWN_NEW = 0,
	SSH_KNOWN_MATCH,
	SSH_KNOWN_CHANGED,
};
int ssh_known_hosts_check(const char *file, const char *host, int port,
			  const unsigned char *blob, size_t len, int *line,
			  struct gpuctl_err *err);
int ssh_known_hosts_add(const char *file, const char *host, int port,
			const unsigned char *blob, size_t len, int replace_line,
			struct gpuctl_err *err);

/* "SHA256:" and the unpadded base64 of a 32-byte digest (as ssh-keygen). */
void ssh_fingerprint_format(const unsigned char sha256[32], char out[64]);

/*
 * The number of a signal named as in SSH's exit-signal ("TERM", "KILL",
 * with or without "SIG"), or -1 when unknown.
 */
int ssh_signal_number(const char *name);

#endif
