/*
 * scheduler.c: the scheduler's public calls: creation, the command queue,
 * wakes, shutdown and stats. These run on the caller's thread (control
 * threads; the wakes and stats also on the device callback). The loop the
 * scheduler thread runs is in scheduler_pass.c.
 *
 * The command queue is a lock-free stack (Treiber): a push is a CAS on the
 * head, the scheduler takes the whole stack with one exchange and reverses
 * it into arrival order. Taking everything at once means no ABA, and no
 * caller ever waits for the scheduler or the scheduler for a caller. At
 * shutdown the scheduler exchanges in a "closed" marker instead of NULL,
 * which atomically takes the last commands and refuses later ones, so
 * every node whose register succeeded is seen and torn down exactly once.
 *
 * The scheduler's memory is shared by the caller and the thread through a
 * two-count reference: whoever drops the last one frees it. Normally that
 * is sl_scheduler_destroy() after the join; when a tick is stuck, destroy
 * detaches the thread and the thread frees the scheduler when it ends.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include <sluice/scheduler.h>
#include "clock.h"
#include "fault.h"
#include "rt.h"
#include "scheduler_priv.h"

sl__cmd sl__scheduler_closed;

void sl_scheduler_config_default(sl_scheduler_config *config)
{
    memset(config, 0, sizeof *config);
    config->thread_name = "sl-sched";
    config->waiting_park_ns = 10 * 1000000u;
    config->idle_park_ns = 100 * 1000000u;
    config->progress_burst = 4;
    config->yield_every = 4;
    config->slow_tick_ns = 10 * 1000000u;
    config->tick_budget_ns = 50 * 1000000u;
    config->overrun_limit = 3;
    config->join_timeout_ns = 2000 * 1000000ull;
}

static bool config_valid(const sl_scheduler_config *c)
{
    return c->waiting_park_ns > 0 && c->idle_park_ns > 0 &&
           c->progress_burst > 0 && c->yield_every > 0;
}

/* Frees the scheduler once neither the caller nor the thread holds it. */
static void release(sl_scheduler *s)
{
    /* acq_rel: the other holder's last writes happen before the free. */
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&s->join_lock);
    free(s);
}

static void *thread_main(void *arg)
{
    sl_scheduler *s = arg;

    pthread_setname_np(pthread_self(), s->thread_name);
    /* Without an alternate stack only a stack overflow goes untrapped; the
     * scheduler still runs. */
    (void)sl__fault_thread_init();
    sl__scheduler_run(s);
    sl__fault_thread_fini();
    /* release: the teardown happens before shutdown() returns. */
    atomic_store_explicit(&s->finished, true, memory_order_release);
    sl__wake_signal(&s->done_wake);
    release(s);
    return NULL;
}

static void init_state(sl_scheduler *s, const sl_scheduler_config *cfg)
{
    s->cfg = *cfg;
    strncpy(s->thread_name, cfg->thread_name ? cfg->thread_name : "sl-sched",
            sizeof s->thread_name - 1);
    s->cfg.thread_name = s->thread_name;
    sl__wake_init(&s->wake);
    sl__wake_init(&s->done_wake);
    atomic_init(&s->cmds, NULL);
    atomic_init(&s->next_id, 1);
    atomic_init(&s->stop, false);
    atomic_init(&s->tainted, false);
    atomic_init(&s->park_hook, NULL);
    atomic_init(&s->finished, false);
    atomic_init(&s->refs, 2);
}

int sl_scheduler_create(sl_scheduler **out, const sl_scheduler_config *config)
{
    sl_scheduler_config cfg;
    sl_scheduler *s;
    int err;

    if (out == NULL)
        return SL_EINVAL;
    *out = NULL;
    if (config == NULL)
        sl_scheduler_config_default(&cfg);
    else
        cfg = *config;
    if (!config_valid(&cfg))
        return SL_EINVAL;
    err = sl__fault_install();
    if (err != SL_OK)
        return err;

    s = calloc(1, sizeof *s);
    if (s == NULL)
        return SL_ENOMEM;
    init_state(s, &cfg);
    err = SL_ETHREAD;
    if (pthread_mutex_init(&s->join_lock, NULL) != 0)
        goto fail_mutex;
    if (pthread_create(&s->thread, NULL, thread_main, s) != 0)
        goto fail_thread;
    *out = s;
    return SL_OK;

fail_thread:
    pthread_mutex_destroy(&s->join_lock);
fail_mutex:
    free(s);
    return err;
}

/* Pushes a command; fails once the scheduler closed its queue. */
static int push(sl_scheduler *s, sl__cmd *cmd)
{
    sl__cmd *head = atomic_load_explicit(&s->cmds, memory_order_relaxed);

    do {
        if (head == &sl__scheduler_closed)
            return SL_ECLOSED;
        cmd->next = head;
        /* release: the command and the node it carries are written before
         * the scheduler's acquire exchange can see them. */
    } while (!atomic_compare_exchange_weak_explicit(
        &s->cmds, &head, cmd, memory_order_release, memory_order_relaxed));
    sl__wake_signal(&s->wake);
    return SL_OK;
}

int sl_scheduler_register(sl_scheduler *sched, sl_node *node, sl_node_id *id)
{
    sl__slot *slot;
    sl_node_id new_id;
    int err;

    if (sched == NULL || node == NULL || node->vtable == NULL ||
        node->vtable->tick == NULL)
        return SL_EINVAL;
    slot = calloc(1, sizeof *slot);
    if (slot == NULL)
        return SL_ENOMEM;
    new_id = atomic_fetch_add_explicit(&sched->next_id, 1,
                                       memory_order_relaxed);
    slot->cmd.kind = SL__CMD_REGISTER;
    slot->cmd.id = new_id;
    slot->node = node;
    /* After a successful push the slot is the scheduler's: it may already
     * be retired and freed, so only the local copy of the id is used. */
    err = push(sched, &slot->cmd);
    if (err != SL_OK) {
        free(slot);
        return err;
    }
    if (id != NULL)
        *id = new_id;
    return SL_OK;
}

int sl_scheduler_unregister(sl_scheduler *sched, sl_node_id id)
{
    sl__cmd *cmd;
    int err;

    if (sched == NULL || id == 0)
        return SL_EINVAL;
    cmd = calloc(1, sizeof *cmd);
    if (cmd == NULL)
        return SL_ENOMEM;
    cmd->kind = SL__CMD_UNREGISTER;
    cmd->id = id;
    err = push(sched, cmd);
    if (err != SL_OK)
        free(cmd);
    return err;
}

void sl_scheduler_wake(sl_scheduler *sched)
{
    sl__wake_signal(&sched->wake);
}

/* A real-time context under RealtimeSanitizer (rt.h): the device
 * callback calls it. */
void sl_scheduler_wake_rt(sl_scheduler *sched) SL__NONBLOCKING
{
    sl__wake_signal(&sched->wake);
}

/* Waits until the thread has finished its teardown or `timeout_ns` passed.
 * Returns whether it finished. Called with join_lock held, so it is the
 * only parker on done_wake. */
static bool wait_finished(sl_scheduler *s, uint64_t timeout_ns)
{
    uint64_t deadline = sl__now_ns() + timeout_ns;

    for (;;) {
        uint32_t seen = sl__wake_seen(&s->done_wake);
        if (atomic_load_explicit(&s->finished, memory_order_acquire))
            return true;
        if (sl__now_ns() >= deadline)
            return false;
        if (sl__wake_prepare(&s->done_wake, seen))
            sl__wake_wait(&s->done_wake, seen, deadline);
    }
}

int sl_scheduler_shutdown(sl_scheduler *sched)
{
    int err = SL_OK;

    if (pthread_equal(pthread_self(), sched->thread))
        return SL_ESTATE;
    /* release: pairs with the loop's acquire load of `stop`. */
    atomic_store_explicit(&sched->stop, true, memory_order_release);
    sl__wake_signal(&sched->wake);
    pthread_mutex_lock(&sched->join_lock);
    if (!sched->joined) {
        if (wait_finished(sched, sched->cfg.join_timeout_ns)) {
            pthread_join(sched->thread, NULL);
            sched->joined = true;
        } else {
            err = SL_ETIMEDOUT;
        }
    }
    pthread_mutex_unlock(&sched->join_lock);
    return err;
}

void sl_scheduler_destroy(sl_scheduler *sched)
{
    if (sched == NULL)
        return;
    if (pthread_equal(pthread_self(), sched->thread)) {
        /* From a node or the observer: we cannot join ourselves. Ask for
         * the stop and let the thread free the scheduler as it exits. */
        atomic_store_explicit(&sched->stop, true, memory_order_release);
        sl__wake_signal(&sched->wake); /* no park before the last pass */
        pthread_detach(sched->thread);
        release(sched);
        return;
    }
    if (sl_scheduler_shutdown(sched) == SL_ETIMEDOUT) {
        /* A tick is stuck. Let the thread go; it drops the last reference
         * and frees the scheduler when the tick returns. */
        pthread_detach(sched->thread);
    }
    release(sched);
}

static uint64_t get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void sl_scheduler_get_stats(const sl_scheduler *sched,
                            sl_scheduler_stats *stats)
{
    const sl__counters *n = &sched->n;

    stats->passes = get(&n->passes);
    stats->ticks_progress = get(&n->ticks_progress);
    stats->ticks_waiting = get(&n->ticks_waiting);
    stats->ticks_pending = get(&n->ticks_pending);
    stats->ticks_backpressured = get(&n->ticks_backpressured);
    stats->ticks_done = get(&n->ticks_done);
    stats->ticks_failed = get(&n->ticks_failed);
    stats->parks = get(&n->parks);
    stats->wakeups = get(&n->wakeups);
    stats->wake_calls =
        atomic_load_explicit(&sched->wake.seq, memory_order_relaxed);
    stats->slow_ticks = get(&n->slow_ticks);
    stats->quarantined = get(&n->quarantined);
    stats->faults = get(&n->faults);
    stats->max_tick_ns = get(&n->max_tick_ns);
    stats->nodes = get(&n->nodes);
    stats->tainted = sl_scheduler_is_tainted(sched);
}

bool sl_scheduler_is_tainted(const sl_scheduler *sched)
{
    return atomic_load_explicit(&sched->tainted, memory_order_relaxed);
}

const char *sl_scheduler_event_name(sl_scheduler_event_type type)
{
    static const char *const names[] = {
        "PASS_START", "PASS_END", "PROGRESS",  "WAITING",     "PENDING",
        "BACKPRESSURED", "IDLE", "SLOW_TICK", "NODE_FAILED", "NODE_FAULTED",
    };

    if ((unsigned)type >= sizeof names / sizeof names[0])
        return "UNKNOWN";
    return names[type];
}

pthread_t sl__scheduler_thread(const sl_scheduler *s)
{
    return s->thread;
}

void sl__scheduler_set_park_hook(sl_scheduler *s, const sl__park_hook *hook)
{
    /* release: the hook's contents are visible to the scheduler's acquire
     * load. */
    atomic_store_explicit(&s->park_hook, hook, memory_order_release);
}
