#!/bin/sh
# crash_retry: the controller is SIGKILLed again and again during a burst of
# submissions from the real CLI, which sends an Idempotency-Key and retries
# a lost answer under it (issue 9). Four clients run `nordlys submit` one
# job at a time, each under its own key; the controller is killed after
# every K acknowledged submissions (the clients' progress, not the clock)
# and restarted on the same state directory and port. The jobs are ledger
# jobs (tests/lib/ledger.sh) run by two real agents. Afterwards:
# - every invocation succeeded, each key got one job, no job two keys;
# - zero duplicates: the controller stores exactly one job per invocation;
# - zero lost: every acknowledged job is there, COMPLETED, and ran to its
#   end exactly once, and no two runs of a job were ever alive together.
# NL_CRASH_RETRY_JOBS (default 400) sets the number of submissions.
set -u
. "$NL_TEST_LIB/daemon.sh"
. "$NL_TEST_LIB/ledger.sh"
nl_tmpdir
nl_ledger_init
NJOBS=${NL_CRASH_RETRY_JOBS:-400}
NCLIENTS=4
S="$NL_TMP/state"
cat >"$NL_TMP/facility.conf" <<EOC
name = crashretry
[site osl]
jurisdiction = NO
racks = 4
racks_per_pod = 4
nodes_per_rack = 8
gpus_per_node = 4
EOC
# synchronous=normal: a WAL commit survives the death of the process, which
# is the fault here (see crash.sh).
ARGS="--facility $NL_TMP/facility.conf --sched-interval-ms 10 --sync-interval-ms 50"
ARGS="$ARGS --node-timeout-ms 5000 --synchronous normal"
nl_ctld_start "$S" $ARGS
PORT=$NL_PORT
nl_agents_start 2

# The same key twice is one job: the second answer is the first job (200, not 201).
nl_cli submit --json --idempotency-key probe-1 --name ledger -- sh "$NL_TEST_LIB/ledger-job.sh" "$LEDGER" 0
[ "$NL_RC" = 0 ] || nl_fail "probe submit: exit $NL_RC: $NL_ERR"
P1=$(printf '%s' "$NL_OUT" | jq -r .job.id)
nl_cli submit --json --idempotency-key probe-1 --name ledger -- sh "$NL_TEST_LIB/ledger-job.sh" "$LEDGER" 0
[ "$NL_RC" = 0 ] || nl_fail "probe submit again: exit $NL_RC: $NL_ERR"
P2=$(printf '%s' "$NL_OUT" | jq -r .job.id)
[ "$P1" = "$P2" ] || nl_fail "the same Idempotency-Key made two jobs: $P1 and $P2"

# client C N: N submissions one after another, each under its own key; one
# line "KEY EXIT ID" per invocation in cC.out, the CLI's messages in cC.err.
# After five sixths it waits for the file "last" (made after the fourth kill):
# however fast the clients and slow the restarts, they are there for every kill.
client() {
    _k=0
    while [ $_k -lt "$2" ]; do
        if [ $_k = $(($2 * 5 / 6)) ]; then
            : >"$NL_TMP/sub$1.waits"
            while [ ! -e "$NL_TMP/last" ]; do sleep 0.05; done
        fi
        _k=$((_k + 1))
        "$NORDLYS_CLI" submit --parsable --retry-s 300 --idempotency-key "crash-$1-$_k" --name ledger \
            -- sh "$NL_TEST_LIB/ledger-job.sh" "$LEDGER" 0 >"$NL_TMP/sub$1.id" 2>>"$NL_TMP/sub$1.err"
        _rc=$?
        echo "crash-$1-$_k $_rc $(cat "$NL_TMP/sub$1.id")" >>"$NL_TMP/sub$1.out"
    done
}
T0=$(date +%s)
CLIENTS=""
c=0
while [ $c -lt $NCLIENTS ]; do
    : >"$NL_TMP/sub$c.out"
    # The tag makes the cleanup find a CLI still retrying if the test fails.
    (NL_TEST_TAG=$NL_TMP && export NL_TEST_TAG && client $c $(((NJOBS + c) / NCLIENTS))) &
    CLIENTS="$CLIENTS $!"
    c=$((c + 1))
done
NL_PIDS="$NL_PIDS $CLIENTS"
running() {
    for _c in $CLIENTS; do
        kill -0 "$_c" 2>/dev/null && return 0
    done
    return 1
}
nacked() { cat "$NL_TMP"/sub*.out | awk '$2 == 0' | wc -l; }
waiting() { [ "$(ls "$NL_TMP"/sub*.waits 2>/dev/null | wc -l)" = "$NCLIENTS" ]; }

# Kill the controller after every K acknowledged submissions, 4 times.
K=$((NJOBS / 6))
KILLS=0
while [ $KILLS -lt 4 ]; do
    want=$((K * (KILLS + 1)))
    nl_wait_until '[ "$(nacked)" -ge '$want' ] || waiting || ! running' 120 "$want acknowledged submissions"
    running || nl_fail "the clients ended after $KILLS kills with $(nacked) acknowledged"
    nl_ctld_kill9
    KILLS=$((KILLS + 1))
    nl_ctld_start "$S" --listen "127.0.0.1:$PORT" $ARGS
done
: >"$NL_TMP/last"
# The rest of the submissions, at the machine's pace: a failure only when none
# is acknowledged for 120 s.
_acked=-1
while running; do
    _n=$(nacked)
    if [ "$_n" -gt "$_acked" ]; then
        _acked=$_n
        _deadline=$(($(date +%s) + 120))
    fi
    [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "the clients acknowledged nothing for 120 s ($_n so far)"
    sleep 0.2
done
wait $CLIENTS 2>/dev/null
T1=$(date +%s)

cat "$NL_TMP"/sub*.out >"$NL_TMP/all.out"
NINV=$(wc -l <"$NL_TMP/all.out")
[ "$NINV" = "$NJOBS" ] || nl_fail "$NINV invocations recorded, $NJOBS made"
bad=$(awk '$2 != 0 || $3 !~ /^[0-9]+$/' "$NL_TMP/all.out" | head -5)
[ -z "$bad" ] || nl_fail "submissions that failed: $bad; $(cat "$NL_TMP"/sub*.err | grep -v retrying | head -5)"
awk '{ print $3 }' "$NL_TMP/all.out" | LC_ALL=C sort >"$NL_TMP/acked"
echo "$P1" >>"$NL_TMP/acked"
LC_ALL=C sort -o "$NL_TMP/acked" "$NL_TMP/acked"
dup=$(uniq -d "$NL_TMP/acked" | head -5)
[ -z "$dup" ] || nl_fail "one job answered to two keys: $dup ($(grep -E " ($(echo "$dup" | paste -sd'|' -))\$" "$NL_TMP/all.out" | head -6 | paste -sd';' -))"
# Retried invocations; those whose first answer was lost after the request went
# out (not a refused connection) are the ones that would have made duplicates.
NRETRIED=$(cat "$NL_TMP"/sub*.err | grep -c 'retrying')
NLOST=$(cat "$NL_TMP"/sub*.err | grep 'retrying' | grep -vc 'Connection refused')

# Every job ends.
nl_wait_drained 60
T2=$(date +%s)

# Zero duplicates, zero lost: the stored jobs are exactly the acknowledged ones.
nl_http GET "/v1/jobs?limit=100000"
nl_expect 200
printf '%s' "$NL_BODY" | jq -r '.jobs[].id' | LC_ALL=C sort >"$NL_TMP/stored"
NSTORED=$(wc -l <"$NL_TMP/stored")
extra=$(LC_ALL=C comm -13 "$NL_TMP/acked" "$NL_TMP/stored" | head -5)
[ -z "$extra" ] || nl_fail "$NSTORED jobs stored for $((NINV + 1)) keys: duplicates $extra"
missing=$(LC_ALL=C comm -23 "$NL_TMP/acked" "$NL_TMP/stored" | head -5)
[ -z "$missing" ] || nl_fail "acknowledged jobs lost: $missing"
notdone=$(printf '%s' "$NL_BODY" | jq -r '.jobs[] | select(.state != "COMPLETED" or .exit_code != 0) | "\(.id) \(.state) \(.exit_code) \(.exit_reason)"' | head -5)
[ -z "$notdone" ] || nl_fail "jobs not COMPLETED: $notdone"

# Each ran to its end exactly once, and no two runs of one job overlapped.
nl_ledger_check
awk '$1 == "end" { print $2 }' "$LEDGER" | LC_ALL=C sort >"$NL_TMP/ended"
twice=$(uniq -d "$NL_TMP/ended" | head -5)
[ -z "$twice" ] || nl_fail "jobs that ran to their end twice: $twice"
notrun=$(LC_ALL=C comm -23 "$NL_TMP/stored" "$NL_TMP/ended" | head -5)
[ -z "$notrun" ] || nl_fail "COMPLETED jobs with no run in the ledger: $notrun"
[ -z "$(nl_ledger_alive)" ] || nl_fail "ledger runs still alive: $(nl_ledger_alive)"
echo "crash_retry: $NINV submissions under $KILLS kills in $((T1 - T0)) s ($NRETRIED retried, $NLOST after a lost answer);" \
    "$NSTORED jobs stored, each COMPLETED once, within $((T2 - T0)) s"
