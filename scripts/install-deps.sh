#!/bin/sh
# Installs the Debian packages nordlys builds, tests and benchmarks with,
# then the npm packages of tools/openapi-lint, web/ and tests/browser/.
# Idempotent: a package already installed is left alone, apt is not
# touched at all when nothing is missing, and npm only when node_modules
# does not match the lockfile.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

PKGS="build-essential cmake pkg-config git
libsqlite3-dev sqlite3 libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libjwt-dev libgnutls28-dev
libcmocka-dev curl jq procps psmisc faketime iproute2 util-linux openssl
nodejs npm chromium"

# has_cmd PKG: the command that PKG provides is already there. NodeSource's
# nodejs package bundles npm and conflicts with Debian's npm package, so
# an npm on PATH counts as installed whichever package brought it.
has_cmd() {
    case "$1" in
    nodejs) command -v node >/dev/null 2>&1 ;;
    npm) command -v npm >/dev/null 2>&1 ;;
    *) return 1 ;;
    esac
}

# The fuzz targets (tests/fuzz): clang, and libclang-rt-14-dev for its
# libFuzzer runtime (only recommended by clang-14 on Debian 12, and
# recommends are not installed).
PKGS="$PKGS clang libclang-rt-14-dev"

# The distributed-training tests (tests/integration/torch_dist.sh): torch.distributed and torchrun.
PKGS="$PKGS python3-torch"

# The fault suite's HTTP proxy that loses chosen answers (tests/lib/dropproxy.py).
PKGS="$PKGS python3"

# Arithmetic on times in tests (control.sh, gate_deps.sh) and bench/bench-array.sh;
# not in a minimal Debian, where it passed only because the machine had it.
PKGS="$PKGS bc"

# nordlysd's allocator in builds without sanitizers (src/ctld/CMakeLists.txt).
PKGS="$PKGS libjemalloc-dev"

missing=""
for p in $PKGS; do
    has_cmd "$p" && continue
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        SUDO="sudo"
    fi
    echo "install-deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $missing
fi

# The npm packages, each exactly as its package-lock.json pins it (only
# when the lockfile changed since the last install; scripts/npm-ci.sh): the
# OpenAPI linter of tests/lint/openapi.sh, the dashboard's libraries (web/)
# and the browser tests' driver (tests/browser/).
"$top/scripts/npm-ci.sh" "$top/tools/openapi-lint" "$top/web" "$top/tests/browser"
