#!/bin/sh
# npm-ci.sh DIR...: install each DIR's node_modules exactly as its
# package-lock.json pins it, only when needed. The stamp is the lockfile's
# hash, written only after npm ci succeeded: a changed lockfile or an
# interrupted install means a fresh npm ci, an unchanged one means none.
# No install scripts run: none of our packages needs one (playwright-core's
# would download browsers; the browser tests use Debian's chromium).
set -eu
for dir in "$@"; do
    want=$(sha256sum <"$dir/package-lock.json" | cut -d' ' -f1)
    stamp="$dir/node_modules/.nordlys-lock.sha256"
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
        echo "npm-ci: npm ci in $dir" >&2
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund)
        echo "$want" >"$stamp"
    fi
done
