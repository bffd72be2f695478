/* SPDX-License-Identifier: MIT */
/*
 * b64.h - standard base64 (RFC 4648 section 4, with padding), for job
 * output carried in JSON: an agent's sync and GET /v1/jobs/{id}/output
 * send output bytes as base64, since a job writes any bytes and a JSON
 * string holds only UTF-8. Pure.
 */
#ifndef NL_COMMON_B64_H
#define NL_COMMON_B64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the base64 text of n bytes, without the NUL. */
size_t b64_encoded_len(size_t n);
/* Write the base64 of data[0..n) and a NUL into out (b64_encoded_len(n) + 1 bytes). */
void b64_encode(const void *data, size_t n, char *out);
/*
 * Decode text[0..len) into out (at least len / 4 * 3 bytes): the number
 * of bytes, or -1 when text is not padded base64 (bad character, length
 * not a multiple of 4, padding inside).
 */
long b64_decode(const char *text, size_t len, uint8_t *out);

#endif
