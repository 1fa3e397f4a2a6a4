/*
 * sched_fixture.c: the scheduler suite's test node and observer (see
 * sched_fixture.h). Node and observer callbacks run on the scheduler
 * thread, everything else on the test's thread.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include <sluice/error.h>
#include "sched_fixture.h"

#if defined(__has_include)
#  if __has_include(<valgrind/valgrind.h>)
#    include <valgrind/valgrind.h>
#  endif
#endif
#ifndef RUNNING_ON_VALGRIND
#  define RUNNING_ON_VALGRIND 0
#endif
/* Whether the fault tests inject a real SIGSEGV. Not under Valgrind:
 * after a handler running on a sigaltstack siglongjmps back to the thread
 * stack, Memcheck (3.19) reports false "uninitialised value" errors for
 * the rest of that thread, from the second such thread in a process on
 * (reproduced with a 30-line program using no sluice code). The trap
 * itself works there; natively and under ThreadSanitizer the faults are
 * injected. */
bool sf_under_valgrind(void)
{
    return RUNNING_ON_VALGRIND != 0;
}

bool sf_real_faults(void)
{
    if (RUNNING_ON_VALGRIND) {
        printf("\n    [valgrind: fault injection skipped] ");
        return false;
    }
    return true;
}

void sf_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}


/* ---- a configurable test node ----------------------------------------- */



atomic_int sf_heap_destroyed, sf_heap_misordered;
static volatile int *readonly_page;

/* The shared log of M_LOG ticks: (pass, tag), appended on the scheduler
 * thread, published by the release store of its length. */
sf_log_entry sf_log[LOG_MAX];
atomic_int sf_log_len;
atomic_ullong sf_current_pass;

static int work_tick(tnode *t)
{
    if (atomic_load(&t->pending) > atomic_load(&t->handled)) {
        atomic_fetch_add(&t->handled, 1);
        return SL_NODE_PROGRESS;
    }
    return SL_NODE_WAITING;
}

static void log_tick(tnode *t)
{
    int n = atomic_load_explicit(&sf_log_len, memory_order_relaxed);
    if (n >= LOG_MAX)
        return;
    sf_log[n].pass = atomic_load(&sf_current_pass);
    sf_log[n].tag = t->tag;
    atomic_store_explicit(&sf_log_len, n + 1, memory_order_release);
}

static int block_tick(tnode *t)
{
    atomic_store(&t->blocked, true);
    while (!atomic_load(&t->release))
        sf_sleep_ns(MS);
    return SL_NODE_DONE;
}

static int tick_more(tnode *t, int n)
{
    switch (t->mode) {
    case M_FAIL_AT:
        return n == t->at ? SL_EIO : SL_NODE_PROGRESS;
    case M_SEGV_AT:
        if (n == t->at)
            *readonly_page = n; /* SIGSEGV: the page is read-only */
        return SL_NODE_PROGRESS;
    case M_SLEEP:
        sf_sleep_ns(t->sleep_ns);
        return t->ret;
    case M_LOG:
        log_tick(t);
        return SL_NODE_WAITING;
    case M_WORK:
        return work_tick(t);
    case M_BLOCK:
        return block_tick(t);
    case M_DESTROY_SELF:
        /* Only once the test's register call has returned: nothing may
         * use the scheduler while it is destroyed. */
        if (atomic_load(&t->release) && !atomic_exchange(&t->blocked, true))
            sl_scheduler_destroy(t->sched);
        return SL_NODE_WAITING;
    case M_SHUTDOWN_SELF:
        atomic_store(&t->self_shutdown_result, sl_scheduler_shutdown(t->sched));
        return SL_NODE_DONE;
    default:
        return t->ret;
    }
}

static int t_tick(sl_node *node)
{
    tnode *t = (tnode *)node;
    int n = atomic_fetch_add(&t->ticks, 1) + 1;

    switch (t->mode) {
    case M_WAITING:
        return SL_NODE_WAITING;
    case M_BACKPRESSURED:
        return SL_NODE_BACKPRESSURED;
    case M_PENDING:
        return SL_NODE_PENDING;
    case M_PROGRESS:
        return t->limit && n > t->limit ? SL_NODE_DONE : SL_NODE_PROGRESS;
    default:
        return tick_more(t, n);
    }
}

static void t_cancel(sl_node *node)
{
    tnode *t = (tnode *)node;
    if (atomic_load(&t->recycles) || atomic_load(&t->destroys))
        atomic_fetch_add(&t->misordered, 1);
    atomic_fetch_add(&t->cancels, 1);
}

static void t_recycle(sl_node *node)
{
    tnode *t = (tnode *)node;
    if (atomic_load(&t->cancels) != 1 || atomic_load(&t->destroys))
        atomic_fetch_add(&t->misordered, 1);
    atomic_fetch_add(&t->recycles, 1);
}

static void t_destroy(sl_node *node)
{
    tnode *t = (tnode *)node;

    if (atomic_load(&t->cancels) != 1 || atomic_load(&t->recycles) != 1)
        atomic_fetch_add(&t->misordered, 1);
    if (t->heap) {
        if (atomic_load(&t->misordered) || atomic_load(&t->destroys) != 0)
            atomic_fetch_add(&sf_heap_misordered, 1);
        free(t);
        atomic_fetch_add(&sf_heap_destroyed, 1);
        return;
    }
    /* Last touch: a test that sees it may let `t` go out of scope. */
    atomic_fetch_add(&t->destroys, 1);
}

static const sl_node_vtable sf_vtable = {
    .name = "test",
    .tick = t_tick,
    .on_cancel = t_cancel,
    .recycle = t_recycle,
    .destroy = t_destroy,
};

void sf_tinit(tnode *t, mode m, sl_service_class cls)
{
    memset(t, 0, sizeof *t);
    sl_node_init(&t->base, &sf_vtable, cls);
    t->mode = m;
}

tnode *sf_tnew(mode m)
{
    tnode *t = malloc(sizeof *t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    sf_tinit(t, m, SL_CLASS_WARM);
    t->heap = true;
    return t;
}

/* The node's lifecycle calls each ran exactly once, in order. */
bool sf_once(tnode *t)
{
    return atomic_load(&t->cancels) == 1 && atomic_load(&t->recycles) == 1 &&
           atomic_load(&t->destroys) == 1 && atomic_load(&t->misordered) == 0;
}

bool sf_untouched(tnode *t)
{
    return atomic_load(&t->ticks) == 0 && atomic_load(&t->cancels) == 0 &&
           atomic_load(&t->recycles) == 0 && atomic_load(&t->destroys) == 0;
}

/* ---- an observer that counts ------------------------------------------ */



static void observe(const sl_scheduler_event *ev, void *user)
{
    watch *w = user;

    switch (ev->type) {
    case SL_SCHED_PASS_START:
        atomic_store(&sf_current_pass, ev->pass);
        atomic_store(&w->pass_start_ns, sl__now_ns());
        break;
    case SL_SCHED_NODE_FAILED:
        atomic_store(&w->failed_error, ev->error);
        atomic_store(&w->failed_node, ev->node);
        break;
    case SL_SCHED_NODE_FAULTED:
        atomic_store(&w->faulted_signo, ev->signo);
        atomic_store(&w->faulted_node, ev->node);
        break;
    case SL_SCHED_SLOW_TICK:
        atomic_store(&w->slow_node, ev->node);
        if (atomic_load(&w->slow_min_ns) == 0 ||
            ev->duration_ns < atomic_load(&w->slow_min_ns))
            atomic_store(&w->slow_min_ns, ev->duration_ns);
        break;
    default:
        break;
    }
    /* Counted last: a test that sees the count sees the details. */
    if ((unsigned)ev->type < N_EVENTS)
        atomic_fetch_add(&w->count[ev->type], 1);
    if (w->extra)
        w->extra(ev, w->ctx);
}

uint64_t sf_seen(watch *w, sl_scheduler_event_type type)
{
    return atomic_load(&w->count[type]);
}

/* Starts a scheduler with `cfg` (NULL: the defaults), observed by `w`
 * (zeroed here; may be NULL) with the per-test check `extra`. */
sl_scheduler *sf_start_with(watch *w, sl_scheduler_config *cfg,
                                void (*extra)(const sl_scheduler_event *,
                                              void *),
                                void *ctx)
{
    sl_scheduler_config def;
    sl_scheduler *s = NULL;

    if (cfg == NULL) {
        sl_scheduler_config_default(&def);
        cfg = &def;
    }
    if (w) {
        memset(w, 0, sizeof *w);
        w->extra = extra;
        w->ctx = ctx;
        cfg->observer = observe;
        cfg->observer_user = w;
    }
    CU_ASSERT_EQUAL_FATAL(sl_scheduler_create(&s, cfg), SL_OK);
    return s;
}

sl_scheduler *sf_start(watch *w, sl_scheduler_config *cfg)
{
    return sf_start_with(w, cfg, NULL, NULL);
}

sl_node_id sf_reg(sl_scheduler *s, tnode *t)
{
    sl_node_id id = 0;
    CU_ASSERT_EQUAL(sl_scheduler_register(s, &t->base, &id), SL_OK);
    CU_ASSERT_NOT_EQUAL(id, 0);
    return id;
}

sl_scheduler_config sf_long_parks(uint64_t ns)
{
    sl_scheduler_config c;
    sl_scheduler_config_default(&c);
    c.waiting_park_ns = ns;
    c.idle_park_ns = ns;
    return c;
}


void sf_map_readonly_page(void)
{
    if (readonly_page == NULL) {
        void *p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CU_ASSERT_FATAL(p != MAP_FAILED);
        readonly_page = p;
    }
}