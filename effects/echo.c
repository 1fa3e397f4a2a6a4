/*
 * echo.c: the "echo" effect: delay with feedback and wet/dry levels.
 *   out = dry * in + decay * d,   line <- in + feedback * d
 * where d is the line's output DELAY ms ago. With feedback 0 (the default)
 * this is sox's single echo with gain-in and gain-out 1. The delay line
 * holds up to MAX_DELAY_MS and is allocated at create time. A change of
 * DELAY glides (the read position ramps, read with linear interpolation),
 * so it bends pitch briefly instead of clicking.
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "effect_priv.h"

#define MAX_DELAY_MS 2000.0

typedef struct echo {
    sl_effect base;
    float *line; /* len frames, interleaved */
    size_t len;
    size_t w; /* next frame to write */
    sl_ramp delay, decay, feedback, dry; /* delay in frames */
    unsigned ramp_len;
} echo;

static const sl_effect_param params[] = {
    {.name = "delay", .min = 1.0f, .max = (float)MAX_DELAY_MS, .def = 250.0f,
     .unit = "ms"},
    {.name = "decay", .min = 0.0f, .max = 1.0f, .def = 0.5f, .unit = "gain"},
    {.name = "feedback", .min = 0.0f, .max = 0.95f, .def = 0.0f,
     .unit = "gain"},
    {.name = "dry", .min = 0.0f, .max = 1.0f, .def = 1.0f, .unit = "gain"},
};

static int create(sl_effect **out, unsigned channels, double rate)
{
    echo *e = calloc(1, sizeof *e);

    if (e == NULL)
        return SL_ENOMEM;
    e->len = (size_t)(MAX_DELAY_MS / 1000.0 * rate) + 2;
    e->line = calloc(e->len * channels, sizeof *e->line);
    if (e->line == NULL) {
        free(e);
        return SL_ENOMEM;
    }
    e->ramp_len = sl__ramp_len(rate);
    *out = &e->base;
    return SL_OK;
}

static void destroy(sl_effect *fx)
{
    echo *e = (echo *)fx;

    free(e->line);
    free(e);
}

static void set_param(sl_effect *fx, unsigned index, float value)
{
    echo *e = (echo *)fx;
    sl_ramp *r[] = {&e->delay, &e->decay, &e->feedback, &e->dry};

    if (index == 0)
        value = (float)(value / 1000.0 * fx->sample_rate);
    sl__ramp_set(r[index], value, e->ramp_len);
}

static void reset(sl_effect *fx)
{
    echo *e = (echo *)fx;

    sl__ramp_finish(&e->delay);
    sl__ramp_finish(&e->decay);
    sl__ramp_finish(&e->feedback);
    sl__ramp_finish(&e->dry);
    memset(e->line, 0, e->len * fx->channels * sizeof *e->line);
    e->w = 0;
}

static void process(sl_effect *fx, float *buf, size_t frames)
{
    echo *e = (echo *)fx;
    unsigned ch = fx->channels;

    for (size_t i = 0; i < frames; i++) {
        float d = sl__ramp_next(&e->delay), dec = sl__ramp_next(&e->decay);
        float fb = sl__ramp_next(&e->feedback), dry = sl__ramp_next(&e->dry);
        double pos = (double)e->w + (double)e->len - (double)d;
        size_t i0 = (size_t)pos % e->len, i1 = (i0 + 1) % e->len;
        float frac = (float)(pos - floor(pos));
        /* reading "d frames ago" means going back from w: i0 is the older
         * neighbour, i1 the newer one */
        for (unsigned c = 0; c < ch; c++) {
            float old = e->line[i0 * ch + c], nw = e->line[i1 * ch + c];
            float dl = old + (nw - old) * frac, x = buf[i * ch + c];
            float v = x + fb * dl;
            e->line[e->w * ch + c] = fabsf(v) < 1e-30f ? 0.0f : v;
            buf[i * ch + c] = dry * x + dec * dl;
        }
        e->w = e->w + 1 == e->len ? 0 : e->w + 1;
    }
}

const sl_effect_vtable sl__fx_echo = {
    .name = "echo",
    .summary = "delay/echo: DELAY ms, DECAY level, feedback, dry level",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .n_required = 2,
    .flags = SL_EFFECT_LINEAR,
    .create = create,
    .destroy = destroy,
    .set_param = set_param,
    .reset = reset,
    .process = process,
};
