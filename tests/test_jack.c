/*
 * test_jack.c: the private JACK server fixture itself: it comes up with
 * the asked configuration, and it leaves no process and no /dev/shm entry
 * behind after a stop, after an interrupt, or after its owner is killed.
 *
 * Thread: the CUnit (main) thread; the forked children are single-threaded.
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

/* Whether the server's process, its /dev/shm entries and any segment it
 * could have orphaned are all gone within `timeout_ns`. */
static bool server_gone_within(uint64_t timeout_ns, const char *name,
                               pid_t pid, const unsigned char *orphans_before)
{
    uint64_t deadline = sl__now_ns() + timeout_ns;
    unsigned char orphans[SL_TEST_JACK_MAX_SEGMENTS / 8];

    for (;;) {
        /* Reaps the server when it was reparented to us (subreaper). */
        waitpid(pid, NULL, WNOHANG);
        sl_test_jack_orphan_segments(orphans);
        if (!sl_test_jack_server_alive(name) && process_gone(pid) &&
            sl_test_jack_shm_entries(name) == 0 &&
            no_new_orphans(orphans_before, orphans))
            return true;
        if (sl__now_ns() > deadline)
            return false;
        usleep(20000);
    }
}

/* Gone at once: for a stop that waited for the server. */
static bool server_gone(const char *name, pid_t pid,
                        const unsigned char *orphans_before)
{
    return server_gone_within(0, name, pid, orphans_before);
}

static void test_start_and_stop_leave_nothing(void)
{
    unsigned char orphans[SL_TEST_JACK_MAX_SEGMENTS / 8];

    sl_test_jack_orphan_segments(orphans);
    CU_ASSERT_EQUAL_FATAL(sl_test_jack_start(&fixture, 48000, 256), 0);
    pid_t pid = fixture.pid;
    CU_ASSERT(sl_test_jack_server_alive(fixture.name));
    /* The leftover checks below must be able to see the live server. */
    CU_ASSERT(sl_test_jack_shm_entries(fixture.name) > 0);
    const char *env = getenv("JACK_DEFAULT_SERVER");
    CU_ASSERT(env != NULL && strcmp(env, fixture.name) == 0);

    jack_client_t *c = sl_test_jack_client(&fixture, "sl-test");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(jack_get_sample_rate(c), 48000);
    CU_ASSERT_EQUAL(jack_get_buffer_size(c), 256);
    jack_client_close(c);

    sl_test_jack_stop(&fixture);
    CU_ASSERT_EQUAL(fixture.pid, 0);
    CU_ASSERT(server_gone(fixture.name, pid, orphans));
    CU_ASSERT_PTR_NULL(getenv("JACK_DEFAULT_SERVER"));
    sl_test_jack_stop(&fixture); /* a second stop does nothing */
}

static void test_back_to_back_with_other_periods(void)
{
    unsigned char orphans[SL_TEST_JACK_MAX_SEGMENTS / 8];

    sl_test_jack_orphan_segments(orphans);
    CU_ASSERT_EQUAL_FATAL(sl_test_jack_start(&fixture, 48000, 256), 0);
    pid_t first_pid = fixture.pid;
    sl_test_jack_stop(&fixture);
    CU_ASSERT_EQUAL_FATAL(sl_test_jack_start(&second, 48000, 1024), 0);
    CU_ASSERT_STRING_NOT_EQUAL(second.name, fixture.name);

    jack_client_t *c = sl_test_jack_client(&second, "sl-test");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(jack_get_buffer_size(c), 1024);
    jack_client_close(c);

    pid_t second_pid = second.pid;
    sl_test_jack_stop(&second);
    CU_ASSERT(server_gone(fixture.name, first_pid, orphans));
    CU_ASSERT(server_gone(second.name, second_pid, orphans));
}

/* What a forked child that started a server tells its parent. */
typedef struct started {
    pid_t jackd;
    char name[SL_TEST_JACK_NAME_MAX];
} started;

static void child_starts_server_and_waits(int out_fd)
{
    static sl_test_jack child_fixture;
    started s = {0};

    if (sl_test_jack_start(&child_fixture, 48000, 256) == 0) {
        s.jackd = child_fixture.pid;
        memcpy(s.name, child_fixture.name, sizeof s.name);
    }
    if (write(out_fd, &s, sizeof s) != (ssize_t)sizeof s || s.jackd == 0)
        _exit(1);
    for (;;)
        pause(); /* until the parent's signal */
}

/* Forks a child that starts a server, kills the child with `sig` and checks
 * that neither the server nor its files outlive the child by more than
 * `grace_ns`. */
static void check_owner_killed_by(int sig, uint64_t grace_ns)
{
    unsigned char orphans[SL_TEST_JACK_MAX_SEGMENTS / 8];
    started s;
    int fds[2], status;

    sl_test_jack_orphan_segments(orphans);
    /* The server outlives a SIGKILLed child briefly; as its subreaper we
     * can reap it, where init on this kind of machine may not. */
    CU_ASSERT_EQUAL_FATAL(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    CU_ASSERT_EQUAL_FATAL(pipe2(fds, O_CLOEXEC), 0);
    pid_t child = fork();
    CU_ASSERT_FATAL(child >= 0);
    if (child == 0) {
        close(fds[0]);
        child_starts_server_and_waits(fds[1]);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], &s, sizeof s);
    close(fds[0]);
    CU_ASSERT_EQUAL(got, (ssize_t)sizeof s);
    if (got == (ssize_t)sizeof s && s.jackd > 0) {
        CU_ASSERT(sl_test_jack_server_alive(s.name));
        kill(child, sig);
    } else {
        kill(child, SIGKILL);
    }
    CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
    CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == sig);
    if (got == (ssize_t)sizeof s && s.jackd > 0) {
        CU_ASSERT(server_gone_within(grace_ns, s.name, s.jackd, orphans));
        /* After a failure, still reap the server once it goes, rather
         * than leave init a zombie it may never collect. */
        server_gone_within(GONE_TIMEOUT_NS, s.name, s.jackd, orphans);
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static void test_interrupted_owner_leaves_nothing(void)
{
    /* No grace: the handler must have stopped the server before the owner
     * died, not left it to the parent-death signal. */
    check_owner_killed_by(SIGINT, 0);
    check_owner_killed_by(SIGTERM, 0);
}

static void test_killed_owner_leaves_nothing(void)
{
    /* Only the kernel's parent-death signal can act here, asynchronously. */
    check_owner_killed_by(SIGKILL, GONE_TIMEOUT_NS);
}

static CU_TestInfo tests[] = {
    {"start and stop leave no process and no shm entry",
     test_start_and_stop_leave_nothing},
    {"two servers back to back with other periods",
     test_back_to_back_with_other_periods},
    {"an owner interrupted by SIGINT or SIGTERM leaves nothing",
     test_interrupted_owner_leaves_nothing},
    {"an owner killed by SIGKILL leaves nothing",
     test_killed_owner_leaves_nothing},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_jack = {
    .info = {.pName = "jack", .pTearDownFunc = tear_down, .pTests = tests},
    .needs_jack = true,
};
