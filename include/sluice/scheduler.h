/*
 * sluice/scheduler.h: the thread that ticks nodes.
 *
 * A scheduler owns one dedicated thread. Each turn of its loop is a pass:
 *
 *   1. drain the command queue (register, unregister; shutdown is a flag);
 *   2. re-read every node's service class;
 *   3. tick every node, Audible first, then Warm, then Idle (registration
 *      order within a class); a node that returns PROGRESS is ticked again,
 *      up to `progress_burst` ticks in the pass, while its ticks stay fast;
 *   4. retire the nodes that returned DONE or were quarantined;
 *   5. fold the outcomes, PROGRESS > WAITING > PENDING > BACKPRESSURED >
 *      IDLE (IDLE: no nodes, or all of them done), and park accordingly:
 *      not at all after PROGRESS (a sched_yield() every `yield_every`
 *      such passes), `waiting_park_ns` after WAITING, PENDING or
 *      BACKPRESSURED, `idle_park_ns` after IDLE.
 *
 * A wake (sl_scheduler_wake(), sl_scheduler_wake_rt(), or any command) ends
 * a park at once. A wake that arrives while a pass runs, or between the
 * pass's last check and the park, makes the park return immediately: wakes
 * are never lost.
 *
 * Isolation. A node that misbehaves is quarantined: the scheduler stops
 * ticking it, calls its on_cancel, recycle and destroy, and reports it;
 * the other nodes keep running.
 *   - A tick that returns a negative SL_E* code: SL_SCHED_NODE_FAILED with
 *     that code.
 *   - A tick slower than `slow_tick_ns`: SL_SCHED_SLOW_TICK (a warning).
 *     `overrun_limit` ticks in a row slower than `tick_budget_ns`:
 *     SL_SCHED_NODE_FAILED with SL_ETIMEDOUT.
 *   - A synchronous fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL) raised on the
 *     scheduler thread inside a node callback: SL_SCHED_NODE_FAULTED with
 *     the signal number.
 *
 * WHAT FAULT TRAPPING DOES NOT DO. Trapping a fault keeps the device and
 * the other tracks playing; it does not make the process healthy again.
 * The faulting node was stopped at an arbitrary instruction: it may hold a
 * lock forever, may have written through a wild pointer into memory that
 * other nodes, the allocator or the application use, and its own state is
 * garbage (its on_cancel, recycle and destroy still run, also guarded, so
 * they may fault again or leak). After the first trapped fault the
 * scheduler marks itself tainted for good (sl_scheduler_is_tainted(), and
 * the stats): the application should tell the user, stop taking risks
 * (saving over files, for instance) and restart the engine or the process
 * when convenient. Faults raised outside node callbacks, or on other
 * threads, are not trapped: the process crashes as usual. A node that
 * blocks forever (a deadlock, an endless loop) cannot be stopped either;
 * see sl_scheduler_shutdown().
 *
 * Ownership. From a successful sl_scheduler_register() on, the scheduler
 * owns the node: it alone calls the node's callbacks, all on its thread,
 * and destroy (which frees the node, if the vtable has one) is the last
 * call. A node whose memory other threads keep using (to change its class,
 * say) must keep that memory alive past destroy, for instance with a
 * reference count its destroy drops.
 */
#ifndef SLUICE_SCHEDULER_H
#define SLUICE_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>
#include <sluice/common.h>
#include <sluice/node.h>

SL_BEGIN_DECLS

typedef struct sl_scheduler sl_scheduler;

/* What an observer is told. */
typedef enum sl_scheduler_event_type {
    SL_SCHED_PASS_START = 0,    /* a pass begins */
    SL_SCHED_PASS_END = 1,      /* a pass ends, before the park */
    SL_SCHED_PROGRESS = 2,      /* the pass folded to PROGRESS */
    SL_SCHED_WAITING = 3,       /* ... to WAITING */
    SL_SCHED_PENDING = 4,       /* ... to PENDING */
    SL_SCHED_BACKPRESSURED = 5, /* ... to BACKPRESSURED */
    SL_SCHED_IDLE = 6,          /* ... to IDLE */
    SL_SCHED_SLOW_TICK = 7,     /* a tick took longer than slow_tick_ns */
    SL_SCHED_NODE_FAILED = 8,   /* a node was quarantined for an error */
    SL_SCHED_NODE_FAULTED = 9   /* a node was quarantined for a fault */
} sl_scheduler_event_type;

/* One event. Lives on the scheduler thread's stack for the duration of
 * the observer call: copy what you need. */
typedef struct sl_scheduler_event {
    sl_scheduler_event_type type;
    uint64_t pass;         /* the pass it happened in, counting from 1 */
    sl_node_id node;       /* SLOW_TICK, NODE_*: the node; otherwise 0 */
    const char *node_name; /* the node's vtable name, or NULL */
    int error;             /* NODE_FAILED: the error; NODE_FAULTED:
                              SL_EFAULT; otherwise 0 */
    int signo;             /* NODE_FAULTED: the signal; otherwise 0 */
    uint64_t duration_ns;  /* SLOW_TICK: the tick's duration */
} sl_scheduler_event;

/* Receives events on the scheduler thread, synchronously, in order. It
 * must return quickly and must not call sl_scheduler_shutdown() or
 * sl_scheduler_destroy(); it may register, unregister and wake. */
typedef void (*sl_scheduler_observer)(const sl_scheduler_event *event,
                                      void *user);

/* How a scheduler behaves. Start from sl_scheduler_config_default(). */
typedef struct sl_scheduler_config {
    const char *thread_name;   /* up to 15 characters; "sl-sched" */
    uint64_t waiting_park_ns;  /* park after WAITING/PENDING/BACKPRESSURED;
                                  10 ms */
    uint64_t idle_park_ns;     /* park after IDLE; 100 ms */
    unsigned progress_burst;   /* most ticks per node per pass; 4 */
    unsigned yield_every;      /* sched_yield() after this many PROGRESS
                                  passes in a row; 4 */
    uint64_t slow_tick_ns;     /* SLOW_TICK threshold; 10 ms */
    uint64_t tick_budget_ns;   /* a tick longer than this overruns; 50 ms */
    unsigned overrun_limit;    /* overruns in a row that quarantine a node;
                                  3; 0 never quarantines */
    uint64_t join_timeout_ns;  /* how long shutdown waits for the thread;
                                  2 s */
    sl_scheduler_observer observer; /* NULL: no events */
    void *observer_user;
} sl_scheduler_config;

/* Counters since creation. Each is read atomically but the set is not one
 * consistent cut: a pass may run between two reads. */
typedef struct sl_scheduler_stats {
    uint64_t passes;
    /* Ticks by result; ticks_failed: returned an error or faulted. */
    uint64_t ticks_progress, ticks_waiting, ticks_pending,
        ticks_backpressured, ticks_done, ticks_failed;
    uint64_t parks;       /* timed parks entered */
    uint64_t wakeups;     /* parks ended early by a wake */
    uint64_t wake_calls;  /* wakes requested (modulo 2^32) */
    uint64_t slow_ticks;
    uint64_t quarantined; /* nodes quarantined: failed, overran, faulted */
    uint64_t faults;      /* trapped synchronous faults */
    uint64_t max_tick_ns; /* the longest tick seen */
    uint64_t nodes;       /* nodes registered now */
    bool tainted;         /* a fault was trapped: see the header comment */
} sl_scheduler_stats;

/* Fills `config` with the defaults documented in sl_scheduler_config.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API void sl_scheduler_config_default(sl_scheduler_config *config);

/* Creates a scheduler and starts its thread. `config` may be NULL for the
 * defaults; it is copied. Installs the process-wide fault trap (see
 * src/fault.h) on first use.
 * Thread: control thread; not RT-safe (allocates, starts a thread).
 * Errors: SL_EINVAL when out is NULL, a park time is 0 or progress_burst
 * or yield_every is 0; SL_ENOMEM; SL_ETHREAD when the thread or the fault
 * trap cannot be set up. *out is NULL on error. */
SL_API int sl_scheduler_create(sl_scheduler **out,
                               const sl_scheduler_config *config);

/* Queues `node` for registration, wakes the scheduler and stores the id
 * it will have in *id (id may be NULL). The node is ticked from the next
 * pass on. On success the scheduler owns the node (see the header
 * comment); on error nothing was called and the node is still the
 * caller's.
 * Thread: any thread but the device callback; not RT-safe (allocates).
 * Errors: SL_EINVAL when node, its vtable or its tick is NULL; SL_ENOMEM;
 * SL_ECLOSED when the scheduler has shut down. */
SL_API int sl_scheduler_register(sl_scheduler *sched, sl_node *node,
                                 sl_node_id *id);

/* Queues the removal of node `id` and wakes the scheduler; the scheduler
 * then calls the node's on_cancel, recycle and destroy on its thread. An
 * id that already ended (DONE, quarantined, or unregistered) is ignored.
 * Returns once queued, not once removed.
 * Thread: any thread but the device callback; not RT-safe (allocates).
 * Errors: SL_EINVAL when id is 0; SL_ENOMEM; SL_ECLOSED when the
 * scheduler has shut down (its nodes are already gone). */
SL_API int sl_scheduler_unregister(sl_scheduler *sched, sl_node_id id);

/* Ends the scheduler's park at once, or makes its next park return at
 * once if it is running a pass. Wakes coalesce.
 * Thread: any thread; currently RT-safe, but only sl_scheduler_wake_rt()
 * promises to stay so.
 * Errors: none. */
SL_API void sl_scheduler_wake(sl_scheduler *sched);

/* The device callback's wake: same effect as sl_scheduler_wake(), with a
 * promise: no lock, no allocation, no blocking call (an atomic increment,
 * and a futex wake only when the scheduler is parked).
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API void sl_scheduler_wake_rt(sl_scheduler *sched);

/* Stops the scheduler: at the start of its next pass (at once if parked)
 * the scheduler closes its command queue, applies what was queued, calls
 * on_cancel, recycle and destroy on every node, and its thread exits; this
 * call waits for that, up to `join_timeout_ns`. It cannot interrupt a tick
 * in progress: a node stuck in tick() keeps the thread alive, and then
 * this returns SL_ETIMEDOUT (call it again to wait more, or destroy).
 * Calling it again after success does nothing.
 * Thread: any thread but the scheduler's own and the device callback;
 * not RT-safe (waits).
 * Errors: SL_ETIMEDOUT as above; SL_ESTATE when called from the scheduler
 * thread. */
SL_API int sl_scheduler_shutdown(sl_scheduler *sched);

/* Shuts the scheduler down (see sl_scheduler_shutdown()) and frees it.
 * Never hangs: when the thread does not finish within `join_timeout_ns`,
 * it is detached and frees the scheduler itself once its stuck tick
 * returns; the observer and the nodes must then stay valid until that
 * happens. Called on the scheduler thread itself (from a node or the
 * observer), it only requests the stop: the pass ends, every node is
 * retired and the thread frees the scheduler as it exits. NULL is ignored.
 * Thread: any thread but the device callback; not RT-safe. No other call
 * on `sched` may run or follow.
 * Errors: none. */
SL_API void sl_scheduler_destroy(sl_scheduler *sched);

/* Copies the counters into *stats.
 * Thread: any thread; RT-safe (relaxed atomic loads).
 * Errors: none. */
SL_API void sl_scheduler_get_stats(const sl_scheduler *sched,
                                   sl_scheduler_stats *stats);

/* Returns true once a synchronous fault has been trapped in a node: the
 * process may hold corrupt state (see the header comment). Never resets.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API bool sl_scheduler_is_tainted(const sl_scheduler *sched);

/* Returns the name of an event type, such as "NODE_FAILED". Returns a
 * static string; an unknown value gives "UNKNOWN".
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API const char *sl_scheduler_event_name(sl_scheduler_event_type type);

SL_END_DECLS

#endif /* SLUICE_SCHEDULER_H */
