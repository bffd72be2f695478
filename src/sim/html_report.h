/* SPDX-License-Identifier: MIT */
/*
 * html_report.h - a simulation as a page people look at: DIR/report.html,
 * self-contained (inline CSS and SVG, no script, nothing fetched: it opens
 * from disk anywhere), and its figures beside it as DIR/fig-*.svg for
 * documents. Sections: summary (the policies side by side), utilization,
 * power against the budget, queue by tier over time, wait and JCT by tier,
 * preemptions and invariant checks.
 */
#ifndef NL_SIM_HTML_REPORT_H
#define NL_SIM_HTML_REPORT_H

#include <stddef.h>

struct nl_err;
struct nl_sim_result;

/*
 * Write the report of the n results (one per policy, same workload; res
 * borrowed) into the existing directory dir. 0, or -errno with err naming
 * the file that could not be written.
 */
int html_report_write(const struct nl_sim_result *res, size_t n, const char *dir,
                      struct nl_err *err);

#endif
