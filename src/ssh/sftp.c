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
	if (!x->o->progress)
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
		rc = upload_dir(x, fd, lpath, target, 0);
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
	if (r_is_dir(&a))
		rc = download_dir(x, dfd, name, lpath, rpath, &a, 0);
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
