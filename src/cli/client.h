/* SPDX-License-Identifier: MIT */
/*
 * client.h - the nordlys command line's side of the HTTP API (docs/api.md).
 *
 * One blocking request at a time over libcurl, JSON bodies through
 * jansson, and the one place where every failure is mapped onto the exit
 * statuses of commands.h:
 *   - the controller cannot be reached (refused, timed out, no such host,
 *     TLS failure, connection dropped): NL_CLI_UNREACHABLE, with the URL
 *     and the system's or libcurl's reason;
 *   - the controller answered 4xx/5xx: NL_CLI_FAILED, with the API's own
 *     error message, which names the field at fault;
 *   - the controller answered 2xx with something that is not a JSON
 *     object, or an answer too large to hold: NL_CLI_FAILED;
 *   - a URL libcurl cannot parse: NL_CLI_USAGE.
 * libcurl and jansson error codes are translated here and nowhere else.
 */
#ifndef NL_CLI_CLIENT_H
#define NL_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "retry.h"

struct nl_err;
struct cli_client;

/*
 * Returns a new client for the controller at base_url ("http://host:port",
 * trailing slashes ignored; the string is copied), destroy with
 * cli_client_destroy. Initialises libcurl; one client per process.
 */
struct cli_client *cli_client_create(const char *base_url);

void cli_client_destroy(struct cli_client *c);

/*
 * Find the bearer token (token.h: NORDLYS_TOKEN, else token_file, else
 * ~/.config/nordlys/token) and send it with every request. NL_CLI_OK, or
 * NL_CLI_USAGE with "nordlys: token file ...: mode 0644 ..." printed.
 */
int cli_client_use_token(struct cli_client *c, const char *token_file);

/* Returns a borrowed base URL, valid until cli_client_destroy. */
const char *cli_client_url(const struct cli_client *c);

/*
 * Send METHOD base_url + path (path starts with '/'), with body as the
 * JSON request when non-NULL (borrowed). On a 2xx answer that is a JSON
 * object, stores it in *out (a new reference, json_decref it) and returns
 * NL_CLI_OK. Otherwise returns NL_CLI_FAILED, NL_CLI_UNREACHABLE or
 * NL_CLI_USAGE as described above, with err holding the message (without
 * a "nordlys: " prefix) and *out NULL.
 */
int cli_client_request(struct cli_client *c, const char *method, const char *path,
                       const json_t *body, json_t **out, struct nl_err *err);

/*
 * How a request ended, for a caller that may retry it: kind (retry.h) and,
 * for CLI_ATTEMPT_ANSWERED, the HTTP status (0 otherwise).
 */
struct cli_outcome {
    enum cli_attempt kind;
    long status;
};

/*
 * cli_client_request with extra request headers (a NULL-terminated array
 * of "Name: value" strings, borrowed; headers may be NULL) and, when oc is
 * not NULL, how the request ended in *oc.
 */
int cli_client_send(struct cli_client *c, const char *method, const char *path, const json_t *body,
                    const char *const *headers, json_t **out, struct cli_outcome *oc,
                    struct nl_err *err);

/* cli_client_request, then print "nordlys: MESSAGE" to stderr on failure. */
int cli_client_call(struct cli_client *c, const char *method, const char *path, const json_t *body,
                    json_t **out);

/*
 * The message for a non-2xx answer: the API's error.message when body is
 * the API's error object, else "HTTP STATUS from URL" plus the start of
 * the body. body may be NULL; borrowed. Returns NL_CLI_FAILED, with the
 * message in err.
 */
int cli_reply_error(long status, const char *body, size_t len, const char *url, struct nl_err *err);

/*
 * Returns path with a query string appended: "/v1/jobs?state=PENDING".
 * keys and vals are parallel arrays of n entries; a NULL value is left
 * out, others are percent-encoded. Returns a new string, free() it.
 */
char *cli_path_query(const char *path, const char *const *keys, const char *const *vals, size_t n);

/* Print j to stdout as indented JSON and a newline (the --json output of every command). */
void cli_print_json(const json_t *j);

/* Renders a 2xx answer for people; j is borrowed. */
typedef void (*cli_render_fn)(const json_t *j);

/*
 * The whole of a read-only command: GET url + path, then print the answer
 * as JSON (json true) or through render. Returns the exit status; errors
 * are printed as by cli_client_call.
 */
int cli_get_and_print(const char *url, const char *token_file, const char *path, bool json,
                      cli_render_fn render);

/*
 * Field access for rendering, tolerant of what the API leaves null:
 * cli_json_num gives NAN for a missing, null or non-number member,
 * cli_json_str gives "-" for a missing, null or non-string member
 * (borrowed from obj), cli_json_bool gives false.
 */
double cli_json_num(const json_t *obj, const char *key);
const char *cli_json_str(const json_t *obj, const char *key);
bool cli_json_bool(const json_t *obj, const char *key);

#endif
