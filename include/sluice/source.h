/*
 * sluice/source.h: the interface a player implements to feed sluice its
 * own audio (a network stream, a synthesiser, a decoder sluice does not
 * have), and the limits every source is held to.
 *
 * A source delivers interleaved 32-bit float frames at its own sample rate
 * and channel count; sluice converts them to the engine's rate and channel
 * count (see "Sources and conversion" in docs/ARCHITECTURE.md). Files and
 * memory buffers are read through libsndfile without a vtable.
 *
 * The vtable's functions run on a sluice worker thread, never on the device
 * callback, and never two at a time for one source: read, seek, length and
 * format need no locking against each other. They may block (disk, network)
 * but a read that blocks silences its own track only.
 */
#ifndef SLUICE_SOURCE_H
#define SLUICE_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sluice/common.h>

SL_BEGIN_DECLS

/* The most channels a source may have. A file or source with more is
 * refused when it is opened (SL_EFORMAT, with the count in the reason). */
#define SL_MAX_CHANNELS 32

/* The sample rates a source may have, in Hz. Rates outside are refused
 * when the source is opened (SL_EFORMAT). Between two rates in this range
 * the resampler must also accept the ratio (at most 256 either way). */
#define SL_MIN_RATE 1000
#define SL_MAX_RATE 1536000

/* A source's stream format. */
typedef struct sl_source_format {
    unsigned rate;     /* frames per second, SL_MIN_RATE..SL_MAX_RATE */
    unsigned channels; /* 1..SL_MAX_CHANNELS, interleaved */
} sl_source_format;

/* A player's own source. `user` is the pointer given with the vtable.
 * Keep the vtable itself in static storage (a const struct with designated
 * initializers); sluice keeps a pointer to it until close. */
typedef struct sl_source_vtable {
    /* Reads up to `frames` interleaved frames into `out` (frames x channels
     * floats). Returns the number of frames read (fewer is fine, 0 only at
     * the end of the stream) or a negative SL_E* code, which ends the track
     * with that error. Non-finite samples are allowed: they become 0. */
    ptrdiff_t (*read)(void *user, float *out, size_t frames);
    /* Moves to frame `frame` (0-based, at the source's own rate). Returns
     * SL_OK or a negative SL_E* code. NULL: the source cannot seek, and
     * seeking its track fails with SL_EUNSUPPORTED. */
    int (*seek)(void *user, int64_t frame);
    /* Returns the length in frames, or -1 when unknown (a live stream).
     * NULL means unknown. */
    int64_t (*length)(void *user);
    /* Fills `fmt`. Called once, when the source is opened. Required.
     * Returns SL_OK or a negative SL_E* code. */
    int (*format)(void *user, sl_source_format *fmt);
    /* Releases `user`. Called exactly once, also when opening the source
     * failed after the vtable was accepted. NULL: nothing to release. */
    void (*close)(void *user);
} sl_source_vtable;

SL_END_DECLS

#endif /* SLUICE_SOURCE_H */
