/*
 * The libssh2 session: TCP connect, handshake, host key check and
 * authentication, all non-blocking with poll() on the socket.
 */
#include "ssh_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gpuctl/log.h"

#define DEFAULT_TIMEOUT_MS 10000L

/*
 * libssh2 1.11.1: RSA logins signed with rsa-sha2-512/256 (1.10 signs
 * them with ssh-rsa, SHA-1), strict key exchange (CVE-2023-48795; libssh2
 * adds kex-strict-c-v00@openssh.com to KEX_PREFS by itself), AES-GCM and
 * encrypt-then-MAC.
 */
#define LIB_MODERN 0x010b01

/* Fast first: curve25519 and ed25519 as OpenSSH prefers them. */
#define KEX_PREFS                                                   \
	"curve25519-sha256,curve25519-sha256@libssh.org,"           \
	"ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," \
	"diffie-hellman-group14-sha256,diffie-hellman-group16-sha512"
#define HOSTKEY_PREFS                                          \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," \
	"ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa"
/*
 * AEAD first: AES-GCM runs on AES-NI through OpenSSL, one call per packet;
 * libssh2's ChaCha20-Poly1305 is its own portable C.  Then AES-CTR, with
 * an encrypt-then-MAC MAC first (MAC_PREFS).  Names this libssh2 lacks
 * are left out (set_pref).
 */
#define CIPHER_PREFS                                            \
	"aes256-gcm@openssh.com,chacha20-poly1305@openssh.com," \
	"aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr"
#define MAC_PREFS                                                      \
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com," \
	"hmac-sha2-256,hmac-sha2-512,hmac-sha1-etm@openssh.com,hmac-sha1"

const char *ssh_lib_version(void)
{
#ifdef GPUCTL_LIBSSH2_ORIGIN
	return LIBSSH2_VERSION ", static, from Debian " GPUCTL_LIBSSH2_ORIGIN;
#else
	const char *v = libssh2_version(0);

	return v ? v : "?";
#endif
}

int ssh_rsa_sha2_logins(void)
{
	return libssh2_version(LIB_MODERN) != NULL;
}

/*
 * LeakSanitizer (ASan builds only): libssh2 1.11's own leak of the two MAC
 * keys it derives for AES-GCM and never frees (its GCM stub MAC takes no
 * key and leaves *free_key unset; 96 bytes per key exchange).  The same
 * for valgrind is in tests/valgrind/gpuctl.supp.  The name is the
 * sanitizer's hooks.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SSH_LSAN_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SSH_LSAN_HOOK 1
#endif
#endif
#ifdef SSH_LSAN_HOOK
const char *__lsan_default_options(void);
const char *__lsan_default_suppressions(void);

/* No "Suppressions used" table on stderr, which the e2e tests read. */
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

const char *__lsan_default_suppressions(void)
{
	return "leak:curve25519_sha256\n"
	       "leak:ecdh_sha2_nistp\n"
	       "leak:diffie_hellman_sha_algo\n";
}
#endif

const char *const ssh_int_stage_names[] = {
    "connecting", "banner", "host key", "authenticating", "running true",
};

long long ssh_int_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ssh_int_quickack(int fd)
{
#ifdef TCP_QUICKACK
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
#else
	(void)fd;
#endif
}

int ssh_int_wait(struct ssh_session *ss, long long deadline_ms)
{
	struct pollfd pfd;
	int dir, r, timeout = -1;
	long long left;

	ssh_int_quickack(ss->sock);
	dir = libssh2_session_block_directions(ss->s);
	pfd.fd = ss->sock;
	pfd.events = 0;
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pfd.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	if (!pfd.events)
		pfd.events = POLLIN;
	pfd.revents = 0;
	for (;;) {
		if (deadline_ms >= 0) {
			left = deadline_ms - ssh_int_now_ms();
			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			timeout = left > 60000 ? 60000 : (int)left;
		}
		r = poll(&pfd, 1, timeout);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

const char *ssh_int_errmsg(struct ssh_session *ss)
{
	char *msg = NULL;

	if (!ss || !ss->s)
		return "";
	libssh2_session_last_error(ss->s, &msg, NULL, 0);
	return msg ? msg : "";
}

static int retryable_errno(int e)
{
	return e == ECONNREFUSED || e == ECONNRESET || e == ETIMEDOUT ||
	       e == EHOSTUNREACH || e == ENETUNREACH || e == ECONNABORTED ||
	       e == EHOSTDOWN || e == ENETDOWN;
}

/* One address: 0 connected, -1 failed with *e set. */
static int connect_one(const struct addrinfo *ai, long timeout_ms, int *fdp,
		       int *e)
{
	struct pollfd pfd;
	socklen_t len = sizeof(*e);
	int fd, r, one = 1, soerr = 0;
	long long deadline = ssh_int_now_ms() + timeout_ms, left;

	*fdp = -1;
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0) {
		*e = errno;
		return -1;
	}
	/* Before the handshake: its small packets must not wait (Nagle). */
	r = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (r < 0)
		goto fail;
	r = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (r < 0)
		goto fail;
	r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (r == 0)
		goto ok;
	if (errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		left = deadline - ssh_int_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			goto fail;
	}
	len = sizeof(soerr);
	r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (r < 0)
		goto fail;
	if (soerr) {
		errno = soerr;
		goto fail;
	}
ok:
	*fdp = fd;
	return 0;
fail:
	*e = errno;
	close(fd);
	return -1;
}

int ssh_int_tcp_connect(const char *host, int port, long timeout_ms,
			int *refused, struct gpuctl_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int r, fd = -1, e = 0;

	if (refused)
		*refused = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0) {
		err_set(err, GPUCTL_ERR_SSH, "cannot resolve '%.200s': %s",
			host, gai_strerror(r));
		if (refused)
			*refused = r == EAI_AGAIN;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		r = connect_one(ai, timeout_ms, &fd, &e);
		if (r == 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		err_set(err, GPUCTL_ERR_SSH,
			"cannot connect to %.200s port %d: %s", host, port,
			strerror(e));
		if (refused)
			*refused = retryable_errno(e);
	}
	return fd;
}

static long long net_deadline(const struct ssh_target *t, long long deadline)
{
	long to = t->connect_timeout_ms > 0 ? t->connect_timeout_ms
					    : DEFAULT_TIMEOUT_MS;
	long long d = ssh_int_now_ms() + to;

	if (deadline >= 0 && deadline < d)
		return deadline;
	return d;
}

static void set_stage(enum ssh_int_stage st, enum ssh_int_stage *reached,
		      void (*stage)(void *, const char *), void *ctx)
{
	*reached = st;
	if (stage)
		stage(ctx, ssh_int_stage_names[st]);
}

static int handshake(struct ssh_session *ss, long long deadline,
		     struct gpuctl_err *err)
{
	int r;

	while ((r = libssh2_session_handshake(ss->s, ss->sock)) ==
	       LIBSSH2_ERROR_EAGAIN) {
		if (ssh_int_wait(ss, deadline) < 0) {
			err_set(err, GPUCTL_ERR_SSH,
				"ssh handshake with %.200s port %d: %s",
				ss->host, ss->port,
				errno == ETIMEDOUT ? "timed out"
						   : strerror(errno));
			return -1;
		}
	}
	if (r) {
		err_set(err, GPUCTL_ERR_SSH,
			"ssh handshake with %.200s port %d failed: %.200s",
			ss->host, ss->port, ssh_int_errmsg(ss));
		return -1;
	}
	return 0;
}

/*
 * Sets a preference list, keeping only what this libssh2 supports and
 * each name once: libssh2 1.10 copies overlapping memory when it drops an
 * unsupported name itself.
 */
static int set_pref(struct ssh_session *ss, int method, const char *want)
{
	struct buf list = BUF_INIT;
	const char **algs = NULL;
	const char *p = want, *e;
	char *name, *needle;
	int n, i, r = 0, ok;

	n = libssh2_session_supported_algs(ss->s, method, &algs);
	if (n <= 0)
		return 0;
	while (*p) {
		e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		name = xstrndup(p, (size_t)(e - p));
		needle = xasprintf(",%s,", name);
		for (ok = 0, i = 0; i < n && !ok; i++)
			ok = !strcmp(algs[i], name);
		if (!list.len)
			buf_addch(&list, ',');
		if (ok && !strstr(list.data, needle))
			buf_addf(&list, "%s,", name);
		free(needle);
		free(name);
		p = *e ? e + 1 : e;
	}
	if (list.len > 2) {
		list.data[--list.len] = '\0'; /* ",a,b," → ",a,b" */
		r = libssh2_session_method_pref(ss->s, method, list.data + 1);
	}
	libssh2_free(ss->s, (void *)algs);
	buf_release(&list);
	return r;
}

/* Sets preferences: the known key types of this host first. */
static int set_prefs(struct ssh_session *ss, const struct ssh_target *t)
{
	char *known = NULL, *hk;
	int r;

	r = set_pref(ss, LIBSSH2_METHOD_KEX, KEX_PREFS);
	if (r == 0)
		r = set_pref(ss, LIBSSH2_METHOD_CRYPT_CS, CIPHER_PREFS);
	if (r == 0)
		r = set_pref(ss, LIBSSH2_METHOD_CRYPT_SC, CIPHER_PREFS);
	if (r == 0)
		r = set_pref(ss, LIBSSH2_METHOD_MAC_CS, MAC_PREFS);
	if (r == 0)
		r = set_pref(ss, LIBSSH2_METHOD_MAC_SC, MAC_PREFS);
	if (r)
		return r;
	if (t->known_hosts)
		known = ssh_int_known_types(t->known_hosts, ss->host, ss->port);
	if (known && *known)
		hk = xasprintf("%s,%s", known, HOSTKEY_PREFS);
	else
		hk = xstrdup(HOSTKEY_PREFS);
	r = set_pref(ss, LIBSSH2_METHOD_HOSTKEY, hk);
	free(hk);
	free(known);
	return r;
}

/* 1 authenticated, 0 refused, -1 error (err filled). */
static int auth_agent(struct ssh_session *ss, long long deadline, int *nkeys,
		      struct gpuctl_err *err)
{
	LIBSSH2_AGENT *agent = NULL;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	int r, rc = 0;

	*nkeys = 0;
	agent = libssh2_agent_init(ss->s);
	if (!agent)
		return 0;
	r = libssh2_agent_connect(agent);
	if (r) {
		log_debug("ssh: cannot connect to the agent");
		goto out;
	}
	r = libssh2_agent_list_identities(agent);
	if (r)
		goto out;
	for (;;) {
		r = libssh2_agent_get_identity(agent, &id, prev);
		if (r)
			break;
		prev = id;
		(*nkeys)++;
		while ((r = libssh2_agent_userauth(agent, ss->user, id)) ==
		       LIBSSH2_ERROR_EAGAIN) {
			if (ssh_int_wait(ss, deadline) < 0) {
				err_set(err, GPUCTL_ERR_SSH,
					"authentication with %.200s timed out",
					ss->host);
				rc = -1;
				goto out;
			}
		}
		if (r == 0) {
			rc = 1;
			goto out;
		}
		if (r != LIBSSH2_ERROR_AUTHENTICATION_FAILED &&
		    r != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED &&
		    r != LIBSSH2_ERROR_AGENT_PROTOCOL) {
			err_set(err, GPUCTL_ERR_SSH,
				"authentication with %.200s failed: %.200s",
				ss->host, ssh_int_errmsg(ss));
			rc = -1;
			goto out;
		}
	}
out:
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	return rc;
}

/* 1 authenticated, 0 refused, -1 error (err filled). */
static int auth_file(struct ssh_session *ss, const char *path,
		     long long deadline, struct gpuctl_err *err)
{
	struct stat st;
	int r;

	r = stat(path, &st);
	if (r < 0) {
		err_set(err, GPUCTL_ERR_IO,
			"cannot read identity file '%.200s': %s", path,
			strerror(errno));
		return -1;
	}
	if (st.st_mode & 077) {
		err_set(err, GPUCTL_ERR_SSH,
			"UNPROTECTED PRIVATE KEY FILE: permissions %04o for "
			"'%.200s' are too open; it is required that your "
			"private key files are NOT accessible by others",
			(unsigned)(st.st_mode & 07777), path);
		err_hint(err, "run: chmod 600 '%.200s'", path);
		return -1;
	}
	while ((r = libssh2_userauth_publickey_fromfile(ss->s, ss->user, NULL,
							path, NULL)) ==
	       LIBSSH2_ERROR_EAGAIN) {
		if (ssh_int_wait(ss, deadline) < 0) {
			err_set(err, GPUCTL_ERR_SSH,
				"authentication with %.200s timed out",
				ss->host);
			return -1;
		}
	}
	if (r == 0)
		return 1;
	if (r == LIBSSH2_ERROR_FILE) {
		err_set(err, GPUCTL_ERR_SSH,
			"cannot load private key '%.200s': %.200s "
			"(a passphrase-protected key needs the agent)",
			path, ssh_int_errmsg(ss));
		return -1;
	}
	if (r == LIBSSH2_ERROR_AUTHENTICATION_FAILED ||
	    r == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
		return 0;
	err_set(err, GPUCTL_ERR_SSH,
		"authentication with %.200s failed: %.200s", ss->host,
		ssh_int_errmsg(ss));
	return -1;
}

/*
 * 0 authenticated; -1 with err filled and *denied 1 when the server said
 * no, -1 when the network failed, 0 for a local problem (the key file).
 */
static int authenticate(struct ssh_session *ss, const struct ssh_target *t,
			long long deadline, int *denied, struct gpuctl_err *err)
{
	struct buf tried = BUF_INIT;
	char *methods = NULL, *list;
	const char *sock = getenv("SSH_AUTH_SOCK");
	int r, rc = -1, nkeys = 0;

	*denied = -1;
	while (!(list = libssh2_userauth_list(ss->s, ss->user,
					      (unsigned)strlen(ss->user)))) {
		if (libssh2_userauth_authenticated(ss->s)) {
			rc = 0;
			goto out;
		}
		if (libssh2_session_last_errno(ss->s) != LIBSSH2_ERROR_EAGAIN) {
			err_set(err, GPUCTL_ERR_SSH,
				"cannot start authentication with %.200s: "
				"%.200s",
				ss->host, ssh_int_errmsg(ss));
			goto out;
		}
		if (ssh_int_wait(ss, deadline) < 0) {
			err_set(err, GPUCTL_ERR_SSH,
				"authentication with %.200s timed out",
				ss->host);
			goto out;
		}
	}
	methods = xstrdup(list);
	*denied = 1;
	if (!strstr(methods, "publickey")) {
		err_set(err, GPUCTL_ERR_SSH,
			"%.100s@%.200s: the server does not accept public keys "
			"(it offers: %.200s)",
			ss->user, ss->host, methods);
		goto out;
	}
	if (t->use_agent && sock && *sock) {
		r = auth_agent(ss, deadline, &nkeys, err);
		if (r < 0) {
			*denied = -1;
			goto out;
		}
		if (r > 0) {
			rc = 0;
			goto out;
		}
		buf_addf(&tried, "agent (%d key%s)", nkeys,
			 nkeys == 1 ? "" : "s");
	}
	if (t->identity_file) {
		r = auth_file(ss, t->identity_file, deadline, err);
		if (r < 0) {
			*denied =
			    err->kind == GPUCTL_ERR_SSH &&
				    !starts_with(err->message, "UNPROTECTED") &&
				    !starts_with(err->message, "cannot load")
				? -1
				: 0;
			goto out;
		}
		if (r > 0) {
			rc = 0;
			goto out;
		}
		buf_addf(&tried, "%spublickey %.200s", tried.len ? ", " : "",
			 t->identity_file);
	}
	err_set(err, GPUCTL_ERR_SSH,
		"%.100s@%.200s: permission denied (publickey): tried %s; the "
		"server offers %.200s",
		ss->user, ss->host, tried.len ? tried.data : "no key", methods);
out:
	free(methods);
	buf_release(&tried);
	return rc;
}

struct ssh_session *ssh_int_connect(const struct ssh_target *t, long probe_ms,
				    long long deadline_ms,
				    void (*stage)(void *ctx, const char *what),
				    void *ctx, struct ssh_hostkey_info *info,
				    enum ssh_int_stage *reached,
				    enum ssh_int_retry *retry,
				    struct gpuctl_err *err)
{
	struct ssh_session *ss = NULL;
	long to = t->connect_timeout_ms > 0 ? t->connect_timeout_ms
					    : DEFAULT_TIMEOUT_MS;
	long long left;
	int r, fd, refused = 0, denied = 0;

	*retry = SSH_RETRY_NO;
	if (probe_ms > 0)
		to = probe_ms;

	if (info)
		memset(info, 0, sizeof(*info));
	if (!t->host || !t->user) {
		err_set(err, GPUCTL_ERR_SSH, "no host or user to connect to");
		return NULL;
	}
	set_stage(SSH_STAGE_CONNECT, reached, stage, ctx);
	if (deadline_ms >= 0) {
		left = deadline_ms - ssh_int_now_ms();
		if (left < to)
			to = left > 1 ? (long)left : 1;
	}
	fd = ssh_int_tcp_connect(t->host, t->port > 0 ? t->port : 22, to,
				 &refused, err);
	if (fd < 0) {
		*retry = SSH_RETRY_YES;
		return NULL;
	}
	ss = xcalloc(1, sizeof(*ss));
	ss->sock = fd;
	ss->host = xstrdup(t->host);
	ss->port = t->port > 0 ? t->port : 22;
	ss->user = xstrdup(t->user);
	r = libssh2_init(0);
	if (r) {
		err_set(err, GPUCTL_ERR_SSH, "cannot initialise libssh2");
		goto fail;
	}
	ss->libssh2_inited = 1;
	ss->s = libssh2_session_init();
	if (!ss->s) {
		err_set(err, GPUCTL_ERR_SSH, "cannot create an ssh session");
		goto fail;
	}
	libssh2_session_set_blocking(ss->s, 0);
	r = set_prefs(ss, t);
	if (r)
		log_debug("ssh: method preferences refused: %s",
			  ssh_int_errmsg(ss));

	set_stage(SSH_STAGE_BANNER, reached, stage, ctx);
	r = handshake(ss, net_deadline(t, deadline_ms), err);
	if (r < 0) {
		*retry = SSH_RETRY_YES;
		goto fail;
	}

	set_stage(SSH_STAGE_HOSTKEY, reached, stage, ctx);
	r = ssh_int_check_hostkey(ss, t, info, err);
	if (r < 0)
		goto fail;

	set_stage(SSH_STAGE_AUTH, reached, stage, ctx);
	r = authenticate(ss, t, net_deadline(t, deadline_ms), &denied, err);
	if (r < 0) {
		if (denied)
			*retry = denied > 0 ? SSH_RETRY_DENIED : SSH_RETRY_YES;
		goto fail;
	}
	return ss;
fail:
	ssh_close(ss);
	return NULL;
}

struct ssh_session *ssh_connect(const struct ssh_target *t,
				struct ssh_hostkey_info *info,
				struct gpuctl_err *err)
{
	enum ssh_int_stage reached;
	enum ssh_int_retry retry;

	return ssh_int_connect(t, 0, -1, NULL, NULL, info, &reached, &retry,
			       err);
}

void ssh_close(struct ssh_session *ss)
{
	long long deadline;
	int r;

	if (!ss)
		return;
	if (ss->s) {
		deadline = ssh_int_now_ms() + 1000;
		while ((r = libssh2_session_disconnect(ss->s, "bye")) ==
		       LIBSSH2_ERROR_EAGAIN) {
			if (ssh_int_wait(ss, deadline) < 0)
				break;
		}
		libssh2_session_free(ss->s);
	}
	if (ss->sock >= 0)
		close(ss->sock);
	if (ss->libssh2_inited)
		libssh2_exit();
	free(ss->host);
	free(ss->user);
	free(ss);
}
