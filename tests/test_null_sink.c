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
#ifdef RTSAN_BUILD
    {"RealtimeSanitizer catches an allocating render",
     test_rtsan_catches_allocation},
#endif
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_null_sink = {
    .info = {.pName = "null_sink", .pTests = tests},
};
