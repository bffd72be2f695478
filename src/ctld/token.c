/* SPDX-License-Identifier: MIT */
/*
 * token.c - bearer tokens and the key that signs them; see token.h.
 *
 * libjwt checks the signature; everything else is checked here, on the
 * payload this file decodes itself: libjwt 1.10 accepts any claims and
 * any exp, and its "none" algorithm must never be reachable. The header
 * is read first so that a token that is not even a JWT ("malformed") is
 * told apart from one whose signature fails ("bad signature").
 */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/rng.h"
#include "common/xalloc.h"
#include "nordlys/err.h"

static const char *const role_names[] = {"none", "admin", "operator", "user", "agent"};
static const char *const fault_names[] = {"ok",      "missing",     "malformed", "bad signature",
                                          "expired", "unknown role"};

const char *token_role_name(enum token_role r)
{
    return (unsigned)r < sizeof(role_names) / sizeof(role_names[0]) ? role_names[r] : "none";
}

enum token_role token_role_parse(const char *name)
{
    for (unsigned r = TOKEN_ROLE_ADMIN; r <= TOKEN_ROLE_AGENT; r++)
        if (strcmp(role_names[r], name) == 0)
            return (enum token_role)r;
    return TOKEN_ROLE_NONE;
}

const char *token_fault_name(enum token_fault f)
{
    return (unsigned)f < sizeof(fault_names) / sizeof(fault_names[0]) ? fault_names[f] : "?";
}

void token_claims_init(struct token_claims *c)
{
    memset(c, 0, sizeof(*c));
}

void token_claims_release(struct token_claims *c)
{
    if (c == NULL)
        return;
    free(c->nodes);
    token_claims_init(c);
}

/* Names: 1..TOKEN_NAME_MAX-1 of [A-Za-z0-9._@-], not starting with '-' or '.'. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= TOKEN_NAME_MAX || s[0] == '-' || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' || ch == '@';
        if (!ok)
            return false;
    }
    return true;
}

/* A Unix account name as useradd takes it: [a-z_][a-z0-9_-]*, at most 32. */
static bool unix_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

int token_claims_add_node(struct token_claims *c, const char *node, struct nl_err *err)
{
    if (strcmp(node, "*") == 0) {
        c->all_nodes = true;
        return 0;
    }
    if (!name_ok(node))
        return nl_err_set(err, -EINVAL, "nodes: '%.64s' is not a node name", node);
    if (c->nnodes >= TOKEN_NODES_MAX)
        return nl_err_set(err, -EINVAL, "nodes: more than %d", TOKEN_NODES_MAX);
    size_t used = 0;
    for (size_t i = 0; i < c->nnodes; i++)
        used += strlen(c->nodes + used) + 1;
    size_t len = strlen(node) + 1;
    c->nodes = xrealloc(c->nodes, used + len);
    memcpy(c->nodes + used, node, len);
    c->nnodes++;
    return 0;
}

bool token_covers_node(const struct token_claims *c, const char *node)
{
    if (c->role != TOKEN_ROLE_AGENT)
        return false;
    if (c->all_nodes)
        return true;
    const char *p = c->nodes;
    for (size_t i = 0; i < c->nnodes; i++, p += strlen(p) + 1)
        if (strcmp(p, node) == 0)
            return true;
    return false;
}

bool token_has_tenant(const struct token_claims *c, const char *tenant)
{
    for (size_t i = 0; i < c->ntenants; i++)
        if (strcmp(c->tenants[i], tenant) == 0)
            return true;
    return false;
}

const char *token_run_as(const struct token_claims *c)
{
    return c->unix_user[0] ? c->unix_user : c->sub;
}

/* ---- the key ---- */

static int key_load_path(const char *path, bool create, struct token_key *key,
                         struct nl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT && create) {
        unsigned char fresh[TOKEN_KEY_BYTES];
        if (getrandom(fresh, sizeof(fresh), 0) != (ssize_t)sizeof(fresh))
            return nl_err_set(err, -EIO, "%s: cannot read random bytes: %s", path, strerror(errno));
        /* Written under another name and renamed, so that a crash never leaves half a key. */
        char tmp[4200];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        unlink(tmp);
        int w = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w < 0)
            return nl_err_set(err, -errno, "%s: cannot create: %s", tmp, strerror(errno));
        bool ok = write(w, fresh, sizeof(fresh)) == (ssize_t)sizeof(fresh) && fsync(w) == 0;
        ok = close(w) == 0 && ok;
        if (!ok || rename(tmp, path) < 0) {
            int e = errno;
            unlink(tmp);
            return nl_err_set(err, -EIO, "%s: cannot write: %s", path, strerror(e));
        }
        memcpy(key->bytes, fresh, sizeof(fresh));
        return 0;
    }
    if (fd < 0)
        return nl_err_set(err, errno == ENOENT ? -ENOENT : -errno, "%s: cannot open: %s%s", path,
                          strerror(errno),
                          errno == ENOENT ? " (nordlysd creates it at its first start)" : "");
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = nl_err_set(err, -errno, "%s: %s", path, strerror(errno));
    else if ((st.st_mode & 077) != 0)
        rc = nl_err_set(err, -EACCES,
                        "%s: mode %04o lets others read the signing key; chmod 600 it", path,
                        (unsigned)(st.st_mode & 07777));
    else if (st.st_size != TOKEN_KEY_BYTES)
        rc = nl_err_set(err, -EINVAL, "%s: %lld bytes, a key is %d", path, (long long)st.st_size,
                        TOKEN_KEY_BYTES);
    else if (read(fd, key->bytes, TOKEN_KEY_BYTES) != TOKEN_KEY_BYTES)
        rc = nl_err_set(err, -EIO, "%s: short read", path);
    close(fd);
    return rc;
}

int token_key_load(const char *state_dir, bool create, struct token_key *key, struct nl_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/jwt.key", state_dir);
    return key_load_path(path, create, key, err);
}

int token_old_key_load(const char *state_dir, struct token_key *key, struct nl_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/jwt.key.old", state_dir);
    return key_load_path(path, false, key, err);
}

int token_key_rotate(const char *state_dir, struct nl_err *err)
{
    char path[4096], old[4200];
    struct token_key k;
    snprintf(path, sizeof(path), "%s/jwt.key", state_dir);
    snprintf(old, sizeof(old), "%s.old", path);
    int rc = key_load_path(path, false, &k, err); /* the key to keep must be a sound one */
    if (rc < 0)
        return rc;
    /* rename replaces an older jwt.key.old: that key is retired. */
    if (rename(path, old) < 0)
        return nl_err_set(err, -errno, "%s: cannot rename to %s: %s", path, old, strerror(errno));
    return key_load_path(path, true, &k, err);
}

int token_key_retire(const char *state_dir, struct nl_err *err)
{
    char old[4200];
    snprintf(old, sizeof(old), "%s/jwt.key.old", state_dir);
    if (unlink(old) < 0)
        return nl_err_set(err, -errno, "%s: %s%s", old, strerror(errno),
                          errno == ENOENT ? " (no previous key to retire)" : "");
    return 0;
}

/* ---- claims ---- */

int token_claims_check(const struct token_claims *c, struct nl_err *err)
{
    if (!name_ok(c->sub))
        return nl_err_set(err, -EINVAL,
                          "sub: '%.64s' is not a user name (1 to %d of A-Z a-z 0-9 . _ @ -)",
                          c->sub, TOKEN_NAME_MAX - 1);
    if (c->role == TOKEN_ROLE_NONE)
        return nl_err_set(err, -EINVAL, "role: must be admin, operator, user or agent");
    for (size_t i = 0; i < c->ntenants; i++)
        if (!name_ok(c->tenants[i]))
            return nl_err_set(err, -EINVAL, "tenants: '%.64s' is not a tenant name", c->tenants[i]);
    if (c->role == TOKEN_ROLE_USER && c->ntenants == 0)
        return nl_err_set(err, -EINVAL, "tenants: a user token names at least one tenant");
    if (c->unix_user[0] && !unix_name_ok(c->unix_user))
        return nl_err_set(err, -EINVAL, "unix_user: '%.64s' is not a Unix account name",
                          c->unix_user);
    if (!c->unix_user[0] && c->role != TOKEN_ROLE_AGENT && !unix_name_ok(c->sub))
        return nl_err_set(err, -EINVAL,
                          "unix_user: needed, as sub '%.64s' is not a Unix account name", c->sub);
    if (c->role == TOKEN_ROLE_AGENT && !c->all_nodes && c->nnodes == 0)
        return nl_err_set(err, -EINVAL, "nodes: an agent token names its nodes (or \"*\")");
    if (c->role != TOKEN_ROLE_AGENT && (c->all_nodes || c->nnodes > 0))
        return nl_err_set(err, -EINVAL, "nodes: only an agent token names nodes");
    if (c->exp <= 0)
        return nl_err_set(err, -EINVAL, "exp: required");
    return 0;
}

static json_t *claims_json(const struct token_claims *c)
{
    json_t *o =
            json_pack("{s:s, s:s, s:I, s:I, s:s}", "sub", c->sub, "role", token_role_name(c->role),
                      "exp", (json_int_t)c->exp, "iat", (json_int_t)c->iat, "jti", c->jti);
    if (c->ntenants > 0) {
        json_t *t = json_array();
        for (size_t i = 0; i < c->ntenants; i++)
            json_array_append_new(t, json_string(c->tenants[i]));
        json_object_set_new(o, "tenants", t);
    }
    if (c->unix_user[0])
        json_object_set_new(o, "unix_user", json_string(c->unix_user));
    if (c->role == TOKEN_ROLE_AGENT) {
        json_t *n = json_array();
        if (c->all_nodes)
            json_array_append_new(n, json_string("*"));
        const char *p = c->nodes;
        for (size_t i = 0; i < c->nnodes; i++, p += strlen(p) + 1)
            json_array_append_new(n, json_string(p));
        json_object_set_new(o, "nodes", n);
    }
    return o;
}

int token_new_jti(char jti[TOKEN_JTI_SIZE], struct nl_err *err)
{
    unsigned char r[16];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return nl_err_set(err, -EIO, "token: cannot read random bytes");
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(jti + 2 * i, 3, "%02x", r[i]);
    return 0;
}

int token_mint(const struct token_key *key, const struct token_claims *in, char **out,
               struct nl_err *err)
{
    *out = NULL;
    int rc = token_claims_check(in, err);
    if (rc < 0)
        return rc;
    struct token_claims c = *in; /* shallow: nodes stays in's */
    if (!c.jti[0] && (rc = token_new_jti(c.jti, err)) < 0)
        return rc;
    json_t *claims = claims_json(&c);
    char *text = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, text) != 0 ||
        jwt_set_alg(jwt, JWT_ALG_HS256, key->bytes, TOKEN_KEY_BYTES) != 0 ||
        (*out = jwt_encode_str(jwt)) == NULL)
        rc = nl_err_set(err, -ENOMEM, "token: libjwt could not sign");
    jwt_free(jwt);
    free(text);
    return rc;
}

/* Base64url (no padding) of len bytes at s into a new NUL-terminated buffer; NULL if not. */
static char *b64url_decode(const char *s, size_t len, size_t *outlen)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if (len % 4 == 1)
        return NULL;
    char *out = xmalloc(len * 3 / 4 + 4);
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = s[i] ? strchr(alpha, s[i]) : NULL;
        if (p == NULL) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)(p - alpha);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    *outlen = n;
    return out;
}

/* Decode one part of a token as a JSON object; NULL if it is not one. */
static json_t *part_json(const char *s, size_t len)
{
    size_t n = 0;
    char *text = b64url_decode(s, len, &n);
    if (text == NULL)
        return NULL;
    json_t *o = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int refuse(enum token_fault *fault, enum token_fault why, struct nl_err *err,
                  const char *detail)
{
    *fault = why;
    return nl_err_set(err, -EPERM, "token: %s%s%s", token_fault_name(why), detail[0] ? ": " : "",
                      detail);
}

static int str_claim(json_t *v, const char *name, char *out, size_t size, char *why, size_t wsize)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= size) {
        snprintf(why, wsize, "claim %s: not a string of 1 to %zu characters", name, size - 1);
        return -1;
    }
    snprintf(out, size, "%s", json_string_value(v));
    return 0;
}

/* Fill c from the payload's claims; -1 with why set when one is wrong or unknown. */
static int read_claims(json_t *payload, struct token_claims *c, enum token_fault *fault, char *why,
                       size_t wsize)
{
    const char *name;
    json_t *v;
    *fault = TOKEN_MALFORMED;
    json_object_foreach(payload, name, v)
    {
        int bad = 0;
        if (strcmp(name, "sub") == 0)
            bad = str_claim(v, name, c->sub, sizeof(c->sub), why, wsize);
        else if (strcmp(name, "unix_user") == 0)
            bad = str_claim(v, name, c->unix_user, sizeof(c->unix_user), why, wsize);
        else if (strcmp(name, "jti") == 0)
            bad = json_is_string(v) && json_string_length(v) < sizeof(c->jti)
                          ? (snprintf(c->jti, sizeof(c->jti), "%s", json_string_value(v)), 0)
                          : (snprintf(why, wsize, "claim jti: not a short string"), -1);
        else if (strcmp(name, "role") == 0) {
            c->role = json_is_string(v) ? token_role_parse(json_string_value(v)) : TOKEN_ROLE_NONE;
            if (c->role == TOKEN_ROLE_NONE) {
                *fault = TOKEN_UNKNOWN_ROLE;
                snprintf(why, wsize, "role '%.32s'",
                         json_is_string(v) ? json_string_value(v) : "(not a string)");
                return -1;
            }
        } else if (strcmp(name, "exp") == 0 || strcmp(name, "iat") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                snprintf(why, wsize, "claim %s: not a time in seconds", name);
                return -1;
            }
            *(name[0] == 'e' ? &c->exp : &c->iat) = (int64_t)json_integer_value(v);
        } else if (strcmp(name, "tenants") == 0) {
            size_t i;
            json_t *t;
            if (!json_is_array(v) || json_array_size(v) > TOKEN_TENANTS_MAX)
                bad = (snprintf(why, wsize, "claim tenants: not an array of at most %d",
                                TOKEN_TENANTS_MAX),
                       -1);
            json_array_foreach(v, i, t) if (!bad)
            {
                bad = str_claim(t, "tenants", c->tenants[i], TOKEN_NAME_MAX, why, wsize);
                c->ntenants = i + 1;
            }
        } else if (strcmp(name, "nodes") == 0) {
            size_t i;
            json_t *t;
            struct nl_err e = {0};
            if (!json_is_array(v))
                bad = (snprintf(why, wsize, "claim nodes: not an array"), -1);
            json_array_foreach(v, i, t) if (!bad)
            {
                if (!json_is_string(t) || token_claims_add_node(c, json_string_value(t), &e) < 0)
                    bad = (snprintf(why, wsize, "claim %.100s",
                                    e.msg[0] ? e.msg : "nodes: not strings"),
                           -1);
            }
        } else {
            snprintf(why, wsize, "unknown claim '%.40s'", name);
            return -1;
        }
        if (bad)
            return -1;
    }
    if (c->exp == 0) {
        snprintf(why, wsize, "claim exp: required");
        return -1;
    }
    if (c->role == TOKEN_ROLE_NONE) {
        *fault = TOKEN_UNKNOWN_ROLE;
        snprintf(why, wsize, "no role");
        return -1;
    }
    struct nl_err e = {0};
    if (token_claims_check(c, &e) < 0) {
        snprintf(why, wsize, "claim %.100s", e.msg);
        return -1;
    }
    return 0;
}

int token_verify(const struct token_key *key, const char *text, int64_t now_s,
                 struct token_claims *c, enum token_fault *fault, struct nl_err *err)
{
    token_claims_init(c);
    *fault = TOKEN_OK;
    if (text == NULL || text[0] == '\0')
        return refuse(fault, TOKEN_MISSING, err,
                      "send Authorization: Bearer <token> (nordlys token create)");
    size_t len = strlen(text);
    const char *dot1 = strchr(text, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (len > TOKEN_TEXT_MAX || dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
        return refuse(fault, TOKEN_MALFORMED, err, "not three base64url parts (a JWT)");
    json_t *head = part_json(text, (size_t)(dot1 - text));
    json_t *payload = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    int rc = 0;
    char why[NL_ERR_MSG_MAX / 2] = "";
    const char *alg = json_string_value(json_object_get(head, "alg"));
    if (head == NULL || payload == NULL)
        rc = refuse(fault, TOKEN_MALFORMED, err, "header or claims are not base64url JSON");
    else if (alg == NULL || strcmp(alg, "HS256") != 0) {
        /* "none" in particular: an unsigned token is never accepted. */
        snprintf(why, sizeof(why), "algorithm '%.16s' is not HS256", alg ? alg : "(none)");
        rc = refuse(fault, TOKEN_MALFORMED, err, why);
    } else {
        jwt_t *jwt = NULL;
        if (jwt_decode(&jwt, text, key->bytes, TOKEN_KEY_BYTES) != 0 ||
            jwt_get_alg(jwt) != JWT_ALG_HS256)
            rc = refuse(fault, TOKEN_BAD_SIGNATURE, err, "not signed by this controller's key");
        jwt_free(jwt);
    }
    enum token_fault f2;
    if (rc == 0 && read_claims(payload, c, &f2, why, sizeof(why)) < 0)
        rc = refuse(fault, f2, err, why);
    else if (rc == 0 && c->exp <= now_s) {
        snprintf(why, sizeof(why), "at %lld, %lld s ago", (long long)c->exp,
                 (long long)(now_s - c->exp));
        rc = refuse(fault, TOKEN_EXPIRED, err, why);
    }
    json_decref(head);
    json_decref(payload);
    if (rc < 0)
        token_claims_release(c);
    return rc;
}

struct token_cache_slot {
    char *text; /* owned; NULL = empty */
    size_t len;
    struct token_claims c; /* c.nodes owned */
    size_t nodes_bytes;    /* of c.nodes */
};

struct token_cache {
    const struct token_key *key;
    struct token_cache_slot slots[TOKEN_CACHE_SLOTS];
};

struct token_cache *token_cache_create(const struct token_key *key)
{
    struct token_cache *tc = xcalloc(1, sizeof(*tc));
    tc->key = key;
    return tc;
}

static void slot_clear(struct token_cache_slot *s)
{
    free(s->text);
    token_claims_release(&s->c);
    s->text = NULL;
    s->len = 0;
    s->nodes_bytes = 0;
}

void token_cache_destroy(struct token_cache *tc)
{
    if (tc == NULL)
        return;
    for (unsigned i = 0; i < TOKEN_CACHE_SLOTS; i++)
        slot_clear(&tc->slots[i]);
    free(tc);
}

/*
 * Equal texts, in time that depends on the length only (a token is a
 * secret): every word is looked at, the differences OR-ed together.
 */
static bool text_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 8 <= alen; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        diff |= x ^ y;
    }
    for (; i < alen; i++)
        diff |= (uint64_t)((unsigned char)a[i] ^ (unsigned char)b[i]);
    return diff == 0;
}

/* Bytes of c's node list: nnodes NUL-terminated names back to back. */
static size_t nodes_bytes(const struct token_claims *c)
{
    size_t n = 0;
    for (size_t i = 0; c->nodes != NULL && i < c->nnodes; i++)
        n += strlen(c->nodes + n) + 1;
    return n;
}

int token_cache_verify(struct token_cache *tc, const char *text, int64_t now_s,
                       struct token_claims *c, enum token_fault *fault, struct nl_err *err)
{
    if (text == NULL || text[0] == '\0')
        return token_verify(tc->key, text, now_s, c, fault, err);
    size_t len = strnlen(text, TOKEN_TEXT_MAX + 1);
    if (len > TOKEN_TEXT_MAX)
        return token_verify(tc->key, text, now_s, c, fault, err);
    /*
     * The slot: a hash of the text's last bytes, its signature's (an HMAC,
     * as good as random); a text made to collide only evicts, since a hit
     * needs the whole text equal.
     */
    size_t tail = len < 32 ? len : 32;
    struct token_cache_slot *s = &tc->slots[nl_hash64(text + len - tail, tail) % TOKEN_CACHE_SLOTS];
    if (s->text != NULL && text_equal(s->text, s->len, text, len)) {
        if (s->c.exp > now_s) { /* the test token_verify makes, on every use */
            *fault = TOKEN_OK;
            *c = s->c;
            c->nodes = NULL;
            if (s->c.nodes != NULL) {
                c->nodes = xmalloc(s->nodes_bytes > 0 ? s->nodes_bytes : 1);
                memcpy(c->nodes, s->c.nodes, s->nodes_bytes);
            }
            return 0;
        }
        slot_clear(s); /* expired: token_verify refuses it, with its message */
    }
    int rc = token_verify(tc->key, text, now_s, c, fault, err);
    if (rc < 0)
        return rc;
    size_t nb = nodes_bytes(c);
    if (nb > TOKEN_CACHE_NODES_MAX)
        return rc;
    slot_clear(s);
    s->text = xmalloc(len + 1);
    memcpy(s->text, text, len + 1);
    s->len = len;
    s->c = *c;
    s->c.nodes = NULL;
    s->nodes_bytes = nb;
    if (c->nodes != NULL) {
        s->c.nodes = xmalloc(nb > 0 ? nb : 1);
        memcpy(s->c.nodes, c->nodes, nb);
    }
    return rc;
}

int token_parse_ttl(const char *text, int64_t *out, struct nl_err *err)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    long long mult = 1;
    if (end != NULL && end != text && end[0] != '\0' && end[1] == '\0') {
        switch (end[0]) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        default:
            mult = 0;
        }
    } else if (end == NULL || end == text || end[0] != '\0')
        mult = 0;
    if (mult == 0 || errno != 0 || v <= 0 || text[0] < '0' || text[0] > '9' ||
        v > TOKEN_TTL_MAX_S / mult)
        return nl_err_set(err, -EINVAL,
                          "ttl: '%.32s' is not a duration (1s to 3650d: 45s, 90m, 12h, 30d)", text);
    *out = v * mult;
    return 0;
}
