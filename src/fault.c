/*
 * fault.c: the synchronous fault trap behind sl__fault_call().
 *
 * Each guarded call pushes a jump buffer on a per-thread chain; the signal
 * handler, running on the faulting thread, jumps back to the innermost one.
 * The handlers are installed with SA_NODEFER so the signal is not left
 * blocked after the jump, which lets sigsetjmp skip saving the signal mask
 * (no system call per guarded call). Should something interposed on
 * sigaction run the handler with a wider mask anyway, the fault path (and
 * only it) restores the mask the thread had when it faulted.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <sluice/error.h>
#include "fault.h"

typedef struct guard {
    sigjmp_buf jmp;
    struct guard *outer;
    volatile sig_atomic_t signo;
    /* The signal mask the thread had when it faulted. */
    sigset_t mask;
    volatile sig_atomic_t have_mask;
} guard;

static const int trapped_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define N_TRAPPED (sizeof trapped_signals / sizeof trapped_signals[0])

static struct sigaction previous[N_TRAPPED];
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_result = SL_OK;

/* initial-exec: the handler must not go through a lazy TLS allocation. */
static __thread guard *current __attribute__((tls_model("initial-exec")));
static __thread void *altstack __attribute__((tls_model("initial-exec")));

static void on_fault(int sig, siginfo_t *info, void *uctx)
{
    guard *g = current;

    (void)info;
    if (g != NULL) {
        g->signo = sig;
        /* Our own handler blocks nothing, but an interposed one may run
         * ours with more signals blocked (ThreadSanitizer blocks them
         * all), and the jump skips the restore that a return would do;
         * keep the interrupted mask so the landing site can put it back.
         * Threads created later inherit the mask, so leaving the trapped
         * signals blocked would turn their next fault into a kill. */
        if (uctx != NULL) {
            memcpy(&g->mask, &((ucontext_t *)uctx)->uc_sigmask, sizeof g->mask);
            g->have_mask = 1;
        }
        siglongjmp(g->jmp, 1);
    }
    /* Not ours: put the previous disposition back and return, so the
     * faulting instruction runs again under it. */
    for (size_t i = 0; i < N_TRAPPED; i++)
        if (trapped_signals[i] == sig)
            sigaction(sig, &previous[i], NULL);
}

static void install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_TRAPPED; i++) {
        if (sigaction(trapped_signals[i], &sa, &previous[i]) != 0) {
            install_result = SL_ETHREAD;
            return;
        }
    }
}

int sl__fault_install(void)
{
    if (pthread_once(&install_once, install) != 0)
        return SL_ETHREAD;
    return install_result;
}

int sl__fault_thread_init(void)
{
    stack_t ss;

    if (altstack != NULL)
        return SL_OK;
    memset(&ss, 0, sizeof ss);
    ss.ss_size = 64 * 1024;
    ss.ss_sp = malloc(ss.ss_size);
    if (ss.ss_sp == NULL)
        return SL_ENOMEM;
    if (sigaltstack(&ss, NULL) != 0) {
        free(ss.ss_sp);
        return SL_ETHREAD;
    }
    altstack = ss.ss_sp;
    return SL_OK;
}

void sl__fault_thread_fini(void)
{
    stack_t ss;

    if (altstack == NULL)
        return;
    memset(&ss, 0, sizeof ss);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    free(altstack);
    altstack = NULL;
}

int sl__fault_call(sl__fault_fn fn, void *arg, int *signo)
{
    guard g;
    int result;

    g.outer = current;
    g.signo = 0;
    g.have_mask = 0;
    if (sigsetjmp(g.jmp, 0) == 0) {
        current = &g;
        result = fn(arg);
    } else {
        result = SL_EFAULT;
        if (g.have_mask)
            pthread_sigmask(SIG_SETMASK, &g.mask, NULL);
        if (signo != NULL)
            *signo = g.signo;
    }
    current = g.outer;
    return result;
}
