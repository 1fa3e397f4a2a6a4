/*
 * scheduler_priv.h: the scheduler's state, shared by scheduler.c (the
 * public calls, any thread) and scheduler_pass.c (the loop, scheduler
 * thread), plus hooks for tests.
 */
#ifndef SLUICE_SCHEDULER_PRIV_H
#define SLUICE_SCHEDULER_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sluice/scheduler.h>
#include "wake.h"

enum { SL__CMD_REGISTER = 1, SL__CMD_UNREGISTER = 2 };

/* A queued command. Commands are pushed by any thread on a lock-free
 * stack and taken all at once by the scheduler thread, which frees them. */
typedef struct sl__cmd {
    struct sl__cmd *next;
    int kind;
    sl_node_id id;
} sl__cmd;

/* A registered node. The register command is the slot's first member, so
 * registering allocates once, on the caller's thread, and the scheduler
 * thread never allocates. Everything but `cmd` before it is taken belongs
 * to the scheduler thread. */
typedef struct sl__slot {
    sl__cmd cmd;
    sl_node *node;
    const char *name;             /* the vtable's, for events */
    struct sl__slot *prev, *next; /* registration order */
    int cls;                      /* the class this pass runs it in */
    unsigned overruns;            /* budget overruns in a row */
    bool ended;                   /* DONE or quarantined: retire it */
} sl__slot;

/* Called on the scheduler thread between its last check for wakes and
 * its sleep, so tests can fire a wake in exactly that window. */
typedef struct sl__park_hook {
    void (*fn)(void *arg);
    void *arg;
} sl__park_hook;

/* Counters: written by the scheduler thread only (relaxed load + store),
 * read by anyone (relaxed). */
typedef struct sl__counters {
    _Atomic uint64_t passes, ticks_progress, ticks_waiting, ticks_pending,
        ticks_backpressured, ticks_done, ticks_failed, parks, wakeups,
        slow_ticks, quarantined, faults, max_tick_ns, nodes;
} sl__counters;

struct sl_scheduler {
    sl_scheduler_config cfg; /* immutable after create */
    char thread_name[16];
    pthread_t thread;

    sl__wake wake;             /* parks the scheduler thread */
    _Atomic(sl__cmd *) cmds;   /* pushed commands, newest first */
    _Atomic uint64_t next_id;
    atomic_bool stop;          /* shutdown requested */
    atomic_bool tainted;
    _Atomic(const sl__park_hook *) park_hook;

    sl__wake done_wake;        /* parks shutdown() until `finished` */
    atomic_bool finished;      /* the thread has torn everything down */
    atomic_int refs;           /* the caller's and the thread's */
    pthread_mutex_t join_lock; /* serializes shutdown()'s join */
    bool joined;               /* under join_lock */

    /* Scheduler thread only. */
    sl__slot *head, *tail;
    uint64_t pass;
    unsigned progress_streak;

    sl__counters n;
};

/* The command stack's "closed" marker: once the scheduler has swapped it
 * in, pushes fail with SL_ECLOSED. */
extern sl__cmd sl__scheduler_closed;

/* Runs passes until shutdown, then retires every node. Scheduler thread. */
void sl__scheduler_run(sl_scheduler *s);

/* The scheduler's thread, for tests that read its CPU clock. */
pthread_t sl__scheduler_thread(const sl_scheduler *s);

/* Installs (or with NULL removes) the park hook. `hook` must outlive the
 * scheduler or its removal. Any thread. */
void sl__scheduler_set_park_hook(sl_scheduler *s, const sl__park_hook *hook);

/* Adds 1 to a counter. Scheduler thread only (single writer). */
static inline void sl__count(_Atomic uint64_t *c)
{
    atomic_store_explicit(
        c, atomic_load_explicit(c, memory_order_relaxed) + 1,
        memory_order_relaxed);
}

#endif /* SLUICE_SCHEDULER_PRIV_H */
