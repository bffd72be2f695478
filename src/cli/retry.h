/* SPDX-License-Identifier: MIT */
/*
 * retry.h - when `nordlys submit` tries again, and under which key.
 *
 * A submission whose answer is lost (the connection dropped, timed out or
 * was refused, or a proxy or a controller that cannot commit answered
 * 502/503/504) may or may not have created a job. The client sends the
 * same request again under the same Idempotency-Key, and the controller
 * answers a repeated key with the job it created the first time (200
 * instead of 201), so retrying can never create a second job.
 *
 * Everything here is pure (no I/O, no clock, no randomness of its own) so
 * that the unit tests can check every decision; cli_idem_key_new is the
 * one exception, it reads the kernel's random bytes.
 */
#ifndef NL_CLI_RETRY_H
#define NL_CLI_RETRY_H

#include <stdbool.h>
#include <stdint.h>

struct nl_err;

/* What became of one request, as far as a retry cares. */
enum cli_attempt {
    CLI_ATTEMPT_ANSWERED, /* an HTTP status came back (the status says the rest) */
    CLI_ATTEMPT_NOT_SENT, /* refused, no route, cannot resolve: nothing reached a controller */
    CLI_ATTEMPT_LOST,     /* sent, but the answer was lost: reset, empty reply, timeout */
    CLI_ATTEMPT_FATAL,    /* trying again cannot help: a bad URL, an answer too large */
};

/* Whether an attempt that ended as kind (with HTTP status, for ANSWERED) is worth repeating. */
bool cli_retry_worth(enum cli_attempt kind, long status);

/* The first and the longest wait between two attempts. */
#define CLI_RETRY_FIRST_MS 100
#define CLI_RETRY_MAX_MS 2000

/*
 * The wait before attempt number attempt + 1 (attempt 1 is the first
 * request): CLI_RETRY_FIRST_MS doubled per attempt up to CLI_RETRY_MAX_MS,
 * less a random part of up to half taken from rnd (so that clients cut off
 * by one crash do not all come back in step), and never past the budget:
 * returns -1 when elapsed_ms has used budget_ms up, else at most what is
 * left of it (at least 1 ms).
 */
int64_t cli_retry_delay_ms(unsigned attempt, int64_t elapsed_ms, int64_t budget_ms, uint64_t rnd);

/* An Idempotency-Key as the controller takes it: 1 to 255 printable ASCII characters. */
#define CLI_IDEM_KEY_MAX 255
/* The length of a generated key: a UUID in its 8-4-4-4-12 text form. */
#define CLI_IDEM_KEY_LEN 36

/* Format 16 random bytes as a version-4 UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"). */
void cli_idem_key_format(const uint8_t rnd[16], char out[CLI_IDEM_KEY_LEN + 1]);

/* A new random key in out; returns 0, or a negative errno with err naming the failure. */
int cli_idem_key_new(char out[CLI_IDEM_KEY_LEN + 1], struct nl_err *err);

/* Returns 0 if key is one the controller accepts, else -EINVAL with err saying why. */
int cli_idem_key_check(const char *key, struct nl_err *err);

#endif
