/*
 * latency.h: how full the engine keeps the PCM ring, and how that target
 * adapts to underruns.
 *
 * The target is a fill of the ring in frames, a whole number of device
 * periods (unless limit_frames cuts the floor or the ceiling, which are
 * then exactly the limit): the producer keeps the ring at least that full,
 * and the
 * output latency is about that fill plus the device's own latency
 * (sl__sink_output_latency()). By default it is 4 periods; the config
 * gives it in ms.
 *
 * Adaptive mode moves the target between the configured one (the floor)
 * and a ceiling:
 *   - grow: an update that sees new underrun events multiplies the target
 *     by grow_factor (1.5), by at least one period, rounded up to whole
 *     periods, capped at the ceiling;
 *   - hold: underruns within hold_ns (1 s) of a growth are the same
 *     episode (the ring is still filling to the new target) and do not
 *     grow it again;
 *   - shrink: after quiet_ns (10 s) without an underrun and without a
 *     change, the target drops to the whole number of periods below it
 *     (one period less), not below the floor, and again after each further
 *     quiet stretch.
 * Growing fast and shrinking one period per quiet stretch is the
 * hysteresis: one underrun costs many stretches of clean play before the
 * latency is back where it was, so the target does not oscillate around
 * the edge of what the machine can do.
 *
 * Pure: no clock, no threads. The caller feeds the time (CLOCK_MONOTONIC
 * ns) and the sink's cumulative underrun event count; each change comes
 * back as a sl__latency_change, which the engine reports as a
 * LATENCY_CHANGED event.
 *
 * Thread: one thread per controller (the engine's control side or its
 * scheduler); no shared state.
 */
#ifndef SLUICE_LATENCY_H
#define SLUICE_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl__latency_config {
    unsigned rate;       /* device frames per second; required */
    unsigned period;     /* device period in frames, the unit of every
                            change; required */
    double target_ms;    /* the configured target, also the adaptive floor;
                            0: 4 periods */
    double max_ms;       /* the adaptive ceiling; 0: 8 times the target */
    size_t limit_frames; /* hard cap in frames, such as what the ring can
                            hold; 0: none */
    bool adaptive;
    double grow_factor;  /* 0: 1.5; values at or below 1 grow by a period */
    uint64_t hold_ns;    /* 0: 1 s */
    uint64_t quiet_ns;   /* 0: 10 s */
} sl__latency_config;

typedef enum sl__latency_reason {
    SL__LATENCY_GROW = 1, /* underruns */
    SL__LATENCY_SHRINK,   /* a quiet stretch */
} sl__latency_reason;

/* One change of the target, for the LATENCY_CHANGED event. */
typedef struct sl__latency_change {
    size_t from_frames;
    size_t to_frames;
    sl__latency_reason reason;
    uint64_t underruns; /* the underrun event count that caused a growth */
} sl__latency_change;

typedef struct sl__latency {
    /* resolved configuration */
    unsigned rate;
    size_t period;
    size_t floor, ceiling; /* frames */
    bool adaptive;
    double grow_factor;
    uint64_t hold_ns, quiet_ns;
    /* state */
    size_t target;
    uint64_t underruns_seen;
    uint64_t now;            /* the latest time seen */
    uint64_t last_underrun;  /* or the start */
    uint64_t last_change;    /* or the start */
    uint64_t last_grow;
    bool grown;              /* last_grow is valid */
} sl__latency;

/* Every field at its default: rate 48000, period 256, target 4 periods,
 * not adaptive, factor 1.5, hold 1 s, quiet 10 s. */
void sl__latency_config_default(sl__latency_config *cfg);

/* Sets up a controller at time `now_ns` with the target at its floor and
 * an underrun count of 0 seen so far.
 * Errors: SL_EINVAL (rate or period 0; a negative or non-finite ms or
 * factor). */
int sl__latency_init(sl__latency *l, const sl__latency_config *cfg,
                     uint64_t now_ns);

/* The target fill in frames. */
size_t sl__latency_target(const sl__latency *l);

/* The floor and ceiling in frames (equal when not adaptive). */
size_t sl__latency_floor(const sl__latency *l);
size_t sl__latency_ceiling(const sl__latency *l);

/* Frames as ms at the controller's rate. */
double sl__latency_ms(const sl__latency *l, size_t frames);

/* Feeds the time and the cumulative count of underrun events (the sink's
 * stats). A count lower than the last one is a new sink: it becomes the
 * baseline. A time earlier than the last one counts as the last one.
 * Returns true and fills *change (which may be NULL) when the target
 * changed. Can't fail. */
bool sl__latency_update(sl__latency *l, uint64_t now_ns, uint64_t underruns,
                        sl__latency_change *change);

/* The real output latency in seconds for a ring holding `fill_frames` at
 * `rate` on a device whose own latency is `device_s`: when a frame written
 * now is heard. Pure. */
double sl__latency_output_s(size_t fill_frames, unsigned rate,
                            double device_s);

#endif /* SLUICE_LATENCY_H */
