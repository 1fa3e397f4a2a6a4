/*
 * engine_priv.h: the engine's insides, shared by engine.c (life cycle,
 * events, stats), track.c (the track control calls), readahead.c (the
 * read-ahead jobs), master.c (the master node: planning and mixing) and
 * render.c (offline render).
 *
 * Who touches what. A track's fields are grouped by owner:
 *  - "control": written by control calls under the engine's lock, read by
 *    the master through atomics (requests: run, seek, gain, pan, loop,
 *    end, next, closing);
 *  - "read-ahead": the reader and the producing side of the read-ahead
 *    ring, owned by the one read-ahead job in flight (there is never more
 *    than one per track: the master submits a job only when `ra_busy` is
 *    clear);
 *  - "master": the track's playback state, fades and counters, touched
 *    only by the thread that runs the master node (the scheduler thread,
 *    or the render caller) and by the track's mix job while the master
 *    waits for it;
 *  - "published": atomics the master writes for control calls to read
 *    (state, position).
 *
 * Adding and freeing tracks without locks on the audio side. Control puts
 * a new track into a free slot of `slots` and bumps that slot's
 * generation; the master adopts a slot whose generation changed. The
 * master retires a track (closed, or engine teardown) by forgetting it
 * and setting its `retired` flag once no read-ahead job holds it; from
 * then on the master never touches it, and the next control call frees it
 * and clears the slot (the sweep). The master never dereferences a slot
 * pointer it has not adopted, so a freed track cannot be reached.
 */
#ifndef SLUICE_ENGINE_PRIV_H
#define SLUICE_ENGINE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sluice/engine.h>
#include <sluice/pool.h>
#include <sluice/ring.h>
#include <sluice/scheduler.h>
#include <sluice/track.h>

#include "effect_priv.h"
#include "evq.h"
#include "latency.h"
#include "log.h"
#include "reader.h"
#include "sink.h"
#include "wake.h"

/* Fades that keep pause, stop, seek and close free of clicks. */
#define SL__FADE_MS 5.0

/* Segment markers a read-ahead may have queued ahead of playback (loop
 * wraps). A loop shorter than readahead / this count fills the queue and
 * the read-ahead waits for playback to catch up. */
#define SL__MARKERS 64

/* Requested run state of a track (track.run_req). */
enum { SL__RUN_STOP = 0, SL__RUN_PLAY = 1, SL__RUN_PAUSE = 2,
       SL__RUN_QUEUE = 3 };

/* What a read-ahead has reached in its epoch (track.ra_status). */
enum { SL__RA_READING = 0, SL__RA_EOF = 1, SL__RA_ERROR = 2 };

/* The shape of a fade. */
enum { SL__ENV_NONE = 0, SL__ENV_IN = 1, SL__ENV_OUT = 2 };

/* What to do when a fade-out completes. */
enum { SL__AFTER_NONE = 0, SL__AFTER_PAUSE, SL__AFTER_STOP, SL__AFTER_SEEK,
       SL__AFTER_CLOSE };

/* A gain envelope applied per sample: linear or equal-power (sine/cosine)
 * from 0 to 1 (IN) or 1 to 0 (OUT) over `len` frames, starting `delay`
 * frames into the next block. `level` is the gain when no fade runs. */
typedef struct sl__env {
    float from; /* the gain the fade started at */
    int kind;
    bool power;
    uint64_t pos, len, delay;
    float level;
} sl__env;

/* Where playback of one read-ahead segment starts: the frames consumed in
 * the epoch when it starts, and the track frame it starts at. */
typedef struct sl__marker {
    uint64_t at;
    int64_t frame;
} sl__marker;

typedef struct sl__track sl__track;

struct sl__track {
    sl_engine *eng;
    sl_track_id id;
    unsigned slot;
    sl_source_format fmt;
    int64_t length;      /* output frames; -1 unknown */
    bool can_seek;
    char name[96];       /* for reasons: the file's base name, or "memory"
                            or "source" */
    sl_ring *ra;         /* read-ahead: read-ahead job -> mix job */
    sl_chain *chain;
    float *buf;          /* block_frames x channels: the mix job's output */

    /* control (requests; see the file comment) */
    atomic_uint run_seq;          /* bumped by play/pause/stop/queue */
    atomic_int run_req;           /* SL__RUN_* */
    atomic_uint seek_seq;         /* bumped by a seek */
    _Atomic int64_t seek_req;     /* frame */
    _Atomic float gain_req;       /* amplitude */
    _Atomic float pan_req;        /* -1..1 */
    _Atomic int64_t loop_start;   /* -1: no loop */
    _Atomic int64_t loop_end;     /* -1: the track's end */
    _Atomic int64_t end_req;      /* -1: natural end */
    atomic_uint region_seq;       /* bumped by loop and end changes */
    _Atomic(sl__track *) next;    /* queued successor */
    _Atomic uint64_t xfade;       /* crossfade into next, frames */
    atomic_bool closing;

    /* read-ahead */
    sl__reader *reader;
    uint32_t ra_epoch;            /* the epoch the ring holds */
    int64_t ra_frame;             /* the track frame it reads next */
    uint64_t ra_produced;         /* frames written in the epoch */
    sl__marker markers[SL__MARKERS];
    atomic_size_t mk_head, mk_tail; /* producer: head; master: tail */
    _Atomic uint32_t ra_want;     /* master -> job: the epoch wanted */
    _Atomic int64_t ra_seek;      /* master -> job: its start frame */
    _Atomic uint32_t ra_have;     /* job -> master: the epoch in the ring */
    atomic_int ra_status;         /* SL__RA_*, for epoch ra_have */
    int ra_error;                 /* valid once ra_status is ERROR */
    char ra_why[SL_EVENT_REASON_MAX];
    atomic_bool ra_busy;          /* a read-ahead job is in flight */
    sl_frame_handle ra_handle;    /* master: the last job's frame */
    bool ra_handle_held;          /* master: not yet released */
    atomic_int ra_fault;          /* the signal that killed a job, or 0 */

    /* master */
    bool adopted;
    int state;                    /* sl_track_state */
    unsigned run_seen, seek_seen, region_seen;
    uint32_t epoch;               /* the epoch the master waits for */
    bool primed;                  /* enough read ahead to start */
    bool started_sent;
    bool underrunning;
    bool xfade_started;           /* next was started by the crossfade */
    int after_fade;               /* SL__AFTER_* */
    int64_t pending_seek;
    sl__env env;                  /* pause/seek/crossfade fades */
    sl_ramp gain_l, gain_r;       /* gain and pan, channels 0 and 1 */
    sl_ramp gain_c;               /* gain of channels 2.. */
    bool dying;                   /* closed, waiting for its read-ahead */
    bool chain_reset;             /* the mix job resets the chain first */
    float gain_target, pan_target;
    uint64_t consumed;            /* frames consumed in the epoch */
    sl__marker seg;               /* the segment playing */
    int64_t position;             /* the track frame mixed next */
    int64_t last_position_event;
    uint64_t tick_planned;        /* the master tick that planned it */
    /* this block's plan, read by the mix job */
    size_t plan_off, plan_take;
    bool plan_mix;
    bool plan_advanced;           /* position already moved (it ended) */
    atomic_uint_fast64_t mixed_tick; /* the job finished this tick */

    /* published */
    atomic_int pub_state;
    _Atomic int64_t pub_position;
    atomic_bool retired;
    atomic_uint_fast64_t underruns;
};

struct sl_engine {
    sl_engine_config cfg;
    pthread_mutex_t lock;         /* control calls */
    uint64_t next_id;

    sl_pool *pool;
    sl_scheduler *sched;
    sl_node_id master_id;
    sl__evq *events;
    sl__wake event_wake;
    sl__logger *log;
    sl_chain *master_chain;
    sl_ring *pcm;                 /* NULL without an output */
    sl__sink *sink;
    bool started;
    bool rendering;               /* sl_engine_render() runs */
    bool user_paused;             /* sl_engine_pause() */
    double device_latency_s;
    atomic_size_t target_frames;  /* PCM ring fill the master keeps */
    sl__latency latency;          /* watchdog, under the lock */
    pthread_t watchdog;
    bool watchdog_running;
    atomic_bool watchdog_quit;
    sl__wake watchdog_wake;
    atomic_bool device_lost;
    float *out_block;             /* the master tick's output block */

    /* track slots: control installs, the master adopts */
    sl__track **ctl_tracks;       /* control's view, under lock */
    _Atomic(sl__track *) *slots;
    atomic_uint *slot_gen;

    /* master gain and pause (control -> master) */
    _Atomic float gain_req;
    atomic_bool pause_req;
    atomic_bool paused_ack;       /* master: fully faded out and paused */
    atomic_bool stopping;         /* the render/teardown asks the master to
                                     stop adopting and submitting */

    /* master node state */
    struct sl__master *master;

    /* stats */
    atomic_uint_fast64_t frame_seq;
    atomic_uint_fast64_t frames_mixed;
    atomic_uint_fast64_t track_underruns;
    atomic_uint tracks_playing;   /* master */
    atomic_uint tracks_open;      /* control */
    atomic_bool tainted;
};

/* The master node's private state (master.c). */
typedef struct sl__master sl__master;

/* --- engine.c --- */

/* Sends an event and wakes a waiting consumer. Any thread; RT-safe. */
void sl__engine_event(sl_engine *e, sl_event_type type, uint64_t track,
                      int error, int64_t frame, int64_t value,
                      const char *reason);

/* Wakes the master (the scheduler) so a request takes effect now.
 * Any thread. */
void sl__engine_poke(sl_engine *e);

/* A new pool frame id (read-ahead and mix frames). Any thread. */
uint64_t sl__engine_frame_id(sl_engine *e);

/* --- track.c --- */

/* Frees a retired track (or one the master never saw). Control thread. */
void sl__track_free(sl__track *t);

/* Frees every retired track and clears its slot. Control thread, under
 * the engine lock. */
void sl__engine_sweep(sl_engine *e);

/* --- readahead.c --- */

/* Submits a read-ahead job for `t` in class `cls`. Returns SL_OK, or
 * SL_EBUSY when one is in flight already, or the pool's error (full,
 * closed). Master thread. */
int sl__readahead_kick(sl__track *t, sl_service_class cls);

/* Releases the frame of a finished read-ahead job. Master thread. */
void sl__readahead_reap(sl__track *t);

/* Waits for the read-ahead job in flight, if any, helping to run it.
 * Master thread (render). */
void sl__readahead_wait(sl__track *t);

/* --- master.c --- */

/* Creates and frees the master node's state (mix buffers). Control. */
int sl__master_create(sl_engine *e);
void sl__master_destroy(sl_engine *e);

/* The master node to register with the scheduler. */
sl_node *sl__master_node(sl_engine *e);

/* Mixes one block into `out` (block_frames x channels). Returns the
 * frames of it that hold audio: the whole block while a track is still
 * playing after it, else up to where the last track ended (0 when none
 * played). Master thread. */
size_t sl__master_mix(sl_engine *e, float *out);

/* The master's per-tick service without mixing: adopt new tracks, apply
 * requests that need no block, retire closed tracks, keep read-ahead
 * going. Master thread. */
void sl__master_service(sl_engine *e, bool render);

/* Render: waits, helping, until every playing or queued track has read
 * ahead what its next block needs, so a render never underruns. */
void sl__master_feed(sl_engine *e);

/* The frames a render will write from here: what is left of the playing
 * tracks and of the queues after them, crossfades subtracted; -1 when a
 * length is unknown or a track loops. Master thread. */
int64_t sl__master_expected(sl_engine *e);

/* Waits for every read-ahead job in flight. Master thread. */
void sl__master_quiesce(sl_engine *e);

/* True while any adopted track is PLAYING or QUEUED. Master thread. */
bool sl__master_busy(sl_engine *e);

/* Retires every track at teardown (after the scheduler stopped): waits
 * for read-ahead jobs to finish. Control thread, audio side stopped. */
void sl__master_retire_all(sl_engine *e);

#endif /* SLUICE_ENGINE_PRIV_H */
