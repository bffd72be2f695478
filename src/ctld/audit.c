/* SPDX-License-Identifier: MIT */
/* audit.c - the hash-chained audit log; see audit.h. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "store/store.h"

struct audit {
    struct nl_store *store; /* borrowed: the record */
    char *path;             /* the mirror */
    int fd;                 /* the mirror, or -1 once it could not be written */
    uint64_t synced_seq;    /* the last committed record's seq */
    char synced_hash[AUDIT_HASH_HEX];
    uint64_t seq; /* the last buffered record's */
    char hash[AUDIT_HASH_HEX];
    char *buf; /* lines buffered since the last COMMIT, each with its newline */
    size_t len, cap;
};

void audit_hash(const void *data, size_t len, char out[AUDIT_HASH_HEX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d) < 0)
        memset(d, 0, sizeof(d));
    for (size_t i = 0; i < sizeof(d); i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * sizeof(d)] = '\0';
}

/* Read the head from the store again, dropping the buffer (a rebuild; no transaction open). */
static int audit_reload(struct audit *a, struct nl_err *err)
{
    uint64_t seq = 0;
    char *line = NULL;
    int rc = nl_store_audit_last(a->store, &seq, &line, err);
    if (rc < 0)
        return rc;
    a->synced_seq = seq;
    if (line != NULL)
        audit_hash(line, strlen(line), a->synced_hash);
    else
        a->synced_hash[0] = '\0';
    free(line);
    a->seq = a->synced_seq;
    memcpy(a->hash, a->synced_hash, sizeof(a->hash));
    a->len = 0;
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int mirror_line(uint64_t seq, const char *line, size_t len, void *arg)
{
    (void)seq;
    int fd = *(int *)arg;
    return write_all(fd, line, len) < 0 || write_all(fd, "\n", 1) < 0 ? -EIO : 0;
}

/*
 * Write the mirror afresh from the table (a temporary file renamed over
 * it), so that it shows what the table holds after any crash or edit.
 */
static int mirror_rewrite(struct audit *a, struct nl_err *err)
{
    size_t n = strlen(a->path) + 8;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp", a->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = 0;
    if (fd < 0) {
        rc = nl_err_set(err, -errno, "%s: cannot create: %s", tmp, strerror(errno));
    } else {
        rc = nl_store_audit_walk(a->store, 0, mirror_line, &fd, err);
        if (rc < 0 && err->msg[0] == '\0')
            nl_err_set(err, rc, "%s: cannot write: %s", tmp, strerror(-rc));
        if (close(fd) < 0 && rc == 0)
            rc = nl_err_set(err, -errno, "%s: close: %s", tmp, strerror(errno));
        if (rc == 0 && rename(tmp, a->path) < 0)
            rc = nl_err_set(err, -errno, "%s: cannot replace: %s", a->path, strerror(errno));
        if (rc < 0)
            unlink(tmp);
    }
    free(tmp);
    return rc;
}

/*
 * A log written before the table existed (a file, the record then) is kept
 * beside, never overwritten: its chain is checked with audit verify --file.
 */
static int keep_old_file(struct audit *a, struct nl_err *err)
{
    struct stat st;
    if (a->synced_seq > 0 || stat(a->path, &st) < 0 || st.st_size == 0)
        return 0;
    size_t n = strlen(a->path) + 16;
    char *old = xmalloc(n);
    snprintf(old, n, "%s.before-table", a->path);
    int rc = 0;
    if (link(a->path, old) < 0 && errno != EEXIST)
        rc = nl_err_set(err, -errno, "%s: cannot keep it as %s: %s", a->path, old, strerror(errno));
    else
        log_warn("%s: an audit log from before the store held it is kept as %s; the chain "
                 "starts again at seq 1 in the store",
                 a->path, old);
    free(old);
    return rc;
}

struct audit *audit_open(struct nl_store *st, const char *mirror, struct nl_err *err)
{
    struct audit *a = xcalloc(1, sizeof(*a));
    a->store = st;
    a->path = xstrdup(mirror);
    a->fd = -1;
    if (audit_reload(a, err) < 0 || keep_old_file(a, err) < 0) {
        audit_close(a);
        return NULL;
    }
    /* Only a copy: a full disk must not stop the controller (the store says when it can write). */
    struct nl_err why = {0};
    if (mirror_rewrite(a, &why) < 0) {
        log_warn("audit: %s; %s is not the audit table's copy until a start can write it (the "
                 "records are in the store: GET /v1/audit, nordlys audit export)",
                 why.msg, mirror);
        return a;
    }
    a->fd = open(mirror, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (a->fd < 0)
        log_warn("audit: %s: cannot open: %s; no copy of the audit table until the next start",
                 mirror, strerror(errno));
    return a;
}

void audit_close(struct audit *a)
{
    if (a == NULL)
        return;
    if (a->fd >= 0)
        close(a->fd);
    free(a->buf);
    free(a->path);
    free(a);
}

static void buf_add(struct audit *a, const char *p, size_t n)
{
    if (a->len + n > a->cap) {
        a->cap = xgrow(a->cap, a->len + n);
        a->buf = xrealloc(a->buf, a->cap);
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

/*
 * The line is {"seq":N,<rec's fields>,"prev":"<hash>"}, built around one
 * dump of rec: the same bytes as dumping one object with the fields in that
 * order (JSON_COMPACT), without copying rec into it. One record per
 * submission, so this is on the API's hot path.
 */
void audit_append(struct audit *a, json_t *rec)
{
    char *body = json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII);
    size_t blen = body ? strlen(body) : 0;
    char head[40];
    int hn = snprintf(head, sizeof(head), "{\"seq\":%llu", (unsigned long long)(a->seq + 1));
    size_t start = a->len;
    buf_add(a, head, (size_t)hn);
    if (blen > 2) { /* not "{}": its fields, without the braces */
        buf_add(a, ",", 1);
        buf_add(a, body + 1, blen - 2);
    }
    buf_add(a, ",\"prev\":\"", 9);
    buf_add(a, a->hash, strlen(a->hash));
    buf_add(a, "\"}\n", 3);
    free(body);
    audit_hash(a->buf + start, a->len - start - 1, a->hash);
    a->seq++;
}

static void grow_add(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n > *cap) {
        *cap = xgrow(*cap, *len + n);
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, p, n);
    *len += n;
}

/*
 * The code point of the UTF-8 sequence at s (n bytes left) and its length
 * in *used, or -1 (one byte used) when it is not valid UTF-8: overlong
 * forms, surrogates and code points past U+10FFFF are not, as for jansson.
 */
static long utf8_next(const unsigned char *s, size_t n, size_t *used)
{
    *used = 1;
    unsigned char c0 = s[0];
    size_t k;
    long cp, min;
    if (c0 < 0x80)
        return c0;
    if ((c0 & 0xE0) == 0xC0)
        k = 2, cp = c0 & 0x1F, min = 0x80;
    else if ((c0 & 0xF0) == 0xE0)
        k = 3, cp = c0 & 0x0F, min = 0x800;
    else if ((c0 & 0xF8) == 0xF0)
        k = 4, cp = c0 & 0x07, min = 0x10000;
    else
        return -1;
    if (k > n)
        return -1;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *used = k;
    return cp;
}

void audit_json_string(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    grow_add(buf, len, cap, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' && u[run] != '\\')
            run++;
        if (run > i) { /* the common case: a run of printable ASCII, copied as it is */
            grow_add(buf, len, cap, s + i, run - i);
            i = run;
            continue;
        }
        size_t used;
        long cp = utf8_next(u + i, n - i, &used);
        char esc[16];
        int en;
        switch (cp) {
        case '"':
            en = snprintf(esc, sizeof(esc), "\\\"");
            break;
        case '\\':
            en = snprintf(esc, sizeof(esc), "\\\\");
            break;
        case '\b':
            en = snprintf(esc, sizeof(esc), "\\b");
            break;
        case '\f':
            en = snprintf(esc, sizeof(esc), "\\f");
            break;
        case '\n':
            en = snprintf(esc, sizeof(esc), "\\n");
            break;
        case '\r':
            en = snprintf(esc, sizeof(esc), "\\r");
            break;
        case '\t':
            en = snprintf(esc, sizeof(esc), "\\t");
            break;
        default:
            if (cp < 0)
                cp = 0xFFFD;
            if (cp < 0x10000)
                en = snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)cp);
            else {
                long v = cp - 0x10000;
                en = snprintf(esc, sizeof(esc), "\\u%04X\\u%04X", (unsigned)(0xD800 | (v >> 10)),
                              (unsigned)(0xDC00 | (v & 0x3FF)));
            }
        }
        grow_add(buf, len, cap, esc, (size_t)en);
        i += used;
    }
    grow_add(buf, len, cap, "\"", 1);
}

/* v in decimal at the end of out[24], "-" first when neg; the start of the digits. */
static const char *decimal(char out[24], unsigned long long v, bool neg)
{
    char *p = out + 24;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    if (neg)
        *--p = '-';
    return p;
}

void audit_append_fields(struct audit *a, const struct audit_field *f, size_t n)
{
    char num[24];
    const char *d = decimal(num, (unsigned long long)(a->seq + 1), false);
    size_t start = a->len;
    buf_add(a, "{\"seq\":", 7);
    buf_add(a, d, (size_t)(num + 24 - d));
    for (size_t i = 0; i < n; i++) {
        buf_add(a, ",\"", 2);
        buf_add(a, f[i].key, strlen(f[i].key));
        buf_add(a, "\":", 2);
        if (f[i].str != NULL)
            audit_json_string(&a->buf, &a->len, &a->cap, f[i].str, strlen(f[i].str));
        else {
            long long v = f[i].num;
            unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            d = decimal(num, mag, v < 0);
            buf_add(a, d, (size_t)(num + 24 - d));
        }
    }
    buf_add(a, ",\"prev\":\"", 9);
    buf_add(a, a->hash, strlen(a->hash));
    buf_add(a, "\"}\n", 3);
    audit_hash(a->buf + start, a->len - start - 1, a->hash);
    a->seq++;
}

bool audit_pending(const struct audit *a)
{
    return a->len > 0;
}

int audit_write(struct audit *a, struct nl_err *err)
{
    uint64_t seq = a->synced_seq;
    for (const char *s = a->buf, *e; s < a->buf + a->len; s = e + 1) {
        e = memchr(s, '\n', (size_t)(a->buf + a->len - s));
        int rc = nl_store_audit_append(a->store, ++seq, s, (size_t)(e - s), err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void audit_settle(struct audit *a, bool committed)
{
    if (!committed) {
        struct nl_err err = {0};
        if (audit_reload(a, &err) < 0) {
            /* The store cannot be read: keep the last head known committed. */
            log_warn("audit: %s; the chain goes on from seq %llu", err.msg,
                     (unsigned long long)a->synced_seq);
            a->seq = a->synced_seq;
            memcpy(a->hash, a->synced_hash, sizeof(a->hash));
            a->len = 0;
        }
        return;
    }
    /* The mirror is a convenience, never synced: a crash loses its end, the start rewrites it. */
    if (a->fd >= 0 && a->len > 0 && write_all(a->fd, a->buf, a->len) < 0) {
        log_warn("audit: %s: cannot append (%s); the copy stops until the next start (the "
                 "records are in the store)",
                 a->path, strerror(errno));
        close(a->fd);
        a->fd = -1;
    }
    a->synced_seq = a->seq;
    memcpy(a->synced_hash, a->hash, sizeof(a->hash));
    a->len = 0;
}

struct lines_ctx {
    json_t *arr;
    size_t bytes, max;
};

static int add_line(uint64_t seq, const char *line, size_t len, void *arg)
{
    (void)seq;
    struct lines_ctx *l = arg;
    if (l->bytes + len + 1 > l->max)
        return -EFBIG;
    l->bytes += len + 1;
    json_array_append_new(l->arr, json_stringn(line, len));
    return 0;
}

int audit_lines(const struct audit *a, size_t max_bytes, json_t **lines, struct nl_err *err)
{
    struct lines_ctx l = {.arr = json_array(), .max = max_bytes};
    int rc = nl_store_audit_walk(a->store, 0, add_line, &l, err);
    /* Committed records only: audit_write inserts them just before the COMMIT. */
    if (rc == -EFBIG)
        nl_err_set(err, rc, "audit: more than %zu bytes of records; export them in parts",
                   max_bytes);
    if (rc < 0) {
        json_decref(l.arr);
        return rc;
    }
    *lines = l.arr;
    return 0;
}

uint64_t audit_seq(const struct audit *a)
{
    return a->synced_seq;
}

const char *audit_head(const struct audit *a)
{
    return a->synced_hash;
}
