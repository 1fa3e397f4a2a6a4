/*
 * bench_render.c: the offline render rows. The generated music (input.h),
 * 44.1 kHz stereo FLAC and MP3, converted to 48 kHz float WAV at each
 * libsamplerate quality.
 *
 * The floor is the plainest program that does the job: one thread, a loop
 * of sf_readf_float, src_process (and, in the chain rows, sl_chain_process
 * of BENCH_CHAIN_6) and sf_writef_float. Its rows compare it with the
 * audio's length (ratio: times faster than real time). Every render in
 * engine_renders[] is timed in the same rounds as the floor (floor, then
 * each of them, repeated) and compared with the floor's time for the same
 * input, quality and chain (ratio: times faster than the floor).
 *
 * Threads: the main thread; an engine render may start its own.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <samplerate.h>
#include <sndfile.h>

#include <sluice/sluice.h>

#include "input.h"
#include "sections.h"

#define OUT_RATE 48000
#define IN_BLOCK 1024               /* frames per sf_readf_float */
#define OUT_BLOCK (2 * IN_BLOCK)    /* room for any ratio up to 2 */

/* One render: what to convert, how, and where to write the WAV. */
typedef struct render_job {
    const char *in_path;
    const char *out_path;
    sl_resample_quality quality;
    const char *chain; /* effect chain text run on the output, or NULL */
    unsigned workers;  /* the variant's worker count; 0 = one per core */
} render_job;

/* Converts job->in_path into job->out_path (48 kHz float WAV, same
 * channels). Returns 0, or -1 with a one-line reason in why. */
typedef int (*render_fn)(const render_job *job, char *why, size_t why_len);

/* A render measured against the floor. */
typedef struct render_variant {
    const char *name;    /* leads the row name: "engine, 1 worker" */
    render_fn render;
    unsigned workers;    /* passed in render_job.workers */
    bench_target target; /* on the ratio floor time / this render's time */
} render_variant;

/* The same conversion through the engine: a render-only engine at the
 * job's quality and worker count, one track, the chain as the master
 * chain, sl_engine_render() into the float WAV. */
static int render_engine(const render_job *job, char *why, size_t len)
{
    sl_engine_config cfg;
    sl_render_options opt;
    sl_engine *e = NULL;
    sl_track_id id;
    int rc = -1;

    sl_engine_config_default(&cfg);
    cfg.output = SL_OUTPUT_NONE;
    cfg.rate = OUT_RATE;
    cfg.quality = job->quality;
    cfg.workers = job->workers == 0 ? -1 : (int)job->workers;
    cfg.position_interval_ms = 0;
    sl_render_options_default(&opt);
    opt.bits = 32;
    if (sl_engine_create(&e, &cfg, why, len) != SL_OK ||
        sl_track_open_file(e, job->in_path, &id, why, len) != SL_OK ||
        (job->chain != NULL &&
         sl_chain_parse(sl_engine_master_chain(e), job->chain, why, len) !=
             SL_OK) ||
        sl_track_play(e, id) != SL_OK)
        goto done;
    if (sl_engine_render(e, job->out_path, &opt, why, len) == SL_OK)
        rc = 0;
done:
    sl_engine_destroy(e);
    return rc;
}

/* The renders compared with the floor, one line each, ended by {NULL}:
 * issue 9's targets, no more than 5 % slower than the floor with one
 * worker and at least 1.6x faster with two. Each gets a row for every
 * input, quality and chain the floor has. */
static const render_variant engine_renders[] = {
    {"engine, 1 worker", render_engine, 1, {BENCH_RATIO_AT_LEAST, 1 / 1.05}},
    {"engine, 2 workers", render_engine, 2, {BENCH_RATIO_AT_LEAST, 1.6}},
    {NULL, NULL, 0, {BENCH_NO_TARGET, 0}},
};

static const char *const quality_name[] = {"best", "medium", "fast",
                                           "linear"};

static int converter(sl_resample_quality q)
{
    switch (q) {
    case SL_RESAMPLE_BEST: return SRC_SINC_BEST_QUALITY;
    case SL_RESAMPLE_MEDIUM: return SRC_SINC_MEDIUM_QUALITY;
    case SL_RESAMPLE_FAST: return SRC_SINC_FASTEST;
    case SL_RESAMPLE_LINEAR:
    default: return SRC_LINEAR;
    }
}

/* The floor's loop: read, resample, (chain,) write, until the resampler
 * has flushed the end of the input. */
static int convert(SNDFILE *in, SNDFILE *out, SRC_STATE *src, sl_chain *chain,
                   int ch, float *ibuf, float *obuf, char *why, size_t len)
{
    SRC_DATA d = {.data_out = obuf, .output_frames = OUT_BLOCK,
                  .src_ratio = (double)OUT_RATE / BENCH_INPUT_RATE};

    for (;;) {
        if (d.input_frames == 0 && !d.end_of_input) {
            sf_count_t n = sf_readf_float(in, ibuf, IN_BLOCK);
            if (n < IN_BLOCK && sf_error(in) != SF_ERR_NO_ERROR) {
                snprintf(why, len, "read: %s", sf_strerror(in));
                return -1;
            }
            d.data_in = ibuf;
            d.input_frames = (long)n;
            d.end_of_input = n < IN_BLOCK;
        }
        int err = src_process(src, &d);
        if (err != 0) {
            snprintf(why, len, "src_process: %s", src_strerror(err));
            return -1;
        }
        sf_count_t gen = d.output_frames_gen;
        if (chain != NULL)
            sl_chain_process(chain, obuf, (size_t)gen);
        if (sf_writef_float(out, obuf, gen) != gen) {
            snprintf(why, len, "write: %s", sf_strerror(out));
            return -1;
        }
        d.data_in += d.input_frames_used * ch;
        d.input_frames -= d.input_frames_used;
        if (d.end_of_input && d.input_frames == 0 && gen == 0)
            return 0;
    }
}

static sl_chain *make_chain(const char *text, int ch, char *why, size_t len)
{
    sl_chain_config cfg;
    sl_chain *chain;
    int rc;

    sl_chain_config_default(&cfg);
    cfg.channels = (unsigned)ch;
    cfg.sample_rate = OUT_RATE;
    if ((rc = sl_chain_create(&chain, &cfg)) != SL_OK) {
        snprintf(why, len, "sl_chain_create: %s", sl_strerror(rc));
        return NULL;
    }
    if (sl_chain_parse(chain, text, why, len) != SL_OK) {
        sl_chain_destroy(chain);
        return NULL;
    }
    return chain;
}

/* The floor: see the file comment. */
static int render_floor(const render_job *job, char *why, size_t len)
{
    SF_INFO ii = {0}, oi = {.samplerate = OUT_RATE,
                            .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *in, *out = NULL;
    SRC_STATE *src = NULL;
    sl_chain *chain = NULL;
    float *ibuf = NULL, *obuf = NULL;
    int err, rc = -1;

    if ((in = sf_open(job->in_path, SFM_READ, &ii)) == NULL) {
        snprintf(why, len, "opening the input: %s", sf_strerror(NULL));
        return -1;
    }
    oi.channels = ii.channels;
    if ((out = sf_open(job->out_path, SFM_WRITE, &oi)) == NULL) {
        snprintf(why, len, "opening the output: %s", sf_strerror(NULL));
        goto fail;
    }
    if ((src = src_new(converter(job->quality), ii.channels, &err)) == NULL) {
        snprintf(why, len, "src_new: %s", src_strerror(err));
        goto fail;
    }
    if (job->chain && !(chain = make_chain(job->chain, ii.channels, why, len)))
        goto fail;
    ibuf = malloc(sizeof(float) * IN_BLOCK * (size_t)ii.channels);
    obuf = malloc(sizeof(float) * OUT_BLOCK * (size_t)ii.channels);
    if (ibuf == NULL || obuf == NULL)
        snprintf(why, len, "out of memory");
    else
        rc = convert(in, out, src, chain, ii.channels, ibuf, obuf, why, len);
fail:
    free(ibuf);
    free(obuf);
    sl_chain_destroy(chain);
    if (src != NULL)
        src_delete(src);
    if (out != NULL && sf_close(out) != 0 && rc == 0) {
        snprintf(why, len, "closing the output failed");
        rc = -1;
    }
    sf_close(in);
    return rc;
}

/* Seconds one render takes, or -1 on failure (why says why). */
static double timed(render_fn fn, const render_job *job, char *why, size_t len)
{
    double t0 = bench_now();

    if (fn(job, why, len) != 0)
        return -1.0;
    return bench_now() - t0;
}

#define MAX_VARIANTS (sizeof engine_renders / sizeof engine_renders[0])

/* Times the floor and every engine render for one input, quality and
 * chain in `runs` interleaved rounds and prints their rows. */
static void render_cell(const bench_opts *opts, render_job *job,
                        const char *label, unsigned runs)
{
    double t[MAX_VARIANTS][BENCH_MAX_RUNS], floor_s;
    char name[MAX_VARIANTS][64], why[256] = "";
    bench_row row = {.unit = "s", .ratio = BENCH_SPEED};
    size_t n = 0;

    snprintf(name[0], sizeof name[0], "render floor: %s, %s", label,
             quality_name[job->quality]);
    for (unsigned r = 0; r < runs; r++) {
        job->workers = 1;
        if ((t[0][r] = timed(render_floor, job, why, sizeof why)) < 0) {
            bench_fail(name[0], why);
            return;
        }
        for (n = 0; engine_renders[n].name != NULL; n++) {
            const render_variant *v = &engine_renders[n];
            job->workers = v->workers;
            snprintf(name[n + 1], sizeof name[n + 1], "render %s: %s, %s",
                     v->name, label, quality_name[job->quality]);
            if ((t[n + 1][r] = timed(v->render, job, why, sizeof why)) < 0) {
                bench_fail(name[n + 1], why);
                return;
            }
        }
    }
    row.name = name[0];
    row.baseline = "audio length";
    floor_s = bench_median(t[0], runs);
    bench_report(&row, floor_s, bench_input_seconds(opts));
    row.baseline = "floor, same run";
    for (size_t v = 0; v < n; v++) {
        row.name = name[v + 1];
        row.target = engine_renders[v].target;
        bench_report(&row, bench_median(t[v + 1], runs), floor_s);
    }
}

/* Every quality for one input (and chain). */
static void render_input(const bench_opts *opts, bench_input_kind kind,
                         const char *chain, const char *label,
                         const char *out_path)
{
    char in_path[1024], why[256] = "";
    render_job job = {.in_path = in_path, .out_path = out_path,
                      .chain = chain};

    if (bench_input(opts, kind, in_path, sizeof in_path, why, sizeof why)) {
        char name[64];
        snprintf(name, sizeof name, "render floor: %s", label);
        bench_fail(name, why);
        return;
    }
    for (int q = SL_RESAMPLE_BEST; q <= SL_RESAMPLE_LINEAR; q++) {
        job.quality = (sl_resample_quality)q;
        render_cell(opts, &job, label, bench_runs(opts, 3));
    }
}

void bench_render_rows(const bench_opts *opts)
{
    char out_path[1024];

    snprintf(out_path, sizeof out_path, "%s/render-out.wav", opts->cache_dir);
    render_input(opts, BENCH_INPUT_FLAC, NULL, "FLAC", out_path);
    render_input(opts, BENCH_INPUT_FLAC, BENCH_CHAIN_6, "FLAC+chain", out_path);
    render_input(opts, BENCH_INPUT_MP3, NULL, "MP3", out_path);
    remove(out_path);
}
