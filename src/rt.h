/*
 * rt.h: marking the real-time code for RealtimeSanitizer.
 *
 * In a build with clang's -fsanitize=realtime (./configure
 * --enable-sanitizers=realtime CC=clang-22), a function marked
 * SL__NONBLOCKING is a real-time context: while it runs, any call RTSan
 * knows can allocate, lock, sleep or block (malloc, free,
 * pthread_mutex_lock, nanosleep, write, syscall, ...) aborts the process
 * with a report naming the call. In every other build the marks are empty.
 *
 * What is marked: the sinks' render step and the code that calls it (the
 * PortAudio callback, the null sink's period), the ring's producer and
 * consumer calls, and the wakes the device callback makes
 * (sl__wake_signal, sl_scheduler_wake_rt). A mark goes on the definition;
 * the public headers stay free of compiler-specific attributes.
 *
 * Thread: any; this header only defines macros and inline wrappers.
 */
#ifndef SLUICE_RT_H
#define SLUICE_RT_H

#if defined(__has_feature)
#  if __has_feature(realtime_sanitizer)
#    define SL__RTSAN 1
#  endif
#endif

#ifdef SL__RTSAN
#  include <sanitizer/rtsan_interface.h>
#  define SL__NONBLOCKING __attribute__((nonblocking))
/* Lifts RealtimeSanitizer's checks on this thread until
 * sl__rtsan_resume(). Only around one call that RTSan cannot tell from a
 * blocking one and that is known not to block; say why where it is used. */
static inline void sl__rtsan_suspend(void) { __rtsan_disable(); }
static inline void sl__rtsan_resume(void) { __rtsan_enable(); }
#else
#  define SL__NONBLOCKING
static inline void sl__rtsan_suspend(void) {}
static inline void sl__rtsan_resume(void) {}
#endif

#endif /* SLUICE_RT_H */
