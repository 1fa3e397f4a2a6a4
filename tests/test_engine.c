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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <sndfile.h>

#include <sluice/sluice.h>
#include "clock.h"
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
    free(y);
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


/* ------------------------------------------------------------ blocks */

/* One block as the master mixes it (white box: what render does). */
static size_t pull(sl_engine *e, float *out)
{
    sl__master_service(e, true);
    sl__master_feed(e);
    return sl__master_mix(e, out);
}

/* The frame a ramp sample came from (left / right = frame / scale x 2),
 * or -1 for a silent sample. */
static long frame_of(const float *f, double scale)
{
    if (f[1] == 0.0f)
        return -1;
    return lround((double)f[0] / (double)f[1] * scale * 0.5);
}

/* Follows the frames heard in a block: counts frames that do not follow
 * the one before (jumps), ignoring silence. */
struct follow {
    long last;
    unsigned jumps;
    long first_after_jump;
    double max_step; /* largest step of the right channel (the envelope) */
    float last_r;
};

static void follow_block(struct follow *f, const float *y, size_t n,
                         double scale)
{
    for (size_t i = 0; i < n; i++) {
        long fr = frame_of(y + 2 * i, scale);
        double step = fabs((double)y[2 * i + 1] - f->last_r);
        if (step > f->max_step)
            f->max_step = step;
        f->last_r = y[2 * i + 1];
        if (fr < 0)
            continue;
        if (f->last >= 0 && fr != f->last + 1) {
            f->jumps++;
            f->first_after_jump = fr;
        }
        f->last = fr;
    }
}

/* A seek while playing fades out, then only audio from the new position
 * is heard, fading in: one jump, to the target, and no step in the
 * envelope larger than a 5 ms fade allows. */
static void test_seek_while_playing(void)
{
    size_t n = 96000, block = 256;
    float *x = ramp(n, 0, 131072.0), y[512];
    sl_engine *e = offline(48000, (unsigned)block);
    struct follow f = {.last = -1, .last_r = 0.5f};

    write_wav("sw.wav", x, n, 48000, 2);
    sl_track_id id = open_file(e, st_path("sw.wav"));
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    for (int b = 0; b < 10; b++) {
        pull(e, y);
        follow_block(&f, y, block, 131072.0);
    }
    CU_ASSERT_EQUAL(f.last, 10 * 256 - 1);
    CU_ASSERT_EQUAL(sl_track_seek(e, id, 60000), SL_OK);
    for (int b = 0; b < 10; b++) {
        pull(e, y);
        follow_block(&f, y, block, 131072.0);
    }
    CU_ASSERT_EQUAL(f.jumps, 1);
    CU_ASSERT_EQUAL(f.first_after_jump, 60000);
    CU_ASSERT(f.last > 60000);
    /* 0.5 over a 240-frame fade: about 0.0021 per frame */
    CU_ASSERT(f.max_step < 0.5 / 240 * 1.01);
    int64_t pos = 0;
    CU_ASSERT_EQUAL(sl_track_get_position(e, id, &pos), SL_OK);
    CU_ASSERT_EQUAL(pos, f.last + 1);
    free(x);
    sl_engine_destroy(e);
}

/* Pause fades out and resume fades in with no frame lost or repeated. */
static void test_pause_resume_exact(void)
{
    size_t n = 48000, block = 256;
    float *x = ramp(n, 0, 65536.0), y[512];
    sl_engine *e = offline(48000, (unsigned)block);
    struct follow f = {.last = -1, .last_r = 0.5f};
    sl_track_state st;

    write_wav("pr.wav", x, n, 48000, 2);
    sl_track_id id = open_file(e, st_path("pr.wav"));
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    for (int b = 0; b < 5; b++) {
        pull(e, y);
        follow_block(&f, y, block, 65536.0);
    }
    CU_ASSERT_EQUAL(sl_track_pause(e, id), SL_OK);
    for (int b = 0; b < 4; b++) {
        pull(e, y);
        follow_block(&f, y, block, 65536.0);
    }
    CU_ASSERT_EQUAL(sl_track_get_state(e, id, &st), SL_OK);
    CU_ASSERT_EQUAL(st, SL_TRACK_PAUSED);
    long paused_at = f.last;
    pull(e, y);
    follow_block(&f, y, block, 65536.0);
    CU_ASSERT_EQUAL(f.last, paused_at); /* nothing more while paused */
    CU_ASSERT_EQUAL(sl_track_pause(e, id), SL_ESTATE);
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    for (int b = 0; b < 5; b++) {
        pull(e, y);
        follow_block(&f, y, block, 65536.0);
    }
    CU_ASSERT_EQUAL(f.jumps, 0);
    CU_ASSERT(f.last > paused_at + 1000);
    CU_ASSERT(f.max_step < 0.5 / 240 * 1.01);
    free(x);
    sl_engine_destroy(e);
}

/* A loop plays start..end-1 then start again, seamlessly, forever; the
 * position wraps with it. */
static void test_loop(void)
{
    size_t n = 5000, block = 256;
    float *x = ramp(n, 0, 8192.0), y[512];
    sl_engine *e = offline(48000, (unsigned)block);
    long want = 0;
    size_t bad = 0;

    write_wav("lp.wav", x, n, 48000, 2);
    sl_track_id id = open_file(e, st_path("lp.wav"));
    CU_ASSERT_EQUAL(sl_track_set_loop(e, id, 1000, 3000), SL_OK);
    CU_ASSERT_EQUAL(sl_track_set_loop(e, id, 3000, 1000), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_track_set_loop(e, id, 0, 6000), SL_ERANGE);
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    for (int b = 0; b < 60; b++) { /* 15360 frames: several wraps */
        CU_ASSERT_EQUAL(pull(e, y), block);
        for (size_t i = 0; i < block; i++) {
            bad += frame_of(y + 2 * i, 8192.0) != want;
            want = want + 1 == 3000 ? 1000 : want + 1;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    int64_t pos = -1;
    CU_ASSERT_EQUAL(sl_track_get_position(e, id, &pos), SL_OK);
    CU_ASSERT_EQUAL(pos, want);
    /* Clearing the loop lets it play on to its end. */
    CU_ASSERT_EQUAL(sl_track_clear_loop(e, id), SL_OK);
    size_t got = 1;
    for (int b = 0; b < 200 && got > 0; b++)
        got = pull(e, y);
    sl_track_state st;
    CU_ASSERT_EQUAL(sl_track_get_state(e, id, &st), SL_OK);
    CU_ASSERT_EQUAL(st, SL_TRACK_ENDED);
    free(x);
    sl_engine_destroy(e);
}

/* Events: STARTED, POSITIONs in order, ENDED at the last frame. */
static void test_events(void)
{
    sl_engine_config c;
    sl_engine *e = NULL;
    size_t n = 48000, got = 0;
    float *x = ramp(n, 0, 65536.0);
    sl_event ev;

    sl_engine_config_default(&c);
    c.output = SL_OUTPUT_NONE;
    c.rate = 48000;
    c.position_interval_ms = 100;
    CU_ASSERT_EQUAL_FATAL(sl_engine_create(&e, &c, why, sizeof why), SL_OK);
    write_wav("ev.wav", x, n, 48000, 2);
    sl_track_id id = open_file(e, st_path("ev.wav"));
    CU_ASSERT_EQUAL(sl_engine_poll_event(e, &ev), SL_EEMPTY);
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    free(render(e, "ev-out.wav", &got));
    int started = 0, positions = 0, ended = 0;
    int64_t last = -1;
    while (sl_engine_wait_event(e, &ev, 0) == SL_OK) {
        CU_ASSERT_EQUAL(ev.track, id);
        if (ev.type == SL_EVENT_TRACK_STARTED) {
            started++;
            CU_ASSERT_EQUAL(ev.frame, 0);
            CU_ASSERT_EQUAL(positions + ended, 0);
        } else if (ev.type == SL_EVENT_POSITION) {
            positions++;
            CU_ASSERT(ev.frame > last && ev.frame - last >= 4800);
            last = ev.frame;
        } else if (ev.type == SL_EVENT_TRACK_ENDED) {
            ended++;
            CU_ASSERT_EQUAL(ev.frame, (int64_t)n);
        }
    }
    CU_ASSERT_EQUAL(started, 1);
    CU_ASSERT(positions >= 8 && positions <= 10);
    CU_ASSERT_EQUAL(ended, 1);
    CU_ASSERT_EQUAL(sl_engine_wait_event(e, &ev, 20), SL_ETIMEDOUT);
    free(x);
    sl_engine_destroy(e);
}

/* Memory tracks; non-finite samples never reach the output; a file with
 * more channels than sluice plays is refused with the count. */
static void test_memory_nan_channels(void)
{
    size_t n = 4800, got = 0, size = 0;
    float *x = ramp(n, 0, 8192.0);
    sl_engine *e = offline(48000, 256);

    x[2 * 100] = NAN;
    x[2 * 200 + 1] = INFINITY;
    write_wav("nan.wav", x, n, 48000, 2);
    unsigned char *bytes = slurp(st_path("nan.wav"), &size);
    sl_track_id id;
    CU_ASSERT_EQUAL_FATAL(sl_track_open_memory(e, bytes, size, &id, why,
                                               sizeof why),
                          SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    float *y = render(e, "nan-out.wav", &got);
    size_t nonfinite = 0;
    for (size_t i = 0; i < 2 * got; i++)
        nonfinite += !isfinite(y[i]);
    CU_ASSERT_EQUAL(got, n);
    CU_ASSERT_EQUAL(nonfinite, 0);
    CU_ASSERT_EQUAL(y[2 * 100], 0.0f);
    CU_ASSERT_EQUAL(y[2 * 101], x[2 * 101]);
    free(y);
    free(bytes);

    float *wide = calloc(100 * 40, sizeof *wide);
    CU_ASSERT_EQUAL(write_file(st_path("wide.wav"),
                               SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 40,
                               wide, 100),
                    0);
    CU_ASSERT_EQUAL(sl_track_open_file(e, st_path("wide.wav"), &id, why,
                                       sizeof why),
                    SL_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "wide.wav"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "40"));
    CU_ASSERT_EQUAL(sl_track_open_file(e, st_path("missing.wav"), &id, why,
                                       sizeof why),
                    SL_ENOTFOUND);
    free(wide);
    free(x);
    sl_engine_destroy(e);
}

/* An effect in a track's chain that crashes: that track fails with
 * SL_EFAULT, the engine is marked tainted, the other track plays on. */
static int crash_create(sl_effect **out, unsigned ch, double rate)
{
    (void)ch;
    (void)rate;
    *out = calloc(1, sizeof **out);
    return *out != NULL ? SL_OK : SL_ENOMEM;
}
static void crash_destroy(sl_effect *fx) { free(fx); }
static void crash_set(sl_effect *fx, unsigned i, float v)
{
    (void)fx;
    (void)i;
    (void)v;
}
static void crash_reset(sl_effect *fx) { (void)fx; }
static void crash_process(sl_effect *fx, float *buf, size_t frames)
{
    (void)fx;
    (void)buf;
    (void)frames;
    raise(SIGSEGV); /* delivered to this thread before raise returns */
}
static const sl_effect_vtable crash_vt = {
    .name = "test-crash", .summary = "crashes", .create = crash_create,
    .destroy = crash_destroy, .set_param = crash_set, .reset = crash_reset,
    .process = crash_process,
};

static void test_faulting_chain_isolated(void)
{
    size_t n = 9600, got = 0;
    float *x = ramp(n, 0, 16384.0);
    sl_engine *e = offline(48000, 256);
    sl_engine_stats st;

    int err = sl_effect_register(&crash_vt);
    CU_ASSERT(err == SL_OK || err == SL_EBUSY);
    write_wav("fc.wav", x, n, 48000, 2);
    sl_track_id good = open_file(e, st_path("fc.wav"));
    sl_track_id bad = open_file(e, st_path("fc.wav"));
    CU_ASSERT_EQUAL(sl_chain_add(sl_track_chain(e, bad), "test-crash", NULL),
                    SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, good), SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, bad), SL_OK);
    float *y = render(e, "fc-out.wav", &got);
    CU_ASSERT_EQUAL(got, n);
    CU_ASSERT_EQUAL(memcmp(y, x, (got < n ? got : n) * 2 * sizeof *y), 0);
    sl_track_state state;
    CU_ASSERT_EQUAL(sl_track_get_state(e, bad, &state), SL_OK);
    CU_ASSERT_EQUAL(state, SL_TRACK_FAILED);
    CU_ASSERT_EQUAL(sl_engine_get_stats(e, &st), SL_OK);
    CU_ASSERT_EQUAL(st.tainted, 1);
    CU_ASSERT_EQUAL(sl_track_play(e, bad), SL_ESTATE);
    free(x);
    free(y);
    sl_engine_destroy(e);
}


/* ------------------------------------------------------------ playback */

static sl_engine *playing_engine(sl_output_kind kind)
{
    sl_engine_config c;
    sl_engine *e = NULL;

    sl_engine_config_default(&c);
    c.output = kind;
    c.rate = 48000;
    c.position_interval_ms = 0;
    int err = sl_engine_create(&e, &c, why, sizeof why);
    if (err != SL_OK)
        fprintf(stderr, "engine: %s (%s)\n", why, sl_error_name(err));
    CU_ASSERT_EQUAL_FATAL(err, SL_OK);
    return e;
}

/* Waits up to timeout_ms for `type` about `track`; counts underruns of
 * each track on the way. */
static int wait_for(sl_engine *e, sl_event_type type, sl_track_id track,
                    int timeout_ms, sl_event *out, unsigned *underruns,
                    sl_track_id *under_track)
{
    sl_event ev;
    uint64_t deadline = sl__now_ns() + (uint64_t)timeout_ms * 1000000u;

    while (sl__now_ns() < deadline) {
        if (sl_engine_wait_event(e, &ev, 50) != SL_OK)
            continue;
        if (ev.type == SL_EVENT_TRACK_UNDERRUN && underruns != NULL) {
            (*underruns)++;
            if (under_track != NULL && *under_track != ev.track)
                *under_track = *under_track == 0 ? ev.track : (sl_track_id)-1;
        }
        if (ev.type == type && ev.track == track) {
            if (out != NULL)
                *out = ev;
            return SL_OK;
        }
    }
    return SL_ETIMEDOUT;
}

/* Real-time playback through the null sink, paced by the clock: a
 * 0.5 s file plays in about 0.5 s, every frame mixed, no underrun. */
static void test_play_paced(void)
{
    size_t n = 24000;
    float *x = make_signal(n, 2, 48000);
    sl_engine *e = playing_engine(SL_OUTPUT_NULL);
    sl_engine_stats st;
    sl_event ev;
    unsigned under = 0;

    write_wav("pp.wav", x, n, 48000, 2);
    sl_track_id id = open_file(e, st_path("pp.wav"));
    CU_ASSERT_EQUAL(sl_engine_start(e), SL_OK);
    CU_ASSERT_EQUAL(sl_engine_start(e), SL_ESTATE);
    uint64_t t0 = sl__now_ns();
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    CU_ASSERT_EQUAL(wait_for(e, SL_EVENT_TRACK_ENDED, id, 5000, &ev, &under,
                             NULL),
                    SL_OK);
    double secs = (double)(sl__now_ns() - t0) / 1e9;
    CU_ASSERT(secs > 0.4 && secs < 3.0);
    CU_ASSERT_EQUAL(ev.frame, (int64_t)n);
    CU_ASSERT_EQUAL(under, 0);
    CU_ASSERT_EQUAL(sl_engine_get_stats(e, &st), SL_OK);
    CU_ASSERT(st.frames_mixed >= n);
    CU_ASSERT_EQUAL(st.rate, 48000);
    CU_ASSERT_EQUAL(st.track_underruns, 0);
    CU_ASSERT_EQUAL(sl_engine_stop(e), SL_OK);
    free(x);
    sl_engine_destroy(e);
}

/* A source whose reads are slow starves only its own track: the
 * underruns are its own, the file next to it plays on without one. */
struct slow_src {
    unsigned sleep_us;
    int64_t pos;
};

static ptrdiff_t slow_read(void *user, float *out, size_t frames)
{
    struct slow_src *s = user;
    if (frames > 64)
        frames = 64;
    usleep(s->sleep_us);
    for (size_t i = 0; i < 2 * frames; i++)
        out[i] = 0.1f;
    s->pos += (int64_t)frames;
    return s->pos > 48000 * 10 ? 0 : (ptrdiff_t)frames;
}

static int slow_format(void *user, sl_source_format *f)
{
    (void)user;
    f->rate = 48000;
    f->channels = 2;
    return SL_OK;
}

static const sl_source_vtable slow_vt = {.read = slow_read,
                                         .format = slow_format};

static void test_slow_source_isolated(void)
{
    size_t n = 48000;
    float *x = make_signal(n, 2, 48000);
    struct slow_src slow = {.sleep_us = 5000}; /* 64 frames per 5 ms */
    sl_engine *e = playing_engine(SL_OUTPUT_NULL);
    sl_track_id good, bad, under_track = 0;
    unsigned under = 0;

    write_wav("slow.wav", x, n, 48000, 2);
    good = open_file(e, st_path("slow.wav"));
    CU_ASSERT_EQUAL_FATAL(sl_track_open_source(e, &slow_vt, &slow, &bad, why,
                                               sizeof why),
                          SL_OK);
    CU_ASSERT_EQUAL(sl_engine_start(e), SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, bad), SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, good), SL_OK);
    CU_ASSERT_EQUAL(wait_for(e, SL_EVENT_TRACK_ENDED, good, 8000, NULL,
                             &under, &under_track),
                    SL_OK);
    CU_ASSERT(under > 0);
    CU_ASSERT_EQUAL(under_track, bad);
    free(x);
    sl_engine_destroy(e);
}

/* Control calls from another thread while the engine plays as fast as
 * it can (unpaced): seeks, gains, pans, pauses, loops, queue, close and
 * reopen. Nothing crashes or hangs; ThreadSanitizer (in CI) sees no race.
 */
static void test_control_storm(void)
{
    size_t n = 48000;
    float *x = make_signal(n, 2, 48000);
    sl_engine *e = playing_engine(SL_OUTPUT_NULL_UNPACED);
    sl_track_id id[4];
    unsigned seed = 12345;

    write_wav("storm.wav", x, n, 48000, 2);
    for (int k = 0; k < 4; k++) {
        id[k] = open_file(e, st_path("storm.wav"));
        sl_track_set_loop(e, id[k], 0, -1);
        sl_track_play(e, id[k]);
    }
    CU_ASSERT_EQUAL(sl_engine_start(e), SL_OK);
    for (int op = 0; op < 3000; op++) {
        int k = (int)(rand_r(&seed) % 4);
        switch (rand_r(&seed) % 10) {
        case 0: sl_track_seek(e, id[k], rand_r(&seed) % n); break;
        case 1: sl_track_set_gain_db(e, id[k], -(double)(rand_r(&seed) % 40)); break;
        case 2: sl_track_set_pan(e, id[k], (rand_r(&seed) % 200) / 100.0 - 1); break;
        case 3: sl_track_pause(e, id[k]); break;
        case 4: sl_track_play(e, id[k]); break;
        case 5: sl_track_clear_loop(e, id[k]); break;
        case 6: sl_track_set_loop(e, id[k], rand_r(&seed) % 1000, -1); break;
        case 7:
            sl_track_close(e, id[k]);
            id[k] = open_file(e, st_path("storm.wav"));
            sl_track_play(e, id[k]);
            break;
        case 8: sl_track_queue(e, id[k], id[(k + 1) % 4], 5.0); break;
        default: sl_engine_set_gain_db(e, -(double)(rand_r(&seed) % 10)); break;
        }
        if (op % 100 == 0)
            usleep(1000);
    }
    sl_engine_stats st;
    CU_ASSERT_EQUAL(sl_engine_get_stats(e, &st), SL_OK);
    CU_ASSERT(st.frames_mixed > 0);
    CU_ASSERT(st.tracks_open == 4);
    free(x);
    sl_engine_destroy(e);
}


/* Plays `files` gaplessly, with a lowpass on the first and -3 dB on the
 * second, on engine `e`. */
static void queue_two(sl_engine *e, const char *a, const char *b)
{
    sl_track_id ia = open_file(e, a), ib = open_file(e, b);
    CU_ASSERT_EQUAL(sl_chain_parse(sl_track_chain(e, ia), "lowpass 3000",
                                   why, sizeof why),
                    SL_OK);
    CU_ASSERT_EQUAL(sl_track_set_gain_db(e, ib, -3.0), SL_OK);
    CU_ASSERT_EQUAL(sl_track_queue(e, ia, ib, 0), SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, ia), SL_OK);
}

/* Real-time playback produces the very samples render does. The test is
 * the PCM ring's consumer in place of a device (the sink is never
 * started): what it reads is what a device would get. */
static void test_playback_equals_render(void)
{
    size_t n1 = 22050 + 11, n2 = 30000, got = 0;
    float *x1 = make_signal(n1, 2, 44100), *x2 = make_signal(n2, 2, 48000);
    sl_engine *off = offline(48000, 256), *rt = playing_engine(SL_OUTPUT_NULL);

    write_wav("pe1.wav", x1, n1, 44100, 2);
    write_wav("pe2.wav", x2, n2, 48000, 2);
    queue_two(off, st_path("pe1.wav"), st_path("pe2.wav"));
    float *want = render(off, "pe-out.wav", &got);
    size_t cap = got + 48000 * 2;
    float *heard = calloc(cap * 2, sizeof *heard);
    size_t have = 0;
    queue_two(rt, st_path("pe1.wav"), st_path("pe2.wav"));
    /* Consume at the device's pace, as a device would, in 5 ms periods
     * (faster than real time, the read-ahead could fall behind). */
    uint64_t t0 = sl__now_ns(), deadline = t0 + 30000000000u;
    while (have < cap && sl__now_ns() < deadline) {
        size_t due = (size_t)((sl__now_ns() - t0) * 48 / 1000000) + 240;
        if (due > cap)
            due = cap;
        if (due > have)
            have += sl_ring_read(rt->pcm, heard + 2 * have, due - have);
        sl_scheduler_wake(rt->sched);
        usleep(5000);
    }
    CU_ASSERT_EQUAL(have, cap);
    sl_engine_stats st;
    CU_ASSERT_EQUAL(sl_engine_get_stats(rt, &st), SL_OK);
    CU_ASSERT_EQUAL(st.track_underruns, 0);
    size_t lead = 0;
    while (lead < have && heard[2 * lead] == 0.0f && heard[2 * lead + 1] == 0.0f)
        lead++;
    size_t lead_want = 0;
    while (lead_want < got && want[2 * lead_want] == 0.0f &&
           want[2 * lead_want + 1] == 0.0f)
        lead_want++;
    CU_ASSERT(lead >= lead_want);
    size_t start = lead - lead_want, bad = 0;
    CU_ASSERT(start + got <= have);
    for (size_t i = 0; i < 2 * got && 2 * start + i < 2 * have; i++)
        bad += heard[2 * start + i] != want[i];
    CU_ASSERT_EQUAL(bad, 0);
    for (size_t i = 2 * (start + got); i < 2 * have; i++)
        bad += heard[i] != 0.0f; /* and silence after */
    CU_ASSERT_EQUAL(bad, 0);
    free(x1);
    free(x2);
    free(want);
    free(heard);
    sl_engine_destroy(off);
    sl_engine_destroy(rt);
}

/* A loop set while the track plays applies exactly too: the frames go
 * on without a jump (a short fade while the read-ahead is redone) until
 * the loop end, then wrap. */
static void test_loop_set_while_playing(void)
{
    size_t n = 8000, block = 256;
    float *x = ramp(n, 0, 16384.0), y[512];
    sl_engine *e = offline(48000, (unsigned)block);
    struct follow f = {.last = -1, .last_r = 0.5f};
    unsigned wraps = 0;

    write_wav("lw.wav", x, n, 48000, 2);
    sl_track_id id = open_file(e, st_path("lw.wav"));
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    for (int b = 0; b < 4; b++) {
        pull(e, y);
        follow_block(&f, y, block, 16384.0);
    }
    CU_ASSERT_EQUAL(sl_track_set_loop(e, id, 2000, 2500), SL_OK);
    for (int b = 0; b < 40; b++) {
        pull(e, y);
        for (size_t i = 0; i < block; i++) {
            long fr = frame_of(y + 2 * i, 16384.0);
            if (fr < 0)
                continue;
            if (f.last == 2499 && fr == 2000)
                wraps++;
            else
                CU_ASSERT_EQUAL(fr, f.last + 1);
            f.last = fr;
        }
    }
    CU_ASSERT(wraps >= 15);
    free(x);
    sl_engine_destroy(e);
}

/* The log callback gets the engine's messages on the library's own
 * thread, never on the caller's. */
struct log_seen {
    pthread_t caller;
    int warnings;
    int on_caller;
    char last[SL_LOG_MESSAGE_MAX];
};

static void on_log(sl_log_level level, const char *msg, void *user)
{
    struct log_seen *l = user;
    if (pthread_equal(pthread_self(), l->caller))
        l->on_caller++;
    if (level == SL_LOG_WARN) {
        l->warnings++;
        snprintf(l->last, sizeof l->last, "%s", msg);
    }
}

static void test_log_callback(void)
{
    struct log_seen seen = {.caller = pthread_self()};
    size_t n = 4800, got = 0;
    float *x = ramp(n, 0, 8192.0);
    struct array_src src = {.x = x, .frames = n, .fail_at = 1000, .ch = 2,
                            .rate = 48000, .fail_err = SL_EIO};
    sl_engine_config c;
    sl_engine *e = NULL;
    sl_track_id id;

    sl_engine_config_default(&c);
    c.output = SL_OUTPUT_NONE;
    c.rate = 48000;
    c.log = on_log;
    c.log_user = &seen;
    CU_ASSERT_EQUAL_FATAL(sl_engine_create(&e, &c, why, sizeof why), SL_OK);
    CU_ASSERT_EQUAL_FATAL(sl_track_open_source(e, &array_vtable, &src, &id,
                                               why, sizeof why),
                          SL_OK);
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    free(render(e, "log-out.wav", &got));
    sl_engine_destroy(e); /* delivers what is queued, joins the thread */
    CU_ASSERT_EQUAL(seen.warnings, 1);
    CU_ASSERT_EQUAL(seen.on_caller, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(seen.last, "failed"));
    free(x);
}

/* Pausing the whole engine fades out and resuming fades in: the largest
 * step between two output samples stays within the fade's slope, and the
 * track holds its position while paused. */
static void test_engine_pause_fades(void)
{
    size_t n = 48000, block = 256;
    float *x = malloc(n * 2 * sizeof *x), y[512];
    sl_engine *e = offline(48000, (unsigned)block);
    double max_step = 0;
    float last = 0.5f;
    int64_t p1 = 0, p2 = 0;

    for (size_t i = 0; i < 2 * n; i++)
        x[i] = 0.5f; /* DC: any click is a step */
    write_wav("ep.wav", x, n, 48000, 2);
    sl_track_id id = open_file(e, st_path("ep.wav"));
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    for (int b = 0; b < 30; b++) {
        if (b == 5)
            CU_ASSERT_EQUAL(sl_engine_pause(e, 1), SL_OK);
        if (b == 10)
            sl_track_get_position(e, id, &p1);
        if (b == 15) {
            sl_track_get_position(e, id, &p2);
            CU_ASSERT_EQUAL(sl_engine_pause(e, 0), SL_OK);
        }
        pull(e, y);
        for (size_t i = 0; i < block; i++) {
            double d = fabs((double)y[2 * i] - last);
            if (d > max_step)
                max_step = d;
            last = y[2 * i];
        }
        if (b == 12)
            CU_ASSERT_EQUAL(y[0], 0.0f); /* silent while paused */
    }
    CU_ASSERT_EQUAL(p1, p2);
    CU_ASSERT(last == 0.5f);
    CU_ASSERT(max_step < 0.5 / 240 * 1.01);
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
    {"seek while playing drops what came before", test_seek_while_playing},
    {"pause and resume lose no frame", test_pause_resume_exact},
    {"loop is seamless", test_loop},
    {"loop set while playing", test_loop_set_while_playing},
    {"events", test_events},
    {"log callback", test_log_callback},
    {"engine pause and resume fade", test_engine_pause_fades},
    {"memory, non-finite samples, channel limit", test_memory_nan_channels},
    {"a crashing effect fails only its track", test_faulting_chain_isolated},
    {"real-time playback, paced", test_play_paced},
    {"a slow source starves only its track", test_slow_source_isolated},
    {"control calls from another thread", test_control_storm},
    {"playback equals render", test_playback_equals_render},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_engine = {
    .info = {.pName = "engine", .pInitFunc = st_suite_init,
             .pCleanupFunc = st_suite_cleanup, .pTests = (CU_TestInfo *)tests},
};
