#!/bin/sh
# docs/openapi.yaml passes a standard OpenAPI linter with its recommended
# rules (issue 10): Redocly CLI, pinned in tools/openapi-lint, with
# recommended-strict (the recommended ruleset, warnings failing too).
#
# The linter is a development dependency that scripts/install-deps.sh
# installs (make test runs it first). When it is missing or older than the
# lockfile this fails and says so, rather than skipping: a skipped lint
# would let the description drift unnoticed.
set -u
top=${1:-.}
tool="$top/tools/openapi-lint"
bin="$tool/node_modules/.bin/redocly"
stamp="$tool/node_modules/.nordlys-lock.sha256"

fail() {
    echo "lint_openapi: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 ||
    fail "node is not installed: run scripts/install-deps.sh (it installs nodejs and the linter)"
[ -x "$bin" ] ||
    fail "$bin is missing: run scripts/install-deps.sh (it runs npm ci in tools/openapi-lint)"
want=$(sha256sum <"$tool/package-lock.json" | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || echo none)
[ "$have" = "$want" ] ||
    fail "tools/openapi-lint/node_modules does not match package-lock.json: run scripts/install-deps.sh"
# An ignore file would silence findings without a reason written down;
# rules are turned off only in redocly.yaml, each with a comment.
for f in "$tool/.redocly.lint-ignore.yaml" "$top/.redocly.lint-ignore.yaml" "$top/docs/.redocly.lint-ignore.yaml"; do
    [ -e "$f" ] && fail "$f silences findings: fix docs/openapi.yaml or turn the rule off in redocly.yaml with a reason"
done

# No telemetry and no update check: the lint reads one local file and
# needs no network.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1 \
    "$bin" lint --config "$tool/redocly.yaml" --format codeframe "$top/docs/openapi.yaml" ||
    fail "docs/openapi.yaml has findings (above); fix the description, keeping it true to docs/api.md"
echo "lint_openapi: ok"
