#!/bin/sh
# ctld_port: a controller restarted with --listen HOST:0 (as run-local.sh
# starts it) comes back on its earlier port, after SIGKILL and after a
# clean stop, so that an agent configured with the old URL finds it; when
# another process holds that port it takes a free one and says so.
set -u
. "$NL_TEST_LIB/daemon.sh"
nl_tmpdir
S=$NL_TMP/state
nl_ctld_start "$S"
P=$NL_PORT
nl_agents_start 1
ID=$(nl_submit '{"name":"kept","command":["true"]}')

# SIGKILL, then port 0 again (nl_ctld_start removes ctld.port: ctld.last-port is the record).
nl_ctld_kill9
nl_ctld_start "$S"
[ "$NL_PORT" = "$P" ] || nl_fail "restarted with port 0 on $NL_PORT, not the earlier $P"
# The agent, still on the old URL, syncs with the restarted controller.
nl_wait "/v1/nodes?state=up&limit=100000" '(.nodes | length) > 0' 60
nl_http GET "/v1/jobs/$ID"
nl_expect 200

# A clean stop removes ctld.port; the next start still finds its port.
nl_ctld_stop
[ ! -e "$S/ctld.port" ] || nl_fail "ctld.port left after a clean stop"
nl_ctld_start "$S"
[ "$NL_PORT" = "$P" ] || nl_fail "after a clean stop: port $NL_PORT, not the earlier $P"
nl_ctld_stop

# Another process on the port: a free one is taken instead, and the log says why.
"$NORDLYSD" --state-dir "$NL_TMP/other" --listen "127.0.0.1:$P" --log-file "$NL_TMP/other.log" &
OTHER=$!
NL_PIDS="$NL_PIDS $OTHER"
deadline=$(($(date +%s) + 60))
until [ -s "$NL_TMP/other/ctld.port" ]; do
    kill -0 "$OTHER" 2>/dev/null || nl_fail "the other controller did not start on $P"
    [ "$(date +%s)" -lt "$deadline" ] || nl_fail "the other controller did not start in 60 s"
    sleep 0.05
done
nl_ctld_start "$S"
[ "$NL_PORT" != "$P" ] || nl_fail "took port $P although another controller listens there"
grep -q "earlier port $P is taken" "$NL_LOG" || nl_fail "the log does not say the earlier port was taken"
nl_http GET "/v1/jobs/$ID"
nl_expect 200
echo "ok: port $P kept across restarts, $NL_PORT when it was taken"
