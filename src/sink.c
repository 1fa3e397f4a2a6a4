/*
 * sink.c: what every output sink shares: the vtable dispatch, the counters,
 * the watchdog's heartbeat check and the render step that both the
 * PortAudio callback and the null sink's thread run.
 *
 * Thread: dispatch and the check on the control thread; sl__sink_render()
 * on the sink's real-time thread (it never allocates, locks, logs or
 * waits); stats and latencies from any thread.
 */
#include "config.h"

#include <stdio.h>
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
    cfg->stall_periods = SL__SINK_STALL_PERIODS;
    cfg->stall_min_ms = SL__SINK_STALL_MIN_MS;
}

void sl__sink_init(sl__sink *s, const sl__sink_vtable *vt,
                   const sl__sink_config *cfg)
{
    s->vt = vt;
    s->ring = cfg->ring;
    s->channels = sl_ring_channels(cfg->ring);
    atomic_init(&s->low_watermark, cfg->low_watermark);
    s->wake = cfg->wake;
    s->wake_arg = cfg->wake_arg;
    s->rate = cfg->rate;
    s->stall_periods =
        cfg->stall_periods ? cfg->stall_periods : SL__SINK_STALL_PERIODS;
    s->stall_min_ns = (uint64_t)(cfg->stall_min_ms ? cfg->stall_min_ms
                                                   : SL__SINK_STALL_MIN_MS) *
                      1000000u;
    s->device_latency = 0.0;
    s->short_before = false;
    s->lost = false;
    s->lost_why[0] = '\0';
    atomic_init(&s->started, false);
    atomic_init(&s->started_ns, 0);
    atomic_init(&s->period, cfg->period);
    atomic_init(&s->frames_played, 0);
    atomic_init(&s->underrun_frames, 0);
    atomic_init(&s->underrun_events, 0);
    atomic_init(&s->pa_underflows, 0);
    atomic_init(&s->wakes, 0);
    atomic_init(&s->heartbeat_ns, 0);
}

int sl__sink_start(sl__sink *s)
{
    if (atomic_load_explicit(&s->started, memory_order_relaxed))
        return SL_ESTATE;
    if (s->lost)
        return SL_EDEVICE;
    /* Before the start: a render may follow it at once. */
    atomic_store_explicit(&s->started_ns, sl__now_ns(), memory_order_relaxed);
    int err = s->vt->start(s);
    if (err == SL_OK)
        atomic_store_explicit(&s->started, true, memory_order_relaxed);
    return err;
}

int sl__sink_stop(sl__sink *s)
{
    atomic_store_explicit(&s->started, false, memory_order_relaxed);
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
    if (atomic_load_explicit(&s->period, memory_order_relaxed) != frames)
        atomic_store_explicit(&s->period, frames, memory_order_relaxed);
    /* release: a reader that sees this heartbeat sees the counters of the
     * render it stamps. */
    atomic_store_explicit(&s->heartbeat_ns, sl__now_ns(),
                          memory_order_release);
    if (s->wake != NULL &&
        sl_ring_readable(s->ring) <
            atomic_load_explicit(&s->low_watermark, memory_order_relaxed)) {
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

uint64_t sl__sink_stall_limit_ns(const sl__sink *s)
{
    sl__sink *m = (sl__sink *)(uintptr_t)s;
    uint64_t period = atomic_load_explicit(&m->period, memory_order_relaxed);
    uint64_t frames = period * s->stall_periods;
    /* frames / rate in ns, split so that frames * 1e9 cannot overflow. */
    uint64_t by_periods = s->rate ? frames / s->rate * 1000000000u +
                                        frames % s->rate * 1000000000u / s->rate
                                  : 0;

    return by_periods > s->stall_min_ns ? by_periods : s->stall_min_ns;
}

/* Records a loss; it is final. Returns SL_EDEVICE. */
static int lose(sl__sink *s, char *why, size_t why_len)
{
    s->lost = true;
    if (why != NULL && why_len > 0)
        snprintf(why, why_len, "%s", s->lost_why);
    return SL_EDEVICE;
}

int sl__sink_check(sl__sink *s, uint64_t now_ns, char *why, size_t why_len)
{
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (s->lost)
        return lose(s, why, why_len);
    if (s->vt->check != NULL &&
        s->vt->check(s, s->lost_why, sizeof s->lost_why) != SL_OK)
        return lose(s, why, why_len);
    if (!atomic_load_explicit(&s->started, memory_order_relaxed))
        return SL_OK;

    uint64_t beat =
        atomic_load_explicit(&s->heartbeat_ns, memory_order_acquire);
    uint64_t since =
        atomic_load_explicit(&s->started_ns, memory_order_relaxed);
    uint64_t last = beat > since ? beat : since;
    uint64_t limit = sl__sink_stall_limit_ns(s);

    /* A heartbeat stamped after the caller read the clock is not late. */
    if (now_ns <= last || now_ns - last <= limit)
        return SL_OK;
    snprintf(s->lost_why, sizeof s->lost_why,
             "%s sink stalled: no render for %llu ms (limit %llu ms)",
             s->vt->name, (unsigned long long)((now_ns - last) / 1000000u),
             (unsigned long long)(limit / 1000000u));
    return lose(s, why, why_len);
}

double sl__sink_device_latency(const sl__sink *s)
{
    return s->device_latency;
}

double sl__sink_output_latency(const sl__sink *s)
{
    return (double)sl_ring_readable(s->ring) / s->rate + s->device_latency;
}

void sl__sink_set_low_watermark(sl__sink *s, size_t frames)
{
    atomic_store_explicit(&s->low_watermark, frames, memory_order_relaxed);
}
