#!/bin/sh
# Installs the Debian packages zone needs to build, test and benchmark.
# Safe to run repeatedly; skips apt entirely when everything is present.
set -eu

BUILD_PKGS="build-essential pkg-config jq libyajl-dev libseccomp-dev libcap-dev libsystemd-dev libcmocka-dev busybox-static libarchive-dev libcurl4-openssl-dev libssl-dev liblzma-dev libzstd-dev clang"
TEST_PKGS="runc crun podman containerd dbus-daemon tmux uidmap util-linux procps iproute2 psmisc jq docker-registry skopeo umoci apache2-utils openssl fuse-overlayfs passt slirp4netns python3 time hyperfine linux-image-amd64 bc cpio"

want=""
for p in $BUILD_PKGS ${ZONE_BUILD_ONLY:+} $([ -n "${ZONE_BUILD_ONLY:-}" ] || echo "$TEST_PKGS"); do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || want="$want $p"
done
[ -z "$want" ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "install-deps: installing:$want" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $want >/dev/null
