#!/bin/sh
# browser_queue_100k: 100,000 jobs queued (bench_submit, 16 connections, on
# a controller with no agents, so every job stays pending), then the
# dashboard's jobs and facility views in chromium stay responsive
# (queue.mjs). Skipped (77) as dashboard.sh is, and without bench_submit.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$(dirname "$0")/browser.sh"
JOBS=${NL_QUEUE_JOBS:-100000}
nl_browser_require
[ -x "${NL_BENCH_SUBMIT:-}" ] || nl_browser_skip "bench_submit is not built"
nl_tmpdir
# synchronous=normal: the queue is the test's input, not its subject.
nl_ctld_start "$NL_TMP/state" --ui-dir "$NL_UI_DIR" --tenant-queue-max 200000 \
    --synchronous normal --sched-interval-ms 1000
NORDLYS_TOKEN=$NL_TOKEN "$NL_BENCH_SUBMIT" --url "$NL_URL" --conns 16 --jobs "$JOBS" --warmup 0 \
    --body '{"tenant":"anchor","gpus":4,"command":["sleep","600"]}' >"$NL_TMP/submit.json" ||
    nl_fail "bench_submit failed: $(cat "$NL_TMP/submit.json")"
nl_wait /v1/facility ".jobs_pending == $JOBS" 60
QUEUE_URL=$NL_URL QUEUE_TOKEN=$NL_TOKEN QUEUE_JOBS=$JOBS CHROMIUM=$CHROMIUM \
    node "$NL_BROWSER_DIR/queue.mjs" || nl_fail "queue.mjs failed (above)"
