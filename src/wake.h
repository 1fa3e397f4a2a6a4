/*
 * wake.h: a park/wake primitive whose wake side is real-time safe.
 *
 * One thread parks with a timeout; any thread, the device callback
 * included, wakes it with an atomic increment and, only when it is parked,
 * one futex wake system call: no lock, no allocation, nothing that blocks.
 *
 * The parker reads the wake sequence with sl__wake_seen() before it looks
 * at the state a waker changes (commands, flags), and passes that value to
 * sl__wake_prepare() and sl__wake_wait(). Any wake after the read changes
 * the sequence, so the wait returns at once: the kernel compares the
 * sequence with `seen` atomically with going to sleep, which closes the
 * window between the parker's last check and its sleep.
 *
 * Linux only (futex). Parker: one thread at a time. Waker: any thread.
 */
#ifndef SLUICE_WAKE_H
#define SLUICE_WAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sl__wake {
    _Atomic uint32_t seq; /* bumped by every wake; the futex word */
    atomic_int parked;    /* 1 while the parker may be asleep */
} sl__wake;

/* Initializes an unshared wake object. Can't fail. */
void sl__wake_init(sl__wake *w);

/* Returns the current wake sequence (acquire: what a waker wrote before its
 * wake is visible after this read). Parker side; RT-safe. */
uint32_t sl__wake_seen(sl__wake *w);

/* Wakes the parker, now or at its next park. Any thread; RT-safe. */
void sl__wake_signal(sl__wake *w);

/* Announces that the parker is about to sleep. Returns false, and leaves
 * the parker awake, when a wake came after `seen`. Parker side. */
bool sl__wake_prepare(sl__wake *w, uint32_t seen);

/* Sleeps until a wake after `seen` or until the CLOCK_MONOTONIC time
 * `deadline_ns` (see sl__now_ns()). Returns true when woken, false on
 * timeout. Must follow a sl__wake_prepare() that returned true.
 * Parker side; blocks. */
bool sl__wake_wait(sl__wake *w, uint32_t seen, uint64_t deadline_ns);

#endif /* SLUICE_WAKE_H */
