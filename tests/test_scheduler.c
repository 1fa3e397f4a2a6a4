/*
 * test_scheduler.c: the scheduler thread: parking and CPU use, class
 * order, outcome folding, isolation (errors, faults, slow and overrunning
 * ticks), wakes (latency and the lost-wake window), the command queue
 * under churn, node lifecycles on every path, shutdown and destroy.
 *
 * Timing assertions leave wide margins for a loaded two-core machine but
 * still fail on the bugs they target (a busy spin, a lost wake, a park
 * that ignores wakes). CPU is measured on the scheduler thread's own CPU
 * clock, which other processes' load does not inflate.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sluice/error.h>
#include <sluice/node.h>
#include <sluice/scheduler.h>
#include "clock.h"
#include "scheduler_priv.h"
#include "sched_fixture.h"
#include "suites.h"

/* ---- API basics -------------------------------------------------------- */

static void test_create_and_register_reject_bad_arguments(void)
{
    sl_scheduler_config c;
    sl_scheduler *s = (sl_scheduler *)1;
    tnode t;
    sl_node bare = {0};

    sl_scheduler_config_default(&c);
    CU_ASSERT_EQUAL(c.waiting_park_ns, 10 * MS);
    CU_ASSERT_EQUAL(c.idle_park_ns, 100 * MS);
    CU_ASSERT_EQUAL(sl_scheduler_create(NULL, &c), SL_EINVAL);
    c.progress_burst = 0;
    CU_ASSERT_EQUAL(sl_scheduler_create(&s, &c), SL_EINVAL);
    CU_ASSERT_PTR_NULL(s);
    sl_scheduler_destroy(NULL);

    s = sf_start(NULL, NULL);
    CU_ASSERT_EQUAL(sl_scheduler_register(s, NULL, NULL), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_scheduler_register(s, &bare, NULL), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_scheduler_unregister(s, 0), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_scheduler_unregister(s, 12345), SL_OK); /* ignored */
    CU_ASSERT_EQUAL(sl_scheduler_shutdown(s), SL_OK);
    CU_ASSERT_EQUAL(sl_scheduler_shutdown(s), SL_OK); /* again: nothing */
    sf_tinit(&t, M_WAITING, SL_CLASS_AUDIBLE);
    CU_ASSERT_EQUAL(sl_scheduler_register(s, &t.base, NULL), SL_ECLOSED);
    CU_ASSERT_EQUAL(sl_scheduler_unregister(s, 1), SL_ECLOSED);
    CU_ASSERT(sf_untouched(&t)); /* a refused node stays the caller's */
    sl_scheduler_destroy(s);

    CU_ASSERT_STRING_EQUAL(sl_scheduler_event_name(SL_SCHED_NODE_FAULTED),
                           "NODE_FAULTED");
    CU_ASSERT_STRING_EQUAL(sl_node_outcome_name(SL_NODE_BACKPRESSURED),
                           "BACKPRESSURED");
    CU_ASSERT_STRING_EQUAL(sl_node_outcome_name(SL_EIO), "SL_EIO");
}

static void test_node_class_is_clamped_and_settable(void)
{
    tnode t;

    sf_tinit(&t, M_WAITING, (sl_service_class)7);
    CU_ASSERT_EQUAL(sl_node_get_class(&t.base), SL_CLASS_IDLE);
    sl_node_set_class(&t.base, SL_CLASS_AUDIBLE);
    CU_ASSERT_EQUAL(sl_node_get_class(&t.base), SL_CLASS_AUDIBLE);
    sl_node_set_class(&t.base, (sl_service_class)-1);
    CU_ASSERT_EQUAL(sl_node_get_class(&t.base), SL_CLASS_IDLE);
}

static void test_shutdown_from_the_scheduler_thread_is_refused(void)
{
    tnode t;
    sl_scheduler *s = sf_start(NULL, NULL);

    sf_tinit(&t, M_SHUTDOWN_SELF, SL_CLASS_AUDIBLE);
    t.sched = s;
    atomic_store(&t.self_shutdown_result, 1);
    sf_reg(s, &t);
    CU_ASSERT(WAIT_FOR(atomic_load(&t.destroys) == 1, 2000));
    CU_ASSERT_EQUAL(atomic_load(&t.self_shutdown_result), SL_ESTATE);
    sl_scheduler_destroy(s);
}

static void test_destroy_from_the_scheduler_thread_stops_it(void)
{
    tnode self, other;
    sl_scheduler *s = sf_start(NULL, NULL);

    sf_tinit(&self, M_DESTROY_SELF, SL_CLASS_AUDIBLE);
    self.sched = s;
    sf_tinit(&other, M_WAITING, SL_CLASS_IDLE);
    sf_reg(s, &other);
    CU_ASSERT(WAIT_FOR(atomic_load(&other.ticks) > 0, 1000));
    sf_reg(s, &self);
    atomic_store(&self.release, true); /* our last use of `s` is over */
    /* The thread retires both nodes and frees the scheduler by itself. */
    CU_ASSERT(WAIT_FOR(sf_once(&self) && sf_once(&other), 2000));
    sf_sleep_ns(20 * MS); /* let the thread exit before the nodes go */
}

/* ---- parking: no busy spin --------------------------------------------- */

/* Returns the scheduler thread's CPU use over `ns` of wall time, in
 * percent of one core. */
static double cpu_percent(sl_scheduler *s, uint64_t ns)
{
    clockid_t cid;
    struct timespec a, b;
    uint64_t w0, w1;

    CU_ASSERT_EQUAL_FATAL(pthread_getcpuclockid(sl__scheduler_thread(s), &cid),
                          0);
    clock_gettime(cid, &a);
    w0 = sl__now_ns();
    sf_sleep_ns(ns);
    clock_gettime(cid, &b);
    w1 = sl__now_ns();
    double used = (double)(b.tv_sec - a.tv_sec) * 1e9 +
                  (double)(b.tv_nsec - a.tv_nsec);
    return 100.0 * used / (double)(w1 - w0);
}

static void check_cpu(mode m, const char *what, sl_scheduler_event_type ev)
{
    watch w;
    sl_scheduler *s = sf_start(&w, NULL);
    tnode t;
    sl_scheduler_stats st;

    sf_tinit(&t, m, SL_CLASS_AUDIBLE);
    if (m != M_RETURN) /* M_RETURN stands for "no node at all" */
        sf_reg(s, &t);
    sf_sleep_ns(50 * MS);
    double pct = cpu_percent(s, 1000 * MS);
    sl_scheduler_get_stats(s, &st);
    printf("\n    [%s: scheduler thread %.3f%% of a core, %llu passes/s] ",
           what, pct, (unsigned long long)st.passes);
    CU_ASSERT(pct < 2.0);
    CU_ASSERT(sf_seen(&w, ev) > 0);
    /* It does park: roughly one pass per park period, not thousands. */
    CU_ASSERT(st.passes < (m == M_RETURN ? 30u : 300u));
    sl_scheduler_destroy(s);
    if (m != M_RETURN)
        CU_ASSERT(sf_once(&t));
}

static void test_waiting_node_does_not_spin(void)
{
    check_cpu(M_WAITING, "WAITING", SL_SCHED_WAITING);
}

static void test_backpressured_node_does_not_spin(void)
{
    check_cpu(M_BACKPRESSURED, "BACKPRESSURED", SL_SCHED_BACKPRESSURED);
}

static void test_idle_scheduler_does_not_spin(void)
{
    check_cpu(M_RETURN, "idle", SL_SCHED_IDLE);
}

/* ---- pass structure ---------------------------------------------------- */

/* Finds the tags logged in pass `pass`, in order; returns how many. */
static int tags_of_pass(uint64_t pass, char *out, int max)
{
    int n = atomic_load_explicit(&sf_log_len, memory_order_acquire), k = 0;
    for (int i = 0; i < n && k < max; i++)
        if (sf_log[i].pass == pass)
            out[k++] = sf_log[i].tag;
    return k;
}

/* The first pass at or after `from` in which all three nodes ticked. */
static uint64_t full_pass_from(uint64_t from, char tags[4])
{
    int n = atomic_load_explicit(&sf_log_len, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        if (sf_log[i].pass < from)
            continue;
        memset(tags, 0, 4);
        if (tags_of_pass(sf_log[i].pass, tags, 3) == 3)
            return sf_log[i].pass;
    }
    return 0;
}

static void test_classes_run_in_order_and_reorder_live(void)
{
    watch w;
    sl_scheduler *s = sf_start(&w, NULL);
    tnode idle, warm, audible;
    char tags[4] = {0};
    uint64_t p;
    sl_scheduler_stats st;

    atomic_store(&sf_log_len, 0);
    /* Registered least urgent first: the order must come from the class. */
    sf_tinit(&idle, M_LOG, SL_CLASS_IDLE);
    idle.tag = 'I';
    sf_tinit(&warm, M_LOG, SL_CLASS_WARM);
    warm.tag = 'W';
    sf_tinit(&audible, M_LOG, SL_CLASS_AUDIBLE);
    audible.tag = 'A';
    sf_reg(s, &idle);
    sf_reg(s, &warm);
    sf_reg(s, &audible);
    CU_ASSERT_FATAL(WAIT_FOR((p = full_pass_from(1, tags)) != 0, 2000));
    CU_ASSERT_STRING_EQUAL(tags, "AWI");

    /* Swap Audible and Idle without any command; the next full pass that
     * started after the change must show the new order. */
    sl_node_set_class(&audible.base, SL_CLASS_IDLE);
    sl_node_set_class(&idle.base, SL_CLASS_AUDIBLE);
    sl_scheduler_get_stats(s, &st);
    sl_scheduler_wake(s);
    CU_ASSERT_FATAL(
        WAIT_FOR((p = full_pass_from(st.passes + 1, tags)) != 0, 2000));
    CU_ASSERT_STRING_EQUAL(tags, "IWA");
    sl_scheduler_destroy(s);
    CU_ASSERT(sf_once(&idle) && sf_once(&warm) && sf_once(&audible));
}

/* Per-pass tick counting for the burst check. */
typedef struct burst_ctx {
    tnode *node;
    int at_start, max_in_pass, min_in_pass;
} burst_ctx;

static void burst_extra(const sl_scheduler_event *ev, void *ctx)
{
    burst_ctx *b = ctx;
    int ticks = atomic_load(&b->node->ticks);

    if (ev->type == SL_SCHED_PASS_START) {
        b->at_start = ticks;
    } else if (ev->type == SL_SCHED_PASS_END && ticks > b->at_start &&
               ticks <= b->node->limit) {
        int n = ticks - b->at_start;
        if (n > b->max_in_pass)
            b->max_in_pass = n;
        if (b->min_in_pass == 0 || n < b->min_in_pass)
            b->min_in_pass = n;
    }
}

static void test_progress_is_ticked_in_a_bounded_burst(void)
{
    watch w;
    tnode t;
    burst_ctx b = {.node = &t};
    sl_scheduler_config c;
    sl_scheduler *s;

    sf_tinit(&t, M_PROGRESS, SL_CLASS_AUDIBLE);
    t.limit = 50;
    sl_scheduler_config_default(&c);
    c.progress_burst = 5;
    s = sf_start_with(&w, &c, burst_extra, &b);
    sf_reg(s, &t);
    CU_ASSERT(WAIT_FOR(atomic_load(&t.destroys) == 1, 2000));
    sl_scheduler_destroy(s);
    CU_ASSERT_EQUAL(atomic_load(&t.ticks), 51); /* the 51st said DONE */
    CU_ASSERT_EQUAL(b.max_in_pass, 5);
    CU_ASSERT(b.min_in_pass >= 1);
    CU_ASSERT(sf_once(&t));
}

/* Counts pass outcomes once every node has ticked at least once. */
typedef struct fold_ctx {
    tnode *nodes;
    int n;
    bool all_in;
    int count[N_EVENTS];
} fold_ctx;

static void fold_extra(const sl_scheduler_event *ev, void *ctx)
{
    fold_ctx *f = ctx;

    if (ev->type == SL_SCHED_PASS_START) {
        f->all_in = true;
        for (int i = 0; i < f->n; i++)
            if (atomic_load(&f->nodes[i].ticks) == 0)
                f->all_in = false;
    } else if (f->all_in && ev->type >= SL_SCHED_PROGRESS &&
               ev->type <= SL_SCHED_IDLE) {
        f->count[ev->type]++;
    }
}

/* Registers nodes of the given modes and checks which outcome the passes
 * fold to once they all run. */
static void check_fold(const mode *modes, int n, sl_scheduler_event_type want)
{
    watch w;
    sl_scheduler_config c = sf_long_parks(5 * MS);
    tnode t[3];
    fold_ctx f = {.nodes = t, .n = n};

    for (int i = 0; i < n; i++)
        sf_tinit(&t[i], modes[i], SL_CLASS_WARM);
    sl_scheduler *s = sf_start_with(&w, &c, fold_extra, &f);
    for (int i = 0; i < n; i++)
        sf_reg(s, &t[i]);
    CU_ASSERT(WAIT_FOR(sf_seen(&w, want) >= 5, 2000));
    sf_sleep_ns(20 * MS);
    sl_scheduler_destroy(s);
    CU_ASSERT(f.count[want] >= 3);
    for (int e = SL_SCHED_PROGRESS; e <= SL_SCHED_IDLE; e++)
        if (e != (int)want)
            CU_ASSERT_EQUAL(f.count[e], 0);
    for (int i = 0; i < n; i++)
        CU_ASSERT(sf_once(&t[i]));
}

static void test_outcomes_fold_by_precedence(void)
{
    static const mode wpb[] = {M_BACKPRESSURED, M_PENDING, M_WAITING};
    static const mode pb[] = {M_BACKPRESSURED, M_PENDING};
    static const mode b[] = {M_BACKPRESSURED};

    check_fold(wpb, 3, SL_SCHED_WAITING);
    check_fold(pb, 2, SL_SCHED_PENDING);
    check_fold(b, 1, SL_SCHED_BACKPRESSURED);
}

/* ---- isolation --------------------------------------------------------- */

static void test_failing_and_faulting_nodes_are_quarantined(void)
{
    watch w;
    sl_scheduler *s = sf_start(&w, NULL);
    tnode failing, faulting, healthy;
    sl_scheduler_stats st;
    bool faults = sf_real_faults();

    sf_map_readonly_page();
    sf_tinit(&failing, M_FAIL_AT, SL_CLASS_AUDIBLE);
    failing.at = 3;
    sf_tinit(&faulting, M_SEGV_AT, SL_CLASS_AUDIBLE);
    faulting.at = 3;
    sf_tinit(&healthy, M_PROGRESS, SL_CLASS_AUDIBLE);
    healthy.limit = 500;
    CU_ASSERT(!sl_scheduler_is_tainted(s));
    sl_node_id fid = sf_reg(s, &failing);
    sl_node_id sid = faults ? sf_reg(s, &faulting) : 0;
    sf_reg(s, &healthy);

    CU_ASSERT(WAIT_FOR(atomic_load(&healthy.destroys) == 1, 3000));
    CU_ASSERT_EQUAL(atomic_load(&healthy.ticks), 501); /* ran to DONE */
    CU_ASSERT_EQUAL(atomic_load(&failing.ticks), 3);
    CU_ASSERT_EQUAL(atomic_load(&w.failed_node), fid);
    CU_ASSERT_EQUAL(atomic_load(&w.failed_error), SL_EIO);
    sl_scheduler_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.nodes, 0);
    if (faults) {
        CU_ASSERT_EQUAL(atomic_load(&faulting.ticks), 3);
        CU_ASSERT_EQUAL(atomic_load(&w.faulted_node), sid);
        CU_ASSERT_EQUAL(atomic_load(&w.faulted_signo), SIGSEGV);
        CU_ASSERT(sl_scheduler_is_tainted(s));
        CU_ASSERT(st.tainted);
        CU_ASSERT_EQUAL(st.faults, 1);
        CU_ASSERT_EQUAL(st.quarantined, 2);
    }
    sl_scheduler_destroy(s);
    CU_ASSERT(sf_once(&failing) && sf_once(&healthy));
    CU_ASSERT(!faults || sf_once(&faulting));
}

/* The neighbour must tick in every pass the sleeper ticks in. */
typedef struct neighbour_ctx {
    tnode *sleeper, *neighbour;
    int sleeper_at, neighbour_at;
    int passes_with_sleeper, starved, most_sleeper_ticks;
} neighbour_ctx;

static void neighbour_extra(const sl_scheduler_event *ev, void *ctx)
{
    neighbour_ctx *n = ctx;
    int s = atomic_load(&n->sleeper->ticks);
    int b = atomic_load(&n->neighbour->ticks);

    if (ev->type == SL_SCHED_PASS_START) {
        n->sleeper_at = s;
        n->neighbour_at = b;
    } else if (ev->type == SL_SCHED_PASS_END && s > n->sleeper_at &&
               n->neighbour_at > 0) {
        /* Only once the neighbour is in: the two registrations may land
         * in different passes. */
        n->passes_with_sleeper++;
        if (b == n->neighbour_at)
            n->starved++;
        if (s - n->sleeper_at > n->most_sleeper_ticks)
            n->most_sleeper_ticks = s - n->sleeper_at;
    }
}

static void test_slow_node_does_not_starve_its_neighbour(void)
{
    watch w;
    sl_scheduler_config c;
    sl_scheduler *s;
    tnode sleeper, neighbour;
    neighbour_ctx n = {.sleeper = &sleeper, .neighbour = &neighbour};

    sl_scheduler_config_default(&c);
    c.overrun_limit = 0; /* this test is about sharing, not quarantine */
    sf_tinit(&sleeper, M_SLEEP, SL_CLASS_AUDIBLE);
    sleeper.sleep_ns = 20 * MS;
    sleeper.ret = SL_NODE_PROGRESS; /* would burst if bursts ignored time */
    sf_tinit(&neighbour, M_PROGRESS, SL_CLASS_AUDIBLE);
    s = sf_start_with(&w, &c, neighbour_extra, &n);
    sf_reg(s, &sleeper);
    sf_reg(s, &neighbour);
    sf_sleep_ns(400 * MS);
    CU_ASSERT_EQUAL(sl_scheduler_shutdown(s), SL_OK);
    printf("\n    [%d passes with the 20 ms sleeper, %d starved] ",
           n.passes_with_sleeper, n.starved);
    CU_ASSERT(n.passes_with_sleeper >= 5);
    CU_ASSERT_EQUAL(n.starved, 0);
    /* One sleeper tick per pass: its progress does not buy a burst. */
    CU_ASSERT_EQUAL(n.most_sleeper_ticks, 1);
    CU_ASSERT(sf_seen(&w, SL_SCHED_SLOW_TICK) >= 5);
    CU_ASSERT(atomic_load(&w.slow_min_ns) >= 20 * MS);
    sl_scheduler_destroy(s);
    CU_ASSERT(sf_once(&sleeper) && sf_once(&neighbour));
}

static void test_budget_overruns_in_a_row_quarantine(void)
{
    watch w;
    sl_scheduler_config c;
    sl_scheduler *s;
    tnode slow, healthy;

    sl_scheduler_config_default(&c);
    c.tick_budget_ns = 2 * MS;
    c.overrun_limit = 3;
    s = sf_start(&w, &c);
    sf_tinit(&slow, M_SLEEP, SL_CLASS_AUDIBLE);
    slow.sleep_ns = 6 * MS;
    slow.ret = SL_NODE_WAITING;
    sf_tinit(&healthy, M_WAITING, SL_CLASS_AUDIBLE);
    sl_node_id id = sf_reg(s, &slow);
    sf_reg(s, &healthy);
    CU_ASSERT(WAIT_FOR(atomic_load(&slow.destroys) == 1, 2000));
    CU_ASSERT_EQUAL(atomic_load(&slow.ticks), 3);
    CU_ASSERT_EQUAL(atomic_load(&w.failed_node), id);
    CU_ASSERT_EQUAL(atomic_load(&w.failed_error), SL_ETIMEDOUT);
    CU_ASSERT_EQUAL(atomic_load(&healthy.destroys), 0); /* still running */
    sl_scheduler_destroy(s);
    CU_ASSERT(sf_once(&slow) && sf_once(&healthy));
}

static void fault_in_observer(const sl_scheduler_event *ev, void *user)
{
    if (ev->type == SL_SCHED_PASS_END)
        *(volatile int *)user = 1; /* the page is read-only */
}

/* The trap covers node callbacks only: a fault in the observer (or
 * anywhere else on the scheduler thread) must still kill the process. */
static void test_a_fault_outside_node_code_is_not_swallowed(void)
{
    if (sf_under_valgrind()) {
        /* The child's crash report would read as errors in the log. */
        printf("\n    [valgrind: skipped] ");
        return;
    }
    void *page = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CU_ASSERT_FATAL(page != MAP_FAILED);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        sl_scheduler_config c;
        sl_scheduler *s;
        int devnull = open("/dev/null", O_WRONLY);
        setrlimit(RLIMIT_CORE, &no_core); /* the crash is expected */
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO); /* and so is a sanitizer's report */
        sl_scheduler_config_default(&c);
        c.observer = fault_in_observer;
        c.observer_user = page;
        if (sl_scheduler_create(&s, &c) != SL_OK)
            _exit(2);
        sf_sleep_ns(2000 * MS);
        _exit(0); /* reached only if the fault was swallowed */
    }
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    /* The sanitizer's own handler reports the SEGV and exits non-zero. */
    CU_ASSERT(WIFSIGNALED(status) ||
              (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
               WEXITSTATUS(status) != 2));
#else
    CU_ASSERT(WIFSIGNALED(status));
    if (WIFSIGNALED(status))
        CU_ASSERT_EQUAL(WTERMSIG(status), SIGSEGV);
#endif
    munmap(page, (size_t)sysconf(_SC_PAGESIZE));
}

/* ---- wakes ------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_wake_unparks_an_idle_scheduler_at_once(void)
{
    watch w;
    sl_scheduler *s = sf_start(&w, NULL); /* idle: 100 ms parks */
    uint64_t lat[100];
    sl_scheduler_stats st;

    uint64_t parks = 0; /* the park the previous wake ended */

    for (int i = 0; i < 100; i++) {
        /* Wait for the next park, then a little more to be deep in it. */
        CU_ASSERT_FATAL(WAIT_FOR(
            (sl_scheduler_get_stats(s, &st), st.parks > parks), 500));
        parks = st.parks;
        sf_sleep_ns((uint64_t)(1 + i % 3) * MS);
        uint64_t before = sf_seen(&w, SL_SCHED_PASS_START);
        uint64_t t0 = sl__now_ns();
        if (i % 2)
            sl_scheduler_wake(s);
        else
            sl_scheduler_wake_rt(s);
        CU_ASSERT_FATAL(WAIT_FOR(sf_seen(&w, SL_SCHED_PASS_START) > before, 500));
        lat[i] = atomic_load(&w.pass_start_ns) - t0;
    }
    qsort(lat, 100, sizeof lat[0], cmp_u64);
    printf("\n    [wake latency: median %.3f ms, p90 %.3f ms, max %.3f ms] ",
           (double)lat[50] / 1e6, (double)lat[90] / 1e6, (double)lat[99] / 1e6);
    CU_ASSERT(lat[50] < 5 * MS);
    sl_scheduler_get_stats(s, &st);
    CU_ASSERT(st.wakeups >= 90); /* the parks ended by wakes, not timeouts */
    sl_scheduler_destroy(s);
}

/* The park hook fires a wake exactly between the scheduler's last check
 * and its sleep, once per arming. */
typedef struct window_ctx {
    sl_scheduler *s;
    tnode *node;
    atomic_bool armed;
    atomic_int fired;
} window_ctx;

static void fire_in_window(void *arg)
{
    window_ctx *c = arg;
    if (atomic_exchange(&c->armed, false)) {
        atomic_fetch_add(&c->node->pending, 1);
        sl_scheduler_wake_rt(c->s);
        atomic_fetch_add(&c->fired, 1);
    }
}

static void test_a_wake_in_the_park_window_is_not_lost(void)
{
    sl_scheduler_config c = sf_long_parks(10000 * MS); /* a lost wake = 10 s */
    sl_scheduler *s = sf_start(NULL, &c);
    tnode t;
    window_ctx ctx = {.s = s, .node = &t};
    sl__park_hook hook = {fire_in_window, &ctx};

    sf_tinit(&t, M_WORK, SL_CLASS_AUDIBLE);
    sf_reg(s, &t);
    sl__scheduler_set_park_hook(s, &hook);
    for (int i = 1; i <= 20; i++) {
        atomic_store(&ctx.armed, true);
        sl_scheduler_wake(s); /* one pass, then the armed park */
        CU_ASSERT_FATAL(WAIT_FOR(atomic_load(&t.handled) == i, 1000));
    }
    CU_ASSERT_EQUAL(atomic_load(&ctx.fired), 20);
    sl__scheduler_set_park_hook(s, NULL);
    sl_scheduler_destroy(s);
    CU_ASSERT(sf_once(&t));
}

static void test_racing_wakes_are_never_lost(void)
{
    sl_scheduler_config c = sf_long_parks(10000 * MS);
    sl_scheduler *s = sf_start(NULL, &c);
    tnode t, slow;
    uint32_t rng = 12345;
    int lost = 0;
    sl_scheduler_stats st;

    sf_tinit(&t, M_WORK, SL_CLASS_AUDIBLE);
    /* A neighbour that makes each pass last ~0.1 ms, so wakes land in
     * the pass, at its end and in the park. */
    sf_tinit(&slow, M_SLEEP, SL_CLASS_IDLE);
    slow.sleep_ns = 20000;
    slow.ret = SL_NODE_WAITING;
    sf_reg(s, &t);
    sf_reg(s, &slow);
    for (int i = 1; i <= 3000 && !lost; i++) {
        /* Land the wake at a random point of the scheduler's pass-and-park
         * that follows the previous item. */
        rng = rng * 1103515245u + 12345u;
        uint64_t end = sl__now_ns() + (rng >> 16) % 300000;
        while (sl__now_ns() < end)
            ;
        atomic_fetch_add(&t.pending, 1);
        sl_scheduler_wake_rt(s);
        if (!WAIT_FOR(atomic_load(&t.handled) == i, 1000))
            lost = i;
    }
    CU_ASSERT_EQUAL(lost, 0);
    sl_scheduler_get_stats(s, &st);
    printf("\n    [3000 wakes: %llu parks entered, %llu ended by a wake] ",
           (unsigned long long)st.parks, (unsigned long long)st.wakeups);
    /* Both phases were hit: wakes that found the scheduler parked, and
     * wakes that came during a pass (the park then never started). */
    CU_ASSERT(st.wakeups >= 100);
    CU_ASSERT(st.parks <= 2900);
    sl_scheduler_destroy(s);
    CU_ASSERT(sf_once(&t) && sf_once(&slow));
}

/* ---- the command queue under churn ------------------------------------- */

static void test_register_unregister_churn_while_ticking(void)
{
    sl_scheduler *s = sf_start(NULL, NULL);
    tnode ticker;
    sl_scheduler_stats st;
    enum { CYCLES = 10000 };

    atomic_store(&sf_heap_destroyed, 0);
    atomic_store(&sf_heap_misordered, 0);
    sf_tinit(&ticker, M_PROGRESS, SL_CLASS_AUDIBLE);
    sf_reg(s, &ticker);
    for (int i = 0; i < CYCLES; i++) {
        tnode *t = sf_tnew(i % 3 ? M_PROGRESS : M_WAITING);
        sl_node_id id = 0;
        CU_ASSERT_EQUAL_FATAL(sl_scheduler_register(s, &t->base, &id), SL_OK);
        /* Every 50th node is ticked before it goes; the rest may be
         * unregistered in the same drain that registers them. */
        if (i % 50 == 0)
            CU_ASSERT(WAIT_FOR(atomic_load(&t->ticks) > 0, 2000));
        CU_ASSERT_EQUAL(sl_scheduler_unregister(s, id), SL_OK);
    }
    CU_ASSERT(WAIT_FOR(atomic_load(&sf_heap_destroyed) == CYCLES, 30000));
    CU_ASSERT_EQUAL(atomic_load(&sf_heap_misordered), 0);
    sl_scheduler_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.nodes, 1);
    CU_ASSERT(atomic_load(&ticker.ticks) > 0);
    sl_scheduler_destroy(s);
    CU_ASSERT_EQUAL(atomic_load(&sf_heap_destroyed), CYCLES);
    CU_ASSERT(sf_once(&ticker));
}

/* ---- lifecycles -------------------------------------------------------- */

static void test_lifecycle_runs_exactly_once_on_every_path(void)
{
    watch w;
    sl_scheduler_config c;
    sl_scheduler *s;
    tnode unreg, done, failed, faulted, overran, bad, at_shutdown, late;
    tnode *heap_at_shutdown = sf_tnew(M_PENDING);
    sl_scheduler_stats st;

    sf_map_readonly_page();
    sl_scheduler_config_default(&c);
    c.tick_budget_ns = 3 * MS;
    c.overrun_limit = 2;
    s = sf_start(&w, &c);
    atomic_store(&sf_heap_destroyed, 0);
    sf_tinit(&unreg, M_WAITING, SL_CLASS_WARM);
    sf_tinit(&done, M_PROGRESS, SL_CLASS_WARM);
    done.limit = 3;
    sf_tinit(&failed, M_FAIL_AT, SL_CLASS_AUDIBLE);
    failed.at = 2;
    bool faults = sf_real_faults();
    sf_tinit(&faulted, faults ? M_SEGV_AT : M_FAIL_AT, SL_CLASS_IDLE);
    faulted.at = 2;
    sf_tinit(&overran, M_SLEEP, SL_CLASS_WARM);
    overran.sleep_ns = 10 * MS;
    overran.ret = SL_NODE_WAITING;
    sf_tinit(&bad, M_RETURN, SL_CLASS_WARM); /* returns 0: not an outcome */
    sf_tinit(&at_shutdown, M_WAITING, SL_CLASS_IDLE);
    tnode *all[] = {&unreg, &done, &failed, &faulted, &overran, &bad,
                    &at_shutdown};

    sl_node_id uid = sf_reg(s, &unreg);
    for (int i = 1; i < 7; i++)
        sf_reg(s, all[i]);
    sf_reg(s, heap_at_shutdown);
    CU_ASSERT(WAIT_FOR(atomic_load(&unreg.ticks) > 0, 1000));
    CU_ASSERT_EQUAL(sl_scheduler_unregister(s, uid), SL_OK);
    CU_ASSERT(WAIT_FOR(sf_once(&unreg) && sf_once(&done) && sf_once(&failed) &&
                           sf_once(&faulted) && sf_once(&overran) && sf_once(&bad),
                       3000));
    CU_ASSERT_EQUAL(atomic_load(&bad.ticks), 1);
    /* failed, overran, bad (and faulted when it cannot fault) */
    CU_ASSERT(sf_seen(&w, SL_SCHED_NODE_FAILED) == (faults ? 3u : 4u));
    CU_ASSERT(sf_seen(&w, SL_SCHED_NODE_FAULTED) == (faults ? 1u : 0u));
    sl_scheduler_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.quarantined, 4); /* failed, faulted, overran, bad */
    CU_ASSERT_EQUAL(st.ticks_failed, 3); /* failed, faulted, bad */
    CU_ASSERT_EQUAL(st.faults, faults ? 1u : 0u);
    /* Still registered at shutdown, or possibly still queued. */
    sf_tinit(&late, M_WAITING, SL_CLASS_AUDIBLE);
    sf_reg(s, &late);
    CU_ASSERT_EQUAL(sl_scheduler_shutdown(s), SL_OK);
    CU_ASSERT(sf_once(&at_shutdown));
    CU_ASSERT(sf_once(&late));
    CU_ASSERT_EQUAL(atomic_load(&sf_heap_destroyed), 1);
    /* Nothing ran twice after all that. */
    for (int i = 0; i < 7; i++)
        CU_ASSERT(sf_once(all[i]));
    sl_scheduler_destroy(s);
}

static void test_shutdown_joins_quickly_while_nodes_wait(void)
{
    sl_scheduler_config c = sf_long_parks(5000 * MS);
    sl_scheduler *s = sf_start(NULL, &c);
    tnode t[4];
    sl_scheduler_stats st;

    for (int i = 0; i < 4; i++) {
        sf_tinit(&t[i], i % 2 ? M_WAITING : M_PENDING, SL_CLASS_AUDIBLE);
        sf_reg(s, &t[i]);
    }
    CU_ASSERT(WAIT_FOR((sl_scheduler_get_stats(s, &st), st.parks > 0 &&
                                                            st.nodes == 4),
                       1000));
    sf_sleep_ns(20 * MS); /* deep in a 5 s park */
    uint64_t t0 = sl__now_ns();
    CU_ASSERT_EQUAL(sl_scheduler_shutdown(s), SL_OK);
    uint64_t dt = sl__now_ns() - t0;
    sl_scheduler_destroy(s);
    uint64_t dt_destroy = sl__now_ns() - t0;
    printf("\n    [shutdown joined in %.3f ms, destroy done at %.3f ms] ",
           (double)dt / 1e6, (double)dt_destroy / 1e6);
    CU_ASSERT(dt < 100 * MS);
    for (int i = 0; i < 4; i++)
        CU_ASSERT(sf_once(&t[i]));
}

static void test_destroy_does_not_hang_on_a_stuck_tick(void)
{
    sl_scheduler_config c;
    sl_scheduler *s;
    tnode stuck;

    sl_scheduler_config_default(&c);
    c.join_timeout_ns = 150 * MS;
    c.overrun_limit = 0;
    s = sf_start(NULL, &c);
    sf_tinit(&stuck, M_BLOCK, SL_CLASS_AUDIBLE);
    sf_reg(s, &stuck);
    CU_ASSERT_FATAL(WAIT_FOR(atomic_load(&stuck.blocked), 1000));
    CU_ASSERT_EQUAL(sl_scheduler_shutdown(s), SL_ETIMEDOUT);
    uint64_t t0 = sl__now_ns();
    sl_scheduler_destroy(s); /* detaches: the thread frees it later */
    uint64_t dt = sl__now_ns() - t0;
    CU_ASSERT(dt < 1000 * MS);
    CU_ASSERT_EQUAL(atomic_load(&stuck.cancels), 0);
    atomic_store(&stuck.release, true);
    /* The thread finishes the tick, retires the node, frees itself. */
    CU_ASSERT(WAIT_FOR(sf_once(&stuck), 2000));
    sf_sleep_ns(20 * MS); /* let it exit before the node goes out of scope */
}

static CU_TestInfo tests[] = {
    {"create and register reject bad arguments",
     test_create_and_register_reject_bad_arguments},
    {"node class is clamped and settable",
     test_node_class_is_clamped_and_settable},
    {"shutdown from the scheduler thread is refused",
     test_shutdown_from_the_scheduler_thread_is_refused},
    {"destroy from the scheduler thread stops it",
     test_destroy_from_the_scheduler_thread_stops_it},
    {"WAITING node: under 2% of a core", test_waiting_node_does_not_spin},
    {"BACKPRESSURED node: under 2% of a core",
     test_backpressured_node_does_not_spin},
    {"idle scheduler: under 2% of a core", test_idle_scheduler_does_not_spin},
    {"classes run Audible, Warm, Idle; live reorder",
     test_classes_run_in_order_and_reorder_live},
    {"progress is ticked in a bounded burst",
     test_progress_is_ticked_in_a_bounded_burst},
    {"outcomes fold by precedence", test_outcomes_fold_by_precedence},
    {"failing and faulting nodes are quarantined",
     test_failing_and_faulting_nodes_are_quarantined},
    {"a 20 ms sleeper does not starve its neighbour",
     test_slow_node_does_not_starve_its_neighbour},
    {"budget overruns in a row quarantine",
     test_budget_overruns_in_a_row_quarantine},
    {"a fault outside node code is not swallowed",
     test_a_fault_outside_node_code_is_not_swallowed},
    {"wake unparks an idle scheduler (median of 100)",
     test_wake_unparks_an_idle_scheduler_at_once},
    {"a wake in the park window is not lost",
     test_a_wake_in_the_park_window_is_not_lost},
    {"racing wakes are never lost", test_racing_wakes_are_never_lost},
    {"10000 register/unregister cycles while ticking",
     test_register_unregister_churn_while_ticking},
    {"lifecycle runs exactly once on every path",
     test_lifecycle_runs_exactly_once_on_every_path},
    {"shutdown joins quickly while nodes wait",
     test_shutdown_joins_quickly_while_nodes_wait},
    {"destroy does not hang on a stuck tick",
     test_destroy_does_not_hang_on_a_stuck_tick},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_scheduler = {
    .info = {.pName = "scheduler", .pTests = tests},
};
