/* SPDX-License-Identifier: MIT */
/*
 * idxset.h - the index set of a job array ("0-99%10", "0-15:4",
 * "1,3,5-7"), as Slurm's sbatch --array writes it: comma-separated parts,
 * each N, N-M or N-M:S, and an optional %L limit on tasks running at once.
 *
 * A set is kept as its ranges, never expanded: a 100,000-task array is a
 * few bytes (the controller stores it as one row). Ranges are sorted by
 * their first index and may not overlap (a list that names an index twice
 * is refused, saying which), so that the k-th index (nl_idxset_nth) is
 * well defined and the canonical text (nl_idxset_format) is stable.
 * Pure: no I/O, no allocation beyond the set itself.
 */
#ifndef NL_COMMON_IDXSET_H
#define NL_COMMON_IDXSET_H

#include <stddef.h>
#include <stdint.h>

struct nl_err;

/* Highest array index (Slurm's MaxArraySize is configurable up to 4,000,001). */
#define NL_IDXSET_INDEX_MAX 9999999u
/* Most tasks one array may hold: 1,000,000 (bench/RESULTS.md measures 100,000). */
#define NL_IDXSET_COUNT_MAX 1000000u
/* Most comma-separated parts: the text is bounded (a 1,024-byte string of 1-digit parts). */
#define NL_IDXSET_PARTS_MAX 512u
/* Longest spec text accepted. */
#define NL_IDXSET_TEXT_MAX 4096u

struct nl_idxset_range {
    uint32_t lo, hi, step; /* lo, lo + step, ... <= hi; hi is the last index itself */
};

struct nl_idxset {
    struct nl_idxset_range *r; /* owned, sorted by lo, disjoint spans */
    size_t n;
    uint64_t count;       /* indexes in all ranges */
    uint32_t max_running; /* %L, 0 for no limit */
};

/*
 * Parse text into set (zeroed or released by the caller). 0, or -EINVAL
 * with err naming the problem ("array: '5-3': the range ends before it
 * starts"); set is left empty on failure.
 */
int nl_idxset_parse(const char *text, struct nl_idxset *set, struct nl_err *err);
/* Free and zero. NULL-safe. */
void nl_idxset_release(struct nl_idxset *set);
/* The k-th index in increasing order, k < set->count. */
uint32_t nl_idxset_nth(const struct nl_idxset *set, uint64_t k);
/* The position of index in the set (its k), or -1 when it is not in the set. */
int64_t nl_idxset_pos(const struct nl_idxset *set, uint32_t index);
/*
 * The canonical text of the indexes from position from on ("5-99", "1,3,5-7",
 * "0-12:4"), with "%L" when with_limit and a limit is set; cut (ending in
 * "...") when it does not fit size. Returns out.
 */
char *nl_idxset_format(const struct nl_idxset *set, uint64_t from, int with_limit, char *out,
                       size_t size);

#endif
