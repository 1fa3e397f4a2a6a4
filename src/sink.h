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
 * Thread: open, start, stop and close on one control thread; stats from
 * any thread; the render step on the sink's real-time thread only.
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
} sl__sink_vtable;

/* The state every sink starts with; implementations embed it first. */
struct sl__sink {
    const sl__sink_vtable *vt;
    sl_ring *ring;
    unsigned channels;
    size_t low_watermark;
    void (*wake)(void *arg);
    void *wake_arg;
    bool short_before; /* render thread only: the last render was short */
    atomic_uint_fast64_t frames_played;
    atomic_uint_fast64_t underrun_frames;
    atomic_uint_fast64_t underrun_events;
    atomic_uint_fast64_t pa_underflows;
    atomic_uint_fast64_t wakes;
    atomic_uint_fast64_t heartbeat_ns;
};

/* A config with every field at its default: no ring, 48000 Hz, device -1,
 * paced, latency 0 (device default), period 0, watermark 0, no wake. */
void sl__sink_config_default(sl__sink_config *cfg);

/* Opens a PortAudio output stream on cfg->device (not started). Holds
 * PortAudio initialized until close. Control thread.
 * Errors: SL_EINVAL (no ring, no rate, bad device index); SL_ENOMEM;
 * SL_EDEVICE when PortAudio refuses the device, rate or channels. */
int sl__sink_pa_open(sl__sink **out, const sl__sink_config *cfg);

/* Opens a null sink (not started). Control thread.
 * Errors: SL_EINVAL (no ring, no rate); SL_ENOMEM. */
int sl__sink_null_open(sl__sink **out, const sl__sink_config *cfg);

/* Starts consuming. Control thread.
 * Errors: SL_ESTATE when running; SL_EDEVICE (PortAudio); SL_ETHREAD. */
int sl__sink_start(sl__sink *s);

/* Stops consuming and waits until the render thread has left the ring.
 * Returns SL_OK also when not running. Control thread.
 * Errors: SL_EDEVICE when PortAudio fails to stop the stream. */
int sl__sink_stop(sl__sink *s);

/* Stops and frees the sink; NULL is ignored. Control thread. */
void sl__sink_close(sl__sink *s);

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
