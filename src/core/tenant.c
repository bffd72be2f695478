/* SPDX-License-Identifier: MIT */
/*
 * tenant.c - tiers and tenants, their validation, the reference set and the
 * tenants file format (the same [kind name] key = value text as facility
 * files, see conf.h).
 */
#include "nordlys/tenant.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "conf.h"
#include "nordlys/err.h"
#include "nordlys/job.h"

struct nl_tenants {
    struct nl_tier_spec tiers[NL_TIERS_MAX];
    size_t ntiers;
    struct nl_tenant_spec *tenants;
    size_t n, cap;
};

struct nl_tenants *nl_tenants_create(void)
{
    return xcalloc(1, sizeof(struct nl_tenants));
}

void nl_tenants_destroy(struct nl_tenants *t)
{
    if (t == NULL)
        return;
    free(t->tenants);
    free(t);
}

static int check_name(const char *what, const char *name, struct nl_err *err)
{
    size_t n = strnlen(name, NL_NAME_MAX);
    if (n == 0 || n >= NL_NAME_MAX)
        return nl_err_set(err, -EINVAL, "%s: name must be 1..%d characters", what,
                          NL_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return nl_err_set(err, -EINVAL, "%s: '%s' may hold only a-z, 0-9, '_' and '-'",
                              what, name);
    }
    return 0;
}

int nl_tenants_add_tier(struct nl_tenants *t, const struct nl_tier_spec *tier, struct nl_err *err)
{
    int rc = check_name("tier", tier->name, err);
    if (rc < 0)
        return rc;
    if (nl_tenants_tier_find(t, tier->name) >= 0)
        return nl_err_set(err, -EEXIST, "tier: '%s' defined twice", tier->name);
    if (t->ntiers >= NL_TIERS_MAX)
        return nl_err_set(err, -ENOSPC, "tier: more than %d tiers", NL_TIERS_MAX);
    t->tiers[t->ntiers] = *tier;
    return (int)t->ntiers++;
}

int nl_tenants_add(struct nl_tenants *t, const struct nl_tenant_spec *spec, struct nl_err *err)
{
    int rc = check_name("tenant", spec->name, err);
    if (rc < 0)
        return rc;
    if (nl_tenants_find(t, spec->name) >= 0)
        return nl_err_set(err, -EEXIST, "tenant: '%s' defined twice", spec->name);
    if (spec->tier >= t->ntiers)
        return nl_err_set(err, -EINVAL, "tenant %s: tier: no tier %u", spec->name, spec->tier);
    if (!(spec->weight > 0) || spec->weight > 1e6)
        return nl_err_set(err, -EINVAL, "tenant %s: weight: %g is outside (0, 1e6]", spec->name,
                          spec->weight);
    if (spec->quota_gpus > NL_GPUS_MAX || spec->borrow_gpus > NL_GPUS_MAX)
        return nl_err_set(err, -EINVAL, "tenant %s: quota/borrow: over %u GPUs", spec->name,
                          NL_GPUS_MAX);
    if (spec->njurisdictions > NL_TENANT_JUR_MAX)
        return nl_err_set(err, -EINVAL, "tenant %s: jurisdictions: more than %d entries",
                          spec->name, NL_TENANT_JUR_MAX);
    for (uint32_t i = 0; i < spec->njurisdictions; i++) {
        struct nl_residency r;
        if (memchr(spec->jurisdictions[i], '\0', sizeof(spec->jurisdictions[i])) == NULL ||
            nl_residency_parse(spec->jurisdictions[i], &r, NULL) < 0 ||
            strcmp(r.code, spec->jurisdictions[i]) != 0 || strcmp(r.code, "any") == 0)
            return nl_err_set(err, -EINVAL,
                              "tenant %s: jurisdictions: entry %u is not 'EEA' or "
                              "an upper-case two-letter code",
                              spec->name, i);
    }
    if (t->n >= NL_TENANTS_MAX)
        return nl_err_set(err, -ENOSPC, "tenant: more than %d tenants", NL_TENANTS_MAX);
    if (t->n == t->cap) {
        t->cap = xgrow(t->cap, t->n + 1);
        t->tenants = xreallocarray(t->tenants, t->cap, sizeof(*t->tenants));
    }
    t->tenants[t->n] = *spec;
    return (int)t->n++;
}

/* --- allowed jurisdictions ------------------------------------------------ */

int nl_tenant_jurisdictions_parse(const char *text, struct nl_tenant_spec *t, struct nl_err *err)
{
    char buf[NL_TENANT_JUR_MAX * 8];
    if (strlen(text) >= sizeof(buf))
        return nl_err_set(err, -EINVAL, "jurisdictions: list longer than %zu characters",
                          sizeof(buf) - 1);
    snprintf(buf, sizeof(buf), "%s", text);
    char out[NL_TENANT_JUR_MAX][4];
    uint32_t n = 0;
    bool any = false;
    char *save = NULL;
    /* strtok_r skips empty fields, so check for them first: "NO,,SE" is a typo, not a list. */
    size_t len = strlen(buf);
    if (len == 0 || buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,") != NULL)
        return nl_err_set(err, -EINVAL, "jurisdictions: '%s' has an empty entry", text);
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*tok == '\0')
            return nl_err_set(err, -EINVAL, "jurisdictions: '%s' has an empty entry", text);
        struct nl_residency r;
        if (nl_residency_parse(tok, &r, NULL) < 0)
            return nl_err_set(err, -EINVAL,
                              "jurisdictions: '%s' is not 'any', 'EEA' or a two-letter code", tok);
        if (strcmp(r.code, "any") == 0) {
            any = true;
            continue;
        }
        for (uint32_t i = 0; i < n; i++)
            if (strcmp(out[i], r.code) == 0)
                return nl_err_set(err, -EINVAL, "jurisdictions: %s listed twice", r.code);
        if (n == NL_TENANT_JUR_MAX)
            return nl_err_set(err, -EINVAL, "jurisdictions: more than %d entries",
                              NL_TENANT_JUR_MAX);
        memcpy(out[n++], r.code, sizeof(r.code));
    }
    if (any && n > 0)
        return nl_err_set(err, -EINVAL, "jurisdictions: 'any' cannot be combined with codes");
    t->njurisdictions = n;
    memcpy(t->jurisdictions, out, n * sizeof(out[0]));
    return 0;
}

bool nl_tenant_allows(const struct nl_tenant_spec *t, const char *jurisdiction, bool eea)
{
    if (t->njurisdictions == 0)
        return true;
    for (uint32_t i = 0; i < t->njurisdictions && i < NL_TENANT_JUR_MAX; i++) {
        struct nl_residency r;
        memcpy(r.code, t->jurisdictions[i], sizeof(r.code));
        if (nl_residency_allows(&r, jurisdiction, eea))
            return true;
    }
    return false;
}

const char *nl_tenant_jurisdictions_str(const struct nl_tenant_spec *t, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    snprintf(buf, size, "%s", t->njurisdictions == 0 ? "any" : "");
    size_t used = strlen(buf);
    for (uint32_t i = 0; i < t->njurisdictions && i < NL_TENANT_JUR_MAX && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? "," : "", t->jurisdictions[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

size_t nl_tenants_count(const struct nl_tenants *t)
{
    return t->n;
}

size_t nl_tenants_tier_count(const struct nl_tenants *t)
{
    return t->ntiers;
}

const struct nl_tenant_spec *nl_tenants_get(const struct nl_tenants *t, uint32_t idx)
{
    return idx < t->n ? &t->tenants[idx] : NULL;
}

const struct nl_tier_spec *nl_tenants_tier(const struct nl_tenants *t, uint32_t idx)
{
    return idx < t->ntiers ? &t->tiers[idx] : NULL;
}

int nl_tenants_find(const struct nl_tenants *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->tenants[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

int nl_tenants_tier_find(const struct nl_tenants *t, const char *name)
{
    for (size_t i = 0; i < t->ntiers; i++)
        if (strcmp(t->tiers[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

struct nl_tenants *nl_tenants_default(uint64_t total_gpus)
{
    static const struct {
        const char *name, *jur;
        uint32_t tier;
        double share;
    } ref[] = {
            {"nor-research", "NO", 0, 0.25}, {"nor-startups", "NO", 0, 0.10},
            {"anchor", "NO", 1, 0.40},       {"uk", "UK", 2, 0.05},
            {"nordics", "SE", 2, 0.05},      {"ne-europe", "DE", 2, 0.05},
    };
    static const char *const tiers[] = {"sovereign", "anchor", "regional"};
    struct nl_tenants *t = nl_tenants_create();
    for (uint32_t i = 0; i < 3; i++) {
        struct nl_tier_spec ts = {.rank = i};
        snprintf(ts.name, sizeof(ts.name), "%s", tiers[i]);
        nl_tenants_add_tier(t, &ts, NULL);
    }
    for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++) {
        struct nl_tenant_spec sp = {.tier = ref[i].tier, .weight = ref[i].share * 100};
        snprintf(sp.name, sizeof(sp.name), "%s", ref[i].name);
        snprintf(sp.jurisdiction, sizeof(sp.jurisdiction), "%s", ref[i].jur);
        sp.quota_gpus = (uint64_t)((double)total_gpus * ref[i].share);
        sp.borrow_gpus = total_gpus - sp.quota_gpus;
        nl_tenants_add(t, &sp, NULL);
    }
    return t;
}

/* --- tenants files -------------------------------------------------------- */

enum sect { SECT_NONE, SECT_TIER, SECT_TENANT };

struct tparse {
    struct nl_tenants *t;
    enum sect sect;
    struct nl_tier_spec tier;
    struct nl_tenant_spec tenant;
    bool have_tier_key, have_quota, have_jur;
    unsigned lineno; /* header line of the open section */
    char tier_name[NL_NAME_MAX];
};

/* Close the open section: add what it described. */
static int tparse_flush(struct tparse *tp, struct nl_err *err)
{
    int rc = 0;
    if (tp->sect == SECT_TIER) {
        rc = nl_tenants_add_tier(tp->t, &tp->tier, err);
    } else if (tp->sect == SECT_TENANT) {
        if (!tp->have_tier_key)
            return nl_err_set(err, -EINVAL, "tenant %s: tier: missing", tp->tenant.name);
        if (!tp->have_quota)
            return nl_err_set(err, -EINVAL, "tenant %s: quota_gpus: missing", tp->tenant.name);
        int tier = nl_tenants_tier_find(tp->t, tp->tier_name);
        if (tier < 0)
            return nl_err_set(err, -EINVAL, "tenant %s: tier: no tier '%s' (define it first)",
                              tp->tenant.name, tp->tier_name);
        tp->tenant.tier = (uint32_t)tier;
        rc = nl_tenants_add(tp->t, &tp->tenant, err);
    }
    tp->sect = SECT_NONE;
    return rc < 0 ? rc : 0;
}

static int tenant_key(struct tparse *tp, const char *k, const char *v, struct nl_err *err)
{
    struct nl_tenant_spec *sp = &tp->tenant;
    if (strcmp(k, "tier") == 0) {
        tp->have_tier_key = true;
        return conf_name(k, v, true, tp->tier_name, sizeof(tp->tier_name), err);
    }
    if (strcmp(k, "quota_gpus") == 0) {
        tp->have_quota = true;
        return conf_u64(k, v, 0, NL_GPUS_MAX, &sp->quota_gpus, err);
    }
    if (strcmp(k, "borrow_gpus") == 0)
        return conf_u64(k, v, 0, NL_GPUS_MAX, &sp->borrow_gpus, err);
    if (strcmp(k, "weight") == 0)
        return conf_double(k, v, 1e-6, 1e6, &sp->weight, err);
    if (strcmp(k, "jurisdiction") == 0)
        return conf_jurisdiction(k, v, sp->jurisdiction, err);
    if (strcmp(k, "jurisdictions") == 0) {
        if (tp->have_jur)
            return nl_err_set(err, -EINVAL, "jurisdictions: given twice");
        tp->have_jur = true;
        return nl_tenant_jurisdictions_parse(v, sp, err);
    }
    return nl_err_set(err, -EINVAL, "%s: unknown tenant key", k);
}

static int tenants_item(void *arg, const struct conf_item *it, struct nl_err *err)
{
    struct tparse *tp = arg;
    if (it->key == NULL) {
        int rc = tparse_flush(tp, err);
        if (rc < 0)
            return nl_err_prefix(err, "(section at line %u) ", tp->lineno);
        tp->lineno = it->lineno;
        if (strcmp(it->kind, "tier") == 0) {
            tp->sect = SECT_TIER;
            memset(&tp->tier, 0, sizeof(tp->tier));
            tp->tier.rank = (uint32_t)nl_tenants_tier_count(tp->t);
            return conf_name("tier", it->name, true, tp->tier.name, sizeof(tp->tier.name), err);
        }
        if (strcmp(it->kind, "tenant") == 0) {
            tp->sect = SECT_TENANT;
            memset(&tp->tenant, 0, sizeof(tp->tenant));
            tp->tenant.weight = 1.0;
            tp->have_tier_key = tp->have_quota = tp->have_jur = false;
            return conf_name("tenant", it->name, true, tp->tenant.name,
                             sizeof(tp->tenant.name), err);
        }
        return nl_err_set(err, -EINVAL, "[%s]: unknown section (expected [tier NAME] or [tenant NAME])",
                          it->kind);
    }
    if (tp->sect == SECT_TIER) {
        if (strcmp(it->key, "rank") == 0)
            return conf_u32(it->key, it->value, 0, 1000, &tp->tier.rank, err);
        return nl_err_set(err, -EINVAL, "%s: unknown tier key", it->key);
    }
    if (tp->sect == SECT_TENANT)
        return tenant_key(tp, it->key, it->value, err);
    return nl_err_set(err, -EINVAL, "%s: key outside a [tier] or [tenant] section", it->key);
}

struct nl_tenants *nl_tenants_parse(const char *text, size_t len, const char *fname,
                                    struct nl_err *err)
{
    struct tparse tp = {.t = nl_tenants_create()};
    int rc = conf_parse(text, len, fname, tenants_item, &tp, err);
    if (rc == 0) {
        rc = tparse_flush(&tp, err);
        if (rc < 0)
            nl_err_prefix(err, "%s:%u: ", fname, tp.lineno);
    }
    if (rc == 0 && nl_tenants_count(tp.t) == 0)
        rc = nl_err_set(err, -EINVAL, "%s: tenants: no [tenant NAME] section", fname);
    if (rc < 0) {
        nl_tenants_destroy(tp.t);
        return NULL;
    }
    return tp.t;
}
