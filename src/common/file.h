/* SPDX-License-Identifier: MIT */
/* file.h - whole-file reads with a size bound, for configuration and traces. */
#ifndef NL_COMMON_FILE_H
#define NL_COMMON_FILE_H

#include <stddef.h>

struct nl_err;

/*
 * Read all of path into a new NUL-terminated buffer (free with free()),
 * storing its length in *len. Files over max_bytes are refused with
 * -EFBIG, so a wrong path cannot make us read a disk image. Errors name
 * the path: "facility.conf: No such file or directory".
 */
int nl_file_read(const char *path, size_t max_bytes, char **out, size_t *len, struct nl_err *err);

/*
 * Create path's parent directories (mode 0755), as mkdir -p does; pass
 * "DIR/." to create DIR itself. Returns 0 or -errno.
 */
int nl_file_mkdir_parents(const char *path);

#endif
