/*
 * Tests for src/ssh: known_hosts, console fingerprints, forward specs,
 * signal names, and a live OpenSSH sshd on 127.0.0.1 (started here on a
 * free port, keys generated with ssh-keygen in a mkdtemp() directory,
 * killed in teardown).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gpuctl/err.h"
#include "gpuctl/log.h"
#include "gpuctl/ssh.h"
#include "gpuctl/util.h"

#define SSHD "/usr/sbin/sshd"

static char *tmp_dir;

/* ---- helpers ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_argv(char *const argv[])
{
	pid_t pid;
	int st = 0, fd;

	pid = fork();
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

static char *slurp(const char *path)
{
	struct buf b = BUF_INIT;

	if (read_file(path, &b) < 0)
		return NULL;
	return buf_detach(&b, NULL);
}

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int tcp_connect(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A fake ed25519 key blob whose 32 key bytes are all b. */
static size_t fake_blob(unsigned char *out, unsigned char b)
{
	static const char t[] = "ssh-ed25519";

	memset(out, 0, 51);
	out[3] = 11;
	memcpy(out + 4, t, 11);
	out[18] = 32;
	memset(out + 19, b, 32);
	return 51;
}

static char *blob_b64(const unsigned char *blob, size_t n)
{
	char *s = xmalloc(n * 2 + 4);

	EVP_EncodeBlock((unsigned char *)s, blob, (int)n);
	return s;
}

/* ---- known_hosts ---- */

static void test_known_hosts_new_add_match(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	unsigned char a[64];
	size_t n = fake_blob(a, 1);
	char *dir = xasprintf("%s/kh1/sub", tmp_dir);
	char *file = xasprintf("%s/known_hosts", dir);
	char *text, *b64 = blob_b64(a, n), *want;
	struct stat st;
	int line = -1;

	(void)state;
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.0.0.1", 22, a, n, &line, &err),
	    SSH_KNOWN_NEW);
	assert_int_equal(
	    ssh_known_hosts_add(file, "10.0.0.1", 22, a, n, 0, &err), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	text = slurp(file);
	want = xasprintf("10.0.0.1 ssh-ed25519 %s\n", b64);
	assert_string_equal(text, want);
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.0.0.1", 22, a, n, &line, &err),
	    SSH_KNOWN_MATCH);
	assert_int_equal(line, 1);
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.0.0.2", 22, a, n, &line, &err),
	    SSH_KNOWN_NEW);
	free(text);
	free(want);
	free(b64);
	free(file);
	free(dir);
}

static void test_known_hosts_port(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	unsigned char a[64];
	size_t n = fake_blob(a, 2);
	char *file = xasprintf("%s/kh_port", tmp_dir);
	char *text;
	int line;

	(void)state;
	assert_int_equal(
	    ssh_known_hosts_add(file, "h.example", 2222, a, n, 0, &err), 0);
	text = slurp(file);
	assert_true(starts_with(text, "[h.example]:2222 ssh-ed25519 "));
	assert_int_equal(
	    ssh_known_hosts_check(file, "h.example", 22, a, n, &line, &err),
	    SSH_KNOWN_NEW);
	assert_int_equal(
	    ssh_known_hosts_check(file, "h.example", 2222, a, n, &line, &err),
	    SSH_KNOWN_MATCH);
	assert_int_equal(
	    ssh_known_hosts_check(file, "h.example", 2223, a, n, &line, &err),
	    SSH_KNOWN_NEW);
	free(text);
	free(file);
}

static void test_known_hosts_changed_and_replace(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	unsigned char a[64], b[64], c[64];
	size_t n = fake_blob(a, 3);
	char *file = xasprintf("%s/kh_changed", tmp_dir);
	char *ba, *bb, *bc, *text, *want;
	int line = 0;

	(void)state;
	fake_blob(b, 4);
	fake_blob(c, 5);
	ba = blob_b64(a, n);
	bb = blob_b64(b, n);
	bc = blob_b64(c, n);
	text = xasprintf("# gpuctl hosts\n"
			 "\n"
			 "other.host ssh-ed25519 %s\n"
			 "garbage\n"
			 "|1|notbase64|x ssh-ed25519 AAAA\n"
			 "@cert-authority * ssh-ed25519 %s\n"
			 "10.1.1.1,10.9.9.9 ssh-ed25519 %s\r\n"
			 "   \t  \n",
			 bc, ba, ba);
	write_text(file, text, 0600);
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.1.1.1", 22, a, n, &line, &err),
	    SSH_KNOWN_MATCH);
	assert_int_equal(line, 7);
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.9.9.9", 22, b, n, &line, &err),
	    SSH_KNOWN_CHANGED);
	assert_int_equal(line, 7);
	/* A new host whose key is known for another host is still new. */
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.2.2.2", 22, c, n, &line, &err),
	    SSH_KNOWN_NEW);
	assert_int_equal(
	    ssh_known_hosts_add(file, "10.1.1.1", 22, b, n, 7, &err), 0);
	free(text);
	text = slurp(file);
	want = xasprintf("# gpuctl hosts\n"
			 "\n"
			 "other.host ssh-ed25519 %s\n"
			 "garbage\n"
			 "|1|notbase64|x ssh-ed25519 AAAA\n"
			 "@cert-authority * ssh-ed25519 %s\n"
			 "10.1.1.1 ssh-ed25519 %s\n"
			 "   \t  \n",
			 bc, ba, bb);
	assert_string_equal(text, want);
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.1.1.1", 22, b, n, &line, &err),
	    SSH_KNOWN_MATCH);
	free(text);
	free(want);
	free(ba);
	free(bb);
	free(bc);
	free(file);
}

static void test_known_hosts_hashed_and_markers(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	unsigned char a[64], b[64], salt[20], mac[20];
	unsigned int maclen = 0;
	size_t n = fake_blob(a, 6);
	char *file = xasprintf("%s/kh_hashed", tmp_dir);
	char s64[40], h64[40], *ba, *bb, *text;
	const char *name = "[10.3.3.3]:2200";
	int line = 0;

	(void)state;
	fake_blob(b, 7);
	memset(salt, 0x5a, sizeof(salt));
	HMAC(EVP_sha1(), salt, 20, (const unsigned char *)name, strlen(name),
	     mac, &maclen);
	EVP_EncodeBlock((unsigned char *)s64, salt, 20);
	EVP_EncodeBlock((unsigned char *)h64, mac, 20);
	ba = blob_b64(a, n);
	bb = blob_b64(b, n);
	text = xasprintf("|1|%s|%s ssh-ed25519 %s\n"
			 "@revoked 10.4.4.4 ssh-ed25519 %s\n"
			 "10.4.4.4 ssh-ed25519 %s\n"
			 "10.5.5.* ssh-ed25519 %s\n"
			 "!10.5.5.9,10.5.5.* ssh-ed25519 %s\n",
			 s64, h64, ba, bb, bb, ba, bb);
	write_text(file, text, 0600);
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.3.3.3", 2200, a, n, &line, &err),
	    SSH_KNOWN_MATCH);
	assert_int_equal(line, 1);
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.3.3.3", 2200, b, n, &line, &err),
	    SSH_KNOWN_CHANGED);
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.3.3.3", 22, a, n, &line, &err),
	    SSH_KNOWN_NEW);
	/* @revoked wins over a plain entry with the same key. */
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.4.4.4", 22, b, n, &line, &err),
	    SSH_KNOWN_CHANGED);
	assert_int_equal(line, 2);
	/* Wildcards and negation. */
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.5.5.1", 22, b, n, &line, &err),
	    SSH_KNOWN_MATCH);
	assert_int_equal(line, 5);
	assert_int_equal(
	    ssh_known_hosts_check(file, "10.5.5.9", 22, b, n, &line, &err),
	    SSH_KNOWN_CHANGED);
	assert_int_equal(line, 4);
	free(text);
	free(ba);
	free(bb);
	free(file);
}

static void test_known_hosts_corrupt(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	unsigned char a[64];
	size_t n = fake_blob(a, 8), i;
	char *file = xasprintf("%s/kh_corrupt", tmp_dir);
	struct buf b = BUF_INIT;
	int line = 0;

	(void)state;
	buf_adds(&b, "@\n@revoked\n@revoked host\nhost\nhost type\n"
		     "host ssh-ed25519 !!!!\nhost ssh-ed25519 AAA\n"
		     "|1|\n|1|||| a b\n|1|AAAA|AAAA a b\n[host:22 a b\n"
		     ",,,, a b\n!! a b\n\x01\x02\xff a b\n");
	for (i = 0; i < 5000; i++)
		buf_addch(&b, (char)('A' + i % 50));
	buf_adds(&b, " ssh-ed25519 ");
	for (i = 0; i < 30000; i++)
		buf_addch(&b, 'A');
	buf_adds(&b, "\nhost ssh-ed25519"); /* no newline at the end */
	write_text(file, b.data, 0600);
	assert_int_equal(
	    ssh_known_hosts_check(file, "host", 22, a, n, &line, &err),
	    SSH_KNOWN_CHANGED);
	assert_int_equal(line, 6);
	assert_int_equal(
	    ssh_known_hosts_check(file, "nohost", 22, a, n, &line, &err),
	    SSH_KNOWN_NEW);
	/* Adding keeps every corrupt line as it was. */
	assert_int_equal(ssh_known_hosts_add(file, "nohost", 22, a, n, 0, &err),
			 0);
	assert_int_equal(
	    ssh_known_hosts_check(file, "nohost", 22, a, n, &line, &err),
	    SSH_KNOWN_MATCH);
	/* A malformed blob is refused, not parsed. */
	assert_int_equal(ssh_known_hosts_check(file, "host", 22,
					       (const unsigned char *)"\0\0", 2,
					       &line, &err),
			 -1);
	err_clear(&err);
	buf_release(&b);
	free(file);
}

static void test_fingerprint_format(void **state)
{
	unsigned char h[32];
	char fp[64];

	(void)state;
	memset(h, 0, sizeof(h));
	ssh_fingerprint_format(h, fp);
	assert_string_equal(
	    fp, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

/* ---- console fingerprints ---- */

#define FP1 "SHA256:1xYpNkVbCp5y9VxkqNXNgqY6rm8HYnYx5GP2ZQ2Gl3o"
#define FP2 "SHA256:O8pRwh0J3cVQb6lY1Gv8a2k4c9m4n1hE8Lw2Qp6xYZs"
#define FP3 "SHA256:3Jx4RZJzT9Z0lq8L1m2KXoQzL9vYw7sUuQe5nq0aBcD"

static void check_fps(const char *console, const char *const *want)
{
	char **v = ssh_console_fingerprints(console, strlen(console));
	size_t i;

	for (i = 0; want[i]; i++) {
		assert_non_null(v[i]);
		assert_string_equal(v[i], want[i]);
	}
	assert_null(v[i]);
	ssh_strv_free(v);
}

static void test_console_fingerprints(void **state)
{
	static const char *const none[] = {NULL};
	static const char *const two[] = {FP1, FP2, NULL};
	static const char *const three[] = {FP1, FP2, FP3, NULL};
	char **v;

	(void)state;
	check_fps("ec2: \n"
		  "ec2: #############################################\n"
		  "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n"
		  "ec2: 256 " FP1 " root@ip-10-0-0-1 (ECDSA)\n"
		  "ec2: 256 " FP2 " root@ip-10-0-0-1 (ED25519)\n"
		  "ec2: -----END SSH HOST KEY FINGERPRINTS-----\n"
		  "ec2: #############################################\n",
		  two);
	/* No prefix, CRLF, junk around. */
	check_fps("[  1.0] boot junk SHA256:" FP3 "\r\n"
		  "-----BEGIN SSH HOST KEY FINGERPRINTS-----\r\n"
		  "256 " FP1 " root@h (ECDSA)\r\n"
		  "\x1b[0mrandom junk line\r\n"
		  "3072 " FP2 " root@h (RSA)\r\n"
		  "-----END SSH HOST KEY FINGERPRINTS-----\r\n"
		  "256 " FP3 " after the block (ED25519)\r\n",
		  two);
	/* Two blocks (a reboot): union without duplicates. */
	check_fps("-----BEGIN SSH HOST KEY FINGERPRINTS-----\n"
		  "256 " FP1 " a (ED25519)\n"
		  "-----END SSH HOST KEY FINGERPRINTS-----\n"
		  "reboot\n"
		  "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n"
		  "ec2: 256 " FP1 " a (ED25519)\n"
		  "ec2: 256 " FP2 " a (ECDSA)\n"
		  "ec2: 3072 " FP3 " a (RSA)\n"
		  "ec2: -----END SSH HOST KEY FINGERPRINTS-----\n",
		  three);
	/* Missing END: the lines seen count (truncated console). */
	check_fps("ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n"
		  "ec2: 256 " FP2 " a (ED25519)\n"
		  "ec2: 256 SHA256:short a (ECDSA)\n",
		  (const char *const[]){FP2, NULL});
	check_fps("", none);
	check_fps("no block here " FP1 "\n", none);
	check_fps("-----BEGIN SSH HOST KEY FINGERPRINTS-----", none);
	v = ssh_console_fingerprints(NULL, 0);
	assert_non_null(v);
	assert_null(v[0]);
	ssh_strv_free(v);
	ssh_strv_free(NULL);
}

/* ---- forward specs, signals ---- */

static void test_forward_parse(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_forward f;
	static const char *const bad[] = {
	    "",		  "8080",     "8080:host",  "0:h:80",
	    "65536:h:80", "80:h:0",   "80:h:65536", "x:h:80",
	    "80::80",	  "80:h:80:", "a:b:c:d:e",  "[::1:80:h:80",
	    "-1:h:80",	  "80:h:8x",  ":80:h:80",   NULL};
	size_t i;

	(void)state;
	assert_int_equal(ssh_forward_parse("8080:localhost:80", 0, &f, &err),
			 0);
	assert_string_equal(f.bind_addr, "127.0.0.1");
	assert_int_equal(f.listen_port, 8080);
	assert_string_equal(f.host, "localhost");
	assert_int_equal(f.port, 80);
	assert_int_equal(f.remote, 0);
	ssh_forward_release(&f);

	assert_int_equal(
	    ssh_forward_parse("0.0.0.0:1:10.0.0.5:65535", 0, &f, &err), 0);
	assert_string_equal(f.bind_addr, "0.0.0.0");
	assert_int_equal(f.listen_port, 1);
	assert_string_equal(f.host, "10.0.0.5");
	assert_int_equal(f.port, 65535);
	ssh_forward_release(&f);

	assert_int_equal(
	    ssh_forward_parse("[::1]:8888:[fe80::1]:22", 0, &f, &err), 0);
	assert_string_equal(f.bind_addr, "::1");
	assert_string_equal(f.host, "fe80::1");
	assert_int_equal(f.port, 22);
	ssh_forward_release(&f);

	assert_int_equal(ssh_forward_parse("9000:127.0.0.1:3000", 1, &f, &err),
			 0);
	assert_int_equal(f.remote, 1);
	assert_null(f.bind_addr);
	assert_int_equal(f.listen_port, 9000);
	ssh_forward_release(&f);

	for (i = 0; bad[i]; i++) {
		assert_int_equal(ssh_forward_parse(bad[i], 0, &f, &err), -1);
		assert_int_equal(err.kind, GPUCTL_ERR_USAGE);
		assert_null(f.host);
		err_clear(&err);
	}
	assert_int_equal(ssh_forward_parse(NULL, 1, &f, &err), -1);
	err_clear(&err);
}

static void test_signal_names(void **state)
{
	(void)state;
	assert_int_equal(ssh_signal_number("KILL"), SIGKILL);
	assert_int_equal(ssh_signal_number("TERM"), SIGTERM);
	assert_int_equal(ssh_signal_number("INT"), SIGINT);
	assert_int_equal(ssh_signal_number("HUP"), SIGHUP);
	assert_int_equal(ssh_signal_number("SEGV"), SIGSEGV);
	assert_int_equal(ssh_signal_number("ABRT"), SIGABRT);
	assert_int_equal(ssh_signal_number("PIPE"), SIGPIPE);
	assert_int_equal(ssh_signal_number("QUIT"), SIGQUIT);
	assert_int_equal(ssh_signal_number("USR1"), SIGUSR1);
	assert_int_equal(ssh_signal_number("USR2"), SIGUSR2);
	assert_int_equal(ssh_signal_number("SIGTERM"), SIGTERM);
	assert_int_equal(ssh_signal_number("BOGUS"), -1);
	assert_int_equal(ssh_signal_number(NULL), -1);
}

/* ---- the live sshd ---- */

struct live {
	char *dir;
	int port;
	pid_t sshd;
	char *key, *wrong_key, *rsa_key, *known, *fp1, *fp2;
};

static struct live L;

static char *keygen(const char *name)
{
	char *path = xasprintf("%s/%s", L.dir, name);
	char *argv[] = {"ssh-keygen", "-q",	     "-t", "ed25519", "-N", "",
			"-C",	      "gpuctl-test", "-f", path,      NULL};

	assert_int_equal(run_argv(argv), 0);
	return path;
}

/* An RSA key in the PKCS#1 PEM file EC2's console hands out. */
static char *keygen_rsa(const char *name)
{
	char *path = xasprintf("%s/%s", L.dir, name);
	char *argv[] = {"ssh-keygen", "-q", "-t",  "rsa", "-b",
			"3072",	      "-m", "PEM", "-N",  "",
			"-C",	      "",   "-f",  path,  NULL};

	assert_int_equal(run_argv(argv), 0);
	return path;
}

/* "SHA256:..." of a public key file, from ssh-keygen -l. */
static char *keygen_fp(const char *pub)
{
	char *cmd =
	    xasprintf("ssh-keygen -l -f '%s' > '%s/fp.txt'", pub, L.dir);
	char *out, *p, *fp;
	char *path = xasprintf("%s/fp.txt", L.dir);

	assert_int_equal(system(cmd), 0);
	out = slurp(path);
	assert_non_null(out);
	p = strstr(out, "SHA256:");
	assert_non_null(p);
	fp = xstrndup(p, strcspn(p, " "));
	free(out);
	free(cmd);
	free(path);
	return fp;
}

static pid_t spawn_sshd(const char *hostkey, int delay_ms)
{
	char *conf = xasprintf("%s/sshd_config", L.dir);
	char *log = xasprintf("%s/sshd.log", L.dir);
	char *text;
	pid_t pid;
	int fd;

	text = xasprintf("ListenAddress 127.0.0.1:%d\n"
			 "HostKey %s\n"
			 "AuthorizedKeysFile %s/authorized_keys\n"
			 "StrictModes no\n"
			 "UsePAM no\n"
			 "PidFile %s/sshd.pid\n"
			 "PermitRootLogin prohibit-password\n"
			 "PasswordAuthentication no\n"
			 "KbdInteractiveAuthentication no\n"
			 "AllowTcpForwarding yes\n"
			 "AcceptEnv GPUCTL_*\n"
			 "LogLevel ERROR\n"
			 "Subsystem sftp internal-sftp\n",
			 L.port, hostkey, L.dir, L.dir);
	write_text(conf, text, 0600);
	pid = fork();
	if (pid == 0) {
		/* Never outlive the test, even when it crashes. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (delay_ms)
			usleep((useconds_t)delay_ms * 1000);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 2);
		execl(SSHD, SSHD, "-D", "-e", "-f", conf, (char *)NULL);
		_exit(127);
	}
	free(conf);
	free(log);
	free(text);
	return pid;
}

static void wait_listening(int port)
{
	long long end = now_ms() + 5000;
	int fd;

	while (now_ms() < end) {
		fd = tcp_connect(port);
		if (fd >= 0) {
			close(fd);
			return;
		}
		usleep(10000);
	}
	fail_msg("sshd did not start on port %d (see %s/sshd.log)", port,
		 L.dir);
}

static void stop_sshd(void)
{
	int st;

	if (L.sshd > 0) {
		kill(L.sshd, SIGTERM);
		waitpid(L.sshd, &st, 0);
	}
	L.sshd = 0;
}

static void start_sshd(const char *hostkey)
{
	stop_sshd();
	L.sshd = spawn_sshd(hostkey, 0);
	wait_listening(L.port);
}

static int live_setup(void **state)
{
	char *pub, *pub2, *hk1, *hk2, *auth, *text;

	(void)state;
	if (access(SSHD, X_OK) != 0) {
		print_error("%s is missing: install openssh-server "
			    "(scripts/install-deps.sh)\n",
			    SSHD);
		return -1;
	}
	mkdir("/run/sshd", 0755);
	L.dir = xasprintf("%s/live", tmp_dir);
	mkdir(L.dir, 0700);
	L.key = keygen("id_client");
	L.wrong_key = keygen("id_wrong");
	L.rsa_key = keygen_rsa("id_rsa.pem");
	hk1 = keygen("hostkey1");
	hk2 = keygen("hostkey2");
	auth = xasprintf("%s/authorized_keys", L.dir);
	pub = xasprintf("%s.pub", L.key);
	text = slurp(pub);
	free(pub);
	pub = xasprintf("%s.pub", L.rsa_key);
	pub2 = slurp(pub);
	free(pub);
	pub = xasprintf("%s%s", text, pub2);
	write_text(auth, pub, 0600);
	free(text);
	free(pub2);
	free(pub);
	pub = xasprintf("%s.pub", hk1);
	L.fp1 = keygen_fp(pub);
	free(pub);
	pub = xasprintf("%s.pub", hk2);
	L.fp2 = keygen_fp(pub);
	free(pub);
	L.known = xasprintf("%s/cfg/known_hosts", L.dir);
	L.port = free_port();
	start_sshd(hk1);
	free(hk1);
	free(hk2);
	free(auth);
	return 0;
}

static int live_teardown(void **state)
{
	(void)state;
	stop_sshd();
	free(L.key);
	free(L.wrong_key);
	free(L.rsa_key);
	free(L.known);
	free(L.fp1);
	free(L.fp2);
	free(L.dir);
	return 0;
}

static struct ssh_target target(enum ssh_hostkey_policy policy)
{
	struct ssh_target t;

	memset(&t, 0, sizeof(t));
	t.host = "127.0.0.1";
	t.port = L.port;
	t.user = "root";
	t.identity_file = L.key;
	t.known_hosts = L.known;
	t.policy = policy;
	t.connect_timeout_ms = 3000;
	return t;
}

static struct ssh_session *live_connect(void)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_target t = target(SSH_HOSTKEY_PIN_OR_TOFU);
	struct ssh_session *s = ssh_connect(&t, NULL, &err);

	if (!s)
		fail_msg("connect: %s", err.message);
	return s;
}

static void test_live_hostkeys(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_hostkey_info info;
	struct ssh_target t;
	struct ssh_session *s;
	char *hk2 = xasprintf("%s/hostkey2", L.dir);
	char *hk1 = xasprintf("%s/hostkey1", L.dir);
	char *text;

	(void)state;
	unlink(L.known);
	/* Strict with nothing known: refused. */
	t = target(SSH_HOSTKEY_STRICT);
	s = ssh_connect(&t, &info, &err);
	assert_null(s);
	assert_int_equal(err.kind, GPUCTL_ERR_SSH);
	err_clear(&err);

	/* TOFU: added. */
	t = target(SSH_HOSTKEY_PIN_OR_TOFU);
	s = ssh_connect(&t, &info, &err);
	if (!s)
		fail_msg("tofu: %s", err.message);
	assert_int_equal(info.was_new, 1);
	assert_int_equal(info.was_pinned, 0);
	assert_string_equal(info.type, "ssh-ed25519");
	assert_string_equal(info.fingerprint, L.fp1);
	ssh_close(s);
	text = slurp(L.known);
	assert_non_null(text);
	assert_true(starts_with(text, "[127.0.0.1]:"));
	free(text);

	/* Strict: matches now. */
	t = target(SSH_HOSTKEY_STRICT);
	s = ssh_connect(&t, &info, &err);
	if (!s)
		fail_msg("strict: %s", err.message);
	assert_int_equal(info.was_new, 0);
	ssh_close(s);

	/* The server's key changes: refused, naming file and line. */
	start_sshd(hk2);
	t = target(SSH_HOSTKEY_PIN_OR_TOFU);
	s = ssh_connect(&t, &info, &err);
	assert_null(s);
	assert_int_equal(err.kind, GPUCTL_ERR_SSH);
	assert_non_null(strstr(err.message, L.known));
	assert_non_null(strstr(err.message, "line 1"));
	assert_non_null(strstr(err.hint, "--accept-new-hostkey"));
	err_clear(&err);

	/* Accept new: replaced. */
	t = target(SSH_HOSTKEY_ACCEPT_NEW);
	s = ssh_connect(&t, &info, &err);
	if (!s)
		fail_msg("accept-new: %s", err.message);
	assert_string_equal(info.fingerprint, L.fp2);
	ssh_close(s);
	t = target(SSH_HOSTKEY_STRICT);
	s = ssh_connect(&t, &info, &err);
	if (!s)
		fail_msg("strict after accept-new: %s", err.message);
	ssh_close(s);

	start_sshd(hk1);
	free(hk1);
	free(hk2);
}

static void test_live_pinned(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_hostkey_info info;
	struct ssh_target t;
	struct ssh_session *s;
	const char *good[] = {
	    "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", L.fp1, NULL};
	const char *bad[] = {L.fp2, NULL};

	(void)state;
	unlink(L.known);
	t = target(SSH_HOSTKEY_PIN_OR_TOFU);
	t.pinned = bad;
	s = ssh_connect(&t, &info, &err);
	assert_null(s);
	assert_int_equal(err.kind, GPUCTL_ERR_SSH);
	assert_non_null(strstr(err.message, "man in the middle"));
	err_clear(&err);
	assert_int_equal(access(L.known, F_OK), -1);

	t.pinned = good;
	s = ssh_connect(&t, &info, &err);
	if (!s)
		fail_msg("pinned: %s", err.message);
	assert_int_equal(info.was_pinned, 1);
	assert_int_equal(info.was_new, 1);
	ssh_close(s);
	assert_int_equal(access(L.known, F_OK), 0);
}

static void test_live_auth(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_target t = target(SSH_HOSTKEY_PIN_OR_TOFU);
	struct ssh_session *s;
	char *open_key = xasprintf("%s/id_open", L.dir);
	char *text;

	(void)state;
	t.identity_file = L.wrong_key;
	s = ssh_connect(&t, NULL, &err);
	assert_null(s);
	assert_int_equal(err.kind, GPUCTL_ERR_SSH);
	assert_non_null(strstr(err.message, "publickey"));
	assert_non_null(strstr(err.message, L.wrong_key));
	assert_non_null(strstr(err.message, "offers"));
	err_clear(&err);

	text = slurp(L.key);
	write_text(open_key, text, 0644);
	t.identity_file = open_key;
	s = ssh_connect(&t, NULL, &err);
	assert_null(s);
	assert_int_equal(err.kind, GPUCTL_ERR_SSH);
	assert_non_null(strstr(err.message, "UNPROTECTED PRIVATE KEY FILE"));
	err_clear(&err);

	t.identity_file = NULL;
	s = ssh_connect(&t, NULL, &err);
	assert_null(s);
	assert_int_equal(err.kind, GPUCTL_ERR_SSH);
	err_clear(&err);
	free(text);
	free(open_key);
}

/*
 * An RSA key logs in to OpenSSH 9.2, which refuses ssh-rsa (SHA-1)
 * signatures, when libssh2 signs with rsa-sha2 (1.11.1); with an older
 * libssh2 it is refused, as ssh_rsa_sha2_logins() says.
 */
static void test_live_rsa_key(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_target t = target(SSH_HOSTKEY_PIN_OR_TOFU);
	struct ssh_session *s;
	struct buf out = BUF_INIT;
	int status = -1;

	(void)state;
	t.identity_file = L.rsa_key;
	s = ssh_connect(&t, NULL, &err);
	if (!ssh_rsa_sha2_logins()) {
		assert_null(s);
		assert_non_null(strstr(err.message, "permission denied"));
		err_clear(&err);
		return;
	}
	if (!s)
		fail_msg("%s", err.message);
	assert_int_equal(
	    ssh_exec_capture(s, "echo rsa", 1024, &out, &status, &err), 0);
	assert_int_equal(status, 0);
	assert_string_equal(out.data, "rsa\n");
	buf_release(&out);
	ssh_close(s);
}

/* The version --version prints, and what it implies. */
static void test_lib_version(void **state)
{
	const char *v = ssh_lib_version();
	int major = 0, minor = 0, patch = 0;

	(void)state;
	assert_int_equal(sscanf(v, "%d.%d.%d", &major, &minor, &patch), 3);
	assert_int_equal(ssh_rsa_sha2_logins(),
			 major * 10000 + minor * 100 + patch >= 11101);
}

static int tmpfile_with(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", L.dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	if (text)
		assert_int_equal(write(fd, text, strlen(text)),
				 (ssize_t)strlen(text));
	lseek(fd, 0, SEEK_SET);
	free(path);
	return fd;
}

static char *fd_text(int fd)
{
	struct buf b = BUF_INIT;
	char tmp[4096];
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)n);
	return buf_detach(&b, NULL);
}

static void test_live_exec(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_session *s = live_connect();
	struct ssh_exec_opts o;
	struct buf out = BUF_INIT;
	const char *env[] = {"GPUCTL_X=hello env", "NOEQUALS", NULL};
	int status = -1, fin, fout, ferr;
	char *text;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.fd_in = -1;
	o.fd_out = fout = tmpfile_with("out", NULL);
	o.fd_err = ferr = tmpfile_with("err", NULL);
	assert_int_equal(ssh_exec(s, "exit 7", &o, &status, &err), 0);
	assert_int_equal(status, 7);
	assert_int_equal(ssh_exec(s, "kill -TERM $$", &o, &status, &err), 0);
	assert_int_equal(status, 143);
	assert_int_equal(ssh_exec(s, "kill -KILL $$", &o, &status, &err), 0);
	assert_int_equal(status, 137);

	/* stdout and stderr apart. */
	assert_int_equal(
	    ssh_exec(s, "echo out; echo err >&2; exit 3", &o, &status, &err),
	    0);
	assert_int_equal(status, 3);
	text = fd_text(fout);
	assert_string_equal(text, "out\n");
	free(text);
	text = fd_text(ferr);
	assert_string_equal(text, "err\n");
	free(text);
	close(fout);
	close(ferr);

	/* stdin through. */
	o.fd_in = fin = tmpfile_with("in", "hello stdin\n");
	o.fd_out = fout = tmpfile_with("out2", NULL);
	o.fd_err = ferr = tmpfile_with("err2", NULL);
	o.env = env;
	assert_int_equal(
	    ssh_exec(s, "cat; echo \"[$GPUCTL_X]\"", &o, &status, &err), 0);
	assert_int_equal(status, 0);
	text = fd_text(fout);
	assert_string_equal(text, "hello stdin\n[hello env]\n");
	free(text);
	close(fin);
	close(fout);
	close(ferr);

	/* capture, with a limit. */
	assert_int_equal(ssh_exec_capture(s, "echo hi; echo no >&2", 100, &out,
					  &status, &err),
			 0);
	assert_string_equal(out.data, "hi\n");
	buf_reset(&out);
	assert_int_equal(
	    ssh_exec_capture(s, "seq 1 10000", 10, &out, &status, &err), 0);
	assert_int_equal(out.len, 10);
	assert_string_equal(out.data, "1\n2\n3\n4\n5\n");
	buf_release(&out);
	ssh_close(s);
}

static void test_live_big_and_epipe(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_session *s = live_connect();
	struct ssh_exec_opts o;
	char *in_path = xasprintf("%s/big.in", L.dir);
	char *out_path = xasprintf("%s/big.out", L.dir);
	unsigned char *chunk = xmalloc(1 << 20), *back = xmalloc(1 << 20);
	int status = -1, fd, i, p[2];
	long long t0;
	size_t j;

	(void)state;
	fd = open(in_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	srand(42);
	for (i = 0; i < 10; i++) {
		for (j = 0; j < (1u << 20); j++)
			chunk[j] = (unsigned char)rand();
		assert_int_equal(write(fd, chunk, 1 << 20), 1 << 20);
	}
	lseek(fd, 0, SEEK_SET);
	memset(&o, 0, sizeof(o));
	o.fd_in = fd;
	o.fd_out = open(out_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	o.fd_err = open("/dev/null", O_WRONLY);
	assert_int_equal(ssh_exec(s, "cat", &o, &status, &err), 0);
	assert_int_equal(status, 0);
	/* Byte-identical, compared a chunk at a time. */
	lseek(fd, 0, SEEK_SET);
	lseek(o.fd_out, 0, SEEK_SET);
	for (i = 0; i < 10; i++) {
		assert_int_equal(read(fd, chunk, 1 << 20), 1 << 20);
		assert_int_equal(read(o.fd_out, back, 1 << 20), 1 << 20);
		assert_memory_equal(chunk, back, 1 << 20);
	}
	assert_int_equal(read(o.fd_out, back, 1), 0);
	close(fd);
	close(o.fd_out);

	/* The reader of stdout goes away: stop cleanly and soon. */
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	o.fd_in = -1;
	o.fd_out = p[1];
	t0 = now_ms();
	assert_int_equal(ssh_exec(s, "yes", &o, &status, &err), 0);
	assert_true(now_ms() - t0 < 3000);
	assert_int_equal(status, 141);
	close(p[1]);
	close(o.fd_err);
	/* The session still works. */
	o.fd_out = -1;
	o.fd_err = -1;
	assert_int_equal(ssh_exec(s, "exit 4", &o, &status, &err), 0);
	assert_int_equal(status, 4);
	unlink(in_path);
	unlink(out_path);
	free(in_path);
	free(out_path);
	free(chunk);
	free(back);
	ssh_close(s);
}

static void stage_log(void *ctx, const char *what)
{
	struct buf *b = ctx;

	buf_addf(b, "%s;", what);
}

static void test_live_wait_ready(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_target t = target(SSH_HOSTKEY_PIN_OR_TOFU);
	struct ssh_session *s;
	struct buf stages = BUF_INIT;
	char *hk1 = xasprintf("%s/hostkey1", L.dir);
	long long t0;
	int status;

	(void)state;
	stop_sshd();
	t0 = now_ms();
	L.sshd = spawn_sshd(hk1, 1000);
	s = ssh_wait_ready(&t, now_ms() + 8000, stage_log, &stages, NULL, &err);
	if (!s)
		fail_msg("wait: %s", err.message);
	print_message("      ready %lld ms after the wait began (sshd "
		      "exec'd at ~1000 ms)\n",
		      now_ms() - t0);
	assert_true(now_ms() - t0 >= 1000);
	assert_true(now_ms() - t0 < 3000);
	assert_non_null(strstr(stages.data, "connecting;"));
	assert_non_null(strstr(stages.data,
			       "banner;host key;authenticating;running true;"));
	assert_int_equal(ssh_exec(s, "exit 0", NULL, &status, &err), 0);
	ssh_close(s);
	buf_release(&stages);

	/* A closed port: a timeout naming the stage. */
	t.port = free_port();
	t0 = now_ms();
	s = ssh_wait_ready(&t, now_ms() + 700, NULL, NULL, NULL, &err);
	assert_null(s);
	assert_int_equal(err.kind, GPUCTL_ERR_TIMEOUT);
	assert_non_null(strstr(err.message, "connecting"));
	assert_true(now_ms() - t0 < 1500);
	err_clear(&err);

	/* A wrong key: an auth error after a few tries, not a timeout. */
	t.port = L.port;
	t.identity_file = L.wrong_key;
	s = ssh_wait_ready(&t, now_ms() + 20000, NULL, NULL, NULL, &err);
	assert_null(s);
	assert_int_equal(err.kind, GPUCTL_ERR_SSH);
	assert_non_null(strstr(err.message, "publickey"));
	err_clear(&err);
	free(hk1);
}

/* An echo server for the forwards: serves n connections, then ends. */
struct echo {
	int lfd, port, n;
};

static void *echo_main(void *arg)
{
	struct echo *e = arg;
	struct pollfd pfd[8] = {0};
	int conns[8], nc = 0, served = 0, i, fd;
	char tmp[4096];
	ssize_t r;

	while (served < e->n) {
		pfd[0].fd = e->lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < nc; i++) {
			pfd[i + 1].fd = conns[i];
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)nc + 1, 10000) <= 0)
			break;
		if (pfd[0].revents && nc < 7) {
			fd = accept(e->lfd, NULL, NULL);
			if (fd >= 0)
				conns[nc++] = fd;
		}
		for (i = 0; i < nc; i++) {
			if (!pfd[i + 1].revents)
				continue;
			r = read(conns[i], tmp, sizeof(tmp));
			if (r > 0) {
				if (write(conns[i], tmp, (size_t)r) != r)
					r = 0;
				continue;
			}
			close(conns[i]);
			conns[i] = conns[--nc];
			pfd[i + 1] = pfd[nc + 1];
			i--;
			served++;
		}
	}
	for (i = 0; i < nc; i++)
		close(conns[i]);
	return NULL;
}

static void echo_start(struct echo *e, pthread_t *th, int n)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1;

	e->n = n;
	e->lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(e->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(e->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(e->lfd, 8), 0);
	getsockname(e->lfd, (struct sockaddr *)&sa, &len);
	e->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(th, NULL, echo_main, e), 0);
}

/* Three clients at once through the forward. */
struct clients {
	int port;
	int ok;
	int close_fd;	     /* closed when done (ends "cat"), or -1 */
	pthread_t signal_to; /* sent SIGTERM when done (-N) */
	int use_signal;
};

static void *clients_main(void *arg)
{
	struct clients *c = arg;
	long long end = now_ms() + 5000;
	int fds[3], i, ok = 0;
	char want[32], got[64];
	ssize_t n, len;

	for (i = 0; i < 3; i++) {
		fds[i] = -1;
		while (fds[i] < 0 && now_ms() < end) {
			fds[i] = tcp_connect(c->port);
			if (fds[i] < 0)
				usleep(5000);
		}
	}
	for (i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "hello %d through\n", i);
		if (fds[i] >= 0 &&
		    write(fds[i], want, strlen(want)) == (ssize_t)strlen(want))
			shutdown(fds[i], SHUT_WR);
	}
	for (i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "hello %d through\n", i);
		len = 0;
		while (fds[i] >= 0 &&
		       (n = read(fds[i], got + len,
				 sizeof(got) - 1 - (size_t)len)) > 0)
			len += n;
		got[len] = '\0';
		if (!strcmp(got, want))
			ok++;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	c->ok = ok;
	if (c->close_fd >= 0)
		close(c->close_fd);
	if (c->use_signal)
		pthread_kill(c->signal_to, SIGTERM);
	return NULL;
}

static void test_live_forward_local(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_session *s = live_connect();
	struct ssh_forward f;
	struct ssh_exec_opts o;
	struct echo e;
	struct clients c;
	pthread_t eth, cth;
	char *spec;
	int p[2], status = -1;

	(void)state;
	echo_start(&e, &eth, 3);
	memset(&c, 0, sizeof(c));
	c.port = free_port();
	spec = xasprintf("%d:127.0.0.1:%d", c.port, e.port);
	assert_int_equal(ssh_forward_parse(spec, 0, &f, &err), 0);
	assert_int_equal(pipe(p), 0);
	c.close_fd = p[1];
	memset(&o, 0, sizeof(o));
	o.fd_in = p[0];
	o.fd_out = -1;
	o.fd_err = -1;
	assert_int_equal(pthread_create(&cth, NULL, clients_main, &c), 0);
	assert_int_equal(
	    ssh_run_with_forwards(s, &f, 1, "cat; exit 5", &o, &status, &err),
	    0);
	pthread_join(cth, NULL);
	pthread_join(eth, NULL);
	assert_int_equal(c.ok, 3);
	assert_int_equal(status, 5);
	close(p[0]);
	close(e.lfd);
	ssh_forward_release(&f);
	free(spec);
	ssh_close(s);
}

static void test_live_forward_remote(void **state)
{
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	struct ssh_session *s = live_connect();
	struct ssh_forward f;
	struct echo e;
	struct clients c;
	pthread_t eth, cth;
	char *spec;
	int status = -1;
	long long t0 = now_ms();

	(void)state;
	echo_start(&e, &eth, 3);
	memset(&c, 0, sizeof(c));
	c.port = free_port();
	c.close_fd = -1;
	c.use_signal = 1;
	c.signal_to = pthread_self();
	spec = xasprintf("%d:127.0.0.1:%d", c.port, e.port);
	assert_int_equal(ssh_forward_parse(spec, 1, &f, &err), 0);
	assert_int_equal(pthread_create(&cth, NULL, clients_main, &c), 0);
	/* -N: until SIGTERM, which the clients send when done. */
	if (ssh_run_with_forwards(s, &f, 1, NULL, NULL, &status, &err) < 0)
		fail_msg("forward: %s", err.message);
	pthread_join(cth, NULL);
	pthread_join(eth, NULL);
	assert_int_equal(c.ok, 3);
	assert_int_equal(status, 0);
	assert_true(now_ms() - t0 < 5000);
	close(e.lfd);
	ssh_forward_release(&f);
	free(spec);
	/* The session still runs commands after the forwards. */
	assert_int_equal(ssh_exec(s, "exit 2", NULL, &status, &err), 0);
	assert_int_equal(status, 2);
	ssh_close(s);
}

static int rm_rf(const char *dir)
{
	char *argv[] = {"rm", "-rf", (char *)dir, NULL};

	return run_argv(argv);
}

int main(void)
{
	const struct CMUnitTest offline[] = {
	    cmocka_unit_test(test_known_hosts_new_add_match),
	    cmocka_unit_test(test_known_hosts_port),
	    cmocka_unit_test(test_known_hosts_changed_and_replace),
	    cmocka_unit_test(test_known_hosts_hashed_and_markers),
	    cmocka_unit_test(test_known_hosts_corrupt),
	    cmocka_unit_test(test_fingerprint_format),
	    cmocka_unit_test(test_console_fingerprints),
	    cmocka_unit_test(test_forward_parse),
	    cmocka_unit_test(test_signal_names),
	    cmocka_unit_test(test_lib_version),
	};
	const struct CMUnitTest live[] = {
	    cmocka_unit_test(test_live_hostkeys),
	    cmocka_unit_test(test_live_pinned),
	    cmocka_unit_test(test_live_auth),
	    cmocka_unit_test(test_live_rsa_key),
	    cmocka_unit_test(test_live_exec),
	    cmocka_unit_test(test_live_big_and_epipe),
	    cmocka_unit_test(test_live_forward_local),
	    cmocka_unit_test(test_live_forward_remote),
	    cmocka_unit_test(test_live_wait_ready),
	};
	char tmpl[] = "/tmp/gpuctl-test-ssh-XXXXXX";
	int r;

	tmp_dir = mkdtemp(tmpl);
	if (!tmp_dir)
		return 1;
	log_set_level(LOG_ERROR);
	unsetenv("SSH_AUTH_SOCK");
	r = cmocka_run_group_tests_name("ssh offline", offline, NULL, NULL);
	r += cmocka_run_group_tests_name("ssh live sshd", live, live_setup,
					 live_teardown);
	rm_rf(tmp_dir);
	return r;
}
