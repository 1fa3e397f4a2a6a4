/*
 * mute.c: the "mute" effect: silences the signal while "on" is 1. The
 * level ramps between 1 and 0 over SL_EFFECT_RAMP_MS, then the output is
 * exact silence (or the untouched input when unmuted).
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "effect_priv.h"

typedef struct mute {
    sl_effect base;
    sl_ramp level;
    unsigned ramp_len;
} mute;

static const sl_effect_param params[] = {
    {.name = "on", .min = 0.0f, .max = 1.0f, .def = 1.0f, .unit = "bool"},
};

static int create(sl_effect **out, unsigned channels, double rate)
{
    mute *m = calloc(1, sizeof *m);

    (void)channels;
    if (m == NULL)
        return SL_ENOMEM;
    m->ramp_len = sl__ramp_len(rate);
    *out = &m->base;
    return SL_OK;
}

static void destroy(sl_effect *fx)
{
    free(fx);
}

static void set_param(sl_effect *fx, unsigned index, float value)
{
    mute *m = (mute *)fx;

    (void)index;
    sl__ramp_set(&m->level, value >= 0.5f ? 0.0f : 1.0f, m->ramp_len);
}

static void reset(sl_effect *fx)
{
    sl__ramp_finish(&((mute *)fx)->level);
}

static void process(sl_effect *fx, float *buf, size_t frames)
{
    mute *m = (mute *)fx;
    unsigned ch = fx->channels;
    size_t i = 0;

    for (; i < frames && m->level.left > 0; i++) {
        float a = sl__ramp_next(&m->level);
        for (unsigned c = 0; c < ch; c++)
            buf[i * ch + c] *= a;
    }
    if (i < frames && m->level.cur == 0.0f)
        memset(buf + i * ch, 0, (frames - i) * ch * sizeof *buf);
}

const sl_effect_vtable sl__fx_mute = {
    .name = "mute",
    .summary = "silence the signal (on = 1) with a short fade",
    .params = params,
    .n_params = 1,
    .n_required = 0,
    .flags = SL_EFFECT_LINEAR,
    .create = create,
    .destroy = destroy,
    .set_param = set_param,
    .reset = reset,
    .process = process,
};
