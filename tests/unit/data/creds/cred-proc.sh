#!/bin/sh
# A fake credential_process for tests/unit/test_creds.c.
# Usage: cred-proc.sh MODE [ARG...]
mode=$1
shift
case "$mode" in
ok)
	printf '{"Version": 1, "AccessKeyId": "AKIDPROC", '
	printf '"SecretAccessKey": "procsecret", "SessionToken": "proctoken", '
	printf '"Expiration": "%s"}\n' "$1"
	;;
notoken)
	echo '{"Version": 1.0, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "procsecret", "SessionToken": null}'
	;;
args)
	# one argument a line into $CREDS_ARGS_OUT, to check the splitting
	# and that the given environment reaches the child
	: > "$CREDS_ARGS_OUT"
	for a in "$@"; do
		printf '%s\n' "$a" >> "$CREDS_ARGS_OUT"
	done
	echo '{"Version": 1, "AccessKeyId": "AKIDARGS", "SecretAccessKey": "s"}'
	;;
version2)
	echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "LEAKSECRET"}'
	;;
noversion)
	echo '{"AccessKeyId": "A", "SecretAccessKey": "LEAKSECRET"}'
	;;
nosecret)
	echo '{"Version": 1, "AccessKeyId": "AKIDPROC"}'
	;;
numsecret)
	echo '{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": 5}'
	;;
badexp)
	echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s", "Expiration": "tomorrow"}'
	;;
fail)
	echo 'cred-proc.sh: failing on purpose' >&2
	echo '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "LEAKSECRET"}'
	exit 3
	;;
notjson)
	echo 'LEAKSECRET is not JSON'
	;;
big)
	head -c 2000000 /dev/zero
	;;
*)
	exit 64
	;;
esac
