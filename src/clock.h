/*
 * clock.h: the monotonic clock every module measures time with.
 * Thread: any thread; RT-safe (clock_gettime on CLOCK_MONOTONIC is a vDSO
 * call on Linux: no lock, no allocation).
 */
#ifndef SLUICE_CLOCK_H
#define SLUICE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds since an arbitrary fixed point; never goes backwards. */
static inline uint64_t sl__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The absolute CLOCK_MONOTONIC time `ns` nanoseconds from now, for timed
 * waits on condition variables created with a monotonic clock attribute. */
static inline struct timespec sl__deadline_in(uint64_t ns)
{
    uint64_t t = sl__now_ns() + ns;
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    return ts;
}

#endif /* SLUICE_CLOCK_H */
