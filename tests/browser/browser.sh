# SPDX-License-Identifier: MIT
# browser.sh - what the browser tests need, sourced after tests/lib/daemon.sh:
#   nl_browser_skip MSG   print SKIP: MSG and exit 77 (ctest's skip code here)
#   nl_browser_require    skip unless node, chromium ($NL_CHROMIUM, default
#                         /usr/bin/chromium), playwright-core (npm ci in
#                         tests/browser) and the built dashboard ($NL_UI_DIR)
#                         are there; sets CHROMIUM and NL_BROWSER_DIR
NL_BROWSER_DIR=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${NL_CHROMIUM:-/usr/bin/chromium}

nl_browser_skip() {
    echo "SKIP: $*" >&2
    exit 77
}

nl_browser_require() {
    command -v node >/dev/null 2>&1 || nl_browser_skip "node is not installed (scripts/install-deps.sh)"
    [ -x "$CHROMIUM" ] ||
        nl_browser_skip "$CHROMIUM is missing (Debian package chromium; scripts/install-deps.sh)"
    [ -f "$NL_BROWSER_DIR/node_modules/playwright-core/package.json" ] ||
        nl_browser_skip "playwright-core is not installed: scripts/npm-ci.sh tests/browser"
    [ -f "$NL_UI_DIR/index.html" ] ||
        nl_browser_skip "the dashboard is not built in $NL_UI_DIR (target nl_web)"
}
