/*
 * pa_lib.c: the linked PortAudio and the fresh copies loaded after a
 * device died under it (see pa_lib.h for why they exist).
 *
 * Thread: control threads; one mutex guards the table of copies and every
 * Pa_Initialize and Pa_Terminate made through it.
 */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sluice/error.h>
#include "pa_lib.h"

/* glibc's namespace limit (DL_NNS) is 16, the base namespace included. */
#define MAX_COPIES 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sl__pa copies[MAX_COPIES];
static unsigned n_copies;  /* loaded so far, the linked one included */
static unsigned current;   /* the copy acquire hands out */
static unsigned poisoned;

/* The copy sluice is linked with. Lock held. */
static void bind_linked(sl__pa *pa)
{
    pa->initialize = Pa_Initialize;
    pa->terminate = Pa_Terminate;
    pa->device_count = Pa_GetDeviceCount;
    pa->default_output = Pa_GetDefaultOutputDevice;
    pa->device_info = Pa_GetDeviceInfo;
    pa->host_api_info = Pa_GetHostApiInfo;
    pa->open_stream = Pa_OpenStream;
    pa->close_stream = Pa_CloseStream;
    pa->start_stream = Pa_StartStream;
    pa->stop_stream = Pa_StopStream;
    pa->is_stream_active = Pa_IsStreamActive;
    pa->stream_info = Pa_GetStreamInfo;
    pa->set_finished_callback = Pa_SetStreamFinishedCallback;
    pa->error_text = Pa_GetErrorText;
}

/* Looks up every entry of the table in a loaded copy. Returns false when
 * one is missing. */
static bool bind_loaded(sl__pa *pa, void *h)
{
    /* POSIX lets a data pointer from dlsym be converted to a function
     * pointer; the union says so without a cast warning. */
#define BIND(field, symbol)                                                  \
    do {                                                                     \
        union { void *p; __typeof__(pa->field) f; } u = {dlsym(h, symbol)};  \
        if (u.p == NULL)                                                     \
            return false;                                                    \
        pa->field = u.f;                                                     \
    } while (0)
    BIND(initialize, "Pa_Initialize");
    BIND(terminate, "Pa_Terminate");
    BIND(device_count, "Pa_GetDeviceCount");
    BIND(default_output, "Pa_GetDefaultOutputDevice");
    BIND(device_info, "Pa_GetDeviceInfo");
    BIND(host_api_info, "Pa_GetHostApiInfo");
    BIND(open_stream, "Pa_OpenStream");
    BIND(close_stream, "Pa_CloseStream");
    BIND(start_stream, "Pa_StartStream");
    BIND(stop_stream, "Pa_StopStream");
    BIND(is_stream_active, "Pa_IsStreamActive");
    BIND(stream_info, "Pa_GetStreamInfo");
    BIND(set_finished_callback, "Pa_SetStreamFinishedCallback");
    BIND(error_text, "Pa_GetErrorText");
#undef BIND
    return true;
}

/* Loads the linked PortAudio's shared library again into a namespace of
 * its own and makes it the current copy. Lock held. */
static int load_fresh(char *why, size_t why_len)
{
    union { PaError (*f)(void); void *p; } linked = {Pa_Initialize};
    Dl_info info;
    void *h;

    if (n_copies >= MAX_COPIES) {
        snprintf(why, why_len, "PortAudio lost a device %u times; no fresh "
                 "copy can be loaded (%d namespaces)", poisoned, MAX_COPIES);
        return SL_EDEVICE;
    }
    if (dladdr(linked.p, &info) == 0 || info.dli_fname == NULL) {
        snprintf(why, why_len, "cannot find PortAudio's shared library");
        return SL_EDEVICE;
    }
    h = dlmopen(LM_ID_NEWLM, info.dli_fname, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf(why, why_len, "cannot load a fresh PortAudio: %s",
                 dlerror());
        return SL_EDEVICE;
    }
    sl__pa *pa = &copies[n_copies];
    memset(pa, 0, sizeof *pa);
    if (!bind_loaded(pa, h)) {
        snprintf(why, why_len, "%s lacks a PortAudio function",
                 info.dli_fname);
        dlclose(h);
        return SL_EDEVICE;
    }
    pa->environ_of = dlsym(h, "environ");
    pa->handle = h;
    pa->number = n_copies;
    current = n_copies++;
    return SL_OK;
}

int sl__pa_acquire(sl__pa **out, char *why, size_t why_len)
{
    int err = SL_OK;

    *out = NULL;
    pthread_mutex_lock(&lock);
    if (n_copies == 0) {
        bind_linked(&copies[0]);
        n_copies = 1;
    }
    if (copies[current].poisoned)
        err = load_fresh(why, why_len);
    if (err == SL_OK) {
        sl__pa *pa = &copies[current];
        /* A loaded copy has a libc of its own, whose `environ` still
         * points at the array this process had when the copy was loaded;
         * setenv() may since have moved and freed it. PortAudio and
         * libjack read the environment (JACK_DEFAULT_SERVER, ALSA's
         * variables) when they initialize, so show them the current one. */
        if (pa->environ_of != NULL)
            *pa->environ_of = environ;
        PaError pe = pa->initialize();
        if (pe == paNoError) {
            pa->refs++;
            *out = pa;
        } else {
            snprintf(why, why_len, "Pa_Initialize: %s", pa->error_text(pe));
            err = SL_EDEVICE;
        }
    }
    pthread_mutex_unlock(&lock);
    return err;
}

void sl__pa_release(sl__pa *pa)
{
    pthread_mutex_lock(&lock);
    pa->refs--;
    if (!pa->poisoned)
        pa->terminate();
    pthread_mutex_unlock(&lock);
}

void sl__pa_poison(sl__pa *pa)
{
    pthread_mutex_lock(&lock);
    if (!pa->poisoned) {
        pa->poisoned = true;
        poisoned++;
    }
    pthread_mutex_unlock(&lock);
}

bool sl__pa_is_poisoned(sl__pa *pa)
{
    pthread_mutex_lock(&lock);
    bool p = pa->poisoned;
    pthread_mutex_unlock(&lock);
    return p;
}

unsigned sl__pa_poisoned(void)
{
    pthread_mutex_lock(&lock);
    unsigned n = poisoned;
    pthread_mutex_unlock(&lock);
    return n;
}
