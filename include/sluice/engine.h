/*
 * sluice/engine.h: the engine a music player links. It owns the worker
 * pool, the scheduler thread, the master node, the PCM ring and the output
 * (a PortAudio device, a null device, or nothing for offline render), and
 * it mixes the tracks opened on it (sluice/track.h).
 *
 * Threads. Control calls (everything here and in sluice/track.h) may come
 * from any thread, are serialized by the engine's control lock, and never
 * wait for the audio side: they publish what they change through atomics
 * that the master node reads at its next block. The audio side (the
 * scheduler thread, the pool workers and the device callback) never takes
 * that lock.
 *
 * Output. The master node renders one block of `block_frames` frames per
 * tick: one frame job per audible track on the pool (read-ahead buffer,
 * track chain, gain, pan, fades), a join while helping, the sum, the
 * master gain and chain, and a write into the PCM ring the device drains.
 * With SL_OUTPUT_NONE the engine has no device and renders into a file
 * with sl_engine_render(), through the very same master node.
 *
 * Events (sluice/events.h) reach the application through a bounded
 * lock-free queue it drains with sl_engine_poll_event() or
 * sl_engine_wait_event(); the audio side never blocks on it. Log messages
 * go to the optional log callback on the library's own log thread.
 */
#ifndef SLUICE_ENGINE_H
#define SLUICE_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sluice/chain.h>
#include <sluice/common.h>
#include <sluice/events.h>

SL_BEGIN_DECLS

typedef struct sl_engine sl_engine;

/* Where the engine's output goes. */
typedef enum sl_output_kind {
    SL_OUTPUT_DEVICE = 0,      /* a PortAudio output device */
    SL_OUTPUT_NULL = 1,        /* no device, paced in real time by the
                                  monotonic clock (headless machines) */
    SL_OUTPUT_NULL_UNPACED = 2, /* no device, consumed as fast as produced */
    SL_OUTPUT_NONE = 3         /* nothing: offline render only
                                  (sl_engine_render()) */
} sl_output_kind;

/* The most tracks an engine holds open at once (the hard limit of
 * sl_engine_config.max_tracks). */
#define SL_ENGINE_MAX_TRACKS 1024

/* How an engine is set up. Get the defaults from sl_engine_config_default()
 * and change what you need, so fields added later keep working. */
typedef struct sl_engine_config {
    sl_output_kind output;   /* default SL_OUTPUT_DEVICE */
    int device;              /* PortAudio device index (see
                                sluice/device.h); -1 (default): the
                                default output device */
    unsigned rate;           /* output rate in Hz; 0 (default): the
                                device's default rate, or 48000 without a
                                device */
    unsigned channels;       /* output channels, 1..SL_MAX_CHANNELS;
                                default 2 */
    unsigned block_frames;   /* frames the master node mixes per tick,
                                16..8192; default 256 */
    sl_resample_quality quality; /* default SL_RESAMPLE_MEDIUM */
    int workers;             /* pool worker threads; -1 (default): one per
                                online core; 0: none (the scheduler and
                                the render caller do all the work) */
    double latency_ms;       /* target fill of the PCM ring, in ms;
                                default 50 */
    int adaptive_latency;    /* nonzero (default): after an underrun the
                                target fill grows (x1.5, up to 8 times
                                latency_ms); after 10 s without one it
                                shrinks a block at a time back to
                                latency_ms; each change is a
                                LATENCY_CHANGED event */
    double readahead_ms;     /* each track's decoded read-ahead, in ms,
                                at least 4 blocks; default 500 */
    unsigned max_tracks;     /* tracks open at once, 1..SL_ENGINE_MAX_TRACKS;
                                default 64 */
    double position_interval_ms; /* POSITION events per playing track at
                                most this often; 0 disables them;
                                default 250 */
    size_t event_capacity;   /* events the queue holds; default 1024 */
    sl_log_fn log;           /* NULL (default): no logging */
    void *log_user;
    sl_log_level log_level;  /* default SL_LOG_INFO */
} sl_engine_config;

/* Counters and state, read atomically one by one: a snapshot is not one
 * instant. Frames are at the output rate. */
typedef struct sl_engine_stats {
    unsigned rate;              /* the output rate in use, Hz */
    unsigned channels;
    uint64_t frames_mixed;      /* frames the master node produced */
    uint64_t frames_played;     /* frames the output consumed (silence
                                   included) */
    uint64_t underrun_frames;   /* output frames zero-filled for want of
                                   mixed audio */
    uint64_t underrun_events;   /* runs of such frames */
    uint64_t device_underflows; /* callbacks PortAudio flagged as underflow */
    uint64_t track_underruns;   /* blocks a track was silent because its
                                   read-ahead was empty, all tracks */
    uint64_t buffered_frames;   /* mixed but not yet played */
    uint64_t latency_frames;    /* output latency: buffered frames plus
                                   the device's own latency */
    uint64_t target_frames;     /* the fill the engine keeps the PCM ring
                                   at now (adaptive latency moves it) */
    int device_lost;            /* 1 once DEVICE_LOST was sent */
    uint64_t events_dropped;    /* events lost to a full queue */
    unsigned tracks_open;
    unsigned tracks_playing;
    int tainted;                /* 1 once a fault was trapped in a job or
                                   node: the process may hold corrupt state */
} sl_engine_stats;

/* Fills *cfg with the defaults documented on sl_engine_config.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API void sl_engine_config_default(sl_engine_config *cfg);

/* Creates an engine: the pool, the scheduler, the event queue, the logger,
 * the master chain and, unless the output is SL_OUTPUT_NONE, the PCM ring
 * and the output (opened, not started). cfg NULL means defaults. On error
 * `why` (when why_len > 0) receives a one-line reason.
 * Thread: control thread; not RT-safe.
 * Errors: SL_EINVAL (out NULL, a field out of range); SL_ENOMEM; SL_ETHREAD;
 * SL_EDEVICE (no such device, or it refuses the rate or channels);
 * SL_ENOTFOUND (no default output device). *out is NULL on error. */
SL_API int sl_engine_create(sl_engine **out, const sl_engine_config *cfg,
                            char *why, size_t why_len);

/* Starts the output: the master node begins to mix and the device to
 * play. Tracks may be opened and played before or after.
 * Thread: control thread; not RT-safe.
 * Errors: SL_EINVAL (NULL); SL_ESTATE (already started, or the output is
 * SL_OUTPUT_NONE); SL_EDEVICE; SL_ETHREAD. */
SL_API int sl_engine_start(sl_engine *engine);

/* Stops the output after fading it out; tracks keep their positions and a
 * later sl_engine_start() goes on from there. Returns SL_OK also when not
 * started.
 * Thread: control thread; not RT-safe (waits for the device).
 * Errors: SL_EINVAL (NULL); SL_EDEVICE (the device failed to stop; the
 * engine is stopped anyway). */
SL_API int sl_engine_stop(sl_engine *engine);

/* Stops the engine, closes every track and frees everything. NULL is
 * ignored. No other call on the engine may run or follow.
 * Thread: control thread; not RT-safe.
 * Errors: none. */
SL_API void sl_engine_destroy(sl_engine *engine);

/* Pauses (nonzero) or resumes (0) the whole output with a short fade, so
 * that there is no click; while paused every track holds its position.
 * Thread: any thread; not RT-safe (control lock).
 * Errors: SL_EINVAL (NULL). */
SL_API int sl_engine_pause(sl_engine *engine, int paused);

/* Sets the master gain in dB (-120..+24; at or below -120 is silence); the
 * change is smoothed over a block.
 * Thread: any thread; not RT-safe (control lock).
 * Errors: SL_EINVAL (NULL, not finite); SL_ERANGE (above +24). */
SL_API int sl_engine_set_gain_db(sl_engine *engine, double db);

/* Returns the master effects chain (after the mix, before the output):
 * edit it with the sluice/chain.h calls while audio runs. Owned by the
 * engine; valid until sl_engine_destroy().
 * Thread: any thread.
 * Errors: none (NULL for a NULL engine). */
SL_API sl_chain *sl_engine_master_chain(sl_engine *engine);

/* Takes the oldest event into *ev. Returns SL_OK, or SL_EEMPTY when there
 * is none.
 * Thread: one consumer thread at a time; never blocks.
 * Errors: SL_EINVAL (NULL); SL_EEMPTY. */
SL_API int sl_engine_poll_event(sl_engine *engine, sl_event *ev);

/* Like sl_engine_poll_event() but waits up to timeout_ms (0 polls; a
 * negative value waits without limit) for an event.
 * Thread: one consumer thread at a time; not RT-safe (sleeps).
 * Errors: SL_EINVAL (NULL); SL_ETIMEDOUT when none came in time. */
SL_API int sl_engine_wait_event(sl_engine *engine, sl_event *ev,
                                int timeout_ms);

/* Fills *stats.
 * Thread: any thread; RT-safe (atomic loads).
 * Errors: SL_EINVAL (NULL). */
SL_API int sl_engine_get_stats(sl_engine *engine, sl_engine_stats *stats);

/* Receives the progress of sl_engine_render(): frames written so far and
 * the frames expected in all (-1 when a track's length is unknown).
 * Returning nonzero stops the render, which then fails with SL_ECANCELED
 * and leaves no file. Runs on the thread that called sl_engine_render(). */
typedef int (*sl_render_progress_fn)(uint64_t frames, int64_t total,
                                     void *user);

/* How a render is written. Start from sl_render_options_default(). */
typedef struct sl_render_options {
    /* Sample encoding for lossless containers: 0 the format's default
     * (float for WAV/AIFF/CAF/W64, 24-bit for FLAC), 16 or 24 for PCM,
     * 32 for float. Lossy formats (ogg, opus, mp3) take only 0. */
    int bits;
    sl_render_progress_fn progress; /* NULL: no progress reports */
    void *progress_user;
    unsigned progress_every; /* frames between reports; default 48000 */
} sl_render_options;

/* Fills *opt with the defaults.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API void sl_render_options_default(sl_render_options *opt);

/* Renders, as fast as the CPU allows and on every worker, everything the
 * engine would play from now on: the playing tracks and the ones queued
 * after them, until none is left. The format comes from the extension of
 * `path` (wav, aiff, flac, ogg, opus, mp3, ...). Samples go to a temporary
 * file beside `path` that replaces it only on success: a failed or
 * cancelled render leaves no partial file and an existing file unharmed.
 * The samples equal what real-time playback of the same tracks produces.
 * Only for engines created with SL_OUTPUT_NONE. Events are sent as in
 * playback. On error `why` receives a reason naming the file.
 * Thread: control thread; not RT-safe (blocks until done).
 * Errors: SL_EINVAL (NULL, bad options); SL_ESTATE (the engine has an
 * output device, or nothing is playing); SL_EFORMAT (unknown extension,
 * or a rate or channel count the format cannot hold); SL_EIO (the file
 * cannot be created or written: no directory, no permission, disk full,
 * file too large); SL_ECANCELED (the progress callback said stop). */
SL_API int sl_engine_render(sl_engine *engine, const char *path,
                            const sl_render_options *opt, char *why,
                            size_t why_len);

SL_END_DECLS

#endif /* SLUICE_ENGINE_H */
