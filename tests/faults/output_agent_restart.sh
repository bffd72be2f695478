#!/bin/sh
# SPDX-License-Identifier: MIT
# output_agent_restart (issue 12): an agent SIGKILLed while its job's output
# streams to the controller loses no byte the controller acknowledged, and
# the stream stays in order.
# 1. A job (requeue on) prints "rRUN N" for N = 1, 2, ..., a line every 10 ms:
#    run 1 until it is killed, later runs up to 300.
# 2. Once the controller holds at least 40 of its lines (progress, not time),
#    the agent is SIGKILLed (the job dies with it) and restarted; the job is
#    requeued and its run 2 prints all its lines and completes.
# 3. The stream (nordlys output) is: run 1's lines 1..K in order with K at
#    least what was held before the kill (nothing acknowledged was lost),
#    then run 2's lines 1..300 in order, each once; run 1's last line may be
#    cut where its agent died, and then run 2's first line follows it.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100 --node-timeout-ms 3000
NODES=$(nl_nodes | paste -sd, -)
nl_agent_start a0 --nodes "$NODES"
A0=$NL_AGENT_PID
nl_wait "/v1/nodes?state=up" '(.nodes | length) > 0'

# Run 1 prints until it is killed: had it printed only 300 lines, a slow test
# could see its 40th line after its end, and nothing would die with the agent.
J=$(nl_submit '{"requeue":true,"command":["sh","-c","i=1; while [ $NORDLYS_RUN = 1 ] || [ $i -le 300 ]; do echo r$NORDLYS_RUN $i; i=$((i + 1)); sleep 0.01; done"]}')
held_lines() {
    nl_http GET "/v1/jobs/$J/output"
    nl_json '.data | @base64d' | grep -c '^r1 [0-9]*$'
}
nl_wait_until "[ \$(held_lines) -ge 40 ]" 60 "40 lines of job $J's output at the controller"
BEFORE=$(held_lines)
kill -9 "$A0"
wait "$A0" 2>/dev/null
echo "agent killed with $BEFORE lines of run 1 held"
nl_agent_start a0 --nodes "$NODES"
nl_wait "/v1/jobs/$J" '.job.state == "COMPLETED" and .job.run == 2' 90
nl_cli output "$J"
[ "$NL_RC" = 0 ] || nl_fail "nordlys output: $NL_RC $NL_ERR"
printf '%s\n' "$NL_OUT" >"$NL_TMP/stream"
# Check the stream: r1 1..K, then (maybe one cut r1 line joined to) r2 1..300.
awk -v before="$BEFORE" '
    BEGIN { r1 = 0; r2 = 0; mixed = 0; bad = "" }
    /^r1 [0-9]+$/ && r2 == 0 { if ($2 != r1 + 1) bad = bad " r1:" $2 " after " r1; r1 = $2; next }
    /r2 [0-9]+$/ {
        if ($0 !~ /^r2 [0-9]+$/) { if (r2 != 0 || mixed++) bad = bad " mixed:" $0 }
        n = $NF; if (n != r2 + 1) bad = bad " r2:" n " after " r2; r2 = n; next
    }
    { if (r2 == 0 && !mixed++) next; bad = bad " stray:" $0 }
    END {
        if (r1 < before) bad = bad " run 1 has " r1 " lines, fewer than the " before " held before the kill"
        if (r2 != 300) bad = bad " run 2 ends at " r2
        if (bad != "") { print "bad stream:" bad; exit 1 }
        print "stream: run 1 lines 1.." r1 " (" before " held at the kill), run 2 lines 1..300, in order"
    }' "$NL_TMP/stream" || nl_fail "job $J's stream is out of order or lost bytes: $(head -c 600 "$NL_TMP/stream")"
nl_http GET "/v1/jobs/$J/output"
nl_expect 200 '.complete and .run == 2'
echo "output_agent_restart: ok"
