#!/bin/sh
# libnordlys does no I/O: no clocks, randomness, environment, sockets, files,
# logging or foreign libraries (STYLE.md rule 2). This fails on the first
# forbidden include or call found in src/core or include/nordlys.
set -u
top=${1:-.}
bad=$(grep -nE '#include <(sqlite3|microhttpd|curl/curl|jansson|sys/socket|netinet/[a-z]+|unistd|time|fcntl)\.h>|\b(time|rand|srand|random|getenv|clock_gettime|gettimeofday|fopen|printf|fprintf|puts|syslog|socket)\(' \
      "$top"/src/core/*.c "$top"/src/core/*.h "$top"/include/nordlys/*.h 2>/dev/null \
      | grep -v 'snprintf\|vsnprintf')
if [ -n "$bad" ]; then
    echo "core-purity: libnordlys must not do I/O:" >&2
    echo "$bad" >&2
    exit 1
fi
echo "core-purity: ok"
