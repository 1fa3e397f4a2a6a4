/*
 * pool_priv.h: the worker pool's internals, shared by pool.c (lifecycle,
 * queues, workers, plain jobs) and frame.c (frame groups).
 *
 * Locking: one mutex per pool guards every field below that is not an
 * atomic: the slots, the class queues, the frames and the metrics. Jobs run
 * with the lock released. The only state read without the lock is what a
 * running job polls (the cancel flags), and those are atomics.
 */
#ifndef SLUICE_POOL_PRIV_H
#define SLUICE_POOL_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sluice/pool.h>

enum job_state { JOB_FREE = 0, JOB_QUEUED, JOB_RUNNING };

enum frame_state {
    FRAME_FREE = 0,
    FRAME_BUILDING,   /* begun, jobs may be added */
    FRAME_SEALED,     /* finished, jobs outstanding */
    FRAME_COMPLETING, /* all jobs done, callback running */
    FRAME_COMPLETE
};

typedef struct sl__frame sl__frame;

/* A job slot. Queued jobs sit on two intrusive lists at once: their class
 * queue and (for frame jobs) their frame's queue, so a helping waiter finds
 * its frame's jobs and a cancel drops them without a search. */
struct sl_job {
    sl_job_fn fn;
    void *arg;
    sl_pool *pool;
    sl__frame *frame; /* NULL outside a frame */
    struct sl_job *qprev, *qnext; /* class queue; qnext also links free */
    struct sl_job *fprev, *fnext; /* frame queue */
    uint64_t enq_ns;
    uint32_t gen;   /* bumped when the slot is freed; never 0 */
    uint32_t index; /* position in the slot array */
    unsigned seq;   /* submission order within the frame */
    uint8_t state;  /* enum job_state */
    uint8_t cls;
    /* Set by a cancel while the job runs; read by the job without the lock.
     * Relaxed: a hint that publishes no data. */
    atomic_bool cancel;
};

struct sl__frame {
    uint64_t id;
    uint32_t gen;
    uint32_t index;
    uint8_t state; /* enum frame_state */
    uint8_t cls;
    bool released; /* owner let go: free the slot on completion */
    atomic_bool cancelled; /* read by running jobs; relaxed as above */
    struct sl_job *qhead, *qtail; /* this frame's queued jobs */
    sl_frame_stats st;
    uint64_t begin_ns;
    sl_frame_done_fn done;
    void *user;
    sl__frame *next_free;
};

typedef struct queue {
    struct sl_job *head, *tail;
    unsigned depth, capacity;
    uint64_t submitted, rejected, run, cancelled, faulted;
    uint64_t wait_sum, wait_max, exec_sum, exec_max;
} queue;

typedef struct worker {
    pthread_t thread;
    sl_pool *pool;
    unsigned index;
    uint64_t busy_ns;
} worker;

struct sl_pool {
    pthread_mutex_t lock;
    pthread_cond_t work_cv; /* workers sleep here for jobs */
    pthread_cond_t room_cv; /* blocked submitters sleep here for room */
    pthread_cond_t done_cv; /* job and frame waiters sleep here */
    pthread_mutex_t control; /* serialises resize and shutdown */

    queue q[SL_CLASS_COUNT];
    struct sl_job *jobs, *free_jobs;
    unsigned n_jobs;
    sl__frame *frames;
    unsigned n_frames;

    worker workers[SL_POOL_MAX_WORKERS];
    unsigned n_threads; /* threads started and not joined (control) */
    unsigned target;    /* workers with index >= target retire */
    sl__frame *free_frames;
    unsigned idle_workers, room_waiters;
    /* Signals sent to work_cv that no worker has consumed yet, so a burst
     * of submits wakes each sleeping worker once instead of making a
     * futex call per job. */
    unsigned wakes_pending;
    unsigned job_waiters, frame_waiters; /* sleeping on done_cv */
    bool closing;       /* no new jobs; workers leave when queues empty */
    uint64_t aging_ns;
    uint64_t helped;
    /* Set by an emergency shutdown; polled by running jobs (relaxed). */
    atomic_bool abort;
};

/* A frame completion to announce once the lock is dropped. */
typedef struct sl__pending {
    sl__frame *frame;
    sl_frame_done_fn done;
    void *user;
    sl_frame_stats st;
} sl__pending;

/* Waits for a free slot and room in class `cls` (up to timeout_ns), then
 * fills and queues the slot. Called with the lock held; may drop it while
 * waiting. Errors: SL_EFULL, SL_ETIMEDOUT, SL_ECLOSED. */
int sl__pool_enqueue(sl_pool *pool, unsigned cls, sl_job_fn fn, void *arg,
                     sl__frame *frame, uint64_t timeout_ns,
                     struct sl_job **out);

/* True when class `cls` can admit a job now. Lock held. */
bool sl__pool_has_room(const sl_pool *pool, unsigned cls);

/* Unlinks a queued job from its queues, marks it cancelled in the metrics
 * and its frame, and frees its slot. Lock held. */
void sl__pool_drop(sl_pool *pool, struct sl_job *job, sl__pending *pending);

/* Unlinks a queued job and marks it running. Lock held. */
void sl__pool_take(sl_pool *pool, struct sl_job *job);

/* Runs a taken job with faults trapped, dropping the lock around it, then
 * accounts for it and frees the slot; any frame completion is announced
 * (its callback called with the lock dropped) before returning. Lock held
 * on entry and exit. Returns the job's execution time. */
uint64_t sl__pool_run(sl_pool *pool, struct sl_job *job);

/* Records that one job of `f` is done; when that completes a sealed frame,
 * fills *pending for sl__frame_announce(). Lock held. */
void sl__frame_job_done(sl__frame *f, sl__pending *pending);

/* Completes a sealed frame with nothing outstanding: fills *pending. Lock
 * held. */
void sl__frame_complete(sl__frame *f, sl__pending *pending);

/* Calls the pending callback with the lock dropped, then marks the frame
 * complete, frees it if released, and wakes waiters. Lock held on entry and
 * exit; does nothing when there is nothing pending. */
void sl__frame_announce(sl_pool *pool, sl__pending *pending);

/* Cancels a frame: flags it and drops its queued jobs. Lock held; any
 * completion is left in *pending. */
void sl__frame_cancel_locked(sl_pool *pool, sl__frame *f,
                             sl__pending *pending);

/* Frees a frame slot, bumping its generation. Lock held. */
void sl__frame_free(sl_pool *pool, sl__frame *f);

#endif /* SLUICE_POOL_PRIV_H */
