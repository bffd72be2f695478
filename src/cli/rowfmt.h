/* SPDX-License-Identifier: MIT */
/*
 * rowfmt.h - `--format` and `--csv` of the list views (queue, history,
 * nodes): which members of the API's row objects to show, in which order.
 *
 * A format is a comma list of field names, the JSON members of the rows
 * (`--format id,name,state,elapsed`), checked against the view's known
 * fields so that a typo is an error naming it and the fields there are.
 * A value reads as people read it: "*_time" members as local times, "*_s"
 * members as durations, arrays joined with ",", null as "-". With --csv
 * the same fields are written as RFC 4180 CSV, times as Unix seconds and
 * durations in seconds, for a spreadsheet or a script.
 */
#ifndef NL_CLI_ROWFMT_H
#define NL_CLI_ROWFMT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct nl_err;

#define CLI_ROWFMT_MAX 32

struct cli_rowfmt {
    const char *fields[CLI_ROWFMT_MAX]; /* point into text */
    size_t n;
    char *text; /* owned copy of the list */
    bool csv;
};

/*
 * Parse spec ("id,name,state") against known (NULL-terminated). Returns 0,
 * or -EINVAL with err naming the unknown field and listing known ones.
 */
int cli_rowfmt_parse(struct cli_rowfmt *f, const char *spec, const char *const *known,
                     struct nl_err *err);
void cli_rowfmt_release(struct cli_rowfmt *f);
/* Print rows (a JSON array of objects) with f's fields to stdout, as a table or CSV. */
void cli_rowfmt_print(const struct cli_rowfmt *f, const json_t *rows);
/*
 * Rows that come a page at a time (`history --all`), printed as each page
 * comes so that memory and the time to the first line stay those of one
 * page. A table's columns take their widths from the header and the first
 * page, and widen (for the rows after) when a later cell is wider; CSV
 * gets its header once. Zero-initialise; f borrowed.
 */
struct cli_rowstream {
    const struct cli_rowfmt *f;
    size_t width[CLI_ROWFMT_MAX];
    bool started;
};
void cli_rowstream_page(struct cli_rowstream *s, const json_t *rows);

/* One cell as text into buf (size bytes), as the table (csv false) or CSV (csv true) shows it. */
const char *cli_rowfmt_cell(const json_t *row, const char *field, bool csv, double now, char *buf,
                            size_t size);

#endif
