/*
 * bench_sched.c: the scheduler rows.
 *  - Wake latency: another thread, standing in for the device callback
 *    crossing the ring's low watermark, calls sl_scheduler_wake_rt() while
 *    the scheduler is parked; the figure is the time until the node's tick
 *    starts (p50, p99, max). Baseline: a bare thread parked on a futex
 *    with the same timeout, woken the same way, until it runs again.
 *  - CPU while nothing happens: the scheduler thread's own CPU clock over
 *    a few seconds, idle (no node) and paused (a node that reports
 *    BACKPRESSURED, as the master node does when the device is paused and
 *    the ring is full). Baseline: a bare thread that only parks on a futex
 *    with the same period.
 *
 * Threads: the main thread (the waker, the measuring), the scheduler
 * thread, and one baseline thread per row.
 */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sluice/error.h>
#include <sluice/node.h>
#include <sluice/scheduler.h>
#include "clock.h"
#include "scheduler_priv.h"

#include "sections.h"

#define MS 1000000u

/* The node: stamps the first tick after a requested wake; otherwise has
 * nothing to do, like a master node whose ring is full. */
typedef struct stamp_node {
    sl_node base;
    _Atomic uint64_t t0;    /* when the wake was requested; 0: none */
    _Atomic uint64_t woke;  /* wake-to-tick latency + 1; 0: not yet */
} stamp_node;

static int stamp_tick(sl_node *node)
{
    stamp_node *n = (stamp_node *)node;
    uint64_t now = sl__now_ns();
    uint64_t t0 = atomic_exchange(&n->t0, 0);

    if (t0 != 0)
        atomic_store(&n->woke, now - t0 + 1);
    return SL_NODE_BACKPRESSURED;
}

static const sl_node_vtable stamp_vtable = {.name = "bench-stamp",
                                            .tick = stamp_tick};

/* The baseline: a thread parked on a futex word with a timeout, in a loop,
 * stamping the first return after a requested wake. */
typedef struct sleeper {
    _Atomic uint32_t seq;
    _Atomic uint64_t parks, t0, woke;
    atomic_bool stop;
    uint64_t period_ns;
    pthread_t thread;
} sleeper;

static void *sleep_loop(void *arg)
{
    sleeper *s = arg;

    while (!atomic_load(&s->stop)) {
        uint32_t seen = atomic_load(&s->seq);
        uint64_t d = sl__now_ns() + s->period_ns;
        struct timespec ts = {(time_t)(d / 1000000000u),
                              (long)(d % 1000000000u)};
        atomic_fetch_add(&s->parks, 1);
        syscall(SYS_futex, &s->seq, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
                seen, &ts, NULL, FUTEX_BITSET_MATCH_ANY);
        uint64_t now = sl__now_ns(), t0 = atomic_exchange(&s->t0, 0);
        if (t0 != 0)
            atomic_store(&s->woke, now - t0 + 1);
    }
    return NULL;
}

static void sleeper_wake(sleeper *s)
{
    atomic_fetch_add(&s->seq, 1);
    syscall(SYS_futex, &s->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static int sleeper_start(sleeper *s, uint64_t period_ns)
{
    atomic_init(&s->seq, 0);
    atomic_init(&s->parks, 0);
    atomic_init(&s->t0, 0);
    atomic_init(&s->woke, 0);
    atomic_init(&s->stop, false);
    s->period_ns = period_ns;
    return pthread_create(&s->thread, NULL, sleep_loop, s);
}

static void sleeper_stop(sleeper *s)
{
    atomic_store(&s->stop, true);
    sleeper_wake(s);
    pthread_join(s->thread, NULL);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Polls `word` every 100 us until it is nonzero; returns it, or 0 after
 * 2 s. */
static uint64_t await_nonzero(_Atomic uint64_t *word)
{
    for (int i = 0; i < 20000; i++) {
        uint64_t v = atomic_load(word);
        if (v != 0)
            return v;
        sleep_ns(100000);
    }
    return 0;
}

static uint64_t sched_parks(sl_scheduler *s)
{
    sl_scheduler_stats st;
    sl_scheduler_get_stats(s, &st);
    return st.parks;
}

/* Waits until a park later than *parks has begun, then 1..3 ms more so the
 * wake lands well inside it. Returns 0, or -1 after 2 s without a park. */
static int into_park(uint64_t (*count)(void *), void *obj, uint64_t *parks,
                     uint32_t *rnd)
{
    for (int i = 0; i < 20000; i++) {
        uint64_t p = count(obj);
        if (p > *parks) {
            *parks = p;
            sleep_ns((uint64_t)(1 + bench_rand(rnd) % 3) * MS);
            return 0;
        }
        sleep_ns(100000);
    }
    return -1;
}

static uint64_t count_sched(void *obj)
{
    return sched_parks(obj);
}

static uint64_t count_sleeper(void *obj)
{
    return atomic_load(&((sleeper *)obj)->parks);
}

/* One latency of each: the scheduler's, then the bare futex's, in ns. */
static int wake_pair(sl_scheduler *s, stamp_node *n, sleeper *b,
                     uint64_t parks[2], uint32_t *rnd, double out[2])
{
    uint64_t v;

    if (into_park(count_sched, s, &parks[0], rnd) != 0)
        return -1;
    atomic_store(&n->woke, 0);
    atomic_store(&n->t0, sl__now_ns());
    sl_scheduler_wake_rt(s);
    if ((v = await_nonzero(&n->woke)) == 0)
        return -1;
    out[0] = (double)(v - 1);

    if (into_park(count_sleeper, b, &parks[1], rnd) != 0)
        return -1;
    atomic_store(&b->woke, 0);
    atomic_store(&b->t0, sl__now_ns());
    sleeper_wake(b);
    if ((v = await_nonzero(&b->woke)) == 0)
        return -1;
    out[1] = (double)(v - 1);
    return 0;
}

static void wake_rows(const bench_opts *opts)
{
    static const struct {
        const char *name;
        double q;
    } rows[3] = {{"scheduler: wake_rt -> node tick starts, p50", 0.50},
                 {"scheduler: wake_rt -> node tick starts, p99", 0.99},
                 {"scheduler: wake_rt -> node tick starts, max", 1.00}};
    size_t n = opts->smoke ? 40 : 1000;
    double *lat = calloc(2 * n, sizeof *lat), pair[2];
    stamp_node node = {0};
    sleeper base;
    sl_scheduler *s = NULL;
    uint64_t parks[2] = {0, 0};
    uint32_t rnd = 2463534242u;
    int rc = lat ? sl_scheduler_create(&s, NULL) : SL_ENOMEM;

    bool started = false;

    sl_node_init(&node.base, &stamp_vtable, SL_CLASS_AUDIBLE);
    if (rc == SL_OK)
        rc = sl_scheduler_register(s, &node.base, NULL);
    if (rc == SL_OK) {
        started = sleeper_start(&base, 10 * MS) == 0;
        rc = started ? SL_OK : SL_ETHREAD;
    }
    for (size_t i = 0; rc == SL_OK && i < n; i++) {
        if (wake_pair(s, &node, &base, parks, &rnd, pair) != 0) {
            rc = SL_ETIMEDOUT;
            break;
        }
        lat[i] = pair[0] / 1e3;
        lat[n + i] = pair[1] / 1e3;
    }
    if (started)
        sleeper_stop(&base);
    sl_scheduler_destroy(s);
    if (rc != SL_OK) {
        bench_fail("scheduler: wake_rt -> node tick starts",
                   rc == SL_ETIMEDOUT ? "no park or no tick within 2 s"
                                      : sl_strerror(rc));
        free(lat);
        return;
    }
    bench_sort(lat, n);
    bench_sort(lat + n, n);
    for (int r = 0; r < 3; r++) {
        bench_row row = {.name = rows[r].name, .unit = "us",
                         .baseline = "bare futex wake", .ratio = BENCH_COST};
        bench_report(&row, bench_quantile(lat, n, rows[r].q),
                     bench_quantile(lat + n, n, rows[r].q));
    }
    free(lat);
}

/* ---- CPU while nothing happens ----------------------------------------- */

typedef struct cpu_ctx {
    pthread_t sched_thread;
    sleeper *base;
    uint64_t window_ns;
} cpu_ctx;

static double thread_cpu_ns(pthread_t t)
{
    clockid_t cid;
    struct timespec ts;

    if (pthread_getcpuclockid(t, &cid) != 0 || clock_gettime(cid, &ts) != 0)
        return -1.0;
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Both threads' CPU over the same window, in percent of one core. */
static int cpu_run(void *ctx, bench_pair *out, char *why, size_t why_len)
{
    cpu_ctx *c = ctx;
    double a0 = thread_cpu_ns(c->sched_thread);
    double b0 = thread_cpu_ns(c->base->thread);
    uint64_t w0 = sl__now_ns();

    sleep_ns(c->window_ns);
    double a1 = thread_cpu_ns(c->sched_thread);
    double b1 = thread_cpu_ns(c->base->thread);
    double wall = (double)(sl__now_ns() - w0);
    if (a0 < 0 || a1 < 0 || b0 < 0 || b1 < 0) {
        snprintf(why, why_len, "cannot read a thread's CPU clock");
        return -1;
    }
    out->figure = 100.0 * (a1 - a0) / wall;
    out->baseline = 100.0 * (b1 - b0) / wall;
    return 0;
}

/* One CPU row: a scheduler with `node` registered (or none), against a
 * bare thread parking for `period_ns` at a time. */
static void cpu_row(const bench_opts *opts, const bench_row *row,
                    stamp_node *node, uint64_t period_ns)
{
    sl_scheduler *s = NULL;
    sleeper base;
    cpu_ctx c = {.base = &base,
                 .window_ns = opts->smoke ? 300 * MS : 3000 * MS};
    int rc = sl_scheduler_create(&s, NULL);

    if (rc == SL_OK && node != NULL)
        rc = sl_scheduler_register(s, &node->base, NULL);
    if (rc == SL_OK && sleeper_start(&base, period_ns) != 0)
        rc = SL_ETHREAD;
    if (rc == SL_OK) {
        c.sched_thread = sl__scheduler_thread(s);
        sleep_ns(100 * MS); /* past the start-up passes */
        bench_measure(row, bench_runs(opts, 3), cpu_run, &c);
        sleeper_stop(&base);
    } else {
        bench_fail(row->name, sl_strerror(rc));
    }
    sl_scheduler_destroy(s);
}

static void cpu_rows(const bench_opts *opts)
{
    const bench_target below = {BENCH_FIGURE_BELOW, 0.1};
    bench_row idle = {.name = "scheduler: CPU idle (no node; 100 ms parks)",
                      .unit = "% core", .baseline = "futex park 100 ms",
                      .ratio = BENCH_COST, .target = below};
    bench_row paused = {.name = "scheduler: CPU paused (node BACKPRESSURED)",
                        .unit = "% core", .baseline = "futex park 10 ms",
                        .ratio = BENCH_COST, .target = below};
    stamp_node node = {0};
    sl_scheduler_config cfg;

    sl_scheduler_config_default(&cfg);
    cpu_row(opts, &idle, NULL, cfg.idle_park_ns);
    sl_node_init(&node.base, &stamp_vtable, SL_CLASS_AUDIBLE);
    cpu_row(opts, &paused, &node, cfg.waiting_park_ns);
}

void bench_sched_rows(const bench_opts *opts)
{
    wake_rows(opts);
    cpu_rows(opts);
}
