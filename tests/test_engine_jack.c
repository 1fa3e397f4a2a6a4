/*
 * test_engine_jack.c: the engine on a real device, a private JACK dummy
 * server (jack_fixture.h) reached through PortAudio:
 *   - a file plays to its end on the device;
 *   - killing the server during playback gives DEVICE_LOST within 1 s,
 *     sl_engine_destroy() returns within 2 s, and a new engine plays
 *     again once a server is back.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <sndfile.h>

#include <sluice/sluice.h>
#include "clock.h"
#include "jack_fixture.h"
#include "source_fixture.h"
#include "suites.h"

#define RATE 48000
#define PERIOD 256

static sl_test_jack fixture;
static char why[256];

static int suite_init(void)
{
    return st_suite_init();
}

static int suite_cleanup(void)
{
    sl_test_jack_stop(&fixture);
    return st_suite_cleanup();
}

/* The JACK output device, or -1. The device list prints nothing here
 * that matters; ALSA's complaints about a missing card go to stderr. */
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

static sl_engine *device_engine(void)
{
    sl_engine_config c;
    sl_engine *e = NULL;
    int err;

    sl_engine_config_default(&c);
    c.output = SL_OUTPUT_DEVICE;
    c.device = jack_device();
    c.position_interval_ms = 0;
    CU_ASSERT_FATAL(c.device >= 0);
    err = sl_engine_create(&e, &c, why, sizeof why);
    if (err != SL_OK)
        fprintf(stderr, "engine: %s\n", why);
    CU_ASSERT_EQUAL_FATAL(err, SL_OK);
    return e;
}

/* Waits for an event of `type` (about `track`, when not 0). */
static int wait_event(sl_engine *e, sl_event_type type, sl_track_id track,
                      uint64_t timeout_ns, sl_event *out)
{
    uint64_t deadline = sl__now_ns() + timeout_ns;
    sl_event ev;

    while (sl__now_ns() < deadline)
        if (sl_engine_wait_event(e, &ev, 20) == SL_OK && ev.type == type &&
            (track == 0 || ev.track == track)) {
            if (out != NULL)
                *out = ev;
            return SL_OK;
        }
    return SL_ETIMEDOUT;
}

static sl_track_id play(sl_engine *e, const char *name, int loop)
{
    sl_track_id id = 0;

    CU_ASSERT_EQUAL_FATAL(sl_track_open_file(e, st_path(name), &id, why,
                                             sizeof why),
                          SL_OK);
    if (loop) {
        CU_ASSERT_EQUAL(sl_track_set_loop(e, id, 0, -1), SL_OK);
    } else {
        CU_ASSERT_EQUAL(sl_engine_start(e), SL_OK); /* a new engine */
    }
    CU_ASSERT_EQUAL(sl_track_play(e, id), SL_OK);
    return id;
}

static void test_device_lost(void)
{
    size_t n = RATE / 2;
    float *x = make_signal(n, 2, RATE);
    sl_engine_stats st;
    sl_event ev;

    CU_ASSERT_FATAL(write_file(st_path("dev.wav"),
                               SF_FORMAT_WAV | SF_FORMAT_FLOAT, RATE, 2, x,
                               n) == 0);
    free(x);
    CU_ASSERT_FATAL(sl_test_jack_start(&fixture, RATE, PERIOD) == 0);

    /* A file plays to its end on the device. */
    sl_engine *e = device_engine();
    sl_track_id id = play(e, "dev.wav", 0);
    CU_ASSERT_EQUAL(wait_event(e, SL_EVENT_TRACK_ENDED, id, 5000000000u, &ev),
                    SL_OK);
    CU_ASSERT_EQUAL(ev.frame, (int64_t)n);
    CU_ASSERT_EQUAL(sl_engine_get_stats(e, &st), SL_OK);
    CU_ASSERT(st.frames_played >= n);
    CU_ASSERT_EQUAL(st.rate, RATE);

    /* The server dies while a loop plays. */
    id = play(e, "dev.wav", 1);
    CU_ASSERT_EQUAL(wait_event(e, SL_EVENT_TRACK_STARTED, id, 2000000000u,
                               NULL),
                    SL_OK);
    uint64_t t0 = sl__now_ns();
    CU_ASSERT_EQUAL_FATAL(kill(fixture.pid, SIGKILL), 0);
    CU_ASSERT_EQUAL(wait_event(e, SL_EVENT_DEVICE_LOST, 0, 1000000000u, &ev),
                    SL_OK);
    uint64_t lost_ns = sl__now_ns() - t0;
    CU_ASSERT(lost_ns < 1000000000u);
    CU_ASSERT_EQUAL(ev.error, SL_EDEVICE);
    CU_ASSERT(ev.reason[0] != '\0');
    CU_ASSERT_EQUAL(sl_engine_get_stats(e, &st), SL_OK);
    CU_ASSERT_EQUAL(st.device_lost, 1);
    CU_ASSERT_EQUAL(sl_engine_stop(e), SL_OK);
    CU_ASSERT_EQUAL(sl_engine_start(e), SL_EDEVICE);
    t0 = sl__now_ns();
    sl_engine_destroy(e);
    uint64_t destroy_ns = sl__now_ns() - t0;
    CU_ASSERT(destroy_ns < 2000000000u);
    printf("\n    jackd killed: DEVICE_LOST after %.1f ms (\"%s\"), destroy "
           "%.1f ms ", lost_ns / 1e6, ev.reason, destroy_ns / 1e6);
    sl_test_jack_stop(&fixture);

    /* A new engine plays again on a new server. */
    CU_ASSERT_FATAL(sl_test_jack_start(&fixture, RATE, PERIOD) == 0);
    e = device_engine();
    id = play(e, "dev.wav", 0);
    CU_ASSERT_EQUAL(wait_event(e, SL_EVENT_TRACK_ENDED, id, 5000000000u, &ev),
                    SL_OK);
    CU_ASSERT_EQUAL(ev.frame, (int64_t)n);
    sl_engine_destroy(e);
    sl_test_jack_stop(&fixture);
}

static CU_TestInfo tests[] = {
    {"plays; jackd killed: DEVICE_LOST < 1 s, destroy < 2 s, plays again",
     test_device_lost},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_engine_jack = {
    .info = {.pName = "engine_jack", .pInitFunc = suite_init,
             .pCleanupFunc = suite_cleanup, .pTests = tests},
    .needs_jack = true,
};
