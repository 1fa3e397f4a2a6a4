/*
 * device.c: listing and finding PortAudio output devices
 * (include/sluice/device.h).
 *
 * Thread: control threads only. Every call brackets its work with
 * sl__pa_acquire()/sl__pa_release() (Pa_Initialize/Pa_Terminate, which
 * PortAudio reference-counts) on the copy of PortAudio the sinks use now:
 * after a device loss that is a fresh copy (pa_lib.h), so the indices
 * listed are the ones a sink opens.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <portaudio.h>

#include <sluice/device.h>
#include <sluice/error.h>
#include "pa_lib.h"

/* Copies a string into a fixed buffer, cutting it if needed. Can't fail. */
static void copy_name(char *dst, size_t size, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;

    if (n >= size)
        n = size - 1;
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static void fill_info(sl__pa *pa, sl_device_info *out, int index,
                      const PaDeviceInfo *d)
{
    const PaHostApiInfo *api = pa->host_api_info(d->hostApi);

    memset(out, 0, sizeof *out);
    out->index = index;
    copy_name(out->name, sizeof out->name, d->name);
    copy_name(out->host_api, sizeof out->host_api,
              api != NULL ? api->name : "");
    out->max_output_channels = d->maxOutputChannels;
    out->default_rate = d->defaultSampleRate;
    out->default_low_latency = d->defaultLowOutputLatency;
    out->default_high_latency = d->defaultHighOutputLatency;
}

/* The device at `index` when it has outputs, else NULL. PortAudio must be
 * initialized. */
static const PaDeviceInfo *output_device(sl__pa *pa, int index)
{
    const PaDeviceInfo *d = pa->device_info(index);

    return d != NULL && d->maxOutputChannels > 0 ? d : NULL;
}

int sl_device_list(sl_device_info *out, size_t max, size_t *count)
{
    PaDeviceIndex n;
    size_t found = 0;
    sl__pa *pa;
    char why[128];

    if (count == NULL || (out == NULL && max > 0))
        return SL_EINVAL;
    *count = 0;
    if (sl__pa_acquire(&pa, why, sizeof why) != SL_OK)
        return SL_EDEVICE;
    n = pa->device_count();
    if (n < 0) {
        sl__pa_release(pa);
        return SL_EDEVICE;
    }
    for (int i = 0; i < n; i++) {
        const PaDeviceInfo *d = output_device(pa, i);
        if (d == NULL)
            continue;
        if (found < max)
            fill_info(pa, &out[found], i, d);
        found++;
    }
    sl__pa_release(pa);
    *count = found;
    return SL_OK;
}

/* True when `s` is a non-empty string of decimal digits. */
static bool is_index(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* Case-insensitive strstr for ASCII. */
static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay != '\0'; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

/* Looks up a name among the output devices; PortAudio is initialized. */
static int find_by_name(sl__pa *pa, const char *name, int *index)
{
    PaDeviceIndex n = pa->device_count();
    int sub = -1, subs = 0;

    if (n < 0)
        return SL_EDEVICE;
    for (int i = 0; i < n; i++) {
        const PaDeviceInfo *d = output_device(pa, i);
        if (d == NULL || d->name == NULL)
            continue;
        if (strcmp(d->name, name) == 0) {
            *index = i;
            return SL_OK;
        }
        if (contains_nocase(d->name, name)) {
            sub = i;
            subs++;
        }
    }
    if (subs == 0)
        return SL_ENOTFOUND;
    if (subs > 1)
        return SL_EINVAL;
    *index = sub;
    return SL_OK;
}

/* Checks a decimal index against the output devices. */
static int find_by_index(sl__pa *pa, const char *digits, int *index)
{
    char *end;
    unsigned long v = strtoul(digits, &end, 10);
    PaDeviceIndex n = pa->device_count();

    if (*end != '\0' || n < 0 || v >= (unsigned long)n ||
        output_device(pa, (int)v) == NULL)
        return SL_ENOTFOUND;
    *index = (int)v;
    return SL_OK;
}

int sl_device_find(const char *name_or_index, int *index)
{
    int err;
    sl__pa *pa;
    char why[128];

    if (name_or_index == NULL || index == NULL || *name_or_index == '\0')
        return SL_EINVAL;
    if (sl__pa_acquire(&pa, why, sizeof why) != SL_OK)
        return SL_EDEVICE;
    if (is_index(name_or_index))
        err = find_by_index(pa, name_or_index, index);
    else
        err = find_by_name(pa, name_or_index, index);
    sl__pa_release(pa);
    return err;
}
