/*
 * file_sink.h: writes interleaved float frames into an audio file through
 * libsndfile, all or nothing (the offline render's output).
 *
 * The format comes from the target's extension. Samples go to a temporary
 * file created beside the target (same directory, O_EXCL, named
 * ".NAME.XXXXXX.part"); only sl__file_sink_commit() moves it over the
 * target, after closing and syncing it. Abort, or any write error, removes
 * the temporary file. So a failed render never leaves a partial file and
 * never destroys a file already at the target path.
 *
 * SIGXFSZ. A write beyond RLIMIT_FSIZE raises SIGXFSZ, whose default
 * action kills the process. The library never changes signal
 * dispositions: a program that wants such a write to fail with "file too
 * large" instead (the sluice command does) must ignore SIGXFSZ itself,
 * e.g. signal(SIGXFSZ, SIG_IGN).
 *
 * Thread: one sink is used by one thread at a time, never the device
 * callback: every call may block on the file system and allocate.
 */
#ifndef SLUICE_FILE_SINK_H
#define SLUICE_FILE_SINK_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl__file_sink sl__file_sink;

/* The sample encoding of a lossless container. Lossy formats (Ogg
 * Vorbis, Opus, MP3) take only SL__SAMPLE_DEFAULT. */
typedef enum sl__sample_format {
    SL__SAMPLE_DEFAULT = 0, /* float32; 24-bit PCM for FLAC; the codec
                               for lossy formats */
    SL__SAMPLE_PCM16 = 1,
    SL__SAMPLE_PCM24 = 2,
    SL__SAMPLE_FLOAT = 3 /* not for FLAC, which has no float */
} sl__sample_format;

/* Start from sl__file_sink_options_default(). */
typedef struct sl__file_sink_options {
    sl__sample_format sample; /* SL__SAMPLE_DEFAULT */
} sl__file_sink_options;

/* Fills `opt` with the defaults. Can't fail. */
void sl__file_sink_options_default(sl__file_sink_options *opt);

/* The known extensions, for messages: "wav, aiff, aif, flac, ...". */
const char *sl__file_sink_extensions(void);

/* Validates the format (extension, sample format, rate, channels) and
 * creates the temporary file beside `path`. `opt` may be NULL. On error
 * writes a reason naming `path` into `why` (when why_len > 0) and creates
 * nothing.
 * Errors: SL_EINVAL (NULL or empty path, rate or channels 0);
 * SL_EFORMAT (unknown extension, a sample format, rate or channel count
 * the format cannot hold); SL_EIO (the directory is missing or not a
 * directory, the target is a directory, the temporary file cannot be
 * created); SL_ENOMEM. */
int sl__file_sink_open(sl__file_sink **out, const char *path, unsigned rate,
                       unsigned channels, const sl__file_sink_options *opt,
                       char *why, size_t why_len);

/* Appends `frames` interleaved frames. Samples outside [-1, 1] are
 * clipped by PCM encodings. On a write error the temporary file is
 * removed at once and this and every later write fails with the same
 * error; sl__file_sink_error() says why and commit reports it.
 * Errors: SL_EINVAL (NULL samples with frames > 0); SL_EIO. */
int sl__file_sink_write(sl__file_sink *sink, const float *interleaved,
                        size_t frames);

/* The reason for the sink's first error ("/x/out.flac: file too large"),
 * or "" when none. Valid until the sink is freed. */
const char *sl__file_sink_error(const sl__file_sink *sink);

/* The frames written so far. */
uint64_t sl__file_sink_frames(const sl__file_sink *sink);

/* Finishes the file: closes the encoder, syncs the file, renames it over
 * the target and syncs the directory. Frees the sink whatever happens. On
 * error the temporary file is removed, the target is left as it was, and
 * a reason naming the target goes into `why`.
 * Errors: SL_EINVAL (NULL sink); SL_EIO (an earlier write error, or the
 * close, sync or rename failed). */
int sl__file_sink_commit(sl__file_sink *sink, char *why, size_t why_len);

/* Removes the temporary file and frees the sink; the target is left as it
 * was. NULL is ignored. Can't fail. */
void sl__file_sink_abort(sl__file_sink *sink);

#endif /* SLUICE_FILE_SINK_H */
