/* SPDX-License-Identifier: MIT */
/*
 * page.c - walking a job listing with before=ID; see page.h.
 */
#include "page.h"

#include <stdio.h>

void cli_pager_init(struct cli_pager *p, int64_t want)
{
    *p = (struct cli_pager){.want = want > 0 ? want : 0};
}

int64_t cli_pager_limit(const struct cli_pager *p)
{
    if (p->done)
        return 0;
    if (p->want > 0 && p->want - p->rows < CLI_PAGE_ROWS)
        return p->want - p->rows;
    return CLI_PAGE_ROWS;
}

void cli_pager_advance(struct cli_pager *p, size_t n, uint64_t last_id, int64_t limit)
{
    p->rows += (int64_t)n;
    p->before = last_id;
    /* Ids start at 1: below 1 there is nothing to ask for. */
    if (n == 0 || (int64_t)n < limit || last_id <= 1 || (p->want > 0 && p->rows >= p->want))
        p->done = true;
}

int64_t cli_page_hidden(int64_t total, int64_t shown)
{
    return total > shown ? total - shown : 0;
}

bool cli_page_hint(char *buf, size_t size, int64_t total, int64_t shown)
{
    int64_t hidden = cli_page_hidden(total, shown);
    buf[0] = '\0';
    if (hidden == 0)
        return false;
    if (total <= CLI_LIST_LIMIT_MAX)
        snprintf(buf, size, "... and %lld more; --limit %lld or --all to see them",
                 (long long)hidden, (long long)total);
    else
        snprintf(buf, size, "... and %lld more; --all to see them", (long long)hidden);
    return true;
}
