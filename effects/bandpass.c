/*
 * bandpass.c: the "bandpass" effect: two-pole bandpass around FREQ, 0 dB at the peak
 * (RBJ cookbook, BANDPASS). A thin shell over the biquad core (biquad.c).
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <sluice/effect.h>
#include "biquad.h"

static const sl_effect_param params[] = {
    {.name = "freq", .min = 1.0f, .max = 192000.0f, .def = 1000.0f, .unit = "Hz"},
    {.name = "q", .min = 0.01f, .max = 100.0f, .def = 0.70710678f, .unit = "Q"},
};

static const sl_biquad_role roles[] = {SL__BQ_FREQ, SL__BQ_Q};

static int create(sl_effect **out, unsigned channels, double rate)
{
    return sl__biquad_fx_create(out, channels, rate, SL__BQ_BANDPASS, roles);
}

const sl_effect_vtable sl__fx_bandpass = {
    .name = "bandpass",
    .summary = "two-pole bandpass around FREQ, 0 dB at the peak",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .n_required = 1,
    .flags = SL_EFFECT_LINEAR,
    .create = create,
    .destroy = sl__biquad_fx_destroy,
    .set_param = sl__biquad_fx_set_param,
    .reset = sl__biquad_fx_reset,
    .process = sl__biquad_fx_process,
};
