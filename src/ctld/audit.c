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

#include "common/xalloc.h"
#include "nordlys/err.h"

/* How much of the file's end is read at open to find the last record. */
#define AUDIT_TAIL_BYTES (256 * 1024)

struct audit {
    char *path;
    int fd;
    off_t synced_size;   /* the file's length after the last good sync */
    uint64_t synced_seq; /* the last synced record's seq */
    char synced_hash[AUDIT_HASH_HEX];
    uint64_t seq; /* the last buffered record's */
    char hash[AUDIT_HASH_HEX];
    char *buf; /* lines buffered since the last sync */
    size_t len, cap;
};

void audit_hash(const void *data, size_t len, char out[AUDIT_HASH_HEX])
{
    unsigned char d[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d) < 0)
        memset(d, 0, sizeof(d));
    for (size_t i = 0; i < sizeof(d); i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Read the last complete line of the file; cut off a torn one. */
static int find_tail(struct audit *a, struct nl_err *err)
{
    struct stat st;
    if (fstat(a->fd, &st) < 0)
        return nl_err_set(err, -errno, "%s: %s", a->path, strerror(errno));
    off_t size = st.st_size, from = size > AUDIT_TAIL_BYTES ? size - AUDIT_TAIL_BYTES : 0;
    size_t n = (size_t)(size - from);
    char *tail = xmalloc(n + 1);
    if (pread(a->fd, tail, n, from) != (ssize_t)n) {
        free(tail);
        return nl_err_set(err, -EIO, "%s: cannot read its end", a->path);
    }
    tail[n] = '\0';
    size_t end = n;
    while (end > 0 && tail[end - 1] != '\n')
        end--;
    if (end < n) {
        /* Never synced, so never answered: not part of the record. */
        if (ftruncate(a->fd, from + (off_t)end) < 0) {
            free(tail);
            return nl_err_set(err, -errno, "%s: cannot cut a torn last line: %s", a->path,
                              strerror(errno));
        }
        size = from + (off_t)end;
    }
    a->synced_size = size;
    if (end > 0) {
        size_t start = end - 1;
        while (start > 0 && tail[start - 1] != '\n')
            start--;
        audit_hash(tail + start, end - 1 - start, a->synced_hash);
        json_t *last = json_loadb(tail + start, end - 1 - start, 0, NULL);
        json_t *seq = json_object_get(last, "seq");
        if (!json_is_integer(seq)) {
            json_decref(last);
            free(tail);
            return nl_err_set(err, -EINVAL,
                              "%s: its last line is not an audit record (check it with "
                              "nordlys audit verify --file)",
                              a->path);
        }
        a->synced_seq = (uint64_t)json_integer_value(seq);
        json_decref(last);
    }
    free(tail);
    a->seq = a->synced_seq;
    memcpy(a->hash, a->synced_hash, sizeof(a->hash));
    return 0;
}

struct audit *audit_open(const char *path, struct nl_err *err)
{
    struct audit *a = xcalloc(1, sizeof(*a));
    a->path = xstrdup(path);
    a->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (a->fd < 0) {
        nl_err_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
        audit_close(a);
        return NULL;
    }
    if (find_tail(a, err) < 0) {
        audit_close(a);
        return NULL;
    }
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

void audit_append(struct audit *a, json_t *rec)
{
    json_t *o = json_pack("{s:I}", "seq", (json_int_t)(a->seq + 1));
    json_object_update(o, rec);
    json_object_set_new(o, "prev", json_string(a->hash));
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    size_t n = strlen(line);
    if (a->len + n + 1 > a->cap) {
        a->cap = xgrow(a->cap, a->len + n + 1);
        a->buf = xrealloc(a->buf, a->cap);
    }
    memcpy(a->buf + a->len, line, n);
    a->buf[a->len + n] = '\n';
    a->len += n + 1;
    audit_hash(line, n, a->hash);
    a->seq++;
    free(line);
}

bool audit_pending(const struct audit *a)
{
    return a->len > 0;
}

int audit_sync(struct audit *a, struct nl_err *err)
{
    size_t off = 0;
    int rc = 0;
    while (off < a->len) {
        ssize_t w = write(a->fd, a->buf + off, a->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = nl_err_set(err, -(w < 0 ? errno : EIO), "audit: %s: write: %s", a->path,
                            strerror(w < 0 ? errno : EIO));
            break;
        }
        off += (size_t)w;
    }
    if (rc == 0 && fdatasync(a->fd) < 0)
        rc = nl_err_set(err, -errno, "audit: %s: fdatasync: %s", a->path, strerror(errno));
    if (rc < 0) {
        /* Back to the last whole chain; the records' answers become 503s. */
        if (ftruncate(a->fd, a->synced_size) < 0) {
            /* Nothing better to do: the next open cuts a torn line. */
        }
        a->seq = a->synced_seq;
        memcpy(a->hash, a->synced_hash, sizeof(a->hash));
        a->len = 0;
        return rc;
    }
    a->synced_size += (off_t)a->len;
    a->synced_seq = a->seq;
    memcpy(a->synced_hash, a->hash, sizeof(a->hash));
    a->len = 0;
    return 0;
}

const char *audit_path(const struct audit *a)
{
    return a->path;
}

uint64_t audit_seq(const struct audit *a)
{
    return a->synced_seq;
}

const char *audit_head(const struct audit *a)
{
    return a->synced_hash;
}
