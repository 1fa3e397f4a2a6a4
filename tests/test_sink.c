/*
 * test_sink.c: the device API and the PortAudio sink against a private
 * JACK server (jack_fixture.h): the device list and lookup, a numbered
 * sequence played through the sink and captured bit for bit by a JACK
 * client in the test, underrun silence and accounting, the watermark wake
 * driving a refill thread, and the real-time rule checked by interposition
 * (rt_interpose.h) with a deliberate violation to show the check bites.
 *
 * Thread: the CUnit (main) thread; feed() on a refill thread; the sink's
 * callback on PortAudio's JACK thread; capture_process() on the capture
 * client's JACK thread. They share only atomics, the ring and buffers
 * allocated before the threads start.
 */
#include "config.h"

#include <pthread.h>
#include <ctype.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <portaudio.h>

#include <sluice/device.h>
#include <sluice/error.h>
#include "clock.h"
#include "jack_fixture.h"
#include "pa_lib.h"
#include "rt.h"
#include "rt_interpose.h"
#include "sink.h"
#include "suites.h"
#include "wake.h"

#define RATE 48000
#define PERIOD 256
#define CHANNELS 2
#define RING_FRAMES 16384
#define WATERMARK 4096
#define SEQ_FRAMES (2 * RATE)     /* 2 s of numbered frames */
#define CAPTURE_FRAMES (6 * RATE) /* room for start-up, sequence, silence */

static sl_test_jack fixture;
static bool pa_up;

/* ---------------------------------------------------------------- setup */

/* Holding PortAudio initialized for the suite makes the library's own
 * Pa_Initialize calls cheap and quiet. */
static int initialize_quietly(void)
{
    if (sl_test_pa_initialize() != paNoError)
        return -1;
    pa_up = true;
    return 0;
}

static int suite_init(void)
{
    if (sl_test_jack_start(&fixture, RATE, PERIOD) != 0)
        return -1;
    return initialize_quietly();
}

static int suite_cleanup(void)
{
    if (pa_up) {
        Pa_Terminate();
        pa_up = false;
    }
    sl_test_jack_stop(&fixture);
    return 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The JACK host API's output device on the fixture, or -1. */
static int jack_device(sl_device_info *info)
{
    sl_device_info list[64];
    size_t n = 0;

    if (sl_device_list(list, 64, &n) != SL_OK)
        return -1;
    for (size_t i = 0; i < n && i < 64; i++)
        if (strstr(list[i].host_api, "JACK") != NULL) {
            if (info != NULL)
                *info = list[i];
            return list[i].index;
        }
    return -1;
}

/* ---------------------------------------------------------------- devices */

static void test_device_list(void)
{
    sl_device_info list[64], jack;
    size_t n = 0, again = 0;

    CU_ASSERT_EQUAL(sl_device_list(NULL, 0, &n), SL_OK);
    CU_ASSERT(n > 0);
    CU_ASSERT_EQUAL(sl_device_list(list, 64, &again), SL_OK);
    CU_ASSERT_EQUAL(again, n);
    CU_ASSERT_EQUAL(sl_device_list(NULL, 1, &n), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_device_list(list, 64, NULL), SL_EINVAL);
    for (size_t i = 0; i < again && i < 64; i++)
        printf("\n    [%d] '%s' (%s) %d ch, %.0f Hz, %.1f/%.1f ms",
               list[i].index, list[i].name, list[i].host_api,
               list[i].max_output_channels, list[i].default_rate,
               list[i].default_low_latency * 1e3,
               list[i].default_high_latency * 1e3);
    printf("\n    ");
    CU_ASSERT_FATAL(jack_device(&jack) >= 0);
    CU_ASSERT(jack.max_output_channels >= 2);
    CU_ASSERT_EQUAL(jack.default_rate, RATE);
    CU_ASSERT(jack.default_low_latency > 0);
}

/* Output devices whose name contains `s` case-insensitively. */
static int count_containing(const sl_device_info *list, size_t n,
                            const char *s, int *which)
{
    int count = 0;

    for (size_t i = 0; i < n; i++)
        for (const char *p = list[i].name; *p != '\0'; p++)
            if (strncasecmp(p, s, strlen(s)) == 0) {
                *which = list[i].index;
                count++;
                break;
            }
    return count;
}

static void test_device_find(void)
{
    sl_device_info list[64], jack;
    size_t n = 0;
    int idx = -1, which = -1;
    char buf[SL_DEVICE_NAME_MAX];

    CU_ASSERT_EQUAL_FATAL(sl_device_list(list, 64, &n), SL_OK);
    CU_ASSERT_FATAL(jack_device(&jack) >= 0);
    /* Exact name. */
    CU_ASSERT_EQUAL(sl_device_find(jack.name, &idx), SL_OK);
    CU_ASSERT_EQUAL(idx, jack.index);
    /* The name upper-cased is a case-insensitive substring of it. */
    for (size_t i = 0; i <= strlen(jack.name); i++)
        buf[i] = (char)toupper((unsigned char)jack.name[i]);
    if (count_containing(list, n, buf, &which) == 1) {
        idx = -1;
        CU_ASSERT_EQUAL(sl_device_find(buf, &idx), SL_OK);
        CU_ASSERT_EQUAL(idx, jack.index);
    }
    /* A proper substring: the name without its first character. */
    if (strlen(jack.name) > 1 &&
        count_containing(list, n, jack.name + 1, &which) == 1) {
        idx = -1;
        CU_ASSERT_EQUAL(sl_device_find(jack.name + 1, &idx), SL_OK);
        CU_ASSERT_EQUAL(idx, jack.index);
    }
    /* By index, every output device; and the index of no device. */
    for (size_t i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "%d", list[i].index);
        CU_ASSERT_EQUAL(sl_device_find(buf, &idx), SL_OK);
        CU_ASSERT_EQUAL(idx, list[i].index);
    }
    CU_ASSERT_EQUAL(sl_device_find("99999", &idx), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_device_find("no such device 7f3a", &idx), SL_ENOTFOUND);
    CU_ASSERT_EQUAL(sl_device_find("", &idx), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_device_find(NULL, &idx), SL_EINVAL);
    /* Ambiguous: a letter in more than one name (when the machine has two
     * output devices that share one). */
    for (const char *c = "aeiostrnlu"; *c != '\0'; c++) {
        char s[2] = {*c, '\0'};
        if (count_containing(list, n, s, &which) >= 2) {
            CU_ASSERT_EQUAL(sl_device_find(s, &idx), SL_EINVAL);
            printf("\n    '%s' is ambiguous ", s);
            break;
        }
    }
}

/* ---------------------------------------------------------------- feeding */

/* Sample `c` of frame `n` of the test sequence: (2n + c + 1) / 2^24, exact
 * in float, nonzero, and different for every sample of 2^23 frames. */
static float seq_value(uint64_t n, unsigned c)
{
    return (float)((2 * n + c + 1) & 0xffffff) / 16777216.0f;
}

typedef struct feeder {
    sl_ring *ring;
    sl__wake wake;
    atomic_bool quit;
    atomic_uint wakes; /* watermark wakes received */
    uint64_t next;     /* next frame number to write */
    uint64_t total;    /* frames to write in all */
    pthread_t thread;
} feeder;

/* Writes sequence frames in place until the ring is full or all are sent. */
static void refill(feeder *f)
{
    sl_ring_region r[2];
    uint64_t left = f->total - f->next;
    size_t n = sl_ring_write_regions(f->ring, left < RING_FRAMES ? left
                                                                 : RING_FRAMES,
                                     r);
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < r[i].frames; k++, f->next++)
            for (unsigned c = 0; c < CHANNELS; c++)
                r[i].data[k * CHANNELS + c] = seq_value(f->next, c);
    sl_ring_commit(f->ring, n);
}

/* The sink's wake: RT-safe (an atomic and, when parked, a futex wake,
 * which src/wake.c exempts from RealtimeSanitizer's syscall check). */
static void feeder_wake(void *arg)
{
    feeder *f = arg;
    atomic_fetch_add_explicit(&f->wakes, 1, memory_order_relaxed);
    sl__wake_signal(&f->wake);
}

/* Refills when woken. The fallback park (1 s) outlasts the ring (341 ms),
 * so without the watermark wake the sink would underrun. */
static void *feed(void *arg)
{
    feeder *f = arg;

    while (!atomic_load_explicit(&f->quit, memory_order_relaxed)) {
        uint32_t seen = sl__wake_seen(&f->wake);
        refill(f);
        if (sl__wake_prepare(&f->wake, seen))
            sl__wake_wait(&f->wake, seen, sl__now_ns() + 1000000000u);
    }
    return NULL;
}

/* Prefills the ring and starts the refill thread. */
static int feeder_start(feeder *f, sl_ring *ring, uint64_t total)
{
    memset(f, 0, sizeof *f);
    f->ring = ring;
    f->total = total;
    sl__wake_init(&f->wake);
    refill(f);
    return pthread_create(&f->thread, NULL, feed, f);
}

static void feeder_stop(feeder *f)
{
    atomic_store(&f->quit, true);
    sl__wake_signal(&f->wake);
    pthread_join(f->thread, NULL);
}

static sl__sink *open_pa(sl_ring *ring, void (*wake)(void *), void *arg,
                         size_t watermark)
{
    sl__sink_config cfg;
    sl__sink *s = NULL;

    sl__sink_config_default(&cfg);
    cfg.ring = ring;
    cfg.rate = RATE;
    cfg.device = jack_device(NULL);
    cfg.low_watermark = watermark;
    cfg.wake = wake;
    cfg.wake_arg = arg;
    CU_ASSERT_EQUAL(sl__sink_pa_open(&s, &cfg), SL_OK);
    return s;
}

/* Waits until the sink has played `frames`, up to `timeout_ms`. */
static bool wait_played(sl__sink *s, uint64_t frames, unsigned timeout_ms)
{
    uint64_t deadline = sl__now_ns() + (uint64_t)timeout_ms * 1000000u;
    sl__sink_stats st;

    do {
        sleep_ms(10);
        sl__sink_stats_get(s, &st);
    } while (st.frames_played < frames && sl__now_ns() < deadline);
    return st.frames_played >= frames;
}

/* ---------------------------------------------------------------- capture */

typedef struct capture {
    jack_client_t *client;
    jack_port_t *port[CHANNELS];
    float *buf; /* CAPTURE_FRAMES interleaved frames */
    atomic_size_t frames;
    atomic_uint xruns; /* reported by the server during the capture */
} capture;

static int capture_xrun(void *arg)
{
    capture *c = arg;
    atomic_fetch_add_explicit(&c->xruns, 1, memory_order_relaxed);
    return 0;
}

static int capture_process(jack_nframes_t n, void *arg)
{
    capture *c = arg;
    size_t pos = atomic_load_explicit(&c->frames, memory_order_relaxed);

    for (unsigned ch = 0; ch < CHANNELS; ch++) {
        const float *in = jack_port_get_buffer(c->port[ch], n);
        for (size_t i = 0; i < n && pos + i < CAPTURE_FRAMES; i++)
            c->buf[(pos + i) * CHANNELS + ch] = in[i];
    }
    pos = pos + n < CAPTURE_FRAMES ? pos + n : CAPTURE_FRAMES;
    /* release: the samples before the count. */
    atomic_store_explicit(&c->frames, pos, memory_order_release);
    return 0;
}

/* Opens the capture client and connects PortAudio's outputs to it. */
static int capture_open(capture *c)
{
    const char **ports;
    int ok = 0;

    c->buf = calloc((size_t)CAPTURE_FRAMES * CHANNELS, sizeof(float));
    c->client = sl_test_jack_client(&fixture, "sl-test-capture");
    if (c->buf == NULL || c->client == NULL)
        return -1;
    for (unsigned ch = 0; ch < CHANNELS; ch++) {
        char name[16];
        snprintf(name, sizeof name, "in_%u", ch);
        c->port[ch] = jack_port_register(c->client, name, JACK_DEFAULT_AUDIO_TYPE,
                                         JackPortIsInput, 0);
        if (c->port[ch] == NULL)
            return -1;
    }
    if (jack_set_process_callback(c->client, capture_process, c) != 0 ||
        jack_set_xrun_callback(c->client, capture_xrun, c) != 0 ||
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
    }
    free(c->buf);
}

/* Compares the capture with the sequence after aligning on the first
 * nonzero sample; everything after the sequence must be exact silence. */
static void check_capture(const capture *c, size_t got)
{
    size_t start = 0, wrong = 0, noisy = 0, first_wrong = 0;

    while (start < got && c->buf[start * CHANNELS] == 0.0f)
        start++;
    CU_ASSERT_FATAL(start + SEQ_FRAMES <= got);
    for (size_t n = 0; n < SEQ_FRAMES; n++)
        for (unsigned ch = 0; ch < CHANNELS; ch++)
            if (c->buf[(start + n) * CHANNELS + ch] != seq_value(n, ch) &&
                wrong++ == 0)
                first_wrong = n;
    for (size_t i = (start + SEQ_FRAMES) * CHANNELS; i < got * CHANNELS; i++)
        if (c->buf[i] != 0.0f)
            noisy++;
    printf("\n    captured %zu frames: sequence starts at %zu, %zu of %d "
           "samples differ (first at frame %zu), %zu silence frames after it, "
           "%zu nonzero ",
           got, start, wrong, SEQ_FRAMES * CHANNELS, first_wrong,
           got - start - SEQ_FRAMES, noisy);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(noisy, 0);
    CU_ASSERT(got - start - SEQ_FRAMES >= RATE / 4);
}

/* 2 s of numbered frames through PortAudio into JACK, refilled by a thread
 * woken by the watermark; then the data stops and the sink underruns.
 * Returns the xruns the server reported (PortAudio's underflow flags and
 * the capture client's xrun callbacks): an xrun of the whole graph loses
 * or repeats a period in the capture whatever the sink does, so such a
 * run proves nothing and is repeated. Sets *checked when it asserted. */
static unsigned capture_once(bool last, bool *checked)
{
    sl_ring *ring = NULL;
    feeder f;
    capture c = {0};
    sl__sink_stats st;
    unsigned xruns = 0;

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, RING_FRAMES), SL_OK);
    sl__sink *s = open_pa(ring, feeder_wake, &f, WATERMARK);
    if (s == NULL)
        goto out;
    CU_ASSERT_EQUAL_FATAL(capture_open(&c), 0);
    /* Let the capture run a few cycles first, so that it cannot miss the
     * sequence's first period (a miss would show as a wrong first value). */
    sleep_ms(50);
    CU_ASSERT_EQUAL_FATAL(feeder_start(&f, ring, SEQ_FRAMES), 0);
    CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
    CU_ASSERT(wait_played(s, SEQ_FRAMES + RATE / 2, 10000));
    CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);
    feeder_stop(&f);
    sleep_ms(50); /* let the capture client see the last period */
    jack_deactivate(c.client);
    sl__sink_stats_get(s, &st);
    xruns = (unsigned)st.pa_underflows + atomic_load(&c.xruns);
    printf("\n    played %llu, underrun %llu frames in %llu events, "
           "%llu PortAudio underflows, %u server xruns, %u wakes ",
           (unsigned long long)st.frames_played,
           (unsigned long long)st.underrun_frames,
           (unsigned long long)st.underrun_events,
           (unsigned long long)st.pa_underflows, atomic_load(&c.xruns),
           atomic_load(&f.wakes));
    if (xruns > 0 && !last)
        goto out;
    *checked = true;
    check_capture(&c, atomic_load_explicit(&c.frames, memory_order_acquire));
    CU_ASSERT_EQUAL(st.frames_played - st.underrun_frames, SEQ_FRAMES);
    CU_ASSERT_EQUAL(st.underrun_events, 1); /* the end of the data only */
    CU_ASSERT(st.underrun_frames >= RATE / 2 - PERIOD);
    CU_ASSERT(atomic_load(&f.wakes) > 0);
    CU_ASSERT_EQUAL(st.wakes, atomic_load(&f.wakes));
    CU_ASSERT(st.heartbeat_ns != 0 && st.heartbeat_ns <= sl__now_ns());
out:
    sl__sink_close(s);
    capture_close(&c);
    sl_ring_destroy(ring);
    return xruns;
}

static void test_capture_sequence(void)
{
    bool checked = false;

    for (int attempt = 1; attempt <= 3 && !checked; attempt++)
        if (capture_once(attempt == 3, &checked) > 0 && !checked)
            printf("\n    attempt %d had server xruns: repeated ", attempt);
    CU_ASSERT(checked);
}

/* ---------------------------------------------------------------- RT rule */

static void *volatile sink_hole; /* keeps the compiler from eliding malloc */

/* A deliberately broken wake: allocates on the callback. */
static void allocating_wake(void *arg)
{
    (void)arg;
    sink_hole = malloc(64);
    free(sink_hole);
}

/* Plays for `ms` with the hook set; returns the violations. */
static uint64_t play_checked(sl__sink *s, unsigned ms)
{
    sl_test_rt_reset();
    atomic_store(&sl__sink_rt_hook, sl_test_rt_hook);
    CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
    sleep_ms(ms);
    CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);
    atomic_store(&sl__sink_rt_hook, NULL);
    return sl_test_rt_violations();
}

/* 3 s of playback with a refill thread. With the interposers, every
 * forbidden call on the callback is counted and must be zero; in a
 * RealtimeSanitizer build the callback is a nonblocking context and one
 * such call would abort the run. Either way the wakes alone must keep the
 * ring fed. */
static void play_3s_checked(sl_ring *ring)
{
    feeder f;
    sl__sink_stats st;

    CU_ASSERT_EQUAL_FATAL(feeder_start(&f, ring, UINT64_MAX / 4), 0);
    sl__sink *s = open_pa(ring, feeder_wake, &f, WATERMARK);
    if (s != NULL) {
        uint64_t v = play_checked(s, 3000);
        uint64_t entries = sl_test_rt_entries();
        sl__sink_stats_get(s, &st);
        printf("\n    3 s on JACK: %llu callbacks, %llu violations%s%s, "
               "%u wakes, %llu underrun frames ",
               (unsigned long long)entries, (unsigned long long)v,
               v ? ", first: " : "", sl_test_rt_first_violation(),
               atomic_load(&f.wakes), (unsigned long long)st.underrun_frames);
        CU_ASSERT_EQUAL(v, 0);
        if (sl_test_rt_available())
            CU_ASSERT(entries > 3 * RATE / 1024); /* periods <= 1024 */
        CU_ASSERT(atomic_load(&f.wakes) > 0);
        CU_ASSERT_EQUAL(st.underrun_frames, 0);
        sl__sink_close(s);
    }
    feeder_stop(&f);
}

static void test_rt_interposition(void)
{
    sl_ring *ring = NULL;

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, RING_FRAMES), SL_OK);
    if (!sl_test_rt_available()) {
        printf("\n    interposers not built (sanitizer build) ");
#ifdef SL__RTSAN
        play_3s_checked(ring); /* RealtimeSanitizer watches instead */
#endif
        sl_ring_destroy(ring);
        return;
    }
    /* The interposer sees a marked thread's calls at all. */
    sl_test_rt_reset();
    sl_test_rt_hook(true);
    sink_hole = malloc(16);
    sl_test_rt_hook(false);
    free(sink_hole);
    CU_ASSERT_EQUAL(sl_test_rt_violations(), 1);
    CU_ASSERT_STRING_EQUAL(sl_test_rt_first_violation(), "malloc");

    play_3s_checked(ring);

    /* The same check catches a callback that allocates. */
    sl__sink *s = open_pa(ring, allocating_wake, NULL, RING_FRAMES * 2);
    if (s != NULL) {
        uint64_t v = play_checked(s, 300);
        printf("\n    allocating wake: %llu violations, first: %s ",
               (unsigned long long)v, sl_test_rt_first_violation());
        CU_ASSERT(v > 0);
        CU_ASSERT_STRING_EQUAL(sl_test_rt_first_violation(), "malloc");
        sl__sink_close(s);
    }
    sl_ring_destroy(ring);
}

/* The null sink's periods obey the same rule (its sleep is outside). */
static void test_rt_null_sink(void)
{
    sl_ring *ring = NULL;
    feeder f;
    sl__sink_config cfg;
    sl__sink *s = NULL;

    if (!sl_test_rt_available())
        return;
    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, RING_FRAMES), SL_OK);
    CU_ASSERT_EQUAL_FATAL(feeder_start(&f, ring, UINT64_MAX / 4), 0);
    sl__sink_config_default(&cfg);
    cfg.ring = ring;
    cfg.low_watermark = WATERMARK;
    cfg.wake = feeder_wake;
    cfg.wake_arg = &f;
    CU_ASSERT_EQUAL_FATAL(sl__sink_null_open(&s, &cfg), SL_OK);
    uint64_t v = play_checked(s, 500);
    printf("\n    null sink 0.5 s: %llu periods, %llu violations ",
           (unsigned long long)sl_test_rt_entries(), (unsigned long long)v);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT(sl_test_rt_entries() >= 90);
    sl__sink_close(s);
    feeder_stop(&f);
    sl_ring_destroy(ring);
}

/* ---------------------------------------------------------------- control */

/* While it plays into JACK the watchdog, polled like the engine polls it,
 * stays quiet; stop and start switch consumption at once (the stream
 * keeps running: stop waits for at most one callback); the latencies are
 * reported. */
static void test_watchdog_and_start_stop(void)
{
    sl_ring *ring = NULL;
    feeder f;
    sl__sink_stats a, b;
    char why[160];
    int reports = 0;
    double stop_ms = 0.0;

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, RING_FRAMES), SL_OK);
    CU_ASSERT_EQUAL_FATAL(feeder_start(&f, ring, UINT64_MAX / 4), 0);
    sl__sink *s = open_pa(ring, feeder_wake, &f, WATERMARK);
    CU_ASSERT_FATAL(s != NULL);
    for (int round = 0; round < 3; round++) {
        CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
        CU_ASSERT_EQUAL(sl__sink_start(s), SL_ESTATE);
        for (int i = 0; i < 5; i++) {
            sleep_ms(100);
            if (sl__sink_check(s, sl__now_ns(), why, sizeof why) != SL_OK &&
                reports++ == 0)
                printf("\n    unexpected: %s ", why);
        }
        uint64_t t0 = sl__now_ns();
        CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);
        double took = (double)(sl__now_ns() - t0) / 1e6;
        stop_ms = took > stop_ms ? took : stop_ms;
        sl__sink_stats_get(s, &a);
        sleep_ms(100); /* the stream runs on, silent */
        sl__sink_stats_get(s, &b);
        CU_ASSERT_EQUAL(a.frames_played, b.frames_played);
        CU_ASSERT_EQUAL(sl__sink_check(s, sl__now_ns(), NULL, 0), SL_OK);
    }
    CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK); /* stopped: a no-op */
    CU_ASSERT(b.frames_played >= 3 * RATE / 4); /* 3 rounds of 0.5 s */
    printf("\n    1.5 s on JACK: %d watchdog reports, longest stop %.2f ms, "
           "stall limit %.0f ms, device latency %.2f ms, output latency "
           "%.2f ms (ring %zu frames) ",
           reports, stop_ms, sl__sink_stall_limit_ns(s) / 1e6,
           sl__sink_device_latency(s) * 1e3,
           sl__sink_output_latency(s) * 1e3, sl_ring_readable(ring));
    CU_ASSERT_EQUAL(reports, 0);
    CU_ASSERT(sl__sink_device_latency(s) >= 0.0);
    CU_ASSERT(sl__sink_output_latency(s) >=
              (double)sl_ring_readable(ring) / RATE);
    sl__sink_close(s);
    feeder_stop(&f);
    sl_ring_destroy(ring);
}

/* Open and close at once, and open, start, stop, close: every teardown is
 * clean (no copy of PortAudio given up) and quick. */
static void test_open_close_clean(void)
{
    sl_ring *ring = NULL;
    unsigned poisoned = sl__pa_poisoned();
    double longest = 0.0;

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, RING_FRAMES), SL_OK);
    for (int i = 0; i < 6; i++) {
        sl__sink *s = open_pa(ring, NULL, NULL, 0);
        CU_ASSERT_FATAL(s != NULL);
        if (i % 2 == 1) {
            CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
            sleep_ms(20);
            CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);
        }
        uint64_t t0 = sl__now_ns();
        sl__sink_close(s);
        double took = (double)(sl__now_ns() - t0) / 1e6;
        longest = took > longest ? took : longest;
        sl_ring_reset(ring);
    }
    printf("\n    6 closes, the longest %.1f ms ", longest);
    CU_ASSERT_EQUAL(sl__pa_poisoned(), poisoned);
    CU_ASSERT(longest < SL__SINK_TEARDOWN_MS);
    sl_ring_destroy(ring);
}

static void test_pa_open_rejects(void)
{
    sl_ring *ring = NULL;
    sl__sink_config cfg;
    sl__sink *s = NULL;

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, 64, 1024), SL_OK);
    sl__sink_config_default(&cfg);
    cfg.ring = ring;
    CU_ASSERT_EQUAL(sl__sink_pa_open(&s, &cfg), SL_EINVAL); /* device -1 */
    cfg.device = 99999;
    CU_ASSERT_EQUAL(sl__sink_pa_open(&s, &cfg), SL_EINVAL);
    cfg.device = jack_device(NULL); /* 64 channels: more than it has */
    CU_ASSERT_EQUAL(sl__sink_pa_open(&s, &cfg), SL_EDEVICE);
    CU_ASSERT_PTR_NULL(s);
    sl_ring_destroy(ring);
}

static CU_TestInfo tests[] = {
    {"device list shows the JACK output device", test_device_list},
    {"device find: exact, substring, index, not found", test_device_find},
    {"sequence played into JACK is captured exactly; underrun is silence",
     test_capture_sequence},
    {"callback makes no forbidden call (interposition, 3 s)",
     test_rt_interposition},
    {"null sink periods make no forbidden call", test_rt_null_sink},
    {"PortAudio sink refuses bad devices and channel counts",
     test_pa_open_rejects},
    {"watchdog quiet while playing; start/stop at once; latencies",
     test_watchdog_and_start_stop},
    {"open/close at once and after playing: clean teardowns",
     test_open_close_clean},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_sink = {
    .info = {.pName = "sink", .pInitFunc = suite_init,
             .pCleanupFunc = suite_cleanup, .pTests = tests},
    .needs_jack = true,
};
