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
 * Create path's parent directories (mode 0755 less the umask), as mkdir -p
 * does; pass "DIR/." to create DIR itself. Returns 0 or -errno.
 */
int nl_file_mkdir_parents(const char *path);
/*
 * The same, and each directory it creates gets exactly mode (chmod after
 * mkdir), whatever the process's umask: for directories others must
 * traverse, such as an agent's output root. Existing ones are left as they are.
 */
int nl_file_mkdir_parents_mode(const char *path, unsigned mode);

/*
 * One daemon per directory: take an exclusive flock on path (created if
 * absent) for as long as *fd stays open (the kernel drops it when the
 * process dies, kill -9 included), and write our pid in it for the message
 * the next one gives. Returns 0 with *fd set (and *pid_err the errno of a
 * pid that could not be written, 0 otherwise: the lock holds without it);
 * -EBUSY when another process holds it, with its pid in holder ("" when it
 * has not written it yet); or -errno of open/flock.
 */
int nl_file_lock_pid(const char *path, int *fd, char holder[32], int *pid_err);

#endif
