/*
 * scheduler_pass.c: the scheduler thread's loop. Everything here runs on
 * the scheduler thread.
 *
 * A pass: read the wake sequence, drain commands, refresh the service
 * classes, tick the nodes class by class, retire the ended ones, fold the
 * outcomes and park. The class order is recomputed from the per-pass class
 * snapshot by walking the registration-ordered list once per class, which
 * gives a stable order within a class with no sorting and no allocation
 * (there are tens of nodes, not thousands).
 *
 * Every node callback runs under sl__fault_call(), so a synchronous fault
 * inside it comes back as SL_EFAULT with the signal number instead of
 * killing the process; the node is then quarantined and the scheduler
 * marked tainted (see sluice/scheduler.h for what that does not fix).
 */
#include "config.h"

#include <sched.h>
#include <stdlib.h>

#include <sluice/error.h>
#include "clock.h"
#include "fault.h"
#include "scheduler_priv.h"

/* Pass outcomes, in folding precedence. */
enum { RANK_IDLE, RANK_BACKPRESSURED, RANK_PENDING, RANK_WAITING,
       RANK_PROGRESS };

static void emit(sl_scheduler *s, sl_scheduler_event_type type,
                 const sl__slot *slot, int error, int signo,
                 uint64_t duration_ns)
{
    sl_scheduler_event ev;

    if (s->cfg.observer == NULL)
        return;
    ev.type = type;
    ev.pass = s->pass;
    ev.node = slot ? slot->cmd.id : 0;
    ev.node_name = slot ? slot->name : NULL;
    ev.error = error;
    ev.signo = signo;
    ev.duration_ns = duration_ns;
    s->cfg.observer(&ev, s->cfg.observer_user);
}

/* ---- calling node code under the fault trap ---------------------------- */

static int call_tick(void *arg)
{
    sl_node *node = arg;
    return node->vtable->tick(node);
}

static int call_cancel(void *arg)
{
    sl_node *node = arg;
    node->vtable->on_cancel(node);
    return 0;
}

static int call_recycle(void *arg)
{
    sl_node *node = arg;
    node->vtable->recycle(node);
    return 0;
}

static int call_destroy(void *arg)
{
    sl_node *node = arg;
    node->vtable->destroy(node);
    return 0;
}

/* Records a trapped fault: the process is tainted from now on. */
static void note_fault(sl_scheduler *s, const sl__slot *slot, int signo)
{
    atomic_store_explicit(&s->tainted, true, memory_order_relaxed);
    sl__count(&s->n.faults);
    emit(s, SL_SCHED_NODE_FAULTED, slot, SL_EFAULT, signo, 0);
}

/* Runs one optional void callback guarded; a fault is noted, not fatal. */
static void guarded(sl_scheduler *s, const sl__slot *slot, sl__fault_fn fn)
{
    int signo = 0;

    if (sl__fault_call(fn, slot->node, &signo) == SL_EFAULT && signo != 0)
        note_fault(s, slot, signo);
}

/* ---- the node list ----------------------------------------------------- */

static void link_slot(sl_scheduler *s, sl__slot *slot)
{
    slot->prev = s->tail;
    slot->next = NULL;
    if (s->tail)
        s->tail->next = slot;
    else
        s->head = slot;
    s->tail = slot;
    slot->name = slot->node->vtable->name;
    slot->cls = (int)sl_node_get_class(slot->node);
    sl__count(&s->n.nodes);
}

/* Unlinks the slot, calls on_cancel, recycle and destroy (each exactly
 * once, in that order, each guarded), and frees the slot. */
static void retire(sl_scheduler *s, sl__slot *slot)
{
    const sl_node_vtable *vt = slot->node->vtable;

    if (slot->prev)
        slot->prev->next = slot->next;
    else
        s->head = slot->next;
    if (slot->next)
        slot->next->prev = slot->prev;
    else
        s->tail = slot->prev;
    atomic_store_explicit(&s->n.nodes,
                          atomic_load_explicit(&s->n.nodes,
                                               memory_order_relaxed) - 1,
                          memory_order_relaxed);
    if (vt->on_cancel)
        guarded(s, slot, call_cancel);
    if (vt->recycle)
        guarded(s, slot, call_recycle);
    if (vt->destroy)
        guarded(s, slot, call_destroy);
    free(slot);
}

static sl__slot *find_slot(sl_scheduler *s, sl_node_id id)
{
    for (sl__slot *slot = s->head; slot; slot = slot->next)
        if (slot->cmd.id == id)
            return slot;
    return NULL;
}

/* ---- commands ---------------------------------------------------------- */

/* Takes every queued command in arrival order; with `close`, also closes
 * the queue to later pushes. */
static sl__cmd *take_commands(sl_scheduler *s, bool close)
{
    /* acquire: pairs with the release CAS in push(), so the commands and
     * the nodes they carry are fully visible. */
    sl__cmd *list = atomic_exchange_explicit(
        &s->cmds, close ? &sl__scheduler_closed : NULL, memory_order_acquire);
    sl__cmd *fifo = NULL;

    if (list == &sl__scheduler_closed)
        return NULL;
    while (list) {
        sl__cmd *next = list->next;
        list->next = fifo;
        fifo = list;
        list = next;
    }
    return fifo;
}

static void apply_commands(sl_scheduler *s, bool close)
{
    sl__cmd *cmd = take_commands(s, close);

    while (cmd) {
        sl__cmd *next = cmd->next;
        if (cmd->kind == SL__CMD_REGISTER) {
            link_slot(s, (sl__slot *)cmd);
        } else {
            sl__slot *slot = find_slot(s, cmd->id);
            if (slot)
                retire(s, slot);
            free(cmd);
        }
        cmd = next;
    }
}

/* ---- ticking ----------------------------------------------------------- */

static void quarantine(sl_scheduler *s, sl__slot *slot, int error)
{
    slot->ended = true;
    sl__count(&s->n.quarantined);
    emit(s, SL_SCHED_NODE_FAILED, slot, error, 0, 0);
}

/* Applies the time rules to a tick that took `dt`: the longest tick,
 * SLOW_TICK, and, for a node still running, quarantine after
 * overrun_limit budget overruns in a row. Returns true when the node was
 * quarantined. */
static bool check_time(sl_scheduler *s, sl__slot *slot, uint64_t dt)
{
    if (dt > atomic_load_explicit(&s->n.max_tick_ns, memory_order_relaxed))
        atomic_store_explicit(&s->n.max_tick_ns, dt, memory_order_relaxed);
    if (dt > s->cfg.slow_tick_ns) {
        sl__count(&s->n.slow_ticks);
        emit(s, SL_SCHED_SLOW_TICK, slot, 0, 0, dt);
    }
    if (slot->ended)
        return false;
    if (dt <= s->cfg.tick_budget_ns) {
        slot->overruns = 0;
        return false;
    }
    if (s->cfg.overrun_limit == 0 || ++slot->overruns < s->cfg.overrun_limit)
        return false;
    quarantine(s, slot, SL_ETIMEDOUT);
    return true;
}

/* Counts a tick's result; returns its rank, marking the slot ended when
 * the node is done or failed. */
static int classify(sl_scheduler *s, sl__slot *slot, int r)
{
    switch (r) {
    case SL_NODE_PROGRESS:
        sl__count(&s->n.ticks_progress);
        return RANK_PROGRESS;
    case SL_NODE_WAITING:
        sl__count(&s->n.ticks_waiting);
        return RANK_WAITING;
    case SL_NODE_PENDING:
        sl__count(&s->n.ticks_pending);
        return RANK_PENDING;
    case SL_NODE_BACKPRESSURED:
        sl__count(&s->n.ticks_backpressured);
        return RANK_BACKPRESSURED;
    case SL_NODE_DONE:
        sl__count(&s->n.ticks_done);
        slot->ended = true;
        return RANK_IDLE;
    default:
        sl__count(&s->n.ticks_failed);
        quarantine(s, slot, r < 0 ? r : SL_ERANGE);
        return RANK_IDLE;
    }
}

/* Ticks a node once, guarded and timed. Returns the tick's rank; *result
 * gets what the tick returned and *dt its duration. */
static int tick_once(sl_scheduler *s, sl__slot *slot, int *result,
                     uint64_t *dt)
{
    int signo = 0;
    uint64_t t0 = sl__now_ns();
    int r = sl__fault_call(call_tick, slot->node, &signo);

    *dt = sl__now_ns() - t0;
    *result = r;
    if (r == SL_EFAULT && signo != 0) {
        slot->ended = true;
        sl__count(&s->n.ticks_failed);
        sl__count(&s->n.quarantined);
        note_fault(s, slot, signo);
        return RANK_IDLE;
    }
    /* The result first: a tick that failed or finished is reported as
     * such even when it was also too slow. */
    int rank = classify(s, slot, r);
    return check_time(s, slot, *dt) ? RANK_IDLE : rank;
}

/* Ticks a node, again while it makes progress quickly, up to the burst. */
static int tick_slot(sl_scheduler *s, sl__slot *slot)
{
    int best = RANK_IDLE;

    for (unsigned i = 0; i < s->cfg.progress_burst; i++) {
        int r;
        uint64_t dt;
        int rank = tick_once(s, slot, &r, &dt);

        if (rank > best)
            best = rank;
        if (slot->ended || r != SL_NODE_PROGRESS ||
            dt >= s->cfg.slow_tick_ns ||
            atomic_load_explicit(&s->stop, memory_order_relaxed))
            break;
    }
    return best;
}

/* Re-reads every node's class; the tick order follows from it. */
static void refresh_classes(sl_scheduler *s)
{
    for (sl__slot *slot = s->head; slot; slot = slot->next)
        slot->cls = (int)sl_node_get_class(slot->node);
}

static int tick_all(sl_scheduler *s)
{
    int best = RANK_IDLE;

    for (int cls = SL_CLASS_AUDIBLE; cls >= SL_CLASS_IDLE; cls--) {
        for (sl__slot *slot = s->head; slot; slot = slot->next) {
            if (slot->cls != cls || slot->ended)
                continue;
            int rank = tick_slot(s, slot);
            if (rank > best)
                best = rank;
        }
    }
    return best;
}

static void retire_ended(sl_scheduler *s)
{
    sl__slot *slot = s->head;

    while (slot) {
        sl__slot *next = slot->next;
        if (slot->ended)
            retire(s, slot);
        slot = next;
    }
}

/* ---- parking ----------------------------------------------------------- */

static void park(sl_scheduler *s, int rank, uint32_t seen)
{
    const sl__park_hook *hook;
    uint64_t ns;

    if (rank == RANK_PROGRESS) {
        if (++s->progress_streak >= s->cfg.yield_every) {
            s->progress_streak = 0;
            sched_yield();
        }
        return;
    }
    s->progress_streak = 0;
    ns = rank == RANK_IDLE ? s->cfg.idle_park_ns : s->cfg.waiting_park_ns;
    if (!sl__wake_prepare(&s->wake, seen))
        return;
    hook = atomic_load_explicit(&s->park_hook, memory_order_acquire);
    if (hook)
        hook->fn(hook->arg);
    sl__count(&s->n.parks);
    if (sl__wake_wait(&s->wake, seen, sl__now_ns() + ns))
        sl__count(&s->n.wakeups);
}

static const sl_scheduler_event_type rank_event[] = {
    [RANK_IDLE] = SL_SCHED_IDLE,
    [RANK_BACKPRESSURED] = SL_SCHED_BACKPRESSURED,
    [RANK_PENDING] = SL_SCHED_PENDING,
    [RANK_WAITING] = SL_SCHED_WAITING,
    [RANK_PROGRESS] = SL_SCHED_PROGRESS,
};

/* The last pass: take the final commands, closing the queue, and retire
 * every node. */
static void teardown(sl_scheduler *s)
{
    apply_commands(s, true);
    while (s->head)
        retire(s, s->head);
    emit(s, SL_SCHED_PASS_END, NULL, 0, 0, 0);
}

void sl__scheduler_run(sl_scheduler *s)
{
    for (;;) {
        /* Read the wake sequence before looking at anything a waker
         * changes: a wake from here on makes the park return at once. */
        uint32_t seen = sl__wake_seen(&s->wake);
        bool stop = atomic_load_explicit(&s->stop, memory_order_acquire);

        s->pass++;
        sl__count(&s->n.passes);
        emit(s, SL_SCHED_PASS_START, NULL, 0, 0, 0);
        if (stop) {
            teardown(s);
            return;
        }
        apply_commands(s, false);
        refresh_classes(s);
        int rank = tick_all(s);
        retire_ended(s);
        emit(s, rank_event[rank], NULL, 0, 0, 0);
        emit(s, SL_SCHED_PASS_END, NULL, 0, 0, 0);
        park(s, rank, seen);
    }
}
