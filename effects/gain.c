/*
 * gain.c: the "gain" effect: multiplies every channel by a level in dB.
 * The linear amplitude ramps over SL_EFFECT_RAMP_MS, so the step between
 * two samples is bounded by |new - old| / ramp length. Once the ramp ends
 * the output is exactly input * (float)10^(dB/20).
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <stdlib.h>

#include <sluice/error.h>
#include "effect_priv.h"

typedef struct gain {
    sl_effect base;
    sl_ramp amp;
    unsigned ramp_len;
} gain;

static const sl_effect_param params[] = {
    {.name = "gain", .min = -120.0f, .max = 24.0f, .def = 0.0f, .unit = "dB"},
};

static int create(sl_effect **out, unsigned channels, double rate)
{
    gain *g = calloc(1, sizeof *g);

    (void)channels;
    if (g == NULL)
        return SL_ENOMEM;
    g->ramp_len = sl__ramp_len(rate);
    g->amp.cur = g->amp.target = 1.0f;
    *out = &g->base;
    return SL_OK;
}

static void destroy(sl_effect *fx)
{
    free(fx);
}

static void set_param(sl_effect *fx, unsigned index, float value)
{
    gain *g = (gain *)fx;

    (void)index;
    sl__ramp_set(&g->amp, (float)sl__db_to_amp(value), g->ramp_len);
}

static void reset(sl_effect *fx)
{
    sl__ramp_finish(&((gain *)fx)->amp);
}

static void process(sl_effect *fx, float *buf, size_t frames)
{
    gain *g = (gain *)fx;
    unsigned ch = fx->channels;
    size_t i = 0;

    for (; i < frames && g->amp.left > 0; i++) {
        float a = sl__ramp_next(&g->amp);
        for (unsigned c = 0; c < ch; c++)
            buf[i * ch + c] *= a;
    }
    if (i == frames || g->amp.cur == 1.0f)
        return;
    float a = g->amp.cur;
    for (size_t s = i * ch; s < frames * ch; s++)
        buf[s] *= a;
}

const sl_effect_vtable sl__fx_gain = {
    .name = "gain",
    .summary = "change the level by a number of dB",
    .params = params,
    .n_params = 1,
    .n_required = 1,
    .flags = SL_EFFECT_LINEAR,
    .create = create,
    .destroy = destroy,
    .set_param = set_param,
    .reset = reset,
    .process = process,
};
