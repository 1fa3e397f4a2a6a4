/*
 * input.c: synthesizes the render rows' music and caches it as FLAC and
 * MP3 (see input.h). Main thread.
 *
 * The synth works on a grid of eighth notes (0.25 s at 120 bpm): at each
 * step it starts notes and drum hits, then renders the step's frames as
 * the sum of its voices (wavetable oscillators with one-pole envelopes)
 * and drums (noise bursts and a pitch-swept sine), soft-clipped.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "input.h"

#define RATE BENCH_INPUT_RATE
#define STEP (RATE / 4) /* frames per eighth note at 120 bpm */
#define TABLE 2048      /* wavetable length (plus one guard entry) */
#define VOICES 24
#define SYNTH_VERSION 1 /* bump when the synthesis changes: new file names */

enum { T_PAD, T_BASS, T_LEAD, T_COUNT };

typedef struct voice {
    const float *table; /* NULL: free */
    double phase, inc;  /* in table entries */
    float level;        /* envelope: moves toward target by `glide` */
    float target, glide;
    float decay;        /* multiplies target every frame (plucks) */
    float gl, gr;       /* pan gains */
    int pad;            /* part of the sustained chord */
} voice;

typedef struct synth {
    float tables[T_COUNT][TABLE + 1];
    voice v[VOICES];
    double kick_phase;
    float kick_freq, kick, snare, hat, hat_decay, last_noise;
    uint32_t rnd;
    int prog[8]; /* chords of the current eight bars */
    long step;
} synth;

/* Triads of C major (MIDI notes): I ii iii IV V vi. */
static const int chords[6][3] = {{60, 64, 67}, {62, 65, 69}, {64, 67, 71},
                                 {65, 69, 72}, {67, 71, 74}, {69, 72, 76}};
static const int pentatonic[5] = {72, 74, 76, 79, 81};

static double hz(int midi)
{
    return 440.0 * pow(2.0, (midi - 69) / 12.0);
}

static float frand(synth *s) /* uniform in [-1, 1) */
{
    return (float)(bench_rand(&s->rnd) >> 8) / 8388608.0f - 1.0f;
}

/* Band-limited tables: harmonic n at amplitude n^-slope, odd ones only
 * when `odd`; peak-normalised. */
static void make_table(float *t, int harmonics, double slope, int odd)
{
    float peak = 0.0f;

    for (int i = 0; i < TABLE; i++) {
        double x = 2.0 * M_PI * i / TABLE, sum = 0.0;
        for (int n = 1; n <= harmonics; n += odd ? 2 : 1)
            sum += sin(n * x) / pow(n, slope);
        t[i] = (float)sum;
        if (fabsf(t[i]) > peak)
            peak = fabsf(t[i]);
    }
    for (int i = 0; i < TABLE; i++)
        t[i] /= peak;
    t[TABLE] = t[0];
}

static voice *free_voice(synth *s)
{
    voice *quiet = &s->v[0];

    for (int i = 0; i < VOICES; i++) {
        if (s->v[i].table == NULL)
            return &s->v[i];
        if (s->v[i].level < quiet->level)
            quiet = &s->v[i];
    }
    return quiet;
}

/* Starts a note: `attack_s` to reach `amp`, then decaying with time
 * constant `tau_s` (0: sustained until released). pan in [-1, 1]. */
static void note(synth *s, int table, double freq, float amp, float attack_s,
                 float tau_s, float pan, int pad)
{
    voice *v = free_voice(s);

    *v = (voice){.table = s->tables[table],
                 .inc = freq * TABLE / RATE,
                 .target = amp,
                 .glide = 1.0f / (attack_s * RATE),
                 .decay = tau_s > 0 ? expf(-1.0f / (tau_s * RATE)) : 1.0f,
                 .gl = sqrtf(0.5f * (1.0f - pan)),
                 .gr = sqrtf(0.5f * (1.0f + pan)),
                 .pad = pad};
}

/* A new bar: the old chord fades out, the new one fades in, detuned left
 * and right for width. */
static void bar(synth *s, long n)
{
    if (n % 8 == 0) {
        s->prog[0] = (int)(bench_rand(&s->rnd) % 2) * 5; /* I or vi */
        for (int i = 1; i < 8; i++)
            s->prog[i] = (int)(bench_rand(&s->rnd) % 6);
    }
    for (int i = 0; i < VOICES; i++)
        if (s->v[i].pad) {
            s->v[i].target = 0.0f;
            s->v[i].glide = 1.0f / (0.08f * RATE);
            s->v[i].pad = 0;
        }
    const int *c = chords[s->prog[n % 8]];
    for (int k = 0; k < 3; k++) {
        note(s, T_PAD, hz(c[k] - 12) * 0.9985, 0.05f, 0.04f, 0, -0.6f, 1);
        note(s, T_PAD, hz(c[k] - 12) * 1.0015, 0.05f, 0.04f, 0, 0.6f, 1);
    }
}

/* Starts what happens at the current eighth note. */
static void events(synth *s)
{
    long st = s->step, in_bar = st % 8;

    if (in_bar == 0)
        bar(s, st / 8);
    int root = chords[s->prog[(st / 8) % 8]][0];
    if (in_bar % 2 == 0)
        note(s, T_BASS, hz(root - 24), 0.30f, 0.003f, 0.30f, 0.0f, 0);
    if (in_bar == 0 || in_bar == 4 || (in_bar == 7 && st % 32 == 31)) {
        s->kick = 0.7f;
        s->kick_freq = 120.0f;
    }
    if (in_bar == 2 || in_bar == 6)
        s->snare = 0.35f;
    s->hat = 0.10f;
    s->hat_decay = expf(-1.0f / ((in_bar == 7 ? 0.12f : 0.025f) * RATE));
    if (bench_rand(&s->rnd) % 100 < 55)
        note(s, T_LEAD, hz(pentatonic[bench_rand(&s->rnd) % 5]), 0.12f,
             0.002f, 0.15f, 0.8f * frand(s), 0);
}

static float voice_sample(voice *v)
{
    size_t i = (size_t)v->phase;
    float f = (float)(v->phase - (double)i);
    float x = v->table[i] + f * (v->table[i + 1] - v->table[i]);

    v->phase += v->inc;
    if (v->phase >= TABLE)
        v->phase -= TABLE;
    v->level += (v->target - v->level) * v->glide;
    v->target *= v->decay;
    return x * v->level;
}

static void drums(synth *s, float *l, float *r)
{
    float noise = frand(s), bright = noise - s->last_noise;

    s->last_noise = noise;
    s->kick_freq = 45.0f + (s->kick_freq - 45.0f) * 0.9985f;
    s->kick_phase += 2.0 * M_PI * s->kick_freq / RATE;
    float kick = (float)sin(s->kick_phase) * s->kick;
    s->kick *= 0.99985f;
    float snare = (0.6f * noise + 0.4f * bright) * s->snare;
    s->snare *= 0.99968f;
    float hat = 0.5f * bright * s->hat;
    s->hat *= s->hat_decay;
    *l += kick + snare + 0.7f * hat;
    *r += kick + snare + hat;
}

/* Renders n frames (interleaved stereo) of the current step. */
static void render(synth *s, float *out, size_t n)
{
    for (size_t f = 0; f < n; f++) {
        float l = 0.0f, r = 0.0f;
        for (int i = 0; i < VOICES; i++) {
            voice *v = &s->v[i];
            if (v->table == NULL)
                continue;
            float x = voice_sample(v);
            l += x * v->gl;
            r += x * v->gr;
            if (v->target < 1e-4f && v->level < 1e-4f && !v->pad)
                v->table = NULL;
        }
        drums(s, &l, &r);
        out[2 * f] = tanhf(0.8f * l);
        out[2 * f + 1] = tanhf(0.8f * r);
    }
}

static int generate(SNDFILE *sf, long frames)
{
    synth *s = calloc(1, sizeof *s);
    float *buf = malloc(sizeof(float) * 2 * STEP);
    int rc = s && buf ? 0 : -1;

    if (rc == 0) {
        s->rnd = 0x5eed1u;
        make_table(s->tables[T_PAD], 12, 1.0, 0);
        make_table(s->tables[T_BASS], 6, 1.5, 0);
        make_table(s->tables[T_LEAD], 9, 1.0, 1);
    }
    for (long done = 0; rc == 0 && done < frames; s->step++) {
        size_t n = (size_t)(frames - done < STEP ? frames - done : STEP);
        events(s);
        render(s, buf, n);
        if (sf_writef_float(sf, buf, (sf_count_t)n) != (sf_count_t)n)
            rc = -1;
        done += (long)n;
    }
    free(buf);
    free(s);
    return rc;
}

double bench_input_seconds(const bench_opts *opts)
{
    return opts->smoke ? BENCH_INPUT_SMOKE_S : BENCH_INPUT_FULL_S;
}

/* Whether `path` reads back as this input: stereo, the rate, and the
 * length (exactly for FLAC; MP3 adds encoder delay and padding). */
static int usable(const char *path, bench_input_kind kind, long frames)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    long slack = kind == BENCH_INPUT_MP3 ? RATE / 2 : 0;
    int ok = sf != NULL && info.channels == 2 && info.samplerate == RATE &&
             info.frames >= frames - slack && info.frames <= frames + slack;

    if (sf != NULL)
        sf_close(sf);
    return ok;
}

static int write_input(const char *path, bench_input_kind kind, long frames,
                       char *why, size_t why_len)
{
    char part[1100];
    SF_INFO info = {.samplerate = RATE, .channels = 2};
    SNDFILE *sf;
    int rc;

    info.format = kind == BENCH_INPUT_MP3
                      ? SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III
                      : SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    if (!sf_format_check(&info)) {
        snprintf(why, why_len, "this libsndfile cannot write %s",
                 kind == BENCH_INPUT_MP3 ? "MP3" : "FLAC");
        return -1;
    }
    snprintf(part, sizeof part, "%s.part", path);
    if ((sf = sf_open(part, SFM_WRITE, &info)) == NULL) {
        snprintf(why, why_len, "%s: %s", part, sf_strerror(NULL));
        return -1;
    }
    fprintf(stderr, "sluice-bench: generating %s (%ld s; kept for later "
                    "runs)\n", path, frames / RATE);
    rc = generate(sf, frames);
    if (sf_close(sf) != 0 || rc != 0 || rename(part, path) != 0) {
        snprintf(why, why_len, "cannot write %s", part);
        remove(part);
        return -1;
    }
    return 0;
}

int bench_input(const bench_opts *opts, bench_input_kind kind, char *path,
                size_t len, char *why, size_t why_len)
{
    long seconds = (long)bench_input_seconds(opts), frames = seconds * RATE;

    snprintf(path, len, "%s/music-v%d-%lds.%s", opts->cache_dir, SYNTH_VERSION,
             seconds, kind == BENCH_INPUT_MP3 ? "mp3" : "flac");
    if (usable(path, kind, frames))
        return 0;
    if (write_input(path, kind, frames, why, why_len) != 0)
        return -1;
    if (!usable(path, kind, frames)) {
        snprintf(why, why_len, "%s does not read back as written", path);
        return -1;
    }
    return 0;
}
