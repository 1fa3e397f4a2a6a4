/*
 * biquad.h: the shared biquad core behind the RBJ Audio EQ Cookbook
 * filters (effects/biquad.c): coefficient design, the analog prototype's
 * magnitude (for tests), and a "band": one smoothed second-order section
 * running on any number of channels, used by the thin filter effects and
 * by the parametric EQ.
 * Design functions: any thread. Band functions: audio thread, RT-safe,
 * except create/destroy (control thread).
 */
#ifndef SLUICE_BIQUAD_H
#define SLUICE_BIQUAD_H

#include <stddef.h>
#include <sluice/effect.h>
#include "effect_priv.h"

typedef enum sl_biquad_type {
    SL__BQ_LOWPASS,
    SL__BQ_HIGHPASS,
    SL__BQ_BANDPASS, /* constant 0 dB peak gain */
    SL__BQ_NOTCH,
    SL__BQ_ALLPASS,
    SL__BQ_PEAK,
    SL__BQ_LOWSHELF,  /* width given as shelf slope S */
    SL__BQ_HIGHSHELF, /* likewise */
} sl_biquad_type;

/* Which filter property a parameter of a biquad effect controls. */
typedef enum sl_biquad_role {
    SL__BQ_FREQ,
    SL__BQ_Q,
    SL__BQ_GAIN,  /* dB */
    SL__BQ_SLOPE, /* shelf slope S, (0, 1] */
} sl_biquad_role;

/* Normalized coefficients (a0 == 1). */
typedef struct sl_biquad_coefs {
    double b0, b1, b2, a1, a2;
} sl_biquad_coefs;

/* Designs the cookbook filter. `width` is Q, or the slope S for shelves;
 * freq is clamped to (0, 0.49 rate). Can't fail. */
void sl__biquad_design(sl_biquad_coefs *c, sl_biquad_type type, double rate,
                       double freq, double width, double gain_db);

/* The magnitude in dB at `f` Hz of the analog prototype the cookbook
 * filter is the bilinear transform of (prewarped at freq), computed from
 * the closed-form H(s), not from coefficients. */
double sl__biquad_analytic_db(sl_biquad_type type, double rate, double freq,
                              double width, double gain_db, double f);

/* Likewise the phase in radians, in (-pi, pi]. */
double sl__biquad_analytic_phase(sl_biquad_type type, double rate,
                                 double freq, double width, double gain_db,
                                 double f);

/* One smoothed section on `channels` channels. */
typedef struct sl_biquad_band {
    sl_biquad_type type;
    sl_ramp freq, width, gain;
    sl_biquad_coefs c;
    double *state; /* 4 per channel: x1 x2 y1 y2 */
    unsigned channels;
    double rate;
    unsigned ramp_len;
} sl_biquad_band;

int sl__biquad_band_init(sl_biquad_band *b, sl_biquad_type type,
                         unsigned channels, double rate);
void sl__biquad_band_free(sl_biquad_band *b);
void sl__biquad_band_set(sl_biquad_band *b, sl_biquad_role role, float v);
void sl__biquad_band_reset(sl_biquad_band *b);
/* Clears the signal memory only; cheap when it is already clear. */
void sl__biquad_band_reset_state(sl_biquad_band *b);
void sl__biquad_band_process(sl_biquad_band *b, float *buf, size_t frames);

/* A whole effect made of one band: create/destroy/set_param/reset/process
 * for the thin filter files. `roles` maps parameter index to role. */
int sl__biquad_fx_create(sl_effect **out, unsigned channels, double rate,
                         sl_biquad_type type, const sl_biquad_role *roles);
void sl__biquad_fx_destroy(sl_effect *fx);
void sl__biquad_fx_set_param(sl_effect *fx, unsigned index, float value);
void sl__biquad_fx_reset(sl_effect *fx);
void sl__biquad_fx_process(sl_effect *fx, float *buf, size_t frames);

/* The band inside a one-band biquad effect (for tests: state checks). */
sl_biquad_band *sl__biquad_fx_band(sl_effect *fx);

#endif /* SLUICE_BIQUAD_H */
