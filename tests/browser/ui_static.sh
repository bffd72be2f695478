#!/bin/sh
# ui_static: nordlysd serving the dashboard's files under /ui/ (curl, no
# browser): public files with their content types, a strict CSP, nosniff
# and ETag revalidation; nothing outside the loaded files reachable (no
# traversal, no hidden files, no other methods); the API still needs its
# token; and a --ui-dir that cannot be read answers 404 saying why.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
[ -f "$NL_UI_DIR/index.html" ] || nl_fail "the dashboard is not built in $NL_UI_DIR"
# A copy, with files that must never be served beside it.
cp -r "$NL_UI_DIR" "$NL_TMP/web"
echo NOT-SERVED-7f3a >"$NL_TMP/web/.hidden.js"
echo NOT-SERVED-7f3a >"$NL_TMP/secret.js"
mkdir "$NL_TMP/web/sub" && echo NOT-SERVED-7f3a >"$NL_TMP/web/sub/x.js"
nl_ctld_start "$NL_TMP/state" --ui-dir "$NL_TMP/web"

# get PATH [CURL ARGS..]: status in CODE, headers in $NL_TMP/h, body in $NL_TMP/b (no token).
get() {
    _p=$1
    shift
    rm -f "$NL_TMP/b"
    CODE=$(curl -sS -m 60 --path-as-is -o "$NL_TMP/b" -D "$NL_TMP/h" -w '%{http_code}' "$@" "$NL_URL$_p") ||
        nl_fail "curl $_p failed"
}
header() { grep -i "^$1:" "$NL_TMP/h" | cut -d' ' -f2- | tr -d '\r'; }

get /ui/
[ "$CODE" = 200 ] || nl_fail "/ui/: $CODE"
cmp -s "$NL_TMP/b" "$NL_UI_DIR/index.html" || nl_fail "/ui/ is not index.html"
[ "$(header Content-Type)" = "text/html; charset=utf-8" ] || nl_fail "/ui/ type: $(header Content-Type)"
case "$(header Content-Security-Policy)" in
"default-src 'self';"*"frame-ancestors 'none'") ;;
*) nl_fail "/ui/ CSP: $(header Content-Security-Policy)" ;;
esac
[ "$(header X-Content-Type-Options)" = nosniff ] || nl_fail "/ui/: no nosniff"
[ "$(header Cache-Control)" = no-cache ] || nl_fail "/ui/ Cache-Control: $(header Cache-Control)"
for f in app.js rackmap.js uPlot.esm.js; do
    get "/ui/$f"
    [ "$CODE" = 200 ] && [ "$(header Content-Type)" = "text/javascript; charset=utf-8" ] ||
        nl_fail "/ui/$f: $CODE $(header Content-Type)"
    cmp -s "$NL_TMP/b" "$NL_UI_DIR/$f" || nl_fail "/ui/$f differs from the built file"
done
get /ui/app.css
[ "$(header Content-Type)" = "text/css; charset=utf-8" ] || nl_fail "app.css type: $(header Content-Type)"
# Revalidation: the ETag gives 304 with no body; another ETag the file.
get /ui/app.js
etag=$(header ETag)
get /ui/app.js -H "If-None-Match: $etag"
[ "$CODE" = 304 ] && [ ! -s "$NL_TMP/b" ] || nl_fail "If-None-Match $etag: $CODE"
get /ui/app.js -H 'If-None-Match: "0000000000000000"'
[ "$CODE" = 200 ] || nl_fail "a stale ETag: $CODE"
# /ui without the slash: to /ui/.
get /ui
[ "$CODE" = 308 ] && [ "$(header Location)" = /ui/ ] || nl_fail "/ui: $CODE $(header Location)"
# Nothing but the loaded files: traversal raw and encoded, hidden files, subdirectories.
for p in /ui/../secret.js /ui/..%2fsecret.js /ui/%2e%2e/secret.js /ui/.hidden.js /ui/sub/x.js \
    /ui/sub /ui//app.js /ui/app.js/ /ui/nordlys.db /ui/%2e%2e%2fstate%2fjwt.key; do
    get "$p"
    [ "$CODE" = 404 ] || [ "$CODE" = 400 ] || nl_fail "$p: $CODE (expected 404 or 400)"
    grep -q NOT-SERVED-7f3a "$NL_TMP/b" && nl_fail "$p served a file outside the dashboard"
done
get /ui/app.js -X POST -H 'Content-Type: application/json' --data-binary '{}'
[ "$CODE" = 405 ] || nl_fail "POST /ui/app.js: $CODE"
# The files are public; the data is not.
get /v1/facility
[ "$CODE" = 401 ] || nl_fail "/v1/facility without a token: $CODE"

# A --ui-dir that cannot be read: the controller runs, /ui/ says why.
nl_ctld_start "$NL_TMP/state2" --ui-dir "$NL_TMP/no-such-dir"
get /ui/
[ "$CODE" = 404 ] && grep -q "no-such-dir: No such file or directory" "$NL_TMP/b" ||
    nl_fail "/ui/ without the dashboard: $CODE $(cat "$NL_TMP/b")"
grep -q "no dashboard under /ui/" "$NL_LOG" || nl_fail "no warning in the log"
echo "ui_static: ok"
