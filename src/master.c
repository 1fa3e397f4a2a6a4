/*
 * master.c: the master node. Each tick it serves the tracks (adopts new
 * ones, applies the control side's requests, keeps their read-ahead
 * going, retires closed ones) and, when the PCM ring has room below its
 * target fill, mixes one block: it plans every playing track's share of
 * the block (where it starts, how many frames it takes, where it ends and
 * which queued track follows at which frame), runs one mix job per
 * audible track as a frame on the pool, joins while helping, sums, and
 * applies the master chain, gain and pause fade.
 *
 * Planning is done before the fan-out so transitions are sample-exact: a
 * track that ends at frame k of the block hands over to its queued
 * successor at frame k of the same block (gapless), and a crossfade
 * starts at the frame where what is left of the outgoing track equals
 * the crossfade length.
 *
 * Thread: the scheduler thread (the node's tick), or the thread calling
 * sl_engine_render(); never both. The mix jobs run on pool workers or on
 * the master thread helping; they touch only their own track's block
 * buffer, ramps, fade, chain and the consuming side of its read-ahead.
 */
#include "config.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "engine_priv.h"

struct sl__master {
    sl_node node;       /* first: the tick casts back */
    sl_engine *e;
    sl__track **tracks; /* adopted tracks by slot */
    unsigned *gen_seen;
    sl__track **planned; /* this block's mixed tracks */
    unsigned nplanned;
    float *mix;         /* one block */
    size_t block;
    unsigned ch;
    uint64_t tick;
    uint64_t fade_len;  /* frames of SL__FADE_MS */
    uint64_t pos_every; /* frames between POSITION events; 0: none */
    unsigned ramp_len;
    sl__env env;        /* the engine's pause fade */
    bool pause_seen;
    bool paused;
    sl_ramp gain;
    float gain_seen;
};

/* ------------------------------------------------------------ envelope */

static void env_set(sl__env *v, int kind, bool power, uint64_t len,
                    uint64_t delay)
{
    v->from = v->level;
    v->kind = kind;
    v->power = power;
    v->pos = 0;
    v->len = len > 0 ? len : 1;
    v->delay = delay;
}

/* The fade's shape at its current frame. Linear fades (pause, seek)
 * never play a frame at gain 0: a fade-in starts at 1/len and a fade-out
 * ends at 1/len, so a pause and resume loses no frame to silence. The
 * equal-power pair of a crossfade shares one x, so cos^2 + sin^2 = 1 at
 * every frame. */
static float env_shape(const sl__env *v)
{
    double x = (double)v->pos / (double)v->len;

    if (v->power)
        return (float)(v->kind == SL__ENV_IN ? sin(x * M_PI / 2)
                                             : cos(x * M_PI / 2));
    return (float)(v->kind == SL__ENV_IN
                       ? (double)(v->pos + 1) / (double)v->len
                       : 1.0 - x);
}

/* Multiplies `frames` frames by the envelope and advances it. Fades
 * start from the gain they interrupt: a fade-out scales it down to 0, a
 * fade-in raises it to 1. RT-safe. */
static void env_apply(sl__env *v, float *buf, size_t frames, unsigned ch)
{
    for (size_t i = 0; i < frames; i++) {
        float g;
        if (v->kind == SL__ENV_NONE) {
            g = v->level;
        } else if (v->delay > 0) {
            v->delay--;
            g = v->level;
        } else {
            g = v->kind == SL__ENV_IN
                    ? v->from + (1.0f - v->from) * env_shape(v)
                    : v->from * env_shape(v);
            v->level = g;
            if (++v->pos >= v->len) {
                v->level = v->kind == SL__ENV_IN ? 1.0f : 0.0f;
                v->kind = SL__ENV_NONE;
            }
        }
        if (g != 1.0f)
            for (unsigned c = 0; c < ch; c++)
                buf[i * ch + c] *= g;
    }
}

/* Frames until a fade-out has run its course (delay included). */
static uint64_t env_left(const sl__env *v)
{
    return v->kind == SL__ENV_NONE ? 0 : v->delay + (v->len - v->pos);
}

/* ------------------------------------------------------------ events */

static void publish_state(sl__track *t, int state)
{
    if ((t->state == SL_TRACK_PLAYING) != (state == SL_TRACK_PLAYING)) {
        if (state == SL_TRACK_PLAYING)
            atomic_fetch_add_explicit(&t->eng->tracks_playing, 1,
                                      memory_order_relaxed);
        else
            atomic_fetch_sub_explicit(&t->eng->tracks_playing, 1,
                                      memory_order_relaxed);
    }
    t->state = state;
    /* seq_cst, like the loads of `next` here and the store of `next` and
     * load of pub_state in sl_track_queue(): of a queue racing with the
     * end of the track before, at least one side sees the other. */
    atomic_store(&t->pub_state, state);
}

static void event(sl__track *t, sl_event_type type, int error,
                  const char *reason)
{
    sl__engine_event(t->eng, type, t->id, error, t->position, 0, reason);
}

/* ------------------------------------------------------------ requests */

static bool audible(const sl__track *t)
{
    return t->state == SL_TRACK_PLAYING && t->primed &&
           (t->env.level > 0.0f || t->env.kind != SL__ENV_NONE);
}

static void fade_out(sl__master *m, sl__track *t, int after)
{
    if (t->env.kind != SL__ENV_OUT)
        env_set(&t->env, SL__ENV_OUT, false, m->fade_len, 0);
    t->after_fade = after;
}

/* Begins a new read-ahead epoch at `frame`: what is read ahead and in
 * flight is dropped. */
static void do_seek(sl__track *t, int64_t frame)
{
    t->epoch++;
    atomic_store_explicit(&t->ra_seek, frame, memory_order_relaxed);
    atomic_store_explicit(&t->ra_want, t->epoch, memory_order_release);
    t->consumed = 0;
    t->seg = (sl__marker){.at = 0, .frame = frame};
    t->position = frame;
    t->last_position_event = frame;
    t->primed = false;
    t->underrunning = false;
    t->xfade_started = false;
    t->chain_reset = true;
    atomic_store_explicit(&t->pub_position, frame, memory_order_relaxed);
}

static void start_playing(sl__master *m, sl__track *t)
{
    if (t->state == SL_TRACK_ENDED)
        do_seek(t, 0);
    t->started_sent = false;
    t->after_fade = SL__AFTER_NONE;
    if (t->state == SL_TRACK_PAUSED) {
        t->env.level = 0.0f;
        env_set(&t->env, SL__ENV_IN, false, m->fade_len, 0);
    } else {
        t->env.kind = SL__ENV_NONE;
        t->env.level = 1.0f;
    }
    publish_state(t, SL_TRACK_PLAYING);
}

static void do_stop(sl__track *t)
{
    publish_state(t, SL_TRACK_STOPPED);
    t->after_fade = SL__AFTER_NONE;
    if (t->can_seek && t->position != 0)
        do_seek(t, 0);
}

static void apply_run(sl__master *m, sl__track *t, int req)
{
    switch (req) {
    case SL__RUN_PLAY:
        if (t->state == SL_TRACK_FAILED)
            return;
        if (t->state == SL_TRACK_PLAYING) {
            if (t->after_fade == SL__AFTER_PAUSE ||
                t->after_fade == SL__AFTER_STOP) {
                t->after_fade = SL__AFTER_NONE;
                env_set(&t->env, SL__ENV_IN, false, m->fade_len, 0);
            }
            return;
        }
        start_playing(m, t);
        return;
    case SL__RUN_PAUSE:
        if (t->state != SL_TRACK_PLAYING)
            return;
        if (audible(t))
            fade_out(m, t, SL__AFTER_PAUSE);
        else
            publish_state(t, SL_TRACK_PAUSED);
        return;
    case SL__RUN_STOP:
        if (audible(t))
            fade_out(m, t, SL__AFTER_STOP);
        else if (t->state != SL_TRACK_FAILED)
            do_stop(t);
        return;
    case SL__RUN_QUEUE:
        if (t->state == SL_TRACK_STOPPED || t->state == SL_TRACK_PAUSED ||
            t->state == SL_TRACK_ENDED) {
            if (t->state == SL_TRACK_ENDED)
                do_seek(t, 0);
            publish_state(t, SL_TRACK_QUEUED);
        }
        return;
    default:
        return;
    }
}

static void apply_requests(sl__master *m, sl__track *t)
{
    unsigned seq = atomic_load_explicit(&t->run_seq, memory_order_acquire);
    float g = atomic_load_explicit(&t->gain_req, memory_order_relaxed);
    float p = atomic_load_explicit(&t->pan_req, memory_order_relaxed);

    if (seq != t->run_seen) {
        t->run_seen = seq;
        apply_run(m, t, atomic_load_explicit(&t->run_req,
                                             memory_order_relaxed));
    }
    seq = atomic_load_explicit(&t->seek_seq, memory_order_acquire);
    if (seq != t->seek_seen) {
        int64_t f = atomic_load_explicit(&t->seek_req, memory_order_relaxed);
        t->seek_seen = seq;
        if (audible(t)) {
            fade_out(m, t, SL__AFTER_SEEK);
            t->pending_seek = f;
        } else {
            do_seek(t, f);
            if (t->state == SL_TRACK_ENDED)
                publish_state(t, SL_TRACK_STOPPED);
            else if (t->state == SL_TRACK_PLAYING) {
                t->env.level = 0.0f;
                env_set(&t->env, SL__ENV_IN, false, m->fade_len, 0);
            }
        }
    }
    seq = atomic_load_explicit(&t->region_seq, memory_order_acquire);
    if (seq != t->region_seen) {
        /* What is read ahead was read under the old loop or end: read it
         * again from here (with a fade when it is heard). */
        t->region_seen = seq;
        if (t->after_fade == SL__AFTER_SEEK) {
            /* a seek is on its way: it reads everything anew anyway */
        } else if (audible(t)) {
            fade_out(m, t, SL__AFTER_SEEK);
            t->pending_seek = -1;
        } else if (t->state != SL_TRACK_ENDED &&
                   t->state != SL_TRACK_FAILED) {
            do_seek(t, t->position);
        }
    }
    if (g != t->gain_target || p != t->pan_target) {
        double theta = ((double)p + 1.0) * M_PI / 4.0;
        float l = g, r = g;
        if (m->ch >= 2) {
            l = (float)(g * sqrt(2.0) * cos(theta));
            r = (float)(g * sqrt(2.0) * sin(theta));
        }
        t->gain_target = g;
        t->pan_target = p;
        sl__ramp_set(&t->gain_l, l, m->ramp_len);
        sl__ramp_set(&t->gain_r, r, m->ramp_len);
        sl__ramp_set(&t->gain_c, g, m->ramp_len);
        if (!audible(t)) { /* nothing to smooth: apply it at once */
            sl__ramp_finish(&t->gain_l);
            sl__ramp_finish(&t->gain_r);
            sl__ramp_finish(&t->gain_c);
        }
    }
}

/* ------------------------------------------------------------ life cycle */

static void adopt(sl__master *m, unsigned i, sl__track *t)
{
    t->adopted = true;
    t->state = SL_TRACK_STOPPED;
    t->env.level = 1.0f;
    t->gain_target = 1.0f;
    t->pan_target = 0.0f;
    t->gain_l.cur = t->gain_l.target = 1.0f;
    t->gain_r.cur = t->gain_r.target = 1.0f;
    t->gain_c.cur = t->gain_c.target = 1.0f;
    m->tracks[i] = t;
    /* Parameters set before the track was adopted apply at once. */
    apply_requests(m, t);
    sl__ramp_finish(&t->gain_l);
    sl__ramp_finish(&t->gain_r);
    sl__ramp_finish(&t->gain_c);
}

static void adopt_new(sl__master *m)
{
    sl_engine *e = m->e;

    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        unsigned g = atomic_load_explicit(&e->slot_gen[i],
                                          memory_order_acquire);
        if (g == m->gen_seen[i])
            continue;
        m->gen_seen[i] = g;
        sl__track *t = atomic_load_explicit(&e->slots[i],
                                            memory_order_relaxed);
        if (t != NULL && !t->adopted)
            adopt(m, i, t);
    }
}

static void start_next(sl__master *m, sl__track *t, size_t off);

/* Ends a track (ENDED or FAILED) and hands over to its queued successor
 * at frame `off` of the block being planned (SIZE_MAX: not mixing). */
static void finish(sl__master *m, sl__track *t, int state, int error,
                   const char *reason, size_t off)
{
    bool was_playing = t->state == SL_TRACK_PLAYING;

    publish_state(t, state);
    t->after_fade = SL__AFTER_NONE;
    atomic_store_explicit(&t->pub_position, t->position,
                          memory_order_relaxed);
    if (state == SL_TRACK_FAILED) {
        if (error == SL_EFAULT)
            atomic_store_explicit(&t->eng->tainted, true,
                                  memory_order_relaxed);
        event(t, SL_EVENT_TRACK_FAILED, error, reason);
        sl__log(t->eng->log, SL_LOG_WARN, "track %llu (%s) failed: %s",
                (unsigned long long)t->id, t->name,
                reason != NULL ? reason : sl_strerror(error));
    } else if (state == SL_TRACK_ENDED) {
        event(t, SL_EVENT_TRACK_ENDED, 0, NULL);
    } /* STOPPED: closed while playing, no event */
    if (was_playing && !t->xfade_started)
        start_next(m, t, off);
}

static void retire(sl__master *m, unsigned i, sl__track *t)
{
    if (t->state == SL_TRACK_PLAYING)
        finish(m, t, SL_TRACK_STOPPED, 0, NULL, SIZE_MAX);
    t->dying = true;
    /* Make a read-ahead in flight stop early. */
    atomic_store_explicit(&t->ra_want, t->epoch + 1, memory_order_release);
    if (!atomic_load_explicit(&t->ra_busy, memory_order_acquire)) {
        sl__readahead_reap(t);
        m->tracks[i] = NULL;
        atomic_store_explicit(&t->retired, true, memory_order_release);
    }
}

/* Checks the read-ahead for faults; keeps it going. */
static void serve_readahead(sl__master *m, sl__track *t, bool render)
{
    int sig = atomic_exchange_explicit(&t->ra_fault, 0, memory_order_relaxed);
    size_t cap = sl_ring_capacity(t->ra);
    sl_service_class cls = SL_CLASS_IDLE;

    (void)m;
    if (sig != 0 && t->state != SL_TRACK_FAILED) {
        char why[64];
        snprintf(why, sizeof why, "reading crashed (signal %d)", sig);
        finish(m, t, SL_TRACK_FAILED, SL_EFAULT, why, SIZE_MAX);
        return;
    }
    sl__readahead_reap(t);
    if (t->state == SL_TRACK_FAILED)
        return;
    if (atomic_load_explicit(&t->ra_have, memory_order_acquire) == t->epoch) {
        if (atomic_load_explicit(&t->ra_status, memory_order_relaxed) !=
                SL__RA_READING ||
            sl_ring_readable(t->ra) >= cap / 2)
            return;
    }
    if (t->state == SL_TRACK_PLAYING)
        cls = sl_ring_readable(t->ra) < 2 * m->block && !render
                  ? SL_CLASS_AUDIBLE
                  : SL_CLASS_WARM;
    else if (t->state == SL_TRACK_QUEUED)
        cls = SL_CLASS_WARM;
    sl__readahead_kick(t, cls);
}

void sl__master_service(sl_engine *e, bool render)
{
    sl__master *m = e->master;

    adopt_new(m);
    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        sl__track *t = m->tracks[i];
        if (t == NULL)
            continue;
        if (t->dying) {
            retire(m, i, t);
            continue;
        }
        if (atomic_load_explicit(&t->closing, memory_order_acquire)) {
            if (audible(t) && !atomic_load(&e->stopping)) {
                fade_out(m, t, SL__AFTER_CLOSE);
            } else {
                retire(m, i, t);
                continue;
            }
        } else {
            apply_requests(m, t);
        }
        serve_readahead(m, t, render);
    }
}

bool sl__master_busy(sl_engine *e)
{
    sl__master *m = e->master;

    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        sl__track *t = m->tracks[i];
        if (t != NULL && !t->dying && t->state == SL_TRACK_PLAYING)
            return true;
    }
    return false;
}

void sl__master_retire_all(sl_engine *e)
{
    sl__master *m = e->master;

    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        sl__track *t = m->tracks[i];
        if (t == NULL)
            continue;
        sl__readahead_wait(t);
        while (atomic_load_explicit(&t->ra_busy, memory_order_acquire))
            sched_yield();
        sl__readahead_reap(t);
        m->tracks[i] = NULL;
        atomic_store_explicit(&t->retired, true, memory_order_release);
    }
}

/* True when a playing or queued track has what its next block needs:
 * its epoch in the ring and two blocks of it (or its end, or an error). */
static bool fed(const sl__master *m, sl__track *t)
{
    if (t->state != SL_TRACK_PLAYING && t->state != SL_TRACK_QUEUED)
        return true;
    if (atomic_load_explicit(&t->ra_have, memory_order_acquire) != t->epoch)
        return false;
    return atomic_load_explicit(&t->ra_status, memory_order_acquire) !=
               SL__RA_READING ||
           sl_ring_readable(t->ra) >= 2 * m->block ||
           sl_ring_writable(t->ra) == 0;
}

void sl__master_feed(sl_engine *e)
{
    sl__master *m = e->master;

    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        sl__track *t = m->tracks[i];
        if (t == NULL || t->dying)
            continue;
        while (!fed(m, t) && t->state != SL_TRACK_FAILED) {
            size_t before = sl_ring_readable(t->ra);
            bool ran = t->ra_handle_held;
            if (atomic_load_explicit(&t->ra_fault, memory_order_relaxed)) {
                serve_readahead(m, t, true); /* fails the track */
                break;
            }
            if (!ran) {
                if (sl__readahead_kick(t, SL_CLASS_AUDIBLE) != SL_OK) {
                    sched_yield(); /* pool full: let the workers drain it */
                    continue;
                }
            }
            sl__readahead_wait(t);
            /* A fresh job that added nothing in the same epoch is stuck
             * (its loop markers wait for playback): play what there is. */
            if (!ran && sl_ring_readable(t->ra) == before &&
                atomic_load_explicit(&t->ra_have, memory_order_acquire) ==
                    t->epoch)
                break;
        }
    }
}

/* Frames from `t`'s position to its end (end point or length), or -1. */
static int64_t frames_left(const sl__track *t)
{
    int64_t end = atomic_load_explicit(&t->end_req, memory_order_relaxed);

    if (atomic_load_explicit(&t->loop_start, memory_order_relaxed) >= 0)
        return -1;
    if (end < 0 || (t->length >= 0 && end > t->length))
        end = t->length;
    return end < 0 ? -1 : (end > t->position ? end - t->position : 0);
}

int64_t sl__master_expected(sl_engine *e)
{
    sl__master *m = e->master;
    int64_t total = 0;

    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        sl__track *t = m->tracks[i];
        unsigned hops = 0;
        if (t == NULL || t->dying || t->state != SL_TRACK_PLAYING)
            continue;
        /* The playing track and the queue after it. */
        for (int64_t x = 0; t != NULL && hops++ <= e->cfg.max_tracks;
             t = atomic_load(&t->next)) {
            int64_t left = frames_left(t);
            if (left < 0)
                return -1;
            total += left - x;
            x = (int64_t)atomic_load_explicit(&t->xfade,
                                              memory_order_relaxed);
            if (x > left)
                x = left;
        }
    }
    return total;
}

void sl__master_quiesce(sl_engine *e)
{
    sl__master *m = e->master;

    for (unsigned i = 0; i < e->cfg.max_tracks; i++)
        if (m->tracks[i] != NULL)
            sl__readahead_wait(m->tracks[i]);
}

/* ------------------------------------------------------------ planning */

/* Pops the loop markers playback has reached and updates the position. */
static void advance(sl__track *t, size_t frames)
{
    size_t head = atomic_load_explicit(&t->mk_head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&t->mk_tail, memory_order_relaxed);

    t->consumed += frames;
    while (tail != head && t->markers[tail % SL__MARKERS].at <= t->consumed) {
        t->seg = t->markers[tail % SL__MARKERS];
        tail++;
    }
    atomic_store_explicit(&t->mk_tail, tail, memory_order_release);
    t->position = t->seg.frame + (int64_t)(t->consumed - t->seg.at);
    atomic_store_explicit(&t->pub_position, t->position,
                          memory_order_relaxed);
}

/* Frames left before the track ends, or -1 when unknown (or looping). */
static int64_t remaining(const sl__track *t, int status, size_t avail)
{
    int64_t end;

    if (status == SL__RA_EOF)
        return (int64_t)avail;
    if (atomic_load_explicit(&t->loop_start, memory_order_relaxed) >= 0)
        return -1;
    end = atomic_load_explicit(&t->end_req, memory_order_relaxed);
    if (end < 0 || (t->length >= 0 && end > t->length))
        end = t->length;
    return end < 0 ? -1 : end - t->position;
}

static void plan(sl__master *m, sl__track *t, size_t off);

static void start_next(sl__master *m, sl__track *t, size_t off)
{
    sl__track *n = atomic_load(&t->next);

    if (n == NULL || !n->adopted || n->dying || n->state != SL_TRACK_QUEUED)
        return;
    start_playing(m, n);
    if (off != SIZE_MAX && (n->tick_planned != m->tick || !n->plan_mix)) {
        plan(m, n, off);
        if (!n->plan_mix) { /* not read ahead in time: it starts late */
            atomic_fetch_add_explicit(&n->underruns, 1,
                                      memory_order_relaxed);
            atomic_fetch_add_explicit(&m->e->track_underruns, 1,
                                      memory_order_relaxed);
            event(n, SL_EVENT_TRACK_UNDERRUN, 0, "not read ahead in time");
        }
    }
}

/* Starts the crossfade into the queued track when its first frame falls
 * in this block. */
static void plan_crossfade(sl__master *m, sl__track *t, size_t off,
                           int64_t left)
{
    sl__track *n = atomic_load_explicit(&t->next, memory_order_acquire);
    uint64_t x = atomic_load_explicit(&t->xfade, memory_order_relaxed);
    int64_t start;
    uint64_t len;

    if (n == NULL || x == 0 || left <= 0 || t->xfade_started ||
        !n->adopted || n->dying || n->state != SL_TRACK_QUEUED)
        return;
    start = left > (int64_t)x ? left - (int64_t)x : 0;
    if (start >= (int64_t)(m->block - off))
        return;
    len = (uint64_t)left < x ? (uint64_t)left : x;
    t->xfade_started = true;
    env_set(&t->env, SL__ENV_OUT, true, len, (uint64_t)start);
    start_playing(m, n);
    n->env.level = 0.0f;
    env_set(&n->env, SL__ENV_IN, true, len, 0);
    if (n->tick_planned != m->tick || !n->plan_mix)
        plan(m, n, off + (size_t)start);
}

static void plan(sl__master *m, sl__track *t, size_t off)
{
    size_t need = m->block - off, avail, take;
    int status;
    int64_t left;

    t->tick_planned = m->tick;
    t->plan_mix = false;
    if (t->state != SL_TRACK_PLAYING || t->dying ||
        atomic_load_explicit(&t->ra_have, memory_order_acquire) != t->epoch)
        return;
    status = atomic_load_explicit(&t->ra_status, memory_order_acquire);
    avail = sl_ring_readable(t->ra);
    if (!t->primed) {
        size_t cap = sl_ring_capacity(t->ra);
        size_t enough = 2 * m->block < cap / 2 ? 2 * m->block : cap / 2;
        if (avail < enough && status == SL__RA_READING)
            return;
        t->primed = true;
    }
    if (!t->started_sent) {
        t->started_sent = true;
        event(t, SL_EVENT_TRACK_STARTED, 0, NULL);
    }
    take = avail < need ? avail : need;
    if (t->after_fade != SL__AFTER_NONE && env_left(&t->env) < take)
        take = (size_t)env_left(&t->env); /* resume exactly where it fades */
    left = remaining(t, status, avail);
    plan_crossfade(m, t, off, left);
    if (take < need && status == SL__RA_READING &&
        t->after_fade == SL__AFTER_NONE) {
        if (!t->underrunning) {
            atomic_fetch_add_explicit(&t->underruns, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&m->e->track_underruns, 1,
                                      memory_order_relaxed);
            event(t, SL_EVENT_TRACK_UNDERRUN, 0, NULL);
            sl__log(m->e->log, SL_LOG_INFO,
                    "track %llu (%s) ran dry at frame %lld",
                    (unsigned long long)t->id, t->name,
                    (long long)t->position);
        }
        t->underrunning = true;
    } else {
        t->underrunning = false;
    }
    t->plan_off = off;
    t->plan_take = take;
    t->plan_mix = true;
    m->planned[m->nplanned++] = t;
    if (status != SL__RA_READING && avail <= need &&
        t->after_fade == SL__AFTER_NONE) {
        advance(t, take);
        if (status == SL__RA_EOF)
            finish(m, t, SL_TRACK_ENDED, 0, NULL, off + take);
        else
            finish(m, t, SL_TRACK_FAILED, t->ra_error, t->ra_why, off + take);
        t->plan_advanced = true;
    } else {
        t->plan_advanced = false;
    }
}

/* ------------------------------------------------------------ mixing */

static int mix_job(sl_job *job, void *arg)
{
    sl__track *t = arg;
    sl__master *m = t->eng->master;
    unsigned ch = m->ch;
    float *b = t->buf, *p = t->buf + t->plan_off * ch;
    size_t n = m->block - t->plan_off;

    (void)job;
    memset(b, 0, m->block * ch * sizeof *b);
    if (t->chain_reset) {
        sl_chain_reset(t->chain);
        t->chain_reset = false;
    }
    sl_ring_read(t->ra, p, t->plan_take);
    sl_chain_process(t->chain, b, m->block);
    for (size_t i = 0; i < n; i++) {
        float l = sl__ramp_next(&t->gain_l), r = sl__ramp_next(&t->gain_r);
        p[i * ch] *= l;
        if (ch >= 2)
            p[i * ch + 1] *= r;
        float g = sl__ramp_next(&t->gain_c);
        for (unsigned c = 2; c < ch; c++)
            p[i * ch + c] *= g;
    }
    env_apply(&t->env, p, n, ch);
    atomic_store_explicit(&t->mixed_tick, m->tick, memory_order_release);
    return SL_OK;
}

/* Runs the planned tracks' mix jobs as one frame and waits, helping. */
static void run_mix_jobs(sl__master *m)
{
    sl_engine *e = m->e;
    sl_frame_group g;
    sl_frame_handle h;
    unsigned submitted = 0;

    if (m->nplanned == 0)
        return;
    if (sl_pool_frame_begin(e->pool, sl__engine_frame_id(e), SL_CLASS_AUDIBLE,
                            0, &g) != SL_OK) {
        for (unsigned i = 0; i < m->nplanned; i++)
            mix_job(NULL, m->planned[i]);
        return;
    }
    for (unsigned i = 0; i < m->nplanned; i++) {
        if (sl_pool_frame_submit(e->pool, g, mix_job, m->planned[i],
                                 SL_POOL_FOREVER) == SL_OK)
            submitted++;
        else
            mix_job(NULL, m->planned[i]); /* closed pool: run it here */
    }
    (void)submitted;
    if (sl_pool_frame_finish(e->pool, g, NULL, NULL, &h) == SL_OK) {
        sl_pool_frame_wait(e->pool, h, SL_POOL_FOREVER);
        sl_frame_stats st;
        if (sl_pool_frame_stats(e->pool, h, &st) == SL_OK &&
            st.jobs_faulted > 0)
            atomic_store_explicit(&e->tainted, true, memory_order_relaxed);
        sl_pool_frame_release(e->pool, h);
    }
}

/* Sums what the mix jobs made; fails the tracks whose job did not
 * finish (it faulted). Then completes fades, advances positions. */
static void sum_and_settle(sl__master *m)
{
    size_t n = m->block * m->ch;

    memset(m->mix, 0, n * sizeof *m->mix);
    for (unsigned k = 0; k < m->nplanned; k++) {
        sl__track *t = m->planned[k];
        if (atomic_load_explicit(&t->mixed_tick, memory_order_acquire) !=
            m->tick) {
            if (t->state != SL_TRACK_FAILED)
                finish(m, t, SL_TRACK_FAILED, SL_EFAULT,
                       "its effects crashed", SIZE_MAX);
            continue;
        }
        for (size_t i = 0; i < n; i++)
            m->mix[i] += t->buf[i];
        if (!t->plan_advanced)
            advance(t, t->plan_take);
        if (t->after_fade != SL__AFTER_NONE && t->env.kind == SL__ENV_NONE &&
            t->env.level == 0.0f) {
            int after = t->after_fade;
            t->after_fade = SL__AFTER_NONE;
            if (after == SL__AFTER_PAUSE)
                publish_state(t, SL_TRACK_PAUSED);
            else if (after == SL__AFTER_STOP)
                do_stop(t);
            else if (after == SL__AFTER_SEEK) {
                /* -1: a re-read from where the fade ended */
                do_seek(t, t->pending_seek >= 0 ? t->pending_seek
                                                : t->position);
                env_set(&t->env, SL__ENV_IN, false, m->fade_len, 0);
            } /* AFTER_CLOSE: the next service retires it */
        }
        if (m->pos_every > 0 && t->state == SL_TRACK_PLAYING &&
            t->position - t->last_position_event >= (int64_t)m->pos_every) {
            t->last_position_event = t->position;
            event(t, SL_EVENT_POSITION, 0, NULL);
        }
    }
}

/* Engine pause, master gain, master chain, non-finite scrub. */
static void master_stage(sl__master *m, float *out)
{
    sl_engine *e = m->e;
    size_t n = m->block * m->ch;
    float g = atomic_load_explicit(&e->gain_req, memory_order_relaxed);

    if (g != m->gain_seen) {
        m->gain_seen = g;
        sl__ramp_set(&m->gain, g, m->ramp_len);
    }
    sl_chain_process(e->master_chain, m->mix, m->block);
    for (size_t i = 0; i < m->block; i++) {
        float a = sl__ramp_next(&m->gain);
        for (unsigned c = 0; c < m->ch; c++)
            m->mix[i * m->ch + c] *= a;
    }
    env_apply(&m->env, m->mix, m->block, m->ch);
    for (size_t i = 0; i < n; i++)
        out[i] = isfinite(m->mix[i]) ? m->mix[i] : 0.0f;
}

static void serve_pause(sl__master *m)
{
    sl_engine *e = m->e;
    bool want = atomic_load_explicit(&e->pause_req, memory_order_acquire);

    if (want != m->pause_seen) {
        m->pause_seen = want;
        if (want) {
            env_set(&m->env, SL__ENV_OUT, false, m->fade_len, 0);
        } else {
            m->paused = false;
            atomic_store_explicit(&e->paused_ack, false, memory_order_release);
            env_set(&m->env, SL__ENV_IN, false, m->fade_len, 0);
        }
    }
}

size_t sl__master_mix(sl_engine *e, float *out)
{
    sl__master *m = e->master;
    size_t end = 0;

    m->tick++;
    m->nplanned = 0;
    serve_pause(m);
    if (!m->paused) {
        for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
            sl__track *t = m->tracks[i];
            if (t != NULL && t->tick_planned != m->tick)
                plan(m, t, 0);
        }
    }
    run_mix_jobs(m);
    sum_and_settle(m);
    master_stage(m, out);
    if (m->pause_seen && !m->paused && m->env.kind == SL__ENV_NONE) {
        m->paused = true;
        atomic_store_explicit(&e->paused_ack, true, memory_order_release);
    }
    atomic_fetch_add_explicit(&e->frames_mixed, m->block,
                              memory_order_relaxed);
    if (sl__master_busy(e))
        return m->block;
    for (unsigned k = 0; k < m->nplanned; k++) {
        sl__track *t = m->planned[k];
        if (t->plan_off + t->plan_take > end)
            end = t->plan_off + t->plan_take;
    }
    return end;
}

/* ------------------------------------------------------------ the node */

/* The frames the PCM ring should hold. */
static size_t target_fill(sl_engine *e)
{
    return atomic_load_explicit(&e->target_frames, memory_order_relaxed);
}

static int master_tick(sl_node *node)
{
    sl__master *m = (sl__master *)node;
    sl_engine *e = m->e;
    size_t cap = sl_ring_capacity(e->pcm);
    size_t fill = cap - sl_ring_writable(e->pcm);

    sl__master_service(e, false);
    if (fill + m->block > target_fill(e))
        return SL_NODE_BACKPRESSURED;
    sl__master_mix(e, e->out_block);
    sl_ring_write(e->pcm, e->out_block, m->block);
    return SL_NODE_PROGRESS;
}

static const sl_node_vtable master_vtable = {
    .name = "master",
    .tick = master_tick,
};

sl_node *sl__master_node(sl_engine *e)
{
    return &e->master->node;
}

int sl__master_create(sl_engine *e)
{
    sl__master *m = calloc(1, sizeof *m);
    unsigned n = e->cfg.max_tracks;

    if (m == NULL)
        return SL_ENOMEM;
    e->master = m;
    m->e = e;
    m->block = e->cfg.block_frames;
    m->ch = e->cfg.channels;
    m->tracks = calloc(n, sizeof *m->tracks);
    m->gen_seen = calloc(n, sizeof *m->gen_seen);
    m->planned = calloc(2 * (size_t)n, sizeof *m->planned);
    m->mix = calloc(m->block * m->ch, sizeof *m->mix);
    if (m->tracks == NULL || m->gen_seen == NULL || m->planned == NULL ||
        m->mix == NULL)
        return SL_ENOMEM;
    m->fade_len = (uint64_t)(e->cfg.rate * SL__FADE_MS / 1000.0 + 0.5);
    m->pos_every = (uint64_t)(e->cfg.rate * e->cfg.position_interval_ms /
                              1000.0);
    m->ramp_len = sl__ramp_len(e->cfg.rate);
    m->env.level = 1.0f;
    m->gain.cur = m->gain.target = 1.0f;
    m->gain_seen = 1.0f;
    sl_node_init(&m->node, &master_vtable, SL_CLASS_AUDIBLE);
    return SL_OK;
}

void sl__master_destroy(sl_engine *e)
{
    sl__master *m = e->master;

    if (m == NULL)
        return;
    free(m->tracks);
    free(m->gen_seen);
    free(m->planned);
    free(m->mix);
    free(m);
    e->master = NULL;
}
