/*
 * chorus.c: the "chorus" effect: each channel mixes its input with a copy
 * delayed by DELAY ms plus a sine sweep of up to DEPTH ms at RATE Hz. The
 * channels' sweeps are offset in phase: 90 degrees in stereo, 360/N degrees
 * for N other than 2. The delay line holds MAX_MS, allocated at create
 * time. The write happens before the read, and DELAY >= 1 ms, so the tap
 * never reads the sample being written.
 *   out = (1 - mix) * in + mix * delayed
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "effect_priv.h"

#define MAX_MS 32.0 /* largest DELAY + DEPTH, plus interpolation room */

typedef struct chorus {
    sl_effect base;
    float *line;
    size_t len, w;
    double phase; /* LFO phase in cycles, [0, 1) */
    sl_ramp rate, depth, delay, mix;
    unsigned ramp_len;
} chorus;

static const sl_effect_param params[] = {
    {.name = "rate", .min = 0.01f, .max = 10.0f, .def = 0.8f, .unit = "Hz"},
    {.name = "depth", .min = 0.0f, .max = 10.0f, .def = 2.0f, .unit = "ms"},
    {.name = "delay", .min = 1.0f, .max = 20.0f, .def = 10.0f, .unit = "ms"},
    {.name = "mix", .min = 0.0f, .max = 1.0f, .def = 0.5f, .unit = "gain"},
};

static int create(sl_effect **out, unsigned channels, double rate)
{
    chorus *c = calloc(1, sizeof *c);

    if (c == NULL)
        return SL_ENOMEM;
    c->len = (size_t)(MAX_MS / 1000.0 * rate) + 2;
    c->line = calloc(c->len * channels, sizeof *c->line);
    if (c->line == NULL) {
        free(c);
        return SL_ENOMEM;
    }
    c->ramp_len = sl__ramp_len(rate);
    *out = &c->base;
    return SL_OK;
}

static void destroy(sl_effect *fx)
{
    chorus *c = (chorus *)fx;

    free(c->line);
    free(c);
}

static void set_param(sl_effect *fx, unsigned index, float value)
{
    chorus *c = (chorus *)fx;
    sl_ramp *r[] = {&c->rate, &c->depth, &c->delay, &c->mix};

    sl__ramp_set(r[index], value, c->ramp_len);
}

static void reset(sl_effect *fx)
{
    chorus *c = (chorus *)fx;

    sl__ramp_finish(&c->rate);
    sl__ramp_finish(&c->depth);
    sl__ramp_finish(&c->delay);
    sl__ramp_finish(&c->mix);
    memset(c->line, 0, c->len * fx->channels * sizeof *c->line);
    c->w = 0;
    c->phase = 0.0;
}

/* The line's value `d` frames before the write position, channel k. */
static float tap(const chorus *c, unsigned ch, unsigned k, double d)
{
    double pos = (double)c->w + (double)c->len - d;
    size_t i0 = (size_t)pos % c->len, i1 = (i0 + 1) % c->len;
    float frac = (float)(pos - floor(pos));
    float a = c->line[i0 * ch + k], b = c->line[i1 * ch + k];

    return a + (b - a) * frac;
}

static void process(sl_effect *fx, float *buf, size_t frames)
{
    chorus *c = (chorus *)fx;
    unsigned ch = fx->channels;
    double ms = fx->sample_rate / 1000.0;
    double spread = ch == 2 ? 0.25 : 1.0 / ch;

    for (size_t i = 0; i < frames; i++) {
        float rate = sl__ramp_next(&c->rate), depth = sl__ramp_next(&c->depth);
        float delay = sl__ramp_next(&c->delay), mix = sl__ramp_next(&c->mix);
        for (unsigned k = 0; k < ch; k++)
            c->line[c->w * ch + k] = buf[i * ch + k];
        for (unsigned k = 0; k < ch; k++) {
            double lfo = sin(2.0 * M_PI * (c->phase + spread * k));
            double d = (delay + 0.5 * depth * (1.0 + lfo)) * ms;
            float x = buf[i * ch + k];
            buf[i * ch + k] = (1.0f - mix) * x + mix * tap(c, ch, k, d);
        }
        c->phase += rate / fx->sample_rate;
        if (c->phase >= 1.0)
            c->phase -= 1.0;
        c->w = c->w + 1 == c->len ? 0 : c->w + 1;
    }
}

const sl_effect_vtable sl__fx_chorus = {
    .name = "chorus",
    .summary = "chorus: RATE Hz sweep of DEPTH ms around DELAY ms, MIX",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .n_required = 0,
    .flags = SL_EFFECT_LINEAR,
    .create = create,
    .destroy = destroy,
    .set_param = set_param,
    .reset = reset,
    .process = process,
};
