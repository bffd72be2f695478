# SPDX-License-Identifier: MIT
# netns.sh - a private network of namespaces for multi-host tests (needs root and iproute2).
#
# Source it, then:
#   nl_netns_create PREFIX HOST..  make namespace PREFIX-ctl (the controller's host) with a
#                                  bridge br0 at 10.213.0.1/24, and one namespace PREFIX-HOST
#                                  per HOST, joined to the bridge by a veth pair, its end
#                                  eth0 at 10.213.0.(11, 12, ...)/24; lo up in each. Sets
#                                  NL_NETNS (the namespaces made). Returns non-zero, with
#                                  ip's message on stderr, when one cannot be made.
#   nl_netns_addr HOST             the address given to HOST ("ctl": 10.213.0.1)
#   nl_netns_destroy               SIGKILL every process left in the namespaces, delete them
#
# Every link and address lives inside the namespaces: nothing is added to the
# caller's own network, and deleting the namespaces removes all of it. The
# range is private and unrouted; two tests using it at once do not meet, as
# each has its own namespaces.

NL_NETNS=""
NL_NETNS_HOSTS=""
NL_NETNS_NET=10.213.0

nl_netns_addr() {
    if [ "$1" = ctl ]; then
        echo "$NL_NETNS_NET.1"
        return 0
    fi
    _i=11
    for _h in $NL_NETNS_HOSTS; do
        [ "$_h" = "$1" ] && echo "$NL_NETNS_NET.$_i" && return 0
        _i=$((_i + 1))
    done
    return 1
}

nl_netns_create() {
    _p=$1
    shift
    _ctl="$_p-ctl"
    ip netns add "$_ctl" || return 1
    NL_NETNS="$_ctl"
    ip -n "$_ctl" link set lo up &&
        ip -n "$_ctl" link add br0 type bridge &&
        ip -n "$_ctl" addr add "$NL_NETNS_NET.1/24" dev br0 &&
        ip -n "$_ctl" link set br0 up || return 1
    _i=11
    for _h in "$@"; do
        _ns="$_p-$_h"
        ip netns add "$_ns" || return 1
        NL_NETNS="$NL_NETNS $_ns"
        NL_NETNS_HOSTS="$NL_NETNS_HOSTS $_h"
        # Made inside the controller's namespace, the host's end moved straight into its own.
        ip -n "$_ctl" link add "v-$_h" type veth peer name eth0 netns "$_ns" &&
            ip -n "$_ctl" link set "v-$_h" master br0 &&
            ip -n "$_ctl" link set "v-$_h" up &&
            ip -n "$_ns" link set lo up &&
            ip -n "$_ns" addr add "$NL_NETNS_NET.$_i/24" dev eth0 &&
            ip -n "$_ns" link set eth0 up || return 1
        _i=$((_i + 1))
    done
    return 0
}

nl_netns_destroy() {
    for _ns in $NL_NETNS; do
        for _p in $(ip netns pids "$_ns" 2>/dev/null); do
            kill -9 "$_p" 2>/dev/null
        done
    done
    for _ns in $NL_NETNS; do
        ip netns del "$_ns" 2>/dev/null
    done
    NL_NETNS=""
    return 0
}
