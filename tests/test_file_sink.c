/*
 * test_file_sink.c: the offline render's output file. Every extension
 * round-trips a signal through libsndfile; bad formats and paths fail
 * before anything is created; abort, write errors (RLIMIT_FSIZE in a
 * forked child) and concurrent sinks never leave a partial file or
 * damage an existing one. Every test works in its own mkdtemp directory
 * and removes it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sndfile.h>

#include <sluice/error.h>
#include "file_sink.h"
#include "suites.h"

#define RATE 48000
#define CH 2
#define FRAMES 24000 /* 0.5 s */
#define WHY 512

static const double freq[CH] = {440.0, 1000.0};
static const double amp[CH] = {0.5, 0.25};

static float signal_buf[FRAMES * CH];

static void make_signal(void)
{
    for (size_t i = 0; i < FRAMES; i++)
        for (int c = 0; c < CH; c++)
            signal_buf[i * CH + c] =
                (float)(amp[c] * sin(2 * M_PI * freq[c] * (double)i / RATE));
}

/* ------------------------------------------------------------ dirs */

static void fresh_dir(char dir[64])
{
    snprintf(dir, 64, "/tmp/sl-file-sink-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

/* Entries in `dir` other than . and ..; the first one's name in `first`
 * (when not NULL). */
static int count_entries(const char *dir, char *first, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n++ == 0 && first != NULL)
            snprintf(first, len, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

/* Removes every plain file (and empty directory) in `dir`, then `dir`. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            rmdir(p);
    }
    closedir(d);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static void write_bytes(const char *path, const char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static int same_bytes(const char *path, const char *bytes, size_t n)
{
    char buf[4096];
    FILE *f = fopen(path, "rb");
    size_t got;

    if (f == NULL || n > sizeof buf)
        return f != NULL ? (fclose(f), 0) : 0;
    got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return got == n && memcmp(buf, bytes, n) == 0;
}

/* Writes the signal in uneven blocks and commits. */
static int render(const char *path, const sl__file_sink_options *opt,
                  char *why)
{
    sl__file_sink *sink;
    int err = sl__file_sink_open(&sink, path, RATE, CH, opt, why, WHY);

    if (err != SL_OK)
        return err;
    for (size_t at = 0; at < FRAMES; at += 1000) {
        size_t n = FRAMES - at < 1000 ? FRAMES - at : 1000;
        err = sl__file_sink_write(sink, signal_buf + at * CH, n);
        if (err != SL_OK) {
            sl__file_sink_abort(sink);
            return err;
        }
    }
    if (sl__file_sink_frames(sink) != FRAMES) {
        sl__file_sink_abort(sink);
        return SL_ESTATE;
    }
    return sl__file_sink_commit(sink, why, WHY);
}

/* ------------------------------------------------------------ round trip */

/* The amplitude of the `f` Hz component of channel `c` over `n` frames
 * from `start`: a projection on sine and cosine. The window holds whole
 * periods of both test tones. */
static double tone_amplitude(const float *x, size_t start, size_t n, int c,
                             double f)
{
    double s = 0, k = 0;

    for (size_t i = start; i < start + n; i++) {
        double ph = 2 * M_PI * f * (double)i / RATE;
        s += x[i * CH + c] * sin(ph);
        k += x[i * CH + c] * cos(ph);
    }
    return 2.0 * sqrt(s * s + k * k) / (double)n;
}

static float *read_back(const char *path, sf_count_t *frames)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    float *buf;

    CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
    CU_ASSERT_EQUAL(info.channels, CH);
    CU_ASSERT_EQUAL(info.samplerate, RATE);
    buf = calloc((size_t)(info.frames + 1) * CH, sizeof *buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    *frames = sf_readf_float(sf, buf, info.frames);
    CU_ASSERT_EQUAL(*frames, info.frames);
    sf_close(sf);
    return buf;
}

/* Lossless: the same number of frames and every sample within `tol`
 * (0: bit-exact). */
static void check_lossless(const float *got, sf_count_t frames, double tol)
{
    double worst = 0;

    CU_ASSERT_EQUAL(frames, FRAMES);
    for (sf_count_t i = 0; i < frames * CH && i < FRAMES * CH; i++)
        worst = fmax(worst, fabs((double)got[i] - signal_buf[i]));
    CU_ASSERT(worst <= tol);
    if (worst > tol)
        fprintf(stderr, "worst error %g > %g\n", worst, tol);
}

/* Lossy: the codec may shift and pad, so compare tones, not samples:
 * each channel's tone within 10% of its amplitude, the other channel's
 * tone below 0.01 (a swap or a mix fails), over 0.4 s starting 50 ms
 * in. */
static void check_lossy(const float *got, sf_count_t frames)
{
    const size_t start = 2400, n = 19200;

    CU_ASSERT_FATAL(frames >= (sf_count_t)(start + n));
    CU_ASSERT(frames <= FRAMES + 4096);
    for (int c = 0; c < CH; c++) {
        double own = tone_amplitude(got, start, n, c, freq[c]);
        double other = tone_amplitude(got, start, n, c, freq[1 - c]);
        CU_ASSERT(fabs(own - amp[c]) <= 0.1 * amp[c]);
        CU_ASSERT(other < 0.01);
        if (fabs(own - amp[c]) > 0.1 * amp[c] || other >= 0.01)
            fprintf(stderr, "channel %d: tone %g (want %g), other %g\n", c,
                    own, amp[c], other);
    }
}

typedef enum { EXACT, PCM16, PCM24, LOSSY } tolerance;

static void round_trip(const char *name, sl__sample_format sample,
                       tolerance tol)
{
    char dir[64], path[128], why[WHY];
    sl__file_sink_options opt;
    sf_count_t frames;
    float *got;

    sl__file_sink_options_default(&opt);
    opt.sample = sample;
    fresh_dir(dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CU_ASSERT_EQUAL_FATAL(render(path, &opt, why), SL_OK);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    got = read_back(path, &frames);
    /* 1.5 steps: the quantization plus libsndfile's asymmetric scaling
     * (it writes x * 0x7FFF and reads back / 0x8000). */
    if (tol == EXACT)
        check_lossless(got, frames, 0.0);
    else if (tol == PCM16)
        check_lossless(got, frames, 1.5 / 32768.0);
    else if (tol == PCM24)
        check_lossless(got, frames, 1.5 / 8388608.0);
    else
        check_lossy(got, frames);
    free(got);
    remove_dir(dir);
}

static void test_float_containers_are_exact(void)
{
    static const char *const names[] = {"out.wav", "OUT.WAV", "out.aiff",
                                        "out.aif", "out.caf", "out.w64",
                                        "out.rf64", "out.au"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        round_trip(names[i], SL__SAMPLE_DEFAULT, EXACT);
    round_trip("out.wav", SL__SAMPLE_FLOAT, EXACT);
}

static void test_pcm_within_quantization(void)
{
    round_trip("out.flac", SL__SAMPLE_DEFAULT, PCM24);
    round_trip("out.FLAC", SL__SAMPLE_PCM16, PCM16);
    round_trip("out.wav", SL__SAMPLE_PCM16, PCM16);
    round_trip("out.wav", SL__SAMPLE_PCM24, PCM24);
    round_trip("out.aiff", SL__SAMPLE_PCM16, PCM16);
    round_trip("out.caf", SL__SAMPLE_PCM24, PCM24);
    round_trip("out.au", SL__SAMPLE_PCM16, PCM16);
}

static void test_lossy_formats_keep_the_tones(void)
{
    round_trip("out.ogg", SL__SAMPLE_DEFAULT, LOSSY);
    round_trip("out.oga", SL__SAMPLE_DEFAULT, LOSSY);
    round_trip("out.opus", SL__SAMPLE_DEFAULT, LOSSY);
}

static void test_mp3_when_libsndfile_writes_it(void)
{
    SF_INFO info = {.samplerate = RATE, .channels = CH,
                    .format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
    if (sf_format_check(&info)) {
        round_trip("out.mp3", SL__SAMPLE_DEFAULT, LOSSY);
        return;
    }
    /* This libsndfile cannot write MPEG: mp3 must then be refused. */
    char dir[64], path[128], why[WHY];
    fresh_dir(dir);
    snprintf(path, sizeof path, "%s/out.mp3", dir);
    CU_ASSERT_EQUAL(render(path, NULL, why), SL_EFORMAT);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 0);
    remove_dir(dir);
}

/* ------------------------------------------------------------ refusals */

static void expect_refusal(const char *dir, const char *name, unsigned rate,
                           unsigned ch, sl__sample_format sample, int want,
                           const char *needle)
{
    char path[128], why[WHY];
    sl__file_sink_options opt;
    sl__file_sink *sink = (sl__file_sink *)1;

    sl__file_sink_options_default(&opt);
    opt.sample = sample;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CU_ASSERT_EQUAL(sl__file_sink_open(&sink, path, rate, ch, &opt, why, WHY),
                    want);
    CU_ASSERT_PTR_NULL(sink);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, needle));
    if (want != SL_EINVAL)
        CU_ASSERT_PTR_NOT_NULL(strstr(why, path));
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 0);
}

static void test_bad_formats_fail_before_creating_anything(void)
{
    char dir[64];

    fresh_dir(dir);
    expect_refusal(dir, "out.xyz", RATE, 2, SL__SAMPLE_DEFAULT, SL_EFORMAT,
                   "known: wav, aiff");
    expect_refusal(dir, "noextension", RATE, 2, SL__SAMPLE_DEFAULT,
                   SL_EFORMAT, "unknown file extension");
    expect_refusal(dir, "out.opus", 44100, 2, SL__SAMPLE_DEFAULT, SL_EFORMAT,
                   "44100 Hz");
    expect_refusal(dir, "out.mp3", 96000, 2, SL__SAMPLE_DEFAULT, SL_EFORMAT,
                   "96000 Hz");
    expect_refusal(dir, "out.flac", 700000, 2, SL__SAMPLE_DEFAULT,
                   SL_EFORMAT, "700000 Hz");
    expect_refusal(dir, "out.flac", RATE, 9, SL__SAMPLE_DEFAULT, SL_EFORMAT,
                   "9 channels");
    expect_refusal(dir, "out.wav", RATE, 5000, SL__SAMPLE_DEFAULT,
                   SL_EFORMAT, "5000 channels");
    expect_refusal(dir, "out.flac", RATE, 2, SL__SAMPLE_FLOAT, SL_EFORMAT,
                   "no float");
    expect_refusal(dir, "out.ogg", RATE, 2, SL__SAMPLE_PCM16, SL_EFORMAT,
                   "lossy");
    expect_refusal(dir, "out.wav", 0, 2, SL__SAMPLE_DEFAULT, SL_EINVAL,
                   "rate");
    expect_refusal(dir, "out.wav", RATE, 0, SL__SAMPLE_DEFAULT, SL_EINVAL,
                   "channel");
    remove_dir(dir);
}

static void test_bad_paths_fail_with_the_reason(void)
{
    char dir[64], plain[128];

    char path[160], why[WHY];
    sl__file_sink *sink;

    fresh_dir(dir);
    expect_refusal(dir, "missing/out.wav", RATE, 2, SL__SAMPLE_DEFAULT,
                   SL_EIO, "no such file or directory");
    snprintf(plain, sizeof plain, "%s/plain", dir);
    write_bytes(plain, "x", 1);
    snprintf(path, sizeof path, "%s/out.wav", plain);
    CU_ASSERT_EQUAL(sl__file_sink_open(&sink, path, RATE, 2, NULL, why, WHY),
                    SL_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "not a directory"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, path));
    CU_ASSERT_EQUAL(unlink(plain), 0);
    snprintf(path, sizeof path, "%s/sub.wav", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    CU_ASSERT_EQUAL(sl__file_sink_open(&sink, path, RATE, 2, NULL, why, WHY),
                    SL_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "is a directory"));
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1); /* sub.wav only */
    remove_dir(dir);
}

/* ------------------------------------------------------------ atomicity */

static const char old_bytes[] = "the file that was here before";

static void test_abort_leaves_no_trace(void)
{
    char dir[64], path[128], why[WHY], name[256];
    sl__file_sink *sink;

    fresh_dir(dir);
    snprintf(path, sizeof path, "%s/out.wav", dir);
    write_bytes(path, old_bytes, sizeof old_bytes);
    CU_ASSERT_EQUAL_FATAL(
        sl__file_sink_open(&sink, path, RATE, CH, NULL, why, WHY), SL_OK);
    CU_ASSERT_EQUAL(sl__file_sink_write(sink, signal_buf, FRAMES), SL_OK);
    /* The target and one temporary file named .out.wav.XXXXXX.part. */
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 2);
    unlink(path);
    CU_ASSERT_EQUAL(count_entries(dir, name, sizeof name), 1);
    CU_ASSERT_EQUAL(strncmp(name, ".out.wav.", 9), 0);
    CU_ASSERT_EQUAL(strlen(name), strlen(".out.wav.XXXXXX.part"));
    CU_ASSERT_STRING_EQUAL(name + strlen(name) - 5, ".part");
    write_bytes(path, old_bytes, sizeof old_bytes);
    sl__file_sink_abort(sink);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    CU_ASSERT(same_bytes(path, old_bytes, sizeof old_bytes));
    remove_dir(dir);
}

static void test_commit_replaces_an_existing_file(void)
{
    char dir[64], path[128], why[WHY];
    sl__file_sink *sink;
    struct stat before, after;
    sf_count_t frames;

    fresh_dir(dir);
    snprintf(path, sizeof path, "%s/out.caf", dir);
    write_bytes(path, old_bytes, sizeof old_bytes);
    CU_ASSERT_EQUAL_FATAL(stat(path, &before), 0);
    CU_ASSERT_EQUAL_FATAL(
        sl__file_sink_open(&sink, path, RATE, CH, NULL, why, WHY), SL_OK);
    CU_ASSERT_EQUAL(sl__file_sink_write(sink, signal_buf, FRAMES), SL_OK);
    CU_ASSERT(same_bytes(path, old_bytes, sizeof old_bytes));
    CU_ASSERT_EQUAL(sl__file_sink_commit(sink, why, WHY), SL_OK);
    CU_ASSERT_STRING_EQUAL(why, "");
    /* Renamed over, not rewritten in place. */
    CU_ASSERT_EQUAL_FATAL(stat(path, &after), 0);
    CU_ASSERT_NOT_EQUAL(before.st_ino, after.st_ino);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    float *got = read_back(path, &frames);
    check_lossless(got, frames, 0.0);
    free(got);
    remove_dir(dir);
}

#define SINKS 20

static void test_temporary_names_never_collide(void)
{
    char dir[64], path[128], why[WHY];
    sl__file_sink *sinks[SINKS];
    sf_count_t frames;

    fresh_dir(dir);
    snprintf(path, sizeof path, "%s/out.wav", dir);
    for (int i = 0; i < SINKS; i++)
        CU_ASSERT_EQUAL_FATAL(
            sl__file_sink_open(&sinks[i], path, RATE, CH, NULL, why, WHY),
            SL_OK);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), SINKS);
    /* Sink i writes i + 1 frames; the last to commit wins. */
    for (int i = 0; i < SINKS; i++)
        CU_ASSERT_EQUAL(sl__file_sink_write(sinks[i], signal_buf,
                                            (size_t)i + 1), SL_OK);
    for (int i = 0; i < SINKS; i++)
        CU_ASSERT_EQUAL(sl__file_sink_commit(sinks[i], why, WHY), SL_OK);
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    free(read_back(path, &frames));
    CU_ASSERT_EQUAL(frames, SINKS);
    remove_dir(dir);
}

/* In a child with SIGXFSZ ignored and RLIMIT_FSIZE at 16 KiB, renders
 * up to 20 s to `path` (even a sine in Vorbis outgrows the limit). Exits 0 when the render failed with SL_EIO and a reason
 * naming the file and saying "file too large", else a code saying what
 * went wrong. */
static void child_render_past_limit(const char *path)
{
    struct rlimit lim = {16384, 16384};
    char why[WHY];
    sl__file_sink *sink;
    int err = SL_OK;

    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        _exit(10);
    if (sl__file_sink_open(&sink, path, RATE, CH, NULL, why, WHY) != SL_OK)
        _exit(11);
    for (int i = 0; i < 40 && err == SL_OK; i++)
        err = sl__file_sink_write(sink, signal_buf, FRAMES);
    if (err != SL_OK && err != SL_EIO)
        _exit(12);
    if (err == SL_EIO && (strstr(sl__file_sink_error(sink), path) == NULL ||
                          !strstr(sl__file_sink_error(sink), "file too large")))
        _exit(13);
    /* A codec may buffer: then the error shows at commit. */
    if (sl__file_sink_commit(sink, why, WHY) != SL_EIO)
        _exit(14);
    if (strstr(why, path) == NULL || strstr(why, "file too large") == NULL)
        _exit(15);
    _exit(0);
}

static void file_too_large(const char *name)
{
    char dir[64], path[128];
    int status;

    fresh_dir(dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_bytes(path, old_bytes, sizeof old_bytes);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        child_render_past_limit(path);
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "%s: child status %#x\n", name, status);
    /* No temporary file left, the old file untouched. */
    CU_ASSERT_EQUAL(count_entries(dir, NULL, 0), 1);
    CU_ASSERT(same_bytes(path, old_bytes, sizeof old_bytes));
    remove_dir(dir);
}

static void test_write_error_leaves_the_old_file(void)
{
    file_too_large("out.wav");
    file_too_large("out.flac");
    file_too_large("out.ogg");
}

static int suite_init(void)
{
    make_signal();
    return 0;
}

static CU_TestInfo tests[] = {
    {"float containers round-trip bit-exact", test_float_containers_are_exact},
    {"PCM round-trips within quantization", test_pcm_within_quantization},
    {"lossy formats keep the tones", test_lossy_formats_keep_the_tones},
    {"mp3 where libsndfile writes it", test_mp3_when_libsndfile_writes_it},
    {"bad formats fail before creating anything",
     test_bad_formats_fail_before_creating_anything},
    {"bad paths fail with the reason", test_bad_paths_fail_with_the_reason},
    {"abort leaves no trace", test_abort_leaves_no_trace},
    {"commit replaces an existing file", test_commit_replaces_an_existing_file},
    {"temporary names never collide", test_temporary_names_never_collide},
    {"write error (file too large) leaves the old file",
     test_write_error_leaves_the_old_file},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_file_sink = {
    .info = {.pName = "file_sink", .pInitFunc = suite_init, .pTests = tests},
};
