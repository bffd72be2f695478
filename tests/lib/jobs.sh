# SPDX-License-Identifier: MIT
# jobs.sh - short forms for tests that submit through the CLI and follow
# jobs by id. Source after daemon.sh (a controller started: NL_URL, the token).
#
#   sub ARGS...               nordlys submit --parsable ARGS: prints the id, or fails
#   state ID                  the job's state
#   wait_state ID STATE [S]   wait up to S seconds (default $NL_WAIT_STATE_S, else 60)
#                             for the job to be in STATE
#   jq_is ID EXPR             the job's GET answers 200 and EXPR holds for it

sub() { "$NORDLYS_CLI" submit --parsable "$@" || nl_fail "submit $*"; }
state() {
    nl_http GET "/v1/jobs/$1"
    nl_json .job.state
}
wait_state() { nl_wait "/v1/jobs/$1" ".job.state == \"$2\"" "${3:-${NL_WAIT_STATE_S:-60}}"; }
jq_is() {
    nl_http GET "/v1/jobs/$1"
    nl_expect 200 "$2"
}
