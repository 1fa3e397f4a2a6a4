/*
 * why.c: sl__say(), the one writer of reasons (see why.h). Any thread.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "why.h"

void sl__say(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || why_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}
