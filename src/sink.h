/*
 * sink.h: real-time output sinks, the consumers of the PCM ring.
 *
 * A sink takes frames out of an sl_ring at a device's pace: the PortAudio
 * sink (sink_pa.c) on PortAudio's callback thread, the null sink
 * (sink_null.c) on its own thread, paced by CLOCK_MONOTONIC or unpaced.
 * Both share one const vtable and one render step (sink.c): copy from the
 * ring, zero-fill and count when short, stamp the heartbeat, call the wake
 * callback when the ring's fill is below the low watermark.
 *
 * Supervision: sl__sink_check() is the watchdog the control side polls (a
 * stream PortAudio stopped, a stalled heartbeat); close never hangs, even
 * on a device that died (see sl__sink_close()).
 *
 * Thread: open, start, stop, check and close on one control thread; stats
 * and latencies from any thread; the render step on the sink's real-time
 * thread only.
 */
#ifndef SLUICE_SINK_H
#define SLUICE_SINK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/ring.h>
#include "rt.h" /* SL__NONBLOCKING */

typedef struct sl__sink sl__sink;

typedef struct sl__sink_config {
    sl_ring *ring;     /* the sink is its consumer; channels come from it */
    unsigned rate;     /* frames per second */
    int device;        /* PortAudio device index (PortAudio sink) */
    bool paced;        /* null sink: real time (true) or unpaced */
    double latency_ms; /* requested output latency; 0: device's low default */
    unsigned period;   /* frames per callback; 0: PortAudio's choice, or
                          5 ms for the null sink */
    size_t low_watermark; /* wake when the fill drops below this */
    /* Called on the real-time thread after a render that leaves fewer
     * than low_watermark frames in the ring. Must be RT-safe, such as
     * sl_scheduler_wake_rt(). NULL: no wake. */
    void (*wake)(void *arg);
    void *wake_arg;
    /* Watchdog (sl__sink_check): a started sink that has not rendered for
     * stall_periods periods, and for at least stall_min_ms, has stalled.
     * 0: the defaults, 8 periods and 200 ms. */
    unsigned stall_periods;
    unsigned stall_min_ms;
} sl__sink_config;

/* Counters, each read atomically; a snapshot is not one instant. */
typedef struct sl__sink_stats {
    uint64_t frames_played;   /* frames handed to the device, silence too */
    uint64_t underrun_frames; /* of those, zero-filled for want of data */
    uint64_t underrun_events; /* runs of consecutive short renders */
    uint64_t pa_underflows;   /* callbacks PortAudio flagged as underflow */
    uint64_t wakes;           /* wake callbacks made */
    uint64_t heartbeat_frames; /* frames_played, read after heartbeat_ns:
                                  at or after that render */
    uint64_t heartbeat_ns;    /* CLOCK_MONOTONIC time of it; 0: none yet */
} sl__sink_stats;

typedef struct sl__sink_vtable {
    const char *name;
    int (*start)(sl__sink *s);
    int (*stop)(sl__sink *s);
    void (*close)(sl__sink *s);
    /* The device's own verdict for sl__sink_check(): SL_OK, or SL_EDEVICE
     * with a reason. NULL: a clock never fails. */
    int (*check)(sl__sink *s, char *why, size_t why_len);
} sl__sink_vtable;

/* The state every sink starts with; implementations embed it first. */
struct sl__sink {
    const sl__sink_vtable *vt;
    sl_ring *ring;
    unsigned channels;
    atomic_size_t low_watermark; /* the control side may move it */
    void (*wake)(void *arg);
    void *wake_arg;
    unsigned rate;
    uint64_t stall_periods;
    uint64_t stall_min_ns;
    double device_latency; /* seconds, set at open; read-only after */
    bool short_before; /* render thread only: the last render was short */
    atomic_bool started;          /* between start and stop */
    atomic_uint_fast64_t started_ns; /* when it last started */
    atomic_uint_fast64_t period;  /* frames of the last render; 0: none */
    bool lost;            /* control side: sl__sink_check found it lost */
    char lost_why[128];   /* and why */
    atomic_uint_fast64_t frames_played;
    atomic_uint_fast64_t underrun_frames;
    atomic_uint_fast64_t underrun_events;
    atomic_uint_fast64_t pa_underflows;
    atomic_uint_fast64_t wakes;
    atomic_uint_fast64_t heartbeat_ns;
};

/* A config with every field at its default: no ring, 48000 Hz, device -1,
 * paced, latency 0 (device default), period 0, watermark 0, no wake, a
 * stall after 8 periods but at least 200 ms. */
void sl__sink_config_default(sl__sink_config *cfg);

/* Opens and starts a PortAudio output stream on cfg->device. The stream
 * runs from open to close and plays silence until sl__sink_start(); start
 * and stop only switch whether its callback consumes the ring, so neither
 * ever waits on the device. Holds a copy of PortAudio initialized until
 * close (pa_lib.h: after a device loss that is a fresh copy, whose device
 * indices are those sl_device_list() reports then). Control thread.
 * Errors: SL_EINVAL (no ring, no rate, bad device index); SL_ENOMEM;
 * SL_EDEVICE when PortAudio refuses the device, rate or channels, or
 * cannot be initialized or start the stream. */
int sl__sink_pa_open(sl__sink **out, const sl__sink_config *cfg);

/* Opens a null sink (not started). Control thread.
 * Errors: SL_EINVAL (no ring, no rate); SL_ENOMEM. */
int sl__sink_null_open(sl__sink **out, const sl__sink_config *cfg);

/* Starts consuming. Control thread.
 * Errors: SL_ESTATE when running; SL_EDEVICE when the device is lost
 * (sl__sink_check() says why); SL_ETHREAD (null sink). */
int sl__sink_start(sl__sink *s);

/* Stops consuming and waits until the render thread has left the ring
 * (at most one render: the PortAudio stream itself keeps running until
 * close, so this never waits on the device). Returns SL_OK also when not
 * running. Control thread.
 * Errors: none so far; callers should still check. */
int sl__sink_stop(sl__sink *s);

/* Stops and frees the sink; NULL is ignored. Never hangs: a PortAudio
 * stream is stopped and closed on a teardown thread that close waits for
 * at most SL__SINK_TEARDOWN_MS. A stream whose device is lost, or whose
 * teardown does not return in time, is abandoned: it and the small block
 * its callback reads stay allocated for good (its callback, should it ever
 * run again, outputs silence and touches nothing else), and its copy of
 * PortAudio is poisoned (pa_lib.h) so the next open uses a fresh one.
 * Control thread. */
void sl__sink_close(sl__sink *s);

/* How long close waits for a PortAudio teardown before abandoning it. */
#define SL__SINK_TEARDOWN_MS 500
/* The watchdog's default stall limit: this many periods, and at least
 * this many ms (a 64-frame period is 1.3 ms: 8 of them would be well
 * inside the scheduling noise of a loaded machine). */
#define SL__SINK_STALL_PERIODS 8
#define SL__SINK_STALL_MIN_MS 200

/* The watchdog's check, for the control side to call periodically (every
 * 100 ms keeps a loss within the 1 s the engine promises). Returns SL_OK,
 * or SL_EDEVICE with a reason in `why` (NUL-terminated, cut to why_len)
 * when the device has stopped:
 *   - the PortAudio stream is no longer active though sluice never stopped
 *     it (on JACK: the server is gone);
 *   - a started sink has not rendered for the stall limit: stall_periods
 *     periods of the last render's size, and at least stall_min_ms,
 *     counted from the later of the last render and the start;
 *   - the device was found lost before (a loss is final).
 * `now_ns` is CLOCK_MONOTONIC (sl__now_ns()); passing it in keeps the
 * check deterministic for tests.
 * Thread: the sink's control thread, like open, start, stop and close
 * (the engine's supervision must not run it beside them); not RT-safe.
 * Errors: SL_EDEVICE as above. */
int sl__sink_check(sl__sink *s, uint64_t now_ns, char *why, size_t why_len);

/* The stall limit sl__sink_check() applies now, in ns. Any thread. */
uint64_t sl__sink_stall_limit_ns(const sl__sink *s);

/* The device's own output latency in seconds, as the device reported it
 * at open (PortAudio: Pa_GetStreamInfo()->outputLatency; null sink: 0).
 * Any thread; RT-safe. */
double sl__sink_device_latency(const sl__sink *s);

/* The real output latency in seconds: what the ring holds now plus the
 * device's latency, that is how long a frame written into the ring now
 * takes to be heard. Any thread; RT-safe. */
double sl__sink_output_latency(const sl__sink *s);

/* Moves the low watermark (the engine's adaptive latency does, as its
 * target fill changes). Any thread; RT-safe. */
void sl__sink_set_low_watermark(sl__sink *s, size_t frames);

/* Reads the counters. Any thread; RT-safe. */
void sl__sink_stats_get(const sl__sink *s, sl__sink_stats *st);

/* Shared setup of the embedded state from a config. Can't fail. */
void sl__sink_init(sl__sink *s, const sl__sink_vtable *vt,
                   const sl__sink_config *cfg);

/* The render step: fills `out` with `frames` interleaved frames from the
 * ring, zero-filling and counting what is missing, stamps the heartbeat
 * and wakes below the watermark. Render thread; RT-safe. */
void sl__sink_render(sl__sink *s, float *out, size_t frames);

/* Test hook around real-time code: when set, called with true on entering
 * and false on leaving each render (PortAudio callback or null period).
 * NULL in production, where it costs one relaxed load and a branch. Set
 * it only while no sink runs. */
typedef void (*sl__sink_rt_hook_fn)(bool entering);
extern _Atomic(sl__sink_rt_hook_fn) sl__sink_rt_hook;

/* Calls the hook, if any. RT-safe. */
static inline void sl__sink_rt_mark(bool entering)
{
    sl__sink_rt_hook_fn h =
        atomic_load_explicit(&sl__sink_rt_hook, memory_order_relaxed);
    if (h != NULL)
        h(entering);
}

#endif /* SLUICE_SINK_H */
