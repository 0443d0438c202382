#!/bin/sh
# Install the Debian 12 packages that building, testing and the demo need.
# As root it runs apt-get itself; otherwise it prints the exact command and
# stops.  Packages already present are left alone, so the usual run is quick.
#
# Debian 12's libssh2 is 1.10: the Makefile then builds 1.11.1 from Debian's
# source package (scripts/build-libssh2.sh), which needs apt, gpgv, the
# archive keyring, dpkg-dev, xz-utils, make, a compiler and libssl-dev.
# libssh2-1-dev stays for `make LIBSSH2=system` and for systems whose own
# libssh2 is recent enough.
set -eu

PKGS="build-essential pkg-config libcurl4-openssl-dev libssl-dev libxml2-dev
libssh2-1-dev libjansson-dev libcmocka-dev python3 python3-pytest
python3-botocore awscli openssh-server openssh-client clang-format
ca-certificates procps tmux jq faketime openssl clang-14 libclang-rt-14-dev
valgrind time dpkg-dev make xz-utils gpgv debian-archive-keyring"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "gpuctl: missing packages:$missing" >&2
	echo "run as root: apt-get update && $cmd" >&2
	exit 1
fi

echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends$missing >/dev/null
