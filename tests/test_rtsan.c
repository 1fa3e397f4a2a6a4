/*
 * test_rtsan.c: proof that the RealtimeSanitizer build checks what it
 * claims to (src/rt.h).
 *
 * In every build: a build configured with --enable-sanitizers=realtime
 * must really be one (SL__RTSAN), so the check cannot be silently off.
 * In a RealtimeSanitizer build, each case runs in a forked child whose
 * standard error is captured:
 *   - test-only SL__NONBLOCKING functions that call malloc,
 *     pthread_mutex_lock or syscall() must die with RTSan's report naming
 *     that call (so the marks work, and syscall() is flagged);
 *   - sl__wake_signal() and sl_scheduler_wake_rt() waking a parked thread
 *     (the FUTEX_WAKE path) from a real-time context, and every ring call,
 *     must run with no report (the one exemption in src/wake.c works and
 *     nothing else in them is unsafe).
 *
 * Thread: the CUnit (main) thread; each child runs its case on its main
 * thread (the wake case also starts a parking thread).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sluice/error.h>
#include <sluice/ring.h>
#include <sluice/scheduler.h>
#include "clock.h"
#include "rt.h"
#include "suites.h"
#include "wake.h"

static void test_build_matches_configure(void)
{
#if defined(SL_CONFIGURED_RTSAN) && !defined(SL__RTSAN)
    CU_FAIL("configured with --enable-sanitizers=realtime, but the compiler "
            "did not build with RealtimeSanitizer");
#elif defined(SL__RTSAN)
    printf("\n    RealtimeSanitizer build ");
    CU_PASS("RealtimeSanitizer build");
#else
    printf("\n    not a RealtimeSanitizer build: the proofs below are "
           "compiled out ");
    CU_PASS("plain build");
#endif
}

#ifdef SL__RTSAN

/* ------------------------------------------------------------ children */

typedef struct outcome {
    int status;
    char err[4096]; /* the child's standard error, cut */
} outcome;

/* Runs `fn` in a child with standard error captured. */
static void run_child(int (*fn)(void), outcome *o)
{
    int fds[2];
    size_t len = 0;
    ssize_t n;

    memset(o, 0, sizeof *o);
    o->status = -1;
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        _exit(fn());
    }
    close(fds[1]);
    while (len < sizeof o->err - 1 &&
           (n = read(fds[0], o->err + len, sizeof o->err - 1 - len)) > 0)
        len += (size_t)n;
    o->err[len] = '\0';
    close(fds[0]);
    if (pid > 0)
        waitpid(pid, &o->status, 0);
}

static bool died(const outcome *o)
{
    return !(WIFEXITED(o->status) && WEXITSTATUS(o->status) == 0);
}

static void print(const char *what, const outcome *o)
{
    const char *line = strstr(o->err, "Intercepted call");
    int n = line != NULL ? (int)strcspn(line, "\n") : 0;

    printf("\n    %s: %s %d%s%.*s ", what,
           WIFEXITED(o->status) ? "exit" : "signal",
           WIFEXITED(o->status) ? WEXITSTATUS(o->status)
                                : WTERMSIG(o->status),
           n ? ", \"" : "", n, line != NULL ? line : "");
    if (n)
        printf("\" ");
}

/* ------------------------------------------------------------ violations */

static void *volatile hole; /* keeps the compiler from eliding calls */
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;

static void rt_malloc(void) SL__NONBLOCKING
{
    hole = malloc(32);
}

static void rt_lock(void) SL__NONBLOCKING
{
    pthread_mutex_lock(&mutex);
}

static void rt_syscall(void) SL__NONBLOCKING
{
    hole = (void *)(intptr_t)syscall(SYS_getpid);
}

static int child_malloc(void)
{
    rt_malloc();
    return 0;
}

static int child_lock(void)
{
    rt_lock();
    return 0;
}

static int child_syscall(void)
{
    rt_syscall();
    return 0;
}

/* The report must name the call: a death for any other reason proves
 * nothing. */
static void expect_report(const char *what, int (*fn)(void), const char *call)
{
    outcome o;
    char needle[64];

    run_child(fn, &o);
    print(what, &o);
    snprintf(needle, sizeof needle, "`%s`", call);
    CU_ASSERT(died(&o));
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, "RealtimeSanitizer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o.err, needle));
}

static void test_violations_are_reported(void)
{
    expect_report("malloc in a nonblocking function", child_malloc, "malloc");
    expect_report("mutex lock", child_lock, "pthread_mutex_lock");
    expect_report("syscall(SYS_getpid)", child_syscall, "syscall");
}

/* ------------------------------------------------------------ clean paths */

typedef struct parker {
    sl__wake wake;
    atomic_bool quit;
    atomic_uint woken;
} parker;

static void *park(void *arg)
{
    parker *p = arg;

    while (!atomic_load(&p->quit)) {
        uint32_t seen = sl__wake_seen(&p->wake);
        if (sl__wake_prepare(&p->wake, seen) &&
            sl__wake_wait(&p->wake, seen, sl__now_ns() + 1000000000u))
            atomic_fetch_add(&p->woken, 1);
    }
    return NULL;
}

static void rt_signal(sl__wake *w) SL__NONBLOCKING
{
    sl__wake_signal(w);
}

static void rt_wake_scheduler(sl_scheduler *s) SL__NONBLOCKING
{
    sl_scheduler_wake_rt(s);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wakes a parked thread 20 times from a real-time context: each wake
 * finds it parked and makes the FUTEX_WAKE call. Exit 0 only when every
 * wake arrived. */
static int child_wake(void)
{
    parker p = {0};
    pthread_t t;
    unsigned sent = 0;

    sl__wake_init(&p.wake);
    if (pthread_create(&t, NULL, park, &p) != 0)
        return 3;
    for (int i = 0; i < 20; i++) {
        while (!atomic_load(&p.wake.parked))
            sleep_ms(1);
        rt_signal(&p.wake);
        sent++;
        while (atomic_load(&p.woken) < sent)
            sleep_ms(1);
    }
    unsigned woken = atomic_load(&p.woken);
    atomic_store(&p.quit, true);
    sl__wake_signal(&p.wake);
    pthread_join(t, NULL);
    return woken == 20 ? 0 : 4;
}

/* The scheduler parks for 100 ms when idle; wakes from a real-time
 * context must end those parks early. */
static int child_scheduler(void)
{
    sl_scheduler *s = NULL;
    sl_scheduler_stats st;

    if (sl_scheduler_create(&s, NULL) != SL_OK)
        return 3;
    for (int i = 0; i < 10; i++) {
        sleep_ms(20);
        rt_wake_scheduler(s);
    }
    sleep_ms(20);
    sl_scheduler_get_stats(s, &st);
    sl_scheduler_destroy(s);
    fprintf(stderr, "wakeups %llu\n", (unsigned long long)st.wakeups);
    return st.wakeups >= 5 ? 0 : 4;
}

/* Every ring call; they are marked themselves. */
static int child_ring(void)
{
    sl_ring *r = NULL;
    sl_ring_region reg[2];
    float buf[2 * 64] = {0};

    if (sl_ring_create(&r, 2, 256) != SL_OK)
        return 3;
    for (int i = 0; i < 100; i++) {
        sl_ring_write(r, buf, 64);
        size_t n = sl_ring_write_regions(r, 100, reg);
        sl_ring_commit(r, n);
        sl_ring_read(r, buf, 64);
        n = sl_ring_read_regions(r, 100, reg);
        sl_ring_release(r, n);
        (void)sl_ring_readable(r);
    }
    sl_ring_destroy(r);
    return 0;
}

static void expect_clean(const char *what, int (*fn)(void))
{
    outcome o;

    run_child(fn, &o);
    print(what, &o);
    CU_ASSERT_FALSE(died(&o));
    CU_ASSERT_PTR_NULL(strstr(o.err, "RealtimeSanitizer"));
    if (died(&o))
        printf("\n%s", o.err);
}

static void test_rt_paths_are_clean(void)
{
    expect_clean("20 futex wakes of a parked thread", child_wake);
    expect_clean("scheduler woken from a nonblocking context",
                 child_scheduler);
    expect_clean("every ring call", child_ring);
}

#endif /* SL__RTSAN */

static CU_TestInfo tests[] = {
    {"a build configured for RTSan is an RTSan build",
     test_build_matches_configure},
#ifdef SL__RTSAN
    {"RTSan reports malloc, a mutex and syscall in nonblocking code",
     test_violations_are_reported},
    {"wakes (futex path) and the ring run clean under RTSan",
     test_rt_paths_are_clean},
#endif
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_rtsan = {
    .info = {.pName = "rtsan", .pTests = tests},
};
