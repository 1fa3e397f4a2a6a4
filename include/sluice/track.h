/*
 * sluice/track.h: the tracks an engine plays.
 *
 * A track is a source (a file, a file held in memory, or a player's
 * sl_source_vtable) decoded by libsndfile, mapped to the engine's channels
 * (mono up-mixed, multichannel down-mixed with the ITU coefficients, see
 * docs/ARCHITECTURE.md), converted to the engine's rate by libsamplerate,
 * read ahead on the worker pool into a buffer of its own, and mixed by the
 * master node through its effects chain, gain, pan and fades.
 *
 * Ids. A track is named by an sl_track_id, never 0 and never reused by an
 * engine; calls on a closed track fail with SL_ENOTFOUND.
 *
 * States. A track opens STOPPED at frame 0. Play makes it PLAYING (a
 * paused track resumes, an ended one starts over). A queued track
 * (sl_track_queue()) is QUEUED: it is read ahead but silent until the
 * track before it ends, or reaches the crossfade point. PAUSED and
 * STOPPED fade out over a few milliseconds first, so nothing clicks; play
 * fades in from a pause. A track ENDS at its end (or at the end point set
 * with sl_track_set_end()) and FAILS when its source fails or its job
 * faults; both are reported as events, and the next queued track takes
 * over.
 *
 * Frames. Positions, lengths and loop points are counted in frames at the
 * engine's output rate, from the start of the track.
 *
 * Seeking. A seek fades the track out, drops everything read ahead and in
 * flight for it, and fades in at the new position: no audio from before
 * the seek is heard once it has taken effect. PCM formats and FLAC seek to
 * the exact frame; MP3 files written with a LAME/Xing tag too, others to
 * mpg123's estimate; Ogg Vorbis and Opus to libsndfile's granule search.
 *
 * Threads: every call is a control call (see sluice/engine.h): any thread,
 * never waits for the audio side. Opening a track reads the file's header
 * on the calling thread.
 */
#ifndef SLUICE_TRACK_H
#define SLUICE_TRACK_H

#include <stddef.h>
#include <stdint.h>
#include <sluice/chain.h>
#include <sluice/common.h>
#include <sluice/engine.h>
#include <sluice/source.h>

SL_BEGIN_DECLS

/* An engine's name for a track; never 0. */
typedef uint64_t sl_track_id;

typedef enum sl_track_state {
    SL_TRACK_STOPPED = 0,
    SL_TRACK_QUEUED = 1,
    SL_TRACK_PLAYING = 2,
    SL_TRACK_PAUSED = 3,
    SL_TRACK_ENDED = 4,
    SL_TRACK_FAILED = 5
} sl_track_state;

/* Returns the name of a state, such as "PLAYING". Returns a static string;
 * an unknown value gives "UNKNOWN".
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API const char *sl_track_state_name(sl_track_state state);

/* Opens the audio file at `path` (any format libsndfile reads here) as a
 * new STOPPED track and stores its id in *id. On error `why` (when why_len
 * > 0) receives one line naming the file and the reason, such as
 * "a.flac: file is truncated".
 * Thread: control thread; not RT-safe (reads the file's header).
 * Errors: SL_EINVAL (NULL arguments); SL_ENOTFOUND (no such file); SL_EIO
 * (a directory, no permission); SL_EFORMAT (not audio, malformed, empty,
 * more than SL_MAX_CHANNELS channels or a rate outside SL_MIN_RATE..
 * SL_MAX_RATE); SL_EUNSUPPORTED (a rate ratio the resampler cannot do);
 * SL_EFULL (max_tracks are open); SL_ENOMEM. */
SL_API int sl_track_open_file(sl_engine *engine, const char *path,
                              sl_track_id *id, char *why, size_t why_len);

/* Opens an audio file held in memory, as sl_track_open_file(). The bytes
 * are not copied: they must stay valid and unchanged until the track is
 * closed.
 * Thread: control thread; not RT-safe.
 * Errors: as sl_track_open_file() without SL_ENOTFOUND. */
SL_API int sl_track_open_memory(sl_engine *engine, const void *data,
                                size_t size, sl_track_id *id, char *why,
                                size_t why_len);

/* Opens a player's own source (see sluice/source.h). Once the vtable is
 * accepted, vt->close(user) is called exactly once: when the track is
 * closed, or here when opening fails.
 * Thread: control thread; not RT-safe.
 * Errors: SL_EINVAL (NULL, no read or format function); SL_EFORMAT (a
 * format outside the limits); what vt->format returns; SL_EUNSUPPORTED;
 * SL_EFULL; SL_ENOMEM. */
SL_API int sl_track_open_source(sl_engine *engine, const sl_source_vtable *vt,
                                void *user, sl_track_id *id, char *why,
                                size_t why_len);

/* Closes a track: it stops at once (fading out if audible) and everything
 * it holds is freed once the audio side has let go of it. A track queued
 * after it moves up to its place in the queue.
 * Thread: control thread.
 * Errors: SL_EINVAL (NULL); SL_ENOTFOUND (unknown or closed id). */
SL_API int sl_track_close(sl_engine *engine, sl_track_id id);

/* Plays the track: from its position when STOPPED or PAUSED, from the
 * start when ENDED. A QUEUED track starts at once (and leaves the queue).
 * Thread: any thread.
 * Errors: SL_EINVAL; SL_ENOTFOUND; SL_ESTATE (the track FAILED). */
SL_API int sl_track_play(sl_engine *engine, sl_track_id id);

/* Pauses a PLAYING track (fading out); it keeps its position.
 * Thread: any thread.
 * Errors: SL_EINVAL; SL_ENOTFOUND; SL_ESTATE (not PLAYING). */
SL_API int sl_track_pause(sl_engine *engine, sl_track_id id);

/* Stops the track (fading out if audible) and rewinds it to its start;
 * it leaves the queue if it was queued.
 * Thread: any thread.
 * Errors: SL_EINVAL; SL_ENOTFOUND. */
SL_API int sl_track_stop(sl_engine *engine, sl_track_id id);

/* Moves the track to `frame`; the seek takes effect within a few blocks
 * (see the file comment). An ENDED track becomes STOPPED there.
 * Thread: any thread.
 * Errors: SL_EINVAL (negative frame); SL_ENOTFOUND; SL_ERANGE (past the
 * known length); SL_EUNSUPPORTED (the source cannot seek). */
SL_API int sl_track_seek(sl_engine *engine, sl_track_id id, int64_t frame);

/* sl_track_seek() to a time in seconds.
 * Thread: any thread.
 * Errors: as sl_track_seek(); SL_EINVAL also for a non-finite time. */
SL_API int sl_track_seek_seconds(sl_engine *engine, sl_track_id id,
                                 double seconds);

/* Sets the track's gain in dB (-120..+24; at or below -120 is silence);
 * smoothed over a block.
 * Thread: any thread.
 * Errors: SL_EINVAL (not finite); SL_ENOTFOUND; SL_ERANGE (above +24). */
SL_API int sl_track_set_gain_db(sl_engine *engine, sl_track_id id, double db);

/* Sets the pan (stereo balance) from -1 (left) through 0 (centre, the
 * default: unchanged) to +1 (right), with the equal-power law of the
 * "pan" effect; smoothed over a block. Only the first two output channels
 * are panned; a mono output ignores it.
 * Thread: any thread.
 * Errors: SL_EINVAL (not finite); SL_ENOTFOUND; SL_ERANGE (outside
 * -1..1). */
SL_API int sl_track_set_pan(sl_engine *engine, sl_track_id id, double pan);

/* Loops the track between frames `start` (included) and `end` (excluded;
 * -1: the track's end); sl_track_set_loop(e, id, 0, -1) loops the whole
 * track. Looping is seamless (the frame after end-1 is start). A track
 * that loops never ends, so nothing queued after it starts.
 * Thread: any thread.
 * Errors: SL_EINVAL (start < 0, end <= start and end != -1); SL_ENOTFOUND;
 * SL_ERANGE (past the known length); SL_EUNSUPPORTED (cannot seek). */
SL_API int sl_track_set_loop(sl_engine *engine, sl_track_id id, int64_t start,
                             int64_t end);

/* Stops looping; the track plays on to its end.
 * Thread: any thread.
 * Errors: SL_EINVAL; SL_ENOTFOUND. */
SL_API int sl_track_clear_loop(sl_engine *engine, sl_track_id id);

/* Makes the track end at frame `end` (excluded) instead of its natural
 * end; -1 restores the natural end. The end counts as the track's end for
 * TRACK_ENDED and for the queue.
 * Thread: any thread.
 * Errors: SL_EINVAL (end < -1 or 0); SL_ENOTFOUND. */
SL_API int sl_track_set_end(sl_engine *engine, sl_track_id id, int64_t end);

/* Queues track `next` to follow track `after`. With crossfade_ms 0 the
 * transition is gapless: the first frame of `next` directly follows the
 * last frame of `after` in the same output stream, with no gap and no
 * overlap. With crossfade_ms > 0 the two overlap for that long (or for
 * what is left of `after`, if less) under an equal-power curve. `next`
 * must be STOPPED (it then becomes QUEUED and starts from its position)
 * and not already queued; `after` may be in any state but FAILED; a track
 * already queued after `after` is replaced (and STOPPED). When `after` has
 * already ended, `next` starts at once.
 * Thread: any thread.
 * Errors: SL_EINVAL (after == next, crossfade_ms negative or not finite);
 * SL_ENOTFOUND; SL_ESTATE (next not STOPPED, after FAILED). */
SL_API int sl_track_queue(sl_engine *engine, sl_track_id after,
                          sl_track_id next, double crossfade_ms);

/* Returns the track's state in *state.
 * Thread: any thread.
 * Errors: SL_EINVAL; SL_ENOTFOUND. */
SL_API int sl_track_get_state(sl_engine *engine, sl_track_id id,
                              sl_track_state *state);

/* Stores the frame the track has mixed up to in *frame (the device plays
 * it sl_engine_stats.latency_frames later).
 * Thread: any thread.
 * Errors: SL_EINVAL; SL_ENOTFOUND. */
SL_API int sl_track_get_position(sl_engine *engine, sl_track_id id,
                                 int64_t *frame);

/* Stores the track's length in *frames (-1 when unknown: a live source),
 * without an end point set by sl_track_set_end().
 * Thread: any thread.
 * Errors: SL_EINVAL; SL_ENOTFOUND. */
SL_API int sl_track_get_length(sl_engine *engine, sl_track_id id,
                               int64_t *frames);

/* Stores the track's source format (its own rate and channels) in *fmt.
 * Thread: any thread.
 * Errors: SL_EINVAL; SL_ENOTFOUND. */
SL_API int sl_track_get_format(sl_engine *engine, sl_track_id id,
                               sl_source_format *fmt);

/* Returns the track's effects chain (before its gain and pan): edit it
 * with the sluice/chain.h calls while audio runs. Valid until the track
 * is closed.
 * Thread: any thread.
 * Errors: none; NULL for an unknown id. */
SL_API sl_chain *sl_track_chain(sl_engine *engine, sl_track_id id);

SL_END_DECLS

#endif /* SLUICE_TRACK_H */
