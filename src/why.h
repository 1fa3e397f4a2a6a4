/*
 * why.h: reasons for people. Calls that can fail for a reason a user
 * should read ("a.flac: file is truncated") take a `why` buffer; sl__say()
 * fills it.
 */
#ifndef SLUICE_WHY_H
#define SLUICE_WHY_H

#include <stddef.h>

/* Writes a printf-style reason into `why` (cut to why_len), if there is a
 * buffer. Any thread; allocates nothing. Can't fail. */
void sl__say(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* SLUICE_WHY_H */
