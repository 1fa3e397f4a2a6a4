/*
 * fault.h: trapping synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL)
 * raised by code the engine calls on behalf of a user (node ticks, jobs),
 * so that one faulting node is quarantined instead of killing the process.
 *
 * This is a containment measure, not a recovery: the faulting code may have
 * left memory it shares with others corrupt, so whoever traps a fault must
 * treat the process as tainted and say so.
 *
 * A fault outside a guarded call is not swallowed: the handler restores the
 * previous disposition and lets the fault happen again, so the process
 * crashes (or a previous handler, such as a sanitizer's, runs) as usual.
 */
#ifndef SLUICE_FAULT_H
#define SLUICE_FAULT_H

typedef int (*sl__fault_fn)(void *arg);

/* Installs the process-wide fault handlers once; later calls do nothing.
 * Each thread that runs guarded calls should also call
 * sl__fault_thread_init() so a stack overflow can be trapped too.
 * Thread: any thread; not RT-safe.
 * Errors: SL_ETHREAD when a handler cannot be installed. */
int sl__fault_install(void);

/* Gives the calling thread an alternate signal stack, so a fault caused by
 * overflowing the thread's stack can still be handled. Call once per thread
 * before its first guarded call; pair with sl__fault_thread_fini().
 * Thread: the thread itself; not RT-safe (allocates).
 * Errors: SL_ENOMEM, SL_ETHREAD. */
int sl__fault_thread_init(void);
void sl__fault_thread_fini(void);

/* Calls fn(arg) with synchronous faults trapped. Returns fn's result, or
 * SL_EFAULT with *signo set to the signal number when fn faulted (signo may
 * be NULL). Guarded calls may nest. sl__fault_install() must have
 * succeeded. No allocation, no lock, no system call.
 * Thread: any thread; RT-safe. */
int sl__fault_call(sl__fault_fn fn, void *arg, int *signo);

#endif /* SLUICE_FAULT_H */
