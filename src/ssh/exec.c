/*
 * Running commands: one channel driven by a poll() loop over the local
 * fds and the session socket, so that stdin, stdout and stderr stream both
 * ways holding no more than a buffer each; the PTY and raw mode for
 * interactive use.
 */
#include "ssh_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "gpuctl/log.h"

/*
 * The terminal's settings before raw mode: the one global of this module,
 * so that an atexit() handler can restore them whatever path leaves.
 */
static struct {
	int fd;
	int raw;
	int atexit_done;
	struct termios saved;
} ssh_tty = {-1, 0, 0, {0}};

void ssh_int_tty_restore(void)
{
	if (!ssh_tty.raw)
		return;
	tcsetattr(ssh_tty.fd, TCSADRAIN, &ssh_tty.saved);
	ssh_tty.raw = 0;
}

int ssh_int_tty_raw(int fd)
{
	struct termios tio;
	int r;

	if (ssh_tty.raw)
		return 0;
	r = tcgetattr(fd, &ssh_tty.saved);
	if (r < 0)
		return -1;
	if (!ssh_tty.atexit_done) {
		atexit(ssh_int_tty_restore);
		ssh_tty.atexit_done = 1;
	}
	tio = ssh_tty.saved;
	/* As OpenSSH's enter_raw_mode(). */
	tio.c_iflag |= IGNPAR;
	tio.c_iflag &= ~(ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXANY | IXOFF);
	tio.c_lflag &=
	    ~(ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHONL | IEXTEN);
	tio.c_oflag &= ~OPOST;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	ssh_tty.fd = fd;
	r = tcsetattr(fd, TCSADRAIN, &tio);
	if (r < 0)
		return -1;
	ssh_tty.raw = 1;
	return 0;
}

static const struct {
	const char *name;
	int num;
} signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},	  {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT}, {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"CHLD", SIGCHLD},
    {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"SYS", SIGSYS},
};

int ssh_signal_number(const char *name)
{
	size_t i;

	if (!name)
		return -1;
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (!strcasecmp(name, signals[i].name))
			return signals[i].num;
	return -1;
}

void ssh_int_channel_close(struct ssh_session *ss, LIBSSH2_CHANNEL *ch)
{
	long long deadline = ssh_int_now_ms() + 2000;
	int r;

	if (!ch)
		return;
	while ((r = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (ssh_int_wait(ss, deadline) < 0)
			break;
	while ((r = libssh2_channel_free(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (ssh_int_wait(ss, deadline) < 0)
			break;
}

/* Largest write() that cannot block long on a blocking fd. */
static size_t write_cap(int fd)
{
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return SSH_IOBUF;
	return PIPE_BUF;
}

/* Runs a channel call until it stops saying EAGAIN. */
#define NB_CALL(ss, deadline, r, call)                           \
	do {                                                     \
		while (((r) = (call)) == LIBSSH2_ERROR_EAGAIN) { \
			if (ssh_int_wait((ss), (deadline)) < 0)  \
				break;                           \
		}                                                \
	} while (0)

static void terminal_size(int fd, int *w, int *h)
{
	struct winsize ws;

	*w = 80;
	*h = 24;
	if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		*w = ws.ws_col;
		*h = ws.ws_row;
	}
}

static LIBSSH2_CHANNEL *open_session(struct ssh_session *ss, long long deadline,
				     struct gpuctl_err *err)
{
	LIBSSH2_CHANNEL *ch;

	while (!(ch = libssh2_channel_open_session(ss->s))) {
		if (libssh2_session_last_errno(ss->s) != LIBSSH2_ERROR_EAGAIN ||
		    ssh_int_wait(ss, deadline) < 0) {
			err_set(err, GPUCTL_ERR_SSH,
				"cannot open a session channel on %.200s: "
				"%.200s",
				ss->host, ssh_int_errmsg(ss));
			return NULL;
		}
	}
	return ch;
}

/*
 * Opens the channel and starts command (NULL: a login shell).  The
 * buffers and state are set for the loop.
 */
static int exec_start(struct ssh_session *ss, const char *command,
		      const struct ssh_exec_opts *o, struct ssh_exec_state *x,
		      struct gpuctl_err *err)
{
	long long deadline = ssh_int_now_ms() + 30000;
	const char *term;
	const char *eq;
	int r, w, h;
	size_t i;

	memset(x, 0, sizeof(*x));
	x->ss = ss;
	x->fd_in = o ? o->fd_in : -1;
	x->fd_out = o ? o->fd_out : 1;
	x->fd_err = o ? o->fd_err : 2;
	x->pin = x->pout = x->perr = -1;
	x->in_eof = x->fd_in < 0;
	x->out_cap = write_cap(x->fd_out);
	x->err_cap = write_cap(x->fd_err);
	x->ch = open_session(ss, deadline, err);
	if (!x->ch)
		return -1;
	for (i = 0; o && o->env && o->env[i]; i++) {
		eq = strchr(o->env[i], '=');
		if (!eq)
			continue;
		NB_CALL(ss, deadline, r,
			libssh2_channel_setenv_ex(
			    x->ch, o->env[i], (unsigned)(eq - o->env[i]),
			    eq + 1, (unsigned)strlen(eq + 1)));
		if (r)
			log_debug("ssh: the server refused to set %.*s",
				  (int)(eq - o->env[i]), o->env[i]);
	}
	if (o && o->pty) {
		term = o->term && *o->term ? o->term : "xterm";
		terminal_size(x->fd_out, &w, &h);
		NB_CALL(ss, deadline, r,
			libssh2_channel_request_pty_ex(x->ch, term,
						       (unsigned)strlen(term),
						       NULL, 0, w, h, 0, 0));
		if (r) {
			err_set(err, GPUCTL_ERR_SSH,
				"%.200s refused a pseudo-terminal: %.200s",
				ss->host, ssh_int_errmsg(ss));
			goto fail;
		}
	}
	if (command)
		NB_CALL(
		    ss, deadline, r,
		    libssh2_channel_process_startup(x->ch, "exec", 4, command,
						    (unsigned)strlen(command)));
	else
		NB_CALL(ss, deadline, r,
			libssh2_channel_process_startup(x->ch, "shell", 5, NULL,
							0));
	if (r) {
		err_set(err, GPUCTL_ERR_SSH,
			"cannot run the command on %.200s: "
			"%.200s",
			ss->host, ssh_int_errmsg(ss));
		goto fail;
	}
	x->inbuf = xmalloc(SSH_IOBUF);
	x->outbuf = xmalloc(SSH_IOBUF);
	x->errbuf = xmalloc(SSH_IOBUF);
	return 0;
fail:
	ssh_int_channel_close(ss, x->ch);
	x->ch = NULL;
	return -1;
}

int ssh_int_exec_start(struct ssh_session *ss, const char *command,
		       const struct ssh_exec_opts *o, struct ssh_exec_state *x,
		       struct gpuctl_err *err)
{
	return exec_start(ss, command, o, x, err);
}

void ssh_int_exec_pollfds(struct ssh_exec_state *x, struct pollfd *pfd, int *n)
{
	x->pin = x->pout = x->perr = -1;
	if (x->done)
		return;
	if (!x->in_eof && x->in_len == 0 && !x->eof_sent) {
		x->pin = *n;
		pfd[*n].fd = x->fd_in;
		pfd[(*n)++].events = POLLIN;
	}
	if (x->out_len > 0 && x->fd_out >= 0) {
		x->pout = *n;
		pfd[*n].fd = x->fd_out;
		pfd[(*n)++].events = POLLOUT;
	}
	if (x->err_len > 0 && x->fd_err >= 0) {
		x->perr = *n;
		pfd[*n].fd = x->fd_err;
		pfd[(*n)++].events = POLLOUT;
	}
}

void ssh_int_exec_revents(struct ssh_exec_state *x, const struct pollfd *pfd)
{
	if (x->pin >= 0 && pfd[x->pin].revents)
		x->in_ready = 1;
	if (x->pout >= 0 && pfd[x->pout].revents)
		x->out_ready = 1;
	if (x->perr >= 0 && pfd[x->perr].revents)
		x->err_ready = 1;
}

/* fd_in → inbuf → channel; EOF when fd_in ends. */
static int step_stdin(struct ssh_exec_state *x, struct gpuctl_err *err)
{
	ssize_t n;
	int prog = 0;

	if (x->in_ready && !x->in_eof && x->in_len == 0) {
		x->in_ready = 0;
		n = read(x->fd_in, x->inbuf, SSH_IOBUF);
		if (n > 0) {
			x->in_off = 0;
			x->in_len = (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			x->in_eof = 1;
		}
		prog++;
	}
	while (x->in_len > 0) {
		n = libssh2_channel_write(x->ch, x->inbuf + x->in_off,
					  x->in_len);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			x->dirs |= libssh2_session_block_directions(x->ss->s);
			break;
		}
		if (n < 0) {
			if (libssh2_channel_eof(x->ch) ||
			    n == LIBSSH2_ERROR_CHANNEL_CLOSED ||
			    n == LIBSSH2_ERROR_CHANNEL_EOF_SENT) {
				/* The remote is no longer reading. */
				x->in_len = 0;
				x->in_eof = 1;
				x->eof_sent = 1;
				return prog + 1;
			}
			err_set(err, GPUCTL_ERR_SSH,
				"sending to %.200s failed: %.200s", x->ss->host,
				ssh_int_errmsg(x->ss));
			return -1;
		}
		x->in_off += (size_t)n;
		x->in_len -= (size_t)n;
		prog++;
	}
	if (x->in_eof && x->in_len == 0 && !x->eof_sent) {
		n = libssh2_channel_send_eof(x->ch);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			x->dirs |= libssh2_session_block_directions(x->ss->s);
		} else {
			x->eof_sent = 1;
			prog++;
		}
	}
	return prog;
}

/* channel stream → buf; 0 and *eof at the end. */
static int read_stream(struct ssh_exec_state *x, int stream, char *buf,
		       size_t *len, int *eof, struct gpuctl_err *err)
{
	ssize_t n;

	if (*len > 0 || *eof)
		return 0;
	n = libssh2_channel_read_ex(x->ch, stream, buf, SSH_IOBUF);
	if (n > 0) {
		*len = (size_t)n;
		return 1;
	}
	if (n == LIBSSH2_ERROR_EAGAIN) {
		x->dirs |= libssh2_session_block_directions(x->ss->s);
		return 0;
	}
	if (n == 0 && !libssh2_channel_eof(x->ch))
		return 0;
	if (n < 0 && n != LIBSSH2_ERROR_CHANNEL_CLOSED &&
	    n != LIBSSH2_ERROR_CHANNEL_EOF_SENT) {
		err_set(err, GPUCTL_ERR_SSH,
			"reading from %.200s failed: %.200s", x->ss->host,
			ssh_int_errmsg(x->ss));
		return -1;
	}
	*eof = 1;
	return 1;
}

/* buf → fd; 1 when the reader is gone (EPIPE). */
static int write_out(int fd, int *ready, char *buf, size_t *off, size_t *len,
		     size_t cap, int *broken)
{
	ssize_t n;

	if (*len == 0)
		return 0;
	if (fd < 0 || *broken) {
		*off = *len = 0;
		return 1;
	}
	if (!*ready)
		return 0;
	*ready = 0;
	n = write(fd, buf + *off, *len < cap ? *len : cap);
	if (n > 0) {
		*off += (size_t)n;
		*len -= (size_t)n;
		if (*len == 0)
			*off = 0;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	*broken = 1;
	*off = *len = 0;
	return 1;
}

static void exit_status(struct ssh_exec_state *x)
{
	char *sig = NULL;
	size_t siglen = 0;
	int num;

	x->status = libssh2_channel_get_exit_status(x->ch);
	if (libssh2_channel_get_exit_signal(x->ch, &sig, &siglen, NULL, NULL,
					    NULL, NULL) == 0 &&
	    sig) {
		num = ssh_signal_number(sig);
		x->status = num > 0 ? 128 + num : 255;
		libssh2_free(x->ss->s, sig);
	}
}

int ssh_int_exec_step(struct ssh_exec_state *x, struct gpuctl_err *err)
{
	size_t room;
	int r, prog = 0;

	if (x->done)
		return 0;
	x->dirs = 0;
	if (x->closing) {
		/* Our reader went away: close, as a local pipe would. */
		r = libssh2_channel_close(x->ch);
		if (r == LIBSSH2_ERROR_EAGAIN) {
			x->dirs |= libssh2_session_block_directions(x->ss->s);
			return 0;
		}
		exit_status(x);
		if (!x->status)
			x->status = 128 + SIGPIPE;
		x->done = 1;
		return 1;
	}
	r = step_stdin(x, err);
	if (r < 0)
		return -1;
	prog += r;

	r = read_stream(x, 0, x->outbuf, &x->out_len, &x->out_eof, err);
	if (r < 0)
		return -1;
	prog += r;
	if (x->capture && x->out_len > 0) {
		room = x->capture->len < x->capture_max
			   ? x->capture_max - x->capture->len
			   : 0;
		buf_add(x->capture, x->outbuf,
			x->out_len < room ? x->out_len : room);
		x->out_len = 0;
	}
	prog += write_out(x->fd_out, &x->out_ready, x->outbuf, &x->out_off,
			  &x->out_len, x->out_cap, &x->out_broken);
	r = read_stream(x, 1, x->errbuf, &x->err_len, &x->err_eof, err);
	if (r < 0)
		return -1;
	prog += r;
	prog += write_out(x->fd_err, &x->err_ready, x->errbuf, &x->err_off,
			  &x->err_len, x->err_cap, &x->err_broken);
	if (x->out_broken && x->fd_out >= 0) {
		x->closing = 1;
		return prog + 1;
	}
	if (x->out_eof && x->err_eof && !x->out_len && !x->err_len) {
		r = libssh2_channel_wait_closed(x->ch);
		if (r == LIBSSH2_ERROR_EAGAIN) {
			x->dirs |= libssh2_session_block_directions(x->ss->s);
			return prog;
		}
		exit_status(x);
		x->done = 1;
		prog++;
	}
	return prog;
}

int ssh_int_exec_pending(struct ssh_exec_state *x)
{
	unsigned long avail = 0;

	if (x->done || !x->ch)
		return 0;
	if (x->in_len > 0 && libssh2_channel_window_write(x->ch) > 0)
		return 1;
	if (!x->out_len && !x->err_len) {
		libssh2_channel_window_read_ex(x->ch, &avail, NULL);
		if (avail > 0)
			return 1;
		if ((!x->out_eof || !x->err_eof) && libssh2_channel_eof(x->ch))
			return 1;
	}
	return 0;
}

void ssh_int_exec_release(struct ssh_exec_state *x)
{
	if (x->ch)
		ssh_int_channel_close(x->ss, x->ch);
	x->ch = NULL;
	free(x->inbuf);
	free(x->outbuf);
	free(x->errbuf);
	x->inbuf = x->outbuf = x->errbuf = NULL;
}

/* Adds the session socket to poll in the directions libssh2 needs. */
static void socket_pollfd(struct ssh_session *ss, int dirs, struct pollfd *p)
{
	p->fd = ss->sock;
	p->events = POLLIN;
	if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p->events |= POLLOUT;
	p->revents = 0;
}

/*
 * The loop of one command.  sigfd (or -1) hears SIGWINCH and the signals
 * that end an interactive session.
 */
static int exec_loop(struct ssh_exec_state *x, int sigfd, int *status,
		     struct gpuctl_err *err)
{
	struct pollfd pfd[5];
	struct signalfd_siginfo si;
	int n, r, pending = 1, w, h, sig = 0, isig = -1;

	while (!x->done) {
		n = 0;
		socket_pollfd(x->ss, x->dirs, &pfd[n++]);
		if (sigfd >= 0) {
			isig = n;
			pfd[n].fd = sigfd;
			pfd[n++].events = POLLIN;
		}
		ssh_int_exec_pollfds(x, pfd, &n);
		if (!pending)
			ssh_int_quickack(x->ss->sock);
		r = poll(pfd, (nfds_t)n, pending ? 0 : -1);
		if (r < 0 && errno != EINTR) {
			err_set(err, GPUCTL_ERR_SSH, "poll: %s",
				strerror(errno));
			return -1;
		}
		if (r < 0)
			continue;
		ssh_int_exec_revents(x, pfd);
		if (sigfd >= 0 && pfd[isig].revents & POLLIN &&
		    read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if ((int)si.ssi_signo != SIGWINCH) {
				sig = (int)si.ssi_signo;
				break;
			}
			terminal_size(x->fd_out, &w, &h);
			/* Best effort: a lost resize is not an error. */
			libssh2_channel_request_pty_size(x->ch, w, h);
		}
		r = ssh_int_exec_step(x, err);
		if (r < 0)
			return -1;
		pending = r > 0 || ssh_int_exec_pending(x);
	}
	*status = sig ? 128 + sig : x->status;
	return 0;
}

static int run(struct ssh_session *ss, const char *command,
	       const struct ssh_exec_opts *o, int *status,
	       struct gpuctl_err *err)
{
	struct ssh_exec_state x;
	struct sigaction ign, old_pipe;
	sigset_t set, old_mask;
	int r, rc = -1, sigfd = -1, masked = 0, interactive;

	*status = 255;
	interactive = o && o->pty;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);
	memset(&x, 0, sizeof(x));

	r = exec_start(ss, command, o, &x, err);
	if (r < 0)
		goto out;
	if (interactive) {
		sigemptyset(&set);
		sigaddset(&set, SIGWINCH);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGHUP);
		r = pthread_sigmask(SIG_BLOCK, &set, &old_mask);
		if (r == 0) {
			masked = 1;
			sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
		}
		if (x.fd_in >= 0 && isatty(x.fd_in) && ssh_int_tty_raw(x.fd_in))
			log_debug("ssh: cannot put the terminal in raw mode");
	}
	r = exec_loop(&x, sigfd, status, err);
	if (r < 0)
		goto out;
	rc = 0;
out:
	ssh_int_tty_restore();
	ssh_int_exec_release(&x);
	if (sigfd >= 0)
		close(sigfd);
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return rc;
}

int ssh_exec(struct ssh_session *s, const char *command,
	     const struct ssh_exec_opts *o, int *status, struct gpuctl_err *err)
{
	if (!command) {
		err_set(err, GPUCTL_ERR_USAGE, "no command to run");
		return -1;
	}
	return run(s, command, o, status, err);
}

int ssh_shell(struct ssh_session *s, const char *term, int *status,
	      struct gpuctl_err *err)
{
	struct ssh_exec_opts o;

	memset(&o, 0, sizeof(o));
	o.fd_in = 0;
	o.fd_out = 1;
	o.fd_err = 2;
	o.pty = 1;
	o.term = term;
	return run(s, NULL, &o, status, err);
}

int ssh_exec_capture(struct ssh_session *s, const char *command, size_t max,
		     struct buf *out, int *status, struct gpuctl_err *err)
{
	struct ssh_exec_opts o;
	struct ssh_exec_state x;
	struct pollfd pfd;
	int r, rc = -1, pending = 1;

	*status = 255;
	memset(&o, 0, sizeof(o));
	o.fd_in = -1;
	o.fd_out = -1;
	o.fd_err = -1;
	r = exec_start(s, command, &o, &x, err);
	if (r < 0)
		return -1;
	x.capture = out;
	x.capture_max = max;
	while (!x.done) {
		if (!pending) {
			socket_pollfd(s, x.dirs, &pfd);
			ssh_int_quickack(s->sock);
			r = poll(&pfd, 1, -1);
			if (r < 0 && errno != EINTR) {
				err_set(err, GPUCTL_ERR_SSH, "poll: %s",
					strerror(errno));
				goto out;
			}
		}
		r = ssh_int_exec_step(&x, err);
		if (r < 0)
			goto out;
		pending = r > 0 || ssh_int_exec_pending(&x);
	}
	*status = x.status;
	rc = 0;
out:
	ssh_int_exec_release(&x);
	return rc;
}
