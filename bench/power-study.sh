#!/bin/sh
# power-study.sh - the simulator study of docs/power.md (issue 11): narvik
# in July (PUE 1.195) with 230 MW, and a grid event that cuts the budget to
# 230, 200 or 170 MW for the second day; with 0, 10, 20 and 30 % more racks
# behind the same meters; three answers to a binding budget:
#   claims      capping, and a sovereign or guaranteed-quota job may claim
#               power from weaker tiers (power_claim, the default)
#   capping     capping alone: nothing starts while any job is capped
#               (--set power_claim=no, the rule before claims)
#   preemption  preemption only (--set power_capping=no)
# Prints a markdown table per seed made from `nordlys sim --json`, then the
# mean over the seeds of the main columns; keeps every run's JSON in OUT.
#
#   [MARGIN=0.015] [BUDGETS="230 200 170"] [PCTS="0 10 20 30"] [SEEDS="1"]
#   [MODES="claims capping preemption"] [OUT=dir] [FIGS=dir]
#   bench/power-study.sh NORDLYS_CLI [DAYS] [LOAD]          (defaults: 3 1.5)
#
# FIGS=dir also writes the study's figures there (SVG, bench/power_figures
# from the same build as NORDLYS_CLI; mean over the seeds).
#
# The workload is the synthetic gigafactory mix at LOAD of narvik's own
# capacity; with oversubscription the load is divided by (1 + PCT/100) so
# that every run is offered the same GPU-hours.
set -eu
cli=$1
days=${2:-3}
load=${3:-1.5}
budgets=${BUDGETS:-230 200 170}
pcts=${PCTS:-0 10 20 30}
seeds=${SEEDS:-1}
modes=${MODES:-claims capping preemption}
if [ -n "${OUT:-}" ]; then
    out=$OUT
    mkdir -p "$out"
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
july=1782864000 # 2026-07-01T00:00:00Z
for seed in $seeds; do
    for budget in $budgets; do
        printf '0 230MW\n1d %sMW\n2d 230MW\n' "$budget" >"$out/schedule-$budget"
        for pct in $pcts; do
            l=$(awk -v l="$load" -v p="$pct" 'BEGIN { printf "%.6f", l / (1 + p / 100) }')
            for mode in $modes; do
                f="$out/$seed-$budget-$pct-$mode.json"
                [ -s "$f" ] && continue # kept from an earlier run into the same OUT
                set -- --facility narvik --days "$days" --load "$l" --seed "$seed" --power \
                    --start-unix "$july" --budget-schedule "$out/schedule-$budget" \
                    --oversubscribe "$pct" --json
                [ "$mode" = capping ] && set -- "$@" --set power_claim=no
                [ "$mode" = preemption ] && set -- "$@" --set power_capping=no
                [ -n "${MARGIN:-}" ] && set -- "$@" --set "power_margin=$MARGIN"
                "$cli" sim "$@" >"$f.tmp"
                mv "$f.tmp" "$f"
            done
        done
    done
done

# One row per run: seed budget pct mode, then the columns both outputs use.
tsv="$out/runs.tsv"
: >"$tsv"
for seed in $seeds; do
    for budget in $budgets; do
        for pct in $pcts; do
            for mode in $modes; do
                jq -r --arg s "$seed" --arg b "$budget" --arg p "$pct" --arg m "$mode" '
                    [$s, $b, $p, $m, (.gpu_hours_work / (.makespan_s / 86400)), .utilization,
                     .by_tier.sovereign.wait_s.p95, .by_tier.anchor.wait_s.p95,
                     .by_tier.regional.wait_s.p95, .jct_s.p95, .power.caps, .power.preemptions,
                     (.power.claims_preempt // 0), (.power.claims_cap // 0),
                     .power.real_peak_w, .power.real_over_budget_s, .power.real_over_budget_max_w,
                     .violations.total] | @tsv' "$out/$seed-$budget-$pct-$mode.json" >>"$tsv"
            done
        done
    done
done

awk -F '\t' '
function dur(s) {
    if (s < 120) return sprintf("%d s", s)
    if (s < 7200) return sprintf("%d min", s / 60)
    return sprintf("%.1f h", s / 3600)
}
BEGIN { split("", seen) }
{
    if (!($1 in seen)) {
        seen[$1] = 1
        printf "\nSeed %s:\n\n", $1
        print "| day-2 budget | over | answer | useful GPU-h/day | util | sovereign wait p95 | anchor wait p95 | regional wait p95 | JCT p95 | caps | power preemptions | claims (preempt/cap) | real draw peak | real over budget | violations |"
        print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    }
    printf "| %s MW | %s %% | %s | %d | %.1f %% | %s | %s | %s | %s | %d | %d | %d/%d | %.1f MW | %d s, at most %.2f MW | %d |\n",
        $2, $3, $4, $5, $6 * 100, dur($7), dur($8), dur($9), dur($10), $11, $12, $13, $14,
        $15 / 1e6, $16, $17 / 1e6, $18
    k = $2 SUBSEP $3 SUBSEP $4
    if (!(k in n)) order[++nk] = k
    n[k]++; gph[k] += $5; sov[k] += $7; anc[k] += $8; reg[k] += $9; jct[k] += $10
    pre[k] += $12; peak[k] += $15; overs[k] += $16; viol[k] += $18
}
END {
    printf "\nMean over the seeds:\n\n"
    print "| day-2 budget | over | answer | useful GPU-h/day | sovereign wait p95 | anchor wait p95 | regional wait p95 | JCT p95 | power preemptions | real draw peak | real over budget | violations |"
    print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, f, SUBSEP); c = n[k]
        printf "| %s MW | %s %% | %s | %d | %s | %s | %s | %s | %d | %.1f MW | %d s | %d |\n",
            f[1], f[2], f[3], gph[k] / c, dur(sov[k] / c), dur(anc[k] / c), dur(reg[k] / c),
            dur(jct[k] / c), pre[k] / c, peak[k] / c / 1e6, overs[k] / c, viol[k]
    }
}' "$tsv"

if [ -n "${FIGS:-}" ]; then
    figs=$(dirname "$(dirname "$(dirname "$cli")")")/bench/power_figures
    mkdir -p "$FIGS"
    "$figs" "$FIGS" <"$tsv"
fi
