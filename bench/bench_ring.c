/*
 * bench_ring.c: the ring rows. Stereo float frames per second through the
 * SPSC ring, one producer thread writing blocks and the main thread
 * reading them, against memcpy of the same block size on one thread.
 *
 * Threads: the main thread (consumer, and the baseline) and one producer
 * thread per run.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include <sluice/ring.h>

#include "sections.h"

#define CH 2
#define CAPACITY_BLOCKS 16 /* the ring holds this many blocks */

typedef struct ring_ctx {
    size_t block;   /* frames per write and per read */
    size_t total;   /* frames moved per run */
    float *src;     /* one block, written over and over */
    float *dst;     /* CAPACITY_BLOCKS blocks: the consumer's side */
} ring_ctx;

/* Read after each copy loop so the compiler cannot drop the copies. */
static volatile float ring_sink;

typedef struct producer {
    sl_ring *ring;
    const ring_ctx *c;
    atomic_int go;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    size_t left = p->c->total;

    while (!atomic_load_explicit(&p->go, memory_order_acquire))
        sched_yield();
    while (left > 0) {
        size_t want = left < p->c->block ? left : p->c->block;
        size_t n = sl_ring_write(p->ring, p->c->src, want);
        if (n == 0)
            sched_yield();
        left -= n;
    }
    return NULL;
}

/* Reads every frame on the calling thread; returns frames per second. */
static double consume(sl_ring *ring, producer *p, ring_ctx *c)
{
    size_t got = 0, slot = 0;
    double t0;

    atomic_store_explicit(&p->go, 1, memory_order_release);
    t0 = bench_now();
    while (got < c->total) {
        float *to = c->dst + slot * c->block * CH;
        size_t n = sl_ring_read(ring, to, c->block);
        if (n == 0) {
            sched_yield();
            continue;
        }
        got += n;
        slot = (slot + 1) % CAPACITY_BLOCKS;
    }
    return (double)c->total / (bench_now() - t0);
}

static double memcpy_rate(ring_ctx *c)
{
    size_t blocks = c->total / c->block, bytes = c->block * CH * sizeof(float);
    double t0 = bench_now();

    for (size_t b = 0; b < blocks; b++)
        memcpy(c->dst + (b % CAPACITY_BLOCKS) * c->block * CH, c->src, bytes);
    t0 = bench_now() - t0;
    ring_sink = c->dst[(blocks - 1) % CAPACITY_BLOCKS * c->block * CH];
    return (double)(blocks * c->block) / t0;
}

static int ring_run(void *ctx, bench_pair *out, char *why, size_t why_len)
{
    ring_ctx *c = ctx;
    sl_ring *ring;
    producer p = {.c = c};
    pthread_t th;
    int rc = sl_ring_create(&ring, CH, c->block * CAPACITY_BLOCKS);

    if (rc != SL_OK) {
        snprintf(why, why_len, "sl_ring_create: %s", sl_strerror(rc));
        return -1;
    }
    p.ring = ring;
    if (pthread_create(&th, NULL, produce, &p) != 0) {
        snprintf(why, why_len, "cannot start the producer thread");
        sl_ring_destroy(ring);
        return -1;
    }
    out->figure = consume(ring, &p, c) / 1e6;
    pthread_join(th, NULL);
    sl_ring_destroy(ring);
    out->baseline = memcpy_rate(c) / 1e6;
    return 0;
}

void bench_ring_rows(const bench_opts *opts)
{
    static const size_t blocks[] = {128, 1024};
    static char names[2][48];

    for (size_t i = 0; i < 2; i++) {
        ring_ctx c = {.block = blocks[i],
                      .total = opts->smoke ? (size_t)1 << 18 : (size_t)1 << 25};
        bench_row row = {.name = names[i], .unit = "Mframe/s",
                         .baseline = "memcpy, 1 thread", .ratio = BENCH_COST};

        snprintf(names[i], sizeof names[i],
                 "ring: 2 threads, %zu-frame blocks, stereo", c.block);
        c.src = calloc(c.block * CH, sizeof(float));
        c.dst = calloc(c.block * CH * CAPACITY_BLOCKS, sizeof(float));
        if (c.src == NULL || c.dst == NULL)
            bench_fail(row.name, "out of memory");
        else
            bench_measure(&row, bench_runs(opts, 5), ring_run, &c);
        free(c.src);
        free(c.dst);
    }
}
