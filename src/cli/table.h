/* SPDX-License-Identifier: MIT */
/*
 * table.h - aligned text tables and number formats for people.
 *
 * A table is filled cell by cell, row after row, and rendered with every
 * column as wide as its widest cell (counted in UTF-8 characters), two
 * spaces between columns and no trailing blanks, like squeue or kubectl.
 * The formatters turn API figures into what an operator reads at a glance:
 * durations "1h30m", power "230.0 MW", energy "1.2 MWh".
 *
 * No I/O except cli_table_print.
 */
#ifndef NL_CLI_TABLE_H
#define NL_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct cli_table;

/*
 * Returns a new table with ncols columns titled headers[0..ncols-1]
 * (copied), destroy with cli_table_destroy.
 */
struct cli_table *cli_table_create(size_t ncols, const char *const *headers);

void cli_table_destroy(struct cli_table *t);

/* Right-align column col (numbers); columns are left-aligned by default. */
void cli_table_align_right(struct cli_table *t, size_t col);

/* Append one cell (copied; NULL prints as "-"); a row is complete after ncols cells. */
void cli_table_add(struct cli_table *t, const char *cell);

/* cli_table_add with a printf-formatted cell. */
void cli_table_addf(struct cli_table *t, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Number of rows added so far (a partly filled last row counts). */
size_t cli_table_rows(const struct cli_table *t);

/* Returns the rendered table, header first, one line per row; a new string, free() it. */
char *cli_table_render(const struct cli_table *t);

void cli_table_print(const struct cli_table *t, FILE *out);

/* Buffer size that every formatter below fits in. */
#define CLI_FMT_MAX 48

/*
 * Each formatter writes into buf (CLI_FMT_MAX bytes) and returns buf.
 * A negative or non-finite input (the API's null) prints as "-".
 */
char *cli_fmt_count(char *buf, double n);     /* 8, 100008, -3 (only non-finite is "-") */
char *cli_fmt_duration(char *buf, double s);  /* 45s, 1m30s, 1h30m, 2h, 1d2h */
char *cli_fmt_power(char *buf, double w);     /* 950 W, 132.0 kW, 230.0 MW, 10.00 GW */
char *cli_fmt_energy(char *buf, double kwh);  /* 12.5 kWh, 4.2 MWh, 1.10 GWh */
char *cli_fmt_time(char *buf, double unix_s); /* 2026-11-24 09:12:01 (local time) */

#endif
