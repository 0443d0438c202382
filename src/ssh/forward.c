/*
 * Port forwarding: -L and -R, many connections at once, every channel of
 * the session in one poll() loop (a libssh2 session is not thread safe).
 */
#include "ssh_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gpuctl/log.h"

static int parse_port(const char *s, size_t n, int *port)
{
	char tmp[8];
	long v;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (parse_long(tmp, 1, 65535, &v) < 0)
		return -1;
	*port = (int)v;
	return 0;
}

/* Next field of a spec: "[v6]" or up to ':'; NULL when malformed. */
static const char *next_field(const char *p, const char **start, size_t *n)
{
	const char *e;

	if (*p == '[') {
		e = strchr(p, ']');
		if (!e || (e[1] != ':' && e[1] != '\0'))
			return NULL;
		*start = p + 1;
		*n = (size_t)(e - p - 1);
		return e[1] ? e + 2 : e + 1;
	}
	e = strchr(p, ':');
	*start = p;
	*n = e ? (size_t)(e - p) : strlen(p);
	return e ? e + 1 : p + *n;
}

int ssh_forward_parse(const char *spec, int remote, struct ssh_forward *f,
		      struct gpuctl_err *err)
{
	const char *p = spec, *fs[4];
	size_t fl[4], i;
	int nf = 0, k = 0;

	memset(f, 0, sizeof(*f));
	f->remote = remote;
	if (!spec || !*spec)
		goto bad;
	while (*p && nf < 4) {
		p = next_field(p, &fs[nf], &fl[nf]);
		if (!p)
			goto bad;
		nf++;
	}
	if (*p || nf < 3 || (spec[strlen(spec) - 1] == ':'))
		goto bad;
	if (nf == 4) {
		if (fl[0] == 0 || fl[0] > 255)
			goto bad;
		f->bind_addr = xstrndup(fs[0], fl[0]);
		k = 1;
	}
	if (parse_port(fs[k], fl[k], &f->listen_port) < 0)
		goto bad;
	if (fl[k + 1] == 0 || fl[k + 1] > 255)
		goto bad;
	for (i = 0; i < fl[k + 1]; i++)
		if (fs[k + 1][i] == ' ' || fs[k + 1][i] == '/')
			goto bad;
	f->host = xstrndup(fs[k + 1], fl[k + 1]);
	if (parse_port(fs[k + 2], fl[k + 2], &f->port) < 0)
		goto bad;
	if (!f->bind_addr && !remote)
		f->bind_addr = xstrdup("127.0.0.1");
	return 0;
bad:
	ssh_forward_release(f);
	err_set(err, GPUCTL_ERR_USAGE, "bad %s forward '%.200s': expected %s",
		remote ? "-R" : "-L", spec ? spec : "",
		remote ? "[BIND:]PORT:HOST:HOSTPORT"
		       : "[BIND:]PORT:HOST:HOSTPORT (ports 1-65535)");
	return -1;
}

void ssh_forward_release(struct ssh_forward *f)
{
	if (!f)
		return;
	free(f->bind_addr);
	free(f->host);
	f->bind_addr = NULL;
	f->host = NULL;
}

/* One forwarded connection: a local socket and a channel. */
struct tunnel {
	int fd;
	LIBSSH2_CHANNEL *ch;
	const struct ssh_forward *fw;
	char peer[64];
	int peer_port;
	char *l2r, *r2l;
	size_t l2r_off, l2r_len, r2l_off, r2l_len;
	int l_eof, eof_sent, r_eof, shut;
	int rd_ready, wr_ready, slot;
	int opening; /* -L: the channel is not open yet */
	int dead;
	struct tunnel *next;
};

struct fwd_loop {
	struct ssh_session *ss;
	const struct ssh_forward *fw;
	size_t nfw;
	int *lfd;		/* -L listening sockets */
	LIBSSH2_LISTENER **lst; /* -R listeners */
	struct tunnel *tunnels;
	int ntunnels;
	int dirs;
};

static int listen_local(const struct ssh_forward *f, struct gpuctl_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int r, fd = -1, one = 1, e = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", f->listen_port);
	r = getaddrinfo(f->bind_addr, port, &hints, &res);
	if (r) {
		err_set(err, GPUCTL_ERR_SSH, "cannot resolve '%.200s': %s",
			f->bind_addr, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		r = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (r == 0)
			r = bind(fd, ai->ai_addr, ai->ai_addrlen);
		if (r == 0)
			r = listen(fd, 64);
		if (r == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		err_set(err, GPUCTL_ERR_SSH,
			"cannot listen on %.200s port %d: %s", f->bind_addr,
			f->listen_port, strerror(e));
	return fd;
}

static struct tunnel *tunnel_new(struct fwd_loop *L, int fd,
				 const struct ssh_forward *fw)
{
	struct tunnel *t = xcalloc(1, sizeof(*t));

	t->fd = fd;
	t->fw = fw;
	t->l2r = xmalloc(SSH_IOBUF);
	t->r2l = xmalloc(SSH_IOBUF);
	t->slot = -1;
	t->next = L->tunnels;
	L->tunnels = t;
	L->ntunnels++;
	return t;
}

static void tunnel_free(struct fwd_loop *L, struct tunnel *t)
{
	if (t->ch)
		ssh_int_channel_close(L->ss, t->ch);
	if (t->fd >= 0)
		close(t->fd);
	free(t->l2r);
	free(t->r2l);
	free(t);
}

static void accept_local(struct fwd_loop *L, size_t i)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	struct tunnel *t;
	char port[16];
	int fd;

	for (;;) {
		len = sizeof(sa);
		fd = accept(L->lfd[i], (struct sockaddr *)&sa, &len);
		if (fd < 0)
			return;
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
		    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
			close(fd);
			continue;
		}
		t = tunnel_new(L, fd, &L->fw[i]);
		t->opening = 1;
		if (getnameinfo((struct sockaddr *)&sa, len, t->peer,
				sizeof(t->peer), port, sizeof(port),
				NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			t->peer_port = atoi(port);
		else
			snprintf(t->peer, sizeof(t->peer), "127.0.0.1");
	}
}

/* -L: opens the channel of the first tunnel waiting (one at a time). */
static int open_pending(struct fwd_loop *L)
{
	struct tunnel *t, *first = NULL;

	for (t = L->tunnels; t; t = t->next)
		if (t->opening && !t->dead)
			first = t; /* the list is newest first */
	if (!first)
		return 0;
	t = first;
	t->ch = libssh2_channel_direct_tcpip_ex(
	    L->ss->s, t->fw->host, t->fw->port, t->peer, t->peer_port);
	if (t->ch) {
		t->opening = 0;
		return 1;
	}
	if (libssh2_session_last_errno(L->ss->s) == LIBSSH2_ERROR_EAGAIN) {
		L->dirs |= libssh2_session_block_directions(L->ss->s);
		return 0;
	}
	log_warn("forward to %.200s:%d refused: %.200s", t->fw->host,
		 t->fw->port, ssh_int_errmsg(L->ss));
	t->opening = 0;
	t->dead = 1;
	return 1;
}

/* -R: a connection came to the server; connect it here. */
static int accept_remote(struct fwd_loop *L, size_t i)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	LIBSSH2_CHANNEL *ch;
	struct tunnel *t;
	int fd, prog = 0;

	for (;;) {
		ch = libssh2_channel_forward_accept(L->lst[i]);
		if (!ch) {
			if (libssh2_session_last_errno(L->ss->s) ==
			    LIBSSH2_ERROR_EAGAIN)
				L->dirs |=
				    libssh2_session_block_directions(L->ss->s);
			return prog;
		}
		prog++;
		fd = ssh_int_tcp_connect(L->fw[i].host, L->fw[i].port, 5000,
					 NULL, &e);
		if (fd < 0) {
			log_warn("%s", e.message);
			err_clear(&e);
			ssh_int_channel_close(L->ss, ch);
			continue;
		}
		t = tunnel_new(L, fd, &L->fw[i]);
		t->ch = ch;
	}
}

static int tunnel_step(struct fwd_loop *L, struct tunnel *t)
{
	ssize_t n;
	int prog = 0;

	if (t->opening || t->dead)
		return 0;
	/* local → remote */
	if (t->rd_ready && !t->l_eof && t->l2r_len == 0) {
		t->rd_ready = 0;
		n = recv(t->fd, t->l2r, SSH_IOBUF, MSG_DONTWAIT);
		if (n > 0) {
			t->l2r_off = 0;
			t->l2r_len = (size_t)n;
			prog++;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			t->l_eof = 1;
			prog++;
		}
	}
	while (t->l2r_len > 0) {
		n = libssh2_channel_write(t->ch, t->l2r + t->l2r_off,
					  t->l2r_len);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			L->dirs |= libssh2_session_block_directions(L->ss->s);
			break;
		}
		if (n < 0) {
			t->dead = 1;
			return prog + 1;
		}
		t->l2r_off += (size_t)n;
		t->l2r_len -= (size_t)n;
		prog++;
	}
	if (t->l_eof && !t->l2r_len && !t->eof_sent) {
		n = libssh2_channel_send_eof(t->ch);
		if (n == LIBSSH2_ERROR_EAGAIN) {
			L->dirs |= libssh2_session_block_directions(L->ss->s);
		} else {
			t->eof_sent = 1;
			prog++;
		}
	}
	/* remote → local */
	if (!t->r2l_len && !t->r_eof) {
		n = libssh2_channel_read(t->ch, t->r2l, SSH_IOBUF);
		if (n > 0) {
			t->r2l_off = 0;
			t->r2l_len = (size_t)n;
			t->wr_ready = 1; /* try at once: usually room */
			prog++;
		} else if (n == LIBSSH2_ERROR_EAGAIN) {
			L->dirs |= libssh2_session_block_directions(L->ss->s);
		} else if (n < 0 || libssh2_channel_eof(t->ch)) {
			t->r_eof = 1;
			prog++;
		}
	}
	if (t->r2l_len && t->wr_ready) {
		t->wr_ready = 0;
		n = send(t->fd, t->r2l + t->r2l_off, t->r2l_len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			t->r2l_off += (size_t)n;
			t->r2l_len -= (size_t)n;
			prog++;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			t->dead = 1;
			return prog + 1;
		}
	}
	if (t->r_eof && !t->r2l_len && !t->shut) {
		shutdown(t->fd, SHUT_WR);
		t->shut = 1;
		prog++;
	}
	if (t->shut && t->eof_sent) {
		t->dead = 1;
		prog++;
	}
	return prog;
}

static int tunnel_pending(struct tunnel *t)
{
	unsigned long avail = 0;

	if (t->opening || t->dead || !t->ch)
		return 0;
	if (t->l2r_len && libssh2_channel_window_write(t->ch) > 0)
		return 1;
	if (!t->r2l_len && !t->r_eof) {
		libssh2_channel_window_read_ex(t->ch, &avail, NULL);
		if (avail || libssh2_channel_eof(t->ch))
			return 1;
	}
	return 0;
}

static int has_remote(const struct fwd_loop *L)
{
	size_t i;

	for (i = 0; i < L->nfw; i++)
		if (L->lst[i])
			return 1;
	return 0;
}

static int start_remote(struct fwd_loop *L, size_t i, struct gpuctl_err *err)
{
	long long deadline = ssh_int_now_ms() + 10000;
	const struct ssh_forward *f = &L->fw[i];
	const char *bind = f->bind_addr ? f->bind_addr : "localhost";
	int bound = 0;

	while (!(L->lst[i] = libssh2_channel_forward_listen_ex(
		     L->ss->s, bind, f->listen_port, &bound, 16))) {
		if (libssh2_session_last_errno(L->ss->s) !=
			LIBSSH2_ERROR_EAGAIN ||
		    ssh_int_wait(L->ss, deadline) < 0) {
			err_set(err, GPUCTL_ERR_SSH,
				"%.200s refused to listen on port %d: %.200s",
				L->ss->host, f->listen_port,
				ssh_int_errmsg(L->ss));
			return -1;
		}
	}
	return 0;
}

static void fwd_release(struct fwd_loop *L)
{
	long long deadline = ssh_int_now_ms() + 2000;
	struct tunnel *t, *next;
	size_t i;
	int r;

	for (t = L->tunnels; t; t = next) {
		next = t->next;
		tunnel_free(L, t);
	}
	L->tunnels = NULL;
	for (i = 0; i < L->nfw; i++) {
		if (L->lfd[i] >= 0)
			close(L->lfd[i]);
		if (!L->lst[i])
			continue;
		while ((r = libssh2_channel_forward_cancel(L->lst[i])) ==
		       LIBSSH2_ERROR_EAGAIN)
			if (ssh_int_wait(L->ss, deadline) < 0)
				break;
	}
	free(L->lfd);
	free(L->lst);
}

int ssh_run_with_forwards(struct ssh_session *s, const struct ssh_forward *fw,
			  size_t nfw, const char *command,
			  const struct ssh_exec_opts *o, int *status,
			  struct gpuctl_err *err)
{
	struct fwd_loop L;
	struct ssh_exec_state x;
	struct pollfd *pfd = NULL;
	struct tunnel *t, **pp;
	struct sigaction ign, old_pipe;
	struct signalfd_siginfo si;
	sigset_t set, old_mask;
	size_t i, cap = 0;
	int r, n, rc = -1, pending = 1, sigfd = -1, isig = -1, masked = 0;
	int have_cmd = command != NULL;

	*status = 255;
	memset(&L, 0, sizeof(L));
	memset(&x, 0, sizeof(x));
	L.ss = s;
	L.fw = fw;
	L.nfw = nfw;
	L.lfd = xmalloc((nfw + 1) * sizeof(*L.lfd));
	L.lst = xcalloc(nfw + 1, sizeof(*L.lst));
	for (i = 0; i < nfw; i++)
		L.lfd[i] = -1;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);

	for (i = 0; i < nfw; i++) {
		if (fw[i].remote)
			r = start_remote(&L, i, err);
		else
			r = L.lfd[i] = listen_local(&fw[i], err);
		if (r < 0)
			goto out;
	}
	if (have_cmd) {
		r = ssh_int_exec_start(s, command, o, &x, err);
		if (r < 0)
			goto out;
	} else {
		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		r = pthread_sigmask(SIG_BLOCK, &set, &old_mask);
		if (r == 0) {
			masked = 1;
			sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
		}
		if (sigfd < 0) {
			err_set(err, GPUCTL_ERR_OTHER, "signalfd: %s",
				strerror(errno));
			goto out;
		}
	}

	for (;;) {
		if (have_cmd && x.done)
			break;
		if (cap < nfw + (size_t)L.ntunnels + 8) {
			cap = (nfw + (size_t)L.ntunnels + 8) * 2;
			pfd = xrealloc(pfd, cap * sizeof(*pfd));
		}
		n = 0;
		pfd[n].fd = s->sock;
		/*
		 * Without a channel or a listener nothing would read what
		 * the server sends, and poll() would spin: the socket waits
		 * for the next connection.
		 */
		pfd[n].events =
		    have_cmd || L.ntunnels || has_remote(&L) ? POLLIN : 0;
		if ((L.dirs | x.dirs) & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			pfd[n].events |= POLLOUT;
		n++;
		if (sigfd >= 0) {
			isig = n;
			pfd[n].fd = sigfd;
			pfd[n++].events = POLLIN;
		}
		for (i = 0; i < nfw; i++) {
			if (L.lfd[i] < 0)
				continue;
			pfd[n].fd = L.lfd[i];
			pfd[n++].events = POLLIN;
		}
		for (t = L.tunnels; t; t = t->next) {
			t->slot = -1;
			if (t->opening || t->dead)
				continue;
			t->slot = n;
			pfd[n].fd = t->fd;
			pfd[n].events = 0;
			if (!t->l_eof && !t->l2r_len)
				pfd[n].events |= POLLIN;
			if (t->r2l_len)
				pfd[n].events |= POLLOUT;
			n++;
		}
		if (have_cmd)
			ssh_int_exec_pollfds(&x, pfd, &n);
		for (r = 0; r < n; r++)
			pfd[r].revents = 0;
		/*
		 * A packet for one channel may be read while serving
		 * another: the pending checks catch data and EOF, and the
		 * bounded wait catches the rest (a queued -R connection).
		 */
		r = poll(pfd, (nfds_t)n, pending ? 0 : 100);
		if (r < 0 && errno != EINTR) {
			err_set(err, GPUCTL_ERR_SSH, "poll: %s",
				strerror(errno));
			goto out;
		}
		if (r < 0)
			continue;
		if (sigfd >= 0 && pfd[isig].revents & POLLIN &&
		    read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			break;
		L.dirs = 0;
		pending = 0;
		n = sigfd >= 0 ? 2 : 1;
		for (i = 0; i < nfw; i++) {
			if (L.lfd[i] < 0)
				continue;
			if (pfd[n++].revents & POLLIN)
				accept_local(&L, i);
		}
		for (t = L.tunnels; t; t = t->next) {
			if (t->slot < 0)
				continue;
			if (pfd[t->slot].revents & (POLLIN | POLLHUP | POLLERR))
				t->rd_ready = 1;
			if (pfd[t->slot].revents &
			    (POLLOUT | POLLHUP | POLLERR))
				t->wr_ready = 1;
		}
		if (have_cmd)
			ssh_int_exec_revents(&x, pfd);

		pending += open_pending(&L);
		for (t = L.tunnels; t; t = t->next)
			pending += tunnel_step(&L, t);
		for (i = 0; i < nfw; i++)
			if (L.lst[i])
				pending += accept_remote(&L, i);
		if (have_cmd) {
			r = ssh_int_exec_step(&x, err);
			if (r < 0)
				goto out;
			pending += r + ssh_int_exec_pending(&x);
		}
		for (pp = &L.tunnels; *pp;) {
			t = *pp;
			if (t->dead) {
				*pp = t->next;
				L.ntunnels--;
				tunnel_free(&L, t);
				continue;
			}
			pending += tunnel_pending(t);
			pp = &t->next;
		}
		if (libssh2_session_last_errno(s->s) ==
			LIBSSH2_ERROR_SOCKET_DISCONNECT ||
		    libssh2_session_last_errno(s->s) ==
			LIBSSH2_ERROR_SOCKET_RECV) {
			err_set(err, GPUCTL_ERR_SSH,
				"connection to %.200s lost: %.200s", s->host,
				ssh_int_errmsg(s));
			goto out;
		}
	}
	*status = have_cmd ? x.status : 0;
	rc = 0;
out:
	if (have_cmd)
		ssh_int_exec_release(&x);
	fwd_release(&L);
	free(pfd);
	if (sigfd >= 0)
		close(sigfd);
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return rc;
}
