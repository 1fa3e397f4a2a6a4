/*
 * effect_priv.h: helpers shared by the effect implementations in effects/
 * and by the chain: parameter ramps, denormal and non-finite guards, and
 * the built-in registry. Everything here is RT-safe unless it says
 * otherwise; it runs on whichever thread calls it (usually the audio
 * thread).
 */
#ifndef SLUICE_EFFECT_PRIV_H
#define SLUICE_EFFECT_PRIV_H

#include <math.h>
#include <stddef.h>
#include <sluice/effect.h>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define SL__HAVE_MXCSR 1
#endif

/* Recursive state whose magnitude falls below this is set to exact zero at
 * block ends, far above the float and double denormal ranges yet far below
 * anything audible (-600 dBFS). */
#define SL__FLUSH_BELOW 1e-30

/* A linear ramp towards a target, used for smoothing parameters. The step
 * is fixed when the target is set, so the largest change per sample is
 * |target - start| / length: that bound is what the tests check. */
typedef struct sl_ramp {
    float cur;
    float target;
    float step;
    unsigned left; /* samples until cur == target */
} sl_ramp;

/* Starts a ramp from the current value to `target` over `len` samples (0
 * jumps). Can't fail. */
static inline void sl__ramp_set(sl_ramp *r, float target, unsigned len)
{
    r->target = target;
    if (len == 0 || r->cur == target) {
        r->cur = target;
        r->left = 0;
        r->step = 0.0f;
        return;
    }
    r->step = (target - r->cur) / (float)len;
    r->left = len;
}

/* Jumps to the target. Can't fail. */
static inline void sl__ramp_finish(sl_ramp *r)
{
    r->cur = r->target;
    r->left = 0;
}

/* Advances one sample and returns the new value; lands exactly on the
 * target at the end. Can't fail. */
static inline float sl__ramp_next(sl_ramp *r)
{
    if (r->left == 0)
        return r->cur;
    if (--r->left == 0)
        r->cur = r->target;
    else
        r->cur += r->step;
    return r->cur;
}

/* The number of samples a parameter ramp lasts at `rate`. */
static inline unsigned sl__ramp_len(double rate)
{
    return (unsigned)(rate * SL_EFFECT_RAMP_MS / 1000.0 + 0.5);
}

/* Zeroes values whose magnitude is below SL__FLUSH_BELOW or that are not
 * finite (the NaN/Inf policy for recursive state). Returns nonzero when a
 * non-finite value was found. */
static inline int sl__flush_double(double *v, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            bad = 1;
            v[i] = 0.0;
        } else if (fabs(v[i]) < SL__FLUSH_BELOW) {
            v[i] = 0.0;
        }
    }
    return bad;
}

static inline int sl__flush_float(float *v, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            bad = 1;
            v[i] = 0.0f;
        } else if (fabsf(v[i]) < (float)SL__FLUSH_BELOW) {
            v[i] = 0.0f;
        }
    }
    return bad;
}

/* Saved floating-point control state while an effect runs. */
typedef struct sl_fpu_guard {
    unsigned mxcsr;
} sl_fpu_guard;

/* Turns on flush-to-zero and denormals-are-zero (x86 SSE); elsewhere the
 * effects' explicit state flushing is the only guard. */
static inline void sl__fpu_enter(sl_fpu_guard *g)
{
#ifdef SL__HAVE_MXCSR
    g->mxcsr = _mm_getcsr();
    _mm_setcsr(g->mxcsr | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
#else
    g->mxcsr = 0;
#endif
}

static inline void sl__fpu_leave(const sl_fpu_guard *g)
{
#ifdef SL__HAVE_MXCSR
    _mm_setcsr(g->mxcsr);
#else
    (void)g;
#endif
}

/* Replaces every NaN and +-Inf sample with 0 (the input policy), and
 * every sample whose magnitude is below SL__FLUSH_BELOW (subnormals
 * included) with exact 0. */
void sl__effect_sanitize(float *buf, size_t samples);

/* Runs the effect's process() on finite input, without the FPU guard (the
 * caller holds it). */
void sl__effect_run(sl_effect *fx, float *buf, size_t frames);

/* The built-in kinds, NULL-terminated (effects/registry.c). */
extern const sl_effect_vtable *const sl__builtin_effects[];

/* dB to linear amplitude and back. */
static inline double sl__db_to_amp(double db)
{
    return pow(10.0, db / 20.0);
}

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#endif /* SLUICE_EFFECT_PRIV_H */
