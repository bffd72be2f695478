/* SPDX-License-Identifier: MIT */
/*
 * retry.c - the retry decision, its backoff and idempotency keys; see retry.h.
 */
#include "retry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "nordlys/err.h"

bool cli_retry_worth(enum cli_attempt kind, long status)
{
    switch (kind) {
    case CLI_ATTEMPT_NOT_SENT:
    case CLI_ATTEMPT_LOST:
        return true;
    case CLI_ATTEMPT_ANSWERED:
        /*
         * 502 and 504 come from a proxy that lost the controller; 503 from
         * a controller that cannot commit now (a full disk) or has too much
         * to hold. 500 is a bug, and 4xx says what to change: repeating
         * either would only get the same answer.
         */
        return status == 502 || status == 503 || status == 504;
    case CLI_ATTEMPT_FATAL:
    default:
        return false;
    }
}

int64_t cli_retry_delay_ms(unsigned attempt, int64_t elapsed_ms, int64_t budget_ms, uint64_t rnd)
{
    int64_t left = budget_ms - elapsed_ms;
    if (left <= 0)
        return -1;
    int64_t d = CLI_RETRY_FIRST_MS;
    for (unsigned i = 1; i < attempt && d < CLI_RETRY_MAX_MS; i++)
        d *= 2;
    if (d > CLI_RETRY_MAX_MS)
        d = CLI_RETRY_MAX_MS;
    d -= (int64_t)(rnd % (uint64_t)(d / 2 + 1));
    if (d > left)
        d = left;
    return d > 0 ? d : 1;
}

void cli_idem_key_format(const uint8_t rnd[16], char out[CLI_IDEM_KEY_LEN + 1])
{
    uint8_t b[16];
    memcpy(b, rnd, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4: random */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* the RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
}

int cli_idem_key_new(char out[CLI_IDEM_KEY_LEN + 1], struct nl_err *err)
{
    uint8_t rnd[16];
    size_t got = 0;
    while (got < sizeof(rnd)) {
        ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nl_err_set(err, -errno, "cannot make an Idempotency-Key: getrandom: %s",
                              strerror(errno));
        got += (size_t)n;
    }
    cli_idem_key_format(rnd, out);
    return 0;
}

int cli_idem_key_check(const char *key, struct nl_err *err)
{
    size_t n = strlen(key);
    if (n == 0)
        return nl_err_set(err, -EINVAL, "--idempotency-key: must not be empty");
    if (n > CLI_IDEM_KEY_MAX)
        return nl_err_set(err, -EINVAL, "--idempotency-key: %zu characters, at most %d", n,
                          CLI_IDEM_KEY_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch < 0x20 || ch > 0x7e)
            return nl_err_set(err, -EINVAL,
                              "--idempotency-key: character %zu (0x%02x) is not printable ASCII",
                              i + 1, ch);
    }
    return 0;
}
