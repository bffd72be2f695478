/* SPDX-License-Identifier: MIT */
/* version.c - the build's version, from the header cmake/version.cmake generates. */
#include "version.h"

#include "nl_version_gen.h"

const char *nl_version(void)
{
    return NL_VERSION;
}
