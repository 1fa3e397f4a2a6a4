/*
 * track.c: the track control calls (sluice/track.h). Each call takes the
 * engine lock, frees what the master has retired (the sweep), publishes
 * its request through the track's atomics and pokes the master; none
 * waits for the audio side. See engine_priv.h for who owns which field.
 *
 * Thread: control threads (any thread), serialized by the engine lock.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "engine_priv.h"
#include "why.h"

const char *sl_track_state_name(sl_track_state state)
{
    switch (state) {
    case SL_TRACK_STOPPED: return "STOPPED";
    case SL_TRACK_QUEUED: return "QUEUED";
    case SL_TRACK_PLAYING: return "PLAYING";
    case SL_TRACK_PAUSED: return "PAUSED";
    case SL_TRACK_ENDED: return "ENDED";
    case SL_TRACK_FAILED: return "FAILED";
    }
    return "UNKNOWN";
}

void sl__track_free(sl__track *t)
{
    if (t == NULL)
        return;
    sl__reader_destroy(t->reader);
    sl_ring_destroy(t->ra);
    sl_chain_destroy(t->chain);
    free(t->buf);
    free(t);
}

/* An engine without an output has no master thread between renders:
 * its control calls serve the tracks themselves. Under the lock. */
static void serve_offline(sl_engine *e)
{
    if (e->cfg.output == SL_OUTPUT_NONE && !e->rendering && e->master != NULL)
        sl__master_service(e, true);
}

void sl__engine_sweep(sl_engine *e)
{
    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        sl__track *t = e->ctl_tracks[i];
        if (t == NULL || !atomic_load_explicit(&t->retired,
                                               memory_order_acquire))
            continue;
        atomic_store_explicit(&e->slots[i], NULL, memory_order_relaxed);
        e->ctl_tracks[i] = NULL;
        sl__track_free(t);
    }
}

/* Takes the lock and finds a live track. On success returns with the
 * lock held. */
static int lock_track(sl_engine *e, sl_track_id id, sl__track **out)
{
    if (e == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&e->lock);
    sl__engine_sweep(e);
    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        sl__track *t = e->ctl_tracks[i];
        if (t != NULL && t->id == id &&
            !atomic_load_explicit(&t->closing, memory_order_relaxed)) {
            *out = t;
            return SL_OK;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return SL_ENOTFOUND;
}

static int unlock(sl_engine *e, int err)
{
    serve_offline(e);
    pthread_mutex_unlock(&e->lock);
    sl__engine_poke(e);
    return err;
}

/* Takes `t` out of the queue: whoever had it as next gets t's next. */
static void unqueue(sl_engine *e, sl__track *t)
{
    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        sl__track *u = e->ctl_tracks[i];
        if (u != NULL && atomic_load(&u->next) == t)
            atomic_store(&u->next, atomic_load(&t->next));
    }
}

static void request_run(sl__track *t, int run)
{
    atomic_store_explicit(&t->run_req, run, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->run_seq, 1, memory_order_release);
}

/* Builds a track around `src` (owned from now on) and installs it. */
static int install(sl_engine *e, sl__source *src, const char *name,
                   sl_track_id *id, char *why, size_t why_len)
{
    char reason[SL__WHY_LEN] = "";
    sl_chain_config cc;
    unsigned slot = e->cfg.max_tracks;
    size_t ra_frames;
    sl__track *t;
    int err;

    for (unsigned i = 0; i < e->cfg.max_tracks; i++)
        if (e->ctl_tracks[i] == NULL &&
            atomic_load_explicit(&e->slots[i], memory_order_relaxed) == NULL) {
            slot = i;
            break;
        }
    if (slot == e->cfg.max_tracks) {
        sl__source_close(src);
        sl__say(why, why_len, "%s: too many tracks open (%u)", name,
            e->cfg.max_tracks);
        return SL_EFULL;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        sl__source_close(src);
        goto nomem;
    }
    t->fmt = sl__source_format(src);
    t->can_seek = sl__source_can_seek(src);
    err = sl__reader_create(&t->reader, src, e->cfg.rate, e->cfg.channels,
                            e->cfg.quality, reason, sizeof reason);
    if (err != SL_OK) {
        free(t);
        sl__say(why, why_len, "%s: %s", name, reason);
        return err;
    }
    t->length = sl__reader_length(t->reader);
    ra_frames = (size_t)(e->cfg.readahead_ms * e->cfg.rate / 1000.0);
    if (ra_frames < 4 * (size_t)e->cfg.block_frames)
        ra_frames = 4 * (size_t)e->cfg.block_frames;
    sl_chain_config_default(&cc);
    cc.channels = e->cfg.channels;
    cc.sample_rate = e->cfg.rate;
    cc.max_block = e->cfg.block_frames;
    t->buf = calloc((size_t)e->cfg.block_frames * e->cfg.channels,
                    sizeof *t->buf);
    if (t->buf == NULL ||
        sl_ring_create(&t->ra, e->cfg.channels, ra_frames) != SL_OK ||
        sl_chain_create(&t->chain, &cc) != SL_OK) {
        sl__track_free(t);
        goto nomem;
    }
    t->eng = e;
    t->id = ++e->next_id;
    t->slot = slot;
    snprintf(t->name, sizeof t->name, "%s", name);
    atomic_init(&t->gain_req, 1.0f);
    atomic_init(&t->loop_start, -1);
    atomic_init(&t->loop_end, -1);
    atomic_init(&t->end_req, -1);
    t->markers[0] = (sl__marker){.at = 0, .frame = 0};
    atomic_init(&t->mk_head, 1);
    e->ctl_tracks[slot] = t;
    atomic_fetch_add_explicit(&e->tracks_open, 1, memory_order_relaxed);
    atomic_store_explicit(&e->slots[slot], t, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->slot_gen[slot], 1, memory_order_release);
    if (id != NULL)
        *id = t->id;
    return SL_OK;
nomem:
    sl__say(why, why_len, "%s: out of memory", name);
    return SL_ENOMEM;
}

static int open_track(sl_engine *e, sl__source *src, int err,
                      const char *name, const char *reason, sl_track_id *id,
                      char *why, size_t why_len)
{
    if (err != SL_OK) {
        sl__say(why, why_len, "%s: %s", name, reason);
        return err;
    }
    pthread_mutex_lock(&e->lock);
    sl__engine_sweep(e);
    err = install(e, src, name, id, why, why_len);
    return unlock(e, err);
}

int sl_track_open_file(sl_engine *e, const char *path, sl_track_id *id,
                       char *why, size_t why_len)
{
    char reason[SL__WHY_LEN] = "";
    sl__source *src = NULL;
    int err;

    sl__say(why, why_len, "%s", "");
    if (e == NULL || path == NULL || id == NULL) {
        sl__say(why, why_len, "missing argument");
        return SL_EINVAL;
    }
    err = sl__source_open_file(&src, path, reason, sizeof reason);
    return open_track(e, src, err, path, reason, id, why, why_len);
}

int sl_track_open_memory(sl_engine *e, const void *data, size_t size,
                         sl_track_id *id, char *why, size_t why_len)
{
    char reason[SL__WHY_LEN] = "";
    sl__source *src = NULL;
    int err;

    sl__say(why, why_len, "%s", "");
    if (e == NULL || data == NULL || id == NULL) {
        sl__say(why, why_len, "missing argument");
        return SL_EINVAL;
    }
    err = sl__source_open_memory(&src, data, size, reason, sizeof reason);
    return open_track(e, src, err, "memory", reason, id, why, why_len);
}

int sl_track_open_source(sl_engine *e, const sl_source_vtable *vt, void *user,
                         sl_track_id *id, char *why, size_t why_len)
{
    char reason[SL__WHY_LEN] = "";
    sl__source *src = NULL;
    int err;

    sl__say(why, why_len, "%s", "");
    if (e == NULL || vt == NULL || id == NULL) {
        sl__say(why, why_len, "missing argument");
        return SL_EINVAL;
    }
    err = sl__source_open_vtable(&src, vt, user, reason, sizeof reason);
    return open_track(e, src, err, "source", reason, id, why, why_len);
}

int sl_track_close(sl_engine *e, sl_track_id id)
{
    sl__track *t;
    int err = lock_track(e, id, &t);

    if (err != SL_OK)
        return err;
    unqueue(e, t);
    atomic_store_explicit(&t->closing, true, memory_order_release);
    atomic_fetch_sub_explicit(&e->tracks_open, 1, memory_order_relaxed);
    return unlock(e, SL_OK);
}

int sl_track_play(sl_engine *e, sl_track_id id)
{
    sl__track *t;
    int err = lock_track(e, id, &t);

    if (err != SL_OK)
        return err;
    if (atomic_load(&t->pub_state) == SL_TRACK_FAILED)
        return unlock(e, SL_ESTATE);
    unqueue(e, t);
    request_run(t, SL__RUN_PLAY);
    return unlock(e, SL_OK);
}

int sl_track_pause(sl_engine *e, sl_track_id id)
{
    sl__track *t;
    int err = lock_track(e, id, &t);
    int run;

    if (err != SL_OK)
        return err;
    run = atomic_load_explicit(&t->run_req, memory_order_relaxed);
    if (atomic_load(&t->pub_state) != SL_TRACK_PLAYING &&
        run != SL__RUN_PLAY)
        return unlock(e, SL_ESTATE);
    request_run(t, SL__RUN_PAUSE);
    return unlock(e, SL_OK);
}

int sl_track_stop(sl_engine *e, sl_track_id id)
{
    sl__track *t;
    int err = lock_track(e, id, &t);

    if (err != SL_OK)
        return err;
    unqueue(e, t);
    atomic_store(&t->next, NULL);
    request_run(t, SL__RUN_STOP);
    return unlock(e, SL_OK);
}

int sl_track_seek(sl_engine *e, sl_track_id id, int64_t frame)
{
    sl__track *t;
    int err;

    if (frame < 0)
        return SL_EINVAL;
    if ((err = lock_track(e, id, &t)) != SL_OK)
        return err;
    if (!t->can_seek)
        return unlock(e, SL_EUNSUPPORTED);
    if (t->length >= 0 && frame > t->length)
        return unlock(e, SL_ERANGE);
    atomic_store_explicit(&t->seek_req, frame, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->seek_seq, 1, memory_order_release);
    return unlock(e, SL_OK);
}

int sl_track_seek_seconds(sl_engine *e, sl_track_id id, double seconds)
{
    if (e == NULL || !isfinite(seconds) || seconds < 0)
        return SL_EINVAL;
    if (seconds * e->cfg.rate > 9.0e18)
        return SL_ERANGE;
    return sl_track_seek(e, id, (int64_t)llround(seconds * e->cfg.rate));
}

int sl_track_set_gain_db(sl_engine *e, sl_track_id id, double db)
{
    sl__track *t;
    int err;

    if (!isfinite(db))
        return SL_EINVAL;
    if ((err = lock_track(e, id, &t)) != SL_OK)
        return err;
    if (db > 24.0)
        return unlock(e, SL_ERANGE);
    atomic_store_explicit(&t->gain_req,
                          db <= -120.0 ? 0.0f : (float)sl__db_to_amp(db),
                          memory_order_relaxed);
    return unlock(e, SL_OK);
}

int sl_track_set_pan(sl_engine *e, sl_track_id id, double pan)
{
    sl__track *t;
    int err;

    if (!isfinite(pan))
        return SL_EINVAL;
    if ((err = lock_track(e, id, &t)) != SL_OK)
        return err;
    if (pan < -1.0 || pan > 1.0)
        return unlock(e, SL_ERANGE);
    atomic_store_explicit(&t->pan_req, (float)pan, memory_order_relaxed);
    return unlock(e, SL_OK);
}

int sl_track_set_loop(sl_engine *e, sl_track_id id, int64_t start,
                      int64_t end)
{
    sl__track *t;
    int err;

    if (start < 0 || (end != -1 && end <= start))
        return SL_EINVAL;
    if ((err = lock_track(e, id, &t)) != SL_OK)
        return err;
    if (!t->can_seek)
        return unlock(e, SL_EUNSUPPORTED);
    if (t->length >= 0 && (start >= t->length || end > t->length))
        return unlock(e, SL_ERANGE);
    /* The end first: the read-ahead treats loop_start as the switch. */
    atomic_store_explicit(&t->loop_end, end, memory_order_relaxed);
    atomic_store_explicit(&t->loop_start, start, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->region_seq, 1, memory_order_release);
    return unlock(e, SL_OK);
}

int sl_track_clear_loop(sl_engine *e, sl_track_id id)
{
    sl__track *t;
    int err = lock_track(e, id, &t);

    if (err != SL_OK)
        return err;
    atomic_store_explicit(&t->loop_start, -1, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->region_seq, 1, memory_order_release);
    return unlock(e, SL_OK);
}

int sl_track_set_end(sl_engine *e, sl_track_id id, int64_t end)
{
    sl__track *t;
    int err;

    if (end < -1 || end == 0)
        return SL_EINVAL;
    if ((err = lock_track(e, id, &t)) != SL_OK)
        return err;
    atomic_store_explicit(&t->end_req, end, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->region_seq, 1, memory_order_release);
    return unlock(e, SL_OK);
}

static sl__track *find_locked(sl_engine *e, sl_track_id id)
{
    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        sl__track *t = e->ctl_tracks[i];
        if (t != NULL && t->id == id && !atomic_load(&t->closing))
            return t;
    }
    return NULL;
}

int sl_track_queue(sl_engine *e, sl_track_id after, sl_track_id next,
                   double crossfade_ms)
{
    sl__track *a, *n, *old;
    int err;

    if (after == next || !isfinite(crossfade_ms) || crossfade_ms < 0)
        return SL_EINVAL;
    if ((err = lock_track(e, after, &a)) != SL_OK)
        return err;
    if ((n = find_locked(e, next)) == NULL)
        return unlock(e, SL_ENOTFOUND);
    if (atomic_load(&a->pub_state) == SL_TRACK_FAILED ||
        atomic_load(&n->pub_state) != SL_TRACK_STOPPED ||
        atomic_load_explicit(&n->run_req, memory_order_relaxed) !=
            SL__RUN_STOP)
        return unlock(e, SL_ESTATE);
    for (unsigned i = 0; i < e->cfg.max_tracks; i++) {
        sl__track *u = e->ctl_tracks[i];
        if (u != NULL && atomic_load(&u->next) == n)
            return unlock(e, SL_ESTATE);
    }
    old = atomic_load(&a->next);
    if (old != NULL)
        request_run(old, SL__RUN_STOP);
    atomic_store_explicit(&a->xfade,
                          (uint64_t)llround(crossfade_ms * e->cfg.rate / 1000.0),
                          memory_order_relaxed);
    request_run(n, SL__RUN_QUEUE);
    atomic_store(&a->next, n); /* seq_cst: pairs with the master's end */
    if (atomic_load(&a->pub_state) == SL_TRACK_ENDED) {
        atomic_store(&a->next, NULL);
        request_run(n, SL__RUN_PLAY);
    }
    return unlock(e, SL_OK);
}

int sl_track_get_state(sl_engine *e, sl_track_id id, sl_track_state *state)
{
    sl__track *t;
    int err;

    if (state == NULL)
        return SL_EINVAL;
    if ((err = lock_track(e, id, &t)) != SL_OK)
        return err;
    *state = (sl_track_state)atomic_load(&t->pub_state);
    pthread_mutex_unlock(&e->lock);
    return SL_OK;
}

int sl_track_get_position(sl_engine *e, sl_track_id id, int64_t *frame)
{
    sl__track *t;
    int err;

    if (frame == NULL)
        return SL_EINVAL;
    if ((err = lock_track(e, id, &t)) != SL_OK)
        return err;
    *frame = atomic_load_explicit(&t->pub_position, memory_order_relaxed);
    pthread_mutex_unlock(&e->lock);
    return SL_OK;
}

int sl_track_get_length(sl_engine *e, sl_track_id id, int64_t *frames)
{
    sl__track *t;
    int err;

    if (frames == NULL)
        return SL_EINVAL;
    if ((err = lock_track(e, id, &t)) != SL_OK)
        return err;
    *frames = t->length;
    pthread_mutex_unlock(&e->lock);
    return SL_OK;
}

int sl_track_get_format(sl_engine *e, sl_track_id id, sl_source_format *fmt)
{
    sl__track *t;
    int err;

    if (fmt == NULL)
        return SL_EINVAL;
    if ((err = lock_track(e, id, &t)) != SL_OK)
        return err;
    *fmt = t->fmt;
    pthread_mutex_unlock(&e->lock);
    return SL_OK;
}

sl_chain *sl_track_chain(sl_engine *e, sl_track_id id)
{
    sl__track *t;

    if (lock_track(e, id, &t) != SL_OK)
        return NULL;
    pthread_mutex_unlock(&e->lock);
    return t->chain;
}
