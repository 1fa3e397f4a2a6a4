/*
 * jack_fixture.h: a private JACK server (jackd with the dummy driver) that
 * integration tests start themselves and that is always torn down again,
 * also when a test fails, the runner is interrupted, or the runner dies.
 *
 * Thread: the test (main) thread only. The signal and exit hooks it
 * installs run on whichever thread receives the signal or calls exit().
 *
 * Guarantees, and what provides each:
 *   - sl_test_jack_stop(): SIGTERM (jackd then removes its own files in
 *     /dev/shm), SIGKILL after a grace period, then removal of whatever a
 *     killed server left behind that provably was its own.
 *   - exit() without a stop: an atexit hook stops every running server.
 *   - SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT: a handler terminates every
 *     running server, then re-raises under the previous disposition.
 *   - SIGKILL of the runner, or a crash (fault.c owns SIGSEGV and friends):
 *     jackd is started with PR_SET_PDEATHSIG = SIGTERM, so the kernel tells
 *     it to shut down cleanly when its parent goes away. The kernel tracks
 *     the *thread* that forked, so start the server from a thread that
 *     outlives it (the test thread).
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
    pid_t pid;   /* jackd (also its process group); 0 when not running */
    pid_t owner; /* the process that started it: a forked child must not
                    stop its parent's server from its own exit hooks */
    /* jackd's stdout and stderr: an anonymous memory file (memfd), so
     * that no kill, however abrupt, can leave a log behind on disk. */
    int log_fd;
    /* jack-<uid>-<N> segments that existed before the start: after a
     * SIGKILL only newer ones can be this server's. */
    unsigned char segments_before[SL_TEST_JACK_MAX_SEGMENTS / 8];
    /* The prefixes of its /dev/shm entries, made up front so the signal
     * handler can remove them without formatting strings. */
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

/* Stops the server and removes its files; waits until the process is gone.
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

/* Sets in `bits` (SL_TEST_JACK_MAX_SEGMENTS / 8 bytes) the jack-<uid>-<N>
 * segments in /dev/shm that no live process maps, which is what a killed
 * server leaves behind, and returns how many there are. */
int sl_test_jack_orphan_segments(unsigned char *bits);

#endif /* SLUICE_TESTS_JACK_FIXTURE_H */
