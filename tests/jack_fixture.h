/*
 * jack_fixture.h: a private JACK server (jackd with the dummy driver) that
 * integration tests start themselves and that is always torn down again,
 * also when a test fails, the runner is interrupted, or the runner dies.
 *
 * Thread: the test (main) thread only. The signal and exit hooks it
 * installs run on whichever thread receives the signal or calls exit().
 *
 * jackd is not the runner's child but the child of a guardian: a forked
 * copy of the runner that does nothing but wait on a pipe whose write end
 * only the runner holds. When the runner closes it (a stop) or dies in any
 * way (the kernel closes it then, SIGKILL included), the guardian stops
 * jackd (SIGTERM, a grace period, SIGKILL) and removes what the server left
 * in /dev/shm and in JACK's shared server registry. That last step is why
 * it exists: measured with jackd 1.9.21, a server told to stop while one of
 * its clients has just been killed leaves the client's semaphore, often its
 * own semaphores and segments, and its entry in the registry, which has
 * only 8 server slots for the whole machine; it also sometimes needs more
 * than 2 s to exit at all.
 *
 * Guarantees, and what provides each:
 *   - sl_test_jack_stop(): closes the pipe and waits for the guardian.
 *   - exit() without a stop: an atexit hook stops every running server.
 *   - SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT: a handler closes the pipes
 *     and waits for the guardians, then re-raises under the previous
 *     disposition, so the server is gone before the runner is.
 *   - SIGKILL of the runner, or a crash (fault.c owns SIGSEGV and friends):
 *     the kernel closes the pipe; the guardian cleans up on its own.
 *   - SIGKILL of the guardian: jackd has PR_SET_PDEATHSIG = SIGTERM.
 */
#ifndef SLUICE_TESTS_JACK_FIXTURE_H
#define SLUICE_TESTS_JACK_FIXTURE_H

#include <stdbool.h>
#include <sys/types.h>

#include <jack/jack.h>

#define SL_TEST_JACK_NAME_MAX 48
#define SL_TEST_JACK_PREFIX_MAX (SL_TEST_JACK_NAME_MAX + 32)
/* jack-<uid>-<N> segment numbers tracked across a run; JACK's registry has
 * far fewer slots than this. */
#define SL_TEST_JACK_MAX_SEGMENTS 1024

typedef struct sl_test_jack {
    char name[SL_TEST_JACK_NAME_MAX]; /* unique: pid and a counter */
    unsigned rate;
    unsigned period;
    pid_t pid;      /* jackd (also its process group); 0 when not running */
    pid_t guardian; /* jackd's parent, which cleans up after it */
    pid_t owner;    /* the process that started it: a forked child must not
                       stop its parent's server from its own exit hooks */
    int control_fd; /* closing it tells the guardian to stop the server */
    /* jackd's stdout and stderr: an anonymous memory file (memfd), so
     * that no kill, however abrupt, can leave a log behind on disk. */
    int log_fd;
    /* jack-<uid>-<N> segments that existed before the start: after a
     * SIGKILL only newer ones can be this server's. */
    unsigned char segments_before[SL_TEST_JACK_MAX_SEGMENTS / 8];
    /* The prefixes of its /dev/shm entries. */
    char shm_prefix[2][SL_TEST_JACK_PREFIX_MAX];
} sl_test_jack;

/* Starts jackd -d dummy at `rate` Hz with `period` frames per cycle under a
 * new unique server name, waits (up to about 10 s) until the server accepts
 * clients and runs at the asked rate and period, and points
 * JACK_DEFAULT_SERVER at it, so JACK clients opened afterwards (PortAudio's,
 * at Pa_Initialize) find it. On failure prints jackd's log and the reason to
 * stderr and leaves nothing running.
 * `j` must be zero-initialized or have been started before (a running
 * server is stopped first), and must stay valid until sl_test_jack_stop():
 * keep it in static storage and stop it in the suite's tear-down, which
 * also runs after a failed fatal assertion.
 * Returns 0, or -1 on failure. */
int sl_test_jack_start(sl_test_jack *j, unsigned rate, unsigned period);

/* Stops the server and removes its files; waits until the server and its
 * guardian are gone.
 * Safe to call on a fixture that is not running (does nothing) and more
 * than once. Open JACK clients on the server must be closed first
 * (Pa_Terminate for PortAudio). */
void sl_test_jack_stop(sl_test_jack *j);

/* Opens a client on the fixture's server (never starts a server). Returns
 * NULL when the server does not accept clients. Close with
 * jack_client_close(). */
jack_client_t *sl_test_jack_client(const sl_test_jack *j, const char *client);

/* True while a live (not zombie) jackd process serves `name`. */
bool sl_test_jack_server_alive(const char *name);

/* The number of entries in /dev/shm that name server `name` (its sockets
 * and semaphores). Zero after a clean stop. */
int sl_test_jack_shm_entries(const char *name);

/* True while JACK's shared registry (/dev/shm/jack-shm-registry) lists
 * server `name`. A stale entry holds one of its 8 server slots; the
 * guardian frees the ones its server leaves. */
bool sl_test_jack_registered(const char *name);

/* Sets in `bits` (SL_TEST_JACK_MAX_SEGMENTS / 8 bytes) the jack-<uid>-<N>
 * segments in /dev/shm that no live process maps, which is what a killed
 * server leaves behind, and returns how many there are. */
int sl_test_jack_orphan_segments(unsigned char *bits);

/* Pa_Initialize with the chatter ALSA prints when there is no sound card
 * kept out of the test log, unless initialization fails, when it is printed
 * because it may explain why. Returns paNoError (0) or PortAudio's error. */
int sl_test_pa_initialize(void);

#endif /* SLUICE_TESTS_JACK_FIXTURE_H */
