/*
 * test_pool.c: the worker pool and frame groups: exactly-once execution,
 * admission, cancellation, helping waits, aging, resizing, shutdown,
 * trapped faults and stale handles.
 *
 * Timing assertions use generous margins (a loaded 2-core machine, a
 * sanitizer build) but stay well below what the failure they guard against
 * would produce: a starved Idle job waits for the whole flood, a blocking
 * try-submit never returns, a shutdown that polls or deadlocks overshoots.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <sluice/error.h>
#include <sluice/pool.h>
#include "clock.h"
#include "suites.h"

#define MS 1000000ull

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u),
                          (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

static void spin_ns(uint64_t ns)
{
    uint64_t end = sl__now_ns() + ns;
    while (sl__now_ns() < end)
        ;
}

static sl_pool *make_pool(unsigned workers, unsigned slots, unsigned cap,
                          uint64_t aging_ns)
{
    sl_pool_config cfg;
    sl_pool *pool = NULL;

    sl_pool_config_default(&cfg);
    cfg.workers = workers;
    cfg.job_slots = slots;
    for (int c = 0; c < SL_CLASS_COUNT; c++)
        cfg.queue_capacity[c] = cap;
    if (aging_ns != 0)
        cfg.aging_ns = aging_ns;
    CU_ASSERT_EQUAL(sl_pool_create(&pool, &cfg), SL_OK);
    return pool;
}

/* A job that holds its worker until the gate opens. */
typedef struct gate {
    atomic_int open;
    atomic_int entered;
} gate;

static int gate_job(sl_job *job, void *arg)
{
    gate *g = arg;
    (void)job;
    atomic_fetch_add(&g->entered, 1);
    while (!atomic_load(&g->open))
        sleep_ns(100000);
    return SL_OK;
}

static void wait_entered(gate *g, int n)
{
    while (atomic_load(&g->entered) < n)
        sleep_ns(100000);
}

static int count_job(sl_job *job, void *arg)
{
    (void)job;
    atomic_fetch_add_explicit((atomic_uint *)arg, 1, memory_order_relaxed);
    return SL_OK;
}

typedef struct cb_rec {
    atomic_int calls;
    sl_frame_stats st;
} cb_rec;

static void on_done(const sl_frame_stats *st, void *user)
{
    cb_rec *r = user;
    r->st = *st;
    atomic_fetch_add(&r->calls, 1);
}

/* ------------------------------------------------------------ basics */

static void test_create_rejects_bad_config(void)
{
    sl_pool_config cfg;
    sl_pool *pool = (sl_pool *)1;

    sl_pool_config_default(&cfg);
    CU_ASSERT(cfg.workers >= 1);
    CU_ASSERT(cfg.queue_capacity[0] + cfg.queue_capacity[1] +
                  cfg.queue_capacity[2] + SL_POOL_MAX_WORKERS <
              cfg.job_slots);
    CU_ASSERT_EQUAL(sl_pool_create(NULL, &cfg), SL_EINVAL);
    cfg.workers = SL_POOL_MAX_WORKERS + 1;
    CU_ASSERT_EQUAL(sl_pool_create(&pool, &cfg), SL_EINVAL);
    CU_ASSERT_PTR_NULL(pool);
    sl_pool_config_default(&cfg);
    cfg.job_slots = 0;
    CU_ASSERT_EQUAL(sl_pool_create(&pool, &cfg), SL_EINVAL);
    sl_pool_config_default(&cfg);
    cfg.queue_capacity[SL_CLASS_WARM] = 0;
    CU_ASSERT_EQUAL(sl_pool_create(&pool, &cfg), SL_EINVAL);
    CU_ASSERT_EQUAL_FATAL(sl_pool_create(&pool, NULL), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, 3, count_job, NULL, NULL),
                    SL_EINVAL);
    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_IDLE, NULL, NULL, NULL),
                    SL_EINVAL);
    sl_pool_destroy(pool);
    sl_pool_destroy(NULL);
}

static atomic_uchar *hits;

static int hit_job(sl_job *job, void *arg)
{
    (void)job;
    atomic_fetch_add_explicit(&hits[(uintptr_t)arg], 1, memory_order_relaxed);
    return SL_OK;
}

static void test_million_jobs_run_exactly_once(void)
{
    enum { N = 1000000 };
    sl_pool *pool = make_pool(2, 4096, 1024, 0);
    sl_pool_metrics m;
    uint64_t run = 0, sub = 0;
    int bad = 0;

    hits = calloc(N, sizeof *hits);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hits);
    for (uintptr_t i = 0; i < N; i++) {
        int rc = sl_pool_submit(pool, (sl_service_class)(i % 3), hit_job,
                                (void *)i, SL_POOL_FOREVER, NULL);
        if (rc != SL_OK) {
            CU_FAIL("submit failed");
            break;
        }
    }
    CU_ASSERT_EQUAL(sl_pool_shutdown(pool, SL_POOL_GRACEFUL), SL_OK);
    for (size_t i = 0; i < N; i++)
        bad += hits[i] != 1;
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(sl_pool_get_metrics(pool, &m), SL_OK);
    for (int c = 0; c < SL_CLASS_COUNT; c++) {
        run += m.cls[c].run;
        sub += m.cls[c].submitted;
        CU_ASSERT_EQUAL(m.cls[c].queue_depth, 0);
        CU_ASSERT(m.cls[c].exec_ns_max >= m.cls[c].exec_ns_mean);
        CU_ASSERT(m.cls[c].wait_ns_max >= m.cls[c].wait_ns_mean);
    }
    CU_ASSERT_EQUAL(run, N);
    CU_ASSERT_EQUAL(sub, N);
    CU_ASSERT(m.worker_busy_ns[0] > 0 || m.worker_busy_ns[1] > 0);
    sl_pool_destroy(pool);
    free(hits);
    hits = NULL;
}

static void test_frames_of_1_to_64_jobs(void)
{
    sl_pool *pool = make_pool(2, 256, 256, 0);

    for (unsigned n = 1; n <= 64; n++) {
        atomic_uint count = 0;
        cb_rec rec = {0};
        sl_frame_group g;
        sl_frame_handle h;
        unsigned done = 0, total = 0;
        sl_frame_stats st;

        CU_ASSERT_EQUAL_FATAL(
            sl_pool_frame_begin(pool, n, SL_CLASS_AUDIBLE, 0, &g), SL_OK);
        for (unsigned i = 0; i < n; i++)
            CU_ASSERT_EQUAL(sl_pool_frame_submit(pool, g, count_job, &count,
                                                 SL_POOL_FOREVER),
                            SL_OK);
        CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, g, on_done, &rec, &h),
                              SL_OK);
        CU_ASSERT_EQUAL(sl_pool_frame_submit(pool, g, count_job, &count, 0),
                        SL_ESTATE);
        CU_ASSERT_EQUAL(sl_pool_frame_wait(pool, h, 5000 * MS), SL_OK);
        CU_ASSERT_EQUAL(sl_pool_frame_is_complete(pool, h), 1);
        CU_ASSERT_EQUAL(sl_pool_frame_progress(pool, h, &done, &total), SL_OK);
        CU_ASSERT_EQUAL(done, n);
        CU_ASSERT_EQUAL(total, n);
        CU_ASSERT_EQUAL(atomic_load(&count), n);
        CU_ASSERT_EQUAL(atomic_load(&rec.calls), 1);
        CU_ASSERT_EQUAL(rec.st.frame_id, n);
        CU_ASSERT_EQUAL(rec.st.jobs_total, n);
        CU_ASSERT_EQUAL(rec.st.jobs_run, n);
        CU_ASSERT_EQUAL(rec.st.jobs_cancelled + rec.st.jobs_faulted, 0);
        CU_ASSERT(rec.st.latency_ns > 0);
        CU_ASSERT_EQUAL(sl_pool_frame_stats(pool, h, &st), SL_OK);
        CU_ASSERT_EQUAL(st.jobs_done, n);
        CU_ASSERT(st.exec_ns_total >= st.exec_ns_max);
        CU_ASSERT_EQUAL(sl_pool_frame_release(pool, h), SL_OK);
        /* The handle is stale now, even once the slot is reused. */
        CU_ASSERT_EQUAL(sl_pool_frame_is_complete(pool, h), SL_ENOTFOUND);
        CU_ASSERT_EQUAL(sl_pool_frame_wait(pool, h, 0), SL_ENOTFOUND);
        CU_ASSERT_EQUAL(sl_pool_frame_release(pool, h), SL_ENOTFOUND);
    }
    sl_pool_destroy(pool);
}

static void test_empty_frame_completes_at_finish(void)
{
    sl_pool *pool = make_pool(0, 16, 16, 0);
    cb_rec rec = {0};
    sl_frame_group g;
    sl_frame_handle h, zero = {0, 0};

    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_begin(pool, 7, SL_CLASS_WARM, 0, &g),
                          SL_OK);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, g, on_done, &rec, &h),
                          SL_OK);
    CU_ASSERT_EQUAL(atomic_load(&rec.calls), 1);
    CU_ASSERT_EQUAL(sl_pool_frame_is_complete(pool, h), 1);
    CU_ASSERT_EQUAL(sl_pool_frame_is_complete(pool, zero), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_pool_frame_release(pool, h), SL_OK);
    sl_pool_destroy(pool);
}

/* ------------------------------------------------------------ admission */

static void test_try_submit_full_returns_at_once(void)
{
    sl_pool *pool = make_pool(1, 64, 4, 0);
    gate g = {0};
    atomic_uint count = 0;
    sl_pool_metrics m;
    uint64_t t0, t1;

    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_WARM, gate_job, &g,
                                       NULL), SL_OK);
    wait_entered(&g, 1);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_AUDIBLE, count_job,
                                           &count, NULL), SL_OK);
    t0 = sl__now_ns();
    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_AUDIBLE, count_job,
                                       &count, NULL), SL_EFULL);
    t1 = sl__now_ns();
    CU_ASSERT(t1 - t0 < 50 * MS);
    /* Other classes have their own room. */
    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_IDLE, count_job, &count,
                                       NULL), SL_OK);
    /* A blocking submit gives up after its timeout. */
    t0 = sl__now_ns();
    CU_ASSERT_EQUAL(sl_pool_submit(pool, SL_CLASS_AUDIBLE, count_job, &count,
                                   20 * MS, NULL), SL_ETIMEDOUT);
    CU_ASSERT(sl__now_ns() - t0 >= 19 * MS);
    CU_ASSERT_EQUAL(sl_pool_get_metrics(pool, &m), SL_OK);
    CU_ASSERT_EQUAL(m.cls[SL_CLASS_AUDIBLE].rejected, 2);
    CU_ASSERT_EQUAL(m.cls[SL_CLASS_AUDIBLE].queue_depth, 4);
    atomic_store(&g.open, 1);
    CU_ASSERT_EQUAL(sl_pool_shutdown(pool, SL_POOL_GRACEFUL), SL_OK);
    CU_ASSERT_EQUAL(atomic_load(&count), 5);
    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_IDLE, count_job, &count,
                                       NULL), SL_ECLOSED);
    sl_pool_destroy(pool);
}

static void test_job_slots_bound_admission(void)
{
    sl_pool *pool = make_pool(0, 3, 100, 0);
    atomic_uint count = 0;

    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(sl_pool_try_submit(pool, i, count_job, &count, NULL),
                        SL_OK);
    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_IDLE, count_job, &count,
                                       NULL), SL_EFULL);
    sl_pool_destroy(pool); /* graceful: runs them on this thread */
    CU_ASSERT_EQUAL(atomic_load(&count), 3);
}

/* ------------------------------------------------------------ cancellation */

typedef struct publish {
    atomic_int started;
    atomic_int published;
    atomic_int saw_cancel;
    uint64_t frame_id;
} publish;

/* Works until cancelled, then declines to publish its stale result. */
static int until_cancelled_job(sl_job *job, void *arg)
{
    publish *p = arg;
    p->frame_id = sl_job_frame_id(job);
    atomic_fetch_add(&p->started, 1);
    while (!sl_job_cancelled(job))
        sleep_ns(100000);
    atomic_fetch_add(&p->saw_cancel, 1);
    if (!sl_job_cancelled(job))
        atomic_fetch_add(&p->published, 1);
    return SL_ECANCELED;
}

static void test_cancelled_frame_runs_no_unstarted_job(void)
{
    sl_pool *pool = make_pool(1, 64, 64, 0);
    publish p = {0};
    atomic_uint count = 0;
    cb_rec rec = {0};
    sl_frame_group g;
    sl_frame_handle h;

    CU_ASSERT_EQUAL_FATAL(
        sl_pool_frame_begin(pool, 42, SL_CLASS_AUDIBLE, 0, &g), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_submit(pool, g, until_cancelled_job, &p, 0),
                    SL_OK);
    for (int i = 0; i < 16; i++)
        CU_ASSERT_EQUAL(sl_pool_frame_submit(pool, g, count_job, &count, 0),
                        SL_OK);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, g, on_done, &rec, &h),
                          SL_OK);
    while (atomic_load(&p.started) == 0) /* the one worker is now held */
        sleep_ns(100000);
    CU_ASSERT_EQUAL(sl_pool_frame_cancel(pool, h), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_wait(pool, h, 5000 * MS), SL_OK);
    CU_ASSERT_EQUAL(atomic_load(&count), 0);
    CU_ASSERT_EQUAL(atomic_load(&p.saw_cancel), 1);
    CU_ASSERT_EQUAL(atomic_load(&p.published), 0);
    CU_ASSERT_EQUAL(p.frame_id, 42);
    CU_ASSERT_EQUAL(atomic_load(&rec.calls), 1);
    CU_ASSERT(rec.st.cancelled);
    CU_ASSERT_EQUAL(rec.st.jobs_total, 17);
    CU_ASSERT_EQUAL(rec.st.jobs_cancelled, 17);
    CU_ASSERT_EQUAL(rec.st.jobs_run, 0);
    CU_ASSERT_EQUAL(sl_pool_frame_submit(pool, g, count_job, &count, 0),
                    SL_ESTATE);
    CU_ASSERT_EQUAL(sl_pool_frame_release(pool, h), SL_OK);
    sl_pool_destroy(pool);
    CU_ASSERT_EQUAL(atomic_load(&count), 0);
}

static void test_cancelled_job_is_dropped(void)
{
    sl_pool *pool = make_pool(1, 64, 64, 0);
    gate g = {0};
    atomic_uint count = 0;
    sl_job_handle gh, h, zero = {0, 0};
    sl_pool_metrics m;

    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_AUDIBLE, gate_job, &g,
                                       &gh), SL_OK);
    wait_entered(&g, 1);
    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_IDLE, count_job, &count,
                                       &h), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_job_wait(pool, h, 0), SL_ETIMEDOUT);
    CU_ASSERT_EQUAL(sl_pool_job_cancel(pool, h), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_job_wait(pool, h, 0), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_job_cancel(pool, h), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_pool_job_cancel(pool, zero), SL_ENOTFOUND);
    /* A running job is only flagged. */
    CU_ASSERT_EQUAL(sl_pool_job_cancel(pool, gh), SL_OK);
    atomic_store(&g.open, 1);
    CU_ASSERT_EQUAL(sl_pool_job_wait(pool, gh, SL_POOL_FOREVER), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_shutdown(pool, SL_POOL_GRACEFUL), SL_OK);
    CU_ASSERT_EQUAL(atomic_load(&count), 0);
    CU_ASSERT_EQUAL(sl_pool_get_metrics(pool, &m), SL_OK);
    CU_ASSERT_EQUAL(m.cls[SL_CLASS_IDLE].cancelled, 1);
    CU_ASSERT_EQUAL(m.cls[SL_CLASS_IDLE].run, 0);
    sl_pool_destroy(pool);
}

/* A handle to a finished job must not reach the job that reuses its slot. */
static void test_stale_job_handle_does_not_touch_reused_slot(void)
{
    sl_pool *pool = make_pool(0, 1, 1, 0);
    atomic_uint count = 0;
    sl_job_handle a, b;

    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_WARM, count_job, &count,
                                       &a), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_job_cancel(pool, a), SL_OK); /* frees the slot */
    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_WARM, count_job, &count,
                                       &b), SL_OK);
    CU_ASSERT_EQUAL(a.slot, b.slot); /* the one slot, reused */
    CU_ASSERT_NOT_EQUAL(a.gen, b.gen);
    CU_ASSERT_EQUAL(sl_pool_job_cancel(pool, a), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_pool_job_wait(pool, a, 0), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_job_wait(pool, b, 0), SL_ETIMEDOUT);
    sl_pool_destroy(pool); /* graceful: b runs on this thread */
    CU_ASSERT_EQUAL(atomic_load(&count), 1);
}

static void test_newer_frame_supersedes_older(void)
{
    sl_pool *pool = make_pool(1, 64, 64, 0);
    publish p = {0};
    atomic_uint count = 0;
    sl_frame_group g1, g2;
    sl_frame_handle h1, h2;
    sl_frame_stats st;

    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_begin(pool, 1, SL_CLASS_AUDIBLE, 0,
                                              &g1), SL_OK);
    sl_pool_frame_submit(pool, g1, until_cancelled_job, &p, 0);
    for (int i = 0; i < 8; i++)
        sl_pool_frame_submit(pool, g1, count_job, &count, 0);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, g1, NULL, NULL, &h1),
                          SL_OK);
    while (atomic_load(&p.started) == 0)
        sleep_ns(100000);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_begin(pool, 2, SL_CLASS_AUDIBLE,
                                              SL_FRAME_CANCEL_OLDER, &g2),
                          SL_OK);
    for (int i = 0; i < 4; i++)
        sl_pool_frame_submit(pool, g2, count_job, &count, 0);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, g2, NULL, NULL, &h2),
                          SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_wait(pool, h1, 5000 * MS), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_wait(pool, h2, 5000 * MS), SL_OK);
    CU_ASSERT_EQUAL(atomic_load(&count), 4); /* only frame 2's jobs */
    CU_ASSERT_EQUAL(atomic_load(&p.published), 0);
    CU_ASSERT_EQUAL(sl_pool_frame_stats(pool, h1, &st), SL_OK);
    CU_ASSERT(st.cancelled);
    CU_ASSERT_EQUAL(st.jobs_cancelled, 9);
    CU_ASSERT_EQUAL(sl_pool_frame_stats(pool, h2, &st), SL_OK);
    CU_ASSERT(!st.cancelled);
    CU_ASSERT_EQUAL(st.jobs_run, 4);
    sl_pool_frame_release(pool, h1);
    sl_pool_frame_release(pool, h2);
    sl_pool_destroy(pool);
}

static void test_releasing_unfinished_frame_frees_its_slot(void)
{
    sl_pool *pool;
    sl_pool_config cfg;
    gate g = {0};
    atomic_uint count = 0;
    sl_frame_group fg;
    sl_frame_handle h;

    sl_pool_config_default(&cfg);
    cfg.workers = 1;
    cfg.frame_slots = 1;
    CU_ASSERT_EQUAL_FATAL(sl_pool_create(&pool, &cfg), SL_OK);
    sl_pool_try_submit(pool, SL_CLASS_AUDIBLE, gate_job, &g, NULL);
    wait_entered(&g, 1);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_begin(pool, 1, SL_CLASS_IDLE, 0, &fg),
                          SL_OK);
    sl_pool_frame_submit(pool, fg, count_job, &count, 0);
    CU_ASSERT_EQUAL(sl_pool_frame_begin(pool, 2, SL_CLASS_IDLE, 0, &fg),
                    SL_EFULL);
    CU_ASSERT_EQUAL(sl_pool_frame_finish(pool, fg, NULL, NULL, &h), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_release(pool, h), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_begin(pool, 3, SL_CLASS_IDLE, 0, &fg),
                    SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_finish(pool, fg, NULL, NULL, &h), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_release(pool, h), SL_OK);
    atomic_store(&g.open, 1);
    sl_pool_destroy(pool);
    CU_ASSERT_EQUAL(atomic_load(&count), 0);
}

/* ------------------------------------------------------------ helping */

static void test_wait_helps_with_no_free_worker(void)
{
    sl_pool *pool = make_pool(1, 64, 64, 0);
    gate g = {0};
    atomic_uint count = 0;
    sl_frame_group fg;
    sl_frame_handle h;
    sl_pool_metrics m;

    sl_pool_try_submit(pool, SL_CLASS_AUDIBLE, gate_job, &g, NULL);
    wait_entered(&g, 1); /* the only worker is busy until the gate opens */
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_begin(pool, 1, SL_CLASS_AUDIBLE, 0,
                                              &fg), SL_OK);
    for (int i = 0; i < 8; i++)
        sl_pool_frame_submit(pool, fg, count_job, &count, 0);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, fg, NULL, NULL, &h),
                          SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_wait(pool, h, 5000 * MS), SL_OK);
    CU_ASSERT_EQUAL(atomic_load(&count), 8);
    CU_ASSERT_EQUAL(atomic_load(&g.open), 0);
    CU_ASSERT_EQUAL(sl_pool_get_metrics(pool, &m), SL_OK);
    CU_ASSERT_EQUAL(m.helped, 8);
    sl_pool_frame_release(pool, h);
    atomic_store(&g.open, 1);
    sl_pool_destroy(pool);
}

static void test_wait_helps_with_no_worker_at_all(void)
{
    sl_pool *pool = make_pool(0, 64, 64, 0);
    atomic_uint count = 0;
    sl_frame_group fg;
    sl_frame_handle h;

    CU_ASSERT_EQUAL(sl_pool_workers(pool), 0);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_begin(pool, 1, SL_CLASS_IDLE, 0, &fg),
                          SL_OK);
    for (int i = 0; i < 32; i++)
        sl_pool_frame_submit(pool, fg, count_job, &count, 0);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, fg, NULL, NULL, &h),
                          SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_is_complete(pool, h), 0);
    CU_ASSERT_EQUAL(sl_pool_frame_wait(pool, h, SL_POOL_FOREVER), SL_OK);
    CU_ASSERT_EQUAL(atomic_load(&count), 32);
    sl_pool_frame_release(pool, h);
    sl_pool_destroy(pool);
}

static void test_submit_helps_when_frame_fills_queue(void)
{
    sl_pool *pool = make_pool(0, 64, 4, 0);
    atomic_uint count = 0;
    sl_frame_group fg;
    sl_frame_handle h;
    int fails = 0;

    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_begin(pool, 1, SL_CLASS_AUDIBLE, 0,
                                              &fg), SL_OK);
    for (int i = 0; i < 16; i++)
        fails += sl_pool_frame_submit(pool, fg, count_job, &count,
                                      1000 * MS) != SL_OK;
    CU_ASSERT_EQUAL(fails, 0);
    CU_ASSERT_EQUAL(atomic_load(&count), 12); /* run while submitting */
    CU_ASSERT_EQUAL(sl_pool_frame_submit(pool, fg, count_job, &count, 0),
                    SL_EFULL);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, fg, NULL, NULL, &h),
                          SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_wait(pool, h, 1000 * MS), SL_OK);
    CU_ASSERT_EQUAL(atomic_load(&count), 16);
    sl_pool_frame_release(pool, h);
    sl_pool_destroy(pool);
}

/* ------------------------------------------------------------ aging */

typedef struct flood {
    sl_pool *pool;
    atomic_int stop;
    atomic_uint ran;
} flood;

static int flood_job(sl_job *job, void *arg)
{
    flood *f = arg;
    (void)job;
    spin_ns(50000);
    atomic_fetch_add(&f->ran, 1);
    return SL_OK;
}

static void *flood_main(void *arg)
{
    flood *f = arg;
    while (!atomic_load(&f->stop))
        sl_pool_submit(f->pool, SL_CLASS_AUDIBLE, flood_job, f, 10 * MS, NULL);
    return NULL;
}

typedef struct idle_probe {
    uint64_t submitted_ns;
    _Atomic uint64_t done_ns;
} idle_probe;

static int idle_job(sl_job *job, void *arg)
{
    idle_probe *p = arg;
    (void)job;
    atomic_store(&p->done_ns, sl__now_ns());
    return SL_OK;
}

static void test_idle_is_served_within_aging_bound(void)
{
    enum { N = 20 };
    const uint64_t aging = 10 * MS, slack = 200 * MS;
    sl_pool *pool = make_pool(2, 1024, 64, aging);
    flood f = {.pool = pool};
    idle_probe probes[N];
    pthread_t t;
    uint64_t flood_end, worst = 0;
    int late = 0;

    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, flood_main, &f), 0);
    sleep_ns(20 * MS); /* the Audible queue is full from here on */
    for (int i = 0; i < N; i++) {
        probes[i].submitted_ns = sl__now_ns();
        atomic_init(&probes[i].done_ns, 0);
        CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_IDLE, idle_job,
                                           &probes[i], NULL), SL_OK);
        sleep_ns(20 * MS);
    }
    sleep_ns(300 * MS);
    flood_end = sl__now_ns();
    atomic_store(&f.stop, 1);
    pthread_join(t, NULL);
    for (int i = 0; i < N; i++) {
        uint64_t d = atomic_load(&probes[i].done_ns);
        if (d == 0 || d > flood_end) {
            late++;
            continue;
        }
        if (d - probes[i].submitted_ns > worst)
            worst = d - probes[i].submitted_ns;
    }
    CU_ASSERT_EQUAL(late, 0);
    CU_ASSERT(worst <= aging + slack);
    CU_ASSERT(worst >= aging / 2); /* Audible really was ahead of them */
    CU_ASSERT(atomic_load(&f.ran) > 1000);
    sl_pool_destroy(pool);
}

/* ------------------------------------------------------------ lifecycle */

typedef struct loader {
    sl_pool *pool;
    atomic_int stop;
    atomic_uint submitted;
    unsigned cap;
} loader;

static void *loader_main(void *arg)
{
    loader *l = arg;
    uintptr_t i = 0;

    while (!atomic_load(&l->stop) && i < l->cap) {
        if (sl_pool_submit(l->pool, (sl_service_class)(i % 3), hit_job,
                           (void *)i, 10 * MS, NULL) == SL_OK) {
            i++;
            atomic_store(&l->submitted, (unsigned)i);
        }
    }
    return NULL;
}

static int resize_from_job(sl_job *job, void *arg)
{
    sl_pool *pool = arg;
    (void)job;
    return sl_pool_resize(pool, 3);
}

static void test_resize_from_a_worker_is_refused(void)
{
    sl_pool *pool = make_pool(1, 16, 16, 0);
    sl_frame_group g;
    sl_frame_handle h;
    sl_frame_stats st;

    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_begin(pool, 1, SL_CLASS_IDLE, 0, &g),
                          SL_OK);
    sl_pool_frame_submit(pool, g, resize_from_job, pool, 0);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, g, NULL, NULL, &h),
                          SL_OK);
    while (sl_pool_frame_is_complete(pool, h) == 0) /* run by the worker */
        sleep_ns(1 * MS);
    CU_ASSERT_EQUAL(sl_pool_frame_stats(pool, h, &st), SL_OK);
    CU_ASSERT_EQUAL(st.jobs_failed, 1);
    CU_ASSERT_EQUAL(st.first_error, SL_ESTATE);
    CU_ASSERT_EQUAL(sl_pool_workers(pool), 1);
    sl_pool_frame_release(pool, h);
    sl_pool_destroy(pool);
}

static void test_resize_under_load(void)
{
    sl_pool *pool = make_pool(1, 256, 256, 0);
    loader l = {.pool = pool, .cap = 1u << 22};
    pthread_t t;
    unsigned n, bad = 0;
    int fails = 0;

    hits = calloc(l.cap, sizeof *hits);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hits);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, loader_main, &l), 0);
    for (int i = 0; i < 100; i++) {
        fails += sl_pool_resize(pool, 8) != SL_OK;
        fails += sl_pool_workers(pool) != 8;
        fails += sl_pool_resize(pool, 1) != SL_OK;
        fails += sl_pool_workers(pool) != 1;
    }
    CU_ASSERT_EQUAL(fails, 0);
    atomic_store(&l.stop, 1);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(sl_pool_shutdown(pool, SL_POOL_GRACEFUL), SL_OK);
    n = atomic_load(&l.submitted);
    CU_ASSERT(n > 0);
    for (unsigned i = 0; i < l.cap; i++)
        bad += hits[i] != (i < n);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(sl_pool_resize(pool, 2), SL_ECLOSED);
    sl_pool_destroy(pool);
    free(hits);
    hits = NULL;
}

static _Atomic uint64_t last_end_ns;

static void note_end(void)
{
    uint64_t now = sl__now_ns(), seen = atomic_load(&last_end_ns);
    while (seen < now &&
           !atomic_compare_exchange_weak(&last_end_ns, &seen, now))
        ;
}

static int slow_job(sl_job *job, void *arg)
{
    atomic_uint *count = arg;
    for (int i = 0; i < 20; i++) {
        if (sl_job_cancelled(job)) {
            note_end();
            return SL_ECANCELED;
        }
        spin_ns(10000);
    }
    atomic_fetch_add(count, 1);
    note_end();
    return SL_OK;
}

/* Holds its worker until an emergency shutdown flags it. */
static int hold_job(sl_job *job, void *arg)
{
    atomic_int *started = arg;
    atomic_fetch_add(started, 1);
    while (!sl_job_cancelled(job))
        sleep_ns(100000);
    note_end();
    return SL_ECANCELED;
}

static void shutdown_under_load(sl_pool_shutdown_mode mode)
{
    enum { N = 2000 };
    sl_pool *pool = make_pool(2, 4096, 4096, 0);
    atomic_uint count = 0;
    atomic_int held = 0;
    sl_pool_metrics m;
    uint64_t returned, cancelled = 0, run = 0, holds = 0;

    atomic_store(&last_end_ns, 0);
    if (mode == SL_POOL_EMERGENCY) {
        /* Both workers busy with jobs that end only when flagged, so every
         * one of the N queued jobs is still queued at the shutdown. */
        holds = 2;
        for (int i = 0; i < 2; i++)
            sl_pool_try_submit(pool, SL_CLASS_AUDIBLE, hold_job, &held, NULL);
        while (atomic_load(&held) < 2)
            sleep_ns(100000);
    }
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(sl_pool_try_submit(pool, i % 3, slow_job, &count,
                                           NULL), SL_OK);
    sleep_ns(10 * MS);
    CU_ASSERT_EQUAL(sl_pool_shutdown(pool, mode), SL_OK);
    returned = sl__now_ns();
    CU_ASSERT(returned >= atomic_load(&last_end_ns));
    CU_ASSERT(returned - atomic_load(&last_end_ns) < 100 * MS);
    CU_ASSERT_EQUAL(sl_pool_get_metrics(pool, &m), SL_OK);
    for (int c = 0; c < SL_CLASS_COUNT; c++) {
        cancelled += m.cls[c].cancelled;
        run += m.cls[c].run;
        CU_ASSERT_EQUAL(m.cls[c].queue_depth, 0);
    }
    CU_ASSERT_EQUAL(run + cancelled, N + holds);
    if (mode == SL_POOL_GRACEFUL) {
        CU_ASSERT_EQUAL(atomic_load(&count), N);
        CU_ASSERT_EQUAL(cancelled, 0);
    } else {
        CU_ASSERT_EQUAL(cancelled, N);
        CU_ASSERT_EQUAL(atomic_load(&count), 0);
    }
    CU_ASSERT_EQUAL(sl_pool_shutdown(pool, mode), SL_ECLOSED);
    sl_pool_destroy(pool);
}

static void test_graceful_shutdown_under_load(void)
{
    shutdown_under_load(SL_POOL_GRACEFUL);
}

static void test_emergency_shutdown_under_load(void)
{
    shutdown_under_load(SL_POOL_EMERGENCY);
}

/* ------------------------------------------------------------ faults */

/* A real invalid access: address 16 is in the never-mapped first page and,
 * unlike NULL, does not trip UBSan's null check in sanitized builds. */
static int segv_job(sl_job *job, void *arg)
{
    volatile uintptr_t addr = 16; /* opaque to the compiler's bounds checks */
    volatile int *p = (volatile int *)addr;
    (void)job;
    (void)arg;
    return *p;
}

/* raise() delivers the signal to this thread before it returns, like a
 * trap; an integer division by zero would be UB that UBSan aborts on. */
static int fpe_job(sl_job *job, void *arg)
{
    (void)job;
    (void)arg;
    return raise(SIGFPE);
}

static void test_faulting_job_is_reported_and_worker_survives(void)
{
    sl_pool *pool = make_pool(1, 64, 64, 0);
    atomic_uint count = 0;
    int owner = 0;
    sl_frame_group fg;
    sl_frame_handle h;
    sl_frame_stats st;
    sl_job_handle jh;
    sl_pool_metrics m;

    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_begin(pool, 5, SL_CLASS_AUDIBLE, 0,
                                              &fg), SL_OK);
    sl_pool_frame_submit(pool, fg, count_job, &count, 0);
    sl_pool_frame_submit(pool, fg, segv_job, &owner, 0);
    sl_pool_frame_submit(pool, fg, count_job, &count, 0);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, fg, NULL, NULL, &h),
                          SL_OK);
    /* Let the worker run them (not this thread), then join. */
    while (sl_pool_frame_is_complete(pool, h) == 0)
        sleep_ns(1 * MS);
    CU_ASSERT_EQUAL(sl_pool_frame_stats(pool, h, &st), SL_OK);
    CU_ASSERT_EQUAL(st.jobs_faulted, 1);
    CU_ASSERT_EQUAL(st.fault_signal, SIGSEGV);
    CU_ASSERT_EQUAL(st.fault_job, 1);
    CU_ASSERT_PTR_EQUAL(st.fault_arg, &owner);
    CU_ASSERT_EQUAL(st.jobs_run, 2);
    sl_pool_frame_release(pool, h);
    /* The worker is still there. */
    CU_ASSERT_EQUAL(sl_pool_try_submit(pool, SL_CLASS_IDLE, count_job, &count,
                                       &jh), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_job_wait(pool, jh, 5000 * MS), SL_OK);
    CU_ASSERT_EQUAL(atomic_load(&count), 3);
    CU_ASSERT_EQUAL(sl_pool_workers(pool), 1);
    /* A fault in a job a waiter helps with is trapped on that thread. */
    CU_ASSERT_EQUAL(sl_pool_resize(pool, 0), SL_OK);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_begin(pool, 6, SL_CLASS_WARM, 0, &fg),
                          SL_OK);
    sl_pool_frame_submit(pool, fg, fpe_job, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(sl_pool_frame_finish(pool, fg, NULL, NULL, &h),
                          SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_wait(pool, h, 5000 * MS), SL_OK);
    CU_ASSERT_EQUAL(sl_pool_frame_stats(pool, h, &st), SL_OK);
    CU_ASSERT_EQUAL(st.jobs_faulted, 1);
    CU_ASSERT_EQUAL(st.fault_signal, SIGFPE);
    sl_pool_frame_release(pool, h);
    CU_ASSERT_EQUAL(sl_pool_get_metrics(pool, &m), SL_OK);
    CU_ASSERT_EQUAL(m.cls[SL_CLASS_AUDIBLE].faulted, 1);
    CU_ASSERT_EQUAL(m.cls[SL_CLASS_WARM].faulted, 1);
    sl_pool_destroy(pool);
}

static CU_TestInfo tests[] = {
    {"create rejects a bad config", test_create_rejects_bad_config},
    {"1 million jobs run exactly once", test_million_jobs_run_exactly_once},
    {"frames of 1 to 64 jobs", test_frames_of_1_to_64_jobs},
    {"an empty frame completes at finish",
     test_empty_frame_completes_at_finish},
    {"try-submit on a full queue returns SL_EFULL at once",
     test_try_submit_full_returns_at_once},
    {"job slots bound admission", test_job_slots_bound_admission},
    {"a cancelled frame runs none of its unstarted jobs",
     test_cancelled_frame_runs_no_unstarted_job},
    {"a cancelled job is dropped", test_cancelled_job_is_dropped},
    {"a stale job handle does not touch a reused slot",
     test_stale_job_handle_does_not_touch_reused_slot},
    {"a newer frame supersedes older ones",
     test_newer_frame_supersedes_older},
    {"releasing an unfinished frame frees its slot",
     test_releasing_unfinished_frame_frees_its_slot},
    {"a wait helps when no worker is free",
     test_wait_helps_with_no_free_worker},
    {"a wait helps when there is no worker",
     test_wait_helps_with_no_worker_at_all},
    {"a frame submit helps when its frame fills the queue",
     test_submit_helps_when_frame_fills_queue},
    {"Idle jobs are served within the aging bound under an Audible flood",
     test_idle_is_served_within_aging_bound},
    {"resizing 1-8-1 under load 100 times", test_resize_under_load},
    {"resizing from a worker is refused",
     test_resize_from_a_worker_is_refused},
    {"graceful shutdown under load", test_graceful_shutdown_under_load},
    {"emergency shutdown under load", test_emergency_shutdown_under_load},
    {"a faulting job is reported and the worker survives",
     test_faulting_job_is_reported_and_worker_survives},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_pool = {
    .info = {.pName = "pool", .pTests = tests},
};
