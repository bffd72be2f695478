/* SPDX-License-Identifier: MIT */
/*
 * fake_nvml.c - a stand-in for NVIDIA's libnvidia-ml with the entry points
 * gpu.c loads, so that the dlopen path is tested on machines without a GPU.
 * Four devices, limits 1000 W within 400..1000 W, power 700 W. Every write
 * is counted per device (fake_nvml_writes), so a test can see that nothing
 * was written that the controller did not ask for; with FAKE_NVML_WRITE_LOG
 * set, each write is also appended to that file (for other processes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NDEV 4

struct nvml_device {
    unsigned int limit_mw, writes;
};
static struct nvml_device devs[NDEV];
static int inited;

int nvmlInit_v2(void)
{
    if (!inited)
        for (int i = 0; i < NDEV; i++)
            devs[i] = (struct nvml_device){.limit_mw = 1000000, .writes = 0};
    inited = 1;
    return 0;
}
int nvmlShutdown(void)
{
    return 0;
}
int nvmlDeviceGetCount_v2(unsigned int *n)
{
    *n = NDEV;
    return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, struct nvml_device **d)
{
    if (i >= NDEV)
        return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *d = &devs[i];
    return 0;
}
int nvmlDeviceGetPowerUsage(struct nvml_device *d, unsigned int *mw)
{
    *mw = d->limit_mw < 700000 ? d->limit_mw : 700000;
    return 0;
}
int nvmlDeviceGetTotalEnergyConsumption(struct nvml_device *d, unsigned long long *mj)
{
    (void)d;
    *mj = 123456;
    return 0;
}
int nvmlDeviceGetTemperature(struct nvml_device *d, int sensor, unsigned int *t)
{
    (void)d;
    (void)sensor;
    *t = 55;
    return 0;
}
int nvmlDeviceGetUtilizationRates(struct nvml_device *d, unsigned int *u)
{
    (void)d;
    u[0] = 80;
    u[1] = 40;
    return 0;
}
int nvmlDeviceGetPowerManagementLimit(struct nvml_device *d, unsigned int *mw)
{
    *mw = d->limit_mw;
    return 0;
}
int nvmlDeviceGetPowerManagementLimitConstraints(struct nvml_device *d, unsigned int *lo,
                                                 unsigned int *hi)
{
    (void)d;
    *lo = 400000;
    *hi = 1000000;
    return 0;
}
int nvmlDeviceSetPowerManagementLimit(struct nvml_device *d, unsigned int mw)
{
    if (mw < 400000 || mw > 1000000)
        return 2;
    d->limit_mw = mw;
    d->writes++;
    const char *log = getenv("FAKE_NVML_WRITE_LOG");
    FILE *fp = log != NULL ? fopen(log, "a") : NULL;
    if (fp != NULL) {
        fprintf(fp, "device %ld limit %u mW\n", (long)(d - devs), mw);
        fclose(fp);
    }
    return 0;
}

/* For the test: writes and limit of device i. */
unsigned int fake_nvml_writes(unsigned int i)
{
    return devs[i].writes;
}
unsigned int fake_nvml_limit_mw(unsigned int i)
{
    return devs[i].limit_mw;
}
