/*
 * mpsc.c: the bounded MPSC record queue (Vyukov's bounded queue).
 *
 * Cell i of lap L (index pos = L * capacity + i) is free for the producer
 * of pos when its sequence equals pos, and published for the consumer
 * when it equals pos + 1; the consumer frees it for the next lap by
 * storing pos + capacity. Indices are free-running size_t; the sequence
 * comparisons are done as differences in signed arithmetic, which stay
 * correct across the wrap of the integer type because the capacity is far
 * below half its range.
 *
 * Memory orders. A producer loads the cell's sequence with acquire, which
 * pairs with the consumer's release store when it freed the cell: the
 * consumer's reads of the previous record happen before the producer
 * overwrites it. The producer's release store of pos + 1 pairs with the
 * consumer's acquire load: the record's bytes are visible before the
 * consumer reads them. The enqueue index itself only hands out tickets,
 * so its loads and compare-and-swap are relaxed: the cell sequences carry
 * all the ordering.
 *
 * Producers: any thread, RT-safe. Consumer: one thread at a time.
 */
#include "config.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "mpsc.h"

#define CACHE_LINE 64

struct sl__mpsc {
    alignas(CACHE_LINE) atomic_size_t enqueue_pos; /* producers' line */
    alignas(CACHE_LINE) size_t dequeue_pos;        /* consumer only */
    alignas(CACHE_LINE) unsigned char *cells;      /* read-only after init */
    size_t stride;      /* bytes per cell: sequence, then record */
    size_t record_size;
    size_t mask;        /* capacity - 1 */
};

/* The record starts at the alignment of max_align_t after the sequence. */
#define HEADER_SIZE                                                            \
    ((sizeof(atomic_size_t) + alignof(max_align_t) - 1) /                      \
     alignof(max_align_t) * alignof(max_align_t))

static atomic_size_t *cell_seq(const sl__mpsc *q, size_t pos)
{
    return (atomic_size_t *)(void *)(q->cells + (pos & q->mask) * q->stride);
}

static void *cell_record(const sl__mpsc *q, size_t pos)
{
    return q->cells + (pos & q->mask) * q->stride + HEADER_SIZE;
}

int sl__mpsc_create(sl__mpsc **out, size_t record_size, size_t min_records)
{
    sl__mpsc *q = NULL;
    size_t cap = 2;

    if (out == NULL)
        return SL_EINVAL;
    *out = NULL;
    if (record_size == 0 || record_size > (1u << 20) || min_records == 0 ||
        min_records > ((size_t)1 << 24))
        return SL_EINVAL;
    while (cap < min_records)
        cap <<= 1;
    q = aligned_alloc(CACHE_LINE, sizeof *q);
    if (q == NULL)
        goto fail;
    memset(q, 0, sizeof *q);
    q->record_size = record_size;
    q->stride = (HEADER_SIZE + record_size + alignof(max_align_t) - 1) /
                alignof(max_align_t) * alignof(max_align_t);
    q->mask = cap - 1;
    q->cells = aligned_alloc(CACHE_LINE, (cap * q->stride + CACHE_LINE - 1) /
                                             CACHE_LINE * CACHE_LINE);
    if (q->cells == NULL)
        goto fail;
    memset(q->cells, 0, cap * q->stride);
    for (size_t i = 0; i < cap; i++)
        atomic_init(cell_seq(q, i), i);
    atomic_init(&q->enqueue_pos, 0);
    q->dequeue_pos = 0;
    *out = q;
    return SL_OK;

fail:
    free(q);
    return SL_ENOMEM;
}

void sl__mpsc_destroy(sl__mpsc *q)
{
    if (q == NULL)
        return;
    free(q->cells);
    free(q);
}

size_t sl__mpsc_capacity(const sl__mpsc *q)
{
    return q->mask + 1;
}

void *sl__mpsc_claim(sl__mpsc *q, size_t *ticket)
{
    size_t pos = atomic_load_explicit(&q->enqueue_pos, memory_order_relaxed);

    for (;;) {
        size_t seq =
            atomic_load_explicit(cell_seq(q, pos), memory_order_acquire);
        ptrdiff_t dif = (ptrdiff_t)(seq - pos);
        if (dif == 0) {
            /* Free for this lap: take the ticket if nobody did. On failure
             * the CAS reloads pos and we look at that cell instead. */
            if (atomic_compare_exchange_weak_explicit(
                    &q->enqueue_pos, &pos, pos + 1, memory_order_relaxed,
                    memory_order_relaxed))
                break;
        } else if (dif < 0) {
            /* Still holds last lap's record: the queue is full. */
            return NULL;
        } else {
            /* Another producer took this ticket; catch up. */
            pos = atomic_load_explicit(&q->enqueue_pos, memory_order_relaxed);
        }
    }
    *ticket = pos;
    return cell_record(q, pos);
}

void sl__mpsc_publish(sl__mpsc *q, size_t ticket)
{
    atomic_store_explicit(cell_seq(q, ticket), ticket + 1,
                          memory_order_release);
}

int sl__mpsc_push(sl__mpsc *q, const void *record)
{
    size_t ticket;
    void *cell = sl__mpsc_claim(q, &ticket);

    if (cell == NULL)
        return SL_EFULL;
    memcpy(cell, record, q->record_size);
    sl__mpsc_publish(q, ticket);
    return SL_OK;
}

const void *sl__mpsc_peek(sl__mpsc *q)
{
    size_t pos = q->dequeue_pos;
    size_t seq = atomic_load_explicit(cell_seq(q, pos), memory_order_acquire);

    if ((ptrdiff_t)(seq - (pos + 1)) < 0)
        return NULL;
    return cell_record(q, pos);
}

void sl__mpsc_release(sl__mpsc *q)
{
    size_t pos = q->dequeue_pos;

    /* Free the cell for the producer of the next lap (release: our reads
     * of the record are done before it may overwrite it). */
    atomic_store_explicit(cell_seq(q, pos), pos + q->mask + 1,
                          memory_order_release);
    q->dequeue_pos = pos + 1;
}

int sl__mpsc_pop(sl__mpsc *q, void *record)
{
    const void *cell = sl__mpsc_peek(q);

    if (cell == NULL)
        return SL_EEMPTY;
    memcpy(record, cell, q->record_size);
    sl__mpsc_release(q);
    return SL_OK;
}
