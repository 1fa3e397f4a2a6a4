/*
 * evq.h: the event queue, from the audio side to the application.
 *
 * A bounded lock-free multi-producer single-consumer queue of sl_event
 * records (src/mpsc.h). Producers are the scheduler thread, pool workers
 * and the device callback: a push takes no lock, allocates nothing, makes
 * no system call and never waits; when the queue is full the event is
 * dropped and counted. The one consumer is the application's poll call or
 * a dispatcher thread; it receives the drops as one
 * SL_EVENT_EVENTS_DROPPED event (value: how many) before the next record.
 *
 * Producers: any thread, RT-safe. Consumer: one thread at a time.
 */
#ifndef SLUICE_EVQ_H
#define SLUICE_EVQ_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/events.h>

typedef struct sl__evq sl__evq;

/* Creates a queue holding at least `min_events` events (rounded up to a
 * power of two). Control thread; allocates.
 * Errors: SL_EINVAL (NULL out, 0 or more than 2^24 events); SL_ENOMEM. */
int sl__evq_create(sl__evq **out, size_t min_events);

/* Frees the queue. NULL is ignored. No other call may run or follow. */
void sl__evq_destroy(sl__evq *q);

/* Queues a copy of *ev, stamping its time_ns when it is 0. Returns 0, or
 * SL_EFULL when the queue is full: the event is dropped and counted.
 * Any thread; RT-safe (no lock, no allocation, no system call). */
int sl__evq_push(sl__evq *q, const sl_event *ev);

/* Builds and queues an event: type, track, error, frame, and a reason
 * (may be NULL) cut to SL_EVENT_REASON_MAX - 1 bytes. Same contract as
 * sl__evq_push(). Any thread; RT-safe. */
int sl__evq_send(sl__evq *q, sl_event_type type, uint64_t track, int error,
                 int64_t frame, const char *reason);

/* Takes the oldest event into *ev. When events were dropped since the
 * last report, returns an SL_EVENT_EVENTS_DROPPED event with the count in
 * `value` first. Returns 0, or SL_EEMPTY when there is nothing to take.
 * Consumer only; RT-safe. */
int sl__evq_pop(sl__evq *q, sl_event *ev);

/* Events dropped since creation (relaxed: a recent value). Any thread. */
uint64_t sl__evq_dropped(const sl__evq *q);

/* The number of events the queue holds. Can't fail. */
size_t sl__evq_capacity(const sl__evq *q);

#endif /* SLUICE_EVQ_H */
