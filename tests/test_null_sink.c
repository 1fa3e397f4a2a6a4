/*
 * test_null_sink.c: the null sink (src/sink_null.c) and the render step
 * it shares with the PortAudio sink (src/sink.c): paced rate, unpaced
 * speed, exact underrun accounting, the low-watermark wake, and repeated
 * start/stop/close (run under ASan for leaks).
 *
 * Thread: the CUnit (main) thread; count_wake() runs on the sink's thread
 * and only touches an atomic.
 */
#include "config.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sluice/error.h>
#include "clock.h"
#include "sink.h"
#include "suites.h"

#define RATE 48000
#define CHANNELS 2

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void count_wake(void *arg)
{
    atomic_fetch_add_explicit((atomic_uint *)arg, 1, memory_order_relaxed);
}

static sl__sink *open_null(sl_ring *ring, bool paced, unsigned period)
{
    sl__sink_config cfg;
    sl__sink *s = NULL;

    sl__sink_config_default(&cfg);
    cfg.ring = ring;
    cfg.rate = RATE;
    cfg.paced = paced;
    cfg.period = period;
    CU_ASSERT_EQUAL(sl__sink_null_open(&s, &cfg), SL_OK);
    return s;
}

/* Paced: the heartbeat advances at the nominal rate within 1 % over 3 s,
 * measured between two heartbeats so that start-up does not count. */
static void test_paced_rate(void)
{
    sl_ring *ring = NULL;
    sl__sink_stats a, b;

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, 1024), SL_OK);
    sl__sink *s = open_null(ring, true, 256);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
    sleep_ms(100);
    sl__sink_stats_get(s, &a);
    sleep_ms(3000);
    sl__sink_stats_get(s, &b);
    CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);

    double secs = (double)(b.heartbeat_ns - a.heartbeat_ns) / 1e9;
    double rate = (double)(b.frames_played - a.frames_played) / secs;
    double error = (rate - RATE) / RATE;
    printf("\n    paced: %.1f frames/s over %.3f s (%+.3f %%) ", rate, secs,
           error * 100.0);
    CU_ASSERT(error >= -0.01 && error <= 0.01);
    /* The ring stayed empty: everything played was an underrun, in one
     * event. */
    CU_ASSERT_EQUAL(b.underrun_frames, b.frames_played);
    CU_ASSERT_EQUAL(b.underrun_events, 1);
    sl__sink_close(s);
    sl_ring_destroy(ring);
}

/* Unpaced: a full ring of 1.36 s of audio is consumed far faster than
 * real time, every frame of it accounted for. */
static void test_unpaced_fast(void)
{
    enum { FRAMES = 65536 };
    sl_ring *ring = NULL;
    sl__sink_stats st;
    static float block[FRAMES * CHANNELS];

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, FRAMES), SL_OK);
    CU_ASSERT_EQUAL(sl_ring_write(ring, block, FRAMES), FRAMES);
    sl__sink *s = open_null(ring, false, 256);
    CU_ASSERT_FATAL(s != NULL);
    uint64_t t0 = sl__now_ns();
    CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
    while (sl_ring_readable(ring) > 0 && sl__now_ns() - t0 < 2000000000u)
        sleep_ms(1);
    uint64_t took = sl__now_ns() - t0;
    CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);
    sl__sink_stats_get(s, &st);
    double realtime = (double)FRAMES / RATE * 1e9 / (double)took;
    printf("\n    unpaced: %d frames in %.2f ms (%.0fx real time) ", FRAMES,
           (double)took / 1e6, realtime);
    CU_ASSERT(realtime > 10.0);
    CU_ASSERT_EQUAL(st.frames_played - st.underrun_frames, FRAMES);
    CU_ASSERT(st.underrun_events <= 1);
    sl__sink_close(s);
    sl_ring_destroy(ring);
}

/* The wake is called only once the fill is below the watermark: none in
 * the first 30 ms (at most ~1700 of 4096 frames played), some later. */
static void test_watermark_wake(void)
{
    sl_ring *ring = NULL;
    sl__sink_config cfg;
    sl__sink *s = NULL;
    atomic_uint wakes = 0;
    static float block[4096 * CHANNELS];

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, 8192), SL_OK);
    CU_ASSERT_EQUAL(sl_ring_write(ring, block, 4096), 4096);
    sl__sink_config_default(&cfg);
    cfg.ring = ring;
    cfg.period = 256;
    cfg.low_watermark = 1024;
    cfg.wake = count_wake;
    cfg.wake_arg = &wakes;
    CU_ASSERT_EQUAL_FATAL(sl__sink_null_open(&s, &cfg), SL_OK);
    CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
    sleep_ms(30);
    CU_ASSERT_EQUAL(atomic_load(&wakes), 0);
    sleep_ms(170);
    CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);
    sl__sink_stats st;
    sl__sink_stats_get(s, &st);
    printf("\n    %u wakes ", atomic_load(&wakes));
    CU_ASSERT(atomic_load(&wakes) > 0);
    CU_ASSERT_EQUAL(st.wakes, atomic_load(&wakes));
    CU_ASSERT_EQUAL(st.frames_played - st.underrun_frames, 4096);
    sl__sink_close(s);
    sl_ring_destroy(ring);
}

/* Start/stop/close in a loop, paced and unpaced; stop when stopped is a
 * no-op, start when started is refused. ASan checks that nothing leaks. */
static void test_start_stop_cycles(void)
{
    sl_ring *ring = NULL;

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, 1024), SL_OK);
    for (int i = 0; i < 20; i++) {
        sl__sink *s = open_null(ring, i % 2 == 0, 0);
        CU_ASSERT_FATAL(s != NULL);
        CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);
        for (int k = 0; k < 3; k++) {
            CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
            CU_ASSERT_EQUAL(sl__sink_start(s), SL_ESTATE);
            sleep_ms(2);
            CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);
        }
        if (i % 4 == 0)
            CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK); /* close stops it */
        sl__sink_close(s);
    }
    sl__sink_close(NULL);
    sl_ring_destroy(ring);
}

static void test_open_rejects(void)
{
    sl__sink_config cfg;
    sl__sink *s = (sl__sink *)&cfg;

    sl__sink_config_default(&cfg);
    CU_ASSERT_EQUAL(sl__sink_null_open(&s, &cfg), SL_EINVAL);
    CU_ASSERT_PTR_NULL(s);
}

/* ------------------------------------------------------------ watchdog */

/* A sink that renders only when the test says so, so that the heartbeat
 * stands still and sl__sink_check() can be driven to the nanosecond. */
typedef struct hand_sink {
    sl__sink base; /* first */
    bool device_lost; /* what its device check says */
} hand_sink;

static int hand_start(sl__sink *s)
{
    (void)s;
    return SL_OK;
}

static int hand_stop(sl__sink *s)
{
    (void)s;
    return SL_OK;
}

static void hand_close(sl__sink *s)
{
    free(s);
}

static int hand_check(sl__sink *s, char *why, size_t why_len)
{
    if (!((hand_sink *)s)->device_lost)
        return SL_OK;
    snprintf(why, why_len, "the test pulled the plug");
    return SL_EDEVICE;
}

static const sl__sink_vtable hand_vtable = {
    .name = "hand",
    .start = hand_start,
    .stop = hand_stop,
    .close = hand_close,
    .check = hand_check,
};

static hand_sink *hand_open(sl_ring *ring, unsigned periods, unsigned min_ms)
{
    sl__sink_config cfg;
    hand_sink *h = calloc(1, sizeof *h);

    sl__sink_config_default(&cfg);
    cfg.ring = ring;
    cfg.stall_periods = periods;
    cfg.stall_min_ms = min_ms;
    if (h != NULL)
        sl__sink_init(&h->base, &hand_vtable, &cfg);
    return h;
}

/* The stall limit, from the later of the last render and the start, to
 * the nanosecond; a loss is final and carries its reason. */
static void test_watchdog_heartbeat(void)
{
    sl_ring *ring = NULL;
    float buf[4800 * CHANNELS];
    char why[160];
    sl__sink_stats st;

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, 1024), SL_OK);
    hand_sink *h = hand_open(ring, 0, 0); /* defaults: 8 periods, 200 ms */
    CU_ASSERT_FATAL(h != NULL);
    sl__sink *s = &h->base;
    uint64_t limit = sl__sink_stall_limit_ns(s);
    CU_ASSERT_EQUAL(limit, 200000000u); /* no render yet: the floor */

    /* Not started: never stalled. */
    CU_ASSERT_EQUAL(sl__sink_check(s, UINT64_MAX / 2, why, sizeof why), SL_OK);
    CU_ASSERT_STRING_EQUAL(why, "");

    /* Started, no render yet: counted from the start. */
    uint64_t t0 = sl__now_ns();
    CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
    uint64_t since = atomic_load(&s->started_ns);
    CU_ASSERT(since >= t0);
    CU_ASSERT_EQUAL(sl__sink_check(s, since + limit, NULL, 0), SL_OK);
    CU_ASSERT_EQUAL(sl__sink_check(s, since - 1, NULL, 0), SL_OK);

    /* A render of 4800 frames: 8 periods of 100 ms is the limit now. */
    sl__sink_render(s, buf, 4800);
    sl__sink_stats_get(s, &st);
    limit = sl__sink_stall_limit_ns(s);
    CU_ASSERT_EQUAL(limit, 800000000u);
    CU_ASSERT_EQUAL(sl__sink_check(s, st.heartbeat_ns + limit, why,
                                   sizeof why), SL_OK);
    CU_ASSERT_EQUAL(sl__sink_check(s, st.heartbeat_ns + limit + 1, why,
                                   sizeof why), SL_EDEVICE);
    printf("\n    \"%s\" ", why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "hand sink stalled"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "limit 800 ms"));

    /* Final: an earlier time, a new render, a restart change nothing. */
    sl__sink_render(s, buf, 4800);
    CU_ASSERT_EQUAL(sl__sink_check(s, 0, why, sizeof why), SL_EDEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "stalled"));
    CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);
    CU_ASSERT_EQUAL(sl__sink_start(s), SL_EDEVICE);
    sl__sink_close(s);

    /* Configured: 3 periods of 100 ms, at least 500 ms; then 2 periods,
     * at least 50 ms. A small now cut to why_len stays terminated. */
    h = hand_open(ring, 3, 500);
    s = &h->base;
    sl__sink_render(s, buf, 4800);
    CU_ASSERT_EQUAL(sl__sink_stall_limit_ns(s), 500000000u);
    sl__sink_close(s);
    h = hand_open(ring, 2, 50);
    s = &h->base;
    CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
    sl__sink_render(s, buf, 4800);
    sl__sink_stats_get(s, &st);
    CU_ASSERT_EQUAL(sl__sink_stall_limit_ns(s), 200000000u);
    CU_ASSERT_EQUAL(sl__sink_check(s, st.heartbeat_ns + 200000001u, why, 8),
                    SL_EDEVICE);
    CU_ASSERT_EQUAL(strlen(why), 7);
    sl__sink_close(s);
    sl_ring_destroy(ring);
}

/* The device's own check is consulted started or not, and is final. */
static void test_watchdog_device_check(void)
{
    sl_ring *ring = NULL;
    char why[160];

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, 1024), SL_OK);
    hand_sink *h = hand_open(ring, 0, 0);
    CU_ASSERT_FATAL(h != NULL);
    CU_ASSERT_EQUAL(sl__sink_check(&h->base, 0, why, sizeof why), SL_OK);
    h->device_lost = true;
    CU_ASSERT_EQUAL(sl__sink_check(&h->base, 0, why, sizeof why), SL_EDEVICE);
    CU_ASSERT_STRING_EQUAL(why, "the test pulled the plug");
    h->device_lost = false;
    CU_ASSERT_EQUAL(sl__sink_check(&h->base, 0, why, sizeof why), SL_EDEVICE);
    CU_ASSERT_EQUAL(sl__sink_start(&h->base), SL_EDEVICE);
    sl__sink_close(&h->base);
    sl_ring_destroy(ring);
}

/* A paced null sink polled like the engine would (every 50 ms for 1 s)
 * is never reported; stopped, it is never stalled. Latency: what the
 * ring holds, the null device adds nothing. */
static void test_watchdog_quiet_and_latency(void)
{
    sl_ring *ring = NULL;
    char why[160];
    int reports = 0;
    static float block[4800 * CHANNELS];

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, CHANNELS, 8192), SL_OK);
    sl__sink *s = open_null(ring, true, 0);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(sl_ring_write(ring, block, 4800), 4800);
    CU_ASSERT_DOUBLE_EQUAL(sl__sink_output_latency(s), 0.1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sl__sink_device_latency(s), 0.0, 0.0);
    CU_ASSERT_EQUAL(sl__sink_start(s), SL_OK);
    for (int i = 0; i < 20; i++) {
        sleep_ms(50);
        if (sl__sink_check(s, sl__now_ns(), why, sizeof why) != SL_OK &&
            reports++ == 0)
            printf("\n    unexpected: %s ", why);
    }
    CU_ASSERT_EQUAL(reports, 0);
    CU_ASSERT_EQUAL(sl__sink_stop(s), SL_OK);
    CU_ASSERT_EQUAL(sl__sink_check(s, sl__now_ns() + 3600000000000ull, why,
                                   sizeof why), SL_OK);
    CU_ASSERT_DOUBLE_EQUAL(sl__sink_output_latency(s), 0.0, 1e-12);
    sl__sink_close(s);
    sl_ring_destroy(ring);
}

#if defined(__has_feature)
#  if __has_feature(realtime_sanitizer)
#    define RTSAN_BUILD 1
#  endif
#endif
#ifdef RTSAN_BUILD
static void *volatile hole; /* keeps the compiler from eliding malloc */

static void allocating_wake(void *arg)
{
    (void)arg;
    hole = malloc(64);
    free(hole);
}

/* Runs a null sink whose wake is called every period in a child process
 * for 200 ms; returns the child's wait status. */
static int run_child(void (*wake)(void *))
{
    int status = -1;
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        sl_ring *ring = NULL;
        sl__sink_config cfg;
        sl__sink *s = NULL;
        atomic_uint wakes = 0;
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDERR_FILENO); /* RealtimeSanitizer's report */
        if (sl_ring_create(&ring, CHANNELS, 1024) != SL_OK)
            _exit(3);
        sl__sink_config_default(&cfg);
        cfg.ring = ring;
        cfg.low_watermark = 4096; /* above the capacity: always wake */
        cfg.wake = wake;
        cfg.wake_arg = &wakes;
        if (sl__sink_null_open(&s, &cfg) != SL_OK ||
            sl__sink_start(s) != SL_OK)
            _exit(4);
        sleep_ms(200);
        sl__sink_close(s);
        sl_ring_destroy(ring);
        _exit(0);
    }
    if (pid > 0)
        waitpid(pid, &status, 0);
    return status;
}

/* RealtimeSanitizer build only: the render step is a nonblocking context,
 * so a wake that allocates kills the process, and one that does not
 * lets it finish. */
static void test_rtsan_catches_allocation(void)
{
    int clean = run_child(count_wake);
    int broken = run_child(allocating_wake);

    printf("\n    clean child: %s %d, allocating child: %s %d ",
           WIFEXITED(clean) ? "exit" : "signal",
           WIFEXITED(clean) ? WEXITSTATUS(clean) : WTERMSIG(clean),
           WIFEXITED(broken) ? "exit" : "signal",
           WIFEXITED(broken) ? WEXITSTATUS(broken) : WTERMSIG(broken));
    CU_ASSERT(WIFEXITED(clean) && WEXITSTATUS(clean) == 0);
    CU_ASSERT(!(WIFEXITED(broken) && WEXITSTATUS(broken) == 0));
}
#endif

static CU_TestInfo tests[] = {
    {"paced null sink plays the nominal rate (3 s, +-1 %)", test_paced_rate},
    {"unpaced null sink runs far faster than real time", test_unpaced_fast},
    {"low-watermark wake only below the watermark", test_watermark_wake},
    {"start/stop/close cycles", test_start_stop_cycles},
    {"open without a ring is refused", test_open_rejects},
    {"watchdog: stall limit to the ns, final, with its reason",
     test_watchdog_heartbeat},
    {"watchdog: the device's own check", test_watchdog_device_check},
    {"watchdog quiet on a healthy sink; output latency",
     test_watchdog_quiet_and_latency},
#ifdef RTSAN_BUILD
    {"RealtimeSanitizer catches an allocating render",
     test_rtsan_catches_allocation},
#endif
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_null_sink = {
    .info = {.pName = "null_sink", .pTests = tests},
};
