/*
 * reverb.c: the "reverb" effect, after Jezar's public-domain Freeverb: per
 * channel, eight damped feedback combs in parallel into four allpasses in
 * series, fed with the mix of all input channels. Channel k's delays are
 * Freeverb's lengths plus k * 23 samples (the stereo spread), all scaled
 * from 44.1 kHz to the instance's rate and allocated at create time.
 *   out_k = DRY * in_k + wet1 * tank_k + wet2 * (mean of the other tanks)
 *   wet1 = 3 WET (WIDTH/2 + 1/2),  wet2 = 3 WET (1 - WIDTH)/2
 * ROOM sets the comb feedback (0.7 .. 0.98), DAMPING the combs' lowpass.
 * All five quantities ramp per sample. Stored values below 1e-30 are
 * flushed to zero as they are written, so the tail never goes denormal.
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "effect_priv.h"

#define N_COMB 8
#define N_AP 4
#define SPREAD 23
#define FIXED_GAIN 0.015f

static const int comb_len[N_COMB] = {1116, 1188, 1277, 1356,
                                     1422, 1491, 1557, 1617};
static const int ap_len[N_AP] = {556, 441, 341, 225};

typedef struct line {
    float *buf;
    size_t len, pos;
    float store; /* comb lowpass memory */
} line;

typedef struct reverb {
    sl_effect base;
    line *lines;   /* per channel: N_COMB combs then N_AP allpasses */
    float *memory; /* every line's samples, one allocation */
    size_t memory_len;
    float *tank; /* per channel scratch for one frame */
    sl_ramp feedback, damp, wet1, wet2, dry;
    float room, damping, wet, width;
    unsigned ramp_len;
} reverb;

enum { ROOM, DAMPING, WET, DRY, WIDTH };

static const sl_effect_param params[] = {
    {.name = "room", .min = 0.0f, .max = 1.0f, .def = 0.5f, .unit = ""},
    {.name = "damping", .min = 0.0f, .max = 1.0f, .def = 0.5f, .unit = ""},
    {.name = "wet", .min = 0.0f, .max = 1.0f, .def = 0.33f, .unit = "gain"},
    {.name = "dry", .min = 0.0f, .max = 1.0f, .def = 1.0f, .unit = "gain"},
    {.name = "width", .min = 0.0f, .max = 1.0f, .def = 1.0f, .unit = ""},
};

static size_t scaled(int len, unsigned k, double rate)
{
    size_t n = (size_t)((len + (int)k * SPREAD) * rate / 44100.0 + 0.5);
    return n > 0 ? n : 1;
}

static void destroy(sl_effect *fx)
{
    reverb *r = (reverb *)fx;

    free(r->lines);
    free(r->memory);
    free(r->tank);
    free(r);
}

/* Lays the lines out in one block of memory. */
static int alloc_lines(reverb *r, unsigned channels, double rate)
{
    size_t total = 0, off = 0;

    for (unsigned k = 0; k < channels; k++) {
        for (int i = 0; i < N_COMB; i++)
            total += scaled(comb_len[i], k, rate);
        for (int i = 0; i < N_AP; i++)
            total += scaled(ap_len[i], k, rate);
    }
    r->lines = calloc((size_t)channels * (N_COMB + N_AP), sizeof *r->lines);
    r->memory = calloc(total, sizeof *r->memory);
    r->tank = calloc(channels, sizeof *r->tank);
    if (r->lines == NULL || r->memory == NULL || r->tank == NULL)
        return SL_ENOMEM;
    r->memory_len = total;
    for (unsigned k = 0; k < channels; k++) {
        for (int i = 0; i < N_COMB + N_AP; i++) {
            line *ln = &r->lines[k * (N_COMB + N_AP) + (unsigned)i];
            ln->len = scaled(i < N_COMB ? comb_len[i] : ap_len[i - N_COMB], k,
                             rate);
            ln->buf = r->memory + off;
            off += ln->len;
        }
    }
    return SL_OK;
}

static int create(sl_effect **out, unsigned channels, double rate)
{
    reverb *r = calloc(1, sizeof *r);

    if (r == NULL)
        return SL_ENOMEM;
    if (alloc_lines(r, channels, rate) != SL_OK)
        goto fail;
    r->ramp_len = sl__ramp_len(rate);
    *out = &r->base;
    return SL_OK;

fail:
    destroy(&r->base);
    return SL_ENOMEM;
}

static void set_param(sl_effect *fx, unsigned index, float value)
{
    reverb *r = (reverb *)fx;
    unsigned n = r->ramp_len;

    switch (index) {
    case ROOM: r->room = value; break;
    case DAMPING: r->damping = value; break;
    case WET: r->wet = value; break;
    case DRY: sl__ramp_set(&r->dry, value, n); return;
    default: r->width = value; break;
    }
    sl__ramp_set(&r->feedback, r->room * 0.28f + 0.7f, n);
    sl__ramp_set(&r->damp, r->damping * 0.4f, n);
    sl__ramp_set(&r->wet1, 3.0f * r->wet * (r->width / 2.0f + 0.5f), n);
    sl__ramp_set(&r->wet2, 3.0f * r->wet * (1.0f - r->width) / 2.0f, n);
}

static void reset(sl_effect *fx)
{
    reverb *r = (reverb *)fx;
    unsigned nl = fx->channels * (N_COMB + N_AP);

    sl__ramp_finish(&r->feedback);
    sl__ramp_finish(&r->damp);
    sl__ramp_finish(&r->wet1);
    sl__ramp_finish(&r->wet2);
    sl__ramp_finish(&r->dry);
    memset(r->memory, 0, r->memory_len * sizeof *r->memory);
    for (unsigned i = 0; i < nl; i++)
        r->lines[i].pos = 0, r->lines[i].store = 0.0f;
}

static float flush(float v)
{
    return fabsf(v) < 1e-30f ? 0.0f : v;
}

/* One channel's tank: parallel combs, then series allpasses. */
static float tank(line *ln, float in, float fb, float damp)
{
    float acc = 0.0f;

    for (int i = 0; i < N_COMB; i++, ln++) {
        float y = ln->buf[ln->pos];
        ln->store = flush(y * (1.0f - damp) + ln->store * damp);
        ln->buf[ln->pos] = flush(in + ln->store * fb);
        ln->pos = ln->pos + 1 == ln->len ? 0 : ln->pos + 1;
        acc += y;
    }
    for (int i = 0; i < N_AP; i++, ln++) {
        float b = ln->buf[ln->pos];
        ln->buf[ln->pos] = flush(acc + b * 0.5f);
        ln->pos = ln->pos + 1 == ln->len ? 0 : ln->pos + 1;
        acc = b - acc;
    }
    return acc;
}

static void process(sl_effect *fx, float *buf, size_t frames)
{
    reverb *r = (reverb *)fx;
    unsigned ch = fx->channels;

    for (size_t i = 0; i < frames; i++) {
        float *f = buf + i * ch, in = 0.0f, sum = 0.0f;
        float fb = sl__ramp_next(&r->feedback), damp = sl__ramp_next(&r->damp);
        float w1 = sl__ramp_next(&r->wet1), w2 = sl__ramp_next(&r->wet2);
        float dry = sl__ramp_next(&r->dry);
        for (unsigned k = 0; k < ch; k++)
            in += f[k];
        in *= FIXED_GAIN * (2.0f / (float)ch);
        for (unsigned k = 0; k < ch; k++)
            sum += r->tank[k] = tank(&r->lines[k * (N_COMB + N_AP)], in, fb,
                                     damp);
        for (unsigned k = 0; k < ch; k++) {
            float others = ch > 1 ? (sum - r->tank[k]) / (float)(ch - 1)
                                  : r->tank[k];
            f[k] = dry * f[k] + w1 * r->tank[k] + w2 * others;
        }
    }
}

const sl_effect_vtable sl__fx_reverb = {
    .name = "reverb",
    .summary = "Freeverb-style reverb: ROOM, DAMPING, WET, DRY, WIDTH",
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
