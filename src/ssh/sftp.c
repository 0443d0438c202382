/*
 * SFTP copy in scp's terms: ssh_upload() and ssh_download().
 *
 * The session is switched to non-blocking mode for the copy and every
 * libssh2 call that says EAGAIN is called again, with the same arguments,
 * after poll() on the socket in the directions libssh2 is waiting for.
 * Throughput comes from libssh2's own pipelining: sftp_write() splits a
 * large buffer into many outstanding WRITE requests, and sftp_read() asks
 * for up to four times the buffer ahead.  Files are written to a temporary
 * name beside the target and renamed over it when complete.
 */
#include "ssh_int.h"
#include "sftp_pipe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "gpuctl/log.h"
#include "gpuctl/util.h"

#define SFTP_BUF	   (4u << 20) /* bytes handed to one read/write */
#define SFTP_WINDOW	   (2u << 20) /* upload: refill below this in flight */
#define SFTP_IDLE_MS	   120000     /* no progress at all for this long */
#define SFTP_MAX_DEPTH	   200
#define SFTP_NAME_BUF	   4096
#define SFTP_PROGRESS_STEP (1ull << 20)

struct xfer {
	struct ssh_session *ss;
	LIBSSH2_SFTP *sftp;
	const struct ssh_copy_opts *o;
	int was_blocking;
	mode_t mask; /* the local umask */
	char *buf;   /* SFTP_BUF bytes */
	int pending; /* err holds a failure not logged yet */
	int failed;  /* something could not be copied */
	int dead;    /* the connection failed: stop */
	struct gpuctl_err *err;
	/* the pipelined channel (sftp_pipe.h), opened at first use */
	struct sftp_pipe *pipe;
	int no_pipe; /* it could not be opened: libssh2's SFTP only */
	/* progress of the current file */
	const char *p_name;
	unsigned long long p_total, p_last;
};

/* ------------------------------------------------------------------ */
/* Messages                                                            */

/* A copy of untrusted text for a message: cut, control bytes as '?'. */
static char *shown(const char *s)
{
	char *p = xstrndup(s, 200);
	size_t i, n = strlen(p);

	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			p[i] = '?';
	}
	return p;
}

static const char *fx_text(unsigned long code)
{
	switch (code) {
	case LIBSSH2_FX_OK:
		return "success";
	case LIBSSH2_FX_EOF:
		return "end of file";
	case LIBSSH2_FX_NO_SUCH_FILE:
		return "no such file";
	case LIBSSH2_FX_PERMISSION_DENIED:
		return "permission denied";
	case LIBSSH2_FX_FAILURE:
		return "failure";
	case LIBSSH2_FX_BAD_MESSAGE:
		return "bad message";
	case LIBSSH2_FX_NO_CONNECTION:
		return "no connection";
	case LIBSSH2_FX_CONNECTION_LOST:
		return "connection lost";
	case LIBSSH2_FX_OP_UNSUPPORTED:
		return "operation not supported";
	case LIBSSH2_FX_INVALID_HANDLE:
		return "invalid handle";
	case LIBSSH2_FX_NO_SUCH_PATH:
		return "no such path";
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		return "file already exists";
	case LIBSSH2_FX_WRITE_PROTECT:
		return "write protected";
	case LIBSSH2_FX_NO_MEDIA:
		return "no media";
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
		return "no space left on the file system";
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		return "quota exceeded";
	case LIBSSH2_FX_UNKNOWN_PRINCIPAL:
		return "unknown principal";
	case LIBSSH2_FX_LOCK_CONFLICT:
		return "lock conflict";
	case LIBSSH2_FX_DIR_NOT_EMPTY:
		return "folder not empty";
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		return "not a folder";
	case LIBSSH2_FX_INVALID_FILENAME:
		return "invalid file name";
	case LIBSSH2_FX_LINK_LOOP:
		return "too many levels of links";
	default:
		return "unknown SFTP status";
	}
}

/*
 * Records a failure.  Copying goes on after one (as scp does) unless it is
 * fatal; the last failure is returned in err, earlier ones are logged as
 * they are replaced.  Returns -1 when fatal, else 0.
 */
static int note(struct xfer *x, int fatal, enum gpuctl_err_kind kind,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int note(struct xfer *x, int fatal, enum gpuctl_err_kind kind,
		const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (x->pending && x->err->message)
		log_msg(LOG_ERROR, "%s", x->err->message);
	err_set(x->err, kind, "%s", b.data);
	buf_release(&b);
	x->pending = 1;
	x->failed = 1;
	if (fatal)
		x->dead = 1;
	return fatal ? -1 : 0;
}

/* A local failure: errno e, about path. */
static int local_fail(struct xfer *x, const char *what, const char *path, int e)
{
	char *p = shown(path);

	note(x, 0, GPUCTL_ERR_IO, "%s '%s': %s", what, p, strerror(e));
	free(p);
	return 0;
}

/*
 * A failed libssh2 call about remote path: an SFTP status is reported and
 * copying goes on; anything else means the connection is gone.
 */
static int remote_fail(struct xfer *x, const char *what, const char *path)
{
	char *p, *msg = NULL;
	int r;

	if (x->dead)
		return -1;
	p = shown(path);
	if (libssh2_session_last_errno(x->ss->s) ==
	    LIBSSH2_ERROR_SFTP_PROTOCOL) {
		r = note(x, 0, GPUCTL_ERR_SSH, "%s '%s': %s", what, p,
			 fx_text(libssh2_sftp_last_error(x->sftp)));
	} else {
		libssh2_session_last_error(x->ss->s, &msg, NULL, 0);
		r = note(x, 1, GPUCTL_ERR_SSH, "%s '%s': %s", what, p,
			 msg && *msg ? msg : "SSH connection failed");
	}
	free(p);
	return r;
}

/* The SFTP status of the last failed call (0 when it was not one). */
static unsigned long fx_code(struct xfer *x)
{
	if (libssh2_session_last_errno(x->ss->s) != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return 0;
	return libssh2_sftp_last_error(x->sftp);
}

static void progress(struct xfer *x, unsigned long long done, int force)
{
	if (!x->o->progress || !x->p_name)
		return;
	if (!force && done - x->p_last < SFTP_PROGRESS_STEP)
		return;
	x->p_last = done;
	x->o->progress(x->o->progress_ctx, x->p_name, done, x->p_total);
}

static void progress_start(struct xfer *x, const char *name,
			   unsigned long long total)
{
	x->p_name = name;
	x->p_total = total;
	x->p_last = 0;
	progress(x, 0, 1);
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */

/*
 * Waits until the socket is ready in the directions libssh2 is blocked
 * on.  Returns 0, or -1 (fatal, err filled) on a dead or stalled socket.
 */
static int xfer_wait(struct xfer *x)
{
	struct pollfd p;
	int dir, r;

	if (x->dead)
		return -1;
	dir = libssh2_session_block_directions(x->ss->s);
	p.fd = x->ss->sock;
	p.events = 0;
	p.revents = 0;
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		p.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	if (!p.events)
		p.events = POLLIN;
	for (;;) {
		r = poll(&p, 1, SFTP_IDLE_MS);
		if (r >= 0 || errno != EINTR)
			break;
	}
	if (r < 0) {
		return note(x, 1, GPUCTL_ERR_SSH, "waiting for the server: %s",
			    strerror(errno));
	}
	if (!r) {
		return note(x, 1, GPUCTL_ERR_SSH,
			    "the server sent nothing for %d s",
			    SFTP_IDLE_MS / 1000);
	}
	return 0;
}

/* Calls expr until it stops saying EAGAIN; r gets its result. */
#define SFTP_CALL(x, r, expr)                               \
	for (;;) {                                          \
		(r) = (expr);                               \
		if ((r) != LIBSSH2_ERROR_EAGAIN)            \
			break;                              \
		if (xfer_wait(x)) {                         \
			(r) = LIBSSH2_ERROR_SOCKET_TIMEOUT; \
			break;                              \
		}                                           \
	}

static LIBSSH2_SFTP_HANDLE *r_open(struct xfer *x, const char *path,
				   unsigned long flags, long mode, int type)
{
	LIBSSH2_SFTP_HANDLE *h;

	for (;;) {
		h = libssh2_sftp_open_ex(x->sftp, path,
					 (unsigned int)strlen(path), flags,
					 mode, type);
		if (h || libssh2_session_last_errno(x->ss->s) !=
			     LIBSSH2_ERROR_EAGAIN)
			return h;
		if (xfer_wait(x))
			return NULL;
	}
}

static int r_stat(struct xfer *x, const char *path, int how,
		  LIBSSH2_SFTP_ATTRIBUTES *a)
{
	int r;

	SFTP_CALL(x, r,
		  libssh2_sftp_stat_ex(x->sftp, path,
				       (unsigned int)strlen(path), how, a));
	return r;
}

static int r_close(struct xfer *x, LIBSSH2_SFTP_HANDLE *h)
{
	int r;

	if (x->dead) {
		/* the connection is gone: free the handle, ignore the rest */
		libssh2_sftp_close_handle(h);
		return -1;
	}
	SFTP_CALL(x, r, libssh2_sftp_close_handle(h));
	return r;
}

static int r_unlink(struct xfer *x, const char *path)
{
	int r;

	if (x->dead)
		return -1;
	SFTP_CALL(
	    x, r,
	    libssh2_sftp_unlink_ex(x->sftp, path, (unsigned int)strlen(path)));
	return r;
}

static int r_rename(struct xfer *x, const char *from, const char *to)
{
	int r;

	SFTP_CALL(x, r,
		  libssh2_sftp_rename_ex(x->sftp, from,
					 (unsigned int)strlen(from), to,
					 (unsigned int)strlen(to),
					 LIBSSH2_SFTP_RENAME_OVERWRITE |
					     LIBSSH2_SFTP_RENAME_ATOMIC |
					     LIBSSH2_SFTP_RENAME_NATIVE));
	return r;
}

/* ------------------------------------------------------------------ */
/* Names                                                               */

/* ".NAME.gpuctl-XXXXXX", NAME cut to 200 bytes. */
static char *temp_name(const char *name)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[6];
	char suffix[7];
	struct timespec ts;
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		for (i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)((ts.tv_nsec >> (i * 5)) ^
						 (getpid() >> i));
	}
	for (i = 0; i < sizeof(rnd); i++)
		suffix[i] = set[rnd[i] % (sizeof(set) - 1)];
	suffix[6] = '\0';
	return xasprintf(".%.200s.gpuctl-%s", name, suffix);
}

/* dir/name for remote paths ("" is the login folder). */
static char *rjoin(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	if (!n)
		return xstrdup(name);
	if (dir[n - 1] == '/')
		return xasprintf("%s%s", dir, name);
	return xasprintf("%s/%s", dir, name);
}

/* The folder part of path, with its final '/' ("" when none). */
static char *dir_part(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, (size_t)(slash - path) + 1) : xstrdup("");
}

/*
 * The last component of path, trailing slashes ignored; "" for "/" or
 * an empty path.
 */
static char *base_part(const char *path)
{
	size_t end = strlen(path), start;

	while (end > 1 && path[end - 1] == '/')
		end--;
	if (end == 1 && path[0] == '/')
		return xstrdup("");
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	return xstrndup(path + start, end - start);
}

/* A name that can be created inside a folder. */
static int good_name(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") &&
	       !strchr(name, '/');
}

static int ends_with_slash(const char *s)
{
	size_t n = strlen(s);

	return n && s[n - 1] == '/';
}

/* Remote paths are relative to the login folder; "~" and "~/" name it. */
static char *remote_norm(const char *p)
{
	if (!*p || !strcmp(p, "~") || !strcmp(p, "~/"))
		return xstrdup(".");
	if (starts_with(p, "~/")) {
		p += 2;
		while (*p == '/')
			p++;
		return xstrdup(*p ? p : ".");
	}
	return xstrdup(p);
}

static int r_is_dir(const LIBSSH2_SFTP_ATTRIBUTES *a)
{
	return (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
	       LIBSSH2_SFTP_S_ISDIR(a->permissions);
}

static int r_is_reg(const LIBSSH2_SFTP_ATTRIBUTES *a)
{
	return (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
	       LIBSSH2_SFTP_S_ISREG(a->permissions);
}

static int r_is_link(const LIBSSH2_SFTP_ATTRIBUTES *a)
{
	return (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
	       LIBSSH2_SFTP_S_ISLNK(a->permissions);
}

/* ------------------------------------------------------------------ */
/* Start and end                                                       */

static const struct ssh_copy_opts no_opts;

static int xfer_start(struct xfer *x, struct ssh_session *s,
		      const struct ssh_copy_opts *o, struct gpuctl_err *err)
{
	char *msg = NULL;

	memset(x, 0, sizeof(*x));
	x->ss = s;
	x->o = o ? o : &no_opts;
	x->err = err;
	x->mask = umask(077);
	umask(x->mask);
	x->buf = xmalloc(SFTP_BUF);
	x->was_blocking = libssh2_session_get_blocking(s->s);
	libssh2_session_set_blocking(s->s, 0);
	for (;;) {
		x->sftp = libssh2_sftp_init(s->s);
		if (x->sftp)
			return 0;
		if (libssh2_session_last_errno(s->s) != LIBSSH2_ERROR_EAGAIN)
			break;
		if (xfer_wait(x))
			return -1;
	}
	libssh2_session_last_error(s->s, &msg, NULL, 0);
	return note(x, 1, GPUCTL_ERR_SSH, "cannot start SFTP: %s",
		    msg && *msg ? msg : "unknown error");
}

static int xfer_end(struct xfer *x)
{
	int r;

	if (x->pipe) {
		while (!x->dead && sftp_pipe_busy(x->pipe))
			if (sftp_pipe_step(x->pipe, 1, SFTP_IDLE_MS) < 0)
				break;
		sftp_pipe_close(x->pipe);
		x->pipe = NULL;
	}
	if (x->sftp && x->dead) {
		libssh2_sftp_shutdown(x->sftp);
	} else if (x->sftp) {
		SFTP_CALL(x, r, libssh2_sftp_shutdown(x->sftp));
		(void)r;
	}
	x->sftp = NULL;
	libssh2_session_set_blocking(x->ss->s, x->was_blocking);
	free(x->buf);
	x->buf = NULL;
	return x->failed ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Upload                                                              */

/* Sends fd's bytes through h, keeping SFTP_WINDOW..SFTP_BUF in flight. */
static int push_data(struct xfer *x, int fd, LIBSSH2_SFTP_HANDLE *h,
		     const char *lpath, const char *target)
{
	size_t off = 0, len = 0;
	unsigned long long done = 0;
	int eof = 0;
	ssize_t n;

	for (;;) {
		if (!eof && len - off < SFTP_WINDOW) {
			if (off) {
				memmove(x->buf, x->buf + off, len - off);
				len -= off;
				off = 0;
			}
			n = read(fd, x->buf + len, SFTP_BUF - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				local_fail(x, "cannot read", lpath, errno);
				return -1;
			}
			if (!n)
				eof = 1;
			len += (size_t)n;
			continue;
		}
		if (off == len)
			break;
		n = libssh2_sftp_write(h, x->buf + off, len - off);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			if (xfer_wait(x))
				return -1;
			continue;
		}
		if (n < 0) {
			remote_fail(x, "cannot write remote", target);
			return -1;
		}
		off += (size_t)n;
		done += (unsigned long long)n;
		progress(x, done, 0);
	}
	progress(x, done, 1);
	return 0;
}

/*
 * Closes h, then renames tmp over target.  When the server will not rename
 * over an existing file (SFTP version 3 has no overwrite flag), removes the
 * target and renames again.  Returns 0, or -1 with the failure noted (fatal
 * or not: check x->dead).
 *
 * (Sending the rename while the close is in flight saves a round trip,
 * but libssh2 1.10 then sometimes waits forever for an answer it already
 * read, so the two go one after the other.)
 */
static int close_and_rename(struct xfer *x, LIBSSH2_SFTP_HANDLE *h,
			    const char *tmp, const char *target)
{
	int r;

	r = r_close(x, h);
	if (r) {
		remote_fail(x, "cannot close remote", target);
		return -1;
	}
	r = r_rename(x, tmp, target);
	if (r && fx_code(x) == LIBSSH2_FX_FAILURE) {
		/* most likely the target exists: replace it */
		if (!r_unlink(x, target))
			r = r_rename(x, tmp, target);
	}
	if (r) {
		remote_fail(x, "cannot rename into place remote", target);
		return -1;
	}
	return 0;
}

/* Copies the open local file fd (named lpath) to the remote target. */
static int upload_file(struct xfer *x, int fd, const char *lpath,
		       const char *target)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	LIBSSH2_SFTP_HANDLE *h = NULL;
	char *dir = NULL, *base = NULL, *tname = NULL, *tmp = NULL;
	struct stat st;
	int r, renamed = 0;

	if (fstat(fd, &st)) {
		local_fail(x, "cannot read", lpath, errno);
		goto out;
	}
	dir = dir_part(target);
	base = base_part(target);
	tname = temp_name(base);
	tmp = xasprintf("%s%s", dir, tname);
	h = r_open(x, tmp,
		   LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
		   x->o->preserve ? 0600 : (long)(st.st_mode & 0777),
		   LIBSSH2_SFTP_OPENFILE);
	if (!h) {
		remote_fail(x, "cannot create remote", target);
		goto out;
	}
	progress_start(x, lpath, (unsigned long long)st.st_size);
	if (push_data(x, fd, h, lpath, target))
		goto out;
	if (x->o->preserve) {
		memset(&a, 0, sizeof(a));
		a.flags =
		    LIBSSH2_SFTP_ATTR_PERMISSIONS | LIBSSH2_SFTP_ATTR_ACMODTIME;
		a.permissions = st.st_mode & 07777;
		a.atime = (unsigned long)st.st_atime;
		a.mtime = (unsigned long)st.st_mtime;
		SFTP_CALL(x, r,
			  libssh2_sftp_fstat_ex(h, &a, LIBSSH2_SFTP_SETSTAT));
		if (r) {
			remote_fail(x,
				    "cannot set the mode and times of remote",
				    target);
			goto out;
		}
	}
	r = close_and_rename(x, h, tmp, target);
	h = NULL;
	renamed = !r;
out:
	if (h)
		r_close(x, h);
	if (tmp && !renamed && !x->dead)
		r_unlink(x, tmp);
	free(dir);
	free(base);
	free(tname);
	free(tmp);
	return x->dead ? -1 : 0;
}

/*
 * Makes the remote folder target (an existing folder is fine).  *created
 * tells which.  Returns 0, or -1 after noting the failure.
 */
static int remote_mkdir(struct xfer *x, const char *target, long mode,
			int *created)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	unsigned long code;
	int r;

	*created = 0;
	SFTP_CALL(x, r,
		  libssh2_sftp_mkdir_ex(x->sftp, target,
					(unsigned int)strlen(target), mode));
	if (!r) {
		*created = 1;
		return 0;
	}
	code = fx_code(x);
	if (!code) {
		remote_fail(x, "cannot create remote folder", target);
		return -1;
	}
	if (!r_stat(x, target, LIBSSH2_SFTP_STAT, &a) && r_is_dir(&a))
		return 0;
	if (!x->dead) {
		char *p = shown(target);

		note(x, 0, GPUCTL_ERR_SSH,
		     "cannot create remote folder '%s': %s", p, fx_text(code));
		free(p);
	}
	return -1;
}

static int upload_dir(struct xfer *x, int dfd, const char *lpath,
		      const char *target, int depth);

/* One entry name of the local folder dir (at lpath) into target. */
static int upload_entry(struct xfer *x, int dirfd_, const char *lpath,
			const char *name, const char *target, int depth)
{
	char *lp = xasprintf("%s/%s", lpath, name);
	char *rp = rjoin(target, name);
	struct stat st;
	int fd, rc = 0;

	if (fstatat(dirfd_, name, &st, AT_SYMLINK_NOFOLLOW)) {
		local_fail(x, "cannot read", lp, errno);
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		char *p = shown(lp);

		/* as scp: a link to a file is copied as the file */
		if (fstatat(dirfd_, name, &st, 0)) {
			log_warn("skipping '%s': dangling link", p);
			st.st_mode = 0;
		} else if (!S_ISREG(st.st_mode)) {
			log_warn("skipping '%s': link to a folder or "
				 "special file",
				 p);
			st.st_mode = 0;
		}
		free(p);
		if (!st.st_mode)
			goto out;
		fd = openat(dirfd_, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	} else if (S_ISDIR(st.st_mode)) {
		fd = openat(dirfd_, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			local_fail(x, "cannot open folder", lp, errno);
			goto out;
		}
		rc = upload_dir(x, fd, lp, rp, depth + 1);
		goto out;
	} else if (S_ISREG(st.st_mode)) {
		fd = openat(dirfd_, name,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	} else {
		char *p = shown(lp);

		log_warn("skipping '%s': not a regular file", p);
		free(p);
		goto out;
	}
	if (fd < 0) {
		local_fail(x, "cannot open", lp, errno);
		goto out;
	}
	rc = upload_file(x, fd, lp, rp);
	close(fd);
out:
	free(lp);
	free(rp);
	return rc;
}

/* Copies the local folder dfd (closed here) to the remote target. */
static int upload_dir(struct xfer *x, int dfd, const char *lpath,
		      const char *target, int depth)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int r, created, rc = 0;

	if (fstat(dfd, &st)) {
		local_fail(x, "cannot read", lpath, errno);
		close(dfd);
		return 0;
	}
	if (depth > SFTP_MAX_DEPTH) {
		char *p = shown(lpath);

		close(dfd);
		note(x, 0, GPUCTL_ERR_IO, "'%s': folders nested too deep", p);
		free(p);
		return 0;
	}
	if (remote_mkdir(x, target,
			 x->o->preserve ? 0700
					: (long)((st.st_mode & 0777) | 0700),
			 &created)) {
		close(dfd);
		return x->dead ? -1 : 0;
	}
	d = fdopendir(dfd);
	if (!d) {
		local_fail(x, "cannot list", lpath, errno);
		close(dfd);
		return 0;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc =
		    upload_entry(x, dirfd(d), lpath, de->d_name, target, depth);
		if (rc)
			goto out;
	}
	if (errno) {
		local_fail(x, "cannot list", lpath, errno);
		goto out;
	}
	if (x->o->preserve) {
		memset(&a, 0, sizeof(a));
		a.flags =
		    LIBSSH2_SFTP_ATTR_PERMISSIONS | LIBSSH2_SFTP_ATTR_ACMODTIME;
		a.permissions = st.st_mode & 07777;
		a.atime = (unsigned long)st.st_atime;
		a.mtime = (unsigned long)st.st_mtime;
		r = r_stat(x, target, LIBSSH2_SFTP_SETSTAT, &a);
		if (r) {
			rc = remote_fail(x,
					 "cannot set the mode and times of "
					 "remote",
					 target);
		}
	}
out:
	closedir(d);
	return x->dead ? -1 : rc;
}

/* ------------------------------------------------------------------ */
/* Folder trees, pipelined (sftp_pipe.h)                               */

#define TREE_FILES  64	       /* files in flight at once */
#define TREE_QUEUED (1u << 20) /* request bytes queued before more data */

struct tree;

/* One file being uploaded through the pipe. */
struct tfile {
	struct tree *t;
	struct tfile *prev, *next; /* t->live */
	int writing;		   /* in the data-feeding part */
	char *lpath, *target, *tmp;
	int fd;
	struct stat st;
	unsigned char h[256]; /* the remote handle */
	size_t hlen;
	unsigned long long off;
	int replies; /* answers awaited */
	int failed;  /* noted; the temporary goes away */
	int closing; /* CLOSE sent */
	int retried; /* rename tried again after removing the target */
};

/* A folder being walked; its files start once it exists remotely. */
struct tdir {
	struct tdir *up;
	struct tree *t;
	DIR *d;
	char *lpath, *target;
	struct stat st;
	int depth;
	int state; /* TD_WAIT (mkdir or stat sent), TD_READY, TD_FAILED */
	unsigned long mkdir_code;
};

enum { TD_WAIT, TD_READY, TD_FAILED };

struct dattr {
	struct tree *t;
	char *target;
	LIBSSH2_SFTP_ATTRIBUTES a;
};

struct tree {
	struct xfer *x;
	struct sftp_pipe *p;
	struct tdir *top;   /* innermost folder being listed */
	struct tfile *live; /* files in flight */
	int nfiles;
	struct dattr *dattrs; /* -p: folders' modes and times, set last */
	size_t ndattrs;
	int misc; /* answers awaited for folders */
};

/* The pipe died: what is left is noted once, as fatal. */
static void tree_dead(struct tree *t)
{
	if (!t->x->dead)
		note(t->x, 1, GPUCTL_ERR_SSH, "SFTP: %s",
		     *sftp_pipe_error(t->p) ? sftp_pipe_error(t->p)
					    : "SSH connection failed");
}

static void tfile_done(struct tfile *f)
{
	struct tree *t = f->t;

	if (t->x->p_name == f->lpath)
		t->x->p_name = NULL;
	if (f->fd >= 0)
		close(f->fd);
	if (f->prev)
		f->prev->next = f->next;
	else
		t->live = f->next;
	if (f->next)
		f->next->prev = f->prev;
	t->nfiles--;
	free(f->lpath);
	free(f->target);
	free(f->tmp);
	free(f);
}

/* Notes a remote failure about f (once) and marks it failed. */
static void tfile_fail(struct tfile *f, const char *what, unsigned long code)
{
	char *p;

	if (f->failed)
		return;
	f->failed = 1;
	p = shown(f->target);
	note(f->t->x, 0, GPUCTL_ERR_SSH, "%s '%s': %s", what, p, fx_text(code));
	free(p);
}

static void tf_on_cleanup(void *ctx, const struct sftp_reply *r);
static void tf_on_rename(void *ctx, const struct sftp_reply *r);

/* All answers for the data and the close are in: rename or clean up. */
static void tfile_after_close(struct tfile *f)
{
	struct tree *t = f->t;

	if (f->failed) {
		if (!sftp_pipe_path(t->p, FXP_REMOVE, f->tmp, tf_on_cleanup, f))
			f->replies++;
		else
			tfile_done(f);
		return;
	}
	if (!sftp_pipe_rename(t->p, f->tmp, f->target, 1, tf_on_rename, f))
		f->replies++;
	else
		tfile_done(f);
}

/* An answer to one of f's requests came (or never will: r NULL). */
static int tfile_answer(struct tfile *f, const struct sftp_reply *r)
{
	f->replies--;
	if (!r) {
		tree_dead(f->t);
		if (!f->replies && !f->writing)
			tfile_done(f);
		return -1;
	}
	return 0;
}

static void tf_on_cleanup(void *ctx, const struct sftp_reply *r)
{
	struct tfile *f = ctx;

	if (tfile_answer(f, r))
		return;
	if (!f->replies)
		tfile_done(f);
}

static void tf_on_rename2(void *ctx, const struct sftp_reply *r)
{
	struct tfile *f = ctx;

	if (tfile_answer(f, r))
		return;
	if (r->type == FXP_STATUS && r->status != LIBSSH2_FX_OK) {
		tfile_fail(f, "cannot rename into place remote", r->status);
		f->failed = 1;
		tfile_after_close(f); /* removes the temporary */
		return;
	}
	if (!f->replies)
		tfile_done(f);
}

static void tf_on_remove_old(void *ctx, const struct sftp_reply *r)
{
	struct tfile *f = ctx;

	if (tfile_answer(f, r))
		return;
	/* whatever it said, the rename says whether it worked */
	if (!sftp_pipe_rename(f->t->p, f->tmp, f->target, 0, tf_on_rename2, f))
		f->replies++;
	else if (!f->replies)
		tfile_done(f);
}

static void tf_on_rename(void *ctx, const struct sftp_reply *r)
{
	struct tfile *f = ctx;
	struct xfer *x = f->t->x;

	if (tfile_answer(f, r))
		return;
	if (r->type == FXP_STATUS && r->status != LIBSSH2_FX_OK) {
		if (r->status == LIBSSH2_FX_FAILURE && !f->retried) {
			/*
			 * Without posix-rename, SFTP 3 will not rename over
			 * a file: remove the target, rename again.
			 */
			f->retried = 1;
			if (!sftp_pipe_path(f->t->p, FXP_REMOVE, f->target,
					    tf_on_remove_old, f))
				f->replies++;
			else if (!f->replies)
				tfile_done(f);
			return;
		}
		tfile_fail(f, "cannot rename into place remote", r->status);
		tfile_after_close(f);
		return;
	}
	if (x->p_name != f->lpath)
		progress_start(x, f->lpath, (unsigned long long)f->st.st_size);
	progress(x, (unsigned long long)f->st.st_size, 1);
	x->p_name = NULL;
	if (!f->replies)
		tfile_done(f);
}

static void tf_on_data_ack(void *ctx, const struct sftp_reply *r,
			   const char *what)
{
	struct tfile *f = ctx;

	if (tfile_answer(f, r))
		return;
	if (r->type != FXP_STATUS || r->status != LIBSSH2_FX_OK)
		tfile_fail(f, what,
			   r->type == FXP_STATUS ? r->status
						 : LIBSSH2_FX_BAD_MESSAGE);
	if (!f->replies && f->closing)
		tfile_after_close(f);
}

static void tf_on_write(void *ctx, const struct sftp_reply *r)
{
	tf_on_data_ack(ctx, r, "cannot write remote");
}

static void tf_on_setstat(void *ctx, const struct sftp_reply *r)
{
	tf_on_data_ack(ctx, r, "cannot set the mode and times of remote");
}

static void tf_on_close(void *ctx, const struct sftp_reply *r)
{
	tf_on_data_ack(ctx, r, "cannot close remote");
}

static void tf_on_open(void *ctx, const struct sftp_reply *r)
{
	struct tfile *f = ctx;

	if (tfile_answer(f, r))
		return;
	if (r->type != FXP_HANDLE || !r->len || r->len > sizeof(f->h)) {
		tfile_fail(f, "cannot create remote",
			   r->type == FXP_STATUS ? r->status
						 : LIBSSH2_FX_BAD_MESSAGE);
		tfile_done(f);
		return;
	}
	memcpy(f->h, r->data, r->len);
	f->hlen = r->len;
	f->writing = 1;
	/* a large file is shown as it goes, the others when done */
	if (f->st.st_size >= (off_t)SFTP_PROGRESS_STEP)
		progress_start(f->t->x, f->lpath,
			       (unsigned long long)f->st.st_size);
}

/* Ends f's data: -p attributes, then CLOSE. */
static void tfile_end_data(struct tfile *f)
{
	struct tree *t = f->t;
	LIBSSH2_SFTP_ATTRIBUTES a;

	f->writing = 0;
	close(f->fd);
	f->fd = -1;
	if (t->x->o->preserve && !f->failed) {
		memset(&a, 0, sizeof(a));
		a.flags =
		    LIBSSH2_SFTP_ATTR_PERMISSIONS | LIBSSH2_SFTP_ATTR_ACMODTIME;
		a.permissions = f->st.st_mode & 07777;
		a.atime = (unsigned long)f->st.st_atime;
		a.mtime = (unsigned long)f->st.st_mtime;
		if (!sftp_pipe_fsetstat(t->p, f->h, f->hlen, &a, tf_on_setstat,
					f))
			f->replies++;
	}
	if (!sftp_pipe_close_handle(t->p, f->h, f->hlen, tf_on_close, f))
		f->replies++;
	f->closing = 1;
	if (!f->replies) /* the pipe is dead */
		tfile_done(f);
}

/* Queues the data of the files that have a handle, within the budget. */
static void tree_feed(struct tree *t)
{
	struct tfile *f, *next;
	ssize_t n;

	for (f = t->live; f; f = next) {
		next = f->next;
		while (f->writing && sftp_pipe_queued(t->p) < TREE_QUEUED) {
			n = read(f->fd, t->x->buf, SFTP_PIPE_CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				local_fail(t->x, "cannot read", f->lpath,
					   errno);
				f->failed = 1;
			}
			if (n <= 0) {
				tfile_end_data(f);
				break;
			}
			if (sftp_pipe_write(t->p, f->h, f->hlen, f->off,
					    t->x->buf, (size_t)n, tf_on_write,
					    f)) {
				tfile_end_data(f);
				break;
			}
			f->replies++;
			f->off += (unsigned long long)n;
			if (t->x->p_name == f->lpath)
				progress(t->x, f->off, 0);
		}
		if (sftp_pipe_queued(t->p) >= TREE_QUEUED)
			break;
	}
}

/* Starts the upload of the open local file fd to target. */
static void tree_file(struct tree *t, int fd, const char *lpath,
		      const char *target)
{
	struct tfile *f = xcalloc(1, sizeof(*f));
	LIBSSH2_SFTP_ATTRIBUTES a;
	char *dir, *base, *tname;

	f->t = t;
	f->fd = fd;
	f->lpath = xstrdup(lpath);
	f->target = xstrdup(target);
	if (fstat(fd, &f->st)) {
		local_fail(t->x, "cannot read", lpath, errno);
		close(fd);
		free(f->lpath);
		free(f->target);
		free(f);
		return;
	}
	dir = dir_part(target);
	base = base_part(target);
	tname = temp_name(base);
	f->tmp = xasprintf("%s%s", dir, tname);
	free(dir);
	free(base);
	free(tname);
	f->next = t->live;
	if (t->live)
		t->live->prev = f;
	t->live = f;
	t->nfiles++;
	memset(&a, 0, sizeof(a));
	a.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
	a.permissions =
	    t->x->o->preserve ? 0600 : (unsigned long)(f->st.st_mode & 0777);
	if (!sftp_pipe_open_file(t->p, f->tmp, FXF_WRITE | FXF_CREAT | FXF_EXCL,
				 &a, tf_on_open, f))
		f->replies++;
	else
		tfile_done(f);
}

static void td_on_stat(void *ctx, const struct sftp_reply *r)
{
	struct tdir *d = ctx;
	char *p;

	d->t->misc--;
	if (!r) {
		tree_dead(d->t);
		d->state = TD_FAILED;
		return;
	}
	if (r->type == FXP_ATTRS && r_is_dir(&r->attrs)) {
		d->state = TD_READY;
		return;
	}
	d->state = TD_FAILED;
	p = shown(d->target);
	note(d->t->x, 0, GPUCTL_ERR_SSH, "cannot create remote folder '%s': %s",
	     p, fx_text(d->mkdir_code));
	free(p);
}

static void td_on_mkdir(void *ctx, const struct sftp_reply *r)
{
	struct tdir *d = ctx;

	d->t->misc--;
	if (!r) {
		tree_dead(d->t);
		d->state = TD_FAILED;
		return;
	}
	if (r->type == FXP_STATUS && r->status == LIBSSH2_FX_OK) {
		d->state = TD_READY;
		return;
	}
	/* an existing folder is fine */
	d->mkdir_code =
	    r->type == FXP_STATUS ? r->status : LIBSSH2_FX_BAD_MESSAGE;
	if (!sftp_pipe_path(d->t->p, FXP_STAT, d->target, td_on_stat, d))
		d->t->misc++;
	else
		d->state = TD_FAILED;
}

/* Pushes the local folder dfd (closed here) as the remote target. */
static void tree_enter(struct tree *t, int dfd, const char *lpath,
		       const char *target, int depth)
{
	struct tdir *d;
	LIBSSH2_SFTP_ATTRIBUTES a;
	char *p;

	if (depth > SFTP_MAX_DEPTH) {
		p = shown(lpath);
		note(t->x, 0, GPUCTL_ERR_IO, "'%s': folders nested too deep",
		     p);
		free(p);
		close(dfd);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->t = t;
	d->depth = depth;
	d->lpath = xstrdup(lpath);
	d->target = xstrdup(target);
	if (fstat(dfd, &d->st) || !(d->d = fdopendir(dfd))) {
		local_fail(t->x, "cannot list", lpath, errno);
		close(dfd);
		free(d->lpath);
		free(d->target);
		free(d);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
	a.permissions = t->x->o->preserve
			    ? 0700
			    : (unsigned long)((d->st.st_mode & 0777) | 0700);
	d->state = TD_WAIT;
	if (!sftp_pipe_path_attrs(t->p, FXP_MKDIR, target, &a, td_on_mkdir, d))
		t->misc++;
	else
		d->state = TD_FAILED;
	d->up = t->top;
	t->top = d;
}

static void tree_leave(struct tree *t)
{
	struct tdir *d = t->top;
	struct dattr *da;

	if (d->state == TD_READY && t->x->o->preserve) {
		t->dattrs =
		    xrealloc(t->dattrs, (t->ndattrs + 1) * sizeof(*t->dattrs));
		da = &t->dattrs[t->ndattrs++];
		da->target = xstrdup(d->target);
		memset(&da->a, 0, sizeof(da->a));
		da->a.flags =
		    LIBSSH2_SFTP_ATTR_PERMISSIONS | LIBSSH2_SFTP_ATTR_ACMODTIME;
		da->a.permissions = d->st.st_mode & 07777;
		da->a.atime = (unsigned long)d->st.st_atime;
		da->a.mtime = (unsigned long)d->st.st_mtime;
	}
	t->top = d->up;
	closedir(d->d);
	free(d->lpath);
	free(d->target);
	free(d);
}

/* One entry of the top folder: as upload_entry(), through the pipe. */
static void tree_entry(struct tree *t, const char *name)
{
	struct tdir *d = t->top;
	char *lp = xasprintf("%s/%s", d->lpath, name);
	char *rp = rjoin(d->target, name);
	int fd, dfd = dirfd(d->d);
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		local_fail(t->x, "cannot read", lp, errno);
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		char *p = shown(lp);

		if (fstatat(dfd, name, &st, 0)) {
			log_warn("skipping '%s': dangling link", p);
			st.st_mode = 0;
		} else if (!S_ISREG(st.st_mode)) {
			log_warn("skipping '%s': link to a folder or "
				 "special file",
				 p);
			st.st_mode = 0;
		}
		free(p);
		if (!st.st_mode)
			goto out;
		fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	} else if (S_ISDIR(st.st_mode)) {
		fd = openat(dfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			local_fail(t->x, "cannot open folder", lp, errno);
			goto out;
		}
		tree_enter(t, fd, lp, rp, d->depth + 1);
		goto out;
	} else if (S_ISREG(st.st_mode)) {
		fd = openat(dfd, name,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	} else {
		char *p = shown(lp);

		log_warn("skipping '%s': not a regular file", p);
		free(p);
		goto out;
	}
	if (fd < 0) {
		local_fail(t->x, "cannot open", lp, errno);
		goto out;
	}
	tree_file(t, fd, lp, rp);
out:
	free(lp);
	free(rp);
}

/* Walks on while files may start; stops at a folder not made yet. */
static void tree_walk(struct tree *t)
{
	struct dirent *de;

	while (t->top && t->nfiles < TREE_FILES && !t->x->dead &&
	       sftp_pipe_queued(t->p) < TREE_QUEUED) {
		if (t->top->state == TD_WAIT)
			return;
		if (t->top->state == TD_FAILED) {
			tree_leave(t);
			continue;
		}
		errno = 0;
		de = readdir(t->top->d);
		if (!de) {
			if (errno)
				local_fail(t->x, "cannot list", t->top->lpath,
					   errno);
			tree_leave(t);
			continue;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		tree_entry(t, de->d_name);
	}
}

static void td_on_setstat(void *ctx, const struct sftp_reply *r)
{
	struct dattr *da = ctx;
	char *p;

	if (!r || (r->type == FXP_STATUS && r->status == LIBSSH2_FX_OK))
		return;
	p = shown(da->target);
	note(da->t->x, 0, GPUCTL_ERR_SSH,
	     "cannot set the mode and times of remote '%s': %s", p,
	     fx_text(r->status));
	free(p);
}

/* The pipe of this copy, opened at first use; NULL: go without. */
static struct sftp_pipe *xfer_pipe(struct xfer *x)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;

	if (x->pipe || x->no_pipe || x->dead)
		return x->pipe;
	x->pipe = sftp_pipe_open(x->ss, &e);
	if (!x->pipe) {
		x->no_pipe = 1;
		log_debug("%s: copying one file at a time", e.message);
		err_clear(&e);
	}
	return x->pipe;
}

/*
 * After a pipe died: the answers that will never come are handed to their
 * callbacks now, while what they point to still exists, and the copy goes
 * on without a pipe (it is over anyway: the connection is gone).
 */
static void xfer_pipe_dead(struct xfer *x)
{
	if (!x->pipe)
		return;
	sftp_pipe_close(x->pipe);
	x->pipe = NULL;
	x->no_pipe = 1;
}

/* Runs the pipe until t's folders and files are all done. */
static int tree_run(struct tree *t)
{
	struct xfer *x = t->x;
	size_t i;
	int sent_attrs = 0;

	for (;;) {
		tree_walk(t);
		tree_feed(t);
		if (!t->top && !t->live && !t->misc && !sent_attrs) {
			/* -p: folders last, when nothing goes into them */
			for (i = 0; i < t->ndattrs; i++) {
				t->dattrs[i].t = t;
				sftp_pipe_path_attrs(
				    t->p, FXP_SETSTAT, t->dattrs[i].target,
				    &t->dattrs[i].a, td_on_setstat,
				    &t->dattrs[i]);
			}
			sent_attrs = 1;
		}
		if (sent_attrs && !sftp_pipe_busy(t->p))
			break;
		if (x->dead || sftp_pipe_step(t->p, 1, SFTP_IDLE_MS) < 0) {
			tree_dead(t);
			break;
		}
	}
	if (x->dead)
		xfer_pipe_dead(x);
	while (t->live)
		tfile_done(t->live);
	while (t->top)
		tree_leave(t);
	for (i = 0; i < t->ndattrs; i++)
		free(t->dattrs[i].target);
	free(t->dattrs);
	return x->dead ? -1 : 0;
}

/*
 * Uploads the local folder dfd (closed here) to the remote target through
 * the pipe.  Returns 1 when there is no pipe (the caller goes the
 * sequential way; dfd stays open), else as upload_dir().
 */
static int tree_upload(struct xfer *x, int dfd, const char *lpath,
		       const char *target)
{
	struct tree t;

	memset(&t, 0, sizeof(t));
	t.x = x;
	t.p = xfer_pipe(x);
	if (!t.p)
		return 1;
	tree_enter(&t, dfd, lpath, target, 0);
	return tree_run(&t);
}

/* One file (fd, closed here) through the pipe: as upload_file(). */
static int pipe_upload_file(struct xfer *x, int fd, const char *lpath,
			    const char *target)
{
	struct tree t;

	memset(&t, 0, sizeof(t));
	t.x = x;
	t.p = x->pipe;
	tree_file(&t, fd, lpath, target);
	return tree_run(&t);
}

/* The name a local source gets at the destination. */
static char *local_source_name(const char *path)
{
	char *b = base_part(path), *real;

	if (good_name(b))
		return b;
	free(b);
	real = realpath(path, NULL);
	if (!real)
		return xstrdup("");
	b = base_part(real);
	free(real);
	return b;
}

static int upload_one(struct xfer *x, const char *lpath, const char *rdest,
		      int dest_dir)
{
	char *name = NULL, *target = NULL, *p;
	struct stat st;
	int fd, rc = 0;

	if (stat(lpath, &st)) {
		local_fail(x, "cannot read", lpath, errno);
		return 0;
	}
	if (S_ISDIR(st.st_mode) && !x->o->recursive) {
		p = shown(lpath);
		note(x, 0, GPUCTL_ERR_USAGE,
		     "'%s' is a folder (use -r to copy folders)", p);
		free(p);
		return 0;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		p = shown(lpath);
		note(x, 0, GPUCTL_ERR_IO, "'%s' is not a regular file", p);
		free(p);
		return 0;
	}
	if (dest_dir) {
		name = local_source_name(lpath);
		if (!good_name(name)) {
			p = shown(lpath);
			note(x, 0, GPUCTL_ERR_USAGE,
			     "cannot tell what to name '%s' at the "
			     "destination",
			     p);
			free(p);
			goto out;
		}
		target = rjoin(rdest, name);
	} else {
		target = xstrdup(rdest);
	}
	fd = open(lpath, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
			     (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if (fd < 0) {
		local_fail(x, "cannot open", lpath, errno);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = tree_upload(x, fd, lpath, target);
		if (rc == 1) /* no second channel: one file at a time */
			rc = upload_dir(x, fd, lpath, target, 0);
	} else if (xfer_pipe(x)) {
		rc = pipe_upload_file(x, fd, lpath, target);
	} else {
		rc = upload_file(x, fd, lpath, target);
		close(fd);
	}
out:
	free(name);
	free(target);
	return rc;
}

int ssh_upload(struct ssh_session *s, const char *const *local, size_t n,
	       const char *remote_dest, const struct ssh_copy_opts *o,
	       struct gpuctl_err *err)
{
	struct xfer x;
	LIBSSH2_SFTP_ATTRIBUTES a;
	char *rdest = remote_norm(remote_dest), *p;
	int r, dest_dir = 0;
	size_t i;

	if (xfer_start(&x, s, o, err))
		goto out;
	r = r_stat(&x, rdest, LIBSSH2_SFTP_STAT, &a);
	if (x.dead)
		goto out;
	dest_dir = !r && r_is_dir(&a);
	if (!dest_dir && (n > 1 || ends_with_slash(rdest))) {
		p = shown(remote_dest);
		note(&x, 1, r ? GPUCTL_ERR_SSH : GPUCTL_ERR_USAGE,
		     "remote '%s': %s", p,
		     r ? fx_text(fx_code(&x)) : "not a folder");
		free(p);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (upload_one(&x, local[i], rdest, dest_dir))
			break;
	}
out:
	free(rdest);
	return xfer_end(&x);
}

/* ------------------------------------------------------------------ */
/* Download                                                            */

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads h into fd: up to the size the server gave, or to EOF. */
static int pull_data(struct xfer *x, LIBSSH2_SFTP_HANDLE *h, int fd,
		     const char *rpath, const char *lpath,
		     const LIBSSH2_SFTP_ATTRIBUTES *a)
{
	int sized = (a->flags & LIBSSH2_SFTP_ATTR_SIZE) && a->filesize > 0;
	unsigned long long done = 0;
	size_t want;
	ssize_t n;

	for (;;) {
		want = SFTP_BUF;
		if (sized && done >= a->filesize)
			break;
		if (sized && a->filesize - done < want)
			want = (size_t)(a->filesize - done);
		n = libssh2_sftp_read(h, x->buf, want);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			if (xfer_wait(x))
				return -1;
			continue;
		}
		if (n < 0) {
			remote_fail(x, "cannot read remote", rpath);
			return -1;
		}
		if (!n)
			break;
		if (write_all(fd, x->buf, (size_t)n)) {
			local_fail(x, "cannot write", lpath, errno);
			return -1;
		}
		done += (unsigned long long)n;
		progress(x, done, 0);
	}
	progress(x, done, 1);
	return 0;
}

/* Mode and times of a finished local file or folder. */
static int set_local_attrs(struct xfer *x, int fd,
			   const LIBSSH2_SFTP_ATTRIBUTES *a, mode_t fallback,
			   int is_new)
{
	struct timespec ts[2];
	mode_t m = fallback;

	if (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS)
		m = (mode_t)a->permissions;
	if (x->o->preserve) {
		if (fchmod(fd, m & 07777))
			return -1;
		if (a->flags & LIBSSH2_SFTP_ATTR_ACMODTIME) {
			ts[0].tv_sec = (time_t)a->atime;
			ts[0].tv_nsec = 0;
			ts[1].tv_sec = (time_t)a->mtime;
			ts[1].tv_nsec = 0;
			if (futimens(fd, ts))
				return -1;
		}
	} else if (is_new) {
		if (fchmod(fd, m & 0777 & ~x->mask))
			return -1;
	}
	return 0;
}

/* Copies the remote file rpath to name in the local folder dfd. */
static int download_file(struct xfer *x, int dfd, const char *name,
			 const char *lpath, const char *rpath,
			 const LIBSSH2_SFTP_ATTRIBUTES *a)
{
	LIBSSH2_SFTP_HANDLE *h = NULL;
	char *tmp = NULL;
	int fd = -1, tries, r;

	h = r_open(x, rpath, LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
	if (!h) {
		remote_fail(x, "cannot open remote", rpath);
		goto out;
	}
	for (tries = 0; fd < 0 && tries < 10; tries++) {
		free(tmp);
		tmp = temp_name(name);
		fd = openat(
		    dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		local_fail(x, "cannot create a file beside", lpath, errno);
		free(tmp);
		tmp = NULL;
		goto out;
	}
	progress_start(x, lpath,
		       (a->flags & LIBSSH2_SFTP_ATTR_SIZE) ? a->filesize : 0);
	if (pull_data(x, h, fd, rpath, lpath, a))
		goto out;
	r = r_close(x, h);
	h = NULL;
	if (r) {
		remote_fail(x, "cannot close remote", rpath);
		goto out;
	}
	if (set_local_attrs(x, fd, a, 0666, 1)) {
		local_fail(x, "cannot set the mode and times of", lpath, errno);
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r) {
		local_fail(x, "cannot write", lpath, errno);
		goto out;
	}
	if (renameat(dfd, tmp, dfd, name)) {
		local_fail(x, "cannot rename into place", lpath, errno);
		goto out;
	}
	free(tmp);
	tmp = NULL;
out:
	if (h)
		r_close(x, h);
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlinkat(dfd, tmp, 0);
	free(tmp);
	return x->dead ? -1 : 0;
}

struct rentry {
	char *name;
	LIBSSH2_SFTP_ATTRIBUTES a;
};

/*
 * Lists the remote folder rpath into *ents, refusing names that could
 * escape it.  Returns 0, or -1 after noting the failure.
 */
static int list_remote(struct xfer *x, const char *rpath, struct rentry **ents,
		       size_t *n)
{
	LIBSSH2_SFTP_HANDLE *h;
	LIBSSH2_SFTP_ATTRIBUTES a;
	char name[SFTP_NAME_BUF];
	size_t alloc = 0;
	int r, rc = -1;

	*ents = NULL;
	*n = 0;
	h = r_open(x, rpath, 0, 0, LIBSSH2_SFTP_OPENDIR);
	if (!h) {
		remote_fail(x, "cannot list remote", rpath);
		return -1;
	}
	for (;;) {
		SFTP_CALL(x, r,
			  libssh2_sftp_readdir_ex(h, name, sizeof(name), NULL,
						  0, &a));
		if (!r)
			break;
		if (r < 0) {
			remote_fail(x, "cannot list remote", rpath);
			goto out;
		}
		if (r == 1 && name[0] == '.')
			continue;
		if (r == 2 && name[0] == '.' && name[1] == '.')
			continue;
		if ((size_t)r >= sizeof(name) ||
		    memchr(name, '\0', (size_t)r) ||
		    memchr(name, '/', (size_t)r)) {
			char *p = shown(rpath), *q;

			name[sizeof(name) - 1] = '\0';
			q = shown(name);
			note(x, 0, GPUCTL_ERR_SSH,
			     "refusing the name '%s' listed in remote '%s'", q,
			     p);
			free(p);
			free(q);
			continue;
		}
		if (*n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			*ents = xrealloc(*ents, alloc * sizeof(**ents));
		}
		(*ents)[*n].name = xstrndup(name, (size_t)r);
		(*ents)[*n].a = a;
		(*n)++;
	}
	rc = 0;
out:
	if (r_close(x, h) && !rc && !x->dead)
		rc = remote_fail(x, "cannot list remote", rpath);
	return x->dead ? -1 : rc;
}

static void free_entries(struct rentry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

static int download_dir(struct xfer *x, int pfd, const char *name,
			const char *lpath, const char *rpath,
			const LIBSSH2_SFTP_ATTRIBUTES *a, int depth);

static int download_entry(struct xfer *x, int dfd, const char *lpath,
			  const char *rpath, struct rentry *e, int depth)
{
	char *lp = xasprintf("%s/%s", lpath, e->name);
	char *rp = rjoin(rpath, e->name), *p;
	LIBSSH2_SFTP_ATTRIBUTES *a = &e->a, t;
	int rc = 0;

	if (!(a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS)) {
		if (r_stat(x, rp, LIBSSH2_SFTP_LSTAT, a)) {
			rc = remote_fail(x, "cannot read remote", rp);
			goto out;
		}
	}
	if (r_is_link(a)) {
		/*
		 * A link to a file is copied as the file, under the link's
		 * own name: nothing is created where the link points.
		 */
		p = shown(rp);
		if (r_stat(x, rp, LIBSSH2_SFTP_STAT, &t)) {
			if (!x->dead)
				log_warn("skipping remote '%s': dangling link",
					 p);
		} else if (!r_is_reg(&t)) {
			log_warn("skipping remote '%s': link to a folder or "
				 "special file",
				 p);
		} else {
			rc = download_file(x, dfd, e->name, lp, rp, &t);
		}
		free(p);
	} else if (r_is_dir(a)) {
		rc = download_dir(x, dfd, e->name, lp, rp, a, depth + 1);
	} else if (r_is_reg(a)) {
		rc = download_file(x, dfd, e->name, lp, rp, a);
	} else {
		p = shown(rp);
		log_warn("skipping remote '%s': not a regular file", p);
		free(p);
	}
out:
	free(lp);
	free(rp);
	return x->dead ? -1 : rc;
}

/* Copies the remote folder rpath to name in the local folder pfd. */
static int download_dir(struct xfer *x, int pfd, const char *name,
			const char *lpath, const char *rpath,
			const LIBSSH2_SFTP_ATTRIBUTES *a, int depth)
{
	struct rentry *ents = NULL;
	size_t n = 0, i;
	int dfd = -1, created = 0, rc = 0;
	char *p;

	if (depth > SFTP_MAX_DEPTH) {
		p = shown(rpath);
		note(x, 0, GPUCTL_ERR_SSH,
		     "remote '%s': folders nested too deep", p);
		free(p);
		return 0;
	}
	if (!mkdirat(pfd, name, 0700))
		created = 1;
	else if (errno != EEXIST) {
		local_fail(x, "cannot create folder", lpath, errno);
		return 0;
	}
	/* never through a link: the tree stays inside the destination */
	dfd =
	    openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		local_fail(x, "cannot open folder", lpath,
			   errno == ELOOP ? ENOTDIR : errno);
		return 0;
	}
	if (list_remote(x, rpath, &ents, &n))
		goto out;
	for (i = 0; i < n; i++) {
		rc = download_entry(x, dfd, lpath, rpath, &ents[i], depth);
		if (rc)
			goto out;
	}
	if (set_local_attrs(x, dfd, a, 0777, created))
		local_fail(x, "cannot set the mode and times of", lpath, errno);
out:
	free_entries(ents, n);
	close(dfd);
	return x->dead ? -1 : rc;
}

/* Downloads through the pipe: the files of one folder at a time. */

#define DF_READS 64 /* reads in flight for one file (2 MiB) */

struct dtree {
	struct xfer *x;
	struct sftp_pipe *p;
	struct dfile *live;
	int nfiles;
};

struct dread {
	unsigned long long off;
	uint32_t len;
};

struct dfile {
	struct dtree *t;
	struct dfile *prev, *next;
	int dfd; /* the local folder (borrowed) */
	char *name, *lpath, *rpath, *tmp;
	int fd;
	LIBSSH2_SFTP_ATTRIBUTES a;
	unsigned char h[256];
	size_t hlen;
	int sized;
	unsigned long long size, next_off, got;
	struct dread q[DF_READS]; /* reads in flight, oldest first */
	int qh, qn;
	int replies, eof, failed, closing;
};

static void dtree_dead(struct dtree *t)
{
	if (!t->x->dead)
		note(t->x, 1, GPUCTL_ERR_SSH, "SFTP: %s",
		     *sftp_pipe_error(t->p) ? sftp_pipe_error(t->p)
					    : "SSH connection failed");
}

static void dfile_done(struct dfile *f)
{
	struct dtree *t = f->t;

	if (t->x->p_name == f->lpath)
		t->x->p_name = NULL;
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp && f->dfd >= 0)
		unlinkat(f->dfd, f->tmp, 0);
	if (f->prev)
		f->prev->next = f->next;
	else
		t->live = f->next;
	if (f->next)
		f->next->prev = f->prev;
	t->nfiles--;
	free(f->name);
	free(f->lpath);
	free(f->rpath);
	free(f->tmp);
	free(f);
}

static void dfile_fail(struct dfile *f, const char *what, unsigned long code)
{
	char *p;

	if (f->failed)
		return;
	f->failed = 1;
	p = shown(f->rpath);
	note(f->t->x, 0, GPUCTL_ERR_SSH, "%s '%s': %s", what, p, fx_text(code));
	free(p);
}

static void df_on_read(void *ctx, const struct sftp_reply *r);
static void df_on_close(void *ctx, const struct sftp_reply *r);

/* Asks for more data, or closes once everything came. */
static void dfile_next(struct dfile *f)
{
	struct dtree *t = f->t;
	uint32_t len;

	while (!f->failed && !f->eof && f->qn < DF_READS) {
		if (f->sized) {
			if (f->next_off >= f->size)
				break;
			len = f->size - f->next_off < SFTP_PIPE_CHUNK
				  ? (uint32_t)(f->size - f->next_off)
				  : SFTP_PIPE_CHUNK;
		} else {
			if (f->qn) /* to the end, one read at a time */
				break;
			len = SFTP_PIPE_CHUNK;
		}
		if (sftp_pipe_read(t->p, f->h, f->hlen, f->next_off, len,
				   df_on_read, f))
			return;
		f->q[(f->qh + f->qn) % DF_READS].off = f->next_off;
		f->q[(f->qh + f->qn) % DF_READS].len = len;
		f->qn++;
		f->replies++;
		f->next_off += len;
	}
	if (f->qn || f->closing)
		return;
	if (f->failed || f->eof || (f->sized && f->next_off >= f->size)) {
		f->closing = 1;
		if (!sftp_pipe_close_handle(t->p, f->h, f->hlen, df_on_close,
					    f))
			f->replies++;
	}
}

/* r NULL: the pipe died. */
static int dfile_answer(struct dfile *f, const struct sftp_reply *r)
{
	f->replies--;
	if (!r) {
		dtree_dead(f->t);
		if (!f->replies)
			dfile_done(f);
		return -1;
	}
	return 0;
}

static void df_on_read(void *ctx, const struct sftp_reply *r)
{
	struct dfile *f = ctx;
	struct dread rq = f->q[f->qh];
	ssize_t w;
	size_t done = 0;

	f->qh = (f->qh + 1) % DF_READS;
	f->qn--;
	if (dfile_answer(f, r))
		return;
	if (r->type == FXP_DATA && r->len <= rq.len) {
		while (!f->failed && done < r->len) {
			w = pwrite(f->fd, r->data + done, r->len - done,
				   (off_t)(rq.off + done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				local_fail(f->t->x, "cannot write", f->lpath,
					   w < 0 ? errno : EIO);
				f->failed = 1;
				break;
			}
			done += (size_t)w;
		}
		f->got += r->len;
		if (f->t->x->p_name == f->lpath)
			progress(f->t->x, f->got, 0);
		if (!f->sized)
			f->next_off = rq.off + r->len;
		else if (r->len < rq.len && !f->failed &&
			 !sftp_pipe_read(
			     f->t->p, f->h, f->hlen, rq.off + r->len,
			     rq.len - (uint32_t)r->len, df_on_read, f)) {
			/* a short read: ask for the rest */
			f->q[(f->qh + f->qn) % DF_READS].off = rq.off + r->len;
			f->q[(f->qh + f->qn) % DF_READS].len =
			    rq.len - (uint32_t)r->len;
			f->qn++;
			f->replies++;
		}
	} else if (r->type == FXP_STATUS && r->status == LIBSSH2_FX_EOF) {
		f->eof = 1; /* a file shorter than listed ends here, too */
	} else {
		dfile_fail(f, "cannot read remote",
			   r->type == FXP_STATUS ? r->status
						 : LIBSSH2_FX_BAD_MESSAGE);
	}
	dfile_next(f);
	if (!f->replies) /* the pipe is dead */
		dfile_done(f);
}

static void df_on_close(void *ctx, const struct sftp_reply *r)
{
	struct dfile *f = ctx;
	struct xfer *x = f->t->x;
	int rc;

	if (dfile_answer(f, r))
		return;
	if (r->type != FXP_STATUS || r->status != LIBSSH2_FX_OK)
		dfile_fail(f, "cannot close remote",
			   r->type == FXP_STATUS ? r->status
						 : LIBSSH2_FX_BAD_MESSAGE);
	if (!f->failed) {
		if (set_local_attrs(x, f->fd, &f->a, 0666, 1)) {
			local_fail(x, "cannot set the mode and times of",
				   f->lpath, errno);
		} else {
			rc = close(f->fd);
			f->fd = -1;
			if (rc)
				local_fail(x, "cannot write", f->lpath, errno);
			else if (renameat(f->dfd, f->tmp, f->dfd, f->name))
				local_fail(x, "cannot rename into place",
					   f->lpath, errno);
			else {
				free(f->tmp);
				f->tmp = NULL;
				if (x->p_name != f->lpath)
					progress_start(x, f->lpath, f->got);
				progress(x, f->got, 1);
				x->p_name = NULL;
			}
		}
	}
	if (!f->replies)
		dfile_done(f);
}

static void df_on_open(void *ctx, const struct sftp_reply *r)
{
	struct dfile *f = ctx;

	if (dfile_answer(f, r))
		return;
	if (r->type != FXP_HANDLE || !r->len || r->len > sizeof(f->h)) {
		dfile_fail(f, "cannot open remote",
			   r->type == FXP_STATUS ? r->status
						 : LIBSSH2_FX_BAD_MESSAGE);
		dfile_done(f);
		return;
	}
	memcpy(f->h, r->data, r->len);
	f->hlen = r->len;
	if (f->size >= SFTP_PROGRESS_STEP)
		progress_start(f->t->x, f->lpath, f->size);
	dfile_next(f);
	if (!f->replies)
		dfile_done(f);
}

/* Starts the download of remote rpath to name in the local folder dfd. */
static void dtree_file(struct dtree *t, int dfd, const char *name,
		       const char *lpath, const char *rpath,
		       const LIBSSH2_SFTP_ATTRIBUTES *a)
{
	struct dfile *f = xcalloc(1, sizeof(*f));
	int tries;

	f->t = t;
	f->dfd = dfd;
	f->fd = -1;
	f->name = xstrdup(name);
	f->lpath = xstrdup(lpath);
	f->rpath = xstrdup(rpath);
	f->a = *a;
	f->sized = (a->flags & LIBSSH2_SFTP_ATTR_SIZE) && a->filesize > 0;
	f->size = f->sized ? a->filesize : 0;
	f->next = t->live;
	if (t->live)
		t->live->prev = f;
	t->live = f;
	t->nfiles++;
	for (tries = 0; f->fd < 0 && tries < 10; tries++) {
		free(f->tmp);
		f->tmp = temp_name(name);
		f->fd = openat(
		    dfd, f->tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f->fd < 0 && errno != EEXIST)
			break;
	}
	if (f->fd < 0) {
		local_fail(t->x, "cannot create a file beside", lpath, errno);
		free(f->tmp);
		f->tmp = NULL;
		dfile_done(f);
		return;
	}
	if (!sftp_pipe_open_file(t->p, rpath, FXF_READ, NULL, df_on_open, f))
		f->replies++;
	else
		dfile_done(f);
}

/*
 * Before the local folder dfd is closed: files still in flight there (a
 * dead pipe) leave no temporary behind.
 */
static void dtree_forget(struct dtree *t, int dfd)
{
	struct dfile *f;

	for (f = t->live; f; f = f->next) {
		if (f->dfd != dfd)
			continue;
		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		if (f->tmp)
			unlinkat(dfd, f->tmp, 0);
		free(f->tmp);
		f->tmp = NULL;
		f->dfd = -1;
	}
}

/* Steps the pipe until it is idle (libssh2's SFTP may be used again). */
static int dtree_drain(struct dtree *t)
{
	while (sftp_pipe_busy(t->p)) {
		if (t->x->dead || sftp_pipe_step(t->p, 1, SFTP_IDLE_MS) < 0) {
			dtree_dead(t);
			return -1;
		}
	}
	return t->x->dead ? -1 : 0;
}

/* download_dir() with the files of each folder through the pipe. */
static int dtree_dir(struct dtree *t, int pfd, const char *name,
		     const char *lpath, const char *rpath,
		     const LIBSSH2_SFTP_ATTRIBUTES *a, int depth)
{
	struct xfer *x = t->x;
	struct rentry *ents = NULL;
	size_t n = 0, i;
	int dfd = -1, created = 0, rc = 0;
	char *p, *lp, *rp;
	LIBSSH2_SFTP_ATTRIBUTES st;
	unsigned char *kind = NULL; /* 0 skip, 1 file, 2 folder */

	if (depth > SFTP_MAX_DEPTH) {
		p = shown(rpath);
		note(x, 0, GPUCTL_ERR_SSH,
		     "remote '%s': folders nested too deep", p);
		free(p);
		return 0;
	}
	if (!mkdirat(pfd, name, 0700))
		created = 1;
	else if (errno != EEXIST) {
		local_fail(x, "cannot create folder", lpath, errno);
		return 0;
	}
	dfd =
	    openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		local_fail(x, "cannot open folder", lpath,
			   errno == ELOOP ? ENOTDIR : errno);
		return 0;
	}
	if (list_remote(x, rpath, &ents, &n))
		goto out;
	/* what each entry is (libssh2 while the pipe is idle) */
	kind = xcalloc(n ? n : 1, 1);
	for (i = 0; i < n && !x->dead; i++) {
		struct rentry *e = &ents[i];

		rp = rjoin(rpath, e->name);
		if (!(e->a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
		    r_stat(x, rp, LIBSSH2_SFTP_LSTAT, &e->a)) {
			remote_fail(x, "cannot read remote", rp);
		} else if (r_is_link(&e->a)) {
			p = shown(rp);
			if (r_stat(x, rp, LIBSSH2_SFTP_STAT, &st)) {
				if (!x->dead)
					log_warn("skipping remote '%s': "
						 "dangling link",
						 p);
			} else if (!r_is_reg(&st)) {
				log_warn("skipping remote '%s': link to a "
					 "folder or special file",
					 p);
			} else {
				e->a = st; /* copied as the file */
				kind[i] = 1;
			}
			free(p);
		} else if (r_is_dir(&e->a)) {
			kind[i] = 2;
		} else if (r_is_reg(&e->a)) {
			kind[i] = 1;
		} else {
			p = shown(rp);
			log_warn("skipping remote '%s': not a regular file", p);
			free(p);
		}
		free(rp);
	}
	/* the files, many at once */
	for (i = 0; i < n && !x->dead; i++) {
		if (kind[i] != 1)
			continue;
		while (t->nfiles >= TREE_FILES && !x->dead)
			if (sftp_pipe_step(t->p, 1, SFTP_IDLE_MS) < 0)
				dtree_dead(t);
		if (x->dead)
			break;
		lp = xasprintf("%s/%s", lpath, ents[i].name);
		rp = rjoin(rpath, ents[i].name);
		dtree_file(t, dfd, ents[i].name, lp, rp, &ents[i].a);
		free(lp);
		free(rp);
		if (sftp_pipe_step(t->p, 0, 0) < 0)
			dtree_dead(t);
	}
	if (dtree_drain(t))
		goto out;
	/* then the folders */
	for (i = 0; i < n && !x->dead; i++) {
		if (kind[i] != 2)
			continue;
		lp = xasprintf("%s/%s", lpath, ents[i].name);
		rp = rjoin(rpath, ents[i].name);
		rc = dtree_dir(t, dfd, ents[i].name, lp, rp, &ents[i].a,
			       depth + 1);
		free(lp);
		free(rp);
		if (rc)
			goto out;
	}
	if (set_local_attrs(x, dfd, a, 0777, created))
		local_fail(x, "cannot set the mode and times of", lpath, errno);
out:
	dtree_forget(t, dfd);
	free(kind);
	free_entries(ents, n);
	close(dfd);
	return x->dead ? -1 : rc;
}

/* The end of a pipelined download: drained, or the pipe is dead. */
static int dtree_end(struct dtree *t, int rc)
{
	struct xfer *x = t->x;

	if (!x->dead)
		dtree_drain(t);
	if (x->dead)
		xfer_pipe_dead(x);
	while (t->live)
		dfile_done(t->live);
	return x->dead ? -1 : rc;
}

/*
 * Downloads the remote folder rpath as name in pfd through the pipe.
 * Returns 1 when there is no pipe, else as download_dir().
 */
static int tree_download(struct xfer *x, int pfd, const char *name,
			 const char *lpath, const char *rpath,
			 const LIBSSH2_SFTP_ATTRIBUTES *a)
{
	struct dtree t;

	memset(&t, 0, sizeof(t));
	t.x = x;
	t.p = xfer_pipe(x);
	if (!t.p)
		return 1;
	return dtree_end(&t, dtree_dir(&t, pfd, name, lpath, rpath, a, 0));
}

/* One remote file to name in dfd through the pipe: as download_file(). */
static int pipe_download_file(struct xfer *x, int dfd, const char *name,
			      const char *lpath, const char *rpath,
			      const LIBSSH2_SFTP_ATTRIBUTES *a)
{
	struct dtree t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.x = x;
	t.p = x->pipe;
	dtree_file(&t, dfd, name, lpath, rpath, a);
	rc = dtree_end(&t, 0);
	dtree_forget(&t, dfd);
	return rc;
}

/* The local name for a remote source path. */
static char *remote_source_name(struct xfer *x, const char *rpath)
{
	char *b = base_part(rpath), real[SFTP_NAME_BUF];
	int r;

	if (good_name(b))
		return b;
	free(b);
	SFTP_CALL(x, r,
		  libssh2_sftp_symlink_ex(
		      x->sftp, rpath, (unsigned int)strlen(rpath), real,
		      sizeof(real) - 1, LIBSSH2_SFTP_REALPATH));
	if (r <= 0)
		return xstrdup("");
	real[r] = '\0';
	return base_part(real);
}

static int download_one(struct xfer *x, const char *src, const char *ldest,
			int dest_dir)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	char *rpath = remote_norm(src), *name = NULL, *parent = NULL;
	char *lpath = NULL, *p;
	int dfd = -1, rc = 0;

	if (r_stat(x, rpath, LIBSSH2_SFTP_STAT, &a)) {
		rc = remote_fail(x, "cannot read remote", src);
		goto out;
	}
	if (r_is_dir(&a) && !x->o->recursive) {
		p = shown(src);
		note(x, 0, GPUCTL_ERR_USAGE,
		     "remote '%s' is a folder (use -r to copy folders)", p);
		free(p);
		goto out;
	}
	if (!r_is_dir(&a) && !r_is_reg(&a)) {
		p = shown(src);
		note(x, 0, GPUCTL_ERR_SSH, "remote '%s' is not a regular file",
		     p);
		free(p);
		goto out;
	}
	if (dest_dir) {
		name = remote_source_name(x, rpath);
		if (!good_name(name)) {
			p = shown(src);
			note(x, 0, GPUCTL_ERR_USAGE,
			     "cannot tell what to name remote '%s' here", p);
			free(p);
			goto out;
		}
		parent = xstrdup(ldest);
		lpath = xasprintf("%s%s%s", ldest,
				  ends_with_slash(ldest) ? "" : "/", name);
	} else {
		name = base_part(ldest);
		parent = dir_part(ldest);
		if (!*parent) {
			free(parent);
			parent = xstrdup(".");
		}
		lpath = xstrdup(ldest);
	}
	dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		local_fail(x, "cannot open folder", parent, errno);
		goto out;
	}
	if (r_is_dir(&a)) {
		rc = tree_download(x, dfd, name, lpath, rpath, &a);
		if (rc == 1) /* no second channel: one file at a time */
			rc = download_dir(x, dfd, name, lpath, rpath, &a, 0);
	} else if (xfer_pipe(x))
		rc = pipe_download_file(x, dfd, name, lpath, rpath, &a);
	else
		rc = download_file(x, dfd, name, lpath, rpath, &a);
out:
	if (dfd >= 0)
		close(dfd);
	free(rpath);
	free(name);
	free(parent);
	free(lpath);
	return rc;
}

int ssh_download(struct ssh_session *s, const char *const *remote, size_t n,
		 const char *local_dest, const struct ssh_copy_opts *o,
		 struct gpuctl_err *err)
{
	struct xfer x;
	struct stat st;
	int dest_dir, r;
	char *p;
	size_t i;

	r = stat(local_dest, &st);
	dest_dir = !r && S_ISDIR(st.st_mode);
	if (!dest_dir && (n > 1 || ends_with_slash(local_dest))) {
		p = shown(local_dest);
		err_set(err, r ? GPUCTL_ERR_IO : GPUCTL_ERR_USAGE, "'%s': %s",
			p, r ? strerror(errno) : "not a folder");
		free(p);
		return -1;
	}
	if (xfer_start(&x, s, o, err))
		return xfer_end(&x);
	for (i = 0; i < n; i++) {
		if (download_one(&x, remote[i], local_dest, dest_dir))
			break;
	}
	return xfer_end(&x);
}
