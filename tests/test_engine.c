/*
 * test_engine.c: the engine and its tracks, through the public API.
 *
 * Most tests render: an engine without an output (SL_OUTPUT_NONE) renders
 * the tracks into a float WAV file in the suite's directory, which is read
 * back with libsndfile and compared with what the inputs and the API
 * promise, sample by sample. Render runs the very master code playback
 * runs, so it is the oracle for the playback tests at the end, which play
 * through the null sink in real time.
 *
 * A few tests look at blocks as they are mixed, to check what happens
 * between blocks (seeks, pauses, loops): they drive the master directly
 * through the internal calls render itself uses (engine_priv.h).
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <sndfile.h>

#include <sluice/sluice.h>
#include "engine_priv.h"
#include "source_fixture.h"
#include "suites.h"

static char why[256];

/* An offline engine at `rate` Hz, stereo, with the given block. */
static sl_engine *offline(unsigned rate, unsigned block)
{
    sl_engine_config c;
    sl_engine *e = NULL;

    sl_engine_config_default(&c);
    c.output = SL_OUTPUT_NONE;
    c.rate = rate;
    c.block_frames = block;
    c.position_interval_ms = 0;
    CU_ASSERT_EQUAL_FATAL(sl_engine_create(&e, &c, why, sizeof why), SL_OK);
    return e;
}

/* A stereo ramp: left = (start + i) / scale, right = 0.5. Every sample
 * is exact in float, so the frame number can be read back from it. */
static float *ramp(size_t frames, size_t start, double scale)
{
    float *x = malloc(frames * 2 * sizeof *x);
    for (size_t i = 0; i < frames; i++) {
        x[2 * i] = (float)((double)(start + i) / scale);
        x[2 * i + 1] = 0.5f;
    }
    return x;
}

static sl_track_id open_file(sl_engine *e, const char *path)
{
    sl_track_id id = 0;
    int err = sl_track_open_file(e, path, &id, why, sizeof why);
    if (err != SL_OK)
        fprintf(stderr, "open %s: %s\n", path, why);
    CU_ASSERT_EQUAL(err, SL_OK);
    return id;
}

/* Renders to `name` in the suite directory and reads the result back. */
static float *render(sl_engine *e, const char *name, size_t *frames)
{
    const char *path = st_path(name);
    unsigned ch = 0;
    int err = sl_engine_render(e, path, NULL, why, sizeof why);

    if (err != SL_OK)
        fprintf(stderr, "render: %s\n", why);
    CU_ASSERT_EQUAL_FATAL(err, SL_OK);
    float *y = read_with_sndfile(path, frames, &ch);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_EQUAL(ch, 2);
    return y;
}

static void write_wav(const char *name, const float *x, size_t frames,
                      unsigned rate, unsigned ch)
{
    CU_ASSERT_EQUAL_FATAL(write_file(st_path(name),
                                     SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate,
                                     ch, x, frames),
                          0);
}

/* ------------------------------------------------------------ render */

static void test_render_identity(void)
{
    size_t n = 48000 + 77, got = 0;
    float *x = make_signal(n, 2, 48000), *y;
    sl_engine *e = offline(48000, 256);
    sl_track_id id;

    write_wav("id.wav", x, n, 48000, 2);
    id = open_file(e, st_path("id.wav"));
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    y = render(e, "id-out.wav", &got);
    CU_ASSERT_EQUAL(got, n);
    CU_ASSERT_EQUAL(memcmp(x, y, (got < n ? got : n) * 2 * sizeof *x), 0);
    sl_track_state st;
    CU_ASSERT_EQUAL(sl_track_get_state(e, id, &st), SL_OK);
    CU_ASSERT_EQUAL(st, SL_TRACK_ENDED);
    free(x);
    free(y);
    sl_engine_destroy(e);
}

/* Three files, lengths not multiples of the block, queued gaplessly: the
 * output is their concatenation, frame for frame. */
static void test_gapless(void)
{
    size_t len[3] = {1000, 4097, 333}, total = 0, got = 0;
    sl_engine *e = offline(48000, 256);
    sl_track_id id[3];
    char name[32];

    for (int k = 0; k < 3; k++) {
        float *x = ramp(len[k], total, 65536.0);
        snprintf(name, sizeof name, "gap%d.wav", k);
        write_wav(name, x, len[k], 48000, 2);
        free(x);
        id[k] = open_file(e, st_path(name));
        total += len[k];
    }
    CU_ASSERT_EQUAL(sl_track_queue(e, id[0], id[1], 0), SL_OK);
    CU_ASSERT_EQUAL(sl_track_queue(e, id[1], id[2], 0), SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, id[0]), SL_OK);
    float *y = render(e, "gap-out.wav", &got), *want = ramp(total, 0, 65536.0);
    CU_ASSERT_EQUAL(got, total);
    size_t bad = 0;
    for (size_t i = 0; i < 2 * (got < total ? got : total); i++)
        bad += y[i] != want[i];
    CU_ASSERT_EQUAL(bad, 0);
    free(y);
    free(want);
    sl_engine_destroy(e);
}

/* A crossfade of X frames between two constant tracks: the overlap
 * follows the equal-power curve and the length shrinks by X. */
static void test_crossfade(void)
{
    size_t na = 3000, nb = 2000, x = 480, got = 0; /* 10 ms at 48 kHz */
    float *a = malloc(na * 2 * sizeof *a), *b = malloc(nb * 2 * sizeof *b);
    sl_engine *e = offline(48000, 256);

    for (size_t i = 0; i < 2 * na; i++)
        a[i] = 0.5f;
    for (size_t i = 0; i < 2 * nb; i++)
        b[i] = 0.25f;
    write_wav("xa.wav", a, na, 48000, 2);
    write_wav("xb.wav", b, nb, 48000, 2);
    sl_track_id ia = open_file(e, st_path("xa.wav"));
    sl_track_id ib = open_file(e, st_path("xb.wav"));
    CU_ASSERT_EQUAL(sl_track_queue(e, ia, ib, 10.0), SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, ia), SL_OK);
    float *y = render(e, "x-out.wav", &got);
    CU_ASSERT_EQUAL(got, na + nb - x);
    double worst = 0;
    for (size_t i = 0; i < got && got == na + nb - x; i++) {
        double want;
        if (i < na - x) {
            want = 0.5;
        } else if (i < na) {
            double t = (double)(i - (na - x)) / (double)x;
            want = 0.5 * cos(t * M_PI / 2) + 0.25 * sin(t * M_PI / 2);
        } else {
            want = 0.25;
        }
        double d = fabs(y[2 * i] - want);
        if (d > worst)
            worst = d;
    }
    CU_ASSERT(worst < 1e-6);
    free(a);
    free(b);
    free(y);
    sl_engine_destroy(e);
}

/* Gain in dB and pan, set before playing: exact from the first frame. */
static void test_gain_pan(void)
{
    size_t n = 1000, got = 0;
    float *x = ramp(n, 0, 4096.0);
    sl_engine *e = offline(48000, 128);

    write_wav("gp.wav", x, n, 48000, 2);
    sl_track_id id = open_file(e, st_path("gp.wav"));
    CU_ASSERT_EQUAL(sl_track_set_gain_db(e, id, 20.0 * log10(0.5)), SL_OK);
    CU_ASSERT_EQUAL(sl_track_set_pan(e, id, -1.0), SL_OK);
    CU_ASSERT_EQUAL(sl_track_set_pan(e, id, 1.5), SL_ERANGE);
    CU_ASSERT_EQUAL(sl_track_set_gain_db(e, id, 30.0), SL_ERANGE);
    CU_ASSERT_EQUAL(sl_track_set_gain_db(e, id, NAN), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    float *y = render(e, "gp-out.wav", &got);
    CU_ASSERT_EQUAL(got, n);
    double worst = 0;
    for (size_t i = 0; i < got; i++) {
        /* hard left: left x sqrt(2), right silent */
        double dl = fabs(y[2 * i] - x[2 * i] * 0.5 * sqrt(2.0));
        double dr = fabs(y[2 * i + 1]);
        if (dl > worst)
            worst = dl;
        if (dr > worst)
            worst = dr;
    }
    CU_ASSERT(worst < 1e-6);
    free(x);
    free(y);
    sl_engine_destroy(e);
}

/* Seek before playing, and an end point: exactly that range is heard. */
static void test_seek_and_end(void)
{
    size_t n = 10000, got = 0;
    float *x = ramp(n, 0, 16384.0);
    sl_engine *e = offline(48000, 256);

    write_wav("se.wav", x, n, 48000, 2);
    sl_track_id id = open_file(e, st_path("se.wav"));
    CU_ASSERT_EQUAL(sl_track_seek(e, id, 1234), SL_OK);
    CU_ASSERT_EQUAL(sl_track_set_end(e, id, 5678), SL_OK);
    CU_ASSERT_EQUAL(sl_track_seek(e, id, (int64_t)n + 1), SL_ERANGE);
    CU_ASSERT_EQUAL(sl_track_seek(e, id, -1), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    float *y = render(e, "se-out.wav", &got);
    CU_ASSERT_EQUAL(got, 5678 - 1234);
    CU_ASSERT_EQUAL(memcmp(y, x + 2 * 1234,
                           (got < 4444 ? got : 4444) * 2 * sizeof *y), 0);
    int64_t pos = -1;
    CU_ASSERT_EQUAL(sl_track_get_position(e, id, &pos), SL_OK);
    CU_ASSERT_EQUAL(pos, 5678);
    free(x);
    free(y);
    sl_engine_destroy(e);
}

/* A mono 44.1 kHz file into a 48 kHz stereo engine: the length scales,
 * both channels carry the same signal, and a 997 Hz tone keeps its
 * frequency. */
static void test_resample_and_upmix(void)
{
    size_t n = 44100, got = 0;
    float *x = malloc(n * sizeof *x);
    sl_engine *e = offline(48000, 256);

    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * sin(2 * M_PI * 997.0 * (double)i / 44100.0));
    write_wav("rs.wav", x, n, 44100, 1);
    sl_track_id id = open_file(e, st_path("rs.wav"));
    sl_source_format f;
    CU_ASSERT_EQUAL(sl_track_get_format(e, id, &f), SL_OK);
    CU_ASSERT_EQUAL(f.rate, 44100);
    CU_ASSERT_EQUAL(f.channels, 1);
    int64_t len = 0;
    CU_ASSERT_EQUAL(sl_track_get_length(e, id, &len), SL_OK);
    CU_ASSERT_EQUAL(len, 48000);
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    float *y = render(e, "rs-out.wav", &got);
    CU_ASSERT_EQUAL(got, 48000);
    size_t differ = 0, ups = 0, first = 0, last = 0;
    for (size_t i = 0; i < got; i++)
        differ += y[2 * i] != y[2 * i + 1];
    CU_ASSERT_EQUAL(differ, 0);
    /* upward zero crossings away from the edges give the frequency */
    for (size_t i = 2000; i + 1 < got - 2000; i++)
        if (y[2 * i] < 0 && y[2 * i + 2] >= 0) {
            if (ups == 0)
                first = i;
            last = i;
            ups++;
        }
    double hz = (double)(ups - 1) * 48000.0 / (double)(last - first);
    CU_ASSERT(fabs(hz - 997.0) < 0.5);
    free(x);
    free(y);
    sl_engine_destroy(e);
}

/* A player's source that fails midway ends its track with TRACK_FAILED
 * and the reason; the other track plays to its end untouched. */
static void test_failing_source_isolated(void)
{
    size_t n = 9600, got = 0;
    float *good = ramp(n, 0, 16384.0), *bad = ramp(n, 0, 16384.0);
    struct array_src src = {.x = bad, .frames = n, .fail_at = 3000,
                            .ch = 2, .rate = 48000, .fail_err = SL_EIO};
    sl_engine *e = offline(48000, 256);
    sl_track_id ig, ib;

    write_wav("iso.wav", good, n, 48000, 2);
    ig = open_file(e, st_path("iso.wav"));
    CU_ASSERT_EQUAL_FATAL(sl_track_open_source(e, &array_vtable, &src, &ib,
                                               why, sizeof why),
                          SL_OK);
    CU_ASSERT_EQUAL(sl_track_set_gain_db(e, ib, -120.0), SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, ig), SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, ib), SL_OK);
    float *y = render(e, "iso-out.wav", &got);
    CU_ASSERT_EQUAL(got, n);
    CU_ASSERT_EQUAL(memcmp(y, good, (got < n ? got : n) * 2 * sizeof *y), 0);
    sl_track_state st;
    CU_ASSERT_EQUAL(sl_track_get_state(e, ib, &st), SL_OK);
    CU_ASSERT_EQUAL(st, SL_TRACK_FAILED);
    sl_event ev;
    int failed = 0, ended = 0;
    while (sl_engine_poll_event(e, &ev) == SL_OK) {
        if (ev.type == SL_EVENT_TRACK_FAILED && ev.track == ib) {
            failed++;
            CU_ASSERT_EQUAL(ev.error, SL_EIO);
            CU_ASSERT(ev.frame >= 2900 && ev.frame <= 3000);
        }
        if (ev.type == SL_EVENT_TRACK_ENDED && ev.track == ig) {
            ended++;
            CU_ASSERT_EQUAL(ev.frame, (int64_t)n);
        }
    }
    CU_ASSERT_EQUAL(failed, 1);
    CU_ASSERT_EQUAL(ended, 1);
    free(good);
    free(bad);
    sl_engine_destroy(e);
    CU_ASSERT_EQUAL(src.closed, 1);
}

/* Every failure leaves no file, and an existing target survives. */
static void test_render_errors(void)
{
    size_t n = 2000;
    float *x = ramp(n, 0, 4096.0);
    sl_engine *e = offline(48000, 256);
    struct stat sb;

    write_wav("re.wav", x, n, 48000, 2);
    /* nothing playing */
    CU_ASSERT_EQUAL(sl_engine_render(e, st_path("re-none.wav"), NULL, why,
                                     sizeof why),
                    SL_ESTATE);
    CU_ASSERT_NOT_EQUAL(stat(st_path("re-none.wav"), &sb), 0);
    sl_track_id id = open_file(e, st_path("re.wav"));
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    /* unknown extension, missing directory */
    CU_ASSERT_EQUAL(sl_engine_render(e, st_path("re.xyz"), NULL, why,
                                     sizeof why),
                    SL_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "re.xyz"));
    CU_ASSERT_EQUAL(sl_engine_render(e, st_path("no/such/dir.wav"), NULL, why,
                                     sizeof why),
                    SL_EIO);
    free(x);
    sl_engine_destroy(e);
}

static int cancel_at_once(uint64_t frames, int64_t total, void *user)
{
    (void)frames;
    (void)total;
    (*(int *)user)++;
    return 1;
}

static void test_render_cancel_keeps_old_file(void)
{
    size_t n = 48000;
    float *x = ramp(n, 0, 65536.0);
    sl_engine *e = offline(48000, 256);
    sl_render_options o;
    int calls = 0;
    char target[128];

    snprintf(target, sizeof target, "%s", st_path("keep.wav"));

    write_wav("kin.wav", x, n, 48000, 2);
    write_bytes(target, "precious", 8);
    sl_track_id id = open_file(e, st_path("kin.wav"));
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    sl_render_options_default(&o);
    o.progress = cancel_at_once;
    o.progress_user = &calls;
    o.progress_every = 4800;
    CU_ASSERT_EQUAL(sl_engine_render(e, target, &o, why, sizeof why),
                    SL_ECANCELED);
    CU_ASSERT_EQUAL(calls, 1);
    size_t size = 0;
    unsigned char *b = slurp(target, &size);
    CU_ASSERT_EQUAL(size, 8);
    CU_ASSERT(b != NULL && memcmp(b, "precious", 8) == 0);
    free(b);
    free(x);
    sl_engine_destroy(e);
}

static const CU_TestInfo tests[] = {
    {"render equals the input", test_render_identity},
    {"gapless queue is sample-exact", test_gapless},
    {"crossfade is equal-power", test_crossfade},
    {"gain and pan", test_gain_pan},
    {"seek and end point", test_seek_and_end},
    {"resample and up-mix", test_resample_and_upmix},
    {"a failing source fails only its track", test_failing_source_isolated},
    {"render errors leave no file", test_render_errors},
    {"cancelled render keeps the old file", test_render_cancel_keeps_old_file},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_engine = {
    .info = {.pName = "engine", .pInitFunc = st_suite_init,
             .pCleanupFunc = st_suite_cleanup, .pTests = (CU_TestInfo *)tests},
};
