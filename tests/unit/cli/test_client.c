/* SPDX-License-Identifier: MIT */
/*
 * test_client.c - the command line's HTTP client: query strings, the
 * mapping of API error bodies, and a real libcurl request to a loopback
 * port where nothing listens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
/* cmocka.h needs the standard headers above included first. */
#include <cmocka.h>

#include "cli/client.h"
#include "cli/commands.h"
#include "nordlys/err.h"

/*
 * A loopback port that refuses connections for as long as *fd stays open:
 * the socket is bound (so no one else can take the port) but never listens,
 * so the kernel answers a SYN with a reset.
 */
static int closed_port(int *fd)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof(sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*fd >= 0);
    assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
    return ntohs(sa.sin_port);
}

static void test_cli_path_query_encodes_and_skips_null(void **state)
{
    (void)state;
    static const char *const keys[] = {"state", "tenant", "limit"};
    const char *none[] = {NULL, NULL, NULL};
    char *p = cli_path_query("/v1/jobs", keys, none, 3);
    assert_string_equal(p, "/v1/jobs");
    free(p);

    const char *some[] = {"PENDING,RUNNING", NULL, "10"};
    p = cli_path_query("/v1/jobs", keys, some, 3);
    assert_string_equal(p, "/v1/jobs?state=PENDING%2CRUNNING&limit=10");
    free(p);

    const char *odd[] = {NULL, "a b&c=d/ø", NULL};
    p = cli_path_query("/v1/jobs", keys, odd, 3);
    assert_string_equal(p, "/v1/jobs?tenant=a%20b%26c%3Dd%2F%C3%B8");
    free(p);
}

static void test_cli_reply_error_uses_api_message(void **state)
{
    (void)state;
    const char *body = "{\"error\": {\"status\": 400, \"code\": \"invalid_field\", \"field\": "
                       "\"gpus\", \"message\": \"gpus: 200000 exceeds the largest eligible site "
                       "(100008)\"}}";
    struct nl_err err = {0};
    assert_int_equal(cli_reply_error(400, body, strlen(body), "http://h:1", &err), NL_CLI_FAILED);
    assert_string_equal(err.msg, "gpus: 200000 exceeds the largest eligible site (100008)");
}

static void test_cli_reply_error_quotes_foreign_bodies(void **state)
{
    (void)state;
    struct nl_err err = {0};
    const char *html = "<html>Bad Gateway</html>\nmore";
    assert_int_equal(cli_reply_error(502, html, strlen(html), "http://h:1", &err), NL_CLI_FAILED);
    assert_string_equal(err.msg, "HTTP 502 from http://h:1: <html>Bad Gateway</html>");
    assert_int_equal(cli_reply_error(500, "", 0, "http://h:1", &err), NL_CLI_FAILED);
    assert_string_equal(err.msg, "HTTP 500 from http://h:1");
    assert_int_equal(cli_reply_error(404, NULL, 0, "http://h:1", &err), NL_CLI_FAILED);
    assert_string_equal(err.msg, "HTTP 404 from http://h:1");
    const char *wrong = "{\"error\": \"nope\"}";
    assert_int_equal(cli_reply_error(409, wrong, strlen(wrong), "http://h:1", &err), NL_CLI_FAILED);
    assert_string_equal(err.msg, "HTTP 409 from http://h:1: {\"error\": \"nope\"}");
}

static void test_cli_client_request_unreachable(void **state)
{
    (void)state;
    int fd = -1;
    int port = closed_port(&fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    struct cli_client *c = cli_client_create(url);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    assert_string_equal(cli_client_url(c), base); /* the trailing '/' is dropped */
    json_t *out = json_object();                  /* must come back NULL */
    json_t *keep = out;
    struct nl_err err = {0};
    assert_int_equal(cli_client_request(c, "GET", "/v1/health", NULL, &out, &err),
                     NL_CLI_UNREACHABLE);
    assert_null(out);
    char want[128];
    snprintf(want, sizeof(want), "cannot reach controller at %s: Connection refused", base);
    assert_string_equal(err.msg, want);
    json_decref(keep);
    cli_client_destroy(c);
    close(fd);
}

static void test_cli_json_accessors_tolerate_null(void **state)
{
    (void)state;
    json_t *j =
            json_loads("{\"a\": 1.5, \"b\": null, \"s\": \"x\", \"t\": true, \"n\": 3}", 0, NULL);
    assert_true(cli_json_num(j, "a") == 1.5);
    assert_true(cli_json_num(j, "n") == 3.0);
    assert_true(isnan(cli_json_num(j, "b")));
    assert_true(isnan(cli_json_num(j, "s")));
    assert_true(isnan(cli_json_num(j, "missing")));
    assert_string_equal(cli_json_str(j, "s"), "x");
    assert_string_equal(cli_json_str(j, "b"), "-");
    assert_string_equal(cli_json_str(j, "a"), "-");
    assert_true(cli_json_bool(j, "t"));
    assert_false(cli_json_bool(j, "b"));
    assert_false(cli_json_bool(NULL, "t"));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cli_path_query_encodes_and_skips_null),
            cmocka_unit_test(test_cli_reply_error_uses_api_message),
            cmocka_unit_test(test_cli_reply_error_quotes_foreign_bodies),
            cmocka_unit_test(test_cli_client_request_unreachable),
            cmocka_unit_test(test_cli_json_accessors_tolerate_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
