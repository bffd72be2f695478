/* SPDX-License-Identifier: MIT */
/*
 * test_page.c - walking a job listing page by page with before=ID, and the
 * count of rows left out (src/cli/page.c), against a made-up listing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the standard headers above included first. */
#include <cmocka.h>

#include "cli/page.h"

/*
 * The controller's side, for ids 1..njobs all matching: newest first,
 * at most limit rows below before (0: from the newest). Returns the
 * number of rows and the oldest id among them in *last.
 */
static size_t fake_page(uint64_t njobs, uint64_t before, int64_t limit, uint64_t *last)
{
    uint64_t top = before == 0 || before > njobs + 1 ? njobs : before - 1;
    size_t n = top < (uint64_t)limit ? (size_t)top : (size_t)limit;
    *last = n > 0 ? top - n + 1 : 0;
    return n;
}

/* Walk the listing of njobs for want rows; returns the rows seen, pages in *pages. */
static int64_t walk(uint64_t njobs, int64_t want, int *pages)
{
    struct cli_pager p;
    cli_pager_init(&p, want);
    int64_t limit;
    uint64_t expect_next = njobs; /* rows come newest first, each once */
    *pages = 0;
    while ((limit = cli_pager_limit(&p)) > 0) {
        assert_true(limit <= CLI_PAGE_ROWS);
        uint64_t last;
        size_t n = fake_page(njobs, p.before, limit, &last);
        if (n > 0) {
            assert_int_equal(last + n - 1, expect_next);
            expect_next = last - 1;
        }
        cli_pager_advance(&p, n, last, limit);
        (*pages)++;
        assert_true(*pages < 1000);
    }
    return p.rows;
}

static void test_cli_pager_walks_every_row_once(void **state)
{
    (void)state;
    int pages;
    assert_int_equal(walk(0, 0, &pages), 0);
    assert_int_equal(pages, 1);
    assert_int_equal(walk(5, 0, &pages), 5);
    assert_int_equal(pages, 1);
    /* A full page down to id 1: nothing can be below it, so no empty page is asked for. */
    assert_int_equal(walk(CLI_PAGE_ROWS, 0, &pages), CLI_PAGE_ROWS);
    assert_int_equal(pages, 1);
    assert_int_equal(walk(2500, 0, &pages), 2500);
    assert_int_equal(pages, 3);
    assert_int_equal(walk(3 * CLI_PAGE_ROWS + 1, 0, &pages), 3 * CLI_PAGE_ROWS + 1);
    assert_int_equal(pages, 4);
}

static void test_cli_pager_stops_at_the_limit(void **state)
{
    (void)state;
    int pages;
    assert_int_equal(walk(2500, 10, &pages), 10);
    assert_int_equal(pages, 1);
    assert_int_equal(walk(2500, 1500, &pages), 1500);
    assert_int_equal(pages, 2);
    assert_int_equal(walk(2500, 2000, &pages), 2000);
    assert_int_equal(pages, 2);
    assert_int_equal(walk(700, 2000, &pages), 700);
    assert_int_equal(pages, 1);
}

static void test_cli_pager_first_page_and_limits(void **state)
{
    (void)state;
    struct cli_pager p;
    cli_pager_init(&p, 0);
    assert_int_equal(cli_pager_limit(&p), CLI_PAGE_ROWS);
    assert_int_equal(p.before, 0);
    cli_pager_advance(&p, CLI_PAGE_ROWS, 4001, CLI_PAGE_ROWS);
    assert_false(p.done);
    assert_int_equal(p.before, 4001);
    /* The oldest id is 1: nothing can be below it, so no page is asked for. */
    cli_pager_advance(&p, CLI_PAGE_ROWS, 1, CLI_PAGE_ROWS);
    assert_true(p.done);
    assert_int_equal(cli_pager_limit(&p), 0);
    /* A page that comes back short ends the walk; ids may have gaps (deleted keys, sparse ids). */
    cli_pager_init(&p, 0);
    cli_pager_advance(&p, 3, 17, CLI_PAGE_ROWS);
    assert_true(p.done);
    cli_pager_init(&p, -5);
    assert_int_equal(p.want, 0);
}

static void test_cli_page_hidden(void **state)
{
    (void)state;
    assert_int_equal(cli_page_hidden(1500, 1000), 500);
    assert_int_equal(cli_page_hidden(1000, 1000), 0);
    /* Jobs may end between the count and the rows: never a negative count. */
    assert_int_equal(cli_page_hidden(990, 1000), 0);
    /* No total (an older controller): nothing to say. */
    assert_int_equal(cli_page_hidden(-1, 1000), 0);
}

static void test_cli_page_hint(void **state)
{
    (void)state;
    char b[128];
    assert_true(cli_page_hint(b, sizeof(b), 1500, 1000));
    assert_string_equal(b, "... and 500 more; --limit 1500 or --all to see them");
    assert_false(cli_page_hint(b, sizeof(b), 1000, 1000));
    assert_string_equal(b, "");
    assert_false(cli_page_hint(b, sizeof(b), -1, 1000));
    /* Beyond the largest limit the controller takes, only --all shows them all. */
    assert_true(cli_page_hint(b, sizeof(b), CLI_LIST_LIMIT_MAX, 1000));
    assert_string_equal(b, "... and 99000 more; --limit 100000 or --all to see them");
    assert_true(cli_page_hint(b, sizeof(b), 250000, 1000));
    assert_string_equal(b, "... and 249000 more; --all to see them");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cli_pager_walks_every_row_once),
            cmocka_unit_test(test_cli_pager_stops_at_the_limit),
            cmocka_unit_test(test_cli_pager_first_page_and_limits),
            cmocka_unit_test(test_cli_page_hidden),
            cmocka_unit_test(test_cli_page_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
