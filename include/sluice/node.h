/*
 * sluice/node.h: the contract between the scheduler and the things it runs.
 *
 * A node is a piece of work the scheduler thread calls over and over: the
 * master/output node, a track, a read-ahead. An implementation embeds
 * sl_node as its first member, points it at one const sl_node_vtable, and
 * hands it to sl_scheduler_register():
 *
 *     typedef struct tone { sl_node base; double phase; ... } tone;
 *     static const sl_node_vtable tone_vtable = {
 *         .name = "tone", .tick = tone_tick, .destroy = tone_destroy,
 *     };
 *     sl_node_init(&t->base, &tone_vtable, SL_CLASS_AUDIBLE);
 *
 * Every callback runs on the scheduler thread. tick() must not block for
 * long: it is measured, reported when slow and quarantined when it keeps
 * overrunning its budget (see sluice/scheduler.h).
 *
 * The service class is the one field other threads touch: any thread may
 * change it with sl_node_set_class(), lock-free and without a round trip
 * through the scheduler, which re-reads it at the start of every pass.
 */
#ifndef SLUICE_NODE_H
#define SLUICE_NODE_H

#include <stdint.h>
#include <sluice/common.h>

/* The class atomic: C11 _Atomic in C; in C++, std::atomic<int>, which has
 * the same size, alignment and lock-free representation on the compilers
 * sluice supports. */
#ifdef __cplusplus
#  include <atomic>
#  define SL__ATOMIC_INT std::atomic<int>
#elif defined(__STDC_NO_ATOMICS__)
#  error "sluice/node.h needs C11 atomics"
#else
#  define SL__ATOMIC_INT _Atomic int
#endif

SL_BEGIN_DECLS

/* What one tick achieved. A tick returns one of these, or a negative SL_E*
 * error code when the node failed (it is then quarantined). */
typedef enum sl_node_outcome {
    SL_NODE_PROGRESS = 1,      /* produced something; may be ticked again */
    SL_NODE_WAITING = 2,       /* upstream not ready (no input yet) */
    SL_NODE_BACKPRESSURED = 3, /* downstream full (no room for output) */
    SL_NODE_PENDING = 4,       /* a request is in flight elsewhere */
    SL_NODE_DONE = 5           /* finished for good; the node is retired */
} sl_node_outcome;

/* The scheduler-wide handle of a registered node; never 0. */
typedef uint64_t sl_node_id;

typedef struct sl_node sl_node;

/* The operations of one kind of node. Instances are const and static; use
 * designated initializers so new members default to NULL. */
typedef struct sl_node_vtable {
    /* Names the kind of node in events and logs ("tone", "track"). May be
     * NULL. */
    const char *name;
    /* Does one bounded step of work and says how it went: an
     * sl_node_outcome, or a negative SL_E* code. Any other value (0
     * included) counts as a failure with SL_ERANGE. Required. */
    int (*tick)(sl_node *node);
    /* The scheduler will not tick the node again: stop work in flight
     * elsewhere (jobs, requests). Called exactly once, whatever ended the
     * node (unregister, DONE, failure, fault, overrun, shutdown). Optional. */
    void (*on_cancel)(sl_node *node);
    /* Frees what the node accumulated while running (buffers, decoders),
     * off the real-time path. Called exactly once, after on_cancel.
     * Optional. */
    void (*recycle)(sl_node *node);
    /* Releases the node itself; after it the scheduler never touches the
     * node again. Called exactly once, after recycle. Optional: without it
     * the memory stays the caller's (a static or embedded node). */
    void (*destroy)(sl_node *node);
} sl_node_vtable;

/* The state every node starts with. Treat the members as private: set them
 * with sl_node_init() and change the class with sl_node_set_class(). */
struct sl_node {
    const sl_node_vtable *vtable;
    SL__ATOMIC_INT service_class; /* an sl_service_class */
};

/* Prepares `node` to be registered: sets its vtable and initial service
 * class. Call it before the node is shared with any other thread.
 * Thread: any thread; RT-safe.
 * Errors: none; a class out of range is stored as SL_CLASS_IDLE. */
SL_API void sl_node_init(sl_node *node, const sl_node_vtable *vtable,
                         sl_service_class service_class);

/* Changes the node's service class. The scheduler picks it up at the start
 * of its next pass and reorders the pass; no lock, no command. Pair it with
 * sl_scheduler_wake() when the change should take effect at once.
 * Thread: any thread; RT-safe (one atomic store). The node must still be
 * alive: see sl_scheduler_register() for how long that is.
 * Errors: none; a class out of range is stored as SL_CLASS_IDLE. */
SL_API void sl_node_set_class(sl_node *node, sl_service_class service_class);

/* Returns the node's current service class.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API sl_service_class sl_node_get_class(const sl_node *node);

/* Returns the name of a tick result, such as "PROGRESS", or the error's
 * SL_E* name for a negative value. Returns a static string.
 * Thread: any thread; RT-safe.
 * Errors: none; an unknown value gives "UNKNOWN". */
SL_API const char *sl_node_outcome_name(int outcome);

SL_END_DECLS

#endif /* SLUICE_NODE_H */
