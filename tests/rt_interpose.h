/*
 * rt_interpose.h: the interposition check of the real-time rule.
 *
 * tests/rt_interpose.c defines malloc, calloc, realloc, free,
 * aligned_alloc, posix_memalign, pthread_mutex_lock/trylock,
 * pthread_cond_wait/timedwait, nanosleep, clock_nanosleep, usleep, write
 * and the printf family in the test binary, so every call to them from the
 * binary and from the shared libraries it loads (PortAudio, JACK) goes
 * through a wrapper that forwards to the real function (dlsym RTLD_NEXT).
 * While a thread is marked "on the real-time path" (sl_test_rt_hook, which
 * the sinks call through sl__sink_rt_hook around each render), every such
 * call counts as a violation.
 *
 * Not compiled under AddressSanitizer, ThreadSanitizer or
 * RealtimeSanitizer, which intercept these calls themselves:
 * sl_test_rt_available() is false there.
 *
 * Thread: the counters are atomics, readable from any thread; the mark is
 * per thread.
 */
#ifndef SLUICE_TESTS_RT_INTERPOSE_H
#define SLUICE_TESTS_RT_INTERPOSE_H

#include <stdbool.h>
#include <stdint.h>

/* True when the interposers are compiled into this binary. */
bool sl_test_rt_available(void);

/* The sink hook: marks the calling thread on (true) or off (false) the
 * real-time path and counts entries. */
void sl_test_rt_hook(bool entering);

/* Zeroes the counters. */
void sl_test_rt_reset(void);

/* Interposed calls made while marked, since the last reset. */
uint64_t sl_test_rt_violations(void);

/* Times the mark was entered since the last reset. */
uint64_t sl_test_rt_entries(void);

/* The name of the first function that violated since the last reset, or
 * "" when none did. */
const char *sl_test_rt_first_violation(void);

#endif /* SLUICE_TESTS_RT_INTERPOSE_H */
