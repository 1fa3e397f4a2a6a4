/*
 * limit.c: the "limit" effect: a lookahead peak limiter whose output never
 * exceeds CEILING (dBFS, sample peak, all channels linked).
 *
 * For each frame n the gain that would just fit it under the ceiling is
 * r[n] = min(1, c / peak[n]). The gain applied is
 *     g[n] = mean over j in [n-L+1, n] of h[j],
 *     h[j] = min(s[j], release-smoothed h[j-1]),  s[j] = min r over [j-L+1, j]
 * and it multiplies the frame delayed by L-1 (the lookahead, LOOKAHEAD_MS).
 * Every h[j] in g[n]'s window covers the delayed frame m = n-L+1 in its own
 * minimum window, so h[j] <= r[m] and therefore g[n] <= r[m]: the ceiling
 * holds exactly, while the averaging turns each gain drop into a smooth
 * L-sample ramp. c carries a 1e-6 relative margin for float rounding.
 * While CEILING ramps (20 ms), each frame is held to the ceiling in force
 * when it entered, so a lowered ceiling is reached one lookahead later.
 * Latency: L-1 frames. The sliding minimum is a monotonic deque, so the
 * cost per frame is constant. All buffers are allocated at create time.
 * create/destroy: control thread; the rest: audio thread, RT-safe.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "effect_priv.h"

#define LOOKAHEAD_MS 5.0
#define MARGIN (1.0 - 1e-6)

typedef struct limit {
    sl_effect base;
    size_t L;
    float *delay; /* L frames, ring, interleaved */
    size_t dpos;
    /* sliding minimum of r: deque of (frame number, value) */
    double *dq_val;
    unsigned long long *dq_idx;
    size_t dq_head, dq_count;
    unsigned long long n; /* frames seen */
    double *hist; /* last L values of h, ring */
    double sum;   /* sum of hist */
    double h;     /* last h */
    double rel;   /* release coefficient */
    sl_ramp ceiling; /* linear amplitude */
    unsigned ramp_len;
} limit;

static const sl_effect_param params[] = {
    {.name = "ceiling", .min = -40.0f, .max = 0.0f, .def = -1.0f,
     .unit = "dB"},
    {.name = "release", .min = 1.0f, .max = 2000.0f, .def = 50.0f,
     .unit = "ms"},
};

static void destroy(sl_effect *fx)
{
    limit *l = (limit *)fx;

    free(l->delay);
    free(l->dq_val);
    free(l->dq_idx);
    free(l->hist);
    free(l);
}

static int create(sl_effect **out, unsigned channels, double rate)
{
    limit *l = calloc(1, sizeof *l);

    if (l == NULL)
        return SL_ENOMEM;
    l->L = (size_t)(LOOKAHEAD_MS / 1000.0 * rate + 0.5);
    l->delay = calloc(l->L * channels, sizeof *l->delay);
    l->dq_val = calloc(l->L, sizeof *l->dq_val);
    l->dq_idx = calloc(l->L, sizeof *l->dq_idx);
    l->hist = calloc(l->L, sizeof *l->hist);
    if (l->delay == NULL || l->dq_val == NULL || l->dq_idx == NULL ||
        l->hist == NULL)
        goto fail;
    l->ramp_len = sl__ramp_len(rate);
    *out = &l->base;
    return SL_OK;

fail:
    destroy(&l->base);
    return SL_ENOMEM;
}

static void set_param(sl_effect *fx, unsigned index, float value)
{
    limit *l = (limit *)fx;

    if (index == 0)
        sl__ramp_set(&l->ceiling, (float)sl__db_to_amp(value), l->ramp_len);
    else
        l->rel = exp(-1.0 / (value / 1000.0 * fx->sample_rate));
}

static void reset(sl_effect *fx)
{
    limit *l = (limit *)fx;

    sl__ramp_finish(&l->ceiling);
    memset(l->delay, 0, l->L * fx->channels * sizeof *l->delay);
    for (size_t i = 0; i < l->L; i++)
        l->hist[i] = 1.0;
    l->sum = (double)l->L;
    l->h = 1.0;
    l->dq_head = l->dq_count = 0;
    l->n = 0;
    l->dpos = 0;
}

/* Pushes r for frame n and returns the minimum over the last L frames. */
static double slide_min(limit *l, double r)
{
    size_t L = l->L;

    while (l->dq_count > 0 &&
           l->dq_val[(l->dq_head + l->dq_count - 1) % L] >= r)
        l->dq_count--;
    if (l->dq_count > 0 && l->dq_idx[l->dq_head] + L <= l->n) {
        l->dq_head = (l->dq_head + 1) % L;
        l->dq_count--;
    }
    size_t tail = (l->dq_head + l->dq_count) % L;
    l->dq_val[tail] = r;
    l->dq_idx[tail] = l->n;
    l->dq_count++;
    return l->dq_val[l->dq_head];
}

static void process(sl_effect *fx, float *buf, size_t frames)
{
    limit *l = (limit *)fx;
    unsigned ch = fx->channels;

    for (size_t i = 0; i < frames; i++, l->n++) {
        float *f = buf + i * ch, *d = l->delay + l->dpos * ch;
        double peak = 0.0, c = sl__ramp_next(&l->ceiling) * MARGIN;
        for (unsigned k = 0; k < ch; k++)
            peak = fmax(peak, fabs(f[k]));
        double s = slide_min(l, peak > c ? c / peak : 1.0);
        double h = 1.0 + (l->h - 1.0) * l->rel; /* release towards 1 */
        l->h = h = h < s ? h : s;
        l->sum += h - l->hist[l->dpos];
        l->hist[l->dpos] = h;
        double g = fmin(l->sum / (double)l->L, 1.0);
        /* The ring holds the last L frames; after storing frame n, the
         * next slot holds frame n-L+1, the one that leaves now. */
        for (unsigned k = 0; k < ch; k++)
            d[k] = f[k];
        l->dpos = l->dpos + 1 == l->L ? 0 : l->dpos + 1;
        d = l->delay + l->dpos * ch;
        for (unsigned k = 0; k < ch; k++)
            f[k] = (float)(d[k] * g);
    }
}

const sl_effect_vtable sl__fx_limit = {
    .name = "limit",
    .summary = "lookahead limiter: CEILING dBFS never exceeded, RELEASE ms",
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
