/*
 * A pipelined SFTP (version 3) client on a channel of its own, for copying
 * folder trees: requests are queued without waiting for the answers, many
 * go out in one SSH packet, and each answer is handed to the callback of
 * its request.  libssh2's SFTP API waits for the answer of each request
 * before the next one can be sent (one open, one close, one rename in
 * flight per SFTP session), so a file costs four round trips through
 * sshd and sftp-server; here it costs a share of one.  Used by sftp.c for
 * `cp -r`; single files keep libssh2's SFTP, whose large-file pipelining is
 * as good.
 *
 * Internal to src/ssh/.  The session must not be used for anything else
 * while a pipe moves data (libssh2 allows one partly sent packet per
 * session, and this pipe may leave one between two steps).
 */
#ifndef GPUCTL_SFTP_PIPE_H
#define GPUCTL_SFTP_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "ssh_int.h"

/* Packet types (draft-ietf-secsh-filexfer-02). */
#define FXP_INIT	   1
#define FXP_VERSION	   2
#define FXP_OPEN	   3
#define FXP_CLOSE	   4
#define FXP_READ	   5
#define FXP_WRITE	   6
#define FXP_FSETSTAT	   10
#define FXP_SETSTAT	   9
#define FXP_REMOVE	   13
#define FXP_MKDIR	   14
#define FXP_STAT	   17
#define FXP_RENAME	   18
#define FXP_STATUS	   101
#define FXP_HANDLE	   102
#define FXP_DATA	   103
#define FXP_ATTRS	   105
#define FXP_EXTENDED	   200
#define FXP_EXTENDED_REPLY 201

/* OPEN flags */
#define FXF_READ  0x01
#define FXF_WRITE 0x02
#define FXF_CREAT 0x08
#define FXF_TRUNC 0x10
#define FXF_EXCL  0x20

/* The largest READ or WRITE payload sent (OpenSSH's sftp uses 32 KiB). */
#define SFTP_PIPE_CHUNK (32u * 1024)

struct sftp_pipe;

/* One answer, valid during the callback only. */
struct sftp_reply {
	int type;	      /* FXP_STATUS, FXP_HANDLE, FXP_DATA, FXP_ATTRS */
	unsigned long status; /* FXP_STATUS: LIBSSH2_FX_* */
	/* FXP_HANDLE: the handle; FXP_DATA: the bytes; FXP_STATUS: message */
	const unsigned char *data;
	size_t len;
	LIBSSH2_SFTP_ATTRIBUTES attrs; /* FXP_ATTRS */
};

/*
 * Called once per request with its answer, or with r == NULL when the pipe
 * died before the answer came (see sftp_pipe_error()).
 */
typedef void (*sftp_pipe_cb)(void *ctx, const struct sftp_reply *r);

/*
 * Opens a session channel, starts the "sftp" subsystem on it and does the
 * INIT/VERSION exchange.  NULL with err filled on failure (the caller can
 * fall back to libssh2's SFTP).
 */
struct sftp_pipe *sftp_pipe_open(struct ssh_session *ss,
				 struct gpuctl_err *err);
/* Closes the channel; answers never received get their callback (NULL). */
void sftp_pipe_close(struct sftp_pipe *p);

/* 1 when the server offers posix-rename@openssh.com (rename over). */
int sftp_pipe_posix_rename(const struct sftp_pipe *p);

/*
 * Requests, queued in order (the server answers them in order).  attrs may
 * be NULL (none).  Each returns 0, or -1 when the pipe is dead (the
 * callback is not called then).
 */
int sftp_pipe_open_file(struct sftp_pipe *p, const char *path,
			unsigned long pflags,
			const LIBSSH2_SFTP_ATTRIBUTES *attrs, sftp_pipe_cb cb,
			void *ctx);
int sftp_pipe_write(struct sftp_pipe *p, const unsigned char *h, size_t hlen,
		    uint64_t off, const void *data, size_t len, sftp_pipe_cb cb,
		    void *ctx);
int sftp_pipe_read(struct sftp_pipe *p, const unsigned char *h, size_t hlen,
		   uint64_t off, uint32_t len, sftp_pipe_cb cb, void *ctx);
int sftp_pipe_fsetstat(struct sftp_pipe *p, const unsigned char *h, size_t hlen,
		       const LIBSSH2_SFTP_ATTRIBUTES *attrs, sftp_pipe_cb cb,
		       void *ctx);
int sftp_pipe_close_handle(struct sftp_pipe *p, const unsigned char *h,
			   size_t hlen, sftp_pipe_cb cb, void *ctx);
/* path-only requests: FXP_REMOVE, FXP_STAT */
int sftp_pipe_path(struct sftp_pipe *p, int type, const char *path,
		   sftp_pipe_cb cb, void *ctx);
/* FXP_MKDIR and FXP_SETSTAT */
int sftp_pipe_path_attrs(struct sftp_pipe *p, int type, const char *path,
			 const LIBSSH2_SFTP_ATTRIBUTES *attrs, sftp_pipe_cb cb,
			 void *ctx);
/* posix-rename@openssh.com when posix and offered, else FXP_RENAME */
int sftp_pipe_rename(struct sftp_pipe *p, const char *from, const char *to,
		     int posix, sftp_pipe_cb cb, void *ctx);

/* Requests sent or queued whose answer has not come. */
size_t sftp_pipe_pending(const struct sftp_pipe *p);
/* Bytes queued but not yet handed to libssh2. */
size_t sftp_pipe_queued(const struct sftp_pipe *p);
/*
 * 1 while answers are awaited, bytes are queued or a packet is half-sent:
 * the session must not serve another channel (libssh2's SFTP) until the
 * pipe is not busy.
 */
int sftp_pipe_busy(const struct sftp_pipe *p);

/*
 * Moves bytes both ways and calls the callbacks of the answers that came.
 * When nothing could move and block is set, waits (poll) for the socket
 * first, at most idle_ms.  Returns 0, or -1 when the pipe is dead.
 */
int sftp_pipe_step(struct sftp_pipe *p, int block, int idle_ms);

/* Why the pipe died ("" while it lives). */
const char *sftp_pipe_error(const struct sftp_pipe *p);

#endif
