#!/bin/sh
# One line per policy from a `nordlys sim --json` report (jq).
#   bench/summarize.sh REPORT.json LABEL
set -eu
jq -r --arg name "$2" '(if .runs then .runs else [.] end)[] |
  "\($name) \(.policy): jobs=\(.jobs) util=\(.utilization*1000|round/10)% jct_mean=\(.jct_s.mean|round)s wait_mean=\(.wait_s.mean|round)s sovereign_wait_p95=\(.by_tier.sovereign.wait_s.p95|round)s preemptions=\(.preemptions) violations=\(.violations.total) wall=\(.wall_s*100|round/100)s events/s=\(.events_per_s|round)"' "$1"
