/*
 * biquad.c: the shared core of the RBJ Audio EQ Cookbook filters
 * (https://www.w3.org/TR/audio-eq-cookbook/): coefficient design, the
 * closed-form analog magnitude used by the tests, and the smoothed
 * second-order section ("band") that the thin effects lowpass.c,
 * highpass.c, bandpass.c, notch.c, allpass.c, equalizer.c, bass.c,
 * treble.c and the parametric eq.c are built on.
 *
 * The section is Direct Form I in double precision, the same structure and
 * precision as sox's biquad, so the two agree to far below audibility.
 * While a parameter ramps, the coefficients are redesigned every
 * SUB_BLOCK samples from the ramped frequency, width and gain.
 *
 * create/destroy: control thread; everything else: audio thread, RT-safe.
 */
#include "config.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "biquad.h"

#define SUB_BLOCK 16

static double clamp_freq(double freq, double rate)
{
    if (freq < 1e-3)
        return 1e-3;
    return freq > 0.49 * rate ? 0.49 * rate : freq;
}

/* alpha from Q, or for shelves from the slope S. */
static double design_alpha(sl_biquad_type type, double sn, double width,
                           double a)
{
    if (type == SL__BQ_LOWSHELF || type == SL__BQ_HIGHSHELF) {
        double k = (a + 1.0 / a) * (1.0 / width - 1.0) + 2.0;
        return sn / 2.0 * sqrt(k > 0.0 ? k : 0.0);
    }
    return sn / (2.0 * width);
}

static void shelf(double r[6], int high, double a, double cs, double alpha)
{
    double sa = 2.0 * sqrt(a) * alpha, sg = high ? -1.0 : 1.0;

    r[0] = a * ((a + 1) - sg * (a - 1) * cs + sa);
    r[1] = sg * 2 * a * ((a - 1) - sg * (a + 1) * cs);
    r[2] = a * ((a + 1) - sg * (a - 1) * cs - sa);
    r[3] = (a + 1) + sg * (a - 1) * cs + sa;
    r[4] = -sg * 2 * ((a - 1) + sg * (a + 1) * cs);
    r[5] = (a + 1) + sg * (a - 1) * cs - sa;
}

void sl__biquad_design(sl_biquad_coefs *c, sl_biquad_type type, double rate,
                       double freq, double width, double gain_db)
{
    double w0 = 2.0 * M_PI * clamp_freq(freq, rate) / rate;
    double cs = cos(w0), sn = sin(w0), a = pow(10.0, gain_db / 40.0);
    double alpha = design_alpha(type, sn, width, a);
    double r[6] = {1, 0, 0, 1, 0, 0}; /* b0 b1 b2 a0 a1 a2 */

    switch (type) {
    case SL__BQ_LOWPASS:
        r[0] = r[2] = (1 - cs) / 2, r[1] = 1 - cs;
        break;
    case SL__BQ_HIGHPASS:
        r[0] = r[2] = (1 + cs) / 2, r[1] = -(1 + cs);
        break;
    case SL__BQ_BANDPASS:
        r[0] = alpha, r[1] = 0, r[2] = -alpha;
        break;
    case SL__BQ_NOTCH:
        r[0] = r[2] = 1, r[1] = -2 * cs;
        break;
    case SL__BQ_ALLPASS:
        r[0] = 1 - alpha, r[1] = -2 * cs, r[2] = 1 + alpha;
        break;
    case SL__BQ_PEAK:
        r[0] = 1 + alpha * a, r[1] = -2 * cs, r[2] = 1 - alpha * a;
        r[3] = 1 + alpha / a, r[4] = -2 * cs, r[5] = 1 - alpha / a;
        break;
    case SL__BQ_LOWSHELF:
    case SL__BQ_HIGHSHELF:
        shelf(r, type == SL__BQ_HIGHSHELF, a, cs, alpha);
        break;
    }
    if (type != SL__BQ_PEAK && type != SL__BQ_LOWSHELF &&
        type != SL__BQ_HIGHSHELF)
        r[3] = 1 + alpha, r[4] = -2 * cs, r[5] = 1 - alpha;
    c->b0 = r[0] / r[3];
    c->b1 = r[1] / r[3];
    c->b2 = r[2] / r[3];
    c->a1 = r[4] / r[3];
    c->a2 = r[5] / r[3];
}

/* The analog prototype's response at the frequency the bilinear
 * transform maps f to. */
static double complex analytic(sl_biquad_type type, double rate, double freq,
                               double width, double gain_db, double f)
{
    double a = pow(10.0, gain_db / 40.0), q = width, sa = sqrt(a);
    double complex s =
        I * (tan(M_PI * f / rate) / tan(M_PI * clamp_freq(freq, rate) / rate));
    double complex den = s * s + s / q + 1, h = 0;

    if (type == SL__BQ_LOWSHELF || type == SL__BQ_HIGHSHELF)
        q = 1.0 / sqrt((a + 1.0 / a) * (1.0 / width - 1.0) + 2.0);
    switch (type) {
    case SL__BQ_LOWPASS: h = 1 / den; break;
    case SL__BQ_HIGHPASS: h = s * s / den; break;
    case SL__BQ_BANDPASS: h = (s / q) / den; break;
    case SL__BQ_NOTCH: h = (s * s + 1) / den; break;
    case SL__BQ_ALLPASS: h = (s * s - s / q + 1) / den; break;
    case SL__BQ_PEAK:
        h = (s * s + s * (a / q) + 1) / (s * s + s / (a * q) + 1);
        break;
    case SL__BQ_LOWSHELF:
        h = a * (s * s + (sa / q) * s + a) / (a * s * s + (sa / q) * s + 1);
        break;
    case SL__BQ_HIGHSHELF:
        h = a * (a * s * s + (sa / q) * s + 1) / (s * s + (sa / q) * s + a);
        break;
    }
    return h;
}

double sl__biquad_analytic_db(sl_biquad_type type, double rate, double freq,
                              double width, double gain_db, double f)
{
    return 20.0 * log10(cabs(analytic(type, rate, freq, width, gain_db, f)));
}

double sl__biquad_analytic_phase(sl_biquad_type type, double rate,
                                 double freq, double width, double gain_db,
                                 double f)
{
    return carg(analytic(type, rate, freq, width, gain_db, f));
}

static void redesign(sl_biquad_band *b)
{
    sl__biquad_design(&b->c, b->type, b->rate, b->freq.cur, b->width.cur,
                      b->gain.cur);
}

int sl__biquad_band_init(sl_biquad_band *b, sl_biquad_type type,
                         unsigned channels, double rate)
{
    memset(b, 0, sizeof *b);
    b->state = calloc((size_t)channels * 4, sizeof *b->state);
    if (b->state == NULL)
        return SL_ENOMEM;
    b->type = type;
    b->channels = channels;
    b->rate = rate;
    b->ramp_len = sl__ramp_len(rate);
    b->freq.cur = b->freq.target = 1000.0f;
    b->width.cur = b->width.target = 0.70710678f;
    redesign(b);
    return SL_OK;
}

void sl__biquad_band_free(sl_biquad_band *b)
{
    free(b->state);
    b->state = NULL;
}

void sl__biquad_band_set(sl_biquad_band *b, sl_biquad_role role, float v)
{
    sl_ramp *r = role == SL__BQ_FREQ ? &b->freq
                 : role == SL__BQ_GAIN ? &b->gain
                                       : &b->width;
    sl__ramp_set(r, v, b->ramp_len);
}

void sl__biquad_band_reset_state(sl_biquad_band *b)
{
    memset(b->state, 0, (size_t)b->channels * 4 * sizeof *b->state);
}

void sl__biquad_band_reset(sl_biquad_band *b)
{
    sl__ramp_finish(&b->freq);
    sl__ramp_finish(&b->width);
    sl__ramp_finish(&b->gain);
    redesign(b);
    sl__biquad_band_reset_state(b);
}

/* Runs the section with fixed coefficients. */
static void run(sl_biquad_band *b, float *buf, size_t frames)
{
    const sl_biquad_coefs c = b->c;
    unsigned ch = b->channels;

    for (unsigned k = 0; k < ch; k++) {
        double *st = b->state + 4 * k;
        double x1 = st[0], x2 = st[1], y1 = st[2], y2 = st[3];
        for (size_t i = 0; i < frames; i++) {
            double x = buf[i * ch + k];
            double y = c.b0 * x + c.b1 * x1 + c.b2 * x2 - c.a1 * y1 - c.a2 * y2;
            /* A decaying tail can fall from 1e-30 into the float subnormal
             * range within one block; flushing per sample keeps both the
             * output and the state clean without relying on FTZ. */
            if (fabs(y) < SL__FLUSH_BELOW)
                y = 0.0;
            x2 = x1, x1 = x, y2 = y1, y1 = y;
            buf[i * ch + k] = (float)y;
        }
        st[0] = x1, st[1] = x2, st[2] = y1, st[3] = y2;
    }
}

static int ramping(const sl_biquad_band *b)
{
    return b->freq.left || b->width.left || b->gain.left;
}

void sl__biquad_band_process(sl_biquad_band *b, float *buf, size_t frames)
{
    size_t done = 0;

    while (done < frames && ramping(b)) {
        size_t n = frames - done < SUB_BLOCK ? frames - done : SUB_BLOCK;
        for (size_t i = 0; i < n; i++) {
            sl__ramp_next(&b->freq);
            sl__ramp_next(&b->width);
            sl__ramp_next(&b->gain);
        }
        redesign(b);
        run(b, buf + done * b->channels, n);
        done += n;
    }
    if (done < frames)
        run(b, buf + done * b->channels, frames - done);
    sl__flush_double(b->state, (size_t)b->channels * 4);
}

/* ---- one-band effects ------------------------------------------------ */

typedef struct biquad_fx {
    sl_effect base;
    sl_biquad_band band;
    const sl_biquad_role *roles;
} biquad_fx;

int sl__biquad_fx_create(sl_effect **out, unsigned channels, double rate,
                         sl_biquad_type type, const sl_biquad_role *roles)
{
    biquad_fx *f = calloc(1, sizeof *f);

    if (f == NULL)
        return SL_ENOMEM;
    if (sl__biquad_band_init(&f->band, type, channels, rate) != SL_OK) {
        free(f);
        return SL_ENOMEM;
    }
    f->roles = roles;
    *out = &f->base;
    return SL_OK;
}

void sl__biquad_fx_destroy(sl_effect *fx)
{
    biquad_fx *f = (biquad_fx *)fx;

    sl__biquad_band_free(&f->band);
    free(f);
}

void sl__biquad_fx_set_param(sl_effect *fx, unsigned index, float value)
{
    biquad_fx *f = (biquad_fx *)fx;

    sl__biquad_band_set(&f->band, f->roles[index], value);
}

void sl__biquad_fx_reset(sl_effect *fx)
{
    sl__biquad_band_reset(&((biquad_fx *)fx)->band);
}

void sl__biquad_fx_process(sl_effect *fx, float *buf, size_t frames)
{
    sl__biquad_band_process(&((biquad_fx *)fx)->band, buf, frames);
}

sl_biquad_band *sl__biquad_fx_band(sl_effect *fx)
{
    return &((biquad_fx *)fx)->band;
}
