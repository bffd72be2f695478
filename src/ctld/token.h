/* SPDX-License-Identifier: MIT */
/*
 * token.h - bearer tokens (JWT, RFC 7519, HS256 over libjwt) and the
 * controller's key that signs them (STATE/jwt.key). The claims are those
 * of the shared spec (docs/security.md): sub, role, tenants, unix_user,
 * nodes (agents), exp, iat, jti. Verification is strict: the header must
 * say HS256, every claim must have its type and shape, an unknown claim
 * or role is refused, and exp is required and checked.
 *
 * A module of the lowest layer: it calls nothing of src/ctld.
 */
#ifndef NL_CTLD_TOKEN_H
#define NL_CTLD_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_err;

#define TOKEN_KEY_BYTES   32
#define TOKEN_NAME_MAX    64 /* sub, a tenant, a Unix account, with its NUL */
#define TOKEN_TENANTS_MAX 32
#define TOKEN_NODES_MAX   4096 /* node names an agent token may list */
#define TOKEN_TEXT_MAX    8192 /* the longest token accepted on the wire */
#define TOKEN_TTL_MAX_S   (10LL * 365 * 86400)
#define TOKEN_JTI_SIZE    40 /* a jti with its NUL (minted ones: 32 hex digits) */

enum token_role {
    TOKEN_ROLE_NONE = 0,
    TOKEN_ROLE_ADMIN,
    TOKEN_ROLE_OPERATOR,
    TOKEN_ROLE_USER,
    TOKEN_ROLE_AGENT,
};

struct token_key {
    unsigned char bytes[TOKEN_KEY_BYTES];
};

struct token_claims {
    char sub[TOKEN_NAME_MAX];
    enum token_role role;
    char tenants[TOKEN_TENANTS_MAX][TOKEN_NAME_MAX];
    size_t ntenants;
    char unix_user[TOKEN_NAME_MAX]; /* "" = none given (jobs run as sub) */
    bool all_nodes;                 /* agent: nodes ["*"] */
    char *nodes;                    /* agent: owned, nnodes NUL-terminated names back to back */
    size_t nnodes;
    int64_t exp, iat; /* seconds since the epoch; iat 0 = not given */
    char jti[TOKEN_JTI_SIZE]; /* "" = not given */
};

/* Why a token was refused (token_verify); for the 401's message and the audit log. */
enum token_fault {
    TOKEN_OK = 0,
    TOKEN_MISSING,
    TOKEN_MALFORMED,
    TOKEN_BAD_SIGNATURE,
    TOKEN_EXPIRED,
    TOKEN_UNKNOWN_ROLE,
};

/* "admin", "operator", "user", "agent" ("none" for TOKEN_ROLE_NONE). */
const char *token_role_name(enum token_role r);
/* The role called name, or TOKEN_ROLE_NONE. */
enum token_role token_role_parse(const char *name);
/* "missing", "malformed", "bad signature", "expired", "unknown role". */
const char *token_fault_name(enum token_fault f);

/* Zeroed claims (nodes NULL); release with token_claims_release. */
void token_claims_init(struct token_claims *c);
void token_claims_release(struct token_claims *c);
/* Add a node name to an agent token's claims ("*" sets all_nodes). -EINVAL if it cannot be. */
int token_claims_add_node(struct token_claims *c, const char *node, struct nl_err *err);
/* Whether c (an agent's) covers node. */
bool token_covers_node(const struct token_claims *c, const char *node);
/* Whether c names tenant among its tenants. */
bool token_has_tenant(const struct token_claims *c, const char *tenant);
/* The Unix account c's jobs run as: unix_user, else sub. Borrowed from c. */
const char *token_run_as(const struct token_claims *c);

/*
 * Load STATE/jwt.key (32 bytes, mode 0600), creating it from the system's
 * random source when absent and create is set. -EACCES when its mode lets
 * anyone but its owner read it, -EINVAL when its size is wrong, -ENOENT
 * when absent and !create; err names the file.
 */
int token_key_load(const char *state_dir, bool create, struct token_key *key, struct nl_err *err);

/*
 * Key rotation. STATE/jwt.key.old is the previous key: it signs nothing
 * and verifies tokens until it is retired, so that tokens minted before a
 * rotation keep working while new ones are handed out. The controller
 * reads both at start (a rotation or retirement takes effect at the next).
 * token_old_key_load: as token_key_load, never creating (-ENOENT: none).
 * token_key_rotate: jwt.key becomes jwt.key.old (an older one is retired)
 * and a fresh jwt.key is made. token_key_retire: remove jwt.key.old
 * (-ENOENT naming it when there is none).
 */
int token_old_key_load(const char *state_dir, struct token_key *key, struct nl_err *err);
int token_key_rotate(const char *state_dir, struct nl_err *err);
int token_key_retire(const char *state_dir, struct nl_err *err);

/*
 * Check c as a set of claims a token may carry (the same rules as
 * token_verify): -EINVAL with err naming the claim. Used before minting.
 */
int token_claims_check(const struct token_claims *c, struct nl_err *err);
/* A fresh random jti (32 hex digits) into jti. -EIO when no random bytes can be read. */
int token_new_jti(char jti[TOKEN_JTI_SIZE], struct nl_err *err);
/* Sign c (checked first) into *out (owned, free()). A missing jti is made up. */
int token_mint(const struct token_key *key, const struct token_claims *c, char **out,
               struct nl_err *err);
/*
 * Verify text (NULL or "" = missing) against key at now_s: 0 with *c
 * filled (release it), or -EPERM with *fault and err saying why (the
 * message names the fault: "token: expired at 1700000000").
 */
int token_verify(const struct token_key *key, const char *text, int64_t now_s,
                 struct token_claims *c, enum token_fault *fault, struct nl_err *err);

/*
 * A cache of verified tokens, so that a client sending the same token on
 * every request pays for one HMAC and two JSON parses, not one per
 * request. Fixed size (TOKEN_CACHE_SLOTS, direct-mapped by a hash of the
 * signature's last bytes, a collision evicts), tied to one key. A hit needs the whole
 * text equal (compared in constant time) and exp still ahead of now_s,
 * checked on every hit exactly as token_verify checks it; anything else
 * goes to token_verify, so refusals and their messages are its own.
 * Only tokens that verified are kept; an agent token's node list is kept
 * only when short (TOKEN_CACHE_NODES_MAX bytes) and copied out on a hit.
 */
#define TOKEN_CACHE_SLOTS     64
#define TOKEN_CACHE_NODES_MAX 4096

struct token_cache;

/* A cache for tokens signed by key (borrowed for the cache's life). */
struct token_cache *token_cache_create(const struct token_key *key);
void token_cache_destroy(struct token_cache *tc);
/* token_verify through the cache: the same results, the same contract. */
int token_cache_verify(struct token_cache *tc, const char *text, int64_t now_s,
                       struct token_claims *c, enum token_fault *fault, struct nl_err *err);

/* "30d", "12h", "90m", "45s", "3600": seconds into *out; -EINVAL naming text. */
int token_parse_ttl(const char *text, int64_t *out, struct nl_err *err);

/* `nordlysd token ...` (argv[0] is "token"): mint offline, print; the exit status. */
int token_cmd_main(int argc, char **argv);

#endif
