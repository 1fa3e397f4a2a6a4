/*
 * sluice/error.h: error codes shared by every sluice module.
 *
 * Functions that can fail return 0 (SL_OK) or a negative SL_E* code. There
 * is no global error state. The values are frozen: a code keeps its number
 * forever, new codes are appended with new numbers.
 */
#ifndef SLUICE_ERROR_H
#define SLUICE_ERROR_H

#include <sluice/common.h>

SL_BEGIN_DECLS

/* X(name, value, message): the single table that the enum, sl_strerror()
 * and sl_error_name() are generated from. */
#define SL_ERROR_TABLE(X)                                                      \
    X(OK, 0, "success")                                                        \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOMEM, -2, "out of memory")                                             \
    X(EFULL, -3, "queue is full")                                              \
    X(EEMPTY, -4, "nothing available")                                         \
    X(ETIMEDOUT, -5, "timed out")                                              \
    X(ECANCELED, -6, "canceled")                                               \
    X(ESTATE, -7, "operation not allowed in the current state")                \
    X(ENOTFOUND, -8, "not found")                                              \
    X(EIO, -9, "input/output error")                                           \
    X(EFORMAT, -10, "unsupported or malformed audio format")                   \
    X(EDEVICE, -11, "audio device error")                                      \
    X(ETHREAD, -12, "could not create or control a thread")                    \
    X(EFAULT, -13, "a synchronous fault was trapped")                          \
    X(ERANGE, -14, "value out of range")                                       \
    X(ECLOSED, -15, "already shut down")                                       \
    X(EUNSUPPORTED, -16, "not supported")                                      \
    X(EBUSY, -17, "resource busy")

/* Error codes. SL_OK is zero, every error is negative. */
typedef enum sl_error {
#define SL__ERROR_ENUM(name, value, msg) SL_##name = (value),
    SL_ERROR_TABLE(SL__ERROR_ENUM)
#undef SL__ERROR_ENUM
} sl_error;

/* Describes an error code in a short English sentence fragment.
 * Returns a static string; an unknown code gives "unknown error".
 * Thread: any thread, RT-safe.
 * Errors: none. */
SL_API const char *sl_strerror(int err);

/* Returns the symbolic name of an error code, such as "SL_EINVAL".
 * Returns a static string; an unknown code gives "SL_UNKNOWN".
 * Thread: any thread, RT-safe.
 * Errors: none. */
SL_API const char *sl_error_name(int err);

SL_END_DECLS

#endif /* SLUICE_ERROR_H */
