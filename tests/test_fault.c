/*
 * test_fault.c: the synchronous fault trap used for node ticks and jobs.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sluice/error.h>
#include "fault.h"
#include "suites.h"

static int returns_arg(void *arg)
{
    return *(int *)arg;
}

/* A real invalid access: a load from a page mapped with no access rights,
 * which the sanitizers do not flag before the hardware does. */
static int segfaults(void *arg)
{
    static volatile int *page;
    (void)arg;
    if (page == NULL) {
        void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        page = p == MAP_FAILED ? NULL : p;
    }
    return page != NULL ? *page : raise(SIGSEGV);
}

/* A real integer division trap; UBSan would abort on it first. */
__attribute__((no_sanitize("undefined")))
static int divides_by_zero(void *arg)
{
    volatile int zero = *(int *)arg;
    return 10 / zero;
}

static int raises_bus(void *arg)
{
    (void)arg;
    return raise(SIGBUS);
}

static int nested(void *arg)
{
    int sig = 0;
    int inner = sl__fault_call(segfaults, NULL, &sig);
    *(int *)arg = sig;
    return inner == SL_EFAULT ? 7 : -1;
}

static void test_plain_call_returns_its_result(void)
{
    int v = 42;
    CU_ASSERT_EQUAL_FATAL(sl__fault_install(), SL_OK);
    CU_ASSERT_EQUAL(sl__fault_call(returns_arg, &v, NULL), 42);
}

static void test_segv_and_fpe_are_trapped(void)
{
    int sig = 0, zero = 0;
    CU_ASSERT_EQUAL_FATAL(sl__fault_install(), SL_OK);
    CU_ASSERT_EQUAL(sl__fault_call(segfaults, NULL, &sig), SL_EFAULT);
    CU_ASSERT_EQUAL(sig, SIGSEGV);
    sig = 0;
    CU_ASSERT_EQUAL(sl__fault_call(divides_by_zero, &zero, &sig), SL_EFAULT);
    CU_ASSERT_EQUAL(sig, SIGFPE);
    sig = 0;
    CU_ASSERT_EQUAL(sl__fault_call(raises_bus, NULL, &sig), SL_EFAULT);
    CU_ASSERT_EQUAL(sig, SIGBUS);
    /* The trap is still armed after a fault. */
    CU_ASSERT_EQUAL(sl__fault_call(segfaults, NULL, &sig), SL_EFAULT);
}

static void test_nested_guards(void)
{
    int sig = 0;
    CU_ASSERT_EQUAL(sl__fault_call(nested, &sig, NULL), 7);
    CU_ASSERT_EQUAL(sig, SIGSEGV);
}

static void *thread_body(void *arg)
{
    int sig = 0;
    (void)arg;
    sl__fault_thread_init();
    int r = sl__fault_call(segfaults, NULL, &sig);
    sl__fault_thread_fini();
    return (void *)(ptrdiff_t)(r == SL_EFAULT && sig == SIGSEGV);
}

static void test_trapped_on_another_thread(void)
{
    pthread_t t;
    void *ok = NULL;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, thread_body, NULL), 0);
    pthread_join(t, &ok);
    CU_ASSERT_PTR_NOT_NULL(ok);
}

/* A fault outside any guarded call must still end the process: killed by
 * SIGSEGV, or, in a sanitizer build, reported by the sanitizer's handler
 * (the previous disposition), which exits non-zero. */
static void test_unguarded_fault_is_not_swallowed(void)
{
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core); /* the crash is expected */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO);
        sl__fault_install();
        segfaults(NULL);
        _exit(0); /* reached only if the fault was swallowed */
    }
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
    if (WIFSIGNALED(status))
        CU_ASSERT_EQUAL(WTERMSIG(status), SIGSEGV);
}

/* A trapped fault leaves the thread's signal mask as it was, also where a
 * sanitizer runs the handler with every signal blocked; threads started
 * afterwards inherit the mask and must still be able to trap faults. */
static void test_fault_keeps_signal_mask(void)
{
    sigset_t before, after;
    int sig = 0;
    pthread_t t;
    void *ok = NULL;

    CU_ASSERT_EQUAL_FATAL(sl__fault_install(), SL_OK);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    CU_ASSERT_EQUAL(sl__fault_call(segfaults, NULL, &sig), SL_EFAULT);
    CU_ASSERT_EQUAL(sl__fault_call(raises_bus, NULL, &sig), SL_EFAULT);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    for (int s = 1; s < SIGRTMIN; s++)
        CU_ASSERT_EQUAL(sigismember(&before, s), sigismember(&after, s));
    CU_ASSERT_FALSE(sigismember(&after, SIGSEGV));
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, thread_body, NULL), 0);
    pthread_join(t, &ok);
    CU_ASSERT_PTR_NOT_NULL(ok);
}

static CU_TestInfo tests[] = {
    {"a plain call returns its result", test_plain_call_returns_its_result},
    {"SIGSEGV, SIGFPE and SIGBUS are trapped", test_segv_and_fpe_are_trapped},
    {"nested guards", test_nested_guards},
    {"trapped on another thread", test_trapped_on_another_thread},
    {"a trapped fault keeps the signal mask", test_fault_keeps_signal_mask},
    {"an unguarded fault is not swallowed",
     test_unguarded_fault_is_not_swallowed},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_fault = {
    .info = {.pName = "fault", .pTests = tests},
};
