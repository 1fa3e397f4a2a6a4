/*
 * sink_pa.c: the PortAudio output sink.
 *
 * Opens a float32 interleaved output stream on any PortAudio device and
 * renders the PCM ring into it from PortAudio's callback.
 *
 * The stream runs from open to close. Start and stop only switch whether
 * the callback consumes the ring (otherwise it writes silence), through a
 * flag and a "busy" flag the callback raises around its work: stop clears
 * the first and waits until the second is down, so it returns after at
 * most one render and never waits on PortAudio. Why: with the PortAudio
 * 19.6.0 of Debian 12, stopping or closing a stream whose JACK server died
 * hangs or aborts the process (pa_lib.h), and a stream that was stopped
 * when its server died could not even be closed safely afterwards. A
 * stream that always runs shows its death the same way every time: it
 * goes inactive without being stopped.
 *
 * Close tears the stream down on a teardown thread (Pa_StopStream, then
 * Pa_CloseStream only when PortAudio's stream-finished callback confirmed
 * a normal stop) and waits for it at most SL__SINK_TEARDOWN_MS. A stream
 * that is dead, that finished without that confirmation (its server died
 * during the stop) or whose teardown did not return in time is abandoned:
 * the stream and the block its callback reads are never freed, and its
 * copy of PortAudio is poisoned so that the next open loads a fresh one.
 *
 * Thread: open, start, stop, check and close on a control thread;
 * callback() and finished() on PortAudio's real-time thread (for JACK, the
 * JACK process thread); teardown() on its own short-lived thread. The
 * callback only copies from the ring, counts with atomics, reads the
 * monotonic clock and calls the RT-safe wake: no allocation, free, lock,
 * log, I/O or wait (tests/test_sink.c checks this by interposition and,
 * in a RealtimeSanitizer build, through SL__NONBLOCKING).
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/error.h>
#include "clock.h"
#include "pa_lib.h"
#include "sink.h"
#include "wake.h"

/* What the callbacks read. Allocated apart from the sink so that an
 * abandoned stream keeps it (and only it) for good. */
typedef struct pa_ctx {
    sl__sink *sink;          /* touched only while consuming */
    unsigned channels;
    atomic_bool consuming;   /* control → callback: render the ring */
    atomic_bool busy;        /* callback → control: inside a callback */
    atomic_bool called;      /* a callback has run: the stream started */
    atomic_bool finished;    /* PortAudio's stream-finished callback ran */
    struct pa_ctx *next;     /* in the graveyard, once abandoned */
} pa_ctx;

typedef struct pa_sink {
    sl__sink base; /* first: the vtable functions cast back */
    sl__pa *pa;    /* the copy of PortAudio the stream lives in */
    PaStream *stream;
    pa_ctx *ctx;
    bool jack;     /* the device belongs to PortAudio's JACK host API */
    char device[64];
} pa_sink;

/* Abandoned callback blocks, deliberately never freed: a callback of an
 * abandoned stream may still run. The list keeps them reachable, which
 * also tells LeakSanitizer the leak is meant. */
static pa_ctx *_Atomic graveyard;

static int callback(const void *in, void *out, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time,
                    PaStreamCallbackFlags flags, void *arg) SL__NONBLOCKING
{
    pa_ctx *c = arg;

    (void)in;
    (void)time;
    /* seq_cst, with the load of `consuming` after it: paired with the
     * control side's store of `consuming` and load of `busy` (quiesce()),
     * one of the two sees the other's store, so a callback either sees
     * consuming cleared or is waited for. */
    atomic_store_explicit(&c->busy, true, memory_order_seq_cst);
    if (atomic_load_explicit(&c->consuming, memory_order_seq_cst)) {
        sl__sink *s = c->sink;
        sl__sink_rt_mark(true);
        if (flags & paOutputUnderflow)
            atomic_fetch_add_explicit(&s->pa_underflows, 1,
                                      memory_order_relaxed);
        sl__sink_render(s, out, frames);
        sl__sink_rt_mark(false);
    } else {
        memset(out, 0, frames * c->channels * sizeof(float));
    }
    atomic_store_explicit(&c->busy, false, memory_order_seq_cst);
    /* release: whoever sees it sees the stream active (PortAudio marks it
     * so before the first callback). */
    if (!atomic_load_explicit(&c->called, memory_order_relaxed))
        atomic_store_explicit(&c->called, true, memory_order_release);
    return paContinue;
}

/* PortAudio calls it when the stream has finished after Pa_StopStream,
 * but not when a JACK server's shutdown ended it. */
static void finished(void *arg) SL__NONBLOCKING
{
    pa_ctx *c = arg;

    atomic_store_explicit(&c->finished, true, memory_order_release);
}

/* Waits until no callback is inside a render, after the caller cleared
 * `consuming`. A render is bounded (it never waits), so this is too. */
static void quiesce(pa_ctx *c)
{
    struct timespec ts = {0, 200000};

    atomic_store_explicit(&c->consuming, false, memory_order_seq_cst);
    while (atomic_load_explicit(&c->busy, memory_order_seq_cst))
        nanosleep(&ts, NULL);
}

/* The stream has run and PortAudio no longer calls it active. */
static bool stream_dead(pa_sink *s)
{
    return atomic_load_explicit(&s->ctx->called, memory_order_acquire) &&
           s->pa->is_stream_active(s->stream) != 1;
}

static int pa_check(sl__sink *base, char *why, size_t why_len)
{
    pa_sink *s = (pa_sink *)base;

    if (sl__pa_is_poisoned(s->pa)) {
        snprintf(why, why_len, "the PortAudio instance of '%s' was given "
                 "up after a device loss", s->device);
        return SL_EDEVICE;
    }
    if (!stream_dead(s))
        return SL_OK;
    if (s->jack)
        snprintf(why, why_len, "JACK server gone: PortAudio stopped the "
                 "stream on '%s'", s->device);
    else
        snprintf(why, why_len, "PortAudio stopped the stream on '%s'",
                 s->device);
    return SL_EDEVICE;
}

static int pa_start(sl__sink *base)
{
    pa_sink *s = (pa_sink *)base;

    if (atomic_load_explicit(&s->ctx->consuming, memory_order_relaxed))
        return SL_ESTATE;
    if (pa_check(base, base->lost_why, sizeof base->lost_why) != SL_OK) {
        base->lost = true;
        return SL_EDEVICE;
    }
    atomic_store_explicit(&s->ctx->consuming, true, memory_order_seq_cst);
    return SL_OK;
}

static int pa_stop(sl__sink *base)
{
    quiesce(((pa_sink *)base)->ctx);
    return SL_OK;
}

/* ---------------------------------------------------------------- close */

/* Shared by the closing thread and the teardown thread; the last one out
 * frees it (a teardown that never returns keeps it, with the stream). */
typedef struct teardown {
    sl__pa *pa;
    PaStream *stream;
    pa_ctx *ctx;
    sl__wake wake;        /* the closing thread parks on it */
    atomic_bool done;     /* release: the results below are written */
    atomic_bool abandoned; /* the closer gave up: close nothing more */
    atomic_int refs;
    PaError stop_err, close_err;
    bool finished, closed;
} teardown;

static void drop(teardown *t)
{
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        free(t);
}

static void *teardown_run(void *arg)
{
    teardown *t = arg;

    pthread_setname_np(pthread_self(), "sl-pa-close");
    t->stop_err = t->pa->stop_stream(t->stream);
    /* acquire: pairs with finished()'s release. */
    t->finished = atomic_load_explicit(&t->ctx->finished,
                                       memory_order_acquire);
    /* Closing a stream whose JACK server died aborts the process (an
     * assert in PortAudio), so only a confirmed normal stop is closed. */
    if (t->stop_err == paNoError && t->finished &&
        !atomic_load_explicit(&t->abandoned, memory_order_acquire)) {
        t->close_err = t->pa->close_stream(t->stream);
        t->closed = true;
    }
    atomic_store_explicit(&t->done, true, memory_order_release);
    sl__wake_signal(&t->wake);
    drop(t);
    return NULL;
}

/* Starts a detached teardown thread with every signal blocked (the
 * process's signals are not its business). */
static int spawn(teardown *t)
{
    pthread_attr_t attr;
    pthread_t thread;
    sigset_t all, old;
    int err;

    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&thread, &attr, teardown_run, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return err == 0 ? 0 : -1;
}

/* Waits for the teardown until `deadline_ns`. Returns whether it ended. */
static bool wait_done(teardown *t, uint64_t deadline_ns)
{
    for (;;) {
        uint32_t seen = sl__wake_seen(&t->wake);
        if (atomic_load_explicit(&t->done, memory_order_acquire))
            return true;
        if (sl__now_ns() >= deadline_ns)
            return false;
        if (sl__wake_prepare(&t->wake, seen))
            sl__wake_wait(&t->wake, seen, deadline_ns);
    }
}

/* Stops and closes the stream on a teardown thread. Returns true when the
 * stream was closed normally, false when it must be abandoned. */
static bool tear_down(pa_sink *s)
{
    teardown *t = calloc(1, sizeof *t);
    bool clean = false;

    if (t == NULL)
        return false;
    t->pa = s->pa;
    t->stream = s->stream;
    t->ctx = s->ctx;
    sl__wake_init(&t->wake);
    atomic_init(&t->done, false);
    atomic_init(&t->abandoned, false);
    atomic_init(&t->refs, 2);
    if (spawn(t) != 0) {
        free(t);
        return false;
    }
    if (wait_done(t, sl__now_ns() + SL__SINK_TEARDOWN_MS * 1000000ull))
        clean = t->closed && t->close_err == paNoError;
    else
        atomic_store_explicit(&t->abandoned, true, memory_order_release);
    drop(t);
    return clean;
}

/* Leaves the stream to itself: its callback block goes to the graveyard
 * and its copy of PortAudio is never called again. */
static void abandon(pa_sink *s)
{
    pa_ctx *head = atomic_load_explicit(&graveyard, memory_order_relaxed);

    do
        s->ctx->next = head;
    while (!atomic_compare_exchange_weak_explicit(
        &graveyard, &head, s->ctx, memory_order_release,
        memory_order_relaxed));
    sl__pa_poison(s->pa);
}

static void pa_close(sl__sink *base)
{
    pa_sink *s = (pa_sink *)base;

    quiesce(s->ctx); /* from here on the callback touches only `out` */
    /* A stall the watchdog reported may have been the machine, not the
     * device: a live stream still stops and closes cleanly, and only a
     * teardown that times out gives the copy of PortAudio up. */
    if (!sl__pa_is_poisoned(s->pa) && !stream_dead(s) && tear_down(s)) {
        free(s->ctx);
        sl__pa_release(s->pa);
    } else {
        abandon(s);
    }
    free(s);
}

static const sl__sink_vtable pa_vtable = {
    .name = "portaudio",
    .start = pa_start,
    .stop = pa_stop,
    .close = pa_close,
    .check = pa_check,
};

/* ---------------------------------------------------------------- open */

static PaError open_stream(pa_sink *s, const sl__sink_config *cfg)
{
    const PaDeviceInfo *d = s->pa->device_info(cfg->device);
    const PaHostApiInfo *api;
    PaStreamParameters p = {
        .device = cfg->device,
        .channelCount = (int)s->base.channels,
        .sampleFormat = paFloat32,
    };

    if (d == NULL || d->maxOutputChannels < p.channelCount)
        return paInvalidDevice;
    api = s->pa->host_api_info(d->hostApi);
    s->jack = api != NULL && api->type == paJACK;
    snprintf(s->device, sizeof s->device, "%s",
             d->name != NULL ? d->name : "?");
    p.suggestedLatency = cfg->latency_ms > 0 ? cfg->latency_ms / 1000.0
                                             : d->defaultLowOutputLatency;
    return s->pa->open_stream(&s->stream, NULL, &p, cfg->rate,
                              cfg->period ? cfg->period
                                          : paFramesPerBufferUnspecified,
                              paNoFlag, callback, s->ctx);
}

/* Starts the stream, which then runs until close. */
static int start_stream(pa_sink *s)
{
    const PaStreamInfo *info;

    if (s->pa->set_finished_callback(s->stream, finished) != paNoError ||
        s->pa->start_stream(s->stream) != paNoError)
        return SL_EDEVICE;
    info = s->pa->stream_info(s->stream);
    s->base.device_latency = info != NULL ? info->outputLatency : 0.0;
    return SL_OK;
}

int sl__sink_pa_open(sl__sink **out, const sl__sink_config *cfg)
{
    pa_sink *s = NULL;
    char why[128];
    int err = SL_EINVAL;

    *out = NULL;
    if (cfg->ring == NULL || cfg->rate == 0 || cfg->device < 0)
        return SL_EINVAL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return SL_ENOMEM;
    sl__sink_init(&s->base, &pa_vtable, cfg);
    s->ctx = calloc(1, sizeof *s->ctx);
    if (s->ctx == NULL) {
        err = SL_ENOMEM;
        goto fail;
    }
    s->ctx->sink = &s->base;
    s->ctx->channels = s->base.channels;
    if (sl__pa_acquire(&s->pa, why, sizeof why) != SL_OK) {
        err = SL_EDEVICE;
        goto fail;
    }
    if (cfg->device >= s->pa->device_count())
        goto fail_pa;
    if (open_stream(s, cfg) != paNoError) {
        err = SL_EDEVICE;
        goto fail_pa;
    }
    if (start_stream(s) != SL_OK) {
        /* Whether it can be closed safely is unknown: give it up. */
        abandon(s);
        free(s);
        return SL_EDEVICE;
    }
    *out = &s->base;
    return SL_OK;

fail_pa:
    sl__pa_release(s->pa);
fail:
    free(s->ctx);
    free(s);
    return err;
}
