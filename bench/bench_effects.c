/*
 * bench_effects.c: the effects rows. For every built-in effect, the
 * nanoseconds per sample at 48 kHz stereo in 256-frame blocks, against a
 * baseline measured in the same run (a plain copy-and-multiply gain loop,
 * the least an effect could cost); then the six-effect chain BENCH_CHAIN_6
 * as a share of real time on one core, against the same gain loop.
 *
 * Single thread (the main thread); uses only the public API.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/sluice.h>

#include "sections.h"

#define RATE 48000
#define CH 2
#define BLOCK 256

typedef struct fx_ctx {
    const char *kind; /* the effect, or NULL for the chain */
    size_t blocks;    /* blocks per run */
    float src[BLOCK * CH], dst[BLOCK * CH];
} fx_ctx;

static volatile float fx_sink;

static void noise(float *buf, size_t n)
{
    uint32_t s = 12345u;
    for (size_t i = 0; i < n; i++)
        buf[i] = 0.5f * ((float)(bench_rand(&s) >> 8) / 8388608.0f - 1.0f);
}

/* The baseline: copy a block and scale it, as cheaply as C allows.
 * Returns the seconds it took. */
static double gain_loop(fx_ctx *c)
{
    float g = 0.5f;
    double t0 = bench_now();

    for (size_t b = 0; b < c->blocks; b++) {
        memcpy(c->dst, c->src, sizeof c->dst);
        for (size_t i = 0; i < BLOCK * CH; i++)
            c->dst[i] *= g;
        fx_sink = c->dst[b % (BLOCK * CH)];
    }
    return bench_now() - t0;
}

static int effect_run(void *ctx, bench_pair *out, char *why, size_t why_len)
{
    fx_ctx *c = ctx;
    sl_effect *fx;
    double t0, samples = (double)c->blocks * BLOCK * CH;
    int rc = sl_effect_create(&fx, c->kind, CH, RATE);

    if (rc != SL_OK) {
        snprintf(why, why_len, "sl_effect_create: %s", sl_strerror(rc));
        return -1;
    }
    t0 = bench_now();
    for (size_t b = 0; b < c->blocks; b++) {
        memcpy(c->dst, c->src, sizeof c->dst);
        sl_effect_process(fx, c->dst, BLOCK);
    }
    out->figure = (bench_now() - t0) * 1e9 / samples;
    sl_effect_destroy(fx);
    out->baseline = gain_loop(c) * 1e9 / samples;
    return 0;
}

static int chain_run(void *ctx, bench_pair *out, char *why, size_t why_len)
{
    fx_ctx *c = ctx;
    sl_chain_config cfg;
    sl_chain *chain;
    double t0, audio = (double)c->blocks * BLOCK / RATE;
    int rc;

    sl_chain_config_default(&cfg);
    cfg.channels = CH;
    cfg.sample_rate = RATE;
    if ((rc = sl_chain_create(&chain, &cfg)) != SL_OK) {
        snprintf(why, why_len, "sl_chain_create: %s", sl_strerror(rc));
        return -1;
    }
    if (sl_chain_parse(chain, BENCH_CHAIN_6, why, why_len) != SL_OK) {
        sl_chain_destroy(chain);
        return -1;
    }
    t0 = bench_now();
    for (size_t b = 0; b < c->blocks; b++) {
        memcpy(c->dst, c->src, sizeof c->dst);
        sl_chain_process(chain, c->dst, BLOCK);
    }
    out->figure = 100.0 * (bench_now() - t0) / audio;
    sl_chain_destroy(chain);
    out->baseline = 100.0 * gain_loop(c) / audio;
    return 0;
}

void bench_effects_rows(const bench_opts *opts)
{
    static char names[64][48];
    double seconds = opts->smoke ? 0.25 : 10.0; /* audio per run */
    unsigned runs = bench_runs(opts, 5);
    fx_ctx *c = calloc(1, sizeof *c);
    bench_row row = {.unit = "ns/sample", .baseline = "copy+gain loop",
                     .ratio = BENCH_COST};

    if (c == NULL) {
        bench_fail("effects: every row", "out of memory");
        return;
    }
    c->blocks = (size_t)(seconds * RATE / BLOCK);
    noise(c->src, BLOCK * CH);
    for (size_t i = 0; i < 64 && sl_effect_kind_at(i) != NULL; i++) {
        c->kind = sl_effect_kind_at(i)->name;
        snprintf(names[i], sizeof names[i], "effect: %s, 48 kHz stereo",
                 c->kind);
        row.name = names[i];
        bench_measure(&row, runs, effect_run, c);
    }
    row.name = "effects: 6-effect chain, 48 kHz stereo";
    row.unit = "% of RT";
    bench_measure(&row, runs, chain_run, c);
    free(c);
}
