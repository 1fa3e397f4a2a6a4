/*
 * sluice/common.h: definitions every public sluice header relies on.
 *
 * SL_API marks a function as part of libsluice's public interface. The
 * library is built with -fvisibility=hidden, so only SL_API symbols are
 * exported from the shared object.
 */
#ifndef SLUICE_COMMON_H
#define SLUICE_COMMON_H

#if defined(__GNUC__) || defined(__clang__)
#  define SL_API __attribute__((visibility("default")))
#else
#  define SL_API
#endif

#ifdef __cplusplus
#  define SL_BEGIN_DECLS extern "C" {
#  define SL_END_DECLS }
#else
#  define SL_BEGIN_DECLS
#  define SL_END_DECLS
#endif

SL_BEGIN_DECLS

/* How urgently something must be served. Orders the scheduler's pass and the
 * worker pool's queues: Audible work (what is heard right now) first, Warm
 * work (what will be heard soon: the next queued track, read-ahead) next,
 * Idle work (paused or finished) last. A larger value is more urgent. */
typedef enum sl_service_class {
    SL_CLASS_IDLE = 0,
    SL_CLASS_WARM = 1,
    SL_CLASS_AUDIBLE = 2
} sl_service_class;

/* The number of service classes. */
#define SL_CLASS_COUNT 3

/* How carefully sample rates are converted, cheapest last. BEST, MEDIUM
 * and FAST are libsamplerate's band-limited sinc converters (about 97 dB
 * SNR; passband 97%, 90% and 80% of the band); LINEAR is linear
 * interpolation (cheapest, audible aliasing on bright material). */
typedef enum sl_resample_quality {
    SL_RESAMPLE_BEST = 0,
    SL_RESAMPLE_MEDIUM = 1,
    SL_RESAMPLE_FAST = 2,
    SL_RESAMPLE_LINEAR = 3
} sl_resample_quality;

SL_END_DECLS

#endif /* SLUICE_COMMON_H */
