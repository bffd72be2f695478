/* SPDX-License-Identifier: MIT */
/*
 * test_gpu.c - the agent's GPUs: modelled telemetry (idle, busy, capped,
 * noise, energy), caps as a desired state (only listed GPUs written, old
 * limits restored), and the NVML path through dlopen of a stand-in library
 * (NVML_FAKE, built beside this test), which also shows that a GPU never
 * listed is never written.
 */
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/gpu.h"
#include "nordlys/err.h"

static void test_model_idle_busy_capped(void **state)
{
    (void)state;
    struct nl_err err;
    struct gpu_set *g = gpu_open(2, 4, true, NULL, 7, &err);
    assert_non_null(g);
    assert_false(gpu_real(g));
    struct gpu_sample s[4];
    assert_int_equal(gpu_read(g, 0, 1000000, s), 0);
    for (int i = 0; i < 4; i++) {
        assert_true(fabs(s[i].power_w - 350) <= 350 * 0.031);
        assert_true(s[i].util == 0);
        assert_true(s[i].limit_w == 1800);
    }
    gpu_model_busy(g, 0, 0x3, 1500, 1000000);
    assert_int_equal(gpu_read(g, 0, 11000000, s), 0);
    assert_true(fabs(s[0].power_w - 1500) <= 1500 * 0.031);
    assert_true(s[0].util >= 0.9);
    assert_true(s[2].util == 0);
    /* 10 s at 1500 W: 15 kJ, plus the first second's idle draw never counted (no reading before). */
    assert_true(fabs(s[0].energy_j - 15000) < 1);
    /* Cap GPUs 0-1 of node 0 for job 9 at 1100 W: only they change, and draw stays under it. */
    struct gpu_cap cap = {.node = 0, .mask = 0x3, .job = 9, .cap_w = 1100};
    size_t failed;
    assert_int_equal(gpu_caps_apply(g, &cap, 1, &failed), 2);
    assert_int_equal(failed, 0);
    assert_int_equal(gpu_caps_apply(g, &cap, 1, &failed), 0); /* already so */
    assert_int_equal(gpu_read(g, 0, 12000000, s), 0);
    assert_true(s[0].power_w <= 1100 && s[0].limit_w == 1100);
    assert_true(s[2].limit_w == 1800);
    assert_int_equal(gpu_capped_by(g, 0, 1), 9);
    assert_int_equal(gpu_capped_by(g, 0, 2), 0);
    /* The controller stops listing it (lifted or the job ended): the old limit is back. */
    assert_int_equal(gpu_caps_apply(g, NULL, 0, &failed), 2);
    assert_int_equal(gpu_read(g, 0, 13000000, s), 0);
    assert_true(s[0].limit_w == 1800);
    assert_int_equal(gpu_capped_by(g, 0, 0), 0);
    gpu_close(g);
}

typedef unsigned int (*probe_fn)(unsigned int);

static void test_nvml_through_dlopen(void **state)
{
    (void)state;
    struct nl_err err;
    /* A missing library is no error: the GPUs are modelled and the reason kept. */
    struct gpu_set *g = gpu_open(1, 4, false, "/nonexistent/libnvidia-ml.so.1", 1, &err);
    assert_non_null(g);
    assert_false(gpu_real(g));
    assert_non_null(strstr(gpu_why_modelled(g), "NVML not loaded"));
    gpu_close(g);

    g = gpu_open(1, 4, false, NVML_FAKE, 1, &err);
    assert_non_null(g);
    assert_true(gpu_real(g));
    void *lib = dlopen(NVML_FAKE, RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(lib);
    probe_fn writes = (probe_fn)dlsym(lib, "fake_nvml_writes");
    probe_fn limit = (probe_fn)dlsym(lib, "fake_nvml_limit_mw");
    struct gpu_sample s[4];
    assert_int_equal(gpu_read(g, 0, 1, s), 0);
    assert_true(s[0].power_w == 700 && s[0].limit_w == 1000 && s[0].temp_c == 55);
    assert_true(fabs(s[0].util - 0.8) < 1e-9 && fabs(s[0].energy_j - 123.456) < 1e-9);
    /* Cap GPU 1 only; 300 W is below the board's floor: clamped to 400 W. */
    struct gpu_cap cap = {.node = 0, .mask = 0x2, .job = 4, .cap_w = 300};
    size_t failed;
    assert_int_equal(gpu_caps_apply(g, &cap, 1, &failed), 1);
    assert_int_equal(failed, 0);
    assert_int_equal(limit(1), 400000);
    assert_int_equal(writes(1), 1);
    assert_int_equal(gpu_caps_apply(g, &cap, 1, &failed), 0);
    assert_int_equal(writes(1), 1); /* the same cap is not written again */
    gpu_caps_restore_all(g);
    assert_int_equal(limit(1), 1000000);
    /* GPUs 0, 2, 3 were never listed: never written. */
    assert_int_equal(writes(0), 0);
    assert_int_equal(writes(2), 0);
    assert_int_equal(writes(3), 0);
    dlclose(lib);
    gpu_close(g);

    /* An agent that assumed 8 GPUs on a node NVML shows 4 of: the set has 4 (this overran its array). */
    g = gpu_open(1, 8, false, NVML_FAKE, 1, &err);
    assert_non_null(g);
    assert_true(gpu_real(g));
    assert_int_equal(gpu_per_node(g), 4);
    assert_int_equal(gpu_read(g, 0, 1, s), 0);
    assert_true(s[3].limit_w == 1000);
    gpu_close(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_model_idle_busy_capped),
            cmocka_unit_test(test_nvml_through_dlopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
