/*
 * ring.c: the single-producer single-consumer PCM ring.
 *
 * Producer and consumer each own one free-running index; the number of
 * frames in the ring is write_idx - read_idx in unsigned arithmetic, which
 * stays correct across the wrap of size_t because the capacity is a power
 * of two no larger than half the index range. A side publishes its index
 * with a release store after touching the samples and reads the other
 * side's index with an acquire load before touching them, so samples are
 * never read before they are written nor overwritten before they are read.
 *
 * Each side also keeps a private copy of the other side's index and only
 * reloads the shared one when the copy says there is not enough room or
 * data, which keeps the two cache lines from bouncing on every call.
 *
 * Producer functions run on the producer thread, consumer functions on the
 * consumer thread (usually the device callback). All of them are RT-safe,
 * and marked SL__NONBLOCKING (rt.h): in a RealtimeSanitizer build any
 * unsafe call made inside them aborts, whichever thread calls them.
 */
#include "config.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "ring_priv.h"
#include "rt.h"

#define CACHE_LINE 64

struct sl_ring {
    /* Producer's line: its index and its view of the consumer's index. */
    alignas(CACHE_LINE) atomic_size_t write_idx;
    size_t read_cache;
    /* Consumer's line. */
    alignas(CACHE_LINE) atomic_size_t read_idx;
    size_t write_cache;
    /* Read-only after creation. */
    alignas(CACHE_LINE) float *buf;
    size_t capacity; /* frames, a power of two */
    size_t mask;     /* capacity - 1 */
    unsigned channels;
};

static size_t round_up_pow2(size_t n)
{
    size_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

int sl_ring_create(sl_ring **out, unsigned channels, size_t min_frames)
{
    sl_ring *ring = NULL;

    if (out == NULL)
        return SL_EINVAL;
    *out = NULL;
    if (channels == 0 || channels > SL_RING_MAX_CHANNELS || min_frames == 0 ||
        min_frames > SL_RING_MAX_FRAMES)
        return SL_EINVAL;

    ring = aligned_alloc(CACHE_LINE, sizeof *ring);
    if (ring == NULL)
        goto fail;
    memset(ring, 0, sizeof *ring);
    ring->capacity = round_up_pow2(min_frames);
    ring->mask = ring->capacity - 1;
    ring->channels = channels;
    ring->buf = calloc(ring->capacity * channels, sizeof(float));
    if (ring->buf == NULL)
        goto fail;
    atomic_init(&ring->write_idx, 0);
    atomic_init(&ring->read_idx, 0);
    *out = ring;
    return SL_OK;

fail:
    free(ring);
    return SL_ENOMEM;
}

void sl_ring_destroy(sl_ring *ring)
{
    if (ring == NULL)
        return;
    free(ring->buf);
    free(ring);
}

/* Splits `n` frames starting at free-running index `idx` into at most two
 * contiguous regions of the buffer. */
static void split(const sl_ring *ring, size_t idx, size_t n,
                  sl_ring_region regions[2])
{
    size_t off = idx & ring->mask;
    size_t first = ring->capacity - off;

    if (first > n)
        first = n;
    regions[0].data = ring->buf + off * ring->channels;
    regions[0].frames = first;
    regions[1].data = n > first ? ring->buf : NULL;
    regions[1].frames = n - first;
}

/* Frames the producer may write, refreshing its copy of the consumer's
 * index only when the copy shows less than `want`. */
static size_t producer_space(sl_ring *ring, size_t w, size_t want)
{
    size_t space = ring->capacity - (w - ring->read_cache);

    if (space < want) {
        /* acquire: the consumer finished reading these frames before it
         * released them, so they may be overwritten now. */
        ring->read_cache =
            atomic_load_explicit(&ring->read_idx, memory_order_acquire);
        space = ring->capacity - (w - ring->read_cache);
    }
    return space;
}

/* Frames the consumer may read, refreshing its copy of the producer's index
 * only when the copy shows less than `want`. */
static size_t consumer_avail(sl_ring *ring, size_t r, size_t want)
{
    size_t avail = ring->write_cache - r;

    if (avail < want) {
        /* acquire: the samples were written before the index was
         * published. */
        ring->write_cache =
            atomic_load_explicit(&ring->write_idx, memory_order_acquire);
        avail = ring->write_cache - r;
    }
    return avail;
}

size_t sl_ring_write_regions(sl_ring *ring, size_t frames,
                             sl_ring_region regions[2]) SL__NONBLOCKING
{
    /* relaxed: only this thread stores write_idx. */
    size_t w = atomic_load_explicit(&ring->write_idx, memory_order_relaxed);
    size_t space = producer_space(ring, w, frames);
    size_t n = frames < space ? frames : space;

    split(ring, w, n, regions);
    return n;
}

void sl_ring_commit(sl_ring *ring, size_t frames) SL__NONBLOCKING
{
    size_t w = atomic_load_explicit(&ring->write_idx, memory_order_relaxed);
    size_t space = ring->capacity - (w - ring->read_cache);

    if (frames > space)
        frames = space;
    /* release: publishes the samples written into the regions. */
    atomic_store_explicit(&ring->write_idx, w + frames, memory_order_release);
}

size_t sl_ring_read_regions(sl_ring *ring, size_t frames,
                            sl_ring_region regions[2]) SL__NONBLOCKING
{
    /* relaxed: only this thread stores read_idx. */
    size_t r = atomic_load_explicit(&ring->read_idx, memory_order_relaxed);
    size_t avail = consumer_avail(ring, r, frames);
    size_t n = frames < avail ? frames : avail;

    split(ring, r, n, regions);
    return n;
}

void sl_ring_release(sl_ring *ring, size_t frames) SL__NONBLOCKING
{
    size_t r = atomic_load_explicit(&ring->read_idx, memory_order_relaxed);
    size_t avail = ring->write_cache - r;

    if (frames > avail)
        frames = avail;
    /* release: our reads of the samples happen before the producer may
     * overwrite them. */
    atomic_store_explicit(&ring->read_idx, r + frames, memory_order_release);
}

size_t sl_ring_write(sl_ring *ring, const float *src,
                     size_t frames) SL__NONBLOCKING
{
    sl_ring_region regions[2];
    size_t n = sl_ring_write_regions(ring, frames, regions);

    for (int i = 0; i < 2 && regions[i].frames > 0; i++) {
        size_t samples = regions[i].frames * ring->channels;
        memcpy(regions[i].data, src, samples * sizeof(float));
        src += samples;
    }
    sl_ring_commit(ring, n);
    return n;
}

size_t sl_ring_read(sl_ring *ring, float *dst,
                    size_t frames) SL__NONBLOCKING
{
    sl_ring_region regions[2];
    size_t n = sl_ring_read_regions(ring, frames, regions);

    for (int i = 0; i < 2 && regions[i].frames > 0; i++) {
        size_t samples = regions[i].frames * ring->channels;
        memcpy(dst, regions[i].data, samples * sizeof(float));
        dst += samples;
    }
    sl_ring_release(ring, n);
    return n;
}

size_t sl_ring_readable(const sl_ring *ring) SL__NONBLOCKING
{
    /* Load the consumer's index first: the producer's index, loaded after,
     * can only be further ahead, so the difference never goes negative. */
    size_t r = atomic_load_explicit(&ring->read_idx, memory_order_acquire);
    size_t w = atomic_load_explicit(&ring->write_idx, memory_order_acquire);
    size_t n = w - r;

    return n > ring->capacity ? ring->capacity : n;
}

size_t sl_ring_writable(const sl_ring *ring)
{
    return ring->capacity - sl_ring_readable(ring);
}

size_t sl_ring_capacity(const sl_ring *ring)
{
    return ring->capacity;
}

unsigned sl_ring_channels(const sl_ring *ring)
{
    return ring->channels;
}

void sl__ring_reset_at(sl_ring *ring, size_t start)
{
    atomic_store_explicit(&ring->write_idx, start, memory_order_relaxed);
    atomic_store_explicit(&ring->read_idx, start, memory_order_relaxed);
    ring->read_cache = start;
    ring->write_cache = start;
}

void sl_ring_reset(sl_ring *ring)
{
    sl__ring_reset_at(ring, 0);
}
