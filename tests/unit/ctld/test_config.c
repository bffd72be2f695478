/* SPDX-License-Identifier: MIT */
/* test_config.c - the option table: defaults, environment, flags, precedence, errors. */
/* cmocka.h needs the standard headers before it. */
/* clang-format off */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
/* clang-format on */

#include "ctld/config.h"
#include "nordlys/err.h"

/* A fake environment: the test's own table, not the process's. */
static const char *env_keys[4], *env_vals[4];

static char *fake_getenv(const char *name)
{
    for (int i = 0; i < 4 && env_keys[i]; i++)
        if (strcmp(env_keys[i], name) == 0)
            return (char *)env_vals[i];
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    memset(env_keys, 0, sizeof(env_keys));
    return 0;
}

static int parse(struct ctld_config *cfg, struct nl_err *err, int argc, const char **argv)
{
    return ctld_config_parse(cfg, argc, (char **)argv, fake_getenv, err);
}

static void test_config_defaults(void **state)
{
    (void)state;
    struct ctld_config cfg;
    const char *argv[] = {"nordlysd"};
    assert_int_equal(parse(&cfg, NULL, 1, argv), 0);
    assert_string_equal(cfg.facility, "dev");
    assert_string_equal(cfg.listen, "127.0.0.1:7420");
    assert_string_equal(cfg.synchronous, "full");
    assert_int_equal(cfg.sched_interval_ms, 100);
    assert_int_equal(cfg.node_timeout_ms, 5000);
    assert_false(cfg.print_config);
    assert_false(cfg.init);
    assert_int_equal(cfg.idempotency_window_s, 86400);
    assert_int_equal(cfg.source[0], 0);
    ctld_config_release(&cfg);
}

static void test_config_flag_beats_env_beats_default(void **state)
{
    (void)state;
    env_keys[0] = "NORDLYS_FACILITY";
    env_vals[0] = "narvik";
    env_keys[1] = "NORDLYS_NODE_TIMEOUT_MS";
    env_vals[1] = "900";
    struct ctld_config cfg;
    const char *argv[] = {"nordlysd", "--facility", "loughton", "--sched-interval-ms=7",
                          "--print-config"};
    assert_int_equal(parse(&cfg, NULL, 5, argv), 0);
    assert_string_equal(cfg.facility, "loughton");
    assert_int_equal(cfg.node_timeout_ms, 900);
    assert_int_equal(cfg.sched_interval_ms, 7);
    assert_true(cfg.print_config);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ctld_config_print(&cfg, f);
    fclose(f);
    assert_non_null(strstr(text, "facility = loughton  # flag"));
    assert_non_null(strstr(text, "node-timeout-ms = 900  # environment"));
    assert_non_null(strstr(text, "listen = 127.0.0.1:7420  # default"));
    free(text);
    ctld_config_release(&cfg);
}

static void test_config_errors_name_the_option(void **state)
{
    (void)state;
    struct ctld_config cfg;
    struct nl_err err = {0};
    const char *a1[] = {"nordlysd", "--sched-interval-ms", "0"};
    assert_int_equal(parse(&cfg, &err, 3, a1), -EINVAL);
    assert_non_null(strstr(err.msg, "sched-interval-ms"));
    const char *a2[] = {"nordlysd", "--bogus", "1"};
    assert_int_equal(parse(&cfg, &err, 3, a2), -EINVAL);
    assert_non_null(strstr(err.msg, "--bogus"));
    const char *a3[] = {"nordlysd", "--synchronous=sometimes"};
    assert_int_equal(parse(&cfg, &err, 2, a3), -EINVAL);
    assert_non_null(strstr(err.msg, "synchronous"));
    const char *a4[] = {"nordlysd", "--listen"};
    assert_int_equal(parse(&cfg, &err, 2, a4), -EINVAL);
    assert_non_null(strstr(err.msg, "needs a value"));
    env_keys[0] = "NORDLYS_NODE_TIMEOUT_MS";
    env_vals[0] = "12abc";
    const char *a5[] = {"nordlysd"};
    assert_int_equal(parse(&cfg, &err, 1, a5), -EINVAL);
    assert_non_null(strstr(err.msg, "environment"));
    assert_non_null(strstr(err.msg, "node-timeout-ms"));
    env_keys[0] = NULL;
    const char *a6[] = {"nordlysd", "--idempotency-window-s", "0"};
    assert_int_equal(parse(&cfg, &err, 3, a6), -EINVAL);
    assert_non_null(strstr(err.msg, "idempotency-window-s"));
    const char *a7[] = {"nordlysd", "--output-root", "out"};
    assert_int_equal(parse(&cfg, &err, 3, a7), -EINVAL);
    assert_non_null(strstr(err.msg, "--output-root: 'out' is not an absolute path"));
    const char *a8[] = {"nordlysd", "--output-root=/shared/out"};
    assert_int_equal(parse(&cfg, &err, 2, a8), 0);
    assert_string_equal(cfg.output_root, "/shared/out");
    ctld_config_release(&cfg);
}

static void test_config_init_and_window(void **state)
{
    (void)state;
    struct ctld_config cfg;
    const char *argv[] = {"nordlysd", "--init", "--idempotency-window-s=60"};
    assert_int_equal(parse(&cfg, NULL, 3, argv), 0);
    assert_true(cfg.init);
    assert_int_equal(cfg.idempotency_window_s, 60);
    ctld_config_release(&cfg);
}

/* TLS options: off by default, both files or neither, from flags or the environment. */
static void test_config_tls(void **state)
{
    (void)state;
    struct ctld_config cfg;
    struct nl_err err = {0};
    const char *a0[] = {"nordlysd"};
    assert_int_equal(parse(&cfg, &err, 1, a0), 0);
    assert_string_equal(cfg.tls_cert, "");
    assert_string_equal(cfg.tls_key, "");
    assert_false(cfg.allow_insecure);
    ctld_config_release(&cfg);
    const char *a1[] = {"nordlysd", "--tls-cert", "srv.pem"};
    assert_int_equal(parse(&cfg, &err, 3, a1), -EINVAL);
    assert_non_null(strstr(err.msg, "--tls-cert: HTTPS needs both --tls-cert and --tls-key"));
    const char *a2[] = {"nordlysd", "--tls-key=srv.key"};
    assert_int_equal(parse(&cfg, &err, 2, a2), -EINVAL);
    assert_non_null(strstr(err.msg, "--tls-key: HTTPS needs both"));
    env_keys[0] = "NORDLYS_TLS_CERT";
    env_vals[0] = "/etc/nordlys/srv.pem";
    env_keys[1] = "NORDLYS_TLS_KEY";
    env_vals[1] = "/etc/nordlys/srv.key";
    const char *a3[] = {"nordlysd", "--listen", "10.0.0.1:7420", "--allow-insecure"};
    assert_int_equal(parse(&cfg, &err, 4, a3), 0);
    assert_string_equal(cfg.tls_cert, "/etc/nordlys/srv.pem");
    assert_string_equal(cfg.tls_key, "/etc/nordlys/srv.key");
    assert_true(cfg.allow_insecure);
    ctld_config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(test_config_defaults, setup),
            cmocka_unit_test_setup(test_config_flag_beats_env_beats_default, setup),
            cmocka_unit_test_setup(test_config_errors_name_the_option, setup),
            cmocka_unit_test_setup(test_config_init_and_window, setup),
            cmocka_unit_test_setup(test_config_tls, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
