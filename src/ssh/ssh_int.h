/*
 * Internals shared by the files of src/ssh/: the session struct and the
 * helpers that drive a non-blocking libssh2 session.  Nothing outside
 * src/ssh/ includes this or <libssh2.h>.
 *
 * Every session is non-blocking (libssh2_session_set_blocking(s, 0)): a
 * libssh2 call that would block returns LIBSSH2_ERROR_EAGAIN, and the
 * caller waits with ssh_int_wait() (poll() on the socket in the directions
 * libssh2_session_block_directions() names) and calls again.
 */
#ifndef GPUCTL_SSH_INT_H
#define GPUCTL_SSH_INT_H

#include <poll.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "gpuctl/ssh.h"

struct ssh_session {
	int sock;	    /* connected TCP socket, TCP_NODELAY */
	LIBSSH2_SESSION *s; /* handshaken and authenticated, non-blocking */
	char *host;
	int port;
	char *user;
	int libssh2_inited; /* libssh2_init() to balance in ssh_close() */
};

/* Size of each stream buffer of exec.c and forward.c. */
#define SSH_IOBUF (32 * 1024)

/* CLOCK_MONOTONIC in milliseconds. */
long long ssh_int_now_ms(void);

/*
 * Waits until the socket is ready in the directions libssh2 last blocked
 * on, or until deadline_ms (-1: no deadline).  Returns 0, or -1 on
 * timeout (errno ETIMEDOUT) or a poll() error.
 */
int ssh_int_wait(struct ssh_session *ss, long long deadline_ms);

/*
 * Asks the kernel to acknowledge the next data on the socket at once
 * instead of delaying the ACK (TCP_QUICKACK, Linux; a no-op elsewhere).
 * sshd leaves Nagle's algorithm on for sessions without a terminal, so a
 * second small packet it sends back to back (the channel confirmation
 * after the host key proof request, exit-status after the output) waits
 * for our ACK of the first; a delayed ACK made that 40 ms on every login.
 * The kernel clears the flag by itself, so it is set before each wait.
 */
void ssh_int_quickack(int fd);

/* libssh2's last error message for the session ("" when none). */
const char *ssh_int_errmsg(struct ssh_session *ss);

/*
 * A TCP connection to host:port within timeout_ms, non-blocking, with
 * TCP_NODELAY.  Returns the socket, or -1 with err filled; *refused (may
 * be NULL) is set when the failure is worth retrying while a machine
 * boots (refused, reset, unreachable, timed out).
 */
int ssh_int_tcp_connect(const char *host, int port, long timeout_ms,
			int *refused, struct gpuctl_err *err);

/* Stages of a connection, for ssh_wait_ready(). */
enum ssh_int_stage {
	SSH_STAGE_CONNECT = 0,
	SSH_STAGE_BANNER,
	SSH_STAGE_HOSTKEY,
	SSH_STAGE_AUTH,
	SSH_STAGE_TRUE,
};
extern const char *const ssh_int_stage_names[];

/* What a failed ssh_int_connect() is worth. */
enum ssh_int_retry {
	SSH_RETRY_NO = 0, /* host key, key file: give up at once */
	SSH_RETRY_YES,	  /* refused, reset, timed out, not ready */
	SSH_RETRY_DENIED, /* authentication refused: the key may come */
};

/*
 * ssh_connect() in stages: stage() (may be NULL) hears each stage as it
 * starts; *reached gets the stage where it failed and *retry what the
 * failure is worth.  probe_ms (0: t->connect_timeout_ms) bounds the TCP
 * connect; deadline_ms (-1: none) bounds the whole connect, whose other
 * network waits are bounded by t->connect_timeout_ms too.
 */
struct ssh_session *ssh_int_connect(const struct ssh_target *t, long probe_ms,
				    long long deadline_ms,
				    void (*stage)(void *ctx, const char *what),
				    void *ctx, struct ssh_hostkey_info *info,
				    enum ssh_int_stage *reached,
				    enum ssh_int_retry *retry,
				    struct gpuctl_err *err);

/*
 * Host key check of a handshaken session under t's policy (hostkeys.c):
 * 0 to go on, -1 with err filled.
 */
int ssh_int_check_hostkey(struct ssh_session *ss, const struct ssh_target *t,
			  struct ssh_hostkey_info *info,
			  struct gpuctl_err *err);

/*
 * Key types known for host:port in file, comma separated, for
 * LIBSSH2_METHOD_HOSTKEY preferences; "" when none.  Caller frees.
 */
char *ssh_int_known_types(const char *file, const char *host, int port);

/*
 * The same two readers on a known_hosts text already in memory (tlen
 * bytes, need not be NUL-terminated): ssh_known_hosts_check() without the
 * file (returns SSH_KNOWN_*, or -1 with err filled for a malformed blob)
 * and ssh_int_known_types().  For tests and fuzzing.
 */
int ssh_int_known_hosts_scan(const char *text, size_t tlen, const char *host,
			     int port, const unsigned char *blob, size_t len,
			     int *line, struct gpuctl_err *err);
char *ssh_int_known_types_scan(const char *text, size_t tlen, const char *host,
			       int port);

/*
 * One running command on a channel, driven by a poll() loop (exec.c):
 * used by ssh_exec() and by ssh_run_with_forwards().
 */
struct ssh_exec_state {
	struct ssh_session *ss;
	LIBSSH2_CHANNEL *ch;
	int fd_in, fd_out, fd_err;
	size_t out_cap, err_cap; /* largest write() to fd_out, fd_err */
	char *inbuf, *outbuf, *errbuf;
	size_t in_off, in_len, out_off, out_len, err_off, err_len;
	int in_eof, eof_sent, out_eof, err_eof;
	int in_ready, out_ready, err_ready;
	int out_broken, err_broken; /* EPIPE: the reader went away */
	int closing;		    /* we sent close after EPIPE */
	int done;		    /* remote closed; status is set */
	int status;
	int dirs;	     /* LIBSSH2_SESSION_BLOCK_* seen */
	int pin, pout, perr; /* their slots in the pollfd array */
	struct buf *capture; /* stdout goes here instead, or NULL */
	size_t capture_max;
};

int ssh_int_exec_start(struct ssh_session *ss, const char *command,
		       const struct ssh_exec_opts *o, struct ssh_exec_state *x,
		       struct gpuctl_err *err);
/* Adds the local fds to poll; records their slots. */
void ssh_int_exec_pollfds(struct ssh_exec_state *x, struct pollfd *pfd, int *n);
/* Reads revents of the slots recorded. */
void ssh_int_exec_revents(struct ssh_exec_state *x, const struct pollfd *pfd);
/* Does what can be done without blocking: >0 progress, 0 none, -1 err. */
int ssh_int_exec_step(struct ssh_exec_state *x, struct gpuctl_err *err);
/* 1 when libssh2 holds something for us already (poll must not block). */
int ssh_int_exec_pending(struct ssh_exec_state *x);
/* Closes and frees the channel (waits for it within a short time). */
void ssh_int_exec_release(struct ssh_exec_state *x);

/* The terminal: raw mode, restored on every exit path (exec.c). */
int ssh_int_tty_raw(int fd);
void ssh_int_tty_restore(void);

/* Closes a channel within a short deadline and frees it. */
void ssh_int_channel_close(struct ssh_session *ss, LIBSSH2_CHANNEL *ch);

#endif
