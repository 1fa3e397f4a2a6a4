/*
 * log.c: the logger. Producers (any thread, real-time ones included)
 * format into records of the MPSC ring; the drain thread, started and
 * stopped by a control thread, hands them to the application's callback.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "clock.h"
#include "log.h"
#include "mpsc.h"
#include "wake.h"

/* The drain thread parks this long at most; wakes end the park early, so
 * this only bounds the cost of a lost wake, which should not happen. */
#define PARK_NS 1000000000u

typedef struct log_record {
    int level;
    char text[SL_LOG_MESSAGE_MAX];
} log_record;

struct sl__logger {
    sl__mpsc *ring;
    sl_log_fn fn; /* read-only after creation */
    void *user;
    sl_log_level level;
    sl__wake wake;
    atomic_bool stop;
    /* Relaxed: a statistic, read by the drain thread for its report. */
    atomic_uint_fast64_t dropped;
    uint64_t reported; /* drain thread (control thread while stopped) */
    pthread_t thread;  /* control side */
    bool running;      /* control side */
};

int sl__log_create(sl__logger **out, size_t min_records, sl_log_level level,
                   sl_log_fn fn, void *user)
{
    sl__logger *lg = NULL;
    int err;

    if (out == NULL)
        return SL_EINVAL;
    *out = NULL;
    lg = calloc(1, sizeof *lg);
    if (lg == NULL)
        return SL_ENOMEM;
    err = sl__mpsc_create(&lg->ring, sizeof(log_record), min_records);
    if (err != SL_OK)
        goto fail;
    lg->fn = fn;
    lg->user = user;
    lg->level = level;
    sl__wake_init(&lg->wake);
    atomic_init(&lg->stop, false);
    atomic_init(&lg->dropped, 0);
    *out = lg;
    return SL_OK;

fail:
    free(lg);
    return err;
}

/* "N messages dropped", once per change of the count. Drain thread. */
static void report_drops(sl__logger *lg)
{
    uint64_t dropped = atomic_load_explicit(&lg->dropped, memory_order_relaxed);
    uint64_t n = dropped - lg->reported;
    char text[64];

    if (n == 0)
        return;
    lg->reported = dropped;
    snprintf(text, sizeof text, "%" PRIu64 " message%s dropped", n,
             n == 1 ? "" : "s");
    lg->fn(SL_LOG_WARN, text, lg->user);
}

/* Delivers every published record, in place, then the drop report. */
static void drain_all(sl__logger *lg)
{
    const log_record *r;

    while ((r = sl__mpsc_peek(lg->ring)) != NULL) {
        lg->fn((sl_log_level)r->level, r->text, lg->user);
        sl__mpsc_release(lg->ring);
    }
    report_drops(lg);
}

static void *drain_main(void *arg)
{
    sl__logger *lg = arg;

    pthread_setname_np(pthread_self(), "sl-log");
    for (;;) {
        /* The sequence first, then the flag: a stop (or a message) after
         * this read changes the sequence, so the park returns at once. */
        uint32_t seen = sl__wake_seen(&lg->wake);
        bool stopping = atomic_load_explicit(&lg->stop, memory_order_acquire);
        drain_all(lg);
        if (stopping)
            break;
        if (sl__wake_prepare(&lg->wake, seen))
            sl__wake_wait(&lg->wake, seen, sl__now_ns() + PARK_NS);
    }
    return NULL;
}

int sl__log_start(sl__logger *lg)
{
    sigset_t all, old;
    int r;

    if (lg->running)
        return SL_ESTATE;
    if (lg->fn == NULL)
        return SL_OK;
    atomic_store_explicit(&lg->stop, false, memory_order_relaxed);
    /* The drain thread takes no signals: they go to the application's
     * threads, as they would without the library. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&lg->thread, NULL, drain_main, lg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0)
        return SL_ETHREAD;
    lg->running = true;
    return SL_OK;
}

void sl__log_stop(sl__logger *lg)
{
    if (lg == NULL || !lg->running)
        return;
    /* Release: the messages this thread saw published before the stop are
     * visible to the drain thread once it sees the flag. */
    atomic_store_explicit(&lg->stop, true, memory_order_release);
    sl__wake_signal(&lg->wake);
    pthread_join(lg->thread, NULL);
    lg->running = false;
}

void sl__log_destroy(sl__logger *lg)
{
    if (lg == NULL)
        return;
    sl__log_stop(lg);
    sl__mpsc_destroy(lg->ring);
    free(lg);
}

bool sl__log_enabled(const sl__logger *lg, sl_log_level level)
{
    return lg != NULL && lg->fn != NULL && (int)level <= (int)lg->level;
}

int sl__vlog(sl__logger *lg, sl_log_level level, const char *fmt, va_list ap)
{
    size_t ticket;
    log_record *r;

    if (!sl__log_enabled(lg, level))
        return SL_OK;
    r = sl__mpsc_claim(lg->ring, &ticket);
    if (r == NULL) {
        atomic_fetch_add_explicit(&lg->dropped, 1, memory_order_relaxed);
        return SL_EFULL;
    }
    r->level = (int)level;
    /* Formatted in place; see log.h for why vsnprintf is acceptable. */
    vsnprintf(r->text, sizeof r->text, fmt, ap);
    sl__mpsc_publish(lg->ring, ticket);
    sl__wake_signal(&lg->wake);
    return SL_OK;
}

int sl__log(sl__logger *lg, sl_log_level level, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = sl__vlog(lg, level, fmt, ap);
    va_end(ap);
    return r;
}

uint64_t sl__log_dropped(const sl__logger *lg)
{
    return atomic_load_explicit(&lg->dropped, memory_order_relaxed);
}
