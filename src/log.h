/*
 * log.h: the library's logger. sl__log() may be called from any thread,
 * the real-time ones included; the application's sl_log_fn runs on the
 * logger's own drain thread, never on the caller's.
 *
 * sl__log() formats the message straight into a fixed-size record of a
 * lock-free MPSC ring (src/mpsc.h) with vsnprintf, publishes it and wakes
 * the drain thread (src/wake.h: an atomic increment, plus one futex wake
 * only when the drain thread is parked). glibc's vsnprintf does not
 * allocate or lock for ordinary conversions (%d %u %x %s %g %f %e %p and
 * their length modifiers were measured to make no malloc call); it does
 * allocate for widths or precisions in the tens of thousands, so
 * real-time callers keep widths and precisions small. A full ring drops
 * the message and counts it; the drain thread reports the count as one
 * "N messages dropped" warning. Without a callback, or above the
 * logger's level, sl__log() returns before formatting.
 *
 * Thread: sl__log() any thread (RT-safe as above); the rest control
 * threads.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/events.h>

typedef struct sl__logger sl__logger;

/* Creates a logger whose ring holds at least `min_records` messages,
 * passing messages at `level` and more severe ones to `fn` (may be NULL:
 * everything is discarded). The drain thread is not started yet.
 * Errors: SL_EINVAL (NULL out, min_records 0 or above 2^24); SL_ENOMEM. */
int sl__log_create(sl__logger **out, size_t min_records, sl_log_level level,
                   sl_log_fn fn, void *user);

/* Starts the drain thread ("sl-log"). Messages queued before are
 * delivered. Does nothing when there is no callback.
 * Errors: SL_ESTATE (already running); SL_ETHREAD. */
int sl__log_start(sl__logger *lg);

/* Stops the drain thread: it delivers every message published before
 * this call (and the drop report), then exits; this call joins it.
 * Messages logged concurrently with or after the stop stay queued until a
 * later start, or are discarded by destroy. Does nothing when not
 * running. Can't fail. Not from the callback. */
void sl__log_stop(sl__logger *lg);

/* Stops the logger if it runs and frees it. NULL is ignored. */
void sl__log_destroy(sl__logger *lg);

/* True when a message at `level` would be delivered: lets a caller skip
 * preparing arguments. Any thread; RT-safe. */
bool sl__log_enabled(const sl__logger *lg, sl_log_level level);

/* Queues a printf-style message (cut to SL_LOG_MESSAGE_MAX - 1 bytes).
 * Returns 0 when queued or discarded by level or for want of a callback,
 * SL_EFULL when dropped for a full ring. lg may be NULL (discarded).
 * Any thread; RT-safe (see the header comment). */
int sl__log(sl__logger *lg, sl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* sl__log() with a va_list. */
int sl__vlog(sl__logger *lg, sl_log_level level, const char *fmt,
             va_list ap) __attribute__((format(printf, 3, 0)));

/* Messages dropped for a full ring since creation. Any thread. */
uint64_t sl__log_dropped(const sl__logger *lg);

#endif /* SLUICE_LOG_H */
