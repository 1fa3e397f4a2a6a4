/*
 * bench_pool.c: what the worker pool costs, measured against doing the
 * same work without it, in the same run. Prints one table; see
 * bench/README.md for what each row means and how to reproduce it.
 *
 * Runs on the main thread plus the pool's workers (one per core).
 */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include <sluice/pool.h>
#include "clock.h"

#define BLOCK 256 /* samples a frame job processes */

static atomic_uint sink;

/* The "small job" of the overhead rows: as little work as possible. */
static int empty_job(sl_job *job, void *arg)
{
    (void)job;
    atomic_fetch_add_explicit((atomic_uint *)arg, 1, memory_order_relaxed);
    return SL_OK;
}

/* A frame job: a gain over one block, standing in for one track's DSP. */
static int gain_job(sl_job *job, void *arg)
{
    float *buf = arg;
    (void)job;
    for (int i = 0; i < BLOCK; i++)
        buf[i] = buf[i] * 0.999f + 0.001f;
    return SL_OK;
}

/* A job with real weight, ~20 us, to show where fan-out pays off. */
static int heavy_job(sl_job *job, void *arg)
{
    uint64_t end = sl__now_ns() + 20000;
    (void)job;
    (void)arg;
    while (sl__now_ns() < end)
        ;
    return SL_OK;
}

typedef int (*job_ptr)(sl_job *, void *);
/* volatile so the compiler really calls through it, as the pool does */
static job_ptr volatile direct_empty = empty_job;
static job_ptr volatile direct_gain = gain_job;
static job_ptr volatile direct_heavy = heavy_job;

/* One measurement: the pool's cost and the baseline's, ns per unit. */
typedef struct sample {
    double pool_ns, base_ns;
} sample;

#define RUNS 5 /* each row is the median of RUNS runs, to ride out noise */

static int by_pool(const void *a, const void *b)
{
    double x = ((const sample *)a)->pool_ns, y = ((const sample *)b)->pool_ns;
    return (x > y) - (x < y);
}

static int by_base(const void *a, const void *b)
{
    double x = ((const sample *)a)->base_ns, y = ((const sample *)b)->base_ns;
    return (x > y) - (x < y);
}

static void row(const char *name, sample *s, const char *base)
{
    double p, b;

    qsort(s, RUNS, sizeof *s, by_pool);
    p = s[RUNS / 2].pool_ns;
    qsort(s, RUNS, sizeof *s, by_base);
    b = s[RUNS / 2].base_ns;
    printf("%-34s %10.0f %12.0f  %-17s %8.1fx\n", name, p, b, base, p / b);
}

/* One job at a time: submit, wait for it, repeat. Latency per job. */
static sample bench_round_trip(sl_pool *pool, int n)
{
    uint64_t t0, t_pool, t_base;
    sl_job_handle h;

    t0 = sl__now_ns();
    for (int i = 0; i < n; i++) {
        sl_pool_try_submit(pool, SL_CLASS_AUDIBLE, empty_job, &sink, &h);
        sl_pool_job_wait(pool, h, SL_POOL_FOREVER);
    }
    t_pool = sl__now_ns() - t0;
    t0 = sl__now_ns();
    for (int i = 0; i < n; i++)
        direct_empty(NULL, &sink);
    t_base = sl__now_ns() - t0;
    return (sample){(double)t_pool / n, (double)t_base / n};
}

/* Many jobs in flight: submit n, wait until all ran. Amortised per job. */
static sample bench_throughput(sl_pool *pool, int n)
{
    uint64_t t0, t_pool, t_base;
    atomic_uint done = 0;

    t0 = sl__now_ns();
    for (int i = 0; i < n; i++)
        sl_pool_submit(pool, (sl_service_class)(i % 3), empty_job, &done,
                       SL_POOL_FOREVER, NULL);
    while (atomic_load(&done) < (unsigned)n)
        ;
    t_pool = sl__now_ns() - t0;
    t0 = sl__now_ns();
    for (int i = 0; i < n; i++)
        direct_empty(NULL, &sink);
    t_base = sl__now_ns() - t0;
    return (sample){(double)t_pool / n, (double)t_base / n};
}

/* Frames of `jobs` gain jobs: begin, submit, finish, wait (helping),
 * release; against running the same jobs inline. Mean per frame. */
static sample bench_frame(sl_pool *pool, int jobs, int reps, float *bufs,
                          sl_job_fn fn, job_ptr volatile *direct)
{
    uint64_t t0, t_pool, t_base;

    t0 = sl__now_ns();
    for (int r = 0; r < reps; r++) {
        sl_frame_group g;
        sl_frame_handle h;
        sl_pool_frame_begin(pool, (uint64_t)r + 1, SL_CLASS_AUDIBLE, 0, &g);
        for (int j = 0; j < jobs; j++)
            sl_pool_frame_submit(pool, g, fn, bufs + j * BLOCK, 0);
        sl_pool_frame_finish(pool, g, NULL, NULL, &h);
        sl_pool_frame_wait(pool, h, SL_POOL_FOREVER);
        sl_pool_frame_release(pool, h);
    }
    t_pool = sl__now_ns() - t0;
    t0 = sl__now_ns();
    for (int r = 0; r < reps; r++)
        for (int j = 0; j < jobs; j++)
            (*direct)(NULL, bufs + j * BLOCK);
    t_base = sl__now_ns() - t0;
    return (sample){(double)t_pool / reps, (double)t_base / reps};
}

int main(void)
{
    sl_pool_config cfg;
    sl_pool *pool;
    float *bufs = calloc(32 * BLOCK, sizeof *bufs);
    sample s[RUNS];
    int rc;

    sl_pool_config_default(&cfg);
    if (bufs == NULL || (rc = sl_pool_create(&pool, &cfg)) != SL_OK) {
        fprintf(stderr, "bench_pool: cannot create the pool\n");
        return 1;
    }
    printf("sluice pool benchmark: %u workers, %d-sample frame jobs\n",
           cfg.workers, BLOCK);
    printf("%-34s %10s %12s  %-17s %9s\n", "row (median of 5)", "pool ns",
           "baseline ns", "baseline", "ratio");
    for (int i = 0; i < RUNS; i++)
        s[i] = bench_round_trip(pool, 4000);
    row("job submit->completion, 1 by 1", s, "direct call");
    for (int i = 0; i < RUNS; i++)
        s[i] = bench_throughput(pool, 100000);
    row("job submit->completion, pipelined", s, "direct call");
    for (int k = 0; k < 3; k++) {
        static const int fan[3] = {2, 8, 32};
        char name[64];
        for (int i = 0; i < RUNS; i++)
            s[i] = bench_frame(pool, fan[k], 128000 / fan[k], bufs, gain_job,
                               &direct_gain);
        snprintf(name, sizeof name, "frame fan-out/join, %2d jobs", fan[k]);
        row(name, s, "same jobs inline");
    }
    for (int i = 0; i < RUNS; i++)
        s[i] = bench_frame(pool, 8, 200, bufs, heavy_job, &direct_heavy);
    row("frame fan-out/join, 8 x 20 us jobs", s, "same jobs inline");
    sl_pool_destroy(pool);
    printf("(checksum %u %f)\n", atomic_load(&sink), (double)bufs[0]);
    free(bufs);
    return 0;
}
