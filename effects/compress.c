/*
 * compress.c: the "compress" effect: a feed-forward compressor with a soft
 * knee, linked across channels. The detector sees the largest |sample| of
 * each frame (DETECT 0, peak) or a 10 ms mean square of the frame's
 * channels (DETECT 1, RMS). The static curve, in dB, for level x,
 * threshold T, ratio R and knee width W is
 *     x                                    when 2(x - T) < -W
 *     x + (1/R - 1)(x - T + W/2)^2 / (2W)  when |2(x - T)| <= W
 *     T + (x - T)/R                        when 2(x - T) > W
 * The gain reduction (curve - x) is smoothed in dB by one-pole ATTACK and
 * RELEASE time constants, which also smooths changes of threshold, ratio
 * and knee; MAKEUP ramps.
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include <sluice/error.h>
#include "effect_priv.h"

#define RMS_MS 10.0
#define FLOOR_DB -200.0

enum { THRESHOLD, RATIO, KNEE, ATTACK, RELEASE, MAKEUP, DETECT };

typedef struct compress {
    sl_effect base;
    double threshold, ratio, knee;
    double att, rel, rms_coef; /* one-pole coefficients */
    int rms;
    double ms;   /* mean square (RMS detection) */
    double g_db; /* current gain reduction, <= 0 */
    sl_ramp makeup;
    unsigned ramp_len;
} compress;

static const sl_effect_param params[] = {
    {.name = "threshold", .min = -80.0f, .max = 0.0f, .def = -20.0f,
     .unit = "dB"},
    {.name = "ratio", .min = 1.0f, .max = 50.0f, .def = 4.0f, .unit = "ratio"},
    {.name = "knee", .min = 0.0f, .max = 24.0f, .def = 6.0f, .unit = "dB"},
    {.name = "attack", .min = 0.01f, .max = 500.0f, .def = 10.0f, .unit = "ms"},
    {.name = "release", .min = 1.0f, .max = 5000.0f, .def = 100.0f,
     .unit = "ms"},
    {.name = "makeup", .min = 0.0f, .max = 24.0f, .def = 0.0f, .unit = "dB"},
    {.name = "detect", .min = 0.0f, .max = 1.0f, .def = 0.0f, .unit = "bool"},
};

static double coef(double ms, double rate)
{
    return exp(-1.0 / (ms / 1000.0 * rate));
}

static int create(sl_effect **out, unsigned channels, double rate)
{
    compress *c = calloc(1, sizeof *c);

    (void)channels;
    if (c == NULL)
        return SL_ENOMEM;
    c->ramp_len = sl__ramp_len(rate);
    c->rms_coef = coef(RMS_MS, rate);
    *out = &c->base;
    return SL_OK;
}

static void destroy(sl_effect *fx)
{
    free(fx);
}

static void set_param(sl_effect *fx, unsigned index, float value)
{
    compress *c = (compress *)fx;
    double rate = fx->sample_rate;

    switch (index) {
    case THRESHOLD: c->threshold = value; break;
    case RATIO: c->ratio = value; break;
    case KNEE: c->knee = value; break;
    case ATTACK: c->att = coef(value, rate); break;
    case RELEASE: c->rel = coef(value, rate); break;
    case MAKEUP: sl__ramp_set(&c->makeup, value, c->ramp_len); break;
    default: c->rms = value >= 0.5f; break;
    }
}

static void reset(sl_effect *fx)
{
    compress *c = (compress *)fx;

    sl__ramp_finish(&c->makeup);
    c->ms = 0.0;
    c->g_db = 0.0;
}

static double curve(const compress *c, double x)
{
    double over = 2.0 * (x - c->threshold);

    if (over < -c->knee)
        return x;
    if (over <= c->knee && c->knee > 0.0) {
        double d = x - c->threshold + c->knee / 2.0;
        return x + (1.0 / c->ratio - 1.0) * d * d / (2.0 * c->knee);
    }
    return c->threshold + (x - c->threshold) / c->ratio;
}

/* The detector's level in dB for one frame. */
static double detect(compress *c, const float *f, unsigned ch)
{
    double peak = 0.0, sum = 0.0;

    for (unsigned k = 0; k < ch; k++) {
        double v = fabs(f[k]);
        peak = v > peak ? v : peak;
        sum += v * v;
    }
    if (!c->rms)
        return peak > 0.0 ? fmax(20.0 * log10(peak), FLOOR_DB) : FLOOR_DB;
    c->ms = sum / ch + (c->ms - sum / ch) * c->rms_coef;
    return c->ms > 0.0 ? fmax(10.0 * log10(c->ms), FLOOR_DB) : FLOOR_DB;
}

static void process(sl_effect *fx, float *buf, size_t frames)
{
    compress *c = (compress *)fx;
    unsigned ch = fx->channels;

    for (size_t i = 0; i < frames; i++) {
        float *f = buf + i * ch;
        double x = detect(c, f, ch), target = curve(c, x) - x;
        double a = target < c->g_db ? c->att : c->rel;
        c->g_db = target + (c->g_db - target) * a;
        double amp = pow(10.0, (c->g_db + sl__ramp_next(&c->makeup)) / 20.0);
        for (unsigned k = 0; k < ch; k++)
            f[k] = (float)(f[k] * amp);
    }
    /* NaN/Inf policy and denormals: both are zeroed. */
    sl__flush_double(&c->ms, 1);
    sl__flush_double(&c->g_db, 1);
}

const sl_effect_vtable sl__fx_compress = {
    .name = "compress",
    .summary = "compressor: THRESHOLD dB, RATIO, KNEE dB, ATTACK and RELEASE "
               "ms, MAKEUP dB, DETECT (0 peak, 1 RMS)",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .n_required = 0,
    .flags = 0,
    .create = create,
    .destroy = destroy,
    .set_param = set_param,
    .reset = reset,
    .process = process,
};
