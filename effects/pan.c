/*
 * pan.c: the "pan" effect: equal-power balance. Channels are taken in
 * pairs (0,1), (2,3), ...; a trailing odd channel passes unchanged. For
 * position p in [-1, 1], theta = (p + 1) * pi / 4 and the left and right
 * gains are sqrt(2) cos(theta) and sqrt(2) sin(theta): their squares always
 * sum to 2 (equal power) and the centre is exactly unity. Both gains ramp
 * over SL_EFFECT_RAMP_MS.
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include <sluice/error.h>
#include "effect_priv.h"

typedef struct pan {
    sl_effect base;
    sl_ramp left;
    sl_ramp right;
    unsigned ramp_len;
} pan;

static const sl_effect_param params[] = {
    {.name = "position", .min = -1.0f, .max = 1.0f, .def = 0.0f, .unit = ""},
};

static int create(sl_effect **out, unsigned channels, double rate)
{
    pan *p = calloc(1, sizeof *p);

    (void)channels;
    if (p == NULL)
        return SL_ENOMEM;
    p->ramp_len = sl__ramp_len(rate);
    *out = &p->base;
    return SL_OK;
}

static void destroy(sl_effect *fx)
{
    free(fx);
}

static void set_param(sl_effect *fx, unsigned index, float value)
{
    pan *p = (pan *)fx;
    double theta = ((double)value + 1.0) * M_PI / 4.0;

    (void)index;
    sl__ramp_set(&p->left, (float)(sqrt(2.0) * cos(theta)), p->ramp_len);
    sl__ramp_set(&p->right, (float)(sqrt(2.0) * sin(theta)), p->ramp_len);
}

static void reset(sl_effect *fx)
{
    pan *p = (pan *)fx;

    sl__ramp_finish(&p->left);
    sl__ramp_finish(&p->right);
}

static void process(sl_effect *fx, float *buf, size_t frames)
{
    pan *p = (pan *)fx;
    unsigned ch = fx->channels;

    if (ch < 2)
        return;
    for (size_t i = 0; i < frames; i++) {
        float l = sl__ramp_next(&p->left);
        float r = sl__ramp_next(&p->right);
        float *f = buf + i * ch;
        for (unsigned c = 0; c + 1 < ch; c += 2) {
            f[c] *= l;
            f[c + 1] *= r;
        }
    }
}

const sl_effect_vtable sl__fx_pan = {
    .name = "pan",
    .summary = "equal-power balance between left and right",
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
