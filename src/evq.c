/*
 * evq.c: the event queue: sl_event records over the MPSC queue, plus the
 * drop count and its report. Producers run on the scheduler thread, pool
 * workers and the device callback; the consumer on the application's
 * polling or dispatching thread.
 */
#include "config.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "clock.h"
#include "evq.h"
#include "mpsc.h"

struct sl__evq {
    sl__mpsc *ring;
    /* Producers' counter, on its own line: a flood of drops must not
     * slow the consumer's reads of `reported`. Relaxed: it is a
     * statistic, it orders nothing. */
    alignas(64) atomic_uint_fast64_t dropped;
    alignas(64) uint64_t reported; /* consumer only */
};

int sl__evq_create(sl__evq **out, size_t min_events)
{
    sl__evq *q = NULL;
    int err;

    if (out == NULL)
        return SL_EINVAL;
    *out = NULL;
    q = aligned_alloc(64, sizeof *q);
    if (q == NULL)
        return SL_ENOMEM;
    memset(q, 0, sizeof *q);
    atomic_init(&q->dropped, 0);
    err = sl__mpsc_create(&q->ring, sizeof(sl_event), min_events);
    if (err != SL_OK)
        goto fail;
    *out = q;
    return SL_OK;

fail:
    free(q);
    return err;
}

void sl__evq_destroy(sl__evq *q)
{
    if (q == NULL)
        return;
    sl__mpsc_destroy(q->ring);
    free(q);
}

int sl__evq_push(sl__evq *q, const sl_event *ev)
{
    size_t ticket;
    sl_event *cell = sl__mpsc_claim(q->ring, &ticket);

    if (cell == NULL) {
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
        return SL_EFULL;
    }
    *cell = *ev;
    /* The consumer may print it: never hand over an unterminated reason. */
    cell->reason[SL_EVENT_REASON_MAX - 1] = '\0';
    if (cell->time_ns == 0)
        cell->time_ns = sl__now_ns();
    sl__mpsc_publish(q->ring, ticket);
    return SL_OK;
}

int sl__evq_send(sl__evq *q, sl_event_type type, uint64_t track, int error,
                 int64_t frame, const char *reason)
{
    size_t ticket;
    sl_event *cell = sl__mpsc_claim(q->ring, &ticket);

    if (cell == NULL) {
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
        return SL_EFULL;
    }
    /* Filled in place: no 136-byte copy through the stack. */
    memset(cell, 0, offsetof(sl_event, reason));
    cell->type = type;
    cell->track = track;
    cell->error = error;
    cell->frame = frame;
    cell->time_ns = sl__now_ns();
    size_t n = reason != NULL ? strnlen(reason, SL_EVENT_REASON_MAX - 1) : 0;
    memcpy(cell->reason, reason != NULL ? reason : "", n);
    cell->reason[n] = '\0';
    sl__mpsc_publish(q->ring, ticket);
    return SL_OK;
}

int sl__evq_pop(sl__evq *q, sl_event *ev)
{
    uint64_t dropped =
        atomic_load_explicit(&q->dropped, memory_order_relaxed);

    if (dropped != q->reported) {
        memset(ev, 0, sizeof *ev);
        ev->type = SL_EVENT_EVENTS_DROPPED;
        ev->value = (int64_t)(dropped - q->reported);
        ev->time_ns = sl__now_ns();
        q->reported = dropped;
        return SL_OK;
    }
    return sl__mpsc_pop(q->ring, ev);
}

uint64_t sl__evq_dropped(const sl__evq *q)
{
    return atomic_load_explicit(&q->dropped, memory_order_relaxed);
}

size_t sl__evq_capacity(const sl__evq *q)
{
    return sl__mpsc_capacity(q->ring);
}
