/*
 * sink_null.c: the null sink, a device made of a clock.
 *
 * A thread renders the ring one period at a time into a scratch buffer
 * and drops it. Paced, period k ends at start + k * period / rate on
 * CLOCK_MONOTONIC, slept to with clock_nanosleep(TIMER_ABSTIME): the
 * schedule is absolute, so a late wake-up shortens the next sleep instead
 * of shifting every later period (no drift). Unpaced, it renders as fast
 * as it can, yielding the CPU after a period that found the ring empty.
 *
 * Thread: open, start, stop and close on a control thread; run() on the
 * sink's own thread, whose render step is the same RT-safe one the
 * PortAudio callback runs.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include <sluice/error.h>
#include "clock.h"
#include "sink.h"

#define DEFAULT_PERIOD_MS 5

typedef struct null_sink {
    sl__sink base; /* first */
    pthread_t thread;
    bool running;      /* control thread only */
    atomic_bool quit;  /* control thread → sink thread */
    bool paced;
    unsigned rate;
    size_t period;     /* frames */
    float *scratch;    /* period * channels samples */
} null_sink;

/* Sleeps until the CLOCK_MONOTONIC time `ns`. */
static void sleep_until(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u),
                          (long)(ns % 1000000000u)};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* frames / rate in ns, rounded down; split so that frames * 1e9 cannot
 * overflow (it would after about 4 days at 48 kHz). */
static uint64_t frames_to_ns(uint64_t frames, unsigned rate)
{
    return frames / rate * 1000000000u + frames % rate * 1000000000u / rate;
}

/* One period of rendering: the null sink's real-time part. Returns the
 * frames the ring held before it. */
static size_t render_period(null_sink *s) SL__NONBLOCKING
{
    size_t had;

    sl__sink_rt_mark(true);
    had = sl_ring_readable(s->base.ring);
    sl__sink_render(&s->base, s->scratch, s->period);
    sl__sink_rt_mark(false);
    return had;
}

static void *run(void *arg)
{
    null_sink *s = arg;
    uint64_t start = sl__now_ns();
    uint64_t periods = 0;

    /* relaxed: stop() joins the thread, which orders everything else. */
    while (!atomic_load_explicit(&s->quit, memory_order_relaxed)) {
        size_t had = render_period(s);
        periods++;
        if (s->paced)
            sleep_until(start + frames_to_ns(periods * s->period, s->rate));
        else if (had < s->period)
            sched_yield();
    }
    return NULL;
}

static int null_start(sl__sink *base)
{
    null_sink *s = (null_sink *)base;

    if (s->running)
        return SL_ESTATE;
    atomic_store_explicit(&s->quit, false, memory_order_relaxed);
    if (pthread_create(&s->thread, NULL, run, s) != 0)
        return SL_ETHREAD;
    s->running = true;
    return SL_OK;
}

static int null_stop(sl__sink *base)
{
    null_sink *s = (null_sink *)base;

    if (!s->running)
        return SL_OK;
    atomic_store_explicit(&s->quit, true, memory_order_relaxed);
    pthread_join(s->thread, NULL);
    s->running = false;
    return SL_OK;
}

static void null_close(sl__sink *base)
{
    null_sink *s = (null_sink *)base;

    null_stop(base);
    free(s->scratch);
    free(s);
}

static const sl__sink_vtable null_vtable = {
    .name = "null",
    .start = null_start,
    .stop = null_stop,
    .close = null_close,
};

int sl__sink_null_open(sl__sink **out, const sl__sink_config *cfg)
{
    null_sink *s = NULL;

    *out = NULL;
    if (cfg->ring == NULL || cfg->rate == 0)
        return SL_EINVAL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        goto fail;
    sl__sink_init(&s->base, &null_vtable, cfg);
    s->paced = cfg->paced;
    s->rate = cfg->rate;
    s->period = cfg->period ? cfg->period
                            : (size_t)cfg->rate * DEFAULT_PERIOD_MS / 1000;
    if (s->period == 0)
        s->period = 1;
    atomic_store_explicit(&s->base.period, s->period, memory_order_relaxed);
    atomic_init(&s->quit, false);
    s->scratch = calloc(s->period * s->base.channels, sizeof(float));
    if (s->scratch == NULL)
        goto fail;
    *out = &s->base;
    return SL_OK;

fail:
    free(s);
    return SL_ENOMEM;
}
