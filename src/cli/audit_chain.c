/* SPDX-License-Identifier: MIT */
/* audit_chain.c - checking the audit log's hash chain; see audit_chain.h. */
#include "audit_chain.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void audit_chain_hash(const char *data, size_t len, char out[65])
{
    unsigned char d[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d) < 0)
        memset(d, 0, sizeof(d));
    for (size_t i = 0; i < sizeof(d); i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int bad_at(struct audit_bad *bad, size_t line, int64_t seq, const char *why)
{
    bad->line = line;
    bad->seq = seq;
    snprintf(bad->why, sizeof(bad->why), "%s", why);
    return -1;
}

static int64_t seq_of(const char *line, size_t len)
{
    json_t *rec = json_loadb(line, len, 0, NULL);
    json_t *v = json_object_get(rec, "seq");
    int64_t seq = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
    json_decref(rec);
    return seq;
}

/* Whether a line from index from on carries seq (a record moved, not removed). */
static bool seq_later(const char *const *lines, const size_t *lens, size_t n, size_t from,
                      int64_t seq)
{
    for (size_t j = from; j < n; j++)
        if (seq_of(lines[j], lens[j]) == seq)
            return true;
    return false;
}

int audit_chain_check(const char *const *lines, const size_t *lens, size_t n, const char *head,
                      struct audit_bad *bad)
{
    memset(bad, 0, sizeof(*bad));
    char prev_hash[65] = "";
    int64_t prev_seq = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *rec = json_loadb(lines[i], lens[i], JSON_REJECT_DUPLICATES, NULL);
        json_t *seq_v = json_object_get(rec, "seq"), *prev_v = json_object_get(rec, "prev");
        if (!json_is_integer(seq_v) || !json_is_string(prev_v)) {
            json_decref(rec);
            return bad_at(bad, i + 1, -1, "not an audit record (altered)");
        }
        int64_t seq = (int64_t)json_integer_value(seq_v);
        char why[256];
        int rc = 0;
        if (i > 0 && seq > prev_seq + 1 && seq_later(lines, lens, n, i + 1, prev_seq + 1)) {
            snprintf(why, sizeof(why),
                     "seq %lld where seq %lld belongs (it comes later): records "
                     "reordered",
                     (long long)seq, (long long)prev_seq + 1);
            rc = bad_at(bad, i + 1, seq, why);
        } else if (i > 0 && seq > prev_seq + 1) {
            if (seq == prev_seq + 2)
                snprintf(why, sizeof(why), "seq %lld follows seq %lld: record %lld removed",
                         (long long)seq, (long long)prev_seq, (long long)prev_seq + 1);
            else
                snprintf(why, sizeof(why),
                         "seq %lld follows seq %lld: records %lld to %lld removed", (long long)seq,
                         (long long)prev_seq, (long long)prev_seq + 1, (long long)seq - 1);
            rc = bad_at(bad, i + 1, seq, why);
        } else if (i > 0 && seq <= prev_seq) {
            snprintf(why, sizeof(why), "seq %lld follows seq %lld: records reordered",
                     (long long)seq, (long long)prev_seq);
            rc = bad_at(bad, i + 1, seq, why);
        } else if (strcmp(json_string_value(prev_v), prev_hash) != 0) {
            if (i == 0 && seq != 1)
                rc = 0; /* a log that starts mid-way (an export): its first prev is unknown here */
            else if (i == 0)
                rc = bad_at(bad, 1, seq, "the first record's prev is not empty (altered)");
            else {
                /* The previous line's bytes are not what this record chained to. */
                snprintf(why, sizeof(why),
                         "its bytes do not hash to the next record's prev (seq %lld): altered",
                         (long long)seq);
                json_t *p = json_loadb(lines[i - 1], lens[i - 1], 0, NULL);
                int64_t ps = json_is_integer(json_object_get(p, "seq"))
                                     ? (int64_t)json_integer_value(json_object_get(p, "seq"))
                                     : -1;
                json_decref(p);
                rc = bad_at(bad, i, ps, why);
            }
        }
        json_decref(rec);
        if (rc < 0)
            return rc;
        audit_chain_hash(lines[i], lens[i], prev_hash);
        prev_seq = seq;
    }
    if (head != NULL && head[0] != '\0' && n > 0 && strcmp(head, prev_hash) != 0)
        return bad_at(bad, n, prev_seq,
                      "its bytes do not hash to the controller's head of the log: altered");
    return 0;
}
