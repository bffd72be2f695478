/* SPDX-License-Identifier: MIT */
/*
 * jsonout.c - json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(16)) without
 * its per-token costs. Each rule below is jansson 2.14's (dump.c,
 * strconv.c), restated: facts of the format, not its code.
 */
#include "jsonout.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct out {
    char *p;
    size_t len, cap;
    bool give_up; /* something jansson may write differently: use json_dumps */
};

static void reserve(struct out *o, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = xgrow(o->cap, o->len + n);
        o->p = xrealloc(o->p, o->cap);
    }
}

static void put(struct out *o, const char *s, size_t n)
{
    reserve(o, n);
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_c(struct out *o, char ch)
{
    reserve(o, 1);
    o->p[o->len++] = ch;
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char u = s[0];
    size_t k;
    uint32_t cp;
    if (u >= 0xC2 && u <= 0xDF) {
        k = 2;
        cp = u & 0x1Fu;
    } else if (u >= 0xE0 && u <= 0xEF) {
        k = 3;
        cp = u & 0x0Fu;
    } else if (u >= 0xF0 && u <= 0xF4) {
        k = 4;
        cp = u & 0x07u;
    } else {
        return 0; /* a continuation byte, 0xC0/0xC1 or above 0xF4 */
    }
    if (k > n)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0; /* overlong, beyond Unicode, or a surrogate */
    return k;
}

/* A JSON string: '"' and '\\' escaped, control characters as jansson writes them. */
static void put_string(struct out *o, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    reserve(o, n + 2);
    o->p[o->len++] = '"';
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < n;) {
        unsigned char u = s[i];
        if (u >= 0x80) {
            size_t k = utf8_len(s + i, n - i);
            if (k == 0) {
                o->give_up = true; /* json_dumps refuses it: let it say so */
                return;
            }
            i += k;
            continue;
        }
        if (u >= 0x20 && u != '"' && u != '\\') {
            i++;
            continue;
        }
        put(o, str + run, i - run);
        char esc[8];
        const char *e = esc;
        size_t elen = 2;
        switch (u) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        default: {
            static const char hex[] = "0123456789ABCDEF";
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[u >> 4];
            esc[5] = hex[u & 0xFu];
            elen = 6;
        }
        }
        put(o, e, elen);
        run = ++i;
    }
    put(o, str + run, n - run);
    put_c(o, '"');
}

static void put_integer(struct out *o, json_int_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    /* Negate in unsigned arithmetic: LLONG_MIN has no positive twin. */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[--i] = '-';
    put(o, tmp + i, sizeof(tmp) - i);
}

/*
 * "%.16g", then ".0" when the text has neither '.' nor 'e' (so that it
 * reads back as a real), and the exponent without '+' or leading zeros.
 */
static void put_real(struct out *o, double v)
{
    /*
     * A whole number below 1e15 (a time limit, a grace, 0) has at most 15
     * digits, so "%.16g" writes them all, exactly, without an exponent;
     * then ".0". -0.0 is "-0.0" there too.
     */
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
        if (v == 0 && signbit(v))
            put_c(o, '-');
        put_integer(o, (json_int_t)v);
        put(o, ".0", 2);
        return;
    }
    char b[100];
    int r = snprintf(b, sizeof(b), "%.16g", v);
    if (r < 0 || (size_t)r + 3 >= sizeof(b)) {
        o->give_up = true;
        return;
    }
    size_t len = (size_t)r;
    for (size_t i = 0; i < len; i++) {
        char ch = b[i];
        if (!((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e')) {
            o->give_up = true; /* a locale's decimal comma, "inf": jansson's business */
            return;
        }
    }
    if (memchr(b, '.', len) == NULL && memchr(b, 'e', len) == NULL) {
        memcpy(b + len, ".0", 3);
        len += 2;
    }
    char *e = memchr(b, 'e', len);
    if (e != NULL) {
        char *start = e + 1;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - b));
            len -= (size_t)(end - start);
        }
    }
    put(o, b, len);
}

static void put_value(struct out *o, const json_t *v, int depth)
{
    if (o->give_up)
        return;
    if (depth > JSONOUT_DEPTH_MAX) {
        o->give_up = true;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL:
        put(o, "null", 4);
        break;
    case JSON_TRUE:
        put(o, "true", 4);
        break;
    case JSON_FALSE:
        put(o, "false", 5);
        break;
    case JSON_INTEGER:
        put_integer(o, json_integer_value(v));
        break;
    case JSON_REAL:
        put_real(o, json_real_value(v));
        break;
    case JSON_STRING:
        put_string(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_ARRAY: {
        put_c(o, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n && !o->give_up; i++) {
            if (i > 0)
                put_c(o, ',');
            put_value(o, json_array_get(v, i), depth + 1);
        }
        put_c(o, ']');
        break;
    }
    case JSON_OBJECT: {
        put_c(o, '{');
        bool first = true;
        /* Insertion order, as json_dumps without JSON_SORT_KEYS. */
        for (void *it = json_object_iter((json_t *)v); it != NULL && !o->give_up;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                put_c(o, ',');
            first = false;
            put_string(o, json_object_iter_key(it), json_object_iter_key_len(it));
            put_c(o, ':');
            put_value(o, json_object_iter_value(it), depth + 1);
        }
        put_c(o, '}');
        break;
    }
    default:
        o->give_up = true;
    }
}

char *jsonout_dumps(const json_t *v)
{
    /* Like json_dumps without JSON_ENCODE_ANY: only an object or an array. */
    if (v == NULL || !(json_is_object(v) || json_is_array(v)))
        return json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(16));
    struct out o = {.cap = 1024};
    o.p = xmalloc(o.cap);
    put_value(&o, v, 0);
    if (o.give_up) {
        free(o.p);
        return json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(16));
    }
    put_c(&o, '\0');
    return o.p;
}
