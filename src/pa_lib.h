/*
 * pa_lib.h: the copies of PortAudio that the sinks and the device list
 * call, and what happens to one whose device died.
 *
 * PortAudio keeps its state in globals: one initialization count, one
 * list of host APIs scanned when the count goes from 0 to 1. With the
 * PortAudio 19.6.0 of Debian 12 (built with assertions), once the JACK
 * server behind its JACK host API has died:
 *   - stopping, aborting or closing a running stream waits for a signal
 *     that never comes (a 10-minute timed wait, then an error);
 *   - closing a stopped stream, or the Pa_Terminate that takes the count
 *     to 0, aborts the process: an assert() on jack_port_unregister() or
 *     jack_deactivate(), which fail on a dead server;
 *   - while the count stays above 0 the host APIs are never scanned again,
 *     so no stream can be opened on a new server.
 * So a copy of PortAudio whose device died is finished: sluice never
 * calls into it again ("poisoned") and never lets its count reach 0 (the
 * lost sink's reference is kept on purpose). The next sl__pa_acquire()
 * loads a fresh copy of the same shared library into a new link-map
 * namespace (dlmopen(LM_ID_NEWLM)), with its own globals and its own JACK
 * client, and that copy is used from then on. The first copy is the
 * PortAudio sluice is linked with; glibc allows 16 namespaces, so a
 * process survives 15 device losses this way, after which
 * sl__pa_acquire() fails with SL_EDEVICE. A loaded copy brings its own
 * libc, whose environment pointer is set to this process's environment at
 * every sl__pa_acquire(); changing the environment while a sink on such a
 * copy runs is as unsafe as any setenv() beside a thread that calls
 * getenv().
 *
 * Thread: control threads. Acquire, release and poison take one mutex,
 * which serializes every Pa_Initialize and Pa_Terminate sluice makes. The
 * other calls through the table follow the callers' own rules (one
 * control thread per sink; a sink's teardown thread while that control
 * thread waits for it).
 */
#ifndef SLUICE_PA_LIB_H
#define SLUICE_PA_LIB_H

#include <stdbool.h>
#include <stddef.h>

#include <portaudio.h>

/* One loaded copy of PortAudio: its API and sluice's bookkeeping. */
typedef struct sl__pa {
    PaError (*initialize)(void);
    PaError (*terminate)(void);
    PaDeviceIndex (*device_count)(void);
    PaDeviceIndex (*default_output)(void);
    const PaDeviceInfo *(*device_info)(PaDeviceIndex device);
    const PaHostApiInfo *(*host_api_info)(PaHostApiIndex api);
    PaError (*open_stream)(PaStream **stream, const PaStreamParameters *in,
                           const PaStreamParameters *out, double rate,
                           unsigned long frames, PaStreamFlags flags,
                           PaStreamCallback *callback, void *arg);
    PaError (*close_stream)(PaStream *stream);
    PaError (*start_stream)(PaStream *stream);
    PaError (*stop_stream)(PaStream *stream);
    PaError (*is_stream_active)(PaStream *stream);
    const PaStreamInfo *(*stream_info)(PaStream *stream);
    PaError (*set_finished_callback)(PaStream *stream,
                                     PaStreamFinishedCallback *callback);
    const char *(*error_text)(PaError err);
    /* Under the module's mutex. */
    unsigned number;  /* 0: the linked copy; 1, 2, ...: loaded later */
    void *handle;     /* dlmopen's handle; NULL for the linked copy */
    char ***environ_of; /* the loaded copy's libc's `environ`, or NULL */
    unsigned refs;    /* sluice's initializations not terminated yet */
    bool poisoned;    /* a device died under it: never called again */
} sl__pa;

/* Initializes the current copy of PortAudio (Pa_Initialize, counted) and
 * returns it; loads a fresh copy first when the current one is poisoned.
 * Pair with sl__pa_release(). On failure writes a reason to `why`.
 * Errors: SL_EDEVICE (Pa_Initialize failed, or no fresh copy could be
 * loaded). */
int sl__pa_acquire(sl__pa **out, char *why, size_t why_len);

/* Gives back one sl__pa_acquire(): Pa_Terminate, except on a poisoned
 * copy, which is never called again. Can't fail. */
void sl__pa_release(sl__pa *pa);

/* Marks a copy as finished because a device died under it (or a call
 * into it did not return). The caller's reference is kept forever, so its
 * initialization count never reaches 0. Can't fail. */
void sl__pa_poison(sl__pa *pa);

/* Whether `pa` is poisoned. Can't fail. */
bool sl__pa_is_poisoned(sl__pa *pa);

/* The number of copies poisoned so far in this process. */
unsigned sl__pa_poisoned(void);

#endif /* SLUICE_PA_LIB_H */
