/*
 * test_chain.c: effect chains: editing, bypass, the crossfaded structural
 * changes, reclaiming, a two-thread stress of 10 000 random edits during a
 * render, and the text form (every error message).
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/error.h>
#include <sluice/chain.h>
#include <sluice/effect.h>
#include "chain_priv.h"
#include "effect_priv.h"
#include "suites.h"

#define RATE 48000.0
#define FADE 240 /* 5 ms at 48 kHz, the default crossfade */

/* A user-defined effect (defined in test_effects.c). */
extern const sl_effect_vtable sl__test_invert;

static sl_chain *new_chain(unsigned ch)
{
    sl_chain_config cfg;
    sl_chain *c = NULL;

    sl_chain_config_default(&cfg);
    cfg.channels = ch;
    CU_ASSERT_EQUAL(sl_chain_create(&c, &cfg), SL_OK);
    return c;
}

static void fill(float *buf, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = v;
}

static void noise(float *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        buf[i] = 0.5f * ((float)(seed >> 8) / 8388608.0f - 1.0f);
    }
}

static void test_create_rejects_bad_config(void)
{
    sl_chain_config cfg;
    sl_chain *c = (sl_chain *)1;

    sl_chain_config_default(&cfg);
    CU_ASSERT_EQUAL(sl_chain_create(NULL, &cfg), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_chain_create(&c, NULL), SL_EINVAL);
    CU_ASSERT_PTR_NULL(c);
    cfg.channels = 0;
    CU_ASSERT_EQUAL(sl_chain_create(&c, &cfg), SL_EINVAL);
    sl_chain_config_default(&cfg);
    cfg.crossfade_ms = 0.0;
    CU_ASSERT_EQUAL(sl_chain_create(&c, &cfg), SL_EINVAL);
    sl_chain_config_default(&cfg);
    cfg.max_block = 0;
    CU_ASSERT_EQUAL(sl_chain_create(&c, &cfg), SL_EINVAL);
    sl_chain_destroy(NULL);
}

static void test_empty_chain_passes_exactly(void)
{
    float in[512], buf[512];
    sl_chain *c = new_chain(2);

    noise(in, 512, 1);
    memcpy(buf, in, sizeof in);
    sl_chain_process(c, buf, 256);
    CU_ASSERT_EQUAL(memcmp(buf, in, sizeof in), 0);
    sl_chain_destroy(c);
}

static void test_edits_keep_order_and_check_arguments(void)
{
    sl_chain *c = new_chain(2);
    unsigned a, b, d, id;

    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", &a), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_add(c, "lowpass", &b), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_insert(c, 0, "reverb", &d), SL_OK);
    /* reverb gain lowpass */
    CU_ASSERT_EQUAL(sl_chain_length(c), 3);
    CU_ASSERT_EQUAL(sl_chain_id_at(c, 0, &id), SL_OK);
    CU_ASSERT_EQUAL(id, d);
    CU_ASSERT_EQUAL(sl_chain_move(c, d, 2), SL_OK); /* gain lowpass reverb */
    CU_ASSERT_EQUAL(sl_chain_id_at(c, 0, &id), SL_OK);
    CU_ASSERT_EQUAL(id, a);
    CU_ASSERT_EQUAL(sl_chain_id_at(c, 2, &id), SL_OK);
    CU_ASSERT_EQUAL(id, d);
    CU_ASSERT_STRING_EQUAL(sl_chain_kind(c, b), "lowpass");
    CU_ASSERT_EQUAL(sl_chain_remove(c, a), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_length(c), 2);
    CU_ASSERT_PTR_NULL(sl_chain_kind(c, a));

    CU_ASSERT_EQUAL(sl_chain_remove(c, a), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_chain_move(c, 999, 0), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_chain_move(c, b, 2), SL_ERANGE);
    CU_ASSERT_EQUAL(sl_chain_insert(c, 5, "gain", NULL), SL_ERANGE);
    CU_ASSERT_EQUAL(sl_chain_add(c, "nope", NULL), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_chain_id_at(c, 2, &id), SL_ERANGE);
    CU_ASSERT_EQUAL(sl_chain_set_param(c, b, "freq", 1e9f), SL_ERANGE);
    CU_ASSERT_EQUAL(sl_chain_set_param(c, b, "nope", 1.0f), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_chain_set_param(c, b, "freq", NAN), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_chain_set_param(c, 999, "freq", 1.0f), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_chain_set_bypass(c, 999, 1), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_chain_set_param(c, b, "freq", 2000.0f), SL_OK);
    float v = 0;
    CU_ASSERT_EQUAL(sl_chain_get_param(c, b, "freq", &v), SL_OK);
    CU_ASSERT_EQUAL(v, 2000.0f);
    sl_chain_destroy(c);
}

static void test_chain_full(void)
{
    sl_chain_config cfg;
    sl_chain *c;

    sl_chain_config_default(&cfg);
    cfg.max_effects = 2;
    CU_ASSERT_EQUAL_FATAL(sl_chain_create(&c, &cfg), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", NULL), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", NULL), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", NULL), SL_EFULL);
    sl_chain_destroy(c);
}

/* Effects added before the audio starts are there from the first sample,
 * and a user-defined kind works in a chain like a built-in. */
static void test_first_snapshot_is_instant(void)
{
    float buf[64];
    sl_chain *c = new_chain(1);
    unsigned id;
    int err = sl_effect_register(&sl__test_invert);

    CU_ASSERT(err == SL_OK || err == SL_EBUSY);
    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", &id), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_set_param(c, id, "gain", -6.0f), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_add(c, "test-invert", NULL), SL_OK);
    fill(buf, 64, 0.5f);
    sl_chain_process(c, buf, 64);
    /* Parameters set before an effect first runs apply without a ramp. */
    float want = -(0.5f * (float)pow(10.0, -6.0 / 20.0));
    int exact = 1;
    for (int i = 0; i < 64; i++)
        exact &= buf[i] == want;
    CU_ASSERT(exact);
    sl_chain_destroy(c);
}

/* Bypassed effects are skipped: the output is bit-identical to the chain
 * without them. */
static void test_bypass_is_bit_exact(void)
{
    enum { N = 4096 };
    static float in[N * 2], buf[N * 2], ref[N * 2];
    sl_chain *c = new_chain(2);
    sl_effect *lp;
    unsigned g, r, l;

    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", &g), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_add(c, "lowpass", &l), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_add(c, "reverb", &r), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_set_param(c, g, "gain", -6.0f), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_set_bypass(c, g, 1), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_set_bypass(c, r, 1), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_set_bypass(c, l, 1), SL_OK);
    noise(in, N * 2, 3);
    memcpy(buf, in, sizeof in);
    sl_chain_process(c, buf, N); /* first block: adopted already bypassed */
    CU_ASSERT_EQUAL(memcmp(buf, in, sizeof in), 0);

    /* Re-enable the lowpass: after its fade-in the chain equals a lone
     * lowpass, bit for bit. */
    CU_ASSERT_EQUAL(sl_chain_set_bypass(c, l, 0), SL_OK);
    memcpy(buf, in, sizeof in);
    sl_chain_process(c, buf, N);
    CU_ASSERT_EQUAL_FATAL(sl_effect_create(&lp, "lowpass", 2, RATE), SL_OK);
    sl_chain_reset(c);
    memcpy(buf, in, sizeof in);
    memcpy(ref, in, sizeof in);
    sl_chain_process(c, buf, N);
    sl_effect_process(lp, ref, N);
    CU_ASSERT_EQUAL(memcmp(buf, ref, sizeof ref), 0);
    sl_effect_destroy(lp);

    /* Bypass everything again: after the fade, bit-exact. */
    CU_ASSERT_EQUAL(sl_chain_set_bypass(c, l, 1), SL_OK);
    sl_chain_process(c, buf, N);
    memcpy(buf, in, sizeof in);
    sl_chain_process(c, buf, N);
    CU_ASSERT_EQUAL(memcmp(buf, in, sizeof in), 0);
    sl_chain_destroy(c);
}

/* Largest |x[i] - x[i-1]| over one channel of an interleaved buffer. */
static double max_step(const float *buf, size_t frames, unsigned ch,
                       float *prev)
{
    double worst = 0.0;

    for (size_t i = 0; i < frames; i++) {
        worst = fmax(worst, fabs(buf[i * ch] - *prev));
        *prev = buf[i * ch];
    }
    return worst;
}

/* Inserting and removing an effect while running crossfades between the
 * old and the new output: with DC in, the output moves at most
 * |new - old| / FADE per sample and reaches the new level. */
static void test_structural_change_crossfades(void)
{
    enum { N = 1024 };
    float buf[N], prev = 1.0f;
    sl_chain *c = new_chain(1);
    unsigned id;
    double worst = 0.0, allowed = 0.75 / FADE * 1.001;

    fill(buf, N, 1.0f);
    sl_chain_process(c, buf, N); /* running, empty */
    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", &id), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_set_param(c, id, "gain", -12.0412f), SL_OK);
    for (int b = 0; b < 4; b++) {
        fill(buf, N, 1.0f);
        sl_chain_process(c, buf, N);
        worst = fmax(worst, max_step(buf, N, 1, &prev));
    }
    /* The parameter ramps inside the fading-in effect: still bounded. */
    CU_ASSERT(worst <= allowed);
    CU_ASSERT(worst > 0.0);
    CU_ASSERT_DOUBLE_EQUAL(buf[N - 1], 0.25, 1e-6);

    CU_ASSERT_EQUAL(sl_chain_remove(c, id), SL_OK);
    worst = 0.0;
    for (int b = 0; b < 2; b++) {
        fill(buf, N, 1.0f);
        sl_chain_process(c, buf, N);
        worst = fmax(worst, max_step(buf, N, 1, &prev));
    }
    CU_ASSERT(worst <= allowed);
    CU_ASSERT(worst >= 0.75 / FADE * 0.999); /* a fade, not a jump */
    CU_ASSERT_EQUAL(buf[N - 1], 1.0f);
    sl_chain_destroy(c);
}

/* A parameter jump through the chain ramps: no step above the ramp's. */
static void test_parameter_jump_is_ramped(void)
{
    enum { N = 512 };
    float buf[N], prev = 1.0f;
    sl_chain *c = new_chain(1);
    unsigned id;
    double worst = 0.0;
    double allowed = (1.0 - pow(10.0, -40.0 / 20.0)) / sl__ramp_len(RATE);

    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", &id), SL_OK);
    fill(buf, N, 1.0f);
    sl_chain_process(c, buf, N);
    CU_ASSERT_EQUAL(sl_chain_set_param(c, id, "gain", -40.0f), SL_OK);
    for (int b = 0; b < 4; b++) {
        fill(buf, N, 1.0f);
        sl_chain_process(c, buf, N);
        worst = fmax(worst, max_step(buf, N, 1, &prev));
    }
    CU_ASSERT(worst <= allowed * 1.001);
    CU_ASSERT(worst >= allowed * 0.99);
    CU_ASSERT_EQUAL(buf[N - 1], (float)pow(10.0, -40.0 / 20.0));
    sl_chain_destroy(c);
}

/* Removed effects and replaced snapshots are freed by the control side
 * once the audio side has moved on, and not before. */
static void test_reclaim(void)
{
    float buf[256];
    sl_chain *c = new_chain(1);
    unsigned a, b;
    size_t snaps, nodes;

    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", &a), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_add(c, "echo", &b), SL_OK);
    /* The audio side never took the first snapshot: it was freed when the
     * second replaced it. */
    sl__chain_census(c, &snaps, &nodes);
    CU_ASSERT_EQUAL(snaps, 1);
    CU_ASSERT_EQUAL(nodes, 2);
    fill(buf, 256, 0.1f);
    sl_chain_process(c, buf, 256);
    CU_ASSERT_EQUAL(sl_chain_remove(c, a), SL_OK);
    sl__chain_census(c, &snaps, &nodes);
    CU_ASSERT_EQUAL(snaps, 2); /* current + pending */
    CU_ASSERT_EQUAL(nodes, 2); /* the removed gain is still reachable */
    CU_ASSERT_EQUAL(sl_chain_collect(c), 0);
    for (int i = 0; i < 4; i++) /* fade out (240 frames), then switch */
        sl_chain_process(c, buf, 256);
    CU_ASSERT_EQUAL(sl_chain_collect(c), 2); /* old snapshot + gain */
    sl__chain_census(c, &snaps, &nodes);
    CU_ASSERT_EQUAL(snaps, 1);
    CU_ASSERT_EQUAL(nodes, 1);
    sl_chain_destroy(c);
}

static void test_reset_clears_tails(void)
{
    float buf[4800];
    sl_chain *c = new_chain(1);

    CU_ASSERT_EQUAL(sl_chain_parse(c, "echo 20 0.9; reverb", NULL, 0), SL_OK);
    fill(buf, 4800, 0.0f);
    buf[0] = 1.0f;
    sl_chain_process(c, buf, 4800);
    sl_chain_reset(c);
    fill(buf, 4800, 0.0f);
    sl_chain_process(c, buf, 4800);
    for (size_t i = 0; i < 4800; i++)
        CU_ASSERT_EQUAL_FATAL(buf[i], 0.0f);
    sl_chain_destroy(c);
}

/* ---- two threads: random edits during a render ------------------------- */

#define STRESS_EDITS 10000
#define STRESS_MAX_FX 6
#define STRESS_DC 0.25f
/* With DC in, every gain below is at most 1.2 per effect, so no signal in
 * the chain exceeds A = 0.25 * 1.2^6 = 0.75. One effect fading in or out
 * moves the output by at most 2A / FADE per sample; all six at once, plus
 * the parameter ramps (far slower), stay below 6 * 2A / FADE = 0.0375. A
 * structural change or parameter jump without its fade would step by at
 * least 0.19 (a -12 dB gain on the smallest signal). */
#define STRESS_MAX_STEP 0.05

typedef struct stress {
    sl_chain *chain;
    atomic_int stop;
    double worst_step;
    int nonfinite;
    unsigned long long frames;
    char diag[2048]; /* the chain's state where a step first broke the bound */
} stress;

/* Describes the audio side's view of the chain (called on the audio thread
 * between blocks, so its fields are stable), for a failure message. */
static void describe(const sl_chain *c, char *out, size_t len, size_t block,
                     size_t at, float from, float to)
{
    const sl_chain_snapshot *s = c->cur;
    int w = snprintf(out, len,
                     "step %.4f -> %.4f at frame %zu of a %zu-frame block; "
                     "moving to %s; old [%zu,%zu) new [%zu,%zu); nodes:",
                     from, to, at, block, c->next ? "a new list" : "nothing",
                     c->old_lo, c->old_hi, c->new_lo, c->new_hi);
    for (size_t i = 0; s != NULL && i < s->n && w > 0 && (size_t)w < len; i++)
        w += snprintf(out + w, len - (size_t)w,
                      " %s#%u(mix %.3f%s%s)", s->nodes[i]->fx->vt->name,
                      s->nodes[i]->id, s->nodes[i]->mix,
                      s->nodes[i]->fading ? " fading" : "",
                      atomic_load(&s->nodes[i]->bypass) ? " bypassed" : "");
}

static unsigned rnd(unsigned *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static float urand(unsigned *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)(rnd(s) % 100001u) / 100000.0f;
}

/* The DC input rises from silence over this many frames: a step in the
 * input itself would make any filter ring (a lowpass that is already in
 * the chain when audio starts is adopted at once, without a fade, and
 * answers a step with its step response), which is not the chain's doing. */
#define STRESS_RISE 1024

static void *render(void *arg)
{
    stress *st = arg;
    static float buf[1500 * 2];
    float prev[2] = {0.0f, 0.0f}; /* silence before the first block */
    unsigned seed = 0x1234567u;
    int tail = 0;

    /* keep going for a while after the edits stop, so the last fades end */
    while (tail < 200) {
        size_t n = 1 + rnd(&seed) % 1500;
        if (atomic_load_explicit(&st->stop, memory_order_acquire))
            tail++;
        for (size_t i = 0; i < n; i++) {
            unsigned long long t = st->frames + i;
            float v = t < STRESS_RISE ? STRESS_DC * (float)t / STRESS_RISE
                                      : STRESS_DC;
            buf[2 * i] = buf[2 * i + 1] = v;
        }
        sl_chain_process(st->chain, buf, n);
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 2; k++) {
                float x = buf[i * 2 + (size_t)k];
                if (!isfinite(x))
                    st->nonfinite = 1;
                if (fabs(x - prev[k]) > st->worst_step) {
                    if (fabs(x - prev[k]) > STRESS_MAX_STEP && !st->diag[0])
                        describe(st->chain, st->diag, sizeof st->diag, n, i,
                                 prev[k], x);
                    st->worst_step = fabs(x - prev[k]);
                }
                prev[k] = x;
            }
        st->frames += n;
    }
    return NULL;
}

/* One random edit. */
static void random_edit(sl_chain *c, unsigned *s)
{
    static const char *const kinds[] = {"gain", "pan", "lowpass",
                                        "equalizer", "mute", "test-invert"};
    size_t n = sl_chain_length(c);
    unsigned id = 0, op = rnd(s) % 6;
    const char *kind;

    if (n == 0 || (op == 0 && n < STRESS_MAX_FX)) {
        if (n < STRESS_MAX_FX)
            CU_ASSERT_EQUAL(sl_chain_insert(c, rnd(s) % (n + 1),
                                            kinds[rnd(s) % 6], NULL),
                            SL_OK);
        return;
    }
    CU_ASSERT_EQUAL(sl_chain_id_at(c, rnd(s) % n, &id), SL_OK);
    kind = sl_chain_kind(c, id);
    if (op == 1) {
        CU_ASSERT_EQUAL(sl_chain_remove(c, id), SL_OK);
    } else if (op == 2) {
        CU_ASSERT_EQUAL(sl_chain_move(c, id, rnd(s) % n), SL_OK);
    } else if (op == 3) {
        CU_ASSERT_EQUAL(sl_chain_set_bypass(c, id, (int)(rnd(s) & 1)), SL_OK);
    } else if (strcmp(kind, "gain") == 0) {
        CU_ASSERT_EQUAL(sl_chain_set_param(c, id, "gain", urand(s, -12, 0)),
                        SL_OK);
    } else if (strcmp(kind, "pan") == 0) {
        CU_ASSERT_EQUAL(
            sl_chain_set_param(c, id, "position", urand(s, -0.3f, 0.3f)),
            SL_OK);
    } else if (strcmp(kind, "lowpass") == 0) {
        CU_ASSERT_EQUAL(sl_chain_set_param(c, id, "freq", urand(s, 500, 20000)),
                        SL_OK);
    } else if (strcmp(kind, "equalizer") == 0) {
        CU_ASSERT_EQUAL(sl_chain_set_param(c, id, "gain", urand(s, -6, 6)),
                        SL_OK);
    } else if (strcmp(kind, "mute") == 0) {
        CU_ASSERT_EQUAL(sl_chain_set_param(c, id, "on", (float)(rnd(s) & 1)),
                        SL_OK);
    }
}

static void test_random_edits_during_render(void)
{
    stress st = {.worst_step = 0.0};
    pthread_t audio;
    unsigned seed = 0xC0FFEEu;
    struct timespec pause = {0, 20000};
    size_t snaps, nodes;
    int err = sl_effect_register(&sl__test_invert);

    CU_ASSERT(err == SL_OK || err == SL_EBUSY);
    st.chain = new_chain(2);
    atomic_init(&st.stop, 0);
    /* A few edits before audio starts, so the first list the audio side
     * sees is adopted at once (no fade) every time, not only when thread
     * start-up happens to be slow. */
    for (int i = 0; i < 8; i++)
        random_edit(st.chain, &seed);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&audio, NULL, render, &st), 0);
    for (int i = 8; i < STRESS_EDITS; i++) {
        random_edit(st.chain, &seed);
        if (i % 4 == 0)
            nanosleep(&pause, NULL);
    }
    atomic_store_explicit(&st.stop, 1, memory_order_release);
    pthread_join(audio, NULL);
    CU_ASSERT(!st.nonfinite);
    CU_ASSERT(st.worst_step <= STRESS_MAX_STEP);
    if (st.diag[0])
        printf("\n    [%s]\n", st.diag);
    sl_chain_collect(st.chain);
    sl__chain_census(st.chain, &snaps, &nodes);
    CU_ASSERT_EQUAL(snaps, 1);
    CU_ASSERT_EQUAL(nodes, sl_chain_length(st.chain));
    printf("[%d edits, %llu frames rendered, largest step %.4f] ",
           STRESS_EDITS, st.frames, st.worst_step);
    sl_chain_destroy(st.chain);
}

/* ---- the text form ------------------------------------------------------ */

/* Parses `text` into a fresh chain and checks the kinds and values. */
static void check_parse(const char *text, const char *kinds[],
                        const char *param, size_t which, float value)
{
    sl_chain *c = new_chain(2);
    char err[200];
    size_t n = 0;
    unsigned id;
    float v = 0.0f;

    CU_ASSERT_EQUAL_FATAL(sl_chain_parse(c, text, err, sizeof err), SL_OK);
    CU_ASSERT_STRING_EQUAL(err, "");
    while (kinds[n] != NULL) {
        CU_ASSERT_EQUAL_FATAL(sl_chain_id_at(c, n, &id), SL_OK);
        CU_ASSERT_STRING_EQUAL(sl_chain_kind(c, id), kinds[n]);
        n++;
    }
    CU_ASSERT_EQUAL(sl_chain_length(c), n);
    if (param != NULL) {
        CU_ASSERT_EQUAL(sl_chain_id_at(c, which, &id), SL_OK);
        CU_ASSERT_EQUAL(sl_chain_get_param(c, id, param, &v), SL_OK);
        CU_ASSERT_DOUBLE_EQUAL(v, value, 1e-4);
    }
    sl_chain_destroy(c);
}

static void test_parse_valid_forms(void)
{
    const char *k1[] = {"gain", NULL};
    const char *k2[] = {"lowpass", "highpass", NULL};
    const char *k2a[] = {"lowpass", NULL};
    const char *k3[] = {"bass", "treble", "equalizer", NULL};
    const char *k4[] = {"echo", "compress", "limit", "reverb", "pan", NULL};
    const char *k5[] = {"bandpass", "notch", NULL};

    check_parse("gain -3", k1, "gain", 0, -3.0f);
    check_parse("  gain   -3.5 ;", k1, "gain", 0, -3.5f);
    check_parse("lowpass 2k; highpass 80 0.5", k2, "freq", 0, 2000.0f);
    check_parse("lowpass 1000", k2a, "q", 0, 0.70710678f);
    check_parse("lowpass 1000 2q;highpass 80", k2, "q", 0, 2.0f);
    check_parse("bass 6; treble -3; equalizer 1000 1.4 -2", k3, "freq", 0,
                100.0f);
    check_parse("bass 6; treble -3 4000 0.8s; equalizer 1000 1.4 -2", k3,
                "slope", 1, 0.8f);
    check_parse("bass 6; treble -3 4000 0.8s; equalizer 1000 1.4 -2", k3,
                "gain", 2, -2.0f);
    check_parse("echo 60 0.4; compress -18 3; limit -1; reverb 0.7; pan -0.5",
                k4, "decay", 0, 0.4f);
    check_parse("echo 60 0.4; compress -18 3; limit -1; reverb 0.7; pan -0.5",
                k4, "ratio", 1, 3.0f);
    check_parse("echo 60 0.4; compress -18 3; limit -1; reverb 0.7; pan -0.5",
                k4, "position", 4, -0.5f);
    check_parse("bandpass 1k 2; notch 50 10", k5, "q", 1, 10.0f);

    /* A player's own kind is parsed like a built-in. */
    const char *k6[] = {"gain", "test-invert", NULL};
    int err = sl_effect_register(&sl__test_invert);
    CU_ASSERT(err == SL_OK || err == SL_EBUSY);
    check_parse("gain -1; test-invert 0.25", k6, "amount", 1, 0.25f);
}

static void check_error(const char *text, int code, const char *msg)
{
    sl_chain *c = new_chain(2);
    char err[200] = "untouched";

    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", NULL), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_parse(c, text, err, sizeof err), code);
    if (strcmp(err, msg) != 0)
        fprintf(stderr, "\n'%s':\n  got  '%s'\n  want '%s'\n", text, err, msg);
    CU_ASSERT_STRING_EQUAL(err, msg);
    /* on error nothing was added */
    CU_ASSERT_EQUAL(sl_chain_length(c), code == SL_OK ? 2 : 1);
    sl_chain_destroy(c);
}

static void test_parse_errors(void)
{
    check_error("lowpass abc", SL_EINVAL,
                "lowpass: FREQ: expected a frequency in Hz between 1 and "
                "24000, got 'abc'");
    check_error("gain -3; lowpass 30000", SL_EINVAL,
                "lowpass: FREQ: expected a frequency in Hz between 1 and "
                "24000, got '30000'");
    check_error("lowpass", SL_EINVAL,
                "lowpass: FREQ: missing, expected a frequency in Hz between 1 "
                "and 24000");
    check_error("lowpass 1000 0", SL_EINVAL,
                "lowpass: Q: expected a Q factor between 0.01 and 100, got "
                "'0'");
    check_error("lowpass 1000 1 2", SL_EINVAL,
                "lowpass: too many arguments: expected FREQ [Q], got '2'");
    check_error("equalizer 1000 2", SL_EINVAL,
                "equalizer: GAIN: missing, expected a level in dB between -48 "
                "and 48");
    check_error("gain loud", SL_EINVAL,
                "gain: GAIN: expected a level in dB between -120 and 24, got "
                "'loud'");
    check_error("bass 6 100 2", SL_EINVAL,
                "bass: SLOPE: expected a shelf slope between 0.01 and 1, got "
                "'2'");
    check_error("echo 60", SL_EINVAL,
                "echo: DECAY: missing, expected a gain factor between 0 and 1");
    check_error("echo 5000 0.5", SL_EINVAL,
                "echo: DELAY: expected a time in ms between 1 and 2000, got "
                "'5000'");
    check_error("compress -20 0.5", SL_EINVAL,
                "compress: RATIO: expected a ratio between 1 and 50, got "
                "'0.5'");
    check_error("compress -20 4 6 10 100 0 2", SL_EINVAL,
                "compress: DETECT: expected 0 or 1, a flag between 0 and 1, "
                "got '2'");
    check_error("pan left", SL_EINVAL,
                "pan: POSITION: expected a number between -1 and 1, got "
                "'left'");
    check_error("flange 3", SL_ENOTFOUND, "flange: unknown effect");
    check_error("gain 1; ; ", SL_OK, "");
    check_error("", SL_EINVAL, "expected an effect name");
    check_error(" ; ;", SL_EINVAL, "expected an effect name");
    check_error("mute 1 1", SL_EINVAL,
                "mute: too many arguments: expected [ON], got '1'");
    check_error("gain 1111111111111111111111111111111111111111111111111111111"
                "111111111",
                SL_EINVAL,
                "gain: argument too long: '111111111111111111111111111111111111"
                "111111111111111111111111111...'");
    check_error("gain nan", SL_EINVAL,
                "gain: GAIN: expected a level in dB between -120 and 24, got "
                "'nan'");
}

static void test_parse_too_many_effects(void)
{
    sl_chain_config cfg;
    sl_chain *c;
    char err[100];

    sl_chain_config_default(&cfg);
    cfg.max_effects = 2;
    CU_ASSERT_EQUAL_FATAL(sl_chain_create(&c, &cfg), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_parse(c, "gain 1; gain 2; gain 3", err,
                                   sizeof err),
                    SL_EFULL);
    CU_ASSERT_STRING_EQUAL(err, "too many effects: a chain holds at most 2");
    CU_ASSERT_EQUAL(sl_chain_add(c, "gain", NULL), SL_OK);
    CU_ASSERT_EQUAL(sl_chain_parse(c, "gain 1; gain 2", err, sizeof err),
                    SL_EFULL);
    CU_ASSERT_STRING_EQUAL(err, "too many effects: a chain holds at most 2");
    CU_ASSERT_EQUAL(sl_chain_length(c), 1);
    CU_ASSERT_EQUAL(sl_chain_parse(NULL, "gain 1", err, sizeof err),
                    SL_EINVAL);
    sl_chain_destroy(c);
}

static CU_TestInfo tests[] = {
    {"create rejects a bad config", test_create_rejects_bad_config},
    {"an empty chain passes exactly", test_empty_chain_passes_exactly},
    {"edits keep order and check arguments",
     test_edits_keep_order_and_check_arguments},
    {"a full chain refuses more", test_chain_full},
    {"the first snapshot is instant", test_first_snapshot_is_instant},
    {"bypass is bit-exact", test_bypass_is_bit_exact},
    {"structural changes crossfade", test_structural_change_crossfades},
    {"a parameter jump is ramped", test_parameter_jump_is_ramped},
    {"snapshots and removed effects are reclaimed", test_reclaim},
    {"reset clears tails", test_reset_clears_tails},
    {"10000 random edits during a render", test_random_edits_during_render},
    {"text form: valid forms", test_parse_valid_forms},
    {"text form: every error message", test_parse_errors},
    {"text form: too many effects", test_parse_too_many_effects},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_chain = {
    .info = {.pName = "chain", .pTests = tests},
};
