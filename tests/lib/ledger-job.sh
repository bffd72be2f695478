#!/bin/sh
# SPDX-License-Identifier: MIT
# ledger-job.sh LEDGER SECONDS: a test job that records its run in LEDGER.
#
# Under an exclusive lock on LEDGER.lock it appends "start JOB RUN PID",
# and before that checks every earlier run of the same job that has a
# start line but no end line: if that run's process is still alive, two
# runs of the job overlap and it appends "OVERLAP JOB RUN PID" first.
# Then it sleeps SECONDS (0: none) and appends "end JOB RUN PID" under the
# lock. A run killed with SIGKILL leaves no end line; its pid is dead by
# the time another run starts, unless it was not killed, which is exactly
# what the ledger is for. The job id and run come from NORDLYS_JOB_ID and
# NORDLYS_RUN, which every launch carries.
L=$1
S=${2:-0}
J=${NORDLYS_JOB_ID:?}
R=${NORDLYS_RUN:?}
exec 9>>"$L.lock"
flock 9
for p in $(awk -v j="$J" '$1 == "start" && $2 == j { s[$4] = 1 } $1 == "end" && $2 == j { delete s[$4] }
                          END { for (p in s) print p }' "$L"); do
    # Alive, and still this job's ledger run (not a reused pid).
    if kill -0 "$p" 2>/dev/null && tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | grep -q ledger-job &&
        tr '\0' '\n' </proc/"$p"/environ 2>/dev/null | grep -qx "NORDLYS_JOB_ID=$J"; then
        echo "OVERLAP $J $R $$ with $p" >>"$L"
    fi
done
echo "start $J $R $$" >>"$L"
flock -u 9
[ "$S" = 0 ] || sleep "$S"
flock 9
echo "end $J $R $$" >>"$L"
