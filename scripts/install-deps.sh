#!/bin/sh
# Installs the Debian packages nordlys builds, tests and benchmarks with.
# Idempotent: a package already installed is left alone, and apt is not
# touched at all when nothing is missing.
set -eu

PKGS="build-essential cmake pkg-config git
libsqlite3-dev sqlite3 libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev
libcmocka-dev curl jq procps psmisc faketime iproute2 util-linux"

# The fuzz targets (tests/fuzz): clang, and libclang-rt-14-dev for its
# libFuzzer runtime (only recommended by clang-14 on Debian 12, and
# recommends are not installed).
PKGS="$PKGS clang libclang-rt-14-dev"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
