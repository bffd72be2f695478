# SPDX-License-Identifier: MIT
# ledger.sh - jobs that record their runs, and the check that no two runs
# of one job were alive at the same time. Source after daemon.sh.
#
#   nl_ledger_init               LEDGER=$NL_TMP/ledger (empty)
#   nl_ledger_facility           the fault suite's start: a temp dir, the
#                                ledger, and a controller on $NL_TMP/state
#                                with quick timers (node timeout 3 s); sets
#                                NODES (comma list) and NNODES
#   nl_ledger_body SECONDS [JSON]  a job request body (JSON) whose command is
#                                tests/lib/ledger-job.sh LEDGER SECONDS; JSON
#                                adds fields (',"gpus":4')
#   nl_ledger_check              fail if any run of a job started while an
#                                earlier run of it was alive; prints a summary
#   nl_ledger_starts JOB         how many runs of JOB started
#   nl_ledger_alive              pids of ledger runs still alive, one a line

nl_ledger_init() {
    LEDGER="$NL_TMP/ledger"
    : >"$LEDGER"
}

nl_ledger_facility() {
    nl_tmpdir
    nl_ledger_init
    nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100 --node-timeout-ms 3000
    NODES=$(nl_nodes | paste -sd, -)
    NNODES=$(nl_nodes | wc -l)
}

nl_ledger_body() {
    printf '{"name":"ledger","command":["sh","%s","%s","%s"]%s}' \
        "$NL_TEST_LIB/ledger-job.sh" "$LEDGER" "$1" "${2:-}"
}

nl_ledger_check() {
    if grep -q '^OVERLAP' "$LEDGER"; then
        nl_fail "two runs of one job were alive at once: $(grep '^OVERLAP' "$LEDGER" | head -5 | paste -sd';' -)"
    fi
    echo "ledger: $(grep -c '^start' "$LEDGER") starts, $(grep -c '^end' "$LEDGER") ends, no overlap"
}

nl_ledger_starts() {
    awk -v j="$1" '$1 == "start" && $2 == j' "$LEDGER" | wc -l
}

nl_ledger_alive() {
    for _p in $(awk '$1 == "start" { print $4 }' "$LEDGER"); do
        if kill -0 "$_p" 2>/dev/null && tr '\0' ' ' </proc/"$_p"/cmdline 2>/dev/null | grep -q ledger-job; then
            echo "$_p"
        fi
    done
    return 0
}
