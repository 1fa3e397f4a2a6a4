/*
 * events.c: the names of event types and log levels. Any thread.
 */
#include "config.h"

#include <sluice/events.h>

const char *sl_event_type_name(sl_event_type type)
{
    switch (type) {
#define SL__EVENT_NAME(name, value)                                            \
    case SL_EVENT_##name:                                                      \
        return #name;
        SL_EVENT_TYPE_TABLE(SL__EVENT_NAME)
#undef SL__EVENT_NAME
    }
    return "UNKNOWN";
}

const char *sl_log_level_name(sl_log_level level)
{
    switch (level) {
    case SL_LOG_ERROR:
        return "error";
    case SL_LOG_WARN:
        return "warn";
    case SL_LOG_INFO:
        return "info";
    case SL_LOG_DEBUG:
        return "debug";
    }
    return "unknown";
}
