/*
 * test_sink_loss.c: device supervision of the PortAudio sink against real
 * JACK servers (jack_fixture.h) that the tests kill or freeze:
 *   - jackd frozen (SIGSTOP): the stalled heartbeat is reported within
 *     1 s and close gives up on the teardown within 2 s;
 *   - jackd killed (SIGKILL) while the sink plays: sl__sink_check()
 *     reports the loss within 1 s, close returns within 2 s;
 *   - jackd killed while the sink is stopped: the same;
 * and after each, a sink opened on a new server plays audio that a JACK
 * client captures.
 * Each loss poisons one copy of PortAudio for good (src/pa_lib.h), so this
 * suite runs last.
 *
 * Thread: the CUnit (main) thread; feed() on a refill thread; the sink's
 * callback on PortAudio's JACK thread; capture_process() on the capture
 * client's JACK thread. They share atomics, the ring and buffers allocated
 * before the threads start.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sluice/device.h>
#include <sluice/error.h>
#include "clock.h"
#include "jack_fixture.h"
#include "pa_lib.h"
#include "sink.h"
#include "suites.h"
#include "wake.h"

#define RATE 48000
#define PERIOD 256
#define CHANNELS 2
#define RING_FRAMES 8192
#define WATERMARK 4096
#define VALUE 0.375f /* what the feeder plays: exact in float */
#define LOSS_LIMIT_NS 1000000000ull  /* the 1 s */
#define CLOSE_LIMIT_NS 2000000000ull /* and 2 s */

static sl_test_jack fixture;

/* ThreadSanitizer enlarges every thread's TLS and makes room for it only
 * in its own pthread_create; a fresh copy of PortAudio has its own libc,
 * whose pthread_create then fails for libjack's threads (EINVAL), so a
 * fresh copy finds no JACK server. Under TSan only the first loss, on the
 * linked copy, runs; the plain, ASan and RTSan builds run everything. */
#if defined(__SANITIZE_THREAD__)
#  define TSAN_BUILD 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define TSAN_BUILD 1
#  endif
#endif
#ifdef TSAN_BUILD
static bool fresh_copy_skipped(void)
{
    if (sl__pa_poisoned() == 0)
        return false;
    printf("\n    ThreadSanitizer build: a fresh PortAudio cannot start "
           "JACK's threads; skipped ");
    return true;
}
#else
static bool fresh_copy_skipped(void)
{
    return false;
}
#endif

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double ms_since(uint64_t t0)
{
    return (double)(sl__now_ns() - t0) / 1e6;
}

static int suite_cleanup(void)
{
    sl_test_jack_stop(&fixture);
    return 0;
}

/* Initializes the copy of PortAudio the sinks use now and holds it, as
 * the sink suite holds the linked one, so that the device list and the
 * open that follow do not scan the host APIs each time. After a loss this
 * is what loads and scans a fresh copy, whose ALSA host API prints to
 * stderr where there is no sound card: that is kept out of the log
 * unless it fails. */
static sl__pa *hold_pa(void)
{
    sl__pa *pa = NULL;
    char why[128];
    FILE *chatter = tmpfile();
    int saved = dup(STDERR_FILENO), err;

    fflush(stderr);
    if (chatter != NULL && saved >= 0)
        dup2(fileno(chatter), STDERR_FILENO);
    err = sl__pa_acquire(&pa, why, sizeof why);
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    if (err != SL_OK && chatter != NULL) {
        char line[512];
        rewind(chatter);
        while (fgets(line, sizeof line, chatter) != NULL)
            fputs(line, stderr);
        fprintf(stderr, "sl__pa_acquire: %s\n", why);
    }
    if (chatter != NULL)
        fclose(chatter);
    return pa;
}

/* The JACK output device of the copy of PortAudio in use now, or -1. */
static int jack_device(void)
{
    sl_device_info list[16];
    size_t n = 0;

    if (sl_device_list(list, 16, &n) != SL_OK)
        return -1;
    for (size_t i = 0; i < n && i < 16; i++)
        if (strstr(list[i].host_api, "JACK") != NULL)
            return list[i].index;
    return -1;
}

/* ---------------------------------------------------------------- feeding */

typedef struct feeder {
    sl_ring *ring;
    sl__wake wake;
    atomic_bool quit;
    pthread_t thread;
} feeder;

static void fill(feeder *f)
{
    sl_ring_region r[2];
    size_t n = sl_ring_write_regions(f->ring, RING_FRAMES, r);

    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < r[i].frames * CHANNELS; k++)
            r[i].data[k] = VALUE;
    sl_ring_commit(f->ring, n);
}

static void feeder_wake(void *arg)
{
    sl__wake_signal(&((feeder *)arg)->wake);
}

/* Keeps the ring full: woken by the watermark, or every 20 ms. */
static void *feed(void *arg)
{
    feeder *f = arg;

    while (!atomic_load_explicit(&f->quit, memory_order_relaxed)) {
        uint32_t seen = sl__wake_seen(&f->wake);
        fill(f);
        if (sl__wake_prepare(&f->wake, seen))
            sl__wake_wait(&f->wake, seen, sl__now_ns() + 20000000u);
    }
    return NULL;
}

static int feeder_start(feeder *f, sl_ring *ring)
{
    memset(f, 0, sizeof *f);
    f->ring = ring;
    sl__wake_init(&f->wake);
    fill(f);
    return pthread_create(&f->thread, NULL, feed, f);
}

static void feeder_stop(feeder *f)
{
    atomic_store(&f->quit, true);
    sl__wake_signal(&f->wake);
    pthread_join(f->thread, NULL);
}

/* ---------------------------------------------------------------- capture */

typedef struct capture {
    jack_client_t *client;
    jack_port_t *port[CHANNELS];
    atomic_uint_fast64_t frames; /* frames seen */
    atomic_uint_fast64_t exact;  /* frames whose every sample is VALUE */
} capture;

static int capture_process(jack_nframes_t n, void *arg)
{
    capture *c = arg;
    const float *in[CHANNELS];
    uint64_t exact = 0;

    for (unsigned ch = 0; ch < CHANNELS; ch++)
        in[ch] = jack_port_get_buffer(c->port[ch], n);
    for (jack_nframes_t i = 0; i < n; i++)
        exact += in[0][i] == VALUE && in[1][i] == VALUE;
    atomic_fetch_add_explicit(&c->frames, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->exact, exact, memory_order_relaxed);
    return 0;
}

/* A JACK client on the fixture's server with PortAudio's outputs
 * connected to it. */
static int capture_open(capture *c)
{
    const char **ports;
    int ok = 0;

    memset(c, 0, sizeof *c);
    c->client = sl_test_jack_client(&fixture, "sl-loss-capture");
    if (c->client == NULL)
        return -1;
    for (unsigned ch = 0; ch < CHANNELS; ch++) {
        char name[16];
        snprintf(name, sizeof name, "in_%u", ch);
        c->port[ch] = jack_port_register(c->client, name,
                                         JACK_DEFAULT_AUDIO_TYPE,
                                         JackPortIsInput, 0);
        if (c->port[ch] == NULL)
            return -1;
    }
    if (jack_set_process_callback(c->client, capture_process, c) != 0 ||
        jack_activate(c->client) != 0)
        return -1;
    ports = jack_get_ports(c->client, "^PortAudio:", NULL, JackPortIsOutput);
    for (int i = 0; ports != NULL && ports[i] != NULL && i < CHANNELS; i++)
        if (jack_connect(c->client, ports[i], jack_port_name(c->port[i])) == 0)
            ok++;
    jack_free(ports);
    return ok == CHANNELS ? 0 : -1;
}

static void capture_close(capture *c)
{
    if (c->client != NULL) {
        jack_deactivate(c->client);
        jack_client_close(c->client);
        c->client = NULL;
    }
}

/* ---------------------------------------------------------------- helpers */

typedef struct player {
    sl__pa *pa; /* held while it plays */
    sl_ring *ring;
    feeder f;
    sl__sink *sink;
    bool feeding;
} player;

/* Closes the sink (if any), timing it, then stops feeding and lets go of
 * PortAudio. Returns the ms the close took. */
static double finish(player *p)
{
    uint64_t t0 = sl__now_ns();

    sl__sink_close(p->sink);
    double took = ms_since(t0);
    p->sink = NULL;
    if (p->feeding)
        feeder_stop(&p->f);
    p->feeding = false;
    sl_ring_destroy(p->ring);
    p->ring = NULL;
    if (p->pa != NULL)
        sl__pa_release(p->pa); /* nothing, on a poisoned copy */
    p->pa = NULL;
    return took;
}

/* Opens a sink on the current server's JACK device and starts it; on
 * failure leaves nothing running. */
static bool play(player *p)
{
    sl__sink_config cfg;

    memset(p, 0, sizeof *p);
    p->pa = hold_pa();
    if (p->pa == NULL ||
        sl_ring_create(&p->ring, CHANNELS, RING_FRAMES) != SL_OK ||
        feeder_start(&p->f, p->ring) != 0)
        goto fail;
    p->feeding = true;
    sl__sink_config_default(&cfg);
    cfg.ring = p->ring;
    cfg.rate = RATE;
    cfg.device = jack_device();
    cfg.low_watermark = WATERMARK;
    cfg.wake = feeder_wake;
    cfg.wake_arg = &p->f;
    CU_ASSERT(cfg.device >= 0);
    CU_ASSERT_EQUAL(sl__sink_pa_open(&p->sink, &cfg), SL_OK);
    if (p->sink == NULL)
        goto fail;
    CU_ASSERT_EQUAL(sl__sink_start(p->sink), SL_OK);
    return true;

fail:
    finish(p);
    return false;
}

/* Waits until the sink has played `frames` more, up to 5 s. */
static bool advances(sl__sink *s, uint64_t frames)
{
    sl__sink_stats a, b;
    uint64_t deadline = sl__now_ns() + 5000000000ull;

    sl__sink_stats_get(s, &a);
    do {
        sleep_ms(10);
        sl__sink_stats_get(s, &b);
    } while (b.frames_played - a.frames_played < frames &&
             sl__now_ns() < deadline);
    return b.frames_played - a.frames_played >= frames;
}

/* Polls the watchdog every 10 ms from `t0` until it reports a loss or
 * 3 s pass. Returns the ns it took (UINT64_MAX: never); *at is the time
 * the reporting check was given. */
static uint64_t time_to_loss(sl__sink *s, uint64_t t0, char *why, size_t len,
                             uint64_t *at)
{
    while (sl__now_ns() - t0 < 3000000000ull) {
        *at = sl__now_ns();
        if (sl__sink_check(s, *at, why, len) == SL_EDEVICE)
            return *at - t0;
        sleep_ms(10);
    }
    return UINT64_MAX;
}

/* The watchdog stays quiet while a healthy sink plays for `ms`. */
static void quiet_for(sl__sink *s, unsigned ms)
{
    char why[160];
    int bad = 0;

    for (unsigned t = 0; t < ms; t += 10) {
        if (sl__sink_check(s, sl__now_ns(), why, sizeof why) != SL_OK &&
            bad++ == 0)
            printf("\n    unexpected: %s ", why);
        sleep_ms(10);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* On a fresh server: a new sink plays, a JACK client captures exactly
 * what it is fed, the watchdog is quiet, and close is clean and fast. */
static void play_again(void)
{
    player p;
    capture c;
    unsigned poisoned = sl__pa_poisoned();

    if (fresh_copy_skipped())
        return;
    CU_ASSERT_FATAL(sl_test_jack_start(&fixture, RATE, PERIOD) == 0);
    CU_ASSERT_FATAL(play(&p));
    CU_ASSERT_EQUAL_FATAL(capture_open(&c), 0);
    CU_ASSERT(advances(p.sink, RATE / 2));
    quiet_for(p.sink, 300);
    capture_close(&c);
    uint64_t frames = atomic_load(&c.frames), exact = atomic_load(&c.exact);
    double took = finish(&p);
    printf("\n    new server: captured %llu frames, %llu of them the fed "
           "value; clean close in %.1f ms ",
           (unsigned long long)frames, (unsigned long long)exact, took);
    CU_ASSERT(exact >= RATE / 4);
    CU_ASSERT(took < CLOSE_LIMIT_NS / 1e6);
    CU_ASSERT_EQUAL(sl__pa_poisoned(), poisoned); /* a clean close */
    sl_test_jack_stop(&fixture);
}

/* ---------------------------------------------------------------- tests */

static void lose_server(bool playing)
{
    player p;
    char why[160] = "";
    unsigned poisoned = sl__pa_poisoned();

    if (fresh_copy_skipped())
        return;
    CU_ASSERT_FATAL(sl_test_jack_start(&fixture, RATE, PERIOD) == 0);
    CU_ASSERT_FATAL(play(&p));
    CU_ASSERT(advances(p.sink, RATE / 4));
    quiet_for(p.sink, 200);
    if (!playing)
        CU_ASSERT_EQUAL(sl__sink_stop(p.sink), SL_OK);

    uint64_t t0 = sl__now_ns(), at = 0;
    CU_ASSERT_EQUAL_FATAL(kill(fixture.pid, SIGKILL), 0);
    uint64_t lost = time_to_loss(p.sink, t0, why, sizeof why, &at);
    printf("\n    jackd killed %s: lost after %.1f ms (\"%s\") ",
           playing ? "during playback" : "while stopped", lost / 1e6, why);
    CU_ASSERT(lost < LOSS_LIMIT_NS);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "JACK server gone"));
    /* A loss is final. */
    CU_ASSERT_EQUAL(sl__sink_check(p.sink, sl__now_ns(), NULL, 0),
                    SL_EDEVICE);
    if (playing)
        CU_ASSERT_EQUAL(sl__sink_start(p.sink), SL_ESTATE);
    CU_ASSERT_EQUAL(sl__sink_stop(p.sink), SL_OK);
    CU_ASSERT_EQUAL(sl__sink_start(p.sink), SL_EDEVICE);
    double took = finish(&p);
    printf("closed in %.1f ms, PortAudio copies given up: %u ", took,
           sl__pa_poisoned());
    CU_ASSERT(took < CLOSE_LIMIT_NS / 1e6);
    CU_ASSERT_EQUAL(sl__pa_poisoned(), poisoned + 1);
    sl_test_jack_stop(&fixture);
    play_again();
}

static void test_killed_while_playing(void)
{
    lose_server(true);
}

static void test_killed_while_stopped(void)
{
    lose_server(false);
}

/* A frozen server: the stream stays "active", only the heartbeat stops;
 * PortAudio's stop would wait for a callback that never comes. */
static void test_frozen_server(void)
{
    player p;
    char why[160] = "";
    unsigned poisoned = sl__pa_poisoned();

    if (fresh_copy_skipped())
        return;
    CU_ASSERT_FATAL(sl_test_jack_start(&fixture, RATE, PERIOD) == 0);
    CU_ASSERT_FATAL(play(&p));
    CU_ASSERT(advances(p.sink, RATE / 4));
    uint64_t limit = sl__sink_stall_limit_ns(p.sink);

    uint64_t t0 = sl__now_ns(), at = 0;
    sl__sink_stats st;
    CU_ASSERT_EQUAL_FATAL(kill(fixture.pid, SIGSTOP), 0);
    uint64_t lost = time_to_loss(p.sink, t0, why, sizeof why, &at);
    sl__sink_stats_get(p.sink, &st);
    printf("\n    jackd stopped: lost after %.1f ms, %.1f ms after the last "
           "render, stall limit %.0f ms (\"%s\") ",
           lost / 1e6, (at - st.heartbeat_ns) / 1e6, limit / 1e6, why);
    CU_ASSERT(lost < LOSS_LIMIT_NS);
    CU_ASSERT(at - st.heartbeat_ns > limit); /* not before the limit */
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "stalled"));
    double took = finish(&p);
    printf("closed in %.1f ms (teardown given up after %d ms) ", took,
           SL__SINK_TEARDOWN_MS);
    CU_ASSERT(took < CLOSE_LIMIT_NS / 1e6);
    CU_ASSERT(took >= SL__SINK_TEARDOWN_MS);
    CU_ASSERT_EQUAL(sl__pa_poisoned(), poisoned + 1);
    kill(fixture.pid, SIGCONT);
    sl_test_jack_stop(&fixture);
    play_again();
}

/* The frozen server first: under ThreadSanitizer only the first test
 * runs, and this one has the teardown thread and its timeout. */
static CU_TestInfo tests[] = {
    {"jackd frozen: stall < 1 s, close gives up < 2 s, plays again",
     test_frozen_server},
    {"jackd killed during playback: lost < 1 s, close < 2 s, plays again",
     test_killed_while_playing},
    {"jackd killed while stopped: lost < 1 s, close < 2 s, plays again",
     test_killed_while_stopped},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_sink_loss = {
    .info = {.pName = "sink_loss", .pCleanupFunc = suite_cleanup,
             .pTests = tests},
    .needs_jack = true,
};
