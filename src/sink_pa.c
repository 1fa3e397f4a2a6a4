/*
 * sink_pa.c: the PortAudio output sink.
 *
 * Opens a float32 interleaved output stream on any PortAudio device and
 * renders the PCM ring into it from PortAudio's callback.
 *
 * Thread: open, start, stop and close on a control thread; callback() on
 * PortAudio's real-time thread (for JACK, the JACK process thread). The
 * callback only copies from the ring, counts with atomics, reads the
 * monotonic clock and calls the RT-safe wake: no allocation, free, lock,
 * log, I/O or wait (tests/test_sink.c checks this by interposition).
 */
#include "config.h"

#include <stdlib.h>

#include <portaudio.h>

#include <sluice/error.h>
#include "sink.h"

typedef struct pa_sink {
    sl__sink base; /* first: the vtable functions cast back */
    PaStream *stream;
    bool running;
} pa_sink;

static int callback(const void *in, void *out, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time,
                    PaStreamCallbackFlags flags, void *arg) SL__NONBLOCKING
{
    sl__sink *s = arg;

    (void)in;
    (void)time;
    sl__sink_rt_mark(true);
    if (flags & paOutputUnderflow)
        atomic_fetch_add_explicit(&s->pa_underflows, 1, memory_order_relaxed);
    sl__sink_render(s, out, frames);
    sl__sink_rt_mark(false);
    return paContinue;
}

static int pa_start(sl__sink *base)
{
    pa_sink *s = (pa_sink *)base;

    if (s->running)
        return SL_ESTATE;
    if (Pa_StartStream(s->stream) != paNoError)
        return SL_EDEVICE;
    s->running = true;
    return SL_OK;
}

/* Pa_StopStream returns after the last callback has returned, so the ring
 * is free for its next consumer. */
static int pa_stop(sl__sink *base)
{
    pa_sink *s = (pa_sink *)base;

    if (!s->running)
        return SL_OK;
    s->running = false;
    return Pa_StopStream(s->stream) == paNoError ? SL_OK : SL_EDEVICE;
}

static void pa_close(sl__sink *base)
{
    pa_sink *s = (pa_sink *)base;

    pa_stop(base);
    Pa_CloseStream(s->stream);
    Pa_Terminate();
    free(s);
}

static const sl__sink_vtable pa_vtable = {
    .name = "portaudio",
    .start = pa_start,
    .stop = pa_stop,
    .close = pa_close,
};

static PaError open_stream(pa_sink *s, const sl__sink_config *cfg)
{
    const PaDeviceInfo *d = Pa_GetDeviceInfo(cfg->device);
    PaStreamParameters p = {
        .device = cfg->device,
        .channelCount = (int)s->base.channels,
        .sampleFormat = paFloat32,
    };

    if (d == NULL || d->maxOutputChannels < p.channelCount)
        return paInvalidDevice;
    p.suggestedLatency = cfg->latency_ms > 0 ? cfg->latency_ms / 1000.0
                                             : d->defaultLowOutputLatency;
    return Pa_OpenStream(&s->stream, NULL, &p, cfg->rate,
                         cfg->period ? cfg->period
                                     : paFramesPerBufferUnspecified,
                         paNoFlag, callback, &s->base);
}

int sl__sink_pa_open(sl__sink **out, const sl__sink_config *cfg)
{
    pa_sink *s = NULL;
    int err = SL_EINVAL;

    *out = NULL;
    if (cfg->ring == NULL || cfg->rate == 0 || cfg->device < 0)
        return SL_EINVAL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return SL_ENOMEM;
    sl__sink_init(&s->base, &pa_vtable, cfg);
    if (Pa_Initialize() != paNoError) {
        err = SL_EDEVICE;
        goto fail;
    }
    if (cfg->device >= Pa_GetDeviceCount())
        goto fail_pa;
    if (open_stream(s, cfg) != paNoError) {
        err = SL_EDEVICE;
        goto fail_pa;
    }
    *out = &s->base;
    return SL_OK;

fail_pa:
    Pa_Terminate();
fail:
    free(s);
    return err;
}
