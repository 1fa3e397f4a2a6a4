/*
 * treble.c: the "treble" effect: high shelf: boost or cut GAIN dB above FREQ
 * (RBJ cookbook, HIGHSHELF). A thin shell over the biquad core (biquad.c).
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <sluice/effect.h>
#include "biquad.h"

static const sl_effect_param params[] = {
    {.name = "gain", .min = -48.0f, .max = 48.0f, .def = 0.0f, .unit = "dB"},
    {.name = "freq", .min = 1.0f, .max = 192000.0f, .def = 3000.0f, .unit = "Hz"},
    {.name = "slope", .min = 0.01f, .max = 1.0f, .def = 0.5f, .unit = "slope"},
};

static const sl_biquad_role roles[] = {SL__BQ_GAIN, SL__BQ_FREQ, SL__BQ_SLOPE};

static int create(sl_effect **out, unsigned channels, double rate)
{
    return sl__biquad_fx_create(out, channels, rate, SL__BQ_HIGHSHELF, roles);
}

const sl_effect_vtable sl__fx_treble = {
    .name = "treble",
    .summary = "high shelf: boost or cut GAIN dB above FREQ",
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
