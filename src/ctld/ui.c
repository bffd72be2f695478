/* SPDX-License-Identifier: MIT */
/*
 * ui.c - the dashboard's static files, from memory (see ui.h).
 */
#include "ui.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/file.h"
#include "common/rng.h"
#include "common/xalloc.h"
#include "ctld/http.h"
#include "nordlys/err.h"

/* The built dashboard is a few hundred KiB; these bounds only stop a wrong --ui-dir. */
#define UI_FILES_MAX      64
#define UI_FILE_MAX_BYTES (4u * 1024u * 1024u)

struct ui_file {
    char *name; /* "app.js" */
    char *body; /* NUL-terminated text */
    const char *type;
    char etag[24]; /* "\"<16 hex digits>\"" of the content */
};

struct ui {
    struct ui_file files[UI_FILES_MAX];
    unsigned n;
    char error[NL_ERR_MSG_MAX];
};

/*
 * default-src 'self': scripts, styles, data fetches only from this origin;
 * no inline script (the page has none), no framing, no <base> or plugins.
 * Inline style *attributes* stay blocked too: the chart library sets
 * styles through the DOM (element.style), which CSP does not govern.
 */
static const char ui_csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                             "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                             "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

static const struct {
    const char *ext, *type;
} ui_types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot != NULL && i < sizeof(ui_types) / sizeof(ui_types[0]); i++)
        if (strcmp(dot, ui_types[i].ext) == 0)
            return ui_types[i].type;
    return NULL;
}

static bool plain_name(const char *name)
{
    if (name[0] == '\0' || name[0] == '.' || strlen(name) > 128)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

/* Load dir/name when it is a text file of a known type; files of other kinds are skipped. */
static int load_file(struct ui *u, const char *dir, const char *name, struct nl_err *err)
{
    const char *type = type_of(name);
    if (type == NULL || !plain_name(name))
        return 0;
    size_t plen = strlen(dir) + strlen(name) + 2;
    char *path = xmalloc(plen);
    snprintf(path, plen, "%s/%s", dir, name);
    struct stat st;
    char *body = NULL;
    size_t len = 0;
    int rc = 0;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (u->n == UI_FILES_MAX)
            rc = nl_err_set(err, -E2BIG, "--ui-dir %s: more than %d files", dir, UI_FILES_MAX);
        else if ((rc = nl_file_read(path, UI_FILE_MAX_BYTES, &body, &len, err)) == 0 &&
                 strlen(body) != len)
            rc = nl_err_set(err, -EINVAL, "--ui-dir: %s has a NUL byte (not a text file)", path);
    }
    free(path);
    if (rc < 0 || body == NULL) {
        free(body);
        return rc;
    }
    struct ui_file *f = &u->files[u->n++];
    f->name = xstrdup(name);
    f->body = body;
    f->type = type;
    snprintf(f->etag, sizeof(f->etag), "\"%016llx\"", (unsigned long long)nl_hash64(body, len));
    return 0;
}

struct ui *ui_open(const char *dir)
{
    struct ui *u = xcalloc(1, sizeof(*u));
    struct nl_err err = {0};
    if (dir == NULL || dir[0] == '\0') {
        snprintf(u->error, sizeof(u->error), "--ui-dir is not set");
        return u;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(u->error, sizeof(u->error), "--ui-dir %s: %s", dir, strerror(errno));
        return u;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (load_file(u, dir, e->d_name, &err) < 0) {
            snprintf(u->error, sizeof(u->error), "%s", err.msg);
            break;
        }
    closedir(d);
    if (u->error[0] == '\0' && u->n == 0)
        snprintf(u->error, sizeof(u->error), "--ui-dir %s: no dashboard files in it", dir);
    return u;
}

void ui_destroy(struct ui *u)
{
    if (u == NULL)
        return;
    for (unsigned i = 0; i < u->n; i++) {
        free(u->files[i].name);
        free(u->files[i].body);
    }
    free(u);
}

const char *ui_error(const struct ui *u)
{
    return u->error[0] ? u->error : NULL;
}

unsigned ui_files(const struct ui *u)
{
    return u->n;
}

bool ui_path(const char *path)
{
    return strcmp(path, "/ui") == 0 || strncmp(path, "/ui/", 4) == 0;
}

static void text_reply(struct http_req *req, unsigned status, const char *what, const char *why)
{
    char buf[NL_ERR_MSG_MAX + 256];
    snprintf(buf, sizeof(buf), "%.200s: %s\n", what, why);
    http_reply_header(req, "X-Content-Type-Options", "nosniff");
    http_reply(req, status, "text/plain; charset=utf-8", xstrdup(buf));
}

void ui_serve(const struct ui *u, struct http_req *req)
{
    const char *method = http_req_method(req), *path = http_req_path(req);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return text_reply(req, 405, method, "method not allowed under /ui/ (GET only)");
    if (strcmp(path, "/ui") == 0) {
        /* The page's relative links need the trailing slash. */
        http_reply_header(req, "Location", "/ui/");
        return text_reply(req, 308, "/ui", "moved to /ui/");
    }
    const char *name = path[4] == '\0' ? "index.html" : path + 4;
    if (u->error[0] != '\0')
        return text_reply(req, 404, "the dashboard is not served", u->error);
    const struct ui_file *f = NULL;
    for (unsigned i = 0; i < u->n && f == NULL; i++)
        if (strcmp(u->files[i].name, name) == 0)
            f = &u->files[i];
    if (f == NULL)
        return text_reply(req, 404, path, "no such file of the dashboard");
    http_reply_header(req, "Content-Security-Policy", ui_csp);
    http_reply_header(req, "X-Content-Type-Options", "nosniff");
    http_reply_header(req, "Referrer-Policy", "no-referrer");
    /* Small files: always revalidate, so a rebuilt dashboard is seen at the next load. */
    http_reply_header(req, "Cache-Control", "no-cache");
    http_reply_header(req, "ETag", f->etag);
    const char *inm = http_req_header(req, "If-None-Match");
    if (inm != NULL && strcmp(inm, f->etag) == 0)
        return http_reply(req, 304, NULL, NULL);
    http_reply(req, 200, f->type, xstrdup(f->body));
}
