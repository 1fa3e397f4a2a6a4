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

#endif /* SLUICE_COMMON_H */
