/*
 * test_portaudio.c: PortAudio's JACK host API against a real private JACK
 * server (jack_fixture.h): an output stream reaches the server's graph and
 * its callback runs at the real-time rate.
 *
 * Thread: the CUnit (main) thread; on_output() runs on PortAudio's JACK
 * process thread and talks to the test only through atomics.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <portaudio.h>

#include "clock.h"
#include "jack_fixture.h"
#include "suites.h"

#define RATE 48000
#define PERIOD 256
#define CHANNELS 2
#define MEASURE_NS (2 * 1000000000ull)
#define FIRST_CALLBACK_TIMEOUT_NS (5 * 1000000000ull)
#define TOLERANCE 0.05

static sl_test_jack fixture;
static bool pa_up;

typedef struct counter {
    _Atomic uint64_t first_ns;    /* when the first callback ran; 0 before */
    _Atomic uint64_t first_block; /* the frames of that first callback */
    _Atomic uint64_t frames;      /* delivered so far */
} counter;

/* Writes silence and counts. Stores first_ns before the first frames are
 * added (release), so a reader that sees frames sees first_ns too. */
static int on_output(const void *in, void *out, unsigned long frames,
                     const PaStreamCallbackTimeInfo *time,
                     PaStreamCallbackFlags flags, void *arg)
{
    counter *c = arg;

    (void)in;
    (void)time;
    (void)flags;
    memset(out, 0, frames * CHANNELS * sizeof(float));
    if (atomic_load_explicit(&c->first_ns, memory_order_relaxed) == 0) {
        atomic_store_explicit(&c->first_ns, sl__now_ns(),
                              memory_order_relaxed);
        atomic_store_explicit(&c->first_block, frames, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&c->frames, frames, memory_order_release);
    return paContinue;
}

static PaError initialize_quietly(void)
{
    PaError err = sl_test_pa_initialize();
    if (err == paNoError)
        pa_up = true;
    return err;
}

static void tear_down(void)
{
    if (pa_up) {
        Pa_Terminate(); /* closes any stream a failed test left open */
        pa_up = false;
    }
    sl_test_jack_stop(&fixture);
}

/* The JACK host API's default output device, or paNoDevice. */
static PaDeviceIndex jack_output_device(void)
{
    PaHostApiIndex api = Pa_HostApiTypeIdToHostApiIndex(paJACK);

    if (api < 0) {
        fprintf(stderr, "PortAudio has no JACK host API: %s\n",
                Pa_GetErrorText(api));
        return paNoDevice;
    }
    return Pa_GetHostApiInfo(api)->defaultOutputDevice;
}

static PaError open_output(PaStream **stream, counter *c)
{
    PaStreamParameters out = {
        .device = jack_output_device(),
        .channelCount = CHANNELS,
        .sampleFormat = paFloat32,
    };

    if (out.device == paNoDevice)
        return paDeviceUnavailable;
    out.suggestedLatency = Pa_GetDeviceInfo(out.device)->defaultLowOutputLatency;
    return Pa_OpenStream(stream, NULL, &out, RATE,
                         paFramesPerBufferUnspecified, paNoFlag, on_output, c);
}

/* Counts PortAudio's output ports on the server and how many of them are
 * connected, as seen by an independent client of the fixture's server. */
static void count_portaudio_ports(int *ports, int *connected)
{
    jack_client_t *c = sl_test_jack_client(&fixture, "sl-test-lister");
    const char **names;

    *ports = *connected = 0;
    if (c == NULL)
        return;
    names = jack_get_ports(c, "^PortAudio:", NULL, JackPortIsOutput);
    for (int i = 0; names != NULL && names[i] != NULL; i++) {
        (*ports)++;
        if (jack_port_connected(jack_port_by_name(c, names[i])) > 0)
            (*connected)++;
    }
    jack_free(names);
    jack_client_close(c);
}

/* Waits for the first callback; returns its time, or 0 on timeout. */
static uint64_t wait_first_callback(counter *c)
{
    uint64_t deadline = sl__now_ns() + FIRST_CALLBACK_TIMEOUT_NS;

    while (atomic_load_explicit(&c->frames, memory_order_acquire) == 0) {
        if (sl__now_ns() > deadline)
            return 0;
        usleep(1000);
    }
    return atomic_load_explicit(&c->first_ns, memory_order_relaxed);
}

static void test_output_runs_at_real_time_rate(void)
{
    counter c = {0};
    PaStream *stream = NULL;
    int ports, connected;

    CU_ASSERT_EQUAL_FATAL(sl_test_jack_start(&fixture, RATE, PERIOD), 0);
    CU_ASSERT_EQUAL_FATAL(initialize_quietly(), paNoError);
    CU_ASSERT_EQUAL_FATAL(open_output(&stream, &c), paNoError);
    CU_ASSERT_EQUAL_FATAL(Pa_StartStream(stream), paNoError);

    uint64_t first = wait_first_callback(&c);
    CU_ASSERT_FATAL(first != 0);
    count_portaudio_ports(&ports, &connected);
    CU_ASSERT_EQUAL(ports, CHANNELS);
    CU_ASSERT_EQUAL(connected, CHANNELS);

    while (sl__now_ns() < first + MEASURE_NS)
        usleep(1000);
    /* The first block went out at `first`, so it does not count towards
     * the time after it; leaving it in would bias the rate by one period. */
    uint64_t frames = atomic_load_explicit(&c.frames, memory_order_acquire) -
                      atomic_load_explicit(&c.first_block,
                                           memory_order_relaxed);
    uint64_t elapsed = sl__now_ns() - first;
    double nominal = (double)RATE * (double)elapsed / 1e9;
    double error = ((double)frames - nominal) / nominal;
    printf("\n    %llu frames in %.4f s, nominal %.0f (%+.3f %%) ",
           (unsigned long long)frames, (double)elapsed / 1e9, nominal,
           error * 100.0);
    CU_ASSERT(error >= -TOLERANCE && error <= TOLERANCE);

    CU_ASSERT_EQUAL(Pa_StopStream(stream), paNoError);
    CU_ASSERT_EQUAL(Pa_CloseStream(stream), paNoError);
}

static CU_TestInfo tests[] = {
    {"output stream on JACK runs at the real-time rate (2 s, +-5 %)",
     test_output_runs_at_real_time_rate},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_portaudio = {
    .info = {.pName = "portaudio", .pTearDownFunc = tear_down,
             .pTests = tests},
    .needs_jack = true,
};
