/* SPDX-License-Identifier: MIT */
/*
 * page.h - reading a job listing page by page, and saying what was left out.
 *
 * GET /v1/jobs answers newest first, at most `limit` rows, with "total"
 * the number of jobs the filter matches; `before=ID` asks for the jobs
 * with ids below ID. `nordlys queue --all` walks the pages: each asks for
 * the ids below the last (oldest) one of the page before, so jobs
 * submitted meanwhile (higher ids) neither repeat nor shift a row.
 * Pure: the unit tests drive it with made-up pages.
 */
#ifndef NL_CLI_PAGE_H
#define NL_CLI_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Rows asked for per page: the controller's default limit. */
#define CLI_PAGE_ROWS 1000
/* The largest limit= the controller takes (docs/api.md). */
#define CLI_LIST_LIMIT_MAX 100000

/* Initialise with cli_pager_init. */
struct cli_pager {
    int64_t want;    /* rows wanted in all; 0: every row */
    int64_t rows;    /* rows received so far */
    uint64_t before; /* before= of the next page; 0: the first page has none */
    bool done;
};

/* Start a walk for want rows (0: all of them). */
void cli_pager_init(struct cli_pager *p, int64_t want);

/* The limit= of the next page, or 0 when the walk is done. */
int64_t cli_pager_limit(const struct cli_pager *p);

/*
 * Account for the page just received: n rows (asked with limit), the
 * oldest of which has id last_id. The walk is done when the page came
 * back short, the rows wanted are in, or no id below last_id can exist.
 */
void cli_pager_advance(struct cli_pager *p, size_t n, uint64_t last_id, int64_t limit);

/*
 * How many of total matching rows were not shown when shown were: 0 when
 * total is unknown (negative: an older controller sends none) or no more.
 */
int64_t cli_page_hidden(int64_t total, int64_t shown);

/*
 * The line that says so, in buf: "... and N more; --limit M or --all to
 * see them" (only "--all" where M is beyond what the controller takes).
 * Returns false, with buf empty, when nothing was left out.
 */
bool cli_page_hint(char *buf, size_t size, int64_t total, int64_t shown);

#endif
