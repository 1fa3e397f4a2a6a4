/*
 * test_effects.c: the effects library: the registry, each built-in effect
 * against its formula (biquads against their analytic magnitude and
 * against sox), smoothing bounds, the NaN and denormal policies.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include <sluice/error.h>
#include <sluice/effect.h>
#include "biquad.h"
#include "effect_priv.h"
#include "suites.h"

#define RATE 48000.0

static sl_effect *make(const char *name, unsigned ch)
{
    sl_effect *fx = NULL;
    int err = sl_effect_create(&fx, name, ch, RATE);

    CU_ASSERT_EQUAL(err, SL_OK);
    if (err != SL_OK)
        fprintf(stderr, "\ncould not create %s: %s\n", name, sl_strerror(err));
    return fx;
}

/* Sets parameters by name and jumps to them. */
static void set(sl_effect *fx, const char *param, float v)
{
    int i = sl_effect_param_index(fx->vt, param);

    CU_ASSERT_FATAL(i >= 0);
    CU_ASSERT_EQUAL(sl_effect_set_param(fx, (unsigned)i, v), SL_OK);
}

/* ---- registry --------------------------------------------------------- */

static void test_registry_lists_builtins(void)
{
    static const char *const want[] = {
        "gain", "mute", "pan", "lowpass", "highpass", "bandpass", "notch",
        "allpass", "equalizer", "bass", "treble", "eq", "echo", "chorus",
        "compress", "limit", "reverb"};

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const sl_effect_vtable *vt = sl_effect_find(want[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(vt);
        CU_ASSERT_STRING_EQUAL(vt->name, want[i]);
        CU_ASSERT(vt->n_required <= vt->n_params);
    }
    /* sox's defaults: lowpass/highpass Q sqrt(0.5), Butterworth; bass 100 Hz and treble
     * 3 kHz with slope 0.5 (man sox; the sox comparison checks them too). */
    CU_ASSERT_EQUAL(sl_effect_find("lowpass")->params[1].def, 0.70710678f);
    CU_ASSERT_EQUAL(sl_effect_find("bass")->params[1].def, 100.0f);
    CU_ASSERT_EQUAL(sl_effect_find("bass")->params[2].def, 0.5f);
    CU_ASSERT_EQUAL(sl_effect_find("treble")->params[1].def, 3000.0f);
    CU_ASSERT_PTR_NULL(sl_effect_find("no-such-effect"));
    CU_ASSERT_PTR_NULL(sl_effect_find(NULL));
    for (size_t i = 0; sl_effect_kind_at(i) != NULL; i++)
        CU_ASSERT_PTR_EQUAL(sl_effect_find(sl_effect_kind_at(i)->name),
                            sl_effect_kind_at(i));
}

static void test_create_rejects_bad_arguments(void)
{
    sl_effect *fx = (sl_effect *)1;

    CU_ASSERT_EQUAL(sl_effect_create(NULL, "gain", 2, RATE), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_effect_create(&fx, "gain", 0, RATE), SL_EINVAL);
    CU_ASSERT_PTR_NULL(fx);
    CU_ASSERT_EQUAL(sl_effect_create(&fx, "gain", SL_EFFECT_MAX_CHANNELS + 1,
                                     RATE),
                    SL_EINVAL);
    CU_ASSERT_EQUAL(sl_effect_create(&fx, "gain", 2, 100.0), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_effect_create(&fx, "gain", 2, NAN), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_effect_create(&fx, "nope", 2, RATE), SL_ENOTFOUND);
    sl_effect_destroy(NULL);
}

static void test_set_param_checks_range(void)
{
    sl_effect *fx = make("gain", 1);

    CU_ASSERT_EQUAL(sl_effect_set_param(fx, 0, 100.0f), SL_ERANGE);
    CU_ASSERT_EQUAL(sl_effect_set_param(fx, 0, NAN), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_effect_set_param(fx, 0, INFINITY), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_effect_set_param(fx, 1, 0.0f), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_effect_set_param(fx, 0, -6.0f), SL_OK);
    CU_ASSERT_EQUAL(sl_effect_get_param(fx, 0), -6.0f);
    CU_ASSERT_EQUAL(sl_effect_param_index(fx->vt, "gain"), 0);
    CU_ASSERT_EQUAL(sl_effect_param_index(fx->vt, "nope"), -1);
    sl_effect_destroy(fx);
}

/* A user-defined effect: inverts the polarity, scaled by "amount". */
typedef struct invert {
    sl_effect base;
    float amount;
} invert;

static const sl_effect_param invert_params[] = {
    {.name = "amount", .min = 0.0f, .max = 1.0f, .def = 1.0f, .unit = ""},
};

static int invert_create(sl_effect **out, unsigned ch, double rate)
{
    invert *v = calloc(1, sizeof *v);
    (void)ch, (void)rate;
    if (v == NULL)
        return SL_ENOMEM;
    *out = &v->base;
    return SL_OK;
}

static void invert_destroy(sl_effect *fx) { free(fx); }

static void invert_set(sl_effect *fx, unsigned i, float v)
{
    (void)i;
    ((invert *)fx)->amount = v;
}

static void invert_reset(sl_effect *fx) { (void)fx; }

static void invert_process(sl_effect *fx, float *buf, size_t frames)
{
    for (size_t i = 0; i < frames * fx->channels; i++)
        buf[i] *= -((invert *)fx)->amount;
}

const sl_effect_vtable sl__test_invert = {
    .name = "test-invert",
    .summary = "polarity inversion (test)",
    .params = invert_params,
    .n_params = 1,
    .flags = SL_EFFECT_LINEAR,
    .create = invert_create,
    .destroy = invert_destroy,
    .set_param = invert_set,
    .reset = invert_reset,
    .process = invert_process,
};

static void test_user_effect_registers_like_a_builtin(void)
{
    sl_effect_vtable bad = sl__test_invert;
    float buf[4] = {1, -2, NAN, 0.5f};
    sl_effect *fx;
    int err = sl_effect_register(&sl__test_invert);

    CU_ASSERT(err == SL_OK || err == SL_EBUSY); /* the chain suite may too */
    CU_ASSERT_EQUAL(sl_effect_register(&sl__test_invert), SL_EBUSY);
    bad.name = "gain";
    CU_ASSERT_EQUAL(sl_effect_register(&bad), SL_EBUSY);
    bad.name = "has space";
    CU_ASSERT_EQUAL(sl_effect_register(&bad), SL_EINVAL);
    bad.name = "x";
    bad.process = NULL;
    CU_ASSERT_EQUAL(sl_effect_register(&bad), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_effect_register(NULL), SL_EINVAL);

    CU_ASSERT_PTR_EQUAL(sl_effect_find("test-invert"), &sl__test_invert);
    CU_ASSERT_EQUAL_FATAL(sl_effect_create(&fx, "test-invert", 2, RATE),
                          SL_OK);
    set(fx, "amount", 0.5f);
    sl_effect_process(fx, buf, 2);
    CU_ASSERT_EQUAL(buf[0], -0.5f);
    CU_ASSERT_EQUAL(buf[1], 1.0f);
    CU_ASSERT_EQUAL(buf[2], 0.0f); /* NaN in: silence out, by policy */
    CU_ASSERT_EQUAL(buf[3], -0.25f);
    sl_effect_destroy(fx);
}

/* ---- gain, mute, pan --------------------------------------------------- */

static void fill_noise(float *buf, size_t n, unsigned seed, float amp)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        buf[i] = amp * ((float)(seed >> 8) / 8388608.0f - 1.0f);
    }
}

static void test_gain_is_exact(void)
{
    static const float dbs[] = {0.0f, -6.0f, 6.0f, -120.0f, 24.0f, -0.5f};
    enum { N = 4096, CH = 3 };
    static float in[N * CH], buf[N * CH];

    fill_noise(in, N * CH, 7, 0.9f);
    for (size_t k = 0; k < sizeof dbs / sizeof dbs[0]; k++) {
        sl_effect *fx = make("gain", CH);
        float a = (float)pow(10.0, dbs[k] / 20.0);
        int exact = 1;
        set(fx, "gain", dbs[k]);
        sl_effect_reset(fx);
        memcpy(buf, in, sizeof in);
        sl_effect_process(fx, buf, N);
        for (size_t i = 0; i < N * CH; i++)
            exact &= buf[i] == in[i] * a;
        CU_ASSERT(exact);
        sl_effect_destroy(fx);
    }
}

static void test_gain_zero_db_is_bit_exact(void)
{
    enum { N = 1000 };
    float in[N], buf[N];
    sl_effect *fx = make("gain", 1);

    fill_noise(in, N, 3, 1.0f);
    memcpy(buf, in, sizeof in);
    sl_effect_process(fx, buf, N);
    CU_ASSERT_EQUAL(memcmp(buf, in, sizeof in), 0);
    sl_effect_destroy(fx);
}

static void test_pan_is_exact_equal_power(void)
{
    static const float pos[] = {-1.0f, -0.5f, 0.0f, 0.25f, 1.0f};
    enum { N = 512 };
    float in[N * 2], buf[N * 2];

    fill_noise(in, N * 2, 11, 0.7f);
    for (size_t k = 0; k < sizeof pos / sizeof pos[0]; k++) {
        sl_effect *fx = make("pan", 2);
        double th = (pos[k] + 1.0) * M_PI / 4.0;
        float gl = (float)(sqrt(2.0) * cos(th));
        float gr = (float)(sqrt(2.0) * sin(th));
        int exact = 1;
        set(fx, "position", pos[k]);
        sl_effect_reset(fx);
        memcpy(buf, in, sizeof in);
        sl_effect_process(fx, buf, N);
        for (size_t i = 0; i < N; i++)
            exact &= buf[2 * i] == in[2 * i] * gl &&
                     buf[2 * i + 1] == in[2 * i + 1] * gr;
        CU_ASSERT(exact);
        /* Equal power: the squared gains always sum to 2. */
        CU_ASSERT_DOUBLE_EQUAL((double)gl * gl + (double)gr * gr, 2.0, 1e-6);
        if (pos[k] == 0.0f)
            CU_ASSERT(gl == 1.0f && gr == 1.0f);
        sl_effect_destroy(fx);
    }
}

static void test_mute_gives_exact_silence(void)
{
    enum { N = 4800 };
    float buf[N];
    sl_effect *fx = make("mute", 1);
    int silent = 1;

    for (size_t i = 0; i < N; i++)
        buf[i] = 0.5f;
    sl_effect_process(fx, buf, N);
    for (size_t i = 0; i < N; i++)
        silent &= buf[i] == 0.0f;
    CU_ASSERT(silent);
    set(fx, "on", 0.0f); /* unmute: fades in, then passes exactly */
    for (size_t i = 0; i < N; i++)
        buf[i] = 0.5f;
    sl_effect_process(fx, buf, N);
    CU_ASSERT(buf[0] < 0.01f);
    CU_ASSERT_EQUAL(buf[N - 1], 0.5f);
    sl_effect_destroy(fx);
}

/* A parameter jump: with DC in, no sample-to-sample step exceeds the ramp's
 * per-sample step (|a1 - a0| / ramp length), plus float rounding. */
static void test_gain_jump_is_ramped(void)
{
    enum { N = 4800 };
    float buf[N];
    sl_effect *fx = make("gain", 1);
    double len = sl__ramp_len(RATE), worst = 0.0;
    double allowed = (1.0 - pow(10.0, -60.0 / 20.0)) / len;

    for (size_t i = 0; i < N; i++)
        buf[i] = 1.0f;
    set(fx, "gain", -60.0f);
    sl_effect_process(fx, buf, N);
    CU_ASSERT(buf[0] < 1.0f);
    for (size_t i = 1; i < N; i++)
        if (fabs(buf[i] - buf[i - 1]) > worst)
            worst = fabs(buf[i] - buf[i - 1]);
    CU_ASSERT(worst <= allowed * 1.001);
    CU_ASSERT(worst >= allowed * 0.99); /* the ramp is a ramp, not a jump */
    CU_ASSERT_EQUAL(buf[N - 1], (float)pow(10.0, -60.0 / 20.0));
    sl_effect_destroy(fx);
}

/* ---- biquads ------------------------------------------------------------ */

typedef struct bq_case {
    const char *effect;
    sl_biquad_type type;
    double freq, width, gain; /* width: Q, or slope for shelves */
    const char *sox;          /* sox effect arguments */
} bq_case;

static const bq_case bq_cases[] = {
    {"lowpass", SL__BQ_LOWPASS, 1000, 0.70710678, 0, "lowpass 1000"},
    {"lowpass", SL__BQ_LOWPASS, 5000, 2.0, 0, "lowpass 5000 2q"},
    {"highpass", SL__BQ_HIGHPASS, 300, 0.707, 0, "highpass 300 0.707q"},
    {"bandpass", SL__BQ_BANDPASS, 2000, 1.5, 0, "bandpass 2000 1.5q"},
    {"notch", SL__BQ_NOTCH, 1000, 2.0, 0, "bandreject 1000 2q"},
    {"allpass", SL__BQ_ALLPASS, 800, 0.9, 0, "allpass 800 0.9q"},
    {"equalizer", SL__BQ_PEAK, 2500, 1.2, 6, "equalizer 2500 1.2q 6"},
    {"equalizer", SL__BQ_PEAK, 400, 3.0, -9, "equalizer 400 3q -9"},
    {"bass", SL__BQ_LOWSHELF, 100, 0.5, 8, "bass 8"},
    {"treble", SL__BQ_HIGHSHELF, 3000, 0.5, -6, "treble -6"},
    {"treble", SL__BQ_HIGHSHELF, 6000, 1.0, 10, "treble 10 6000 1s"},
};
#define N_BQ (sizeof bq_cases / sizeof bq_cases[0])

static sl_effect *make_bq(const bq_case *c, unsigned ch)
{
    sl_effect *fx = make(c->effect, ch);
    const char *wname =
        c->type == SL__BQ_LOWSHELF || c->type == SL__BQ_HIGHSHELF ? "slope"
                                                                  : "q";
    if (fx == NULL)
        return NULL;
    set(fx, "freq", (float)c->freq);
    set(fx, wname, (float)c->width);
    if (sl_effect_param_index(fx->vt, "gain") >= 0)
        set(fx, "gain", (float)c->gain);
    sl_effect_reset(fx);
    return fx;
}

/* The filter's measured gain in dB at f Hz, and its phase in *phase when
 * not NULL: a unit sine runs 0.25 s to settle, then 0.5 s (an integer
 * number of cycles for even f) is correlated with the sine and cosine at
 * f. */
static double measure(sl_effect *fx, double f, double *phase)
{
    enum { SETTLE = 12000, WIN = 24000 };
    static float buf[SETTLE + WIN];
    double re = 0.0, im = 0.0;

    for (size_t i = 0; i < SETTLE + WIN; i++)
        buf[i] = (float)sin(2.0 * M_PI * f * (double)i / RATE);
    sl_effect_process(fx, buf, SETTLE + WIN);
    for (size_t i = SETTLE; i < SETTLE + WIN; i++) {
        double w = 2.0 * M_PI * f * (double)i / RATE;
        re += buf[i] * sin(w);
        im += buf[i] * cos(w);
    }
    if (phase != NULL)
        *phase = atan2(im, re);
    return 20.0 * log10(2.0 * sqrt(re * re + im * im) / WIN);
}

static double measure_db(sl_effect *fx, double f)
{
    return measure(fx, f, NULL);
}

/* The difference of two angles, folded into [0, pi]. */
static double angle_diff(double a, double b)
{
    double d = fmod(fabs(a - b), 2.0 * M_PI);
    return d > M_PI ? 2.0 * M_PI - d : d;
}

static void test_biquads_match_analytic_magnitude(void)
{
    static const double freqs[] = {50, 120, 400, 950, 1800, 3200,
                                   6000, 11000, 17000};
    double worst = 0.0, worst_ph = 0.0;

    for (size_t k = 0; k < N_BQ; k++) {
        const bq_case *c = &bq_cases[k];
        sl_effect *fx = make_bq(c, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fx);
        for (size_t j = 0; j < sizeof freqs / sizeof freqs[0]; j++) {
            double want = sl__biquad_analytic_db(c->type, RATE, c->freq,
                                                 c->width, c->gain, freqs[j]);
            double ph, got = measure(fx, freqs[j], &ph);
            double err = fabs(got - want);
            double ph_want = sl__biquad_analytic_phase(
                c->type, RATE, c->freq, c->width, c->gain, freqs[j]);
            /* The phase too (the allpass has nothing else to show); only
             * where the level is high enough for it to be measurable. */
            if (want > -60.0) {
                double pe = angle_diff(ph, ph_want) * 180.0 / M_PI;
                worst_ph = fmax(worst_ph, pe);
                CU_ASSERT(pe <= 0.1);
            }
            if (err > worst)
                worst = err;
            if (err > 0.1)
                fprintf(stderr, "\n%s %g Hz: want %.3f dB got %.3f dB\n",
                        c->effect, freqs[j], want, got);
            CU_ASSERT(err <= 0.1);
        }
        sl_effect_destroy(fx);
    }
    printf("[worst |measured - analytic| = %.2e dB, phase %.2e deg] ", worst,
           worst_ph);
}

/* ---- against sox -------------------------------------------------------- */

static int have_sox(void)
{
    return system("command -v sox >/dev/null 2>&1") == 0;
}

static int write_wav(const char *path, const float *buf, size_t frames,
                     unsigned ch)
{
    SF_INFO info = {.samplerate = (int)RATE, .channels = (int)ch,
                    .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    sf_count_t n;

    if (f == NULL)
        return -1;
    n = sf_writef_float(f, buf, (sf_count_t)frames);
    sf_close(f);
    return n == (sf_count_t)frames ? 0 : -1;
}

static int read_wav(const char *path, float *buf, size_t frames, unsigned ch)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    sf_count_t n;

    if (f == NULL)
        return -1;
    n = (info.channels == (int)ch) ? sf_readf_float(f, buf, (sf_count_t)frames)
                                   : -1;
    sf_close(f);
    return n == (sf_count_t)frames ? 0 : -1;
}

static void test_biquads_match_sox(void)
{
    enum { N = 48000, CH = 2 };
    static float in[N * CH], ours[N * CH], theirs[N * CH];
    char dir[] = "/tmp/sluice-sox-XXXXXX", inp[64], outp[64], cmd[256];
    double worst = INFINITY;

    if (!have_sox()) {
        printf("[sox not installed: comparison skipped] ");
        return;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(inp, sizeof inp, "%s/in.wav", dir);
    snprintf(outp, sizeof outp, "%s/out.wav", dir);
    fill_noise(in, N * CH, 99, 0.25f); /* white noise, -12 dBFS peak */
    CU_ASSERT_EQUAL_FATAL(write_wav(inp, in, N, CH), 0);
    for (size_t k = 0; k < N_BQ; k++) {
        sl_effect *fx = make_bq(&bq_cases[k], CH);
        double sig = 0.0, diff = 0.0, snr;
        snprintf(cmd, sizeof cmd, "sox -D -V1 %s %s %s", inp, outp,
                 bq_cases[k].sox);
        CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
        CU_ASSERT_EQUAL_FATAL(read_wav(outp, theirs, N, CH), 0);
        memcpy(ours, in, sizeof in);
        sl_effect_process(fx, ours, N);
        for (size_t i = 0; i < N * CH; i++) {
            sig += (double)theirs[i] * theirs[i];
            diff += ((double)ours[i] - theirs[i]) * (ours[i] - theirs[i]);
        }
        snr = 10.0 * log10(sig / (diff > 0.0 ? diff : 1e-300));
        if (snr < worst)
            worst = snr;
        if (snr < 80.0)
            fprintf(stderr, "\nsox %s: SNR %.1f dB\n", bq_cases[k].sox, snr);
        CU_ASSERT(snr >= 80.0);
        sl_effect_destroy(fx);
    }
    unlink(inp);
    unlink(outp);
    rmdir(dir);
    printf("[worst SNR vs sox = %.1f dB] ", worst);
}

/* ---- eq, echo, chorus, reverb ---------------------------------------- */

static void test_eq_band_matches_peaking_formula(void)
{
    static const double freqs[] = {60, 200, 500, 800, 1000, 1300, 2400,
                                   5000, 12000};
    sl_effect *fx = make("eq", 1);

    set(fx, "freq2", 1000.0f);
    set(fx, "q2", 1.4f);
    set(fx, "gain2", 6.0f);
    sl_effect_reset(fx);
    for (size_t j = 0; j < sizeof freqs / sizeof freqs[0]; j++) {
        double want = sl__biquad_analytic_db(SL__BQ_PEAK, RATE, 1000.0,
                                             (double)1.4f, 6.0, freqs[j]);
        CU_ASSERT_DOUBLE_EQUAL(measure_db(fx, freqs[j]), want, 0.1);
    }
    sl_effect_destroy(fx);
}

static void test_echo_repeats_with_decay_and_feedback(void)
{
    enum { N = 2000 };
    float buf[N] = {0};
    sl_effect *fx = make("echo", 1);

    set(fx, "delay", 10.0f); /* 480 samples */
    set(fx, "decay", 0.5f);
    set(fx, "feedback", 0.5f);
    sl_effect_reset(fx);
    buf[0] = 1.0f;
    sl_effect_process(fx, buf, N);
    CU_ASSERT_EQUAL(buf[0], 1.0f);
    CU_ASSERT_DOUBLE_EQUAL(buf[480], 0.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(buf[960], 0.25, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(buf[1440], 0.125, 1e-6);
    CU_ASSERT_EQUAL(buf[479], 0.0f);
    CU_ASSERT_EQUAL(buf[481], 0.0f);
    sl_effect_destroy(fx);
}

static void test_dry_only_settings_pass_exactly(void)
{
    enum { N = 4800, CH = 2 };
    static float in[N * CH], buf[N * CH];
    static const struct {
        const char *fx, *param;
        float v;
    } cases[] = {{"chorus", "mix", 0.0f}, {"reverb", "wet", 0.0f},
                 {"echo", "decay", 0.0f}};

    fill_noise(in, N * CH, 21, 0.8f);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sl_effect *fx = make(cases[k].fx, CH);
        set(fx, cases[k].param, cases[k].v);
        sl_effect_reset(fx);
        memcpy(buf, in, sizeof in);
        sl_effect_process(fx, buf, N);
        CU_ASSERT_EQUAL(memcmp(buf, in, sizeof in), 0);
        sl_effect_destroy(fx);
    }
}

static void test_reverb_tail_decays(void)
{
    enum { BLOCK = 4800, CH = 2 };
    static float buf[BLOCK * CH];
    double first = 0.0, later = 0.0;
    sl_effect *fx = make("reverb", CH);

    for (int b = 0; b < 30; b++) {
        memset(buf, 0, sizeof buf);
        if (b == 0)
            buf[0] = buf[1] = 1.0f;
        sl_effect_process(fx, buf, BLOCK);
        for (size_t i = 0; i < BLOCK * CH; i++) {
            CU_ASSERT_FATAL(isfinite(buf[i]));
            if (b == 1)
                first += (double)buf[i] * buf[i];
            if (b == 29)
                later += (double)buf[i] * buf[i];
        }
    }
    CU_ASSERT(first > 1e-4);      /* it reverberates */
    CU_ASSERT(later < first * 1e-3); /* and dies away */
    /* The two channels' tails differ (stereo spread). */
    CU_ASSERT(buf[0] != buf[1] || buf[0] == 0.0f);
    sl_effect_destroy(fx);
}

/* ---- dynamics --------------------------------------------------------- */

/* The compressor's static curve, written out independently of compress.c. */
static double comp_formula(double x, double t, double r, double w)
{
    if (2.0 * (x - t) < -w)
        return x;
    if (2.0 * fabs(x - t) <= w)
        return x + (1.0 / r - 1.0) * pow(x - t + w / 2.0, 2.0) / (2.0 * w);
    return t + (x - t) / r;
}

static void check_compressor(float knee, float detect)
{
    enum { N = 48000 };
    static float buf[N];
    sl_effect *fx = make("compress", 1);
    double worst = 0.0;

    set(fx, "threshold", -20.0f);
    set(fx, "ratio", 4.0f);
    set(fx, "knee", knee);
    set(fx, "makeup", 3.0f);
    set(fx, "detect", detect);
    sl_effect_reset(fx);
    for (double x = -50.0; x <= 0.0; x += 2.5) {
        float a = (float)pow(10.0, x / 20.0);
        double want = comp_formula(20.0 * log10(a), -20.0, 4.0, knee) + 3.0;
        for (size_t i = 0; i < N; i++)
            buf[i] = a;
        sl_effect_process(fx, buf, N);
        double got = 20.0 * log10(buf[N - 1]);
        worst = fmax(worst, fabs(got - want));
        CU_ASSERT_DOUBLE_EQUAL(got, want, 0.5);
    }
    printf("[knee %g %s: worst %.2e dB] ", knee, detect > 0 ? "rms" : "peak",
           worst);
    sl_effect_destroy(fx);
}

static void test_compressor_static_curve(void)
{
    check_compressor(6.0f, 0.0f);
    check_compressor(0.0f, 0.0f);
    check_compressor(12.0f, 1.0f);
}

static void test_compressor_attack_is_smooth(void)
{
    enum { N = 9600 };
    static float buf[N];
    sl_effect *fx = make("compress", 1);
    int monotonic = 1;

    /* A step from -40 dB to 0 dB: the gain falls smoothly, the output
     * envelope decreases monotonically after the step. */
    for (size_t i = 0; i < N; i++)
        buf[i] = i < 100 ? 0.01f : 1.0f;
    sl_effect_process(fx, buf, N);
    for (size_t i = 102; i < N; i++)
        monotonic &= buf[i] <= buf[i - 1];
    CU_ASSERT(monotonic);
    sl_effect_destroy(fx);
}

static void test_limiter_never_exceeds_ceiling(void)
{
    enum { N = 96000, CH = 2 };
    static float buf[N * CH];
    static const float ceilings[] = {-1.0f, -6.0f, 0.0f};
    double overall = -INFINITY;

    for (size_t k = 0; k < sizeof ceilings / sizeof ceilings[0]; k++) {
        sl_effect *fx = make("limit", CH);
        float c = (float)pow(10.0, ceilings[k] / 20.0);
        float drive = c * (float)pow(10.0, 12.0 / 20.0); /* +12 dB over */
        double peak = 0.0;
        set(fx, "ceiling", ceilings[k]);
        sl_effect_reset(fx);
        /* sines, noise bursts and single-sample spikes */
        fill_noise(buf, N * CH, 17 + (unsigned)k, 1.0f);
        for (size_t i = 0; i < N; i++) {
            double env = (i / 4800) % 3 == 0 ? 1.0 : 0.3;
            for (int ch = 0; ch < CH; ch++) {
                float *s = &buf[i * CH + (size_t)ch];
                double sine = sin(2 * M_PI * (220.0 + 110 * ch) * i / RATE);
                *s = drive * (float)(env * (0.7 * sine + 0.3 * *s));
                if (i % 7919 == 0)
                    *s = ch ? -drive : drive;
            }
        }
        sl_effect_process(fx, buf, N);
        for (size_t i = 0; i < N * CH; i++)
            peak = fmax(peak, fabs(buf[i]));
        CU_ASSERT(peak <= c);
        CU_ASSERT(peak >= c * 0.9); /* it limits, it does not mute */
        overall = fmax(overall, 20.0 * log10(peak) - ceilings[k]);
        sl_effect_destroy(fx);
    }
    printf("[highest peak relative to ceiling %.7f dB] ", overall);
}

/* ---- properties every built-in must have ----------------------------- */

static void test_silence_in_silence_out_for_linear_effects(void)
{
    enum { N = 2048, CH = 2 };
    float buf[N * CH];
    size_t checked = 0;

    for (size_t k = 0; sl__builtin_effects[k] != NULL; k++) {
        const sl_effect_vtable *vt = sl__builtin_effects[k];
        sl_effect *fx;
        int silent = 1;
        if (!(vt->flags & SL_EFFECT_LINEAR))
            continue;
        fx = make(vt->name, CH);
        for (int rep = 0; rep < 4; rep++) {
            memset(buf, 0, sizeof buf);
            sl_effect_process(fx, buf, N);
            for (size_t i = 0; i < N * CH; i++)
                silent &= buf[i] == 0.0f && !signbit(buf[i]);
        }
        if (!silent)
            fprintf(stderr, "\n%s: silence in, sound out\n", vt->name);
        CU_ASSERT(silent);
        checked++;
        sl_effect_destroy(fx);
    }
    CU_ASSERT(checked >= 15);
}

/* Sets each parameter to a value that makes the effect do something. */
static void make_audible(sl_effect *fx)
{
    for (unsigned i = 0; i < fx->vt->n_params; i++) {
        const sl_effect_param *p = &fx->vt->params[i];
        if (strcmp(p->unit, "dB") == 0 && p->max >= 6.0f && p->min <= -6.0f)
            sl_effect_set_param(fx, i, 6.0f);
    }
    sl_effect_reset(fx);
}

static int any_subnormal(const float *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fpclassify(buf[i]) == FP_SUBNORMAL)
            return 1;
    return 0;
}

/* The biquads' state is reachable through the core's accessor. */
static int state_subnormal(sl_effect *fx)
{
    if (fx->vt->destroy != sl__biquad_fx_destroy)
        return 0;
    sl_biquad_band *b = sl__biquad_fx_band(fx);
    for (size_t i = 0; i < (size_t)b->channels * 4; i++)
        if (fpclassify(b->state[i]) == FP_SUBNORMAL ||
            (b->state[i] != 0.0 && fabs(b->state[i]) < SL__FLUSH_BELOW))
            return 1;
    return 0;
}

/* An impulse, then 10 s of silence at 48 kHz in 10 ms blocks: no output
 * sample and (for the biquads, whose state is reachable) no state value is
 * ever subnormal. */
static void test_no_denormals_in_a_ten_second_tail(void)
{
    enum { BLOCK = 480, CH = 2, BLOCKS = 1000 };
    float buf[BLOCK * CH];

    for (size_t k = 0; sl__builtin_effects[k] != NULL; k++) {
        sl_effect *fx = make(sl__builtin_effects[k]->name, CH);
        int bad_out = 0, bad_state = 0;
        make_audible(fx);
        for (int b = 0; b < BLOCKS; b++) {
            memset(buf, 0, sizeof buf);
            if (b == 0)
                buf[0] = buf[1] = 1.0f;
            sl_effect_process(fx, buf, BLOCK);
            bad_out |= any_subnormal(buf, BLOCK * CH);
            bad_state |= state_subnormal(fx);
        }
        if (bad_out || bad_state)
            fprintf(stderr, "\n%s: subnormal %s\n", fx->vt->name,
                    bad_out ? "output" : "state");
        CU_ASSERT(!bad_out && !bad_state);
        sl_effect_destroy(fx);
    }
}

/* The same tail with the effects' process() called directly, so without
 * the FTZ/DAZ guard: the explicit flushing of recursive state alone must
 * keep every output sample out of the subnormal range (the guarantee on
 * architectures without a flush-to-zero mode). */
static void test_no_denormals_without_ftz(void)
{
    enum { BLOCK = 480, CH = 2, BLOCKS = 1000 };
    float buf[BLOCK * CH];
#ifdef SL__HAVE_MXCSR
    unsigned csr = _mm_getcsr();
    CU_ASSERT_EQUAL(csr & 0x8040u, 0); /* FTZ and DAZ are off here */
#endif

    for (size_t k = 0; sl__builtin_effects[k] != NULL; k++) {
        sl_effect *fx = make(sl__builtin_effects[k]->name, CH);
        int bad = 0;
        make_audible(fx);
        for (int b = 0; b < BLOCKS; b++) {
            memset(buf, 0, sizeof buf);
            if (b == 0)
                buf[0] = buf[1] = 1.0f;
            fx->vt->process(fx, buf, BLOCK);
            bad |= any_subnormal(buf, BLOCK * CH) || state_subnormal(fx);
        }
        if (bad)
            fprintf(stderr, "\n%s: subnormal without FTZ\n", fx->vt->name);
        CU_ASSERT(!bad);
        sl_effect_destroy(fx);
    }
}

/* NaN and Inf in the input cost those samples only: the output is finite
 * throughout and, once the input is clean again, the effect sounds as a
 * fresh instance would after its memory has passed. */
static void test_nan_does_not_poison(void)
{
    enum { N = 4800, CH = 2 };
    static float buf[N * CH];

    for (size_t k = 0; sl__builtin_effects[k] != NULL; k++) {
        sl_effect *fx = make(sl__builtin_effects[k]->name, CH);
        int finite = 1;
        fill_noise(buf, N * CH, 5, 0.5f);
        buf[100] = NAN;
        buf[201] = INFINITY;
        buf[302] = -INFINITY;
        sl_effect_process(fx, buf, N);
        for (int rep = 0; rep < 3; rep++) {
            for (size_t i = 0; i < N * CH; i++)
                finite &= isfinite(buf[i]);
            fill_noise(buf, N * CH, 6 + (unsigned)rep, 0.5f);
            sl_effect_process(fx, buf, N);
        }
        if (!finite)
            fprintf(stderr, "\n%s: non-finite output\n", fx->vt->name);
        CU_ASSERT(finite);
        CU_ASSERT(buf[N * CH - 1] != 0.0f || fx->vt == sl_effect_find("mute"));
        sl_effect_destroy(fx);
    }
}

static CU_TestInfo tests[] = {
    {"registry lists the built-ins", test_registry_lists_builtins},
    {"create rejects bad arguments", test_create_rejects_bad_arguments},
    {"set_param checks the range", test_set_param_checks_range},
    {"a user effect registers like a built-in",
     test_user_effect_registers_like_a_builtin},
    {"gain is exact", test_gain_is_exact},
    {"gain 0 dB is bit-exact", test_gain_zero_db_is_bit_exact},
    {"pan is exact and equal-power", test_pan_is_exact_equal_power},
    {"mute gives exact silence", test_mute_gives_exact_silence},
    {"a gain jump is ramped", test_gain_jump_is_ramped},
    {"biquads match the analytic magnitude and phase",
     test_biquads_match_analytic_magnitude},
    {"biquads match sox", test_biquads_match_sox},
    {"eq band matches the peaking formula",
     test_eq_band_matches_peaking_formula},
    {"echo repeats with decay and feedback",
     test_echo_repeats_with_decay_and_feedback},
    {"dry-only settings pass exactly", test_dry_only_settings_pass_exactly},
    {"reverb tail decays", test_reverb_tail_decays},
    {"compressor static curve within 0.5 dB", test_compressor_static_curve},
    {"compressor attack is smooth", test_compressor_attack_is_smooth},
    {"limiter never exceeds its ceiling", test_limiter_never_exceeds_ceiling},
    {"silence in, silence out (linear effects)",
     test_silence_in_silence_out_for_linear_effects},
    {"no denormals in a 10 s tail", test_no_denormals_in_a_ten_second_tail},
    {"no denormals without FTZ (state flushing alone)",
     test_no_denormals_without_ftz},
    {"NaN does not poison", test_nan_does_not_poison},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_effects = {
    .info = {.pName = "effects", .pTests = tests},
};
