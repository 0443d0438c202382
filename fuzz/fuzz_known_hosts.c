/*
 * The known_hosts reader: ssh_int_known_hosts_scan() (what
 * ssh_known_hosts_check() does with the file's text) and
 * ssh_int_known_types_scan().  The input's first line is "K HOST PORT":
 * K '0' to '3' picks the key presented (ssh-ed25519, ssh-rsa,
 * ecdsa-sha2-nistp256, or a malformed blob), HOST the name looked up and
 * PORT its port.  The rest is the known_hosts file.
 */
#include <stdlib.h>
#include <string.h>

#include "ssh/ssh_int.h"
#include "fuzz.h"

/* Key blobs: a string (type) then some bytes, as servers send them. */
static const unsigned char ed25519[] = {
    0,	  0,	0,    11,   's',  's',	'h',  '-',  'e',  'd',	'2',
    '5',  '5',	'1',  '9',  0,	  0,	0,    32,   0x11, 0x22, 0x33,
    0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
    0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
    0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
static const unsigned char rsa[] = {0,	 0,   0,   7, 's',  's', 'h', '-',
				    'r', 's', 'a', 0, 0,    0,	 1,   0x23,
				    0,	 0,   0,   2, 0x00, 0xc5};
static const unsigned char ecdsa[] = {
    0,	 0,   0,   19,	'e', 'c', 'd', 's', 'a', '-', 's', 'h', 'a', '2',
    '-', 'n', 'i', 's', 't', 'p', '2', '5', '6', 0,   0,   0,	8,   'n',
    'i', 's', 't', 'p', '2', '5', '6', 0,   0,	 0,   1,   0x04};
static const unsigned char bad[] = {0xff, 0xff, 0xff, 0xff, 'x'};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const unsigned char *blob;
		size_t len;
	} keys[] = {{ed25519, sizeof(ed25519)},
		    {rsa, sizeof(rsa)},
		    {ecdsa, sizeof(ecdsa)},
		    {bad, sizeof(bad)}};
	struct gpuctl_err err = GPUCTL_ERR_INIT;
	const uint8_t *nl;
	char *head, *host, *sp, *types;
	size_t hl, k;
	int port = 22, line = -1, rc;

	nl = memchr(data, '\n', size);
	hl = nl ? (size_t)(nl - data) : size;
	if (hl > 300)
		return 0;
	head = fuzz_strndup(data, hl);
	k = head[0] >= '0' && head[0] <= '3' ? (size_t)(head[0] - '0') : 0;
	host = head[0] ? head + 1 : head;
	while (*host == ' ')
		host++;
	sp = strchr(host, ' ');
	if (sp) {
		*sp = '\0';
		port = atoi(sp + 1);
	}
	if (!*host)
		host = "example.com";
	data += nl ? hl + 1 : hl;
	size -= nl ? hl + 1 : hl;

	rc = ssh_int_known_hosts_scan((const char *)data, size, host, port,
				      keys[k].blob, keys[k].len, &line, &err);
	if (k == 3) {
		FUZZ_CHECK(rc == -1 && err.kind == GPUCTL_ERR_SSH);
	} else {
		FUZZ_CHECK(rc == SSH_KNOWN_NEW || rc == SSH_KNOWN_MATCH ||
			   rc == SSH_KNOWN_CHANGED);
		FUZZ_CHECK(err.kind == GPUCTL_ERR_NONE);
		/* a match or a change names its line, a new host none */
		FUZZ_CHECK(rc == SSH_KNOWN_NEW ? line == 0 : line >= 1);
		FUZZ_CHECK((size_t)line <= size + 1);
	}
	err_clear(&err);
	types = ssh_int_known_types_scan((const char *)data, size, host, port);
	FUZZ_CHECK(types != NULL);
	free(types);
	free(head);
	return 0;
}
