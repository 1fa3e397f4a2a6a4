/*
 * version.c: the version of the linked library. Pure functions; any thread.
 */
#include <sluice/version.h>

const char *sl_version_string(void)
{
    return SL_VERSION_STRING;
}

int sl_version_number(void)
{
    return SL_VERSION_NUMBER;
}
