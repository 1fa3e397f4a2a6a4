/*
 * sluice/events.h: what the audio side tells the application, and how the
 * library logs.
 *
 * Events. The scheduler thread, the pool workers and the device callback
 * report what happened to tracks, the device and the scheduler as
 * fixed-size sl_event records. They travel through a bounded lock-free
 * queue that the application drains from a thread of its own (polling, or
 * a dispatcher thread): pushing never blocks, never allocates and makes no
 * system call, so an event can be sent from the device callback. When the
 * queue is full the event is dropped and counted, and the consumer
 * receives one SL_EVENT_EVENTS_DROPPED event carrying the count before the
 * next queued event. An event holds no pointers: its reason text is
 * copied into the record, so it stays valid however long it is kept.
 *
 * Logging. The library never prints. It reports through an optional
 * sl_log_fn that runs on a non-real-time thread of the library's own (the
 * log drain thread), never on the device callback or the scheduler;
 * messages from the real-time side go through a lock-free ring. Without a
 * callback, messages are discarded before they are formatted. Messages
 * lost to a full ring are counted and reported by one "N messages
 * dropped" warning.
 */
#ifndef SLUICE_EVENTS_H
#define SLUICE_EVENTS_H

#include <stdint.h>
#include <sluice/common.h>

SL_BEGIN_DECLS

/* X(name, value): the table the enum and sl_event_type_name() come from.
 * Values are frozen; new types are appended. */
#define SL_EVENT_TYPE_TABLE(X)                                                 \
    X(NONE, 0)             /* never sent */                                    \
    X(TRACK_STARTED, 1)    /* track: first audible frame; frame */             \
    X(TRACK_ENDED, 2)      /* track: played to its end; frame */               \
    X(TRACK_FAILED, 3)     /* track: ended by an error; error, reason */       \
    X(TRACK_UNDERRUN, 4)   /* track: silent for a block; frame */              \
    X(POSITION, 5)         /* track: where it is (throttled); frame */         \
    X(DEVICE_LOST, 6)      /* the output device went away; error, reason */    \
    X(LATENCY_CHANGED, 7)  /* value: the new output latency in frames */       \
    X(SCHED_NODE_FAILED, 8)  /* node: quarantined; error, reason */            \
    X(SCHED_NODE_FAULTED, 9) /* node: faulted; error SL_EFAULT, value signo */ \
    X(SCHED_SLOW_TICK, 10)   /* node: slow tick; value: its duration, ns */    \
    X(EVENTS_DROPPED, 11)    /* value: events lost to a full queue */

/* What an event is about. */
typedef enum sl_event_type {
#define SL__EVENT_ENUM(name, value) SL_EVENT_##name = (value),
    SL_EVENT_TYPE_TABLE(SL__EVENT_ENUM)
#undef SL__EVENT_ENUM
} sl_event_type;

/* The size of sl_event.reason, terminating NUL included; longer reasons
 * are cut. */
#define SL_EVENT_REASON_MAX 96

/* One event. A plain value: copy it, keep it, no cleanup. Fields an event
 * type does not use (see SL_EVENT_TYPE_TABLE) are 0 and reason is "". */
typedef struct sl_event {
    sl_event_type type;
    int error;        /* an SL_E* code, or 0 */
    uint64_t track;   /* the track's id, or 0 */
    uint64_t node;    /* SCHED_*: the scheduler node's id, or 0 */
    int64_t frame;    /* a position in the track's frames, or 0 */
    int64_t value;    /* type-specific, see the table */
    uint64_t time_ns; /* when it was sent, CLOCK_MONOTONIC */
    char reason[SL_EVENT_REASON_MAX]; /* NUL-terminated, may be "" */
} sl_event;

/* Returns the name of an event type, such as "TRACK_FAILED". Returns a
 * static string; an unknown value gives "UNKNOWN".
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API const char *sl_event_type_name(sl_event_type type);

/* How much a log message matters. A logger set to a level passes that
 * level and the more severe ones (smaller values). */
typedef enum sl_log_level {
    SL_LOG_ERROR = 0,
    SL_LOG_WARN = 1,
    SL_LOG_INFO = 2,
    SL_LOG_DEBUG = 3
} sl_log_level;

/* The longest message, terminating NUL included; longer ones are cut. */
#define SL_LOG_MESSAGE_MAX 256

/* Receives one log message (no trailing newline). Runs on the library's
 * log drain thread, one call at a time, in each producing thread's order;
 * `message` is valid during the call only. It may block briefly (write to
 * a file or a terminal); while it runs, further messages queue up. */
typedef void (*sl_log_fn)(sl_log_level level, const char *message,
                          void *user);

/* Returns the name of a log level: "error", "warn", "info" or "debug".
 * Returns a static string; an unknown value gives "unknown".
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API const char *sl_log_level_name(sl_log_level level);

SL_END_DECLS

#endif /* SLUICE_EVENTS_H */
