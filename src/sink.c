/*
 * sink.c: what every output sink shares: the vtable dispatch, the counters
 * and the render step that both the PortAudio callback and the null sink's
 * thread run.
 *
 * Thread: dispatch on the control thread; sl__sink_render() on the sink's
 * real-time thread (it never allocates, locks, logs or waits); stats from
 * any thread.
 */
#include "config.h"

#include <string.h>

#include <sluice/error.h>
#include "clock.h"
#include "sink.h"

_Atomic(sl__sink_rt_hook_fn) sl__sink_rt_hook = NULL;

void sl__sink_config_default(sl__sink_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->rate = 48000;
    cfg->device = -1;
    cfg->paced = true;
}

void sl__sink_init(sl__sink *s, const sl__sink_vtable *vt,
                   const sl__sink_config *cfg)
{
    s->vt = vt;
    s->ring = cfg->ring;
    s->channels = sl_ring_channels(cfg->ring);
    s->low_watermark = cfg->low_watermark;
    s->wake = cfg->wake;
    s->wake_arg = cfg->wake_arg;
    s->short_before = false;
    atomic_init(&s->frames_played, 0);
    atomic_init(&s->underrun_frames, 0);
    atomic_init(&s->underrun_events, 0);
    atomic_init(&s->pa_underflows, 0);
    atomic_init(&s->wakes, 0);
    atomic_init(&s->heartbeat_ns, 0);
}

int sl__sink_start(sl__sink *s)
{
    return s->vt->start(s);
}

int sl__sink_stop(sl__sink *s)
{
    return s->vt->stop(s);
}

void sl__sink_close(sl__sink *s)
{
    if (s != NULL)
        s->vt->close(s);
}

/* Counters are written only by the render thread, so plain relaxed
 * load-add-store pairs suffice; readers take relaxed loads. */
static void bump(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_store_explicit(
        c, atomic_load_explicit(c, memory_order_relaxed) + n,
        memory_order_relaxed);
}

void sl__sink_render(sl__sink *s, float *out, size_t frames) SL__NONBLOCKING
{
    size_t got = sl_ring_read(s->ring, out, frames);

    if (got < frames) {
        memset(out + got * s->channels, 0,
               (frames - got) * s->channels * sizeof(float));
        bump(&s->underrun_frames, frames - got);
        if (!s->short_before)
            bump(&s->underrun_events, 1);
    }
    s->short_before = got < frames;
    bump(&s->frames_played, frames);
    /* release: a reader that sees this heartbeat sees the counters of the
     * render it stamps. */
    atomic_store_explicit(&s->heartbeat_ns, sl__now_ns(),
                          memory_order_release);
    if (s->wake != NULL && sl_ring_readable(s->ring) < s->low_watermark) {
        bump(&s->wakes, 1);
        s->wake(s->wake_arg);
    }
}

void sl__sink_stats_get(const sl__sink *s, sl__sink_stats *st)
{
    sl__sink *m = (sl__sink *)(uintptr_t)s; /* atomics loads need non-const */

    st->heartbeat_ns =
        atomic_load_explicit(&m->heartbeat_ns, memory_order_acquire);
    st->frames_played =
        atomic_load_explicit(&m->frames_played, memory_order_relaxed);
    st->heartbeat_frames = st->frames_played;
    st->underrun_frames =
        atomic_load_explicit(&m->underrun_frames, memory_order_relaxed);
    st->underrun_events =
        atomic_load_explicit(&m->underrun_events, memory_order_relaxed);
    st->pa_underflows =
        atomic_load_explicit(&m->pa_underflows, memory_order_relaxed);
    st->wakes = atomic_load_explicit(&m->wakes, memory_order_relaxed);
}
