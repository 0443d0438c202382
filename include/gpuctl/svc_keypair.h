/*
 * svc_keypair: the key pair a launch logs in with and its private key
 * file under gpuctl's folder (keys/REGION/NAME.pem, 0600), made, reused
 * or recovered.
 *
 * Ownership: arguments are borrowed; returned char * belong to the caller,
 * a struct svc_keypair's strings to it (svc_keypair_release()).
 */
#ifndef GPUCTL_SVC_KEYPAIR_H
#define GPUCTL_SVC_KEYPAIR_H

#include "gpuctl/svc.h"

/*
 * Where the private key of key pair name in s->region is kept (whether or
 * not it is there).  NULL with err filled when gpuctl's folders are
 * unknown.
 */
char *svc_key_path(struct svc_ctx *s, const char *name, struct gpuctl_err *err);

/* The same when the file exists on this machine, else NULL. */
char *svc_key_file(struct svc_ctx *s, const char *name);

/* A key pair to log in with: its name and its private key file. */
struct svc_keypair {
	char *name;
	char *path;
};
void svc_keypair_release(struct svc_keypair *k);

/*
 * Makes sure key pair name (NULL: gpuctl-HOSTNAME) exists in s->region
 * with its private key in svc_key_path(), readable only by this user:
 * reuses it when both are there; creates it (key_type "ed25519" or
 * "rsa"; tagged SVC_MANAGED_TAG) when EC2 has none, moving aside a local
 * key whose key pair is gone; makes it again when it was made by a launch
 * that was interrupted before the private key was saved (the NAME.pem.creating
 * marker) or by a request whose answer was lost.  A key pair whose
 * private key is elsewhere, or a key file others may read, is an error
 * with a hint.
 */
int svc_keypair_ensure(struct svc_ctx *s, const char *name,
		       const char *key_type, struct svc_keypair *out,
		       struct gpuctl_err *err);

#endif
