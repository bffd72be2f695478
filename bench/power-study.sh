#!/bin/sh
# power-study.sh - the simulator study of docs/power.md (issue 11): narvik
# in July (PUE 1.195) with 230 MW, and a grid event that cuts the budget to
# 230, 200 or 170 MW for the second day; with 0, 10, 20 and 30 % more racks
# behind the same meters; capping against preemption-only. Prints a
# markdown table made from `nordlys sim --json`.
#
#   [MARGIN=0.015] [BUDGETS="230 200 170"] bench/power-study.sh NORDLYS_CLI [DAYS] [LOAD] [SEED]
#                                                             (defaults: 3 1.5 1)
#
# The workload is the synthetic gigafactory mix at LOAD of narvik's own
# capacity; with oversubscription the load is divided by (1 + PCT/100) so
# that every run is offered the same GPU-hours.
set -eu
cli=$1
days=${2:-3}
load=${3:-1.5}
seed=${4:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
july=1782864000 # 2026-07-01T00:00:00Z
for budget in ${BUDGETS:-230 200 170}; do
    printf '0 230MW\n1d %sMW\n2d 230MW\n' "$budget" >"$out/schedule-$budget"
    for pct in 0 10 20 30; do
        l=$(awk -v l="$load" -v p="$pct" 'BEGIN { printf "%.6f", l / (1 + p / 100) }')
        for mode in capping preemption; do
            set -- --facility narvik --days "$days" --load "$l" --seed "$seed" --power \
                --start-unix "$july" --budget-schedule "$out/schedule-$budget" \
                --oversubscribe "$pct" --json
            [ "$mode" = preemption ] && set -- "$@" --set power_capping=no
            [ -n "${MARGIN:-}" ] && set -- "$@" --set "power_margin=$MARGIN"
            "$cli" sim "$@" >"$out/$budget-$pct-$mode.json"
        done
    done
done
echo "| day-2 budget | over | answer | useful GPU-h/day | util | sovereign wait p95 | anchor wait p95 | regional wait p95 | JCT p95 | caps | power preemptions | real draw peak | real over budget | violations |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for budget in ${BUDGETS:-230 200 170}; do
    for pct in 0 10 20 30; do
        for mode in capping preemption; do
            jq -r --arg b "$budget" --arg p "$pct" --arg m "$mode" '
                def dur: if . < 120 then "\(. | floor) s" elif . < 7200 then "\(. / 60 | floor) min"
                         else "\(. / 360 | floor / 10) h" end;
                "| \($b) MW | \($p) % | \($m) | \(.gpu_hours_work / (.makespan_s / 86400) | floor)"
                + " | \(.utilization * 1000 | floor / 10) %"
                + " | \(.by_tier.sovereign.wait_s.p95 | dur) | \(.by_tier.anchor.wait_s.p95 | dur)"
                + " | \(.by_tier.regional.wait_s.p95 | dur) | \(.jct_s.p95 | dur)"
                + " | \(.power.caps) | \(.power.preemptions)"
                + " | \(.power.real_peak_w / 1e5 | floor / 10) MW"
                + " | \(.power.real_over_budget_s | floor) s, at most \(.power.real_over_budget_max_w / 1e4 | floor / 100) MW"
                + " | \(.violations.total) |"' \
                "$out/$budget-$pct-$mode.json"
        done
    done
done
