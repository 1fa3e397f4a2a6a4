/*
 * source_priv.h: sources inside sluice. A source is a stream of interleaved
 * float frames at its own rate and channel count, opened from a file path,
 * from a memory buffer (both decoded by libsndfile) or from a player's
 * sl_source_vtable. The reader (reader.h) converts it for the engine.
 *
 * Threads: open and close run on a control thread (they allocate); read,
 * seek and the queries run on whichever worker owns the source at the time,
 * one at a time. Nothing here is RT-safe: libsndfile reads may hit the disk.
 *
 * Errors carry a reason for people: every open takes a `why` buffer that
 * receives one line such as "not a recognised audio format", and
 * sl__source_why() gives the reason for the last failed read or seek.
 *
 * Seeking, measured with libsndfile 1.2.0 (tests/test_source.c):
 *  - PCM containers (WAV, AIFF, CAF, W64, AU, ...) and FLAC seek to the
 *    exact frame: the frames after a seek equal those of an unbroken read.
 *  - MP3 (libmpg123 through libsndfile): on the files this libsndfile
 *    writes (LAME, constant bit rate, with a LAME/Xing tag) a seek lands on
 *    the exact frame and the samples equal an unbroken decode, and the
 *    decode is gapless: no encoder delay or padding appears, the length is
 *    the frame count written. Not measured here (no other encoder on this
 *    machine): files without that tag keep the encoder's delay (silence at
 *    the start) and padding, so frame N is frame N of the delayed stream,
 *    and a variable-bit-rate file without a seek table may be seeked only
 *    approximately by mpg123. An MP3's length is therefore treated as an
 *    estimate: a stream that ends early just ends, without the "truncated"
 *    error.
 *  - Ogg Vorbis and Opus are not seek-tested; libsndfile seeks them by
 *    granule position.
 */
#ifndef SLUICE_SOURCE_PRIV_H
#define SLUICE_SOURCE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sluice/source.h>

typedef struct sl__source sl__source;

/* Longest reason kept by a source, terminator included. */
#define SL__WHY_LEN 192

/* Opens the audio file at `path` (any format this libsndfile reads).
 * On failure *out is NULL and `why` (if not NULL) holds the reason.
 * Errors: SL_EINVAL bad arguments; SL_ENOTFOUND no such file; SL_EIO the
 * file cannot be read (a directory, no permission, an I/O error);
 * SL_EFORMAT not audio, malformed, empty, or outside the channel and rate
 * limits; SL_ENOMEM. */
int sl__source_open_file(sl__source **out, const char *path, char *why,
                         size_t why_len);

/* Opens an audio file held in memory: the same formats as a path. The bytes
 * are NOT copied: `data` must stay valid and unchanged until
 * sl__source_close(). Errors: as sl__source_open_file(), without
 * SL_ENOTFOUND. */
int sl__source_open_memory(sl__source **out, const void *data, size_t size,
                           char *why, size_t why_len);

/* Wraps a player's source. `vt->read` and `vt->format` are required.
 * Once the vtable is accepted (arguments valid), `vt->close(user)` is
 * called exactly once: by sl__source_close(), or here if opening fails.
 * Errors: SL_EINVAL missing functions; SL_EFORMAT the format is outside the
 * limits; whatever `vt->format` returns; SL_ENOMEM. */
int sl__source_open_vtable(sl__source **out, const sl_source_vtable *vt,
                           void *user, char *why, size_t why_len);

/* Reads up to `frames` frames. Returns the count (0 only at the end) or a
 * negative SL_E* code with the reason in sl__source_why(). A file that ends
 * before the length its header promises is SL_EFORMAT "file is truncated".
 * Non-finite samples are passed on as they are. */
ptrdiff_t sl__source_read(sl__source *s, float *out, size_t frames);

/* Moves to frame `frame`. Errors: SL_EUNSUPPORTED not seekable; SL_EINVAL
 * negative frame; SL_ERANGE past the known length; SL_EIO the seek failed. */
int sl__source_seek(sl__source *s, int64_t frame);

/* Length in frames, or -1 when unknown. Can't fail. */
int64_t sl__source_length(const sl__source *s);

/* The stream format. Can't fail. */
sl_source_format sl__source_format(const sl__source *s);

/* True when sl__source_seek() can work. Can't fail. */
bool sl__source_can_seek(const sl__source *s);

/* The reason for the last failed read or seek ("" if none). */
const char *sl__source_why(const sl__source *s);

/* Closes the source and releases what it holds. NULL is ignored. */
void sl__source_close(sl__source *s);

#endif /* SLUICE_SOURCE_PRIV_H */
