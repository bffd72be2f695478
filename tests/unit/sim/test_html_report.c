/* SPDX-License-Identifier: MIT */
/*
 * test_html_report.c - report.html and its SVG figures from real runs (a
 * synthetic day on loughton under two policies): every section and figure
 * is there, the page and figures are well-formed (tags balanced), nothing
 * is fetched from anywhere (no script, no link, no URL but the SVG
 * namespace), and a directory that cannot be written is an error naming it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka.h needs setjmp.h, stdarg.h, stddef.h and stdint.h included first. */
/* clang-format off */
#include <cmocka.h>
/* clang-format on */

#include "common/file.h"
#include "nordlys/err.h"
#include "nordlys/facility.h"
#include "nordlys/sched.h"
#include "nordlys/tenant.h"
#include "sim/html_report.h"
#include "sim/sim.h"
#include "sim/workload.h"

static struct nl_sim_result runs[2];

static const enum nl_policy policies[2] = {NL_POLICY_NORDLYS, NL_POLICY_FIFO};

static char dir[64];

static int setup(void **state)
{
    (void)state;
    struct nl_facility_spec spec;
    struct nl_err err;
    assert_int_equal(nl_facility_preset("loughton", &spec, &err), 0);
    struct nl_facility *fac = nl_facility_create(&spec, &err);
    struct nl_tenants *ten = nl_tenants_default(nl_facility_gpus(fac));
    struct nl_workload w = {0};
    struct nl_synth_opts so = {.days = 1, .load = 0.9, .seed = 7, .llm_share = -1};
    struct nl_workload_opts wo = {.seed = 7};
    assert_int_equal(nl_workload_synthetic(&so, fac, ten, &wo, &w, &err), 0);
    for (int i = 0; i < 2; i++) {
        struct nl_sched_config cfg;
        nl_sched_config_init(&cfg, policies[i]);
        struct nl_sim_opts o = {0};
        assert_int_equal(nl_sim_run(fac, ten, &cfg, &w, &o, &runs[i], &err), 0);
    }
    nl_workload_release(&w);
    nl_tenants_destroy(ten);
    nl_facility_destroy(fac);
    snprintf(dir, sizeof(dir), "/tmp/nl-report-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        nl_sim_result_release(&runs[i]);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *text = NULL;
    size_t len;
    struct nl_err err;
    if (nl_file_read(path, 64u << 20, &text, &len, &err) < 0)
        fail_msg("%s", err.msg);
    return text;
}

/*
 * Tags balance: every element opened is closed in order, or self-closed,
 * or an HTML void element. Returns NULL, or what is wrong.
 */
static const char *unbalanced(const char *text, char *why, size_t size)
{
    char stack[64][32];
    int depth = 0;
    for (const char *p = strchr(text, '<'); p != NULL; p = strchr(p + 1, '<')) {
        if (p[1] == '!' || p[1] == '?')
            continue;
        const char *end = strchr(p, '>');
        if (end == NULL)
            return snprintf(why, size, "unterminated tag at byte %td", p - text), why;
        bool closing = p[1] == '/', self = end[-1] == '/';
        const char *name = p + 1 + closing;
        size_t n = strcspn(name, " \t\n/>");
        char tag[32];
        snprintf(tag, sizeof(tag), "%.*s", (int)(n < 31 ? n : 31), name);
        if (strcmp(tag, "meta") == 0 || strcmp(tag, "br") == 0 || self)
            continue;
        if (!closing) {
            if (depth == 64)
                return snprintf(why, size, "nesting deeper than 64"), why;
            snprintf(stack[depth++], 32, "%s", tag);
        } else if (depth == 0) {
            return snprintf(why, size, "</%s> at byte %td closes nothing", tag, p - text), why;
        } else if (strcmp(stack[--depth], tag) != 0) {
            return snprintf(why, size, "</%s> at byte %td closes <%s>", tag, p - text,
                            stack[depth]),
                   why;
        }
    }
    if (depth != 0)
        return snprintf(why, size, "<%s> never closed", stack[depth - 1]), why;
    return NULL;
}

static void assert_balanced(const char *name, const char *text)
{
    char why[128];
    const char *bad = unbalanced(text, why, sizeof(why));
    if (bad != NULL)
        fail_msg("%s: %s", name, bad);
}

static void test_report_sections(void **state)
{
    (void)state;
    struct nl_err err = {0};
    assert_int_equal(html_report_write(runs, 2, dir, &err), 0);
    char *html = slurp("report.html");
    assert_true(strncmp(html, "<!doctype html>", 15) == 0);
    assert_balanced("report.html", html);
    static const char *const sections[] = {
            "id=\"summary\"", "id=\"utilization\"", "id=\"power\"",      "id=\"queue\"",
            "id=\"wait\"",    "id=\"jct\"",         "id=\"preemptions\""};
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        if (strstr(html, sections[i]) == NULL)
            fail_msg("report.html has no section %s", sections[i]);
    /* The policies side by side, each tier by name. */
    assert_non_null(strstr(html, "<th>nordlys</th><th>fifo</th>"));
    for (size_t t = 0; t < runs[0].ntiers; t++)
        assert_non_null(strstr(html, runs[0].tier[t].name));
    /* Self-contained: no script, stylesheet link, image source or URL but the SVG namespace. */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "src="));
    for (const char *p = strstr(html, "http"); p != NULL; p = strstr(p + 1, "http"))
        if (strncmp(p, "http://www.w3.org/2000/svg", 26) != 0)
            fail_msg("report.html refers to %.40s", p);
    free(html);
}

static void test_figures(void **state)
{
    (void)state;
    struct nl_err err = {0};
    assert_int_equal(html_report_write(runs, 2, dir, &err), 0);
    const char *const figs[] = {"fig-utilization.svg", "fig-power.svg", "fig-queue-nordlys.svg",
                                "fig-queue-fifo.svg",  "fig-wait.svg",  "fig-jct.svg"};
    char *html = slurp("report.html");
    for (size_t i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
        char *svg = slurp(figs[i]);
        assert_true(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
        assert_balanced(figs[i], svg);
        /* The page inlines the very same figure. */
        if (strstr(html, svg) == NULL)
            fail_msg("report.html does not inline %s as written", figs[i]);
        /* A line chart draws one polyline a series, with as many points as samples. */
        if (strncmp(figs[i], "fig-utilization", 15) == 0) {
            const char *p = strstr(svg, "<polyline");
            assert_non_null(p);
            const char *q = strstr(p, "points=\"") + 8, *e = strchr(q, '"');
            size_t pts = 1;
            for (const char *c = q; c < e; c++)
                pts += *c == ' ';
            assert_int_equal(pts, runs[0].nsamples);
        }
        free(svg);
    }
    free(html);
}

static void test_unwritable_dir(void **state)
{
    (void)state;
    struct nl_err err = {0};
    assert_int_equal(html_report_write(runs, 2, "/nonexistent/nl-report", &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/nl-report/report.html"));
    assert_int_equal(html_report_write(runs, 0, dir, &err), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_report_sections),
            cmocka_unit_test(test_figures),
            cmocka_unit_test(test_unwritable_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
