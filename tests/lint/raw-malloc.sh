#!/bin/sh
# Raw allocation is allowed only in src/common/xalloc.c (STYLE.md rule 21).
set -u
top=${1:-.}
bad=$(grep -rnE '\b(malloc|calloc|realloc|strdup|strndup)\(' "$top"/src "$top"/include 2>/dev/null \
      | grep -v '^[^:]*src/common/xalloc\.[ch]:' | grep -vE 'x(malloc|calloc|realloc|strdup|strndup)\(')
if [ -n "$bad" ]; then
    echo "raw-malloc: use xmalloc/xcalloc/xrealloc/xstrdup from src/common/xalloc.h:" >&2
    echo "$bad" >&2
    exit 1
fi
echo "raw-malloc: ok"
