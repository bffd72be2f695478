/* SPDX-License-Identifier: MIT */
/*
 * version.h - the version every binary prints for --version.
 *
 * The text is the CMake project version, followed by `git describe` of the
 * source tree when it was built from a git checkout (cmake/version.cmake
 * writes it at every build, so a rebuild after a commit says so).
 */
#ifndef NL_COMMON_VERSION_H
#define NL_COMMON_VERSION_H

/* "0.1.0 (fb502ca-dirty)"; static storage. */
const char *nl_version(void);

#endif
