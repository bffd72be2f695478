/* SPDX-License-Identifier: MIT */
/*
 * outtail.c - in-memory tails of job output (see outtail.h).
 *
 * Each stream is a ring of up to tail_max bytes, grown by doubling as
 * output arrives (most jobs write little), holding stream offsets
 * [start, end), and its sources (the nodes that shipped to it, sorted by
 * node, the first one inline so that a one-node job allocates nothing
 * for them), each with the run-relative offset it has reached. Jobs are
 * found by id in a u64 map of indexes into a dense array; eviction scans
 * for the least recently written job, which is O(jobs) but only runs when
 * the total bound is passed.
 */
#include "outtail.h"

#include <stdlib.h>
#include <string.h>

#include "common/u64map.h"
#include "common/xalloc.h"

/* One node's output of one run: the run-relative offset after its last byte received. */
struct source {
    uint32_t node, run;
    uint64_t end;
};

struct stream {
    uint8_t *ring;
    size_t cap, head, held; /* the oldest byte is ring[head]; held bytes in all */
    uint64_t end, lost;     /* stream offset after the last byte; bytes never received */
    uint32_t run;           /* the newest run whose output came */
    struct source one;      /* the first source, when nsrc >= 1 */
    struct source *more;    /* the others (nsrc - 1), sorted by node */
    size_t nsrc, cap_more;
};

struct tail {
    uint64_t job;
    uint64_t touched; /* o->tick at its last write */
    struct stream s[OUTTAIL_STREAMS];
};

struct outtail {
    size_t tail_max, total_max, total;
    uint64_t tick;
    struct nl_u64map index; /* job -> position in tails + 1 */
    struct tail **tails;
    size_t n, cap;
};

struct outtail *outtail_create(size_t tail_max, size_t total_max)
{
    struct outtail *o = xcalloc(1, sizeof(*o));
    o->tail_max = tail_max ? tail_max : 1;
    o->total_max = total_max;
    return o;
}

static void tail_free(struct tail *t)
{
    for (int i = 0; i < OUTTAIL_STREAMS; i++) {
        free(t->s[i].ring);
        free(t->s[i].more);
    }
    free(t);
}

void outtail_destroy(struct outtail *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->n; i++)
        tail_free(o->tails[i]);
    free(o->tails);
    nl_u64map_release(&o->index);
    free(o);
}

size_t outtail_bytes(const struct outtail *o)
{
    return o->total;
}

static struct tail *tail_find(const struct outtail *o, uint64_t job)
{
    uint64_t pos;
    return nl_u64map_get(&o->index, job, &pos) ? o->tails[pos - 1] : NULL;
}

static struct tail *tail_get(struct outtail *o, uint64_t job)
{
    struct tail *t = tail_find(o, job);
    if (t != NULL)
        return t;
    if (o->n == o->cap)
        o->tails = xreallocarray(o->tails, o->cap = xgrow(o->cap, o->n + 1), sizeof(*o->tails));
    t = xcalloc(1, sizeof(*t));
    t->job = job;
    o->tails[o->n++] = t;
    nl_u64map_put(&o->index, job, o->n);
    return t;
}

/* Forget the tail at position pos (the last one moves into its place). */
static void tail_drop(struct outtail *o, size_t pos)
{
    struct tail *t = o->tails[pos];
    for (int i = 0; i < OUTTAIL_STREAMS; i++)
        o->total -= t->s[i].held;
    nl_u64map_del(&o->index, t->job, NULL);
    tail_free(t);
    o->tails[pos] = o->tails[--o->n];
    if (pos < o->n)
        nl_u64map_put(&o->index, o->tails[pos]->job, pos + 1);
}

/*
 * Keep the total within its bound: forget the jobs written to longest ago,
 * never keep, down to 7/8 of the bound, so that the O(jobs) scan runs once
 * per eighth of the bound written, not once per chunk.
 */
static void evict(struct outtail *o, const struct tail *keep)
{
    if (o->total_max == 0 || o->total <= o->total_max)
        return;
    while (o->total > o->total_max - o->total_max / 8 && o->n > 1) {
        size_t oldest = o->n;
        for (size_t i = 0; i < o->n; i++)
            if (o->tails[i] != keep &&
                (oldest == o->n || o->tails[i]->touched < o->tails[oldest]->touched))
                oldest = i;
        if (oldest == o->n)
            return;
        tail_drop(o, oldest);
    }
}

/* Make room for want bytes in s's ring (up to tail_max), keeping the held bytes in order. */
static void ring_grow(struct outtail *o, struct stream *s, size_t want)
{
    if (want <= s->cap || s->cap == o->tail_max)
        return;
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < want && cap < o->tail_max)
        cap *= 2;
    if (cap > o->tail_max)
        cap = o->tail_max;
    uint8_t *ring = xmalloc(cap);
    size_t first = s->cap - s->head < s->held ? s->cap - s->head : s->held;
    if (s->held > 0) {
        memcpy(ring, s->ring + s->head, first);
        memcpy(ring + first, s->ring, s->held - first);
    }
    free(s->ring);
    s->ring = ring;
    s->cap = cap;
    s->head = 0;
}

/* Append len bytes at s->end, dropping the oldest held bytes past tail_max. */
static void ring_append(struct outtail *o, struct stream *s, const uint8_t *p, size_t len)
{
    if (len >= o->tail_max) {
        /* Only its last tail_max bytes can stay. */
        p += len - o->tail_max;
        s->end += len - o->tail_max;
        o->total -= s->held;
        s->held = 0;
        s->head = 0;
        len = o->tail_max;
    }
    ring_grow(o, s, s->held + len);
    if (s->held + len > s->cap) {
        size_t drop = s->held + len - s->cap;
        s->head = (s->head + drop) % s->cap;
        s->held -= drop;
        o->total -= drop;
    }
    size_t at = (s->head + s->held) % s->cap;
    size_t first = s->cap - at < len ? s->cap - at : len;
    memcpy(s->ring + at, p, first);
    memcpy(s->ring, p + first, len - first);
    s->held += len;
    s->end += len;
    o->total += len;
}

/* node's source in s, added (at its end 0) when new: the first inline, the others by node. */
static struct source *source_get(struct stream *s, uint32_t node)
{
    if (s->nsrc == 0) {
        s->nsrc = 1;
        s->one = (struct source){.node = node};
        return &s->one;
    }
    if (s->one.node == node)
        return &s->one;
    size_t lo = 0, hi = s->nsrc - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->more[mid].node < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->nsrc - 1 && s->more[lo].node == node)
        return &s->more[lo];
    if (s->nsrc - 1 == s->cap_more)
        s->more =
                xreallocarray(s->more, s->cap_more = xgrow(s->cap_more, s->nsrc), sizeof(*s->more));
    memmove(&s->more[lo + 1], &s->more[lo], (s->nsrc - 1 - lo) * sizeof(*s->more));
    s->more[lo] = (struct source){.node = node};
    s->nsrc++;
    return &s->more[lo];
}

void outtail_add(struct outtail *o, uint64_t job, uint32_t run, uint32_t node,
                 enum outtail_stream stream, uint64_t offset, const void *data, size_t len)
{
    if ((unsigned)stream >= OUTTAIL_STREAMS || len == 0)
        return;
    struct tail *t = tail_get(o, job);
    struct stream *s = &t->s[stream];
    if (run < s->run)
        return; /* an older run's late bytes: the stream has moved on */
    s->run = run;
    struct source *src = source_get(s, node);
    if (src->run != run) {
        /* This node's output of a newer run: its offsets count from 0 again. */
        src->run = run;
        src->end = 0;
    }
    const uint8_t *p = data;
    if (offset + len <= src->end)
        return; /* a resend of bytes already held (its sync's answer was lost) */
    if (offset < src->end) {
        p += src->end - offset;
        len -= (size_t)(src->end - offset);
        offset = src->end;
    }
    if (offset > src->end) {
        /* A hole: the tail restarts after it, so that what is held stays contiguous. */
        uint64_t hole = offset - src->end;
        s->lost += hole;
        o->total -= s->held;
        s->held = 0;
        s->head = 0;
        s->end += hole;
    }
    src->end = offset + len;
    ring_append(o, s, p, len);
    t->touched = ++o->tick;
    evict(o, t);
}

void outtail_read(const struct outtail *o, uint64_t job, enum outtail_stream stream,
                  uint64_t offset, void *buf, size_t max, struct outtail_view *out)
{
    memset(out, 0, sizeof(*out));
    const struct tail *t = (unsigned)stream < OUTTAIL_STREAMS ? tail_find(o, job) : NULL;
    if (t == NULL)
        return;
    const struct stream *s = &t->s[stream];
    out->known = true;
    out->end = s->end;
    out->start = s->end - s->held;
    out->lost = s->lost;
    out->run = s->run;
    out->offset = offset < out->start ? out->start : offset > s->end ? s->end : offset;
    uint64_t avail = s->end - out->offset;
    size_t n = avail < max ? (size_t)avail : max;
    size_t from = (s->head + (size_t)(out->offset - out->start)) % (s->cap ? s->cap : 1);
    size_t first = s->cap - from < n ? s->cap - from : n;
    if (n > 0) {
        memcpy(buf, s->ring + from, first);
        memcpy((uint8_t *)buf + first, s->ring, n - first);
    }
    out->len = n;
}
