/*
 * sluice/ring.h: the lock-free PCM ring between the engine and the device.
 *
 * One producer thread writes interleaved float32 frames, one consumer
 * thread reads them; neither ever blocks, locks or allocates. The channel
 * count is fixed when the ring is created and the capacity is a power of
 * two frames. The ring never holds more than its capacity: a write returns
 * how many frames fitted, a read how many were there.
 *
 * Two ways to move frames:
 *  - copying: sl_ring_write() / sl_ring_read();
 *  - zero-copy: sl_ring_write_regions() exposes up to two writable regions
 *    (two when the free space wraps around the end of the buffer), the
 *    producer fills them in place and publishes them with sl_ring_commit();
 *    sl_ring_read_regions() / sl_ring_release() do the same for reading.
 *
 * "Producer side" below means: only the one thread that currently owns the
 * writing end may call it. Likewise for "consumer side". Which thread owns
 * an end may change over time as long as the hand-over itself is ordered
 * (for example by a thread join or a mutex outside the ring).
 */
#ifndef SLUICE_RING_H
#define SLUICE_RING_H

#include <stddef.h>
#include <sluice/common.h>

SL_BEGIN_DECLS

typedef struct sl_ring sl_ring;

/* A contiguous run of frames inside the ring's buffer. */
typedef struct sl_ring_region {
    float *data;   /* first sample of the run (interleaved frames) */
    size_t frames; /* length of the run in frames; 0 when unused */
} sl_ring_region;

/* The largest capacity sl_ring_create() accepts, in frames. */
#define SL_RING_MAX_FRAMES ((size_t)1 << 30)
/* The largest channel count sl_ring_create() accepts. */
#define SL_RING_MAX_CHANNELS 1024u

/* Creates an empty ring for `channels` interleaved channels holding at least
 * `min_frames` frames; the capacity is `min_frames` rounded up to a power of
 * two. All memory the ring will ever use is allocated here.
 * Thread: any thread; not RT-safe (allocates).
 * Errors: SL_EINVAL when out is NULL, channels is 0 or above
 * SL_RING_MAX_CHANNELS, or min_frames is 0 or above SL_RING_MAX_FRAMES;
 * SL_ENOMEM when the buffer cannot be allocated. *out is NULL on error. */
SL_API int sl_ring_create(sl_ring **out, unsigned channels, size_t min_frames);

/* Frees the ring. Both sides must have stopped using it. NULL is ignored.
 * Thread: any thread, once neither side uses the ring; not RT-safe.
 * Errors: none. */
SL_API void sl_ring_destroy(sl_ring *ring);

/* Copies up to `frames` frames from `src` into the ring and publishes them.
 * Returns the number of frames written: fewer than asked (possibly 0) when
 * the ring is full.
 * Thread: producer side; RT-safe (no lock, no allocation, no wait).
 * Errors: none; a NULL src is allowed only with frames == 0. */
SL_API size_t sl_ring_write(sl_ring *ring, const float *src, size_t frames);

/* Copies up to `frames` frames out of the ring into `dst` and frees their
 * space. Returns the number of frames read: fewer than asked (possibly 0)
 * when the ring holds fewer.
 * Thread: consumer side; RT-safe.
 * Errors: none; a NULL dst is allowed only with frames == 0. */
SL_API size_t sl_ring_read(sl_ring *ring, float *dst, size_t frames);

/* Exposes free space for in-place writing: fills regions[0] and regions[1]
 * with up to `frames` writable frames in order (regions[1].frames is 0 when
 * the space does not wrap) and returns their total. Nothing is published
 * until sl_ring_commit(). Calling it again before committing returns the
 * same space.
 * Thread: producer side; RT-safe.
 * Errors: none. */
SL_API size_t sl_ring_write_regions(sl_ring *ring, size_t frames,
                                    sl_ring_region regions[2]);

/* Publishes the first `frames` frames of the regions last returned by
 * sl_ring_write_regions() to the consumer. Committing more than that call
 * returned is a programming error; the count is clamped to the free space.
 * Thread: producer side; RT-safe.
 * Errors: none. */
SL_API void sl_ring_commit(sl_ring *ring, size_t frames);

/* Exposes readable frames in place: fills regions[0] and regions[1] with up
 * to `frames` readable frames in order and returns their total. The frames
 * stay in the ring until sl_ring_release().
 * Thread: consumer side; RT-safe.
 * Errors: none. */
SL_API size_t sl_ring_read_regions(sl_ring *ring, size_t frames,
                                   sl_ring_region regions[2]);

/* Frees the first `frames` frames of the readable data, after the consumer
 * has used the regions from sl_ring_read_regions(). Releasing more than is
 * readable is a programming error; the count is clamped.
 * Thread: consumer side; RT-safe.
 * Errors: none. */
SL_API void sl_ring_release(sl_ring *ring, size_t frames);

/* Returns the number of frames the consumer can read now. From the consumer
 * side this is a lower bound (the producer may add more); from the producer
 * side an upper bound.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API size_t sl_ring_readable(const sl_ring *ring);

/* Returns the number of frames the producer can write now. From the
 * producer side this is a lower bound; from the consumer side an upper
 * bound.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API size_t sl_ring_writable(const sl_ring *ring);

/* Returns the capacity in frames (a power of two).
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API size_t sl_ring_capacity(const sl_ring *ring);

/* Returns the channel count the ring was created with.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API unsigned sl_ring_channels(const sl_ring *ring);

/* Empties the ring. Only while both sides are quiescent: no producer and no
 * consumer call may be running or start until sl_ring_reset() returns, and
 * the threads that use the ring next must be ordered after this call (for
 * example by starting them, or by a mutex or join between them). Calling it
 * while either side is active corrupts the ring.
 * Thread: any thread while both sides are quiescent; RT-safe.
 * Errors: none. */
SL_API void sl_ring_reset(sl_ring *ring);

SL_END_DECLS

#endif /* SLUICE_RING_H */
