/*
 * test_jack.c: the private JACK server fixture itself: it comes up with
 * the asked configuration, and it leaves no process, no /dev/shm entry and
 * no slot in JACK's server registry behind after a stop, after an interrupt,
 * or after its owner is killed, also while a client is active on it.
 *
 * Thread: the CUnit (main) thread. The forked owners run the fixture (and
 * possibly a JACK client, with its threads) until the test kills them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "jack_fixture.h"
#include "suites.h"

#define GONE_TIMEOUT_NS (5 * 1000000000ull)

static sl_test_jack fixture, second;

static void tear_down(void)
{
    sl_test_jack_stop(&fixture);
    sl_test_jack_stop(&second);
}

/* True when every segment set in `after` is also set in `before`. */
static bool no_new_orphans(const unsigned char *before,
                           const unsigned char *after)
{
    for (size_t i = 0; i < SL_TEST_JACK_MAX_SEGMENTS / 8; i++)
        if (after[i] & (unsigned char)~before[i])
            return false;
    return true;
}

static bool process_gone(pid_t pid)
{
    return kill(pid, 0) != 0 && errno == ESRCH;
}

/* What identifies one server; also what a forked owner tells its parent. */
typedef struct server {
    char name[SL_TEST_JACK_NAME_MAX];
    pid_t jackd;
    pid_t guardian;
} server;

static server server_of(const sl_test_jack *j)
{
    server s = {.jackd = j->pid, .guardian = j->guardian};

    memcpy(s.name, j->name, sizeof s.name);
    return s;
}

/* Whether the server, its guardian, its /dev/shm entries, its slot in
 * JACK's server registry and any segment it could have orphaned are all
 * gone within `timeout_ns`. */
static bool gone_within(uint64_t timeout_ns, const server *s,
                        const unsigned char *orphans_before)
{
    uint64_t deadline = sl__now_ns() + timeout_ns;
    unsigned char orphans[SL_TEST_JACK_MAX_SEGMENTS / 8];

    for (;;) {
        /* Reaps the guardian when it was reparented to us (subreaper). */
        waitpid(s->guardian, NULL, WNOHANG);
        sl_test_jack_orphan_segments(orphans);
        if (!sl_test_jack_server_alive(s->name) && process_gone(s->jackd) &&
            process_gone(s->guardian) &&
            sl_test_jack_shm_entries(s->name) == 0 &&
            !sl_test_jack_registered(s->name) &&
            no_new_orphans(orphans_before, orphans))
            return true;
        if (sl__now_ns() > deadline)
            return false;
        usleep(20000);
    }
}

/* Gone at once: for a stop that waits until the server is down. */
static bool gone(const server *s, const unsigned char *orphans_before)
{
    return gone_within(0, s, orphans_before);
}

static void test_start_and_stop_leave_nothing(void)
{
    unsigned char orphans[SL_TEST_JACK_MAX_SEGMENTS / 8];

    sl_test_jack_orphan_segments(orphans);
    CU_ASSERT_EQUAL_FATAL(sl_test_jack_start(&fixture, 48000, 256), 0);
    server s = server_of(&fixture);
    CU_ASSERT(sl_test_jack_server_alive(s.name));
    /* The leftover checks below must be able to see the live server. */
    CU_ASSERT(sl_test_jack_shm_entries(s.name) > 0);
    CU_ASSERT(sl_test_jack_registered(s.name));
    const char *env = getenv("JACK_DEFAULT_SERVER");
    CU_ASSERT(env != NULL && strcmp(env, s.name) == 0);

    jack_client_t *c = sl_test_jack_client(&fixture, "sl-test");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(jack_get_sample_rate(c), 48000);
    CU_ASSERT_EQUAL(jack_get_buffer_size(c), 256);
    jack_client_close(c);

    sl_test_jack_stop(&fixture);
    CU_ASSERT_EQUAL(fixture.pid, 0);
    CU_ASSERT(gone(&s, orphans));
    CU_ASSERT_PTR_NULL(getenv("JACK_DEFAULT_SERVER"));
    sl_test_jack_stop(&fixture); /* a second stop does nothing */
}

static void test_back_to_back_with_other_periods(void)
{
    unsigned char orphans[SL_TEST_JACK_MAX_SEGMENTS / 8];

    sl_test_jack_orphan_segments(orphans);
    CU_ASSERT_EQUAL_FATAL(sl_test_jack_start(&fixture, 48000, 256), 0);
    server first = server_of(&fixture);
    sl_test_jack_stop(&fixture);
    CU_ASSERT_EQUAL_FATAL(sl_test_jack_start(&second, 48000, 1024), 0);
    server then = server_of(&second);
    CU_ASSERT_STRING_NOT_EQUAL(then.name, first.name);

    jack_client_t *c = sl_test_jack_client(&second, "sl-test");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(jack_get_buffer_size(c), 1024);
    jack_client_close(c);

    sl_test_jack_stop(&second);
    CU_ASSERT(gone(&first, orphans));
    CU_ASSERT(gone(&then, orphans));
}

static int silence(jack_nframes_t frames, void *arg)
{
    jack_port_t *port = arg;

    memset(jack_port_get_buffer(port, frames), 0, frames * sizeof(float));
    return 0;
}

/* An active client with a connected output port, like PortAudio's: what
 * makes a server that is stopped as its client dies leave files behind. */
static bool activate_client(const sl_test_jack *j)
{
    jack_client_t *c = sl_test_jack_client(j, "sl-active");
    jack_port_t *port;

    if (c == NULL)
        return false;
    port = jack_port_register(c, "out", JACK_DEFAULT_AUDIO_TYPE,
                              JackPortIsOutput, 0);
    return port != NULL && jack_set_process_callback(c, silence, port) == 0 &&
           jack_activate(c) == 0 &&
           jack_connect(c, jack_port_name(port), "system:playback_1") == 0;
}

static void ignore_jack_error(const char *msg)
{
    (void)msg;
}

/* The body of a forked owner: start a server (and a client on it), tell
 * the parent, wait to be killed. */
static void own_server_until_killed(int out_fd, bool with_client)
{
    static sl_test_jack owned;
    server s = {0};

    if (sl_test_jack_start(&owned, 48000, 256) == 0 &&
        (!with_client || activate_client(&owned)))
        s = server_of(&owned);
    /* The client's complaints when its server goes away under it. */
    jack_set_error_function(ignore_jack_error);
    if (write(out_fd, &s, sizeof s) != (ssize_t)sizeof s || s.jackd == 0)
        _exit(1);
    for (;;)
        pause();
}

/* Forks an owner, kills it with `sig` and checks that neither the server
 * nor its files outlive the owner by more than `grace_ns`. */
static void check_owner_killed_by(int sig, bool with_client,
                                  uint64_t grace_ns)
{
    unsigned char orphans[SL_TEST_JACK_MAX_SEGMENTS / 8];
    server s = {0};
    int fds[2], status;

    sl_test_jack_orphan_segments(orphans);
    /* The guardian outlives a SIGKILLed owner briefly; as its subreaper we
     * can reap it, where init on this kind of machine may not. */
    CU_ASSERT_EQUAL_FATAL(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    CU_ASSERT_EQUAL_FATAL(pipe2(fds, O_CLOEXEC), 0);
    pid_t owner = fork();
    CU_ASSERT_FATAL(owner >= 0);
    if (owner == 0) {
        close(fds[0]);
        own_server_until_killed(fds[1], with_client);
    }
    close(fds[1]);
    bool up = read(fds[0], &s, sizeof s) == (ssize_t)sizeof s && s.jackd > 0;
    close(fds[0]);
    CU_ASSERT(up);
    CU_ASSERT(!up || sl_test_jack_server_alive(s.name));
    kill(owner, up ? sig : SIGKILL);
    CU_ASSERT_EQUAL(waitpid(owner, &status, 0), owner);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == (up ? sig : SIGKILL));
    if (up) {
        CU_ASSERT(gone_within(grace_ns, &s, orphans));
        /* After a failure, still reap the guardian once it is done,
         * rather than leave init a zombie it may never collect. */
        gone_within(GONE_TIMEOUT_NS, &s, orphans);
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static void test_interrupted_owner_leaves_nothing(void)
{
    /* No grace: the handler must have stopped the server before the owner
     * died. */
    check_owner_killed_by(SIGINT, false, 0);
    check_owner_killed_by(SIGTERM, false, 0);
    check_owner_killed_by(SIGINT, true, 0);
}

static void test_killed_owner_leaves_nothing(void)
{
    /* Nothing runs in the owner: the guardian acts on its own once the
     * kernel closes the owner's end of the pipe. */
    check_owner_killed_by(SIGKILL, false, GONE_TIMEOUT_NS);
    check_owner_killed_by(SIGKILL, true, GONE_TIMEOUT_NS);
}

static CU_TestInfo tests[] = {
    {"start and stop leave no process and no shm entry",
     test_start_and_stop_leave_nothing},
    {"two servers back to back with other periods",
     test_back_to_back_with_other_periods},
    {"an owner interrupted by SIGINT or SIGTERM leaves nothing",
     test_interrupted_owner_leaves_nothing},
    {"an owner killed by SIGKILL leaves nothing, also with a live client",
     test_killed_owner_leaves_nothing},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_jack = {
    .info = {.pName = "jack", .pTearDownFunc = tear_down, .pTests = tests},
    .needs_jack = true,
};
