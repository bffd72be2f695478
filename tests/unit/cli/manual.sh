#!/bin/sh
# manual: every command of `nordlys --help` has a man page in the build
# (build/man/nordlys-CMD.1, roff that groff renders without a warning) and
# an entry in the bash completion, and both name every option that
# `nordlys CMD --help` prints; `nordlys help --man CMD` is the page the
# build installed; the completion really completes in bash; and every
# binary answers --version with its name and the project's version.
set -u
fail() { echo "manual: $*" >&2; exit 1; }
CLI=$NORDLYS_CLI
MAN=$NL_BUILD_DIR/man
COMP=$NL_BUILD_DIR/share/bash-completion/completions/nordlys
export ASAN_OPTIONS=detect_leaks=0
[ -f "$COMP" ] || fail "$COMP is missing"
bash -n "$COMP" || fail "$COMP is not valid bash"
[ -f "$MAN/nordlys.1" ] || fail "$MAN/nordlys.1 is missing"

# The commands: the lines of `nordlys --help` between the usage line and the first blank line.
cmds=$("$CLI" --help | awk 'NR > 2 && /^$/ { exit } NR > 2 { print $1 }')
[ -n "$cmds" ] || fail "no commands in nordlys --help"
n=0
for c in $cmds; do
    n=$((n + 1))
    page=$MAN/nordlys-$c.1
    [ -f "$page" ] || fail "$c has no man page ($page)"
    grep -q "^\\.TH NORDLYS-$(echo "$c" | tr a-z A-Z) 1" "$page" || fail "$page has no .TH line"
    warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1) || fail "groff failed on $page"
    [ -z "$warn" ] || fail "groff warns on $page: $warn"
    "$CLI" help --man "$c" | cmp -s - "$page" || fail "nordlys help --man $c differs from $page"
    grep -q "nordlys\\\\-$c" "$MAN/nordlys.1" || fail "nordlys.1 does not list $c"
    # The options --help prints; a command with a subcommand ("token create") names it first.
    help=$("$CLI" "$c" --help)
    sub=$(printf '%s\n' "$help" | awk 'NR == 1 && $4 !~ /^[-\[]/ && $4 != "" { print $4 }')
    # An option's line: "      --name ...", with its letter "  -J, --name ..." (sim's: "  --name").
    optline='^  (-[A-Za-z], |    )?--'
    [ -n "$sub" ] && printf '%s\n' "$help" | grep -Eq "$optline" || help=$("$CLI" "$c" $sub --help)
    opts=$(printf '%s\n' "$help" | grep -E "$optline" | sed -E 's/^  (-[A-Za-z], |    )?(--[^ ]*).*/\2/')
    [ -n "$opts" ] || fail "$c --help names no option"
    line=$(grep "^    $c) opts=" "$COMP") || fail "the completion has no entry for $c"
    for o in $opts; do
        roff=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
        grep -q -- "$roff" "$page" || fail "$page lacks $o"
        case " $(echo "$line" | sed 's/.*opts="//; s/".*//') " in
        *" $o "*) ;;
        *) fail "the completion of $c lacks $o" ;;
        esac
    done
done
[ "$n" -ge 10 ] || fail "only $n commands found"
# An option's letter (sbatch's) is in --help and the man page beside its long name.
"$CLI" submit --help | grep -q '^  -J, --name X ' || fail "submit --help lacks -J, --name"
grep -q '^\\fB\\-J\\fR, \\fB\\-\\-name\\fR' "$MAN/nordlys-submit.1" ||
    fail "nordlys-submit.1 lacks -J, --name"

# The completion completes: "nordlys submit --exp<TAB>" and "nordlys que<TAB>".
got=$(bash -c '. "$1"; COMP_WORDS=(nordlys submit --exp); COMP_CWORD=2; _nordlys; echo "${COMPREPLY[*]}"' sh "$COMP")
[ "$got" = "--export" ] || fail "completing 'nordlys submit --exp' gave '$got'"
got=$(bash -c '. "$1"; COMP_WORDS=(nordlys que); COMP_CWORD=1; _nordlys; echo "${COMPREPLY[*]}"' sh "$COMP")
[ "$got" = "queue" ] || fail "completing 'nordlys que' gave '$got'"
got=$(bash -c '. "$1"; COMP_WORDS=(nordlys help --man sub); COMP_CWORD=3; _nordlys; echo "${COMPREPLY[*]}"' sh "$COMP")
[ "$got" = "submit" ] || fail "completing 'nordlys help --man sub' gave '$got'"

# --version everywhere: the name, then the CMake project version.
for b in "$CLI:nordlys" "$NORDLYSD:nordlysd" "$NORDLYS_AGENT:nordlys-agent"; do
    out=$("${b%%:*}" --version) || fail "${b#*:} --version failed"
    printf '%s\n' "$out" | grep -Eq "^${b#*:} $NL_VERSION( \\(.+\\))?\$" ||
        fail "${b#*:} --version printed '$out'"
done
echo "manual: ok ($n commands)"
