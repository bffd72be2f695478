#!/bin/sh
# cli_script: what a Slurm user brings, through the nordlys command line
# against a real nordlysd and two real agents (the dev facility: 4 nodes of
# 4 GPUs, jobs as real processes).
# - An #SBATCH script written as for Slurm, submitted unchanged: its
#   directives set the job (name, time limit, GPUs, working directory), its
#   text travels with the job and runs under its #! interpreter with its
#   arguments, and the job sees the submitter's environment but never
#   NORDLYS_TOKEN.
# - The command line wins over a directive; an unknown directive is an
#   error naming FILE:LINE and creates no job.
# - A two-node script runs once, on the first node.
# - --time in Slurm's forms, seen as the job's time limit in `nordlys show`,
#   and the same forms for `nordlys update --time`.
# - --export=NONE and --export=VAR,VAR=value, seen inside the job.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
nl_ctld_start "$NL_TMP/state" --sched-interval-ms 10 --sync-interval-ms 100
nl_agents_start 2

expect_rc() {
    [ "$NL_RC" = "$1" ] || nl_fail "$2: exit $NL_RC, expected $1; stdout: $NL_OUT; stderr: $NL_ERR"
}
jshow() {
    "$NORDLYS_CLI" show "$1" --json | jq -r "$2"
}
wait_done() {
    _deadline=$(($(date +%s) + 60))
    until [ "$(jshow "$1" .job.state)" = COMPLETED ]; do
        case $(jshow "$1" .job.state) in
        FAILED | CANCELLED | TIMEOUT | NODE_FAIL) nl_fail "job $1 ended $(jshow "$1" .job.state): $("$NORDLYS_CLI" show "$1")" ;;
        esac
        [ "$(date +%s)" -lt "$_deadline" ] || nl_fail "job $1 did not complete: $("$NORDLYS_CLI" show "$1")"
        sleep 0.1
    done
}
# job_out ID: the job's stdout, from the file the controller names.
job_out() {
    cat "$(jshow "$1" .job.stdout)"
}
submitted_id() {
    printf '%s\n' "$NL_OUT" | sed -n 's/^submitted job \([0-9]*\).*/\1/p'
}
jobs_total() {
    nl_http GET "/v1/jobs?limit=1"
    nl_json .total
}

mkdir -p "$NL_TMP/work" "$NL_TMP/sub"
cd "$NL_TMP/sub" || nl_fail "cd"

# ---- an #SBATCH script, as a Slurm user writes it ----
cat >envdump.sh <<EOF
#!/bin/bash
#
# Dump the job's environment.
#SBATCH --job-name=envdump
#SBATCH --time=00:10:00      # ten minutes
#SBATCH -G 1
#SBATCH --chdir=$NL_TMP/work

set -e
echo "args: \$# \$1|\$2"
echo "cwd: \$(pwd)"
echo "shell: \${BASH_VERSION:+bash}"
env | sort
EOF
MY_VAR='hello world' nl_cli submit envdump.sh a1 "b 2"
expect_rc 0 "submit envdump.sh"
J=$(submitted_id)
[ -n "$J" ] || nl_fail "no job id in: $NL_OUT"
wait_done "$J"
[ "$(jshow "$J" '.job.name == "envdump" and .job.time_limit_s == 600 and .job.gpus == 1')" = true ] ||
    nl_fail "directives not applied: $("$NORDLYS_CLI" show "$J" --json)"
OUT=$(job_out "$J")
for want in "args: 2 a1|b 2" "cwd: $NL_TMP/work" "shell: bash" "MY_VAR=hello world" \
    "NORDLYS_JOB_ID=$J" "NORDLYS_URL=$NL_URL"; do
    printf '%s\n' "$OUT" | grep -qxF -- "$want" || nl_fail "job $J output lacks '$want': $OUT"
done
printf '%s\n' "$OUT" | grep -q '^NORDLYS_TOKEN=' && nl_fail "the job saw NORDLYS_TOKEN: $OUT"
# `nordlys show` names the script, not its text.
nl_cli show "$J"
printf '%s\n' "$NL_OUT" | grep -Eq '^  command +batch script envdump.sh \([0-9]+ bytes, /bin/bash\) a1 b 2$' ||
    nl_fail "show's command line: $NL_OUT"

# ---- a relative --chdir is taken from where submit runs, as sbatch does ----
printf '#!/bin/sh\n#SBATCH --chdir=rel\npwd\n' >rel.sh
mkdir -p rel
nl_cli submit --parsable rel.sh
expect_rc 0 "submit rel.sh"
[ "$(jshow "$NL_OUT" .job.cwd)" = "$NL_TMP/sub/rel" ] || nl_fail "relative --chdir: $(jshow "$NL_OUT" .job.cwd)"

# ---- the command line wins over a directive ----
nl_cli submit --parsable --time 2-00 --name other --export NONE envdump.sh
expect_rc 0 "submit with overrides"
O=$NL_OUT
[ "$(jshow "$O" '.job.name == "other" and .job.time_limit_s == 172800')" = true ] ||
    nl_fail "the command line did not win: $("$NORDLYS_CLI" show "$O" --json)"
wait_done "$O"

# ---- an unknown or malformed directive: an error naming FILE:LINE, and no job ----
BEFORE=$(jobs_total)
printf '#!/bin/sh\n#SBATCH -J x\n#SBATCH --mem=4G\ntrue\n' >bad.sh
nl_cli submit bad.sh
expect_rc 2 "unknown directive"
[ "$NL_ERR" = "nordlys submit: bad.sh:3: #SBATCH --mem is not supported by nordlys (docs/users.md lists what is)" ] ||
    nl_fail "unknown directive's message: $NL_ERR"
printf '#!/bin/sh\n\n#NORDLYS --time 1:99\ntrue\n' >bad2.sh
nl_cli submit bad2.sh
expect_rc 2 "bad directive value"
printf '%s\n' "$NL_ERR" | grep -q "^nordlys submit: bad2.sh:3: #NORDLYS --time: --time: '1:99' is not a time limit" ||
    nl_fail "bad directive value's message: $NL_ERR"
[ "$(jobs_total)" = "$BEFORE" ] || nl_fail "a refused script created a job"

# ---- a two-node script runs once, on the first node ----
cat >twonode.sh <<EOF
#!/bin/sh
#NORDLYS --gpus 8
echo "rank \$NORDLYS_NODE_RANK of \$WORLD_SIZE" >>$NL_TMP/twonode.log
EOF
nl_cli submit --parsable twonode.sh
expect_rc 0 "submit twonode.sh"
T=$NL_OUT
wait_done "$T"
[ "$(jshow "$T" '.job.nodes | length')" = 2 ] || nl_fail "job $T is not on two nodes"
[ "$(cat "$NL_TMP/twonode.log")" = "rank 0 of 2" ] ||
    nl_fail "the script did not run exactly once on the first node: $(cat "$NL_TMP/twonode.log")"

# ---- --time in Slurm's forms: a bare number is minutes ----
while read -r v want; do
    nl_cli submit --parsable --time "$v" -- true
    expect_rc 0 "submit --time $v"
    got=$(jshow "$NL_OUT" .job.time_limit_s)
    [ "$got" = "$want" ] || nl_fail "--time $v: time_limit_s $got, expected $want"
done <<EOF
90 5400
05:30 330
1:30:00 5400
1-12 129600
2h 7200
1h30m 5400
EOF
nl_cli submit --parsable --time 90 -- true
nl_cli show "$NL_OUT"
printf '%s\n' "$NL_OUT" | grep -Eq '^  time limit +1h ?30m$' || nl_fail "show of --time 90: $NL_OUT"
nl_cli submit --time 1:2:3:4 -- true
expect_rc 2 "bad --time"
printf '%s\n' "$NL_ERR" | grep -q "^nordlys submit: --time: '1:2:3:4' is not a time limit" ||
    nl_fail "bad --time's message: $NL_ERR"

# `nordlys update --time` reads the same forms (a pending job: the facility is full).
B=$(nl_submit '{"name":"blocker","gpus":16,"command":["sleep","600"],"grace_s":0}')
nl_wait "/v1/jobs/$B" '.job.state == "RUNNING"'
nl_cli submit --parsable --time 5 -- true
P=$NL_OUT
nl_cli update "$P" --time 90
expect_rc 0 "update --time 90"
[ "$(jshow "$P" .job.time_limit_s)" = 5400 ] || nl_fail "update --time 90: $(jshow "$P" .job.time_limit_s)"
nl_cli cancel "$P" "$B"

# ---- --export, seen inside the job ----
printf '#!/bin/sh\nenv | sort\n' >env.sh
MY_VAR=v1 MY_OTHER=v2 nl_cli submit --parsable --export NONE env.sh
N=$NL_OUT
MY_VAR=v1 MY_OTHER=v2 nl_cli submit --parsable --export MY_VAR,SET=x,UNSET_VAR env.sh
V=$NL_OUT
MY_VAR=v1 nl_cli submit --parsable --export ALL,MY_VAR=v3 --env EXTRA=e env.sh
A=$NL_OUT
wait_done "$N"
wait_done "$V"
wait_done "$A"
ON=$(job_out "$N")
printf '%s\n' "$ON" | grep -q '^MY_VAR=' && nl_fail "--export NONE passed MY_VAR: $ON"
printf '%s\n' "$ON" | grep -qx 'PATH=/usr/local/bin:/usr/bin:/bin' ||
    nl_fail "--export NONE: not the agent's default PATH: $ON"
printf '%s\n' "$ON" | grep -qx "NORDLYS_JOB_ID=$N" || nl_fail "--export NONE lost nordlys's own: $ON"
OV=$(job_out "$V")
printf '%s\n' "$OV" | grep -qx 'MY_VAR=v1' || nl_fail "--export VARS lacks MY_VAR: $OV"
printf '%s\n' "$OV" | grep -qx 'SET=x' || nl_fail "--export VARS lacks SET=x: $OV"
printf '%s\n' "$OV" | grep -Eq '^(MY_OTHER|UNSET_VAR|NORDLYS_URL)=' && nl_fail "--export VARS passed more: $OV"
OA=$(job_out "$A")
printf '%s\n' "$OA" | grep -qx 'MY_VAR=v3' || nl_fail "--export ALL,MY_VAR=v3: $OA"
printf '%s\n' "$OA" | grep -qx 'EXTRA=e' || nl_fail "--env with --export ALL: $OA"
printf '%s\n' "$OA" | grep -qx "PATH=$PATH" || nl_fail "--export ALL: not the submitter's PATH: $OA"
nl_cli submit --export NORDLYS_TOKEN -- true
expect_rc 2 "--export NORDLYS_TOKEN"
[ "$NL_ERR" = "nordlys submit: --export: NORDLYS_TOKEN holds your credentials and is never exported" ] ||
    nl_fail "--export NORDLYS_TOKEN's message: $NL_ERR"
echo "cli_script: ok"
