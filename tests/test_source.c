/*
 * test_source.c: sources and the reader. Files are written by libsndfile
 * into a private temporary directory, read back through sluice and
 * compared with the signal written or with libsndfile's own decode.
 * Runs on the test thread only.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include <sluice/error.h>
#include <sluice/source.h>
#include "reader.h"
#include "source_fixture.h"
#include "source_priv.h"
#include "suites.h"

#define G3 0.70710678f

/* ------------------------------------------------------------- tests */

static void test_decode_parity_16bit_wav(void)
{
    const size_t frames = 20000;
    float *x = make_signal(frames, 2, 44100);
    const char *p = st_path("parity.wav");
    CU_ASSERT_EQUAL_FATAL(
        write_file(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, x, frames),
        0);
    size_t nref, n;
    unsigned ch;
    float *ref = read_with_sndfile(p, &nref, &ch);
    sl__reader *r = open_reader(p, 44100, 2, SL_RESAMPLE_BEST);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(sl__reader_length(r), (int64_t)frames);
    int err;
    float *y = read_all(r, 2, &n, &err);
    CU_ASSERT_EQUAL(err, SL_OK);
    CU_ASSERT_EQUAL(n, nref);
    CU_ASSERT_EQUAL(n, frames);
    CU_ASSERT(memcmp(ref, y, n * 2 * sizeof *y) == 0);
    CU_ASSERT_EQUAL(sl__reader_position(r), (int64_t)frames);
    CU_ASSERT_EQUAL(sl__reader_read(r, y, 10), 0);
    sl__reader_destroy(r);
    free(ref), free(y), free(x);
}

/* The lag (|lag| <= maxlag) at which y best matches x, by correlation. */
static long best_lag(const float *x, const float *y, size_t n, long maxlag)
{
    long best = 0;
    double bestc = -1e300;
    for (long lag = -maxlag; lag <= maxlag; lag++) {
        double c = 0;
        for (size_t i = (size_t)maxlag; i + (size_t)maxlag < n; i += 3)
            c += (double)x[i] * y[(long)i + lag];
        if (c > bestc) {
            bestc = c;
            best = lag;
        }
    }
    return best;
}

/* SNR in dB of y[i + lag] against x[i] away from both ends. */
static double snr_db(const float *x, const float *y, size_t n, long lag)
{
    double s = 0, e = 0;
    size_t edge = 4000;
    for (size_t i = edge; i + edge < n; i++) {
        double d = (double)y[(long)i + lag] - x[i];
        s += (double)x[i] * x[i];
        e += d * d;
    }
    return 10 * log10(s / (e + 1e-30));
}

struct fmt_case {
    const char *name;
    int format;
    unsigned rate;
    double min_snr; /* 0: lossless, must be exact */
};

static const struct fmt_case formats[] = {
    {"wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 0},
    {"wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 44100, 0},
    {"wav", SF_FORMAT_WAVEX | SF_FORMAT_PCM_24, 44100, 0},
    {"aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 44100, 0},
    {"aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 44100, 0},
    {"flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 0},
    {"flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 96000, 0},
    {"caf", SF_FORMAT_CAF | SF_FORMAT_PCM_16, 44100, 0},
    {"caf", SF_FORMAT_CAF | SF_FORMAT_ALAC_16, 44100, 0},
    {"w64", SF_FORMAT_W64 | SF_FORMAT_PCM_32, 44100, 0},
    {"rf64", SF_FORMAT_RF64 | SF_FORMAT_DOUBLE, 44100, 0},
    {"au", SF_FORMAT_AU | SF_FORMAT_PCM_16, 44100, 0},
    {"snd", SF_FORMAT_AU | SF_FORMAT_FLOAT, 44100, 0},
    {"ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 25},
    {"opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 25},
    {"mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 25},
};

/* Round-trips one format; prints what lossy codecs did. */
static void round_trip(const struct fmt_case *fc, int idx)
{
    const size_t frames = 48000;
    char name[32];
    snprintf(name, sizeof name, "rt%d.%s", idx, fc->name);
    const char *p = st_path(name);
    SF_INFO probe = {.samplerate = (int)fc->rate, .channels = 2,
                     .format = fc->format};
    if (!sf_format_check(&probe)) {
        printf("[%s %#x not writable here] ", fc->name, fc->format);
        return;
    }
    float *x = make_signal(frames, 2, fc->rate);
    CU_ASSERT_EQUAL_FATAL(write_file(p, fc->format, fc->rate, 2, x, frames),
                          0);
    sl__reader *r = open_reader(p, fc->rate, 2, SL_RESAMPLE_BEST);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    size_t n;
    int err;
    float *y = read_all(r, 2, &n, &err);
    CU_ASSERT_EQUAL(err, SL_OK);
    if (fc->min_snr == 0) {
        CU_ASSERT_EQUAL(n, frames);
        int same = n == frames && memcmp(x, y, n * 2 * sizeof *y) == 0;
        if (!same)
            fprintf(stderr, "\n%s %#x: %zu frames, first %g want %g\n",
                    fc->name, fc->format, n, y[100], x[100]);
        CU_ASSERT(same);
    } else {
        /* Left channel only, padded so lags stay inside the buffers. */
        size_t m = n < frames ? n : frames;
        float *xl = calloc(frames, sizeof *xl), *yl = calloc(frames, sizeof *yl);
        for (size_t i = 0; i < m; i++)
            xl[i] = x[2 * i], yl[i] = y[2 * i];
        long lag = best_lag(xl, yl, frames, 3000);
        double snr = snr_db(xl, yl, frames - 3000, lag);
        printf("[%s: %zu of %zu frames, delay %ld, SNR %.1f dB] ", fc->name,
               n, frames, lag, snr);
        CU_ASSERT(snr >= fc->min_snr);
        CU_ASSERT(labs((long)n - (long)frames) <= 2048);
        free(xl), free(yl);
    }
    sl__reader_destroy(r);
    free(x), free(y);
}

static void test_every_writable_format_round_trips(void)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        round_trip(&formats[i], (int)i);
}

/* Frequency of a sine from its rising zero crossings (linearly
 * interpolated) between frames `from` and `to`. */
static double sine_freq(const float *y, size_t from, size_t to, double rate)
{
    double first = -1, last = -1;
    long crossings = 0;
    for (size_t i = from; i + 1 < to; i++) {
        if (y[i] < 0 && y[i + 1] >= 0) {
            double t = (double)i + y[i] / ((double)y[i] - y[i + 1]);
            if (first < 0)
                first = t;
            last = t;
            crossings++;
        }
    }
    return crossings < 2 ? 0 : (double)(crossings - 1) * rate / (last - first);
}

static void test_resample_keeps_frequency_and_length(void)
{
    const size_t in_frames = 2 * 44100;
    const double f0 = 997.0;
    float *x = malloc(in_frames * sizeof *x);
    for (size_t i = 0; i < in_frames; i++)
        x[i] = (float)(0.5 * sin(2 * M_PI * f0 * (double)i / 44100.0));
    static const char *names[] = {"best", "medium", "fast", "linear"};
    for (int q = SL_RESAMPLE_BEST; q <= SL_RESAMPLE_LINEAR; q++) {
        struct array_src a = {.x = x, .frames = in_frames, .ch = 1,
                              .rate = 44100};
        sl__reader *r = array_reader(&a, 48000, 1, (sl_resample_quality)q);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        size_t n;
        int err;
        float *y = read_all(r, 1, &n, &err);
        CU_ASSERT_EQUAL(err, SL_OK);
        double want_len = (double)in_frames * 48000.0 / 44100.0;
        double f = sine_freq(y, 2000, n - 2000, 48000.0);
        printf("[%s: %.6f Hz (error %+.1e), %zu frames for %.1f] ", names[q],
               f, f - f0, n, want_len);
        CU_ASSERT(fabs(f - f0) < 0.1);
        CU_ASSERT(fabs((double)n - want_len) <= SL__READER_BLOCK);
        CU_ASSERT_EQUAL((int64_t)n, sl__reader_length(r));
        sl__reader_destroy(r);
        CU_ASSERT_EQUAL(a.closed, 1);
        free(y);
    }
    free(x);
}

/* Seeks a reader of `path` around and compares with an unbroken read. */
static void check_seeks(const char *path, unsigned rate, double tolerance)
{
    static const int64_t targets[] = {12345, 0, 1, 4095, 4096, 33333, 49000,
                                      777};
    sl__reader *r = open_reader(path, rate, 2, SL_RESAMPLE_BEST);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    size_t n;
    int err;
    float *ref = read_all(r, 2, &n, &err);
    float buf[1000 * 2];
    double worst = 0;
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        int64_t at_frame = targets[t];
        if (at_frame >= (int64_t)n)
            continue;
        CU_ASSERT_EQUAL_FATAL(sl__reader_seek(r, at_frame), SL_OK);
        CU_ASSERT_EQUAL(sl__reader_position(r), at_frame);
        ptrdiff_t got = sl__reader_read(r, buf, 1000);
        size_t want = n - (size_t)at_frame < 1000 ? n - (size_t)at_frame : 1000;
        CU_ASSERT_EQUAL(got, (ptrdiff_t)want);
        for (size_t i = 0; i < want * 2 && got > 0; i++) {
            double d = fabs((double)buf[i] - ref[(size_t)at_frame * 2 + i]);
            if (d > worst)
                worst = d;
        }
    }
    CU_ASSERT(worst <= tolerance);
    if (tolerance > 0)
        printf("[resampled seek: worst difference %.2e] ", worst);
    /* At the end, and past it. */
    CU_ASSERT_EQUAL(sl__reader_seek(r, (int64_t)n), SL_OK);
    CU_ASSERT_EQUAL(sl__reader_read(r, buf, 10), 0);
    CU_ASSERT_EQUAL(sl__reader_seek(r, (int64_t)n + 1), SL_ERANGE);
    CU_ASSERT_EQUAL(sl__reader_seek(r, -1), SL_EINVAL);
    sl__reader_destroy(r);
    free(ref);
}

static void test_seek_is_sample_accurate(void)
{
    const size_t frames = 50000;
    float *x = make_signal(frames, 2, 44100);
    const char *wav = st_path("seek.wav"), *flac = st_path("seek.flac");
    CU_ASSERT_EQUAL_FATAL(write_file(wav, SF_FORMAT_WAV | SF_FORMAT_PCM_16,
                                     44100, 2, x, frames), 0);
    CU_ASSERT_EQUAL_FATAL(write_file(flac, SF_FORMAT_FLAC | SF_FORMAT_PCM_16,
                                     44100, 2, x, frames), 0);
    check_seeks(wav, 44100, 0);
    check_seeks(flac, 44100, 0);
    /* Through the resampler: continues as an unbroken read would, up
     * and down (where the filter is longer in source frames). */
    check_seeks(flac, 48000, 1e-6);
    check_seeks(flac, 32000, 1e-6);
    free(x);
}


/* What an MP3 seek lands on: the lag of the data after the seek against an
 * unbroken decode (0 = exact), and how far the samples then differ. */
static void test_mp3_seek_measured(void)
{
    const size_t frames = 3 * 44100;
    SF_INFO probe = {.samplerate = 44100, .channels = 2,
                     .format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
    if (!sf_format_check(&probe)) {
        printf("[MP3 not writable here] ");
        return;
    }
    float *x = make_signal(frames, 2, 44100);
    const char *p = st_path("seek.mp3");
    CU_ASSERT_EQUAL_FATAL(write_file(p, probe.format, 44100, 2, x, frames), 0);
    sl__reader *r = open_reader(p, 44100, 2, SL_RESAMPLE_BEST);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    size_t n;
    int err;
    float *ref = read_all(r, 2, &n, &err);
    static const int64_t targets[] = {100000, 1, 1151, 1152, 44100, 77777};
    enum { LEN = 4096, PAD = 2400 };
    float *buf = malloc(LEN * 2 * sizeof *buf);
    long worst_lag = 0;
    double worst = 0;
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        CU_ASSERT_EQUAL_FATAL(sl__reader_seek(r, targets[t]), SL_OK);
        CU_ASSERT_EQUAL_FATAL(sl__reader_read(r, buf, LEN), LEN);
        /* Lag search over the left channel. */
        long best = 0;
        double best_e = 1e300;
        for (long lag = -PAD; lag <= PAD; lag++) {
            long base = (long)targets[t] + lag;
            if (base < 0 || base + LEN > (long)n)
                continue;
            double e = 0;
            for (size_t i = 0; i < LEN; i += 4)
                e += fabs((double)buf[2 * i] - ref[2 * (base + (long)i)]);
            if (e < best_e)
                best_e = e, best = lag;
        }
        double d = 0;
        for (size_t i = 0; i < LEN * 2; i++) {
            double e = fabs((double)buf[i] - ref[2 * (targets[t] + best) + i]);
            d = e > d ? e : d;
        }
        if (labs(best) > labs(worst_lag))
            worst_lag = best;
        worst = d > worst ? d : worst;
    }
    printf("[MP3 seek: worst lag %ld frames, worst difference %.2e] ",
           worst_lag, worst);
    CU_ASSERT_EQUAL(worst_lag, 0);
    CU_ASSERT(worst < 1e-3);
    sl__reader_destroy(r);
    free(buf), free(ref), free(x);
}

/* Drives input channel c alone with 1.0 in frame c, so output frame c
 * holds exactly column c of the mixing matrix. */
static void check_matrix(unsigned in, unsigned out, const float *want)
{
    float x[SL_MAX_CHANNELS * SL_MAX_CHANNELS] = {0};
    float y[SL_MAX_CHANNELS * SL_MAX_CHANNELS];
    for (unsigned c = 0; c < in; c++)
        x[c * in + c] = 1.0f;
    struct array_src a = {.x = x, .frames = in, .ch = in, .rate = 48000};
    sl__reader *r = array_reader(&a, 48000, out, SL_RESAMPLE_BEST);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL_FATAL(sl__reader_read(r, y, in + 5), (ptrdiff_t)in);
    for (unsigned c = 0; c < in; c++)
        for (unsigned o = 0; o < out; o++)
            if (y[c * out + o] != want[c * out + o]) {
                fprintf(stderr, "\n%u->%u: input %u to output %u is %.9g, "
                        "want %.9g\n", in, out, c, o, y[c * out + o],
                        want[c * out + o]);
                CU_FAIL("coefficient");
            }
    sl__reader_destroy(r);
}

static void test_channel_mapping_coefficients(void)
{
    /* [input channel][output channel] */
    static const float mono_stereo[] = {1, 1};
    static const float mono_6[] = {1, 1, 1, 1, 1, 1};
    static const float stereo_mono[] = {0.5f, 0.5f};
    static const float s51_stereo[] = {1, 0, 0, 1, G3, G3, 0, 0, G3, 0, 0, G3};
    static const float s51_mono[] = {0.5f, 0.5f, G3, 0, 0.5f * G3, 0.5f * G3};
    static const float s71_stereo[] = {1, 0, 0, 1, G3, G3, 0, 0,
                                       G3, 0, 0, G3, G3, 0, 0, G3};
    static const float s61_stereo[] = {1, 0, 0, 1, G3, G3, 0, 0,
                                       0.5f, 0.5f, G3, 0, 0, G3};
    static const float quad_stereo[] = {1, 0, 0, 1, G3, 0, 0, G3};
    static const float stereo_51[] = {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    /* 10 channels to stereo: no layout, even inputs average left. */
    float ten[20];
    for (int c = 0; c < 10; c++)
        ten[2 * c] = c % 2 ? 0 : 0.2f, ten[2 * c + 1] = c % 2 ? 0.2f : 0;
    check_matrix(1, 2, mono_stereo);
    check_matrix(1, 6, mono_6);
    check_matrix(2, 1, stereo_mono);
    check_matrix(6, 2, s51_stereo);
    check_matrix(6, 1, s51_mono);
    check_matrix(7, 2, s61_stereo);
    check_matrix(8, 2, s71_stereo);
    check_matrix(4, 2, quad_stereo);
    check_matrix(2, 6, stereo_51);
    check_matrix(10, 2, ten);
}

static void test_too_many_channels(void)
{
    float x[40 * 16] = {0};
    const char *p = st_path("forty.wav");
    CU_ASSERT_EQUAL_FATAL(write_file(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16,
                                     48000, 40, x, 16), 0);
    sl__source *s = (sl__source *)1;
    CU_ASSERT_EQUAL(sl__source_open_file(&s, p, st_why, sizeof st_why), SL_EFORMAT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_STRING_EQUAL(st_why, "too many channels (40; sluice plays at most 32)");
    /* The same limit for a player's source, which is closed once. */
    struct array_src a = {.x = x, .frames = 16, .ch = 40, .rate = 48000};
    CU_ASSERT_EQUAL(sl__source_open_vtable(&s, &array_vtable, &a, st_why,
                                           sizeof st_why), SL_EFORMAT);
    CU_ASSERT_STRING_EQUAL(st_why, "too many channels (40; sluice plays at most 32)");
    CU_ASSERT_EQUAL(a.closed, 1);
    /* 32 is fine. */
    a.ch = 32;
    a.closed = 0;
    CU_ASSERT_EQUAL_FATAL(sl__source_open_vtable(&s, &array_vtable, &a, st_why,
                                                 sizeof st_why), SL_OK);
    sl__source_close(s);
    CU_ASSERT_EQUAL(a.closed, 1);
}

/* Opens `path` and expects `err` with a reason starting with `reason`. */
static void expect_open_error(const char *path, int err, const char *reason)
{
    sl__source *s = (sl__source *)1;
    int got = sl__source_open_file(&s, path, st_why, sizeof st_why);
    if (got != err || strncmp(st_why, reason, strlen(reason)) != 0)
        fprintf(stderr, "\n%s: %s \"%s\", want %s \"%s...\"\n", path,
                sl_error_name(got), st_why, sl_error_name(err), reason);
    CU_ASSERT_EQUAL(got, err);
    CU_ASSERT(strncmp(st_why, reason, strlen(reason)) == 0);
    CU_ASSERT_PTR_NULL(s);
}


static void test_broken_files_fail_with_reasons(void)
{
    unsigned char junk[4096];
    unsigned lcg = 99;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)((lcg = lcg * 1103515245u + 12345u) >> 24);
    memcpy(junk, "RIFF\x00\x10\x00\x00WAVE", 12);
    write_bytes(st_path("junk.wav"), junk, sizeof junk);
    expect_open_error(st_path("junk.wav"), SL_EFORMAT, "malformed audio file: ");
    CU_ASSERT(strlen(st_why) > strlen("malformed audio file: "));
    write_bytes(st_path("empty.wav"), "", 0);
    expect_open_error(st_path("empty.wav"), SL_EFORMAT, "file is empty");
    expect_open_error(st_path("missing.wav"), SL_ENOTFOUND, strerror(ENOENT));
    expect_open_error(st_dir, SL_EIO, "is a directory");
    write_bytes(st_path("text.flac"), "hello, this is not audio\n", 25);
    expect_open_error(st_path("text.flac"), SL_EFORMAT,
                      "not a recognised audio format");
}

/* A FLAC file cut in half: opening works (the header is whole), reading
 * fails where the data stops, with the frame it stopped at. */
static void test_truncated_flac(void)
{
    const size_t frames = 100000;
    float *x = make_signal(frames, 2, 44100);
    const char *p = st_path("cut.flac");
    CU_ASSERT_EQUAL_FATAL(write_file(p, SF_FORMAT_FLAC | SF_FORMAT_PCM_16,
                                     44100, 2, x, frames), 0);
    FILE *f = fopen(p, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(truncate(p, size / 2), 0);
    sl__reader *r = open_reader(p, 44100, 2, SL_RESAMPLE_BEST);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    size_t n;
    int err;
    float *y = read_all(r, 2, &n, &err);
    printf("[cut FLAC: %zu frames, then %s \"%s\"] ", n, sl_error_name(err),
           sl__reader_why(r));
    CU_ASSERT_EQUAL(err, SL_EFORMAT);
    CU_ASSERT(n > frames / 4 && n < frames);
    CU_ASSERT(strncmp(sl__reader_why(r), "file is truncated", 17) == 0);
    /* What was decoded is right. */
    CU_ASSERT(memcmp(x, y, n * 2 * sizeof *y) == 0);
    sl__reader_destroy(r);
    free(x), free(y);
}

/* A player's source that fails after 3000 frames: the frames before the
 * failure arrive, then its error, with and without resampling. */
static void test_failing_source_error_reaches_reader(void)
{
    const size_t frames = 10000;
    float *x = make_signal(frames, 2, 44100);
    for (int resample = 0; resample <= 1; resample++) {
        struct array_src a = {.x = x, .frames = frames, .ch = 2,
                              .rate = 44100, .fail_at = 3000,
                              .fail_err = SL_EIO};
        sl__reader *r = array_reader(&a, resample ? 48000 : 44100, 2,
                                     SL_RESAMPLE_FAST);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        size_t n;
        int err;
        float *y = read_all(r, 2, &n, &err);
        CU_ASSERT_EQUAL(err, SL_EIO);
        CU_ASSERT_STRING_EQUAL(sl__reader_why(r),
                               "the source failed: input/output error");
        if (!resample) {
            CU_ASSERT_EQUAL(n, 3000);
            CU_ASSERT(memcmp(x, y, 3000 * 2 * sizeof *y) == 0);
        } else {
            /* What the resampler had made of the first 3000 frames,
             * minus its look-ahead. */
            CU_ASSERT(n > 2000 && n <= 3000 * 48000 / 44100 + 1);
        }
        sl__reader_destroy(r);
        free(y);
    }
    free(x);
}

/* A player's source that hands back more than asked is refused. */
static ptrdiff_t greedy_read(void *user, float *out, size_t frames)
{
    (void)user;
    memset(out, 0, frames * sizeof *out);
    return (ptrdiff_t)frames + 1;
}

static int greedy_format(void *user, sl_source_format *fmt)
{
    (void)user;
    fmt->rate = 48000;
    fmt->channels = 1;
    return SL_OK;
}

static const sl_source_vtable greedy_vtable = {
    .read = greedy_read,
    .format = greedy_format,
};

static void test_unusual_player_sources(void)
{
    sl__source *s;
    sl__reader *r;
    float buf[64];
    CU_ASSERT_EQUAL_FATAL(sl__source_open_vtable(&s, &greedy_vtable, NULL,
                                                 st_why, sizeof st_why), SL_OK);
    CU_ASSERT_EQUAL(sl__source_length(s), -1);
    CU_ASSERT_FALSE(sl__source_can_seek(s));
    CU_ASSERT_EQUAL_FATAL(sl__reader_create(&r, s, 48000, 1,
                                            SL_RESAMPLE_BEST, st_why,
                                            sizeof st_why), SL_OK);
    CU_ASSERT_EQUAL(sl__reader_length(r), -1);
    CU_ASSERT_EQUAL(sl__reader_seek(r, 0), SL_EUNSUPPORTED);
    CU_ASSERT_STRING_EQUAL(sl__reader_why(r), "the source cannot seek");
    CU_ASSERT_EQUAL(sl__reader_read(r, buf, 64), SL_EINVAL);
    CU_ASSERT_STRING_EQUAL(sl__reader_why(r),
                           "the source returned 65 frames when asked for 64");
    sl__reader_destroy(r);
    /* A vtable without read or format is refused (and not closed). */
    static const sl_source_vtable empty = {.read = NULL};
    CU_ASSERT_EQUAL(sl__source_open_vtable(&s, &empty, NULL, st_why, sizeof st_why),
                    SL_EINVAL);
}

static void test_nan_and_inf_never_reach_the_output(void)
{
    const size_t frames = 8000;
    float *x = make_signal(frames, 6, 44100);
    for (size_t i = 0; i < frames * 6; i += 97)
        x[i] = (i / 97) % 3 == 0 ? NAN : (i / 97) % 3 == 1 ? INFINITY
                                                          : -INFINITY;
    static const unsigned rates[] = {44100, 48000, 22050};
    static const unsigned chans[] = {6, 2};
    for (size_t ri = 0; ri < 3; ri++) {
        for (size_t ci = 0; ci < 2; ci++) {
            struct array_src a = {.x = x, .frames = frames, .ch = 6,
                                  .rate = 44100};
            sl__reader *r = array_reader(&a, rates[ri], chans[ci],
                                         SL_RESAMPLE_BEST);
            CU_ASSERT_PTR_NOT_NULL_FATAL(r);
            size_t n;
            int err;
            float *y = read_all(r, chans[ci], &n, &err);
            CU_ASSERT_EQUAL(err, SL_OK);
            size_t bad = 0;
            for (size_t i = 0; i < n * chans[ci]; i++)
                bad += !isfinite(y[i]);
            CU_ASSERT_EQUAL(bad, 0);
            if (ri == 0 && ci == 0) {
                /* Passthrough: bad samples are 0, the rest untouched. */
                CU_ASSERT_EQUAL(n, frames);
                for (size_t i = 0; i < n * 6; i++)
                    if (y[i] != (isfinite(x[i]) ? x[i] : 0.0f)) {
                        CU_FAIL("passthrough changed a finite sample");
                        break;
                    }
            }
            sl__reader_destroy(r);
            free(y);
        }
    }
    free(x);
}


static void test_memory_source_equals_file_source(void)
{
    const size_t frames = 30000;
    float *x = make_signal(frames, 2, 44100);
    static const char *names[] = {"mem.wav", "mem.flac", "mem.ogg"};
    static const int fmts[] = {SF_FORMAT_WAV | SF_FORMAT_PCM_24,
                               SF_FORMAT_FLAC | SF_FORMAT_PCM_16,
                               SF_FORMAT_OGG | SF_FORMAT_VORBIS};
    for (int k = 0; k < 3; k++) {
        const char *p = st_path(names[k]);
        CU_ASSERT_EQUAL_FATAL(write_file(p, fmts[k], 44100, 2, x, frames), 0);
        size_t size = 0, n1, n2;
        int e1, e2;
        unsigned char *bytes = slurp(p, &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
        sl__reader *rf = open_reader(p, 48000, 2, SL_RESAMPLE_MEDIUM);
        sl__source *s;
        sl__reader *rm;
        CU_ASSERT_EQUAL_FATAL(sl__source_open_memory(&s, bytes, size, st_why,
                                                     sizeof st_why), SL_OK);
        CU_ASSERT_EQUAL_FATAL(sl__reader_create(&rm, s, 48000, 2,
                                                SL_RESAMPLE_MEDIUM, st_why,
                                                sizeof st_why), SL_OK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rf);
        CU_ASSERT_EQUAL(sl__reader_seek(rm, 1000), SL_OK);
        CU_ASSERT_EQUAL(sl__reader_seek(rm, 0), SL_OK);
        float *a = read_all(rf, 2, &n1, &e1), *b = read_all(rm, 2, &n2, &e2);
        CU_ASSERT(e1 == SL_OK && e2 == SL_OK && n1 == n2 && n1 > 0);
        CU_ASSERT(n1 == n2 && memcmp(a, b, n1 * 2 * sizeof *a) == 0);
        sl__reader_destroy(rf);
        sl__reader_destroy(rm);
        free(a), free(b), free(bytes);
    }
    /* Broken and empty buffers fail like files. */
    sl__source *s = (sl__source *)1;
    CU_ASSERT_EQUAL(sl__source_open_memory(&s, "RIFF", 4, st_why, sizeof st_why),
                    SL_EFORMAT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(st_why[0] != '\0');
    CU_ASSERT_EQUAL(sl__source_open_memory(&s, "", 0, st_why, sizeof st_why),
                    SL_EFORMAT);
    CU_ASSERT_STRING_EQUAL(st_why, "file is empty");
    free(x);
}

static void test_impossible_conversions_are_refused(void)
{
    float x[16] = {0};
    struct array_src a = {.x = x, .frames = 16, .ch = 1, .rate = 1000};
    sl__source *s;
    sl__reader *r = (sl__reader *)1;
    /* 1000 Hz -> 384000 Hz is a ratio of 384. */
    CU_ASSERT_EQUAL_FATAL(sl__source_open_vtable(&s, &array_vtable, &a, st_why,
                                                 sizeof st_why), SL_OK);
    CU_ASSERT_EQUAL(sl__reader_create(&r, s, 384000, 2, SL_RESAMPLE_BEST,
                                      st_why, sizeof st_why), SL_EUNSUPPORTED);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_STRING_EQUAL(st_why, "cannot resample 1000 Hz to 384000 Hz: the "
                           "ratio is beyond libsamplerate's limit of 256 "
                           "either way");
    CU_ASSERT_EQUAL(a.closed, 1); /* ownership was taken */
    /* 1000 Hz -> 256000 Hz is exactly 256: allowed. */
    CU_ASSERT_EQUAL_FATAL(sl__source_open_vtable(&s, &array_vtable, &a, st_why,
                                                 sizeof st_why), SL_OK);
    CU_ASSERT_EQUAL(sl__reader_create(&r, s, 256000, 1, SL_RESAMPLE_LINEAR,
                                      st_why, sizeof st_why), SL_OK);
    sl__reader_destroy(r);
    /* Output rate 0, bad channel counts, unknown quality. */
    static const struct { unsigned rate, ch; int q; const char *reason; } bad[] = {
        {0, 2, SL_RESAMPLE_BEST, "output rate 0 Hz is outside 1000..1536000 Hz"},
        {48000, 0, SL_RESAMPLE_BEST, "output channel count 0 is outside 1..32"},
        {48000, 33, SL_RESAMPLE_BEST, "output channel count 33 is outside 1..32"},
        {48000, 2, 7, "unknown resampler quality 7"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(sl__source_open_vtable(&s, &array_vtable, &a,
                                                     st_why, sizeof st_why), SL_OK);
        CU_ASSERT_EQUAL(sl__reader_create(&r, s, bad[i].rate, bad[i].ch,
                                          (sl_resample_quality)bad[i].q, st_why,
                                          sizeof st_why), SL_EINVAL);
        CU_ASSERT_STRING_EQUAL(st_why, bad[i].reason);
    }
    /* A source at 0 Hz is refused when it is opened. */
    a.rate = 0;
    CU_ASSERT_EQUAL(sl__source_open_vtable(&s, &array_vtable, &a, st_why,
                                           sizeof st_why), SL_EFORMAT);
    CU_ASSERT_STRING_EQUAL(st_why, "sample rate 0 Hz is outside what sluice "
                           "plays (1000..1536000 Hz)");
    CU_ASSERT_EQUAL(sl__reader_create(NULL, NULL, 48000, 2, SL_RESAMPLE_BEST,
                                      st_why, sizeof st_why), SL_EINVAL);
}

/* A WAV whose data chunk is cut short is not an error: libsndfile trusts
 * the file's size over the chunk header, so the frames that are there
 * play and the length says so. (FLAC, whose header states the length,
 * fails instead: see the truncated FLAC test.) */
static void test_truncated_wav_plays_what_is_there(void)
{
    const size_t frames = 10000;
    float *x = make_signal(frames, 2, 44100);
    const char *p = st_path("cut.wav");
    CU_ASSERT_EQUAL_FATAL(write_file(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16,
                                     44100, 2, x, frames), 0);
    /* 44-byte header, 4 bytes a frame: keep 6000 frames and a half. */
    CU_ASSERT_EQUAL_FATAL(truncate(p, 44 + 6000 * 4 + 2), 0);
    sl__reader *r = open_reader(p, 44100, 2, SL_RESAMPLE_BEST);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(sl__reader_length(r), 6000);
    size_t n;
    int err;
    float *y = read_all(r, 2, &n, &err);
    CU_ASSERT_EQUAL(err, SL_OK);
    CU_ASSERT_EQUAL(n, 6000);
    CU_ASSERT(memcmp(x, y, n * 2 * sizeof *y) == 0);
    sl__reader_destroy(r);
    free(x), free(y);
}

static CU_TestInfo tests[] = {
    {"decode parity with libsndfile, 16-bit WAV",
     test_decode_parity_16bit_wav},
    {"every writable format round-trips",
     test_every_writable_format_round_trips},
    {"44.1 -> 48 kHz keeps frequency and length",
     test_resample_keeps_frequency_and_length},
    {"seek is sample-accurate on WAV and FLAC", test_seek_is_sample_accurate},
    {"MP3 seek, measured", test_mp3_seek_measured},
    {"channel mapping coefficients", test_channel_mapping_coefficients},
    {"too many channels", test_too_many_channels},
    {"broken files fail with reasons", test_broken_files_fail_with_reasons},
    {"truncated FLAC", test_truncated_flac},
    {"truncated WAV plays what is there",
     test_truncated_wav_plays_what_is_there},
    {"a failing source's error reaches the reader",
     test_failing_source_error_reaches_reader},
    {"unusual player sources", test_unusual_player_sources},
    {"NaN and Inf never reach the output",
     test_nan_and_inf_never_reach_the_output},
    {"memory source equals file source",
     test_memory_source_equals_file_source},
    {"impossible conversions are refused",
     test_impossible_conversions_are_refused},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_source = {
    .info = {.pName = "source", .pInitFunc = st_suite_init,
             .pCleanupFunc = st_suite_cleanup, .pTests = tests},
};
