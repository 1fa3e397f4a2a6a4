/*
 * sluice/device.h: the audio output devices sluice can play on.
 *
 * A device is a PortAudio output device (any host API: JACK, ALSA, ...).
 * Its index is PortAudio's device index, valid until PortAudio is next
 * initialized from scratch (a server or card that appears or goes away
 * changes the numbering then).
 *
 * These calls initialize PortAudio for their duration and terminate it
 * again; PortAudio counts initializations, so while anything else in the
 * process (a playing sink, the application) holds PortAudio initialized
 * they see that session's devices. When nothing holds it, each call scans
 * the host APIs anew, which takes tens of milliseconds and may make ALSA
 * print to stderr.
 *
 * After a device died under PortAudio (a JACK server that went away),
 * sluice stops using that copy of PortAudio, which can no longer be
 * shut down safely, and loads a fresh copy of the library for the sinks
 * and these calls (see docs/ARCHITECTURE.md, "Device loss"). From then on
 * the application's own Pa_Initialize no longer affects these lists.
 *
 * Thread: control threads; none of this is RT-safe.
 */
#ifndef SLUICE_DEVICE_H
#define SLUICE_DEVICE_H

#include <stddef.h>
#include <sluice/common.h>

SL_BEGIN_DECLS

/* Longest device name kept, terminator included; longer names are cut. */
#define SL_DEVICE_NAME_MAX 128
/* Longest host API name kept, terminator included. */
#define SL_DEVICE_HOST_API_MAX 64

/* One output device. Latencies are PortAudio's defaults for the device, in
 * seconds: "low" for interactive use, "high" for robust playback. */
typedef struct sl_device_info {
    int index;                            /* PortAudio device index */
    char name[SL_DEVICE_NAME_MAX];        /* as PortAudio reports it */
    char host_api[SL_DEVICE_HOST_API_MAX]; /* e.g. "JACK Audio Connection Kit" */
    int max_output_channels;              /* at least 1 */
    double default_rate;                  /* Hz */
    double default_low_latency;           /* seconds */
    double default_high_latency;          /* seconds */
} sl_device_info;

/* Lists the devices that have at least one output channel, in index order.
 * Writes up to `max` entries to `out` (which may be NULL when max is 0)
 * and the number of such devices to *count, which may exceed max: call
 * with max 0 to size the array.
 * Thread: control thread; not RT-safe (initializes PortAudio).
 * Errors: SL_EINVAL when count is NULL, or out is NULL with max > 0;
 * SL_EDEVICE when PortAudio cannot be initialized or cannot list its
 * devices. */
SL_API int sl_device_list(sl_device_info *out, size_t max, size_t *count);

/* Finds one output device. `name_or_index` is either a decimal index
 * ("3"), which must name an output device, or a name: a device whose name
 * equals it exactly wins; otherwise it must be a case-insensitive
 * substring of exactly one output device's name. Stores the device's index
 * in *index.
 * Thread: control thread; not RT-safe (initializes PortAudio).
 * Errors: SL_EINVAL when an argument is NULL or the string is empty, or
 * when the name is a substring of more than one device's name (and the
 * exact name of none): it is ambiguous; SL_ENOTFOUND when no output device
 * matches; SL_EDEVICE when PortAudio cannot be initialized. */
SL_API int sl_device_find(const char *name_or_index, int *index);

SL_END_DECLS

#endif /* SLUICE_DEVICE_H */
