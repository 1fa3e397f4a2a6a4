/*
 * mpsc.h: a bounded multi-producer single-consumer queue of fixed-size
 * records (Dmitry Vyukov's bounded queue, with the consumer side reduced
 * to one thread). The event queue (evq.h) and the log ring (log.h) are
 * built on it.
 *
 * Every cell carries a sequence number that says whose turn it is. A
 * producer claims a cell by advancing the shared enqueue index with a
 * compare-and-swap, fills it in place, and publishes it by storing the
 * cell's sequence with release; the consumer takes cells in index order
 * once their sequence says they are published, and hands each back to the
 * producers of the next lap with another release store.
 *
 * Producers never wait: a full queue makes sl__mpsc_claim() return NULL at
 * once (the caller drops and counts). No lock, no allocation, no system
 * call on either side after creation. A producer preempted between claim
 * and publish holds back the consumer (it sees "empty" at that cell until
 * the publish) but no other producer: they keep claiming later cells and
 * drop once the queue wraps onto the unpublished one.
 *
 * Producers: any threads, the device callback included (RT-safe).
 * Consumer: one thread at a time.
 */
#ifndef SLUICE_MPSC_H
#define SLUICE_MPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl__mpsc sl__mpsc;

/* Creates a queue of at least `min_records` records (rounded up to a power
 * of two, at least 2) of `record_size` bytes each. Control thread;
 * allocates.
 * Errors: SL_EINVAL (NULL out, a size of 0, too large); SL_ENOMEM. */
int sl__mpsc_create(sl__mpsc **out, size_t record_size, size_t min_records);

/* Frees the queue. NULL is ignored. No other call may run or follow. */
void sl__mpsc_destroy(sl__mpsc *q);

/* The number of records the queue holds. Can't fail. */
size_t sl__mpsc_capacity(const sl__mpsc *q);

/* Claims the next free record for the calling producer and returns it
 * (aligned for any scalar type), with its ticket in *ticket; or NULL when
 * the queue is full. The record must be published with
 * sl__mpsc_publish() soon: until then the consumer cannot pass it.
 * Any thread; RT-safe; never blocks. */
void *sl__mpsc_claim(sl__mpsc *q, size_t *ticket);

/* Makes the record claimed with `ticket` visible to the consumer. Any
 * thread; RT-safe. */
void sl__mpsc_publish(sl__mpsc *q, size_t ticket);

/* Copies one record in: claim, copy, publish. Returns 0, or SL_EFULL when
 * the queue is full (nothing is written). Any thread; RT-safe. */
int sl__mpsc_push(sl__mpsc *q, const void *record);

/* Returns the oldest published record, or NULL when there is none yet
 * (the queue is empty, or the next record is claimed but unpublished).
 * The record stays valid and in the queue until sl__mpsc_release().
 * Consumer only; RT-safe. */
const void *sl__mpsc_peek(sl__mpsc *q);

/* Hands the record returned by the last sl__mpsc_peek() back to the
 * producers. Consumer only; RT-safe. Must follow a successful peek. */
void sl__mpsc_release(sl__mpsc *q);

/* Copies the oldest published record out and releases it. Returns 0, or
 * SL_EEMPTY when there is none. Consumer only; RT-safe. */
int sl__mpsc_pop(sl__mpsc *q, void *record);

#endif /* SLUICE_MPSC_H */
