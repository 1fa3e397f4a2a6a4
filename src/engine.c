/*
 * engine.c: the engine's life cycle (create, start, stop, destroy), the
 * master gain and pause, events and stats.
 *
 * An engine with an output registers its master node with its own
 * scheduler at creation, so tracks are served (read ahead, closed,
 * freed) whether or not the output has been started; before the start
 * the PCM ring fills with silence and the node parks, backpressured. An
 * engine without an output (SL_OUTPUT_NONE) has no scheduler: its master
 * runs on the thread of sl_engine_render(), and between renders the
 * control calls serve its tracks themselves (see sl__engine_served()).
 *
 * Thread: control threads, serialized by the engine lock; the event
 * helpers on any thread.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <portaudio.h>

#include <sluice/error.h>
#include "clock.h"
#include "engine_priv.h"
#include "pa_lib.h"
#include "why.h"

void sl_engine_config_default(sl_engine_config *cfg)
{
    if (cfg == NULL)
        return;
    *cfg = (sl_engine_config){
        .output = SL_OUTPUT_DEVICE,
        .device = -1,
        .rate = 0,
        .channels = 2,
        .block_frames = 256,
        .quality = SL_RESAMPLE_MEDIUM,
        .workers = -1,
        .latency_ms = 50.0,
        .adaptive_latency = 1,
        .readahead_ms = 500.0,
        .max_tracks = 64,
        .position_interval_ms = 250.0,
        .event_capacity = 1024,
        .log = NULL,
        .log_user = NULL,
        .log_level = SL_LOG_INFO,
    };
}

static int check_config(const sl_engine_config *c, char *why, size_t len)
{
    if (c->output < SL_OUTPUT_DEVICE || c->output > SL_OUTPUT_NONE)
        sl__say(why, len, "unknown output kind %d", (int)c->output);
    else if (c->channels < 1 || c->channels > SL_MAX_CHANNELS)
        sl__say(why, len, "channels must be 1..%d", SL_MAX_CHANNELS);
    else if (c->rate != 0 && (c->rate < SL_MIN_RATE || c->rate > SL_MAX_RATE))
        sl__say(why, len, "rate must be %d..%d Hz", SL_MIN_RATE, SL_MAX_RATE);
    else if (c->block_frames < 16 || c->block_frames > 8192)
        sl__say(why, len, "block_frames must be 16..8192");
    else if (c->quality < SL_RESAMPLE_BEST || c->quality > SL_RESAMPLE_LINEAR)
        sl__say(why, len, "unknown resampler quality %d", (int)c->quality);
    else if (c->workers < -1 || c->workers > (int)SL_POOL_MAX_WORKERS ||
             (c->workers == 0 && c->output != SL_OUTPUT_NONE))
        sl__say(why, len, "workers must be -1..%u (0 only without an output)",
            SL_POOL_MAX_WORKERS);
    else if (!(c->latency_ms > 0.0 && c->latency_ms <= 10000.0))
        sl__say(why, len, "latency_ms must be in (0, 10000]");
    else if (!(c->readahead_ms > 0.0 && c->readahead_ms <= 60000.0))
        sl__say(why, len, "readahead_ms must be in (0, 60000]");
    else if (c->max_tracks < 1 || c->max_tracks > SL_ENGINE_MAX_TRACKS)
        sl__say(why, len, "max_tracks must be 1..%d", SL_ENGINE_MAX_TRACKS);
    else if (!(c->position_interval_ms >= 0.0 &&
               c->position_interval_ms <= 3600000.0))
        sl__say(why, len, "position_interval_ms must be 0..3600000");
    else if (c->event_capacity < 16 || c->event_capacity > (1u << 24))
        sl__say(why, len, "event_capacity must be 16..16777216");
    else if (c->log_level < SL_LOG_ERROR || c->log_level > SL_LOG_DEBUG)
        sl__say(why, len, "unknown log level %d", (int)c->log_level);
    else
        return SL_OK;
    return SL_EINVAL;
}

/* Picks the device and, when the config leaves it to the device, the
 * rate, through the copy of PortAudio the sinks use (pa_lib.h). */
static int resolve_device(sl_engine *e, int *index, char *why, size_t len)
{
    const PaDeviceInfo *d;
    sl__pa *pa;
    int err = SL_OK;

    if (sl__pa_acquire(&pa, why, len) != SL_OK)
        return SL_EDEVICE;
    *index = e->cfg.device >= 0 ? e->cfg.device : pa->default_output();
    d = *index >= 0 && *index < pa->device_count() ? pa->device_info(*index)
                                                   : NULL;
    if (*index == paNoDevice) {
        sl__say(why, len, "no audio output device");
        err = SL_ENOTFOUND;
    } else if (d == NULL || d->maxOutputChannels < 1) {
        sl__say(why, len, "device %d is not an output device", *index);
        err = SL_EDEVICE;
    } else {
        if (e->cfg.rate == 0)
            e->cfg.rate = (unsigned)lrint(d->defaultSampleRate);
        if (e->cfg.rate < SL_MIN_RATE || e->cfg.rate > SL_MAX_RATE) {
            sl__say(why, len, "device %d runs at %u Hz, outside what sluice "
                              "plays", *index, e->cfg.rate);
            err = SL_EDEVICE;
        }
    }
    sl__pa_release(pa);
    return err;
}

static void *watchdog(void *arg);

static void wake_scheduler(void *arg)
{
    sl_scheduler_wake_rt(arg);
}

static void observe(const sl_scheduler_event *ev, void *user)
{
    sl_engine *e = user;
    sl_event_type type;
    int64_t value = 0;

    switch (ev->type) {
    case SL_SCHED_NODE_FAILED:
        type = SL_EVENT_SCHED_NODE_FAILED;
        break;
    case SL_SCHED_NODE_FAULTED:
        type = SL_EVENT_SCHED_NODE_FAULTED;
        value = ev->signo;
        atomic_store_explicit(&e->tainted, true, memory_order_relaxed);
        break;
    case SL_SCHED_SLOW_TICK:
        type = SL_EVENT_SCHED_SLOW_TICK;
        value = (int64_t)ev->duration_ns;
        break;
    default:
        return;
    }
    sl__engine_event(e, type, 0, ev->error, 0, value, ev->node_name);
    if (ev->node == e->master_id && type != SL_EVENT_SCHED_SLOW_TICK)
        sl__log(e->log, SL_LOG_ERROR, "the master node stopped: %s",
                sl_strerror(ev->error));
}

/* The output: PCM ring, scheduler with the master node, sink on
 * `device` (a PortAudio index, or -1 for the null sinks). */
static int open_output(sl_engine *e, int device, char *why, size_t len)
{
    sl_scheduler_config sc;
    sl__sink_config kc;
    size_t block = e->cfg.block_frames;
    int err;

    sl__latency_config lc;
    size_t floor_frames =
        (size_t)ceil(e->cfg.latency_ms * e->cfg.rate / 1000.0);

    /* The controller counts in blocks, the unit the master fills in; the
     * ring holds the adaptive ceiling (8 times the target) and a block. */
    sl__latency_config_default(&lc);
    lc.rate = e->cfg.rate;
    lc.period = (unsigned)block;
    lc.target_ms = floor_frames < 2 * block
                       ? 2000.0 * (double)block / e->cfg.rate
                       : e->cfg.latency_ms;
    lc.adaptive = e->cfg.adaptive_latency != 0;
    if ((err = sl__latency_init(&e->latency, &lc, sl__now_ns())) != SL_OK) {
        sl__say(why, len, "latency_ms %.1f cannot be kept", e->cfg.latency_ms);
        return err;
    }
    atomic_store(&e->target_frames, sl__latency_target(&e->latency));
    e->out_block = calloc(block * e->cfg.channels, sizeof *e->out_block);
    if (e->out_block == NULL ||
        sl_ring_create(&e->pcm, e->cfg.channels,
                       sl__latency_ceiling(&e->latency) + block) != SL_OK)
        goto nomem;
    sl_scheduler_config_default(&sc);
    sc.observer = observe;
    sc.observer_user = e;
    if ((err = sl_scheduler_create(&e->sched, &sc)) != SL_OK) {
        sl__say(why, len, "the scheduler could not start: %s", sl_strerror(err));
        return err;
    }
    sl__sink_config_default(&kc);
    kc.ring = e->pcm;
    kc.rate = e->cfg.rate;
    kc.device = device;
    kc.paced = e->cfg.output != SL_OUTPUT_NULL_UNPACED;
    kc.low_watermark = sl__latency_target(&e->latency) - block;
    kc.wake = wake_scheduler;
    kc.wake_arg = e->sched;
    err = e->cfg.output == SL_OUTPUT_DEVICE ? sl__sink_pa_open(&e->sink, &kc)
                                            : sl__sink_null_open(&e->sink, &kc);
    if (err != SL_OK) {
        sl__say(why, len, "the output could not be opened at %u Hz, %u channels",
            e->cfg.rate, e->cfg.channels);
        return err;
    }
    if ((err = sl_scheduler_register(e->sched, sl__master_node(e),
                                     &e->master_id)) != SL_OK) {
        sl__say(why, len, "the master node could not be registered");
        return err;
    }
    e->device_latency_s = sl__sink_device_latency(e->sink);
    sl__wake_init(&e->watchdog_wake);
    if (pthread_create(&e->watchdog, NULL, watchdog, e) != 0) {
        sl__say(why, len, "the output watchdog could not start");
        return SL_ETHREAD;
    }
    e->watchdog_running = true;
    return SL_OK;
nomem:
    sl__say(why, len, "out of memory");
    return SL_ENOMEM;
}

static int create_parts(sl_engine *e, char *why, size_t len)
{
    sl_pool_config pc;
    sl_chain_config cc;
    unsigned n = e->cfg.max_tracks;
    int device = -1, err;

    if ((err = sl__evq_create(&e->events, e->cfg.event_capacity)) != SL_OK ||
        (err = sl__log_create(&e->log, 256, e->cfg.log_level, e->cfg.log,
                              e->cfg.log_user)) != SL_OK ||
        (err = sl__log_start(e->log)) != SL_OK)
        goto fail;
    sl_pool_config_default(&pc);
    if (e->cfg.workers >= 0)
        pc.workers = (unsigned)e->cfg.workers;
    if ((err = sl_pool_create(&e->pool, &pc)) != SL_OK)
        goto fail;
    e->ctl_tracks = calloc(n, sizeof *e->ctl_tracks);
    e->slots = calloc(n, sizeof *e->slots);
    e->slot_gen = calloc(n, sizeof *e->slot_gen);
    if (e->ctl_tracks == NULL || e->slots == NULL || e->slot_gen == NULL) {
        err = SL_ENOMEM;
        goto fail;
    }
    if (e->cfg.output == SL_OUTPUT_DEVICE &&
        (err = resolve_device(e, &device, why, len)) != SL_OK)
        return err;
    if (e->cfg.rate == 0)
        e->cfg.rate = 48000;
    sl_chain_config_default(&cc);
    cc.channels = e->cfg.channels;
    cc.sample_rate = e->cfg.rate;
    cc.max_block = e->cfg.block_frames;
    if ((err = sl_chain_create(&e->master_chain, &cc)) != SL_OK ||
        (err = sl__master_create(e)) != SL_OK)
        goto fail;
    if (e->cfg.output != SL_OUTPUT_NONE)
        return open_output(e, device, why, len);
    return SL_OK;
fail:
    sl__say(why, len, "%s", sl_strerror(err));
    return err;
}

int sl_engine_create(sl_engine **out, const sl_engine_config *cfg, char *why,
                     size_t why_len)
{
    sl_engine *e;
    int err;

    sl__say(why, why_len, "%s", "");
    if (out == NULL) {
        sl__say(why, why_len, "no place to store the engine");
        return SL_EINVAL;
    }
    *out = NULL;
    e = calloc(1, sizeof *e);
    if (e == NULL) {
        sl__say(why, why_len, "out of memory");
        return SL_ENOMEM;
    }
    if (cfg != NULL)
        e->cfg = *cfg;
    else
        sl_engine_config_default(&e->cfg);
    if ((err = check_config(&e->cfg, why, why_len)) != SL_OK) {
        free(e);
        return err;
    }
    pthread_mutex_init(&e->lock, NULL);
    atomic_init(&e->gain_req, 1.0f);
    sl__wake_init(&e->event_wake);
    /* The master must exist before the scheduler can tick it. */
    if ((err = create_parts(e, why, why_len)) != SL_OK) {
        sl_engine_destroy(e);
        return err;
    }
    *out = e;
    return SL_OK;
}

/* One look at the output (under the lock): a lost device becomes one
 * DEVICE_LOST event; with adaptive latency, new underruns grow the target
 * fill and quiet stretches shrink it, each change a LATENCY_CHANGED
 * event. */
static void watch_once(sl_engine *e)
{
    char why[SL_EVENT_REASON_MAX] = "";
    uint64_t now = sl__now_ns();
    sl__latency_change chg;
    sl__sink_stats st;

    if (atomic_load(&e->device_lost))
        return;
    if (sl__sink_check(e->sink, now, why, sizeof why) != SL_OK) {
        atomic_store(&e->device_lost, true);
        sl__engine_event(e, SL_EVENT_DEVICE_LOST, 0, SL_EDEVICE, 0, 0, why);
        sl__log(e->log, SL_LOG_ERROR, "output lost: %s", why);
        return;
    }
    if (!e->started)
        return;
    sl__sink_stats_get(e->sink, &st);
    if (sl__latency_update(&e->latency, now, st.underrun_events, &chg)) {
        atomic_store(&e->target_frames, chg.to_frames);
        sl__sink_set_low_watermark(e->sink,
                                   chg.to_frames - e->cfg.block_frames);
        sl__engine_event(e, SL_EVENT_LATENCY_CHANGED, 0, 0, 0,
                         (int64_t)chg.to_frames,
                         chg.reason == SL__LATENCY_GROW ? "underrun"
                                                        : "quiet");
        sl__log(e->log, SL_LOG_INFO, "output latency target %.1f ms (%s)",
                sl__latency_ms(&e->latency, chg.to_frames),
                chg.reason == SL__LATENCY_GROW ? "after an underrun"
                                               : "after a quiet stretch");
    }
}

/* The control side's watchdog thread: every 100 ms, watch_once(). A
 * loss is reported within the sink's stall limit plus 100 ms. */
static void *watchdog(void *arg)
{
    sl_engine *e = arg;

    while (!atomic_load(&e->watchdog_quit)) {
        uint32_t seen = sl__wake_seen(&e->watchdog_wake);
        pthread_mutex_lock(&e->lock);
        watch_once(e);
        pthread_mutex_unlock(&e->lock);
        if (atomic_load(&e->watchdog_quit))
            break;
        if (sl__wake_prepare(&e->watchdog_wake, seen))
            sl__wake_wait(&e->watchdog_wake, seen,
                          sl__now_ns() + 100000000u);
    }
    return NULL;
}

static void stop_watchdog(sl_engine *e)
{
    if (!e->watchdog_running)
        return;
    atomic_store(&e->watchdog_quit, true);
    sl__wake_signal(&e->watchdog_wake);
    pthread_join(e->watchdog, NULL);
    e->watchdog_running = false;
}

int sl_engine_start(sl_engine *e)
{
    int err;

    if (e == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&e->lock);
    if (e->sink == NULL || e->started) {
        err = SL_ESTATE;
    } else if (atomic_load(&e->device_lost)) {
        err = SL_EDEVICE;
    } else if ((err = sl__sink_start(e->sink)) == SL_OK) {
        e->started = true;
        atomic_store_explicit(&e->pause_req, e->user_paused,
                              memory_order_release);
        sl_scheduler_wake(e->sched);
    }
    pthread_mutex_unlock(&e->lock);
    return err;
}

int sl_engine_stop(sl_engine *e)
{
    int err = SL_OK;

    if (e == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&e->lock);
    if (e->started) {
        /* Fade out first; give up waiting after 200 ms (a stalled device
         * consumes nothing, and then there is nothing to hear anyway). */
        uint64_t deadline = sl__now_ns() + 200000000u;
        atomic_store_explicit(&e->pause_req, true, memory_order_release);
        sl_scheduler_wake(e->sched);
        while (!atomic_load_explicit(&e->paused_ack, memory_order_acquire) &&
               sl__now_ns() < deadline)
            usleep(1000);
        err = sl__sink_stop(e->sink);
        e->started = false;
    }
    pthread_mutex_unlock(&e->lock);
    return err;
}

void sl_engine_destroy(sl_engine *e)
{
    if (e == NULL)
        return;
    atomic_store(&e->stopping, true);
    stop_watchdog(e); /* it checks the sink */
    /* The sink first: its thread wakes the scheduler. */
    if (e->sink != NULL)
        sl__sink_close(e->sink);
    if (e->sched != NULL)
        sl_scheduler_destroy(e->sched); /* the master ticks no more */
    if (e->pool != NULL)
        sl_pool_shutdown(e->pool, SL_POOL_EMERGENCY);
    if (e->master != NULL)
        sl__master_retire_all(e);
    for (unsigned i = 0; e->ctl_tracks != NULL && i < e->cfg.max_tracks; i++)
        sl__track_free(e->ctl_tracks[i]);
    sl_pool_destroy(e->pool);
    sl__master_destroy(e);
    sl_chain_destroy(e->master_chain);
    sl_ring_destroy(e->pcm);
    sl__log_destroy(e->log);
    sl__evq_destroy(e->events);
    free(e->ctl_tracks);
    free((void *)e->slots);
    free((void *)e->slot_gen);
    free(e->out_block);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

int sl_engine_pause(sl_engine *e, int paused)
{
    if (e == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&e->lock);
    e->user_paused = paused != 0;
    if (e->started || e->sink == NULL)
        atomic_store_explicit(&e->pause_req, e->user_paused,
                              memory_order_release);
    pthread_mutex_unlock(&e->lock);
    sl__engine_poke(e);
    return SL_OK;
}

int sl_engine_set_gain_db(sl_engine *e, double db)
{
    if (e == NULL || !isfinite(db))
        return SL_EINVAL;
    if (db > 24.0)
        return SL_ERANGE;
    atomic_store_explicit(&e->gain_req,
                          db <= -120.0 ? 0.0f : (float)sl__db_to_amp(db),
                          memory_order_relaxed);
    sl__engine_poke(e);
    return SL_OK;
}

sl_chain *sl_engine_master_chain(sl_engine *e)
{
    return e != NULL ? e->master_chain : NULL;
}

uint64_t sl__engine_frame_id(sl_engine *e)
{
    return atomic_fetch_add_explicit(&e->frame_seq, 1,
                                     memory_order_relaxed) + 1;
}

void sl__engine_poke(sl_engine *e)
{
    if (e->sched != NULL)
        sl_scheduler_wake(e->sched);
}

void sl__engine_event(sl_engine *e, sl_event_type type, uint64_t track,
                      int error, int64_t frame, int64_t value,
                      const char *reason)
{
    sl_event ev = {
        .type = type,
        .error = error,
        .track = track,
        .frame = frame,
        .value = value,
    };

    if (reason != NULL) {
        size_t n = strlen(reason);
        if (n >= sizeof ev.reason)
            n = sizeof ev.reason - 1;
        memcpy(ev.reason, reason, n);
    }
    sl__evq_push(e->events, &ev);
    sl__wake_signal(&e->event_wake);
}

int sl_engine_poll_event(sl_engine *e, sl_event *ev)
{
    if (e == NULL || ev == NULL)
        return SL_EINVAL;
    return sl__evq_pop(e->events, ev);
}

int sl_engine_wait_event(sl_engine *e, sl_event *ev, int timeout_ms)
{
    uint64_t deadline;

    if (e == NULL || ev == NULL)
        return SL_EINVAL;
    deadline = timeout_ms < 0 ? UINT64_MAX
                              : sl__now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        uint32_t seen = sl__wake_seen(&e->event_wake);
        if (sl__evq_pop(e->events, ev) == SL_OK)
            return SL_OK;
        if (sl__now_ns() >= deadline)
            return SL_ETIMEDOUT;
        if (sl__wake_prepare(&e->event_wake, seen))
            sl__wake_wait(&e->event_wake, seen, deadline);
    }
}

int sl_engine_get_stats(sl_engine *e, sl_engine_stats *st)
{
    sl__sink_stats ks = {0};

    if (e == NULL || st == NULL)
        return SL_EINVAL;
    if (e->sink != NULL)
        sl__sink_stats_get(e->sink, &ks);
    *st = (sl_engine_stats){
        .rate = e->cfg.rate,
        .channels = e->cfg.channels,
        .frames_mixed = atomic_load_explicit(&e->frames_mixed,
                                             memory_order_relaxed),
        .frames_played = ks.frames_played,
        .underrun_frames = ks.underrun_frames,
        .underrun_events = ks.underrun_events,
        .device_underflows = ks.pa_underflows,
        .track_underruns = atomic_load_explicit(&e->track_underruns,
                                                memory_order_relaxed),
        .buffered_frames = e->pcm != NULL ? sl_ring_readable(e->pcm) : 0,
        .events_dropped = sl__evq_dropped(e->events),
        .tracks_open = atomic_load_explicit(&e->tracks_open,
                                            memory_order_relaxed),
        .tracks_playing = atomic_load_explicit(&e->tracks_playing,
                                               memory_order_relaxed),
        .tainted = atomic_load_explicit(&e->tainted, memory_order_relaxed),
    };
    st->latency_frames = st->buffered_frames +
                         (uint64_t)(e->device_latency_s * e->cfg.rate);
    st->target_frames = atomic_load(&e->target_frames);
    st->device_lost = atomic_load(&e->device_lost);
    return SL_OK;
}
