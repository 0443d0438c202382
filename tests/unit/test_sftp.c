/*
 * Tests of ssh_upload() and ssh_download() against a real OpenSSH sshd
 * that the tests start on 127.0.0.1 (a free port) as the current user,
 * with internal-sftp starting in a temporary "home" folder.  The session
 * is made here with libssh2 directly, so these tests depend only on
 * src/ssh/sftp.c.  Skipped when /usr/sbin/sshd or ssh-keygen is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../../src/ssh/ssh_int.h"
#include "gpuctl/err.h"
#include "gpuctl/log.h"
#include "gpuctl/ssh.h"
#include "gpuctl/util.h"

#define SSHD "/usr/sbin/sshd"
/* the server refuses to write files past this size (see fail tests) */
#define SERVER_FSIZE (60ll << 20)

static char *tmp;  /* everything lives under here */
static char *home; /* the server's starting folder ("remote") */
static char *loc;  /* local side */
static char *key;  /* client private key */
static int port;
static pid_t sshd_pid = -1;
static struct ssh_session *sess;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static char *path_of(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static int run(const char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (!pid) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
	struct buf b = BUF_INIT;

	if (read_file(path, &b))
		return NULL;
	return buf_detach(&b, NULL);
}

static void write_random(const char *path, size_t size)
{
	unsigned char *p = xmalloc(1 << 20);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t n;

	assert_true(fd >= 0);
	while (size) {
		n = size < (1u << 20) ? size : (1u << 20);
		assert_int_equal(RAND_bytes(p, (int)n), 1);
		assert_int_equal(write(fd, p, n), (ssize_t)n);
		size -= n;
	}
	close(fd);
	free(p);
}

static void sha256_file(const char *path, unsigned char out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	char *p = xmalloc(1 << 20);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	for (;;) {
		n = read(fd, p, 1 << 20);
		assert_true(n >= 0);
		if (!n)
			break;
		EVP_DigestUpdate(c, p, (size_t)n);
	}
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
	close(fd);
	free(p);
}

static void assert_same_file(const char *a, const char *b)
{
	unsigned char ha[32], hb[32];

	sha256_file(a, ha);
	sha256_file(b, hb);
	if (memcmp(ha, hb, 32))
		fail_msg("%s and %s differ", a, b);
}

static void rm_rf(const char *path)
{
	const char *argv[] = {"/bin/rm", "-rf", path, NULL};

	/* folders made read-only by a test */
	const char *chm[] = {"/bin/chmod", "-R", "u+rwx", path, NULL};

	run(chm);
	run(argv);
}

/* 1 when some name under dir (recursively) contains ".gpuctl-". */
static int has_temp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while (!found) {
		de = readdir(d);
		if (!de)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strstr(de->d_name, ".gpuctl-")) {
			found = 1;
		} else if (de->d_type == DT_DIR) {
			char *p = path_of(dir, de->d_name);

			found = has_temp(p);
			free(p);
		}
	}
	closedir(d);
	return found;
}

/*
 * Checks that the tree copy matches the tree src: same folders and files
 * with the same bytes; a link to a file in src is a file in copy; links
 * to folders and dangling links are not copied.
 */
static void assert_same_tree(const char *src, const char *copy)
{
	DIR *d = opendir(src);
	struct dirent *de;
	struct stat ls, ss, cs;
	int nsrc = 0, ncopy = 0;

	assert_non_null(d);
	for (;;) {
		char *sp, *cp;

		de = readdir(d);
		if (!de)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sp = path_of(src, de->d_name);
		cp = path_of(copy, de->d_name);
		assert_int_equal(lstat(sp, &ls), 0);
		if (S_ISLNK(ls.st_mode) &&
		    (stat(sp, &ss) || !S_ISREG(ss.st_mode))) {
			if (!lstat(cp, &cs))
				fail_msg("%s should not have been copied", sp);
		} else {
			nsrc++;
			if (lstat(cp, &cs))
				fail_msg("%s is missing", cp);
			if (S_ISDIR(ls.st_mode)) {
				assert_true(S_ISDIR(cs.st_mode));
				assert_same_tree(sp, cp);
			} else {
				assert_true(S_ISREG(cs.st_mode));
				assert_same_file(sp, cp);
			}
		}
		free(sp);
		free(cp);
	}
	closedir(d);
	d = opendir(copy);
	assert_non_null(d);
	for (;;) {
		de = readdir(d);
		if (!de)
			break;
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ncopy++;
	}
	closedir(d);
	assert_int_equal(nsrc, ncopy);
}

/* ------------------------------------------------------------------ */
/* The server and the session                                          */

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), p;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(s, (struct sockaddr *)&a, &len))
		return -1;
	p = ntohs(a.sin_port);
	close(s);
	return p;
}

static int tcp_connect(void)
{
	struct sockaddr_in a;
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&a, sizeof(a))) {
		close(s);
		return -1;
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

/* Just enough of ssh_connect() for these tests. */
static struct ssh_session *test_connect(void)
{
	struct ssh_session *s = xcalloc(1, sizeof(*s));
	int i;

	for (i = 0; i < 100; i++) {
		s->sock = tcp_connect();
		if (s->sock >= 0)
			break;
		usleep(20000);
	}
	if (s->sock < 0)
		goto fail;
	s->s = libssh2_session_init();
	if (!s->s || libssh2_session_handshake(s->s, s->sock))
		goto fail;
	if (libssh2_userauth_publickey_fromfile(s->s, "root", NULL, key, ""))
		goto fail;
	return s;
fail:
	if (s->s)
		libssh2_session_free(s->s);
	if (s->sock >= 0)
		close(s->sock);
	free(s);
	return NULL;
}

static void test_disconnect(struct ssh_session *s)
{
	if (!s)
		return;
	libssh2_session_set_blocking(s->s, 1);
	libssh2_session_disconnect(s->s, "bye");
	libssh2_session_free(s->s);
	close(s->sock);
	free(s);
}

static int start_sshd(void)
{
	char *cfg = path_of(tmp, "sshd_config");
	char *hostkey = path_of(tmp, "hostkey");
	char *text;
	struct rlimit rl;
	const char *kg1[] = {"/usr/bin/ssh-keygen",
			     "-q",
			     "-t",
			     "ed25519",
			     "-N",
			     "",
			     "-f",
			     hostkey,
			     NULL};
	const char *kg2[] = {"/usr/bin/ssh-keygen",
			     "-q",
			     "-t",
			     "ed25519",
			     "-N",
			     "",
			     "-f",
			     key,
			     NULL};

	if (run(kg1) || run(kg2))
		return -1;
	port = free_port();
	text = xasprintf("ListenAddress 127.0.0.1:%d\n"
			 "HostKey %s\n"
			 "PidFile %s/sshd.pid\n"
			 "AuthorizedKeysFile %s.pub\n"
			 "StrictModes no\n"
			 "UsePAM no\n"
			 "PermitRootLogin prohibit-password\n"
			 "PasswordAuthentication no\n"
			 "KbdInteractiveAuthentication no\n"
			 "UseDNS no\n"
			 "LogLevel ERROR\n"
			 "Subsystem sftp internal-sftp -u 022 -d %s\n",
			 port, hostkey, tmp, key, home);
	write_text(cfg, text);
	free(text);
	mkdir("/run/sshd", 0755);
	sshd_pid = fork();
	if (sshd_pid < 0)
		return -1;
	if (!sshd_pid) {
		/* a full disk, as far as files over SERVER_FSIZE go */
		rl.rlim_cur = rl.rlim_max = SERVER_FSIZE;
		setrlimit(RLIMIT_FSIZE, &rl);
		signal(SIGXFSZ, SIG_IGN);
		execl(SSHD, SSHD, "-D", "-e", "-f", cfg, (char *)NULL);
		_exit(127);
	}
	free(cfg);
	free(hostkey);
	return 0;
}

static int group_setup(void **state)
{
	char t[] = "/tmp/gpuctl-sftp-XXXXXX";

	(void)state;
	if (access(SSHD, X_OK) || access("/usr/bin/ssh-keygen", X_OK)) {
		/* a missing peer fails the run: nothing is skipped silently */
		fprintf(stderr,
			"test_sftp: %s or ssh-keygen is missing "
			"(scripts/install-deps.sh installs "
			"openssh-server)\n",
			SSHD);
		return -1;
	}
	libssh2_init(0);
	/* the links skipped on purpose are warned about */
	log_set_level(LOG_ERROR);
	umask(022);
	if (!mkdtemp(t))
		return -1;
	tmp = xstrdup(t);
	home = path_of(tmp, "remote");
	loc = path_of(tmp, "local");
	key = path_of(tmp, "client_key");
	mkdir(home, 0755);
	mkdir(loc, 0755);
	if (start_sshd())
		return -1;
	sess = test_connect();
	return sess ? 0 : -1;
}

static int group_teardown(void **state)
{
	int st;

	(void)state;
	test_disconnect(sess);
	if (sshd_pid > 0) {
		kill(sshd_pid, SIGTERM);
		waitpid(sshd_pid, &st, 0);
	}
	if (tmp)
		rm_rf(tmp);
	free(tmp);
	free(home);
	free(loc);
	free(key);
	libssh2_exit();
	return 0;
}

/* Each test starts with empty local and remote folders. */
static int setup(void **state)
{
	(void)state;
	rm_rf(home);
	rm_rf(loc);
	mkdir(home, 0755);
	mkdir(loc, 0755);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct prog {
	unsigned long long done, total;
	int calls;
};

static void on_progress(void *ctx, const char *name, unsigned long long done,
			unsigned long long total)
{
	struct prog *p = ctx;

	(void)name;
	assert_true(done >= p->done || done == 0);
	p->done = done;
	p->total = total;
	p->calls++;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void test_big_file_both_ways(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct ssh_copy_opts o = {0, 0, on_progress, NULL};
	struct prog pr = {0, 0, 0};
	char *src = path_of(loc, "big.bin");
	char *up = path_of(home, "big.bin");
	char *down = path_of(loc, "big.down");
	const char *srcs[] = {src};
	const char *rsrcs[] = {"big.bin"};
	size_t size = getenv("GPUCTL_SFTP_BIG_MB")
			  ? (size_t)atoi(getenv("GPUCTL_SFTP_BIG_MB")) << 20
			  : 50u << 20;
	double t;

	(void)state;
	o.progress_ctx = &pr;
	write_random(src, size);
	t = now();
	assert_int_equal(ssh_upload(sess, srcs, 1, "big.bin", &o, &e), 0);
	t = now() - t;
	print_message("upload %zu MB: %.2f s, %.0f MB/s\n", size >> 20, t,
		      size / t / 1e6);
	assert_same_file(src, up);
	assert_int_equal(pr.done, size);
	assert_int_equal(pr.total, size);
	t = now();
	assert_int_equal(ssh_download(sess, rsrcs, 1, down, &o, &e), 0);
	t = now() - t;
	print_message("download %zu MB: %.2f s, %.0f MB/s\n", size >> 20, t,
		      size / t / 1e6);
	assert_same_file(src, down);
	assert_int_equal(pr.done, size);
	assert_false(has_temp(loc));
	assert_false(has_temp(home));
	free(src);
	free(up);
	free(down);
}

/* A tree with nested and empty folders, odd names and links. */
static void make_tree(const char *root)
{
	char *p;

	assert_int_equal(mkdir(root, 0755), 0);
	p = path_of(root, "sub dir");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = path_of(root, "sub dir/deeper");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = path_of(root, "sub dir/deeper/empty");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = path_of(root, "empty");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = path_of(root, "sub dir/\xc3\xa9t\xc3\xa9 \xe2\x9c\x93.txt");
	write_text(p, "utf-8\n");
	free(p);
	p = path_of(root, "new\nline");
	write_text(p, "newline in the name\n");
	free(p);
	p = path_of(root, "sub dir/deeper/zero");
	write_text(p, "");
	free(p);
	p = path_of(root, "mid.bin");
	write_random(p, 3u << 20);
	free(p);
	p = path_of(root, "link to mid");
	assert_int_equal(symlink("mid.bin", p), 0);
	free(p);
	p = path_of(root, "dangling");
	assert_int_equal(symlink("no such target", p), 0);
	free(p);
	p = path_of(root, "link to folder");
	assert_int_equal(symlink("sub dir", p), 0);
	free(p);
}

static void test_tree_both_ways(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct ssh_copy_opts o = {1, 0, NULL, NULL};
	char *src = path_of(loc, "tree");
	char *up = path_of(home, "tree");
	char *back = path_of(loc, "back");
	char *into = path_of(loc, "into");
	char *into_tree = path_of(into, "tree");
	const char *srcs[] = {src};
	const char *rsrcs[] = {"tree"};

	(void)state;
	make_tree(src);
	/* to a new remote path: created as that folder, as scp -r does */
	assert_int_equal(ssh_upload(sess, srcs, 1, "tree", &o, &e), 0);
	assert_same_tree(src, up);
	/* to a new local path, then into an existing folder */
	assert_int_equal(ssh_download(sess, rsrcs, 1, back, &o, &e), 0);
	assert_same_tree(src, back);
	assert_int_equal(mkdir(into, 0755), 0);
	assert_int_equal(ssh_download(sess, rsrcs, 1, into, &o, &e), 0);
	assert_same_tree(src, into_tree);
	/* again over the existing copy: replaced, same result */
	assert_int_equal(ssh_upload(sess, srcs, 1, "~/", &o, &e), 0);
	assert_same_tree(src, up);
	assert_false(has_temp(loc));
	assert_false(has_temp(home));
	err_clear(&e);
	free(src);
	free(up);
	free(back);
	free(into);
	free(into_tree);
}

static void set_times(const char *path, time_t t)
{
	struct timespec ts[2] = {{t - 100, 0}, {t, 0}};

	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_preserve(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct ssh_copy_opts o = {1, 1, NULL, NULL};
	char *d = path_of(loc, "p");
	char *f = path_of(loc, "p/f.txt");
	char *rd = path_of(home, "p");
	char *rf = path_of(home, "p/f.txt");
	char *bd = path_of(loc, "b");
	char *bf = path_of(loc, "b/f.txt");
	const char *srcs[] = {d};
	const char *rsrcs[] = {"p"};
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(d, 0755), 0);
	write_text(f, "keep my mode\n");
	assert_int_equal(chmod(f, 0604), 0);
	set_times(f, 1000000000);
	assert_int_equal(chmod(d, 0751), 0);
	set_times(d, 1100000000);
	assert_int_equal(ssh_upload(sess, srcs, 1, "p", &o, &e), 0);
	assert_int_equal(stat(rf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	assert_int_equal(st.st_mtime, 1000000000);
	assert_int_equal(st.st_atime, 1000000000 - 100);
	assert_int_equal(stat(rd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
	assert_int_equal(st.st_mtime, 1100000000);
	assert_int_equal(ssh_download(sess, rsrcs, 1, bd, &o, &e), 0);
	assert_int_equal(stat(bf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	assert_int_equal(st.st_mtime, 1000000000);
	assert_int_equal(stat(bd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
	assert_int_equal(st.st_mtime, 1100000000);
	free(d);
	free(f);
	free(rd);
	free(rf);
	free(bd);
	free(bf);
}

static void test_modes_follow_umask(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct ssh_copy_opts o = {1, 0, NULL, NULL};
	char *d = path_of(loc, "m");
	char *f = path_of(loc, "m/f.sh");
	char *rf = path_of(home, "m/f.sh");
	char *rd = path_of(home, "m");
	char *bf = path_of(loc, "b/f.sh");
	char *bd = path_of(loc, "b");
	const char *srcs[] = {d};
	const char *rsrcs[] = {"m"};
	struct stat st;
	mode_t old;

	(void)state;
	assert_int_equal(mkdir(d, 0777), 0);
	assert_int_equal(chmod(d, 0777), 0);
	write_text(f, "#!/bin/sh\n");
	assert_int_equal(chmod(f, 04777), 0);
	set_times(f, 1000000000);
	assert_int_equal(ssh_upload(sess, srcs, 1, "m", &o, &e), 0);
	/* the server's umask is 022; never setuid without -p */
	assert_int_equal(stat(rf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_true(st.st_mtime > 1000000000);
	assert_int_equal(stat(rd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	old = umask(027);
	assert_int_equal(ssh_download(sess, rsrcs, 1, bd, &o, &e), 0);
	umask(old);
	assert_int_equal(stat(bf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(stat(bd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	free(d);
	free(f);
	free(rf);
	free(rd);
	free(bf);
	free(bd);
}

/*
 * A transfer that fails half-way (the server's file size limit stands for
 * a full disk) leaves the old file as it was and no temporary behind.
 */
static void test_failure_keeps_old_file(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct ssh_copy_opts o = {0, 0, NULL, NULL};
	char *src = path_of(loc, "huge.bin");
	char *old_remote = path_of(home, "keep.bin");
	char *old_local = path_of(loc, "keep.bin");
	const char *srcs[] = {src};
	const char *rsrcs[] = {"huge.bin"};
	struct rlimit rl, saved;
	char *text;
	int fd, r;

	(void)state;
	fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SERVER_FSIZE + (4 << 20)), 0);
	close(fd);
	write_text(old_remote, "good\n");
	assert_int_equal(ssh_upload(sess, srcs, 1, "keep.bin", &o, &e), -1);
	assert_int_equal(e.kind, GPUCTL_ERR_SSH);
	assert_non_null(strstr(e.message, "keep.bin"));
	assert_non_null(strstr(e.message, "failure"));
	text = read_text(old_remote);
	assert_string_equal(text, "good\n");
	free(text);
	assert_false(has_temp(home));

	/* the same locally: a file size limit here */
	write_random(old_remote, 0);
	{
		char *big = path_of(home, "huge.bin");

		write_random(big, 3u << 20);
		free(big);
	}
	write_text(old_local, "good\n");
	getrlimit(RLIMIT_FSIZE, &saved);
	rl = saved;
	rl.rlim_cur = 1 << 20;
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &rl);
	r = ssh_download(sess, rsrcs, 1, old_local, &o, &e);
	setrlimit(RLIMIT_FSIZE, &saved);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(r, -1);
	assert_int_equal(e.kind, GPUCTL_ERR_IO);
	assert_non_null(strstr(e.message, "keep.bin"));
	text = read_text(old_local);
	assert_string_equal(text, "good\n");
	free(text);
	assert_false(has_temp(loc));

	/* the session still works afterwards */
	assert_int_equal(ssh_download(sess, rsrcs, 1, old_local, &o, &e), 0);
	err_clear(&e);
	free(src);
	free(old_remote);
	free(old_local);
}

/*
 * Remote names and links that try to get out of the destination: nothing
 * is written outside it.
 */
static void test_hostile_remote(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct ssh_copy_opts o = {1, 0, NULL, NULL};
	char *h = path_of(home, "h");
	char *outside = path_of(tmp, "outside");
	char *dest = path_of(loc, "dest");
	const char *rsrcs[] = {"h"};
	struct stat st;
	char *p, *text;

	(void)state;
	assert_int_equal(mkdir(h, 0755), 0);
	assert_int_equal(mkdir(outside, 0755), 0);
	p = path_of(h, "evil\nname");
	write_text(p, "x\n");
	free(p);
	p = path_of(h, "etc");
	assert_int_equal(symlink("/etc", p), 0);
	free(p);
	p = path_of(h, "up");
	assert_int_equal(symlink("../../outside", p), 0);
	free(p);
	p = path_of(h, "up2");
	assert_int_equal(symlink("../../../outside/new", p), 0);
	free(p);
	p = path_of(h, "hostname");
	assert_int_equal(symlink("/etc/hostname", p), 0);
	free(p);
	p = path_of(h, "sub");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = path_of(h, "sub/in-sub");
	write_text(p, "sub\n");
	free(p);
	/* a local link in the destination where the folder "sub" goes */
	assert_int_equal(mkdir(dest, 0755), 0);
	p = path_of(dest, "h");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = path_of(dest, "h/sub");
	assert_int_equal(symlink(outside, p), 0);
	free(p);

	assert_int_equal(ssh_download(sess, rsrcs, 1, dest, &o, &e), -1);
	assert_non_null(strstr(e.message, "sub"));
	/* nothing in outside, nothing through the links */
	p = path_of(outside, "in-sub");
	assert_int_not_equal(lstat(p, &st), 0);
	free(p);
	p = path_of(outside, "new");
	assert_int_not_equal(lstat(p, &st), 0);
	free(p);
	p = path_of(dest, "h/"
			  "evil\nname");
	text = read_text(p);
	assert_string_equal(text, "x\n");
	free(text);
	free(p);
	p = path_of(dest, "h/"
			  "etc");
	assert_int_not_equal(lstat(p, &st), 0);
	free(p);
	p = path_of(dest, "h/"
			  "up");
	assert_int_not_equal(lstat(p, &st), 0);
	free(p);
	/* a link to a file is copied as a plain file with the content */
	p = path_of(dest, "h/"
			  "hostname");
	if (!access("/etc/hostname", R_OK)) {
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISREG(st.st_mode));
	}
	free(p);
	p = path_of(dest, "h/"
			  "sub");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	free(p);
	assert_false(has_temp(loc));
	err_clear(&e);
	free(h);
	free(outside);
	free(dest);
}

static void test_folder_needs_r(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct ssh_copy_opts o = {0, 0, NULL, NULL};
	char *d = path_of(loc, "a folder");
	char *rd = path_of(home, "rfolder");
	const char *srcs[] = {d};
	const char *rsrcs[] = {"rfolder"};

	(void)state;
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(mkdir(rd, 0755), 0);
	assert_int_equal(ssh_upload(sess, srcs, 1, ".", &o, &e), -1);
	assert_int_equal(e.kind, GPUCTL_ERR_USAGE);
	assert_non_null(strstr(e.message, "a folder"));
	assert_non_null(strstr(e.message, "-r"));
	assert_int_equal(ssh_download(sess, rsrcs, 1, loc, &o, &e), -1);
	assert_int_equal(e.kind, GPUCTL_ERR_USAGE);
	assert_non_null(strstr(e.message, "rfolder"));
	assert_non_null(strstr(e.message, "-r"));
	err_clear(&e);
	free(d);
	free(rd);
}

static void test_multiple_sources(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct ssh_copy_opts o = {0, 0, NULL, NULL};
	char *a = path_of(loc, "a.txt"), *b = path_of(loc, "b c.txt");
	char *rdir = path_of(home, "r");
	char *ra = path_of(home, "r/a.txt"), *rb = path_of(home, "r/b c.txt");
	char *ldir = path_of(loc, "l");
	char *la = path_of(loc, "l/a.txt"), *lb = path_of(loc, "l/b c.txt");
	const char *srcs[] = {a, b};
	const char *rsrcs[] = {"r/a.txt", "~/r/b c.txt"};

	(void)state;
	write_text(a, "a\n");
	write_text(b, "b\n");
	/* several sources need an existing folder */
	assert_int_equal(ssh_upload(sess, srcs, 2, "r", &o, &e), -1);
	assert_non_null(strstr(e.message, "not a folder")
			    ? e.message
			    : strstr(e.message, "no such"));
	assert_int_equal(mkdir(rdir, 0755), 0);
	assert_int_equal(ssh_upload(sess, srcs, 2, "~/r", &o, &e), 0);
	assert_same_file(a, ra);
	assert_same_file(b, rb);
	assert_int_equal(ssh_download(sess, rsrcs, 2, ldir, &o, &e), -1);
	assert_int_equal(mkdir(ldir, 0755), 0);
	assert_int_equal(ssh_download(sess, rsrcs, 2, ldir, &o, &e), 0);
	assert_same_file(a, la);
	assert_same_file(b, lb);
	err_clear(&e);
	free(a);
	free(b);
	free(rdir);
	free(ra);
	free(rb);
	free(ldir);
	free(la);
	free(lb);
}

/* As scp: a missing source is reported, the others are still copied. */
static void test_missing_source(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct ssh_copy_opts o = {0, 0, NULL, NULL};
	char *a = path_of(loc, "a.txt"), *missing = path_of(loc, "nope");
	char *ra = path_of(home, "a.txt"), *la = path_of(loc, "got/a.txt");
	char *got = path_of(loc, "got");
	const char *srcs[] = {missing, a};
	const char *rsrcs[] = {"nope", "a.txt"};

	(void)state;
	write_text(a, "a\n");
	assert_int_equal(ssh_upload(sess, srcs, 2, ".", &o, &e), -1);
	assert_int_equal(e.kind, GPUCTL_ERR_IO);
	assert_non_null(strstr(e.message, "nope"));
	assert_non_null(strstr(e.message, "No such file"));
	assert_same_file(a, ra);
	assert_int_equal(mkdir(got, 0755), 0);
	assert_int_equal(ssh_download(sess, rsrcs, 2, got, &o, &e), -1);
	assert_int_equal(e.kind, GPUCTL_ERR_SSH);
	assert_non_null(strstr(e.message, "'nope': no such file"));
	assert_same_file(a, la);
	err_clear(&e);
	free(a);
	free(missing);
	free(ra);
	free(la);
	free(got);
}

/* Many small files: timed, and compared with the source. */
static void test_many_small_files(void **state)
{
	struct gpuctl_err e = GPUCTL_ERR_INIT;
	struct ssh_copy_opts o = {1, 0, NULL, NULL};
	char *src = path_of(loc, "small");
	char *up = path_of(home, "small");
	char *back = path_of(loc, "back");
	const char *srcs[] = {src};
	const char *rsrcs[] = {"small"};
	int i, n = getenv("GPUCTL_SFTP_SMALL")
		       ? atoi(getenv("GPUCTL_SFTP_SMALL"))
		       : 500;
	double t;

	(void)state;
	assert_int_equal(mkdir(src, 0755), 0);
	for (i = 0; i < n; i++) {
		char *p = xasprintf("%s/f%05d", src, i);

		write_random(p, 4096);
		free(p);
	}
	t = now();
	assert_int_equal(ssh_upload(sess, srcs, 1, "small", &o, &e), 0);
	print_message("upload %d x 4 KiB: %.2f s\n", n, now() - t);
	t = now();
	assert_int_equal(ssh_download(sess, rsrcs, 1, back, &o, &e), 0);
	print_message("download %d x 4 KiB: %.2f s\n", n, now() - t);
	assert_same_tree(src, up);
	assert_same_tree(src, back);
	free(src);
	free(up);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_big_file_both_ways, setup),
	    cmocka_unit_test_setup(test_tree_both_ways, setup),
	    cmocka_unit_test_setup(test_preserve, setup),
	    cmocka_unit_test_setup(test_modes_follow_umask, setup),
	    cmocka_unit_test_setup(test_failure_keeps_old_file, setup),
	    cmocka_unit_test_setup(test_hostile_remote, setup),
	    cmocka_unit_test_setup(test_folder_needs_r, setup),
	    cmocka_unit_test_setup(test_multiple_sources, setup),
	    cmocka_unit_test_setup(test_missing_source, setup),
	    cmocka_unit_test_setup(test_many_small_files, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
