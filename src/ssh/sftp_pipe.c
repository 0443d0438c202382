/*
 * The pipelined SFTP client of sftp_pipe.h.
 *
 * Non-blocking libssh2 rules this follows: after a call says EAGAIN while
 * libssh2 waits to send (LIBSSH2_SESSION_BLOCK_OUTBOUND), a packet is
 * half-sent and the next call must be the same one, with the same
 * arguments; so requests are queued in one buffer and sent from another
 * that does not change while libssh2 holds a pointer into it, and the call
 * that blocked is the first one made at the next step.
 */
#include "sftp_pipe.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "gpuctl/log.h"
#include "gpuctl/util.h"

#define OPEN_TIMEOUT_MS 30000
#define READ_CHUNK	(64u * 1024)
#define MAX_PACKET	(256u * 1024) /* larger answers are a protocol error */
/* the unread tail moves to the front past this: rarely, not per read */
#define COMPACT_AT (1u << 20)

struct pending {
	uint32_t id;
	sftp_pipe_cb cb;
	void *ctx;
};

enum blocked { BLOCKED_NONE, BLOCKED_WRITE, BLOCKED_READ };

struct sftp_pipe {
	struct ssh_session *ss;
	LIBSSH2_CHANNEL *ch;
	int posix_rename;
	uint32_t next_id;
	/* answers awaited, oldest first: a ring */
	struct pending *pend;
	size_t pend_cap, pend_head, pend_n;
	struct buf queue; /* requests not yet handed to libssh2 */
	struct buf send;  /* what libssh2 is sending; frozen meanwhile */
	size_t send_off;
	struct buf in; /* bytes read, not yet whole packets */
	size_t in_off;
	enum blocked blocked; /* the call to make first (see the top) */
	int dead;
	char *error;
};

/* ------------------------------------------------------------------ */
/* Encoding                                                            */

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char c[4] = {(unsigned char)(v >> 24),
			      (unsigned char)(v >> 16), (unsigned char)(v >> 8),
			      (unsigned char)v};

	buf_add(b, c, 4);
}

static void put_u64(struct buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b, (uint32_t)v);
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	buf_add(b, p, n);
}

static void put_attrs(struct buf *b, const LIBSSH2_SFTP_ATTRIBUTES *a)
{
	unsigned long f =
	    a ? a->flags & (LIBSSH2_SFTP_ATTR_SIZE | LIBSSH2_SFTP_ATTR_UIDGID |
			    LIBSSH2_SFTP_ATTR_PERMISSIONS |
			    LIBSSH2_SFTP_ATTR_ACMODTIME)
	      : 0;

	put_u32(b, (uint32_t)f);
	if (f & LIBSSH2_SFTP_ATTR_SIZE)
		put_u64(b, a->filesize);
	if (f & LIBSSH2_SFTP_ATTR_UIDGID) {
		put_u32(b, (uint32_t)a->uid);
		put_u32(b, (uint32_t)a->gid);
	}
	if (f & LIBSSH2_SFTP_ATTR_PERMISSIONS)
		put_u32(b, (uint32_t)a->permissions);
	if (f & LIBSSH2_SFTP_ATTR_ACMODTIME) {
		put_u32(b, (uint32_t)a->atime);
		put_u32(b, (uint32_t)a->mtime);
	}
}

static uint32_t get_u32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* A cursor over one packet. */
struct rd {
	const unsigned char *p, *end;
	int bad;
};

static uint32_t rd_u32(struct rd *r)
{
	uint32_t v;

	if (r->end - r->p < 4) {
		r->bad = 1;
		return 0;
	}
	v = get_u32(r->p);
	r->p += 4;
	return v;
}

static const unsigned char *rd_bytes(struct rd *r, size_t *n)
{
	const unsigned char *s;
	uint32_t len = rd_u32(r);

	if (r->bad || (size_t)(r->end - r->p) < len) {
		r->bad = 1;
		*n = 0;
		return NULL;
	}
	s = r->p;
	r->p += len;
	*n = len;
	return s;
}

static void rd_attrs(struct rd *r, LIBSSH2_SFTP_ATTRIBUTES *a)
{
	uint32_t n, i;
	size_t len;

	memset(a, 0, sizeof(*a));
	a->flags = rd_u32(r);
	if (a->flags & LIBSSH2_SFTP_ATTR_SIZE) {
		a->filesize = (uint64_t)rd_u32(r) << 32;
		a->filesize |= rd_u32(r);
	}
	if (a->flags & LIBSSH2_SFTP_ATTR_UIDGID) {
		a->uid = rd_u32(r);
		a->gid = rd_u32(r);
	}
	if (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS)
		a->permissions = rd_u32(r);
	if (a->flags & LIBSSH2_SFTP_ATTR_ACMODTIME) {
		a->atime = rd_u32(r);
		a->mtime = rd_u32(r);
	}
	if (a->flags & LIBSSH2_SFTP_ATTR_EXTENDED) {
		n = rd_u32(r);
		for (i = 0; i < n && !r->bad; i++) {
			rd_bytes(r, &len);
			rd_bytes(r, &len);
		}
	}
}

/* ------------------------------------------------------------------ */
/* State                                                               */

static void die(struct sftp_pipe *p, const char *what)
{
	char *msg = NULL;

	if (p->dead)
		return;
	p->dead = 1;
	if (!what) {
		libssh2_session_last_error(p->ss->s, &msg, NULL, 0);
		what = msg && *msg ? msg : "SSH connection failed";
	}
	p->error = xstrdup(what);
}

const char *sftp_pipe_error(const struct sftp_pipe *p)
{
	return p->error ? p->error : "";
}

int sftp_pipe_posix_rename(const struct sftp_pipe *p)
{
	return p->posix_rename;
}

size_t sftp_pipe_pending(const struct sftp_pipe *p)
{
	return p->pend_n;
}

size_t sftp_pipe_queued(const struct sftp_pipe *p)
{
	return p->queue.len + (p->send.len - p->send_off);
}

int sftp_pipe_busy(const struct sftp_pipe *p)
{
	return !p->dead &&
	       (p->pend_n || sftp_pipe_queued(p) || p->blocked != BLOCKED_NONE);
}

static void push_pending(struct sftp_pipe *p, uint32_t id, sftp_pipe_cb cb,
			 void *ctx)
{
	size_t i;

	if (p->pend_n == p->pend_cap) {
		size_t cap = p->pend_cap ? p->pend_cap * 2 : 256;
		struct pending *n = xmalloc(cap * sizeof(*n));

		for (i = 0; i < p->pend_n; i++)
			n[i] = p->pend[(p->pend_head + i) % p->pend_cap];
		free(p->pend);
		p->pend = n;
		p->pend_cap = cap;
		p->pend_head = 0;
	}
	i = (p->pend_head + p->pend_n) % p->pend_cap;
	p->pend[i].id = id;
	p->pend[i].cb = cb;
	p->pend[i].ctx = ctx;
	p->pend_n++;
}

/* Takes the request id off the list (answers come in order: the head). */
static int take_pending(struct sftp_pipe *p, uint32_t id, struct pending *out)
{
	size_t i, k, j;

	for (k = 0; k < p->pend_n; k++) {
		i = (p->pend_head + k) % p->pend_cap;
		if (p->pend[i].id != id)
			continue;
		*out = p->pend[i];
		/* close the gap: move the older ones up by one */
		for (; k > 0; k--) {
			j = (p->pend_head + k - 1) % p->pend_cap;
			p->pend[(p->pend_head + k) % p->pend_cap] = p->pend[j];
		}
		p->pend_head = (p->pend_head + 1) % p->pend_cap;
		p->pend_n--;
		return 0;
	}
	return -1;
}

/* Starts a request: length placeholder, type, id.  Returns its offset. */
static size_t begin(struct sftp_pipe *p, int type, uint32_t *id)
{
	size_t at = p->queue.len;

	put_u32(&p->queue, 0);
	buf_addch(&p->queue, (char)type);
	*id = p->next_id++;
	put_u32(&p->queue, *id);
	return at;
}

static int finish(struct sftp_pipe *p, size_t at, uint32_t id, sftp_pipe_cb cb,
		  void *ctx)
{
	uint32_t len = (uint32_t)(p->queue.len - at - 4);
	unsigned char *l = (unsigned char *)p->queue.data + at;

	l[0] = (unsigned char)(len >> 24);
	l[1] = (unsigned char)(len >> 16);
	l[2] = (unsigned char)(len >> 8);
	l[3] = (unsigned char)len;
	push_pending(p, id, cb, ctx);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

int sftp_pipe_open_file(struct sftp_pipe *p, const char *path,
			unsigned long pflags,
			const LIBSSH2_SFTP_ATTRIBUTES *attrs, sftp_pipe_cb cb,
			void *ctx)
{
	uint32_t id;
	size_t at;

	if (p->dead)
		return -1;
	at = begin(p, FXP_OPEN, &id);
	put_bytes(&p->queue, path, strlen(path));
	put_u32(&p->queue, (uint32_t)pflags);
	put_attrs(&p->queue, attrs);
	return finish(p, at, id, cb, ctx);
}

int sftp_pipe_write(struct sftp_pipe *p, const unsigned char *h, size_t hlen,
		    uint64_t off, const void *data, size_t len, sftp_pipe_cb cb,
		    void *ctx)
{
	uint32_t id;
	size_t at;

	if (p->dead)
		return -1;
	at = begin(p, FXP_WRITE, &id);
	put_bytes(&p->queue, h, hlen);
	put_u64(&p->queue, off);
	put_bytes(&p->queue, data, len);
	return finish(p, at, id, cb, ctx);
}

int sftp_pipe_read(struct sftp_pipe *p, const unsigned char *h, size_t hlen,
		   uint64_t off, uint32_t len, sftp_pipe_cb cb, void *ctx)
{
	uint32_t id;
	size_t at;

	if (p->dead)
		return -1;
	at = begin(p, FXP_READ, &id);
	put_bytes(&p->queue, h, hlen);
	put_u64(&p->queue, off);
	put_u32(&p->queue, len);
	return finish(p, at, id, cb, ctx);
}

int sftp_pipe_fsetstat(struct sftp_pipe *p, const unsigned char *h, size_t hlen,
		       const LIBSSH2_SFTP_ATTRIBUTES *attrs, sftp_pipe_cb cb,
		       void *ctx)
{
	uint32_t id;
	size_t at;

	if (p->dead)
		return -1;
	at = begin(p, FXP_FSETSTAT, &id);
	put_bytes(&p->queue, h, hlen);
	put_attrs(&p->queue, attrs);
	return finish(p, at, id, cb, ctx);
}

int sftp_pipe_close_handle(struct sftp_pipe *p, const unsigned char *h,
			   size_t hlen, sftp_pipe_cb cb, void *ctx)
{
	uint32_t id;
	size_t at;

	if (p->dead)
		return -1;
	at = begin(p, FXP_CLOSE, &id);
	put_bytes(&p->queue, h, hlen);
	return finish(p, at, id, cb, ctx);
}

int sftp_pipe_path(struct sftp_pipe *p, int type, const char *path,
		   sftp_pipe_cb cb, void *ctx)
{
	uint32_t id;
	size_t at;

	if (p->dead)
		return -1;
	at = begin(p, type, &id);
	put_bytes(&p->queue, path, strlen(path));
	return finish(p, at, id, cb, ctx);
}

int sftp_pipe_path_attrs(struct sftp_pipe *p, int type, const char *path,
			 const LIBSSH2_SFTP_ATTRIBUTES *attrs, sftp_pipe_cb cb,
			 void *ctx)
{
	uint32_t id;
	size_t at;

	if (p->dead)
		return -1;
	at = begin(p, type, &id);
	put_bytes(&p->queue, path, strlen(path));
	put_attrs(&p->queue, attrs);
	return finish(p, at, id, cb, ctx);
}

int sftp_pipe_rename(struct sftp_pipe *p, const char *from, const char *to,
		     int posix, sftp_pipe_cb cb, void *ctx)
{
	static const char ext[] = "posix-rename@openssh.com";
	uint32_t id;
	size_t at;

	if (p->dead)
		return -1;
	if (posix && p->posix_rename) {
		at = begin(p, FXP_EXTENDED, &id);
		put_bytes(&p->queue, ext, sizeof(ext) - 1);
	} else {
		at = begin(p, FXP_RENAME, &id);
	}
	put_bytes(&p->queue, from, strlen(from));
	put_bytes(&p->queue, to, strlen(to));
	return finish(p, at, id, cb, ctx);
}

/* ------------------------------------------------------------------ */
/* Answers                                                             */

static void dispatch(struct sftp_pipe *p, const unsigned char *pkt, size_t n)
{
	struct rd r = {pkt, pkt + n, 0};
	struct sftp_reply rep;
	struct pending pe;
	uint32_t id;

	memset(&rep, 0, sizeof(rep));
	if (n < 5) {
		die(p, "malformed SFTP answer");
		return;
	}
	rep.type = *r.p++;
	id = rd_u32(&r);
	switch (rep.type) {
	case FXP_STATUS:
		rep.status = rd_u32(&r);
		if (r.p < r.end) /* message (and language), optional in v3 */
			rep.data = rd_bytes(&r, &rep.len);
		r.bad = 0;
		break;
	case FXP_HANDLE:
	case FXP_DATA:
		rep.data = rd_bytes(&r, &rep.len);
		break;
	case FXP_ATTRS:
		rd_attrs(&r, &rep.attrs);
		break;
	case FXP_EXTENDED_REPLY:
		break;
	default:
		die(p, "unexpected SFTP answer");
		return;
	}
	if (r.bad) {
		die(p, "malformed SFTP answer");
		return;
	}
	if (take_pending(p, id, &pe)) {
		die(p, "SFTP answer to no request");
		return;
	}
	pe.cb(pe.ctx, &rep);
}

/* Hands every whole packet in p->in to dispatch(). */
static void parse(struct sftp_pipe *p)
{
	const unsigned char *b;
	uint32_t len;

	while (!p->dead && p->in.len - p->in_off >= 4) {
		b = (const unsigned char *)p->in.data + p->in_off;
		len = get_u32(b);
		if (len > MAX_PACKET) {
			die(p, "SFTP answer too large");
			return;
		}
		if (p->in.len - p->in_off - 4 < len)
			break;
		p->in_off += 4 + (size_t)len;
		dispatch(p, b + 4, len);
	}
	if (p->in_off == p->in.len) {
		buf_reset(&p->in);
		p->in_off = 0;
	} else if (p->in_off >= COMPACT_AT) {
		memmove(p->in.data, p->in.data + p->in_off,
			p->in.len - p->in_off);
		p->in.len -= p->in_off;
		p->in_off = 0;
	}
}

/* ------------------------------------------------------------------ */
/* Moving bytes                                                        */

static int outbound(struct sftp_pipe *p)
{
	return (libssh2_session_block_directions(p->ss->s) &
		LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;
}

/* Sends what can go; 1 when bytes moved. */
static int do_write(struct sftp_pipe *p)
{
	struct buf t;
	ssize_t n;
	int moved = 0;

	for (;;) {
		if (p->send_off == p->send.len) {
			if (!p->queue.len)
				break;
			/* the queue becomes the frozen send buffer */
			t = p->send;
			p->send = p->queue;
			p->queue = t;
			buf_reset(&p->queue);
			p->send_off = 0;
		}
		n = libssh2_channel_write(p->ch, p->send.data + p->send_off,
					  p->send.len - p->send_off);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			if (outbound(p))
				p->blocked = BLOCKED_WRITE;
			break;
		}
		p->blocked = BLOCKED_NONE;
		if (n < 0) {
			die(p, NULL);
			break;
		}
		p->send_off += (size_t)n;
		moved = 1;
		if (p->send_off == p->send.len) {
			buf_reset(&p->send);
			p->send_off = 0;
		}
	}
	return moved;
}

/* Reads what has come and dispatches it; 1 when bytes moved. */
static int do_read(struct sftp_pipe *p)
{
	size_t got = 0;
	ssize_t n;
	int moved = 0;

	while (!p->dead && got < 4 * READ_CHUNK) {
		buf_grow(&p->in, READ_CHUNK);
		n = libssh2_channel_read(p->ch, p->in.data + p->in.len,
					 READ_CHUNK);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			if (outbound(p))
				p->blocked = BLOCKED_READ;
			break;
		}
		p->blocked = BLOCKED_NONE;
		if (n < 0) {
			die(p, NULL);
			break;
		}
		if (n == 0) {
			if (libssh2_channel_eof(p->ch))
				die(p, "the SFTP server closed the channel");
			break;
		}
		p->in.len += (size_t)n;
		got += (size_t)n;
		moved = 1;
		parse(p);
	}
	return moved;
}

int sftp_pipe_step(struct sftp_pipe *p, int block, int idle_ms)
{
	struct pollfd pfd;
	int moved = 0, r;

	if (p->dead)
		return -1;
	/* a half-sent packet: the call that left it goes first, alone */
	if (p->blocked == BLOCKED_READ) {
		moved |= do_read(p);
	} else if (p->blocked == BLOCKED_WRITE) {
		moved |= do_write(p);
	}
	if (p->blocked == BLOCKED_NONE && !p->dead)
		moved |= do_write(p);
	if (p->blocked == BLOCKED_NONE && !p->dead)
		moved |= do_read(p);
	if (p->dead)
		return -1;
	if (moved || !block)
		return 0;
	pfd.fd = p->ss->sock;
	pfd.events = POLLIN;
	if (p->blocked != BLOCKED_NONE || outbound(p))
		pfd.events |= POLLOUT;
	pfd.revents = 0;
	for (;;) {
		r = poll(&pfd, 1, idle_ms);
		if (r >= 0 || errno != EINTR)
			break;
	}
	if (r == 0) {
		die(p, "the server sent nothing for too long");
		return -1;
	}
	if (r < 0) {
		die(p, strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Opening and closing                                                 */

/* Runs a libssh2 call until it stops saying EAGAIN (deadline given). */
#define PIPE_CALL(p, r, deadline, call)                            \
	do {                                                       \
		while (((r) = (call)) == LIBSSH2_ERROR_EAGAIN) {   \
			if (ssh_int_wait((p)->ss, (deadline)) < 0) \
				break;                             \
		}                                                  \
	} while (0)

/* Reads one whole packet into p->in during the set-up; 0 or -1. */
static int read_packet(struct sftp_pipe *p, long long deadline,
		       const unsigned char **pkt, size_t *len)
{
	ssize_t n;
	uint32_t l;

	for (;;) {
		if (p->in.len >= 4) {
			l = get_u32((const unsigned char *)p->in.data);
			if (l > MAX_PACKET)
				return -1;
			if (p->in.len - 4 >= l) {
				*pkt = (const unsigned char *)p->in.data + 4;
				*len = l;
				return 0;
			}
		}
		buf_grow(&p->in, READ_CHUNK);
		n = libssh2_channel_read(p->ch, p->in.data + p->in.len,
					 READ_CHUNK);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			if (ssh_int_wait(p->ss, deadline) < 0)
				return -1;
			continue;
		}
		if (n < 0 || (n == 0 && libssh2_channel_eof(p->ch)))
			return -1;
		p->in.len += (size_t)n;
	}
}

struct sftp_pipe *sftp_pipe_open(struct ssh_session *ss, struct gpuctl_err *err)
{
	long long deadline = ssh_int_now_ms() + OPEN_TIMEOUT_MS;
	struct sftp_pipe *p = xcalloc(1, sizeof(*p));
	const unsigned char *pkt;
	struct buf init = BUF_INIT;
	const unsigned char *name;
	size_t len, nlen, off = 0;
	struct rd r;
	ssize_t n;
	int rc;

	p->ss = ss;
	p->next_id = 1;
	buf_init(&p->queue);
	buf_init(&p->send);
	buf_init(&p->in);
	while (!(p->ch = libssh2_channel_open_session(ss->s))) {
		if (libssh2_session_last_errno(ss->s) != LIBSSH2_ERROR_EAGAIN ||
		    ssh_int_wait(ss, deadline) < 0)
			goto fail;
	}
	PIPE_CALL(
	    p, rc, deadline,
	    libssh2_channel_process_startup(p->ch, "subsystem", 9, "sftp", 4));
	if (rc)
		goto fail;
	put_u32(&init, 5);
	buf_addch(&init, FXP_INIT);
	put_u32(&init, 3);
	while (off < init.len) {
		PIPE_CALL(p, n, deadline,
			  libssh2_channel_write(p->ch, init.data + off,
						init.len - off));
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (read_packet(p, deadline, &pkt, &len) || len < 5 ||
	    pkt[0] != FXP_VERSION)
		goto fail;
	r.p = pkt + 5; /* the version: 3, or the server speaks ours */
	r.end = pkt + len;
	r.bad = 0;
	while (r.p < r.end && !r.bad) {
		name = rd_bytes(&r, &nlen);
		rd_bytes(&r, &len);
		if (!r.bad && nlen == 24 &&
		    !memcmp(name, "posix-rename@openssh.com", 24))
			p->posix_rename = 1;
	}
	buf_reset(&p->in);
	buf_release(&init);
	return p;
fail:
	buf_release(&init);
	err_set(err, GPUCTL_ERR_SSH, "cannot start a second SFTP channel: %s",
		ssh_int_errmsg(ss));
	sftp_pipe_close(p);
	return NULL;
}

void sftp_pipe_close(struct sftp_pipe *p)
{
	struct pending pe;

	if (!p)
		return;
	if (p->pend_n && !p->dead)
		die(p, "closed with answers awaited");
	/* every request still waiting hears that no answer will come */
	while (p->pend_n) {
		pe = p->pend[p->pend_head];
		p->pend_head = (p->pend_head + 1) % p->pend_cap;
		p->pend_n--;
		pe.cb(pe.ctx, NULL);
	}
	/* a half-sent packet makes the session unusable: it is dead anyway */
	if (p->ch && p->blocked == BLOCKED_NONE)
		ssh_int_channel_close(p->ss, p->ch);
	else if (p->ch)
		libssh2_channel_free(p->ch);
	free(p->pend);
	buf_release(&p->queue);
	buf_release(&p->send);
	buf_release(&p->in);
	free(p->error);
	free(p);
}
