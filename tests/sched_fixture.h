/*
 * sched_fixture.h: what the scheduler suite's tests share: a test node
 * whose behaviour is chosen by a mode and that counts its lifecycle
 * calls, an observer that counts events, and start-up helpers. The node
 * and observer callbacks run on the scheduler thread; the rest on the
 * test's thread.
 */
#ifndef SLUICE_TESTS_SCHED_FIXTURE_H
#define SLUICE_TESTS_SCHED_FIXTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sluice/node.h>
#include <sluice/scheduler.h>
#include "clock.h"

#define MS 1000000ull

/* Polls `cond` every 200 us until it holds or `ms` milliseconds pass. */
#define WAIT_FOR(cond, ms)                                                     \
    ({                                                                         \
        uint64_t wf_end_ = sl__now_ns() + (uint64_t)(ms) * MS;                 \
        bool wf_ok_;                                                           \
        while (!(wf_ok_ = (cond)) && sl__now_ns() < wf_end_)                   \
            sf_sleep_ns(200000);                                               \
        wf_ok_;                                                                \
    })

typedef enum mode {
    M_WAITING,       /* always WAITING */
    M_BACKPRESSURED, /* always BACKPRESSURED */
    M_PENDING,       /* always PENDING */
    M_PROGRESS,      /* PROGRESS, DONE after `limit` ticks (0: never) */
    M_FAIL_AT,       /* PROGRESS, SL_EIO at tick `at` */
    M_SEGV_AT,       /* PROGRESS, a write to a read-only page at tick `at` */
    M_SLEEP,         /* sleeps `sleep_ns`, then returns `ret` */
    M_LOG,           /* logs its tag, WAITING */
    M_WORK,          /* PROGRESS when work is pending, else WAITING */
    M_BLOCK,         /* blocks until `release` is set, then DONE */
    M_RETURN,        /* returns `ret` */
    M_SHUTDOWN_SELF, /* calls sl_scheduler_shutdown() from its tick */
    M_DESTROY_SELF,  /* once `release` is set, sl_scheduler_destroy() */
} mode;

typedef struct tnode {
    sl_node base;
    mode mode;
    int limit, at, ret;
    uint64_t sleep_ns;
    char tag;
    bool heap; /* destroy frees it */
    sl_scheduler *sched;
    atomic_int ticks, cancels, recycles, destroys;
    atomic_int misordered; /* a lifecycle call came out of order */
    atomic_int pending, handled;
    atomic_bool release, blocked;
    atomic_int self_shutdown_result;
} tnode;

#define N_EVENTS 10

typedef struct watch {
    atomic_ullong count[N_EVENTS];
    atomic_ullong pass_start_ns; /* when the last pass began */
    atomic_ullong failed_node, faulted_node, slow_node;
    atomic_int failed_error, faulted_signo;
    atomic_ullong slow_min_ns;
    /* Per-test check, run on the scheduler thread after counting. */
    void (*extra)(const sl_scheduler_event *ev, void *ctx);
    void *ctx;
} watch;

#define LOG_MAX 4096
typedef struct sf_log_entry {
    uint64_t pass;
    char tag;
} sf_log_entry;

/* The M_LOG ticks, appended on the scheduler thread and published by the
 * release store of sf_log_len. */
extern sf_log_entry sf_log[LOG_MAX];
extern atomic_int sf_log_len;
/* The pass the scheduler is in, as the observer last saw it. */
extern atomic_ullong sf_current_pass;
/* Heap nodes (sf_tnew) destroyed, and those whose lifecycle was wrong. */
extern atomic_int sf_heap_destroyed, sf_heap_misordered;

/* Whether the suite runs under Valgrind. */
bool sf_under_valgrind(void);
/* Whether fault tests may raise a real SIGSEGV (not under Valgrind). */
bool sf_real_faults(void);
void sf_sleep_ns(uint64_t ns);
/* Maps the read-only page M_SEGV_AT nodes write to. */
void sf_map_readonly_page(void);

/* A zeroed node of mode `m` in class `cls`, on the caller's memory. */
void sf_tinit(tnode *t, mode m, sl_service_class cls);
/* A Warm node of mode `m` on the heap; its destroy frees it. */
tnode *sf_tnew(mode m);
/* on_cancel, recycle and destroy each ran exactly once, in order. */
bool sf_once(tnode *t);
/* Nothing at all was called. */
bool sf_untouched(tnode *t);

/* How many events of `type` the observer saw. */
uint64_t sf_seen(watch *w, sl_scheduler_event_type type);
/* Starts a scheduler with `cfg` (NULL: the defaults), observed by `w`
 * (zeroed here; may be NULL) with the per-test check `extra`. */
sl_scheduler *sf_start_with(watch *w, sl_scheduler_config *cfg,
                            void (*extra)(const sl_scheduler_event *, void *),
                            void *ctx);
sl_scheduler *sf_start(watch *w, sl_scheduler_config *cfg);
/* Registers `t`, asserting success; returns its id. */
sl_node_id sf_reg(sl_scheduler *s, tnode *t);
/* The default config with both park times set to `ns`. */
sl_scheduler_config sf_long_parks(uint64_t ns);

#endif /* SLUICE_TESTS_SCHED_FIXTURE_H */
