#!/bin/sh
# The controller's modules form no cycle (STYLE.md rules 2-4, issue 9): each
# file of src/ctld may include only the headers of src/ctld that its module's
# row below allows, so that a lower module never includes a higher one's
# header. The layers, lowest first:
#
#   fault now metrics config nodes routes tlsconn (call no module of src/ctld)
#   http                                         (its TLS connections: tlsconn)
#   depspec                                      (--dependency's text, parsed)
#   token audit jsonout ui                       (tokens, the audit log, JSON text, the dashboard's
#                                                 files: none but http)
#   revoke                                       (revoked tokens: token.h's claims)
#   runs                                         (private to life)
#   outtail                                      (jobs' output tails: data only)
#   durable                                      (the durability rule)
#   controls                                     (signals and limits to agents, until acknowledged)
#   life                                         (a job's life; owns the runs)
#   gate                                         (holds, dependencies, arrays: above life)
#   agent_proto                                  (the JSON of the agent protocol)
#   agents                                       (the agent protocol's orchestration)
#   ctld.h                                       (struct ctld, the composition's data)
#   auth job_json api                            (the HTTP API; reads struct ctld)
#   root: ctld.c loop.c main.c                   (builds everything, wires the API in)
#
# The API layer reads struct ctld but must not call ctld.c: that is checked
# too (no ctld_*() call in api*.c, job_json.c, auth.c, routes.c), so the
# root -> api -> ctld.h edge is not a cycle of calls.
#
# A new file needs a row (a file without one fails), and a new include
# needs the row's consent: the table is the design, written down.
set -u
top=${1:-.}
dir="$top/src/ctld"

# allowed FILE: the src/ctld headers (basenames) FILE may include, itself aside.
allowed() {
    case "$1" in
    fault.[ch] | now.[ch] | metrics.[ch] | config.[ch] | nodes.[ch] | routes.[ch] | tlsconn.[ch]) echo "" ;;
    http.[ch]) echo "tlsconn.h" ;;
    token.[ch] | audit.[ch] | jsonout.[ch]) echo "" ;;
    token_cmd.c) echo "token.h" ;;
    revoke.[ch]) echo "revoke.h token.h" ;;
    ui.[ch]) echo "http.h" ;;
    runs.[ch]) echo "" ;;
    depspec.[ch]) echo "depspec.h" ;;
    outtail.[ch]) echo "" ;;
    durable.[ch]) echo "http.h now.h" ;;
    controls.[ch]) echo "controls.h durable.h nodes.h" ;;
    life.h) echo "metrics.h" ;;
    life.c) echo "life.h controls.h durable.h fault.h metrics.h nodes.h now.h runs.h" ;;
    gate.[ch]) echo "depspec.h durable.h life.h now.h" ;;
    agent_proto.[ch]) echo "agent_proto.h fault.h life.h nodes.h" ;;
    agents.[ch]) echo "agents.h agent_proto.h controls.h durable.h fault.h life.h metrics.h nodes.h now.h outtail.h" ;;
    ctld.h) echo "metrics.h now.h routes.h" ;;
    auth.[ch]) echo "auth.h http.h revoke.h routes.h token.h" ;;
    job_json.[ch]) echo "job_json.h ctld.h fault.h gate.h jsonout.h life.h metrics.h nodes.h now.h routes.h" ;;
    api.h | api.c | api_*.c)
        echo "api.h agents.h audit.h auth.h config.h ctld.h durable.h fault.h gate.h http.h" \
             "job_json.h jsonout.h life.h metrics.h nodes.h now.h outtail.h revoke.h routes.h token.h" \
             "ui.h" ;;
    ctld.c | loop.c | main.c)
        echo "ctld.h agents.h api.h audit.h auth.h config.h durable.h gate.h http.h life.h" \
             "metrics.h nodes.h now.h outtail.h revoke.h routes.h token.h ui.h" ;;
    *) echo "NO-ROW" ;;
    esac
}

fail=0
for f in "$dir"/*.c "$dir"/*.h; do
    name=$(basename "$f")
    ok=$(allowed "$name")
    if [ "$ok" = "NO-ROW" ]; then
        echo "ctld-layers: $name has no row in tests/lint/ctld-layers.sh: give it its layer" >&2
        fail=1
        continue
    fi
    for inc in $(sed -n 's/^#include "\(ctld\/\)\{0,1\}\([a-z_]*\.h\)".*/\2/p' "$f"); do
        # Headers of other directories (common/, nordlys/, store/) are not ours to order.
        [ -f "$dir/$inc" ] || continue
        [ "$inc" = "$name" ] && continue
        [ "$inc" = "${name%.c}.h" ] && continue
        case " $ok " in
        *" $inc "*) ;;
        *)
            echo "ctld-layers: $name includes $inc, which its layer may not (allowed: ${ok:-none})" >&2
            fail=1
            ;;
        esac
    done
done

# The API layer reaches the modules through struct ctld, never through ctld.c.
calls=$(grep -nE '\bctld_[a-z_]+\(' "$dir"/api.c "$dir"/api_*.c "$dir"/job_json.c "$dir"/auth.c \
        "$dir"/routes.c 2>/dev/null)
if [ -n "$calls" ]; then
    echo "ctld-layers: the API layer calls the composition root (ctld.c):" >&2
    echo "$calls" >&2
    fail=1
fi

[ "$fail" = 0 ] || exit 1
echo "ctld-layers: ok"
