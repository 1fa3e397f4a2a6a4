/*
 * bench_pool.c: the pool rows. What the worker pool costs per job and per
 * frame, against doing the same work without it (a direct call, or the
 * frame's jobs run inline), in the same run.
 *
 * Threads: the main thread plus the pool's workers (one per online core).
 */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sluice/error.h>
#include <sluice/pool.h>
#include "clock.h"

#include "sections.h"

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

typedef struct pool_ctx {
    sl_pool *pool;
    float *bufs;            /* 32 blocks, one per job of a frame */
    int n;                  /* jobs, or frames, per run */
    int jobs;               /* jobs per frame */
    sl_job_fn fn;           /* the frame's job */
    job_ptr volatile *direct; /* the same job, called inline */
} pool_ctx;

/* One job at a time: submit, wait for it, repeat. Latency per job. */
static int round_trip(void *ctx, bench_pair *out, char *why, size_t why_len)
{
    pool_ctx *c = ctx;
    uint64_t t0 = sl__now_ns(), t_pool;

    for (int i = 0; i < c->n; i++) {
        sl_job_handle h;
        int rc = sl_pool_try_submit(c->pool, SL_CLASS_AUDIBLE, empty_job,
                                    &sink, &h);
        if (rc == SL_OK)
            rc = sl_pool_job_wait(c->pool, h, SL_POOL_FOREVER);
        if (rc != SL_OK) {
            snprintf(why, why_len, "submit/wait: %s", sl_strerror(rc));
            return -1;
        }
    }
    t_pool = sl__now_ns() - t0;
    t0 = sl__now_ns();
    for (int i = 0; i < c->n; i++)
        direct_empty(NULL, &sink);
    out->figure = (double)t_pool / c->n;
    out->baseline = (double)(sl__now_ns() - t0) / c->n;
    return 0;
}

/* Many jobs in flight: submit n, wait until all ran. Amortised per job. */
static int pipelined(void *ctx, bench_pair *out, char *why, size_t why_len)
{
    pool_ctx *c = ctx;
    atomic_uint done = 0;
    uint64_t t0 = sl__now_ns(), t_pool;

    for (int i = 0; i < c->n; i++) {
        int rc = sl_pool_submit(c->pool, (sl_service_class)(i % 3), empty_job,
                                &done, SL_POOL_FOREVER, NULL);
        if (rc != SL_OK) {
            snprintf(why, why_len, "sl_pool_submit: %s", sl_strerror(rc));
            return -1;
        }
    }
    while (atomic_load(&done) < (unsigned)c->n)
        ;
    t_pool = sl__now_ns() - t0;
    t0 = sl__now_ns();
    for (int i = 0; i < c->n; i++)
        direct_empty(NULL, &sink);
    out->figure = (double)t_pool / c->n;
    out->baseline = (double)(sl__now_ns() - t0) / c->n;
    return 0;
}

/* One frame: begin, submit its jobs, finish, wait (helping), release. */
static int one_frame(pool_ctx *c, uint64_t id)
{
    sl_frame_group g;
    sl_frame_handle h;
    int rc = sl_pool_frame_begin(c->pool, id, SL_CLASS_AUDIBLE, 0, &g);

    for (int j = 0; rc == SL_OK && j < c->jobs; j++)
        rc = sl_pool_frame_submit(c->pool, g, c->fn, c->bufs + j * BLOCK, 0);
    if (rc == SL_OK)
        rc = sl_pool_frame_finish(c->pool, g, NULL, NULL, &h);
    if (rc == SL_OK)
        rc = sl_pool_frame_wait(c->pool, h, SL_POOL_FOREVER);
    if (rc == SL_OK)
        rc = sl_pool_frame_release(c->pool, h);
    return rc;
}

/* Frames of c->jobs jobs against the same jobs inline. Mean per frame. */
static int frames(void *ctx, bench_pair *out, char *why, size_t why_len)
{
    pool_ctx *c = ctx;
    uint64_t t0 = sl__now_ns(), t_pool;

    for (int r = 0; r < c->n; r++) {
        int rc = one_frame(c, (uint64_t)r + 1);
        if (rc != SL_OK) {
            snprintf(why, why_len, "frame %d: %s", r, sl_strerror(rc));
            return -1;
        }
    }
    t_pool = sl__now_ns() - t0;
    t0 = sl__now_ns();
    for (int r = 0; r < c->n; r++)
        for (int j = 0; j < c->jobs; j++)
            (*c->direct)(NULL, c->bufs + j * BLOCK);
    out->figure = (double)t_pool / c->n;
    out->baseline = (double)(sl__now_ns() - t0) / c->n;
    return 0;
}

void bench_pool_rows(const bench_opts *opts)
{
    static const int fan[3] = {2, 8, 32};
    static char names[3][48];
    int div = opts->smoke ? 20 : 1; /* smoke: a twentieth of the work */
    unsigned runs = bench_runs(opts, 5);
    pool_ctx c = {.bufs = calloc(32 * BLOCK, sizeof(float))};
    bench_row row = {.unit = "ns/job", .baseline = "direct call"};
    int rc = c.bufs ? sl_pool_create(&c.pool, NULL) : SL_ENOMEM;

    if (rc != SL_OK) {
        bench_fail("pool: every row", sl_strerror(rc));
        free(c.bufs);
        return;
    }
    row.name = "pool: job submit->completion, 1 by 1";
    c.n = 4000 / div;
    bench_measure(&row, runs, round_trip, &c);
    row.name = "pool: job submit->completion, pipelined";
    c.n = 100000 / div;
    bench_measure(&row, runs, pipelined, &c);

    row.unit = "ns/frame";
    row.baseline = "same jobs inline";
    c.fn = gain_job;
    c.direct = &direct_gain;
    for (int k = 0; k < 3; k++) {
        snprintf(names[k], sizeof names[k],
                 "pool: fan-out/join, %d x 256-sample jobs", fan[k]);
        row.name = names[k];
        c.jobs = fan[k];
        c.n = 128000 / fan[k] / div;
        bench_measure(&row, runs, frames, &c);
    }
    row.name = "pool: fan-out/join, 8 x 20 us jobs";
    c.fn = heavy_job;
    c.direct = &direct_heavy;
    c.jobs = 8;
    c.n = 200 / div;
    bench_measure(&row, runs, frames, &c);

    sl_pool_destroy(c.pool);
    free(c.bufs);
}
