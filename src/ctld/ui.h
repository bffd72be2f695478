/* SPDX-License-Identifier: MIT */
/*
 * ui.h - the dashboard's files under /ui/: the built web/ directory
 * (--ui-dir), read once at start and served from memory.
 *
 * Only the regular files directly in the directory, with plain names
 * ([A-Za-z0-9._-], not starting with '.'), are loaded, and a request is
 * answered only for a name among them: no path from a client ever reaches
 * the filesystem, so no traversal is possible. The files are public (the
 * page holds no data; it signs in with a token and reads the API), served
 * with a strict Content-Security-Policy, nosniff, and revalidation by ETag.
 */
#ifndef NL_CTLD_UI_H
#define NL_CTLD_UI_H

#include <stdbool.h>

struct http_req;
struct nl_err;
struct ui;

/*
 * Load the files of dir (NULL or "": none). Returns a new ui, destroy with ui_destroy. A
 * directory that cannot be read still gives a ui, which answers 404 naming
 * why (the controller runs without its dashboard); ui_error says why, or
 * returns NULL when the files were loaded.
 */
struct ui *ui_open(const char *dir);
void ui_destroy(struct ui *u);
/* Why nothing is served ("--ui-dir /x: No such file or directory"), or NULL. Borrowed. */
const char *ui_error(const struct ui *u);
/* Files loaded. */
unsigned ui_files(const struct ui *u);

/* True for the paths the dashboard answers: "/ui" and "/ui/..." */
bool ui_path(const char *path);
/* Answer req (its path passed ui_path): a file, a redirect, 304, 404 or 405. */
void ui_serve(const struct ui *u, struct http_req *req);

#endif
