/* SPDX-License-Identifier: MIT */
/*
 * script.c - batch script directives, and the command that runs a script.
 *
 * Parsing is one pass over the header, line by line. A directive line is
 * split into words (whitespace separates them; '...' and "..." quote; a
 * word starting with '#' begins a trailing comment), then the words are
 * read as options the way a command line is: "--name value",
 * "--name=value", and the one-letter forms "-J value" and "-Jvalue".
 */
#include "script.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/proto_limits.h"
#include "common/xalloc.h"
#include "nordlys/err.h"
#include "opt.h"

/*
 * The sbatch options a script may carry, and the `nordlys submit` option
 * each one is. takes_value says how to read the words after it even when
 * this build has no such option (the error then names the option, not the
 * word after it).
 */
struct sbatch_opt {
    const char *name; /* sbatch's long name (its letters are our options' own, cli_opt.letter) */
    const char *ours; /* nordlys submit's option */
    bool takes_value;
    bool gres; /* the value is a --gres list: only "gpu[:N]" is read (gres_gpus) */
};

static const struct sbatch_opt sbatch_opts[] = {
        {"job-name", "name", true, false},
        {"nodes", "nodes", true, false},
        {"gpus", "gpus", true, false},
        {"gpus-per-node", "gpus-per-node", true, false},
        {"gres", "gpus-per-node", true, true},
        {"ntasks-per-node", "tasks-per-node", true, false},
        {"time", "time", true, false},
        {"output", "output", true, false},
        {"error", "error", true, false},
        {"input", "input", true, false},
        {"array", "array", true, false},
        {"dependency", "dependency", true, false},
        {"chdir", "cwd", true, false},
        {"account", "tenant", true, false},
        {"export", "export", true, false},
        {"signal", "signal", true, false},
        {"hold", "hold", false, false},
        {"no-requeue", "no-requeue", false, false},
};

#define NSBATCH (sizeof(sbatch_opts) / sizeof(sbatch_opts[0]))

/*
 * --gres=gpu:N (N GPUs on each node) as --gpus-per-node N; "gpu" alone is
 * one. A GPU type (gpu:a100:4) or another resource is refused, not
 * dropped: nordlys's GPUs are all alike and it schedules nothing else.
 * Returns the count's text in val (a pointer into it), or NULL.
 */
static const char *gres_gpus(const char *val)
{
    if (strcmp(val, "gpu") == 0)
        return "1";
    if (strncmp(val, "gpu:", 4) != 0 || val[4] == '\0' ||
        strspn(val + 4, "0123456789") != strlen(val + 4))
        return NULL;
    return val + 4;
}

/* The words of one directive line, each a NUL-terminated copy (owned). */
struct words {
    char **w;
    size_t n;
};

static void words_free(struct words *ws)
{
    for (size_t i = 0; i < ws->n; i++)
        free(ws->w[i]);
    free(ws->w);
    ws->w = NULL;
    ws->n = 0;
}

/* Split s (len bytes, one line without its newline) into words. */
static int split_words(const char *s, size_t len, struct words *ws, struct nl_err *err)
{
    size_t i = 0;
    ws->w = xcalloc(len / 2 + 1, sizeof(*ws->w)); /* at most one word per two bytes */
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i >= len || s[i] == '#')
            break; /* end of line, or a comment after the options */
        char *word = xmalloc(len - i + 1);
        size_t n = 0;
        char quote = 0;
        for (; i < len && (quote != 0 || (s[i] != ' ' && s[i] != '\t')); i++) {
            if (quote == 0 && (s[i] == '\'' || s[i] == '"'))
                quote = s[i];
            else if (quote != 0 && s[i] == quote)
                quote = 0;
            else
                word[n++] = s[i];
        }
        word[n] = '\0';
        ws->w[ws->n++] = word;
        if (quote != 0)
            return nl_err_set(err, -EINVAL, "unterminated %c quote", quote);
    }
    return 0;
}

static const struct sbatch_opt *sbatch_find(const char *name, size_t len)
{
    for (size_t i = 0; i < NSBATCH; i++) {
        const struct sbatch_opt *o = &sbatch_opts[i];
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    }
    return NULL;
}

static void add_dir(struct cli_script *sc, unsigned line, size_t opt, const char *val,
                    const char *written)
{
    sc->dirs = xreallocarray(sc->dirs, sc->ndirs + 1, sizeof(*sc->dirs));
    struct cli_script_directive *d = &sc->dirs[sc->ndirs++];
    d->line = line;
    d->opt = opt;
    d->val = val != NULL ? xstrdup(val) : NULL;
    d->written = xstrdup(written);
}

/*
 * Read the option at words[*i] of a directive line (prefix "#SBATCH" or
 * "#NORDLYS"), consuming its value, and record it in sc.
 */
static int read_option(struct cli_script *sc, const struct cli_spec *spec, bool sbatch,
                       unsigned line, const struct words *ws, size_t *i, struct nl_err *err)
{
    const char *word = ws->w[*i];
    const char *prefix = sbatch ? "#SBATCH" : "#NORDLYS";
    const char *name = NULL, *val = NULL;
    size_t len = 0;
    char short_name = 0;
    if (strncmp(word, "--", 2) == 0 && word[2] != '\0') {
        name = word + 2;
        const char *eq = strchr(name, '=');
        len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        val = eq != NULL ? eq + 1 : NULL;
    } else if (word[0] == '-' && word[1] != '\0' && word[1] != '-') {
        short_name = word[1];
        val = word[2] != '\0' ? word + 2 : NULL;
    } else {
        return nl_err_set(err, -EINVAL, "%s: '%s' is not an option (directives are --name VALUE)",
                          prefix, word);
    }

    char written[96];
    if (short_name != 0)
        snprintf(written, sizeof(written), "%s -%c", prefix, short_name);
    else
        snprintf(written, sizeof(written), "%s --%.*s", prefix, (int)(len < 64 ? len : 64), name);

    /* Which nordlys option is it, and does it take a value? */
    const char *ours = NULL;
    size_t ours_len = len;
    bool takes_value = false;
    size_t idx = 0;
    const struct cli_opt *o = NULL;
    if (short_name != 0) {
        /* sbatch's letters are those of nordlys submit's options (cli_opt.letter). */
        o = cli_opt_find_letter(spec, short_name, &idx);
        if (o == NULL && sbatch)
            return nl_err_set(err, -EINVAL,
                              "%s is not supported by nordlys (docs/users.md lists what is)",
                              written);
        if (o == NULL)
            return nl_err_set(err, -EINVAL, "%s: unknown option of nordlys submit", written);
        ours = o->name;
        ours_len = strlen(ours);
        takes_value = o->metavar != NULL;
    } else if (sbatch) {
        const struct sbatch_opt *so = sbatch_find(name, len);
        if (so == NULL)
            return nl_err_set(err, -EINVAL,
                              "%s is not supported by nordlys (docs/users.md lists what is)",
                              written);
        ours = so->ours;
        ours_len = strlen(ours);
        takes_value = so->takes_value;
        o = cli_opt_find(spec, ours, ours_len, &idx);
    } else {
        ours = name;
        o = cli_opt_find(spec, ours, ours_len, &idx);
        if (o == NULL)
            return nl_err_set(err, -EINVAL, "%s: unknown option of nordlys submit", written);
        takes_value = o->metavar != NULL;
    }

    if (takes_value && val == NULL) {
        if (*i + 1 >= ws->n)
            return nl_err_set(err, -EINVAL, "%s: missing value", written);
        val = ws->w[++*i];
    } else if (!takes_value && val != NULL) {
        return nl_err_set(err, -EINVAL, "%s: takes no value", written);
    }
    const struct sbatch_opt *so = sbatch && short_name == 0 ? sbatch_find(name, len) : NULL;
    if (so != NULL && so->gres) {
        const char *n = gres_gpus(val);
        if (n == NULL)
            return nl_err_set(err, -EINVAL,
                              "%s: '%s' is not supported: only gpu:N (no GPU types, no other "
                              "resources)",
                              written, val);
        val = n;
    }
    if (o == NULL)
        return nl_err_set(err, -EINVAL, "%s (nordlys submit --%s) is not supported by this nordlys",
                          written, ours);
    if ((o->metavar != NULL) != takes_value)
        return nl_err_set(err, -EINVAL, "%s: nordlys submit --%s %s", written, ours,
                          o->metavar != NULL ? "takes a value" : "takes no value");
    add_dir(sc, line, idx, val, written);
    return 0;
}

/* Parse one directive line's words after its prefix. */
static int parse_directive(struct cli_script *sc, const struct cli_spec *spec, bool sbatch,
                           unsigned line, const char *rest, size_t len, struct nl_err *err)
{
    struct words ws = {0};
    int rc = split_words(rest, len, &ws, err);
    for (size_t i = 0; rc == 0 && i < ws.n; i++)
        rc = read_option(sc, spec, sbatch, line, &ws, &i, err);
    words_free(&ws);
    return rc;
}

/* "#!/usr/bin/env python3": the interpreter and its one argument, as Linux splits them. */
static int parse_shebang(struct cli_script *sc, const char *s, size_t len, struct nl_err *err)
{
    size_t i = 2;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t start = i;
    while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
        i++;
    if (i == start)
        return nl_err_set(err, -EINVAL, "'#!' names no interpreter");
    sc->interp = xstrndup(s + start, i - start);
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t end = len;
    while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r'))
        end--;
    if (end > i)
        sc->interp_arg = xstrndup(s + i, end - i);
    return 0;
}

/* Does line (len bytes) start with prefix followed by a blank or its end? */
static bool is_directive(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncmp(line, prefix, n) == 0 &&
           (len == n || line[n] == ' ' || line[n] == '\t' || line[n] == '\r');
}

static bool is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* Walk the header's lines after the "#!" line. */
static int parse_header(struct cli_script *sc, const struct cli_spec *spec, unsigned *line,
                        struct nl_err *err)
{
    const char *p = memchr(sc->text, '\n', sc->len);
    const char *end = sc->text + sc->len;
    while (p != NULL && p + 1 < end) {
        const char *s = p + 1;
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
        ++*line;
        p = nl;
        if (is_blank(s, len))
            continue;
        if (s[0] != '#')
            break; /* the first command: directives after it are comments, as in sbatch */
        bool sbatch = is_directive(s, len, "#SBATCH");
        if (!sbatch && !is_directive(s, len, "#NORDLYS"))
            continue;
        size_t skip = sbatch ? strlen("#SBATCH") : strlen("#NORDLYS");
        size_t l = len - skip;
        if (l > 0 && s[skip + l - 1] == '\r')
            l--; /* a script written on Windows */
        int rc = parse_directive(sc, spec, sbatch, *line, s + skip, l, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Job requests are JSON, whose strings are UTF-8: jansson refuses anything else. */
static bool utf8_ok(const char *text, size_t len)
{
    json_t *j = json_stringn(text, len);
    json_decref(j);
    return j != NULL;
}

int cli_script_parse(const char *path, const char *text, size_t len, const struct cli_spec *spec,
                     struct cli_script **out, struct nl_err *err)
{
    struct cli_script *sc = xcalloc(1, sizeof(*sc));
    sc->path = xstrdup(path);
    sc->text = xstrndup(text, len);
    sc->len = len;
    unsigned line = 1;
    int rc = 0;
    const char *nl = memchr(text, '\n', len);
    size_t first = nl != NULL ? (size_t)(nl - text) : len;
    if (len < 2 || text[0] != '#' || text[1] != '!')
        rc = nl_err_set(err, -EINVAL, "not a script: it does not start with '#!'");
    else if (memchr(text, '\0', len) != NULL)
        rc = nl_err_set(err, -EINVAL, "holds a NUL byte (a binary, not a script)");
    else if (!utf8_ok(text, len))
        rc = nl_err_set(err, -EINVAL, "is not UTF-8 text, which a job request must be");
    else
        rc = parse_shebang(sc, text, first, err);
    if (rc == 0)
        rc = parse_header(sc, spec, &line, err);
    if (rc < 0) {
        nl_err_prefix(err, "%s:%u: ", path, line);
        cli_script_destroy(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

int cli_script_load(const char *path, char **text, size_t *len, struct nl_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    char head[2] = {0, 0};
    if (fread(head, 1, 2, f) != 2 || head[0] != '#' || head[1] != '!') {
        fclose(f);
        return 0;
    }
    /* Read one byte past the limit, so that a file that grew since stat is caught too. */
    char *buf = xmalloc(NL_PROTO_SCRIPT_MAX + 2);
    memcpy(buf, head, 2);
    size_t n = 2 + fread(buf + 2, 1, NL_PROTO_SCRIPT_MAX - 1, f);
    fclose(f);
    if (n > NL_PROTO_SCRIPT_MAX) {
        free(buf);
        return nl_err_set(err, -EINVAL, "%s: larger than %u bytes, the most a job can carry", path,
                          NL_PROTO_SCRIPT_MAX);
    }
    if (memchr(buf, '\0', n) != NULL) {
        free(buf);
        return nl_err_set(err, -EINVAL, "%s: holds a NUL byte (a binary, not a script)", path);
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 1;
}

/*
 * The program /bin/sh runs: on the first task of the first node only (the
 * other nodes are the job's too, but sbatch runs a script once), it execs
 * the interpreter on /dev/fd/3, a here-document holding the script.
 * Parameter expansion inside a here-document is not expanded again, so the
 * script's text arrives byte for byte whatever it holds (plus one final
 * newline). exec keeps the job's process the interpreter itself: signals
 * and the exit status are the script's own.
 */
static const char script_runner[] =
        "[ \"${NORDLYS_NODE_RANK:-0}\" = 0 ] && [ \"${NORDLYS_LOCAL_RANK:-0}\" = 0 ] || exit 0\n"
        "i=$1 a=$2 s=$3\n"
        "shift 3\n"
        "if [ -n \"$a\" ]; then set -- \"$i\" \"$a\" /dev/fd/3 \"$@\"; "
        "else set -- \"$i\" /dev/fd/3 \"$@\"; fi\n"
        "exec \"$@\" 3<<NORDLYS_SCRIPT_END\n"
        "$s\n"
        "NORDLYS_SCRIPT_END\n";

json_t *cli_script_command(const struct cli_script *sc, char *const *args, size_t nargs)
{
    const char *base = strrchr(sc->path, '/');
    json_t *cmd = json_array();
    json_array_append_new(cmd, json_string("/bin/sh"));
    json_array_append_new(cmd, json_string("-c"));
    json_array_append_new(cmd, json_string(script_runner));
    json_array_append_new(cmd, json_string(base != NULL ? base + 1 : sc->path)); /* $0 */
    json_array_append_new(cmd, json_string(sc->interp));
    json_array_append_new(cmd, json_string(sc->interp_arg != NULL ? sc->interp_arg : ""));
    json_array_append_new(cmd, json_stringn(sc->text, sc->len));
    for (size_t i = 0; i < nargs; i++)
        json_array_append_new(cmd, json_string(args[i]));
    return cmd;
}

char *cli_script_describe(const json_t *command)
{
    size_t n = json_array_size(command);
    const char *runner = json_string_value(json_array_get(command, 2));
    if (n < 7 || runner == NULL || strcmp(runner, script_runner) != 0)
        return NULL;
    const char *name = json_string_value(json_array_get(command, 3));
    const char *interp = json_string_value(json_array_get(command, 4));
    size_t len = json_string_length(json_array_get(command, 6));
    size_t cap = 64 + (name ? strlen(name) : 0) + (interp ? strlen(interp) : 0);
    for (size_t i = 7; i < n; i++)
        cap += 1 + json_string_length(json_array_get(command, i));
    char *s = xmalloc(cap);
    int w = snprintf(s, cap, "batch script %s (%zu bytes, %s)", name ? name : "?", len,
                     interp ? interp : "?");
    size_t off = w > 0 ? (size_t)w : 0;
    for (size_t i = 7; i < n && off < cap; i++) {
        const char *a = json_string_value(json_array_get(command, i));
        w = snprintf(s + off, cap - off, " %s", a ? a : "");
        off += w > 0 ? (size_t)w : 0;
    }
    return s;
}

void cli_script_destroy(struct cli_script *sc)
{
    if (sc == NULL)
        return;
    for (size_t i = 0; i < sc->ndirs; i++) {
        free(sc->dirs[i].val);
        free(sc->dirs[i].written);
    }
    free(sc->dirs);
    free(sc->interp_arg);
    free(sc->interp);
    free(sc->text);
    free(sc->path);
    free(sc);
}
