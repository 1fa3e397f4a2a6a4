/*
 * reader.h: a source converted for the engine. The reader pulls frames from
 * a source, maps its channels to the engine's channel count, scrubs
 * non-finite samples and resamples to the engine's rate with libsamplerate.
 *
 * Threads: create and destroy on a control thread (they allocate). Read,
 * seek and the queries on the one worker that owns the reader at the time.
 * Read never allocates and never takes a lock (the source's own read may
 * block on the disk or a player's stream); it is not RT-safe only because
 * the source is not.
 *
 * Channels (the coefficients are in docs/ARCHITECTURE.md):
 *  - same count: copied unchanged;
 *  - mono in: the same sample on every output channel (no pan law: a mono
 *    file plays as loud as dual-mono stereo);
 *  - 3..8 channels to stereo: ITU-R BS.775 downmix of the WAVE layouts
 *    (L R C, quad, 5.0, 5.1, 6.1, 7.1): centre and surrounds at -3 dB
 *    (0.7071), a back centre at 0.5 on both sides, LFE dropped. Not
 *    normalised: a loud 5.1 mix can exceed 1.0, and the float pipeline
 *    keeps it for the master chain's limiter;
 *  - to mono: the stereo downmix above, then (L + R) / 2;
 *  - anything else: fewer channels in than out go to the first outputs in
 *    order, the other outputs silent; more in than out (no standard layout)
 *    average into output i % out.
 *
 * Non-finite samples (NaN, +-Inf) become 0 before mixing and resampling,
 * which would otherwise spread one bad sample over a whole filter length.
 */
#ifndef SLUICE_READER_H
#define SLUICE_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sluice/common.h>
#include "source_priv.h"

typedef struct sl__reader sl__reader;

/* Frames the reader asks its source for at a time. Buffers are sized for
 * this once, at create. */
#define SL__READER_BLOCK 1024

/* Creates a reader of `src` (owned from now on, closed by destroy, also if
 * create fails) at `out_rate` Hz with `out_channels` channels. When the
 * rates are equal no resampler runs and, with equal channel counts, the
 * output is the source's samples bit for bit (non-finite ones aside).
 * Errors: SL_EINVAL bad arguments (NULL, out_channels 0 or above
 * SL_MAX_CHANNELS, out_rate outside SL_MIN_RATE..SL_MAX_RATE, unknown
 * quality); SL_EUNSUPPORTED a rate ratio libsamplerate cannot convert
 * (beyond 256 either way); SL_ENOMEM. `why` gets the reason. */
int sl__reader_create(sl__reader **out, sl__source *src, unsigned out_rate,
                      unsigned out_channels, sl_resample_quality quality,
                      char *why, size_t why_len);

/* Reads up to `frames` frames at the output rate and channel count into
 * `out`. Returns the count, fewer than asked only at the end of the stream,
 * 0 at the end, or a negative SL_E* code (the source's error, or a
 * resampler failure) with the reason in sl__reader_why(). An error is
 * returned once the frames read before it have been delivered. When the
 * length is known the output stops there exactly (libsamplerate's linear
 * converter would otherwise give a frame more than round(in x ratio)). */
ptrdiff_t sl__reader_read(sl__reader *r, float *out, size_t frames);

/* Moves so that the next read starts at output frame `frame`. Errors:
 * SL_EUNSUPPORTED the source cannot seek; SL_EINVAL negative; SL_ERANGE
 * past the end; the source's seek or read error. With resampling the
 * source is sought a little earlier, on the rates' common grid, and the
 * frames up to `frame` are resampled and dropped, so the output continues
 * as an unbroken read would (see docs/ARCHITECTURE.md). */
int sl__reader_seek(sl__reader *r, int64_t frame);

/* The next output frame read() returns. Can't fail. */
int64_t sl__reader_position(const sl__reader *r);

/* Length in output frames, or -1 when the source's length is unknown.
 * Can't fail. */
int64_t sl__reader_length(const sl__reader *r);

/* The reason for the last failed read or seek ("" if none). */
const char *sl__reader_why(const sl__reader *r);

/* Destroys the reader and closes its source. NULL is ignored. */
void sl__reader_destroy(sl__reader *r);

#endif /* SLUICE_READER_H */
