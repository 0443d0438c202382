#!/bin/sh
# Builds libssh2 >= 1.11.1 as a static library from Debian's own source
# package, for systems whose libssh2 is older (Debian 12 ships 1.10):
#
#   scripts/build-libssh2.sh PREFIX
#
# makes PREFIX/lib/libssh2.a, PREFIX/include/libssh2*.h and PREFIX/VERSION
# (the Debian version built).  The Makefile runs it once, for every build
# directory; a second run with PREFIX in place does nothing.
#
# The source is the `libssh2` source package of LIBSSH2_SUITE (default
# trixie), fetched with apt through a private configuration under
# PREFIX.work/apt: its own sources list, lists and cache directories, so the
# system's apt sources and state are neither read for this nor changed.
# apt checks the files against the suite's Sources index, whose hashes lead
# to its InRelease, signed by a key of the Debian archive keyring
# (LIBSSH2_KEYRING).  The mirror is the one this machine's apt uses for
# Debian (LIBSSH2_MIRROR overrides it).  dpkg-source unpacks it and applies
# Debian's patches (security fixes among them); its own check of the
# maintainer's signature is skipped (--no-check), as `apt-get source` does:
# the signed index already vouches for these exact files.
#
# Build dependencies (scripts/install-deps.sh installs them): apt, gpgv,
# debian-archive-keyring, dpkg-dev (dpkg-source, dpkg-buildflags), xz-utils,
# a C compiler, make, libssl-dev.  No network access once built.
set -eu

prefix=${1:?usage: scripts/build-libssh2.sh PREFIX}
suite=${LIBSSH2_SUITE:-trixie}
min=1.11.1
keyring=${LIBSSH2_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

die() {
	echo "build-libssh2: $*" >&2
	exit 1
}

case $prefix in
/*) ;;
*) prefix=$(pwd)/$prefix ;;
esac
mkdir -p "$(dirname "$prefix")"

# One build at a time (make check and make asan-check may both want it).
exec 9>"$prefix.lock"
flock 9
if [ -f "$prefix/lib/libssh2.a" ] && [ -f "$prefix/VERSION" ]; then
	exit 0
fi

for tool in apt-get dpkg-source dpkg-buildflags dpkg gpgv xz make \
	"${CC:-cc}"; do
	command -v "$tool" >/dev/null ||
		die "$tool is missing; run scripts/install-deps.sh as root"
done
[ -r "$keyring" ] || die "cannot read the keyring $keyring"
pkg-config --exists libcrypto 2>/dev/null ||
	die "OpenSSL's headers are missing (libssl-dev); run scripts/install-deps.sh as root"

# The mirror this machine's apt uses for Debian itself (not -security).
mirror=${LIBSSH2_MIRROR:-}
if [ -z "$mirror" ] && [ -r /etc/os-release ]; then
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Label: Debian' \
		"Codename: $codename" 'Created-By: Packages' 2>/dev/null |
		head -n 1)
fi
mirror=${mirror:-http://deb.debian.org/debian/}

work=$prefix.work
log=$work/build.log
rm -rf "$work"
mkdir -p "$work/apt/etc/sources.list.d" "$work/apt/etc/preferences.d" \
	"$work/apt/etc/trusted.gpg.d" "$work/apt/lists/partial" \
	"$work/apt/cache/archives/partial" "$work/src"
printf 'deb-src [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" \
	>"$work/apt/etc/sources.list"
a=$work/apt
set -- -o "Dir::Etc::SourceList=$a/etc/sources.list" \
	-o "Dir::Etc::SourceParts=$a/etc/sources.list.d" \
	-o "Dir::Etc::Preferences=$a/etc/preferences" \
	-o "Dir::Etc::PreferencesParts=$a/etc/preferences.d" \
	-o "Dir::Etc::Trusted=$a/etc/trusted.gpg" \
	-o "Dir::Etc::TrustedParts=$a/etc/trusted.gpg.d" \
	-o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache" \
	-o "APT::Get::List-Cleanup=false" -o "Acquire::Languages=none"
# As root, apt downloads as its _apt user: it must be able to write there.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$work/src"
fi

echo "build-libssh2: fetching $suite's libssh2 source from $mirror" >&2
apt-get -q "$@" update >"$log" 2>&1 || {
	tail -n 20 "$log" >&2
	die "cannot fetch $suite's index from $mirror (network, or a key" \
		"missing from $keyring?); to build with the system's libssh2" \
		"instead: make LIBSSH2=system"
}
(cd "$work/src" && apt-get -q "$@" source --download-only libssh2) \
	>>"$log" 2>&1 || {
	tail -n 20 "$log" >&2
	die "cannot fetch $suite's libssh2 source"
}
dsc=$(ls "$work/src"/libssh2_*.dsc)
version=$(sed -n 's/^Version: *//p' "$dsc")
dpkg --compare-versions "$version" ge "$min" ||
	die "$suite has libssh2 $version, older than $min"
dpkg-source --no-check -x "$dsc" "$work/src/libssh2" >>"$log" 2>&1 || {
	tail -n 20 "$log" >&2
	die "cannot unpack $dsc"
}

# Debian's hardening flags, as its own build uses them; static only, no
# zlib (gpuctl does not compress), PIC so that any executable can link it.
echo "build-libssh2: building libssh2 $version (static)" >&2
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(cd "$work/src/libssh2" && dpkg-buildflags --get CFLAGS)"
cppflags="$(dpkg-buildflags --get CPPFLAGS)"
(
	cd "$work/src/libssh2"
	./configure --prefix="$work/inst" --disable-shared --enable-static \
		--with-pic --with-crypto=openssl --without-libz \
		--disable-examples-build --disable-docker-tests \
		--disable-sshd-tests --enable-hidden-symbols \
		--disable-dependency-tracking CC="${CC:-cc}" CFLAGS="$cflags" \
		CPPFLAGS="$cppflags"
	make -j"$(nproc 2>/dev/null || echo 2)" -C src
	make -C src install
	make install-includeHEADERS
) >>"$log" 2>&1 || {
	tail -n 30 "$log" >&2
	die "building libssh2 $version failed (log: $log)"
}

rm -f "$work/inst/lib"/*.la
rm -rf "$work/inst/lib/pkgconfig"
echo "$version" >"$work/inst/VERSION"
rm -rf "$prefix"
mkdir -p "$prefix"
mv "$work/inst/lib" "$work/inst/include" "$work/inst/VERSION" "$prefix/"
rm -rf "$work"
echo "build-libssh2: $prefix/lib/libssh2.a is libssh2 $version" >&2
