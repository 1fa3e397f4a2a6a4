/*
 * wake.c: the futex behind sl__wake. The wake side runs on any thread,
 * the device callback included; the park side on the one parking thread.
 *
 * sl__wake_signal() is a real-time context (SL__NONBLOCKING, rt.h). Its
 * one system call, FUTEX_WAKE, is exempt from RealtimeSanitizer: see
 * futex_wake().
 */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "rt.h"
#include "wake.h"

void sl__wake_init(sl__wake *w)
{
    atomic_init(&w->seq, 0);
    atomic_init(&w->parked, 0);
}

uint32_t sl__wake_seen(sl__wake *w)
{
    return atomic_load_explicit(&w->seq, memory_order_acquire);
}

/* FUTEX_WAKE never sleeps: the kernel takes the futex hash bucket's
 * spinlock, moves at most one waiter to the run queue and returns. RTSan
 * intercepts syscall() as a whole and cannot see which operation it is
 * asked for, so it would report this wake as a blocking call; exactly this
 * one call is exempt. A FUTEX_WAIT (or any other syscall) made from a
 * real-time context is still reported. */
static void futex_wake(_Atomic uint32_t *word) SL__NONBLOCKING
{
    sl__rtsan_suspend();
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    sl__rtsan_resume();
}

void sl__wake_signal(sl__wake *w) SL__NONBLOCKING
{
    /* seq_cst on the increment and on the load of `parked`, paired with
     * seq_cst on the parker's store of `parked` and load of `seq` in
     * sl__wake_prepare(): of the two threads, at least one sees the
     * other's write. Either the parker sees the new sequence and does not
     * sleep, or we see it parked and wake it (and if it has not reached
     * the futex yet, the kernel sees the changed word and returns). The
     * increment is also a release: the waker's earlier writes are visible
     * to the parker's acquire load of the sequence. */
    atomic_fetch_add_explicit(&w->seq, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&w->parked, memory_order_seq_cst))
        futex_wake(&w->seq);
}

bool sl__wake_prepare(sl__wake *w, uint32_t seen)
{
    atomic_store_explicit(&w->parked, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&w->seq, memory_order_seq_cst) != seen) {
        atomic_store_explicit(&w->parked, 0, memory_order_relaxed);
        return false;
    }
    return true;
}

bool sl__wake_wait(sl__wake *w, uint32_t seen, uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000u),
                          (long)(deadline_ns % 1000000000u)};
    bool woken = false;

    for (;;) {
        if (sl__wake_seen(w) != seen) {
            woken = true;
            break;
        }
        /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so
         * spurious returns (EINTR) do not stretch the park. It returns
         * EAGAIN at once when the word is no longer `seen`. */
        long r = syscall(SYS_futex, &w->seq,
                         FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, seen, &ts,
                         NULL, FUTEX_BITSET_MATCH_ANY);
        if (r != 0 && errno != EINTR && errno != EAGAIN) {
            /* ETIMEDOUT, or an error that would make us spin. */
            woken = sl__wake_seen(w) != seen;
            break;
        }
    }
    atomic_store_explicit(&w->parked, 0, memory_order_relaxed);
    return woken;
}
