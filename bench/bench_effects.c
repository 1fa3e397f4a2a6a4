/*
 * bench_effects.c: what the effects cost. For every built-in effect, the
 * nanoseconds per sample at 48 kHz stereo, against a baseline measured in
 * the same run (a plain copy-and-multiply gain loop, the least an effect
 * could cost); then a six-effect chain's cost as a share of real time.
 * Single thread; uses only the public API. Prints a table.
 *
 *   bench/bench_effects [SECONDS]    seconds of audio per measurement (2)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/sluice.h>

#define RATE 48000
#define CH 2
#define BLOCK 256

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void noise(float *buf, size_t n)
{
    unsigned s = 12345u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        buf[i] = 0.5f * ((float)(s >> 8) / 8388608.0f - 1.0f);
    }
}

/* The baseline: copy a block and scale it, as cheaply as C allows. */
static double baseline_ns(const float *src, float *dst, size_t blocks)
{
    volatile float sink = 0.0f;
    float g = 0.5f;
    double t0 = now();

    for (size_t b = 0; b < blocks; b++) {
        memcpy(dst, src, sizeof(float) * BLOCK * CH);
        for (size_t i = 0; i < BLOCK * CH; i++)
            dst[i] *= g;
        sink += dst[b % (BLOCK * CH)];
    }
    (void)sink;
    return (now() - t0) * 1e9 / ((double)blocks * BLOCK * CH);
}

static double effect_ns(const char *name, const float *src, float *dst,
                        size_t blocks)
{
    sl_effect *fx;
    double t0;

    if (sl_effect_create(&fx, name, CH, RATE) != SL_OK)
        return -1.0;
    t0 = now();
    for (size_t b = 0; b < blocks; b++) {
        memcpy(dst, src, sizeof(float) * BLOCK * CH);
        sl_effect_process(fx, dst, BLOCK);
    }
    t0 = (now() - t0) * 1e9 / ((double)blocks * BLOCK * CH);
    sl_effect_destroy(fx);
    return t0;
}

static double chain_share(const char *text, const float *src, float *dst,
                          size_t blocks)
{
    sl_chain_config cfg;
    sl_chain *chain;
    char err[160];
    double t0, spent;

    sl_chain_config_default(&cfg);
    cfg.channels = CH;
    cfg.sample_rate = RATE;
    if (sl_chain_create(&chain, &cfg) != SL_OK)
        return -1.0;
    if (sl_chain_parse(chain, text, err, sizeof err) != SL_OK) {
        fprintf(stderr, "bench_effects: %s\n", err);
        sl_chain_destroy(chain);
        return -1.0;
    }
    t0 = now();
    for (size_t b = 0; b < blocks; b++) {
        memcpy(dst, src, sizeof(float) * BLOCK * CH);
        sl_chain_process(chain, dst, BLOCK);
    }
    spent = now() - t0;
    sl_chain_destroy(chain);
    return spent / ((double)blocks * BLOCK / RATE);
}

int main(int argc, char **argv)
{
    static const char chain_text[] =
        "highpass 40; equalizer 3000 1 3; compress -18 3; echo 120 0.3 0.3; "
        "reverb 0.6; limit -1";
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    size_t blocks = (size_t)(seconds * RATE / BLOCK);
    static float src[BLOCK * CH], dst[BLOCK * CH];
    double base, share;

    if (blocks == 0)
        blocks = 1;
    noise(src, BLOCK * CH);
    base = baseline_ns(src, dst, blocks);
    printf("%-12s %10s %10s\n", "effect", "ns/sample", "x baseline");
    printf("%-12s %10.2f %10.1f\n", "(baseline)", base, 1.0);
    for (size_t i = 0; sl_effect_kind_at(i) != NULL; i++) {
        const char *name = sl_effect_kind_at(i)->name;
        double ns = effect_ns(name, src, dst, blocks);
        printf("%-12s %10.2f %10.1f\n", name, ns, ns / base);
    }
    share = chain_share(chain_text, src, dst, blocks);
    printf("\nsix-effect chain \"%s\"\n", chain_text);
    printf("48 kHz stereo, %d-frame blocks: %.3f%% of real time "
           "(%.0f ns per sample)\n",
           BLOCK, share * 100.0, share * 1e9 / (RATE * CH));
    return share < 0.0 ? 1 : 0;
}
