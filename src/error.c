/*
 * error.c: names and messages of the sluice error codes, generated from the
 * table in sluice/error.h. Pure functions; any thread.
 */
#include <sluice/error.h>

const char *sl_strerror(int err)
{
    switch (err) {
#define SL__ERROR_MSG(name, value, msg) case SL_##name: return msg;
        SL_ERROR_TABLE(SL__ERROR_MSG)
#undef SL__ERROR_MSG
    default:
        return "unknown error";
    }
}

const char *sl_error_name(int err)
{
    switch (err) {
#define SL__ERROR_NAME(name, value, msg) case SL_##name: return "SL_" #name;
        SL_ERROR_TABLE(SL__ERROR_NAME)
#undef SL__ERROR_NAME
    default:
        return "SL_UNKNOWN";
    }
}
