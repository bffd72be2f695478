/* SPDX-License-Identifier: MIT */
/*
 * fuzz_idxset.c - libFuzzer target for job array specs (nl_idxset_parse).
 * A set that parses must give every index back at its own position, in
 * increasing order, and its canonical text must parse to the same set.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/idxset.h"
#include "nordlys/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[NL_IDXSET_TEXT_MAX + 2];
    if (size > NL_IDXSET_TEXT_MAX + 1)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct nl_err err = {0};
    struct nl_idxset s, again;
    if (nl_idxset_parse(text, &s, &err) < 0) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    /* Positions of a bounded sample (a million-task set would make each input slow). */
    uint32_t prev = 0;
    for (uint64_t k = 0; k < s.count && k < 4096; k++) {
        uint32_t ix = nl_idxset_nth(&s, k);
        if ((k > 0 && ix <= prev) || nl_idxset_pos(&s, ix) != (int64_t)k)
            abort();
        prev = ix;
    }
    char canon[NL_IDXSET_TEXT_MAX * 4];
    nl_idxset_format(&s, 0, 1, canon, sizeof(canon));
    if (nl_idxset_parse(canon, &again, &err) < 0 || again.count != s.count ||
        again.max_running != s.max_running)
        abort();
    nl_idxset_release(&again);
    nl_idxset_release(&s);
    return 0;
}
