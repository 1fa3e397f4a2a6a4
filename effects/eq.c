/*
 * eq.c: the "eq" effect: a four-band parametric equalizer, each band a
 * cookbook peaking section (biquad.c) with its own frequency, Q and gain.
 * Bands at 0 dB are skipped, so an all-flat EQ passes the signal exactly.
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <stdlib.h>

#include <sluice/error.h>
#include "biquad.h"

#define BANDS 4

typedef struct eq {
    sl_effect base;
    sl_biquad_band band[BANDS];
} eq;

#define BAND_PARAMS(n, f)                                                      \
    {.name = "freq" #n, .min = 1.0f, .max = 192000.0f, .def = f,               \
     .unit = "Hz"},                                                            \
    {.name = "q" #n, .min = 0.01f, .max = 100.0f, .def = 1.0f, .unit = "Q"},  \
    {.name = "gain" #n, .min = -48.0f, .max = 48.0f, .def = 0.0f, .unit = "dB"}

static const sl_effect_param params[] = {
    BAND_PARAMS(1, 100.0f),
    BAND_PARAMS(2, 400.0f),
    BAND_PARAMS(3, 1600.0f),
    BAND_PARAMS(4, 6400.0f),
};

static void destroy(sl_effect *fx)
{
    eq *e = (eq *)fx;

    for (int i = 0; i < BANDS; i++)
        sl__biquad_band_free(&e->band[i]);
    free(e);
}

static int create(sl_effect **out, unsigned channels, double rate)
{
    eq *e = calloc(1, sizeof *e);

    if (e == NULL)
        return SL_ENOMEM;
    for (int i = 0; i < BANDS; i++) {
        if (sl__biquad_band_init(&e->band[i], SL__BQ_PEAK, channels, rate) !=
            SL_OK)
            goto fail;
    }
    *out = &e->base;
    return SL_OK;

fail:
    destroy(&e->base); /* freeing a band that was never set up is a no-op */
    return SL_ENOMEM;
}

static void set_param(sl_effect *fx, unsigned index, float value)
{
    static const sl_biquad_role roles[3] = {SL__BQ_FREQ, SL__BQ_Q,
                                            SL__BQ_GAIN};
    eq *e = (eq *)fx;

    sl__biquad_band_set(&e->band[index / 3], roles[index % 3], value);
}

static void reset(sl_effect *fx)
{
    eq *e = (eq *)fx;

    for (int i = 0; i < BANDS; i++)
        sl__biquad_band_reset(&e->band[i]);
}

static void process(sl_effect *fx, float *buf, size_t frames)
{
    eq *e = (eq *)fx;

    for (int i = 0; i < BANDS; i++) {
        sl_biquad_band *b = &e->band[i];
        if (b->gain.cur == 0.0f && b->gain.left == 0) {
            sl__biquad_band_reset_state(b); /* re-entering starts clean */
            continue;
        }
        sl__biquad_band_process(b, buf, frames);
    }
}

const sl_effect_vtable sl__fx_eq = {
    .name = "eq",
    .summary = "four-band parametric EQ (peaking bands)",
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
