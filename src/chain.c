/*
 * chain.c: effect chains. The control side (functions other than
 * sl_chain_process/sl_chain_reset, under chain->lock) edits an ordered
 * array of nodes and publishes immutable snapshots of it; the audio side
 * (sl_chain_process, sl_chain_reset: one audio thread, RT-safe, no lock)
 * runs the current snapshot and moves to new ones with a crossfade.
 *
 * Protocol (see also include/sluice/chain.h):
 *  1. publish: the control side allocates snapshot number s (increasing)
 *     and atomic_exchange()s it into `pending` (acq_rel: release publishes
 *     the snapshot and the nodes' initial state). A non-NULL result is a
 *     snapshot the audio side never took; nobody else can reach it now, so
 *     it is freed on the spot.
 *  2. adopt: at a block boundary with no move in progress, the audio side
 *     exchange()s `pending` with NULL (acquire). It marks the old list's
 *     differing nodes `fading`; they ramp to dry. When all of them are dry
 *     it switches to the new list, whose differing nodes start dry and
 *     ramp to wet, and stores s into `in_use_from` (release): from then on
 *     it never touches a snapshot numbered below s, nor a node that is in
 *     none of the snapshots numbered s or above.
 *  3. reclaim: the control side loads `in_use_from` (acquire) and frees
 *     the snapshots numbered below it and the removed nodes whose removal
 *     was published in a snapshot numbered at most it. A snapshot sitting
 *     in `pending` is always the newest one, so it is never freed early.
 * Parameters and bypass travel through per-node atomics (see the header).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "chain_priv.h"
#include "effect_priv.h"

void sl_chain_config_default(sl_chain_config *cfg)
{
    if (cfg == NULL)
        return;
    cfg->channels = 2;
    cfg->sample_rate = 48000.0;
    cfg->max_effects = 32;
    cfg->max_block = 1024;
    cfg->crossfade_ms = 5.0;
}

static int valid_config(const sl_chain_config *c)
{
    return c->channels > 0 && c->channels <= SL_EFFECT_MAX_CHANNELS &&
           c->sample_rate >= SL_EFFECT_MIN_RATE &&
           c->sample_rate <= SL_EFFECT_MAX_RATE && c->max_effects > 0 &&
           c->max_effects <= 1024 && c->max_block > 0 &&
           c->max_block <= 65536 && c->crossfade_ms >= 0.1 &&
           c->crossfade_ms <= 1000.0;
}

int sl_chain_create(sl_chain **out, const sl_chain_config *cfg)
{
    sl_chain *c = NULL;

    if (out == NULL)
        return SL_EINVAL;
    *out = NULL;
    if (cfg == NULL || !valid_config(cfg))
        return SL_EINVAL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return SL_ENOMEM;
    c->cfg = *cfg;
    c->fade_frames = (unsigned)(cfg->crossfade_ms / 1000.0 * cfg->sample_rate);
    if (c->fade_frames == 0)
        c->fade_frames = 1;
    c->order = calloc(cfg->max_effects, sizeof *c->order);
    c->dry = calloc(cfg->max_block * cfg->channels, sizeof *c->dry);
    if (c->order == NULL || c->dry == NULL)
        goto fail;
    if (pthread_mutex_init(&c->lock, NULL) != 0)
        goto fail;
    atomic_init(&c->pending, NULL);
    atomic_init(&c->in_use_from, 0);
    c->next_id = 1;
    *out = c;
    return SL_OK;

fail:
    free(c->order);
    free(c->dry);
    free(c);
    return SL_ENOMEM;
}

/* ---- nodes ------------------------------------------------------------- */

int sl__chain_node_new(sl_chain *chain, const char *kind, sl_chain_node **out)
{
    sl_chain_node *n = calloc(1, sizeof *n);
    int err;

    if (n == NULL)
        return SL_ENOMEM;
    err = sl_effect_create(&n->fx, kind, chain->cfg.channels,
                           chain->cfg.sample_rate);
    if (err != SL_OK) {
        free(n);
        return err;
    }
    for (unsigned i = 0; i < SL_EFFECT_MAX_PARAMS; i++)
        atomic_init(&n->pending[i], 0.0f);
    for (unsigned i = 0; i < n->fx->vt->n_params; i++)
        n->values[i] = n->fx->vt->params[i].def;
    atomic_init(&n->dirty, 0);
    atomic_init(&n->bypass, 0);
    n->fresh = 1;
    n->id = chain->next_id++;
    *out = n;
    return SL_OK;
}

void sl__chain_node_free(sl_chain_node *node)
{
    if (node == NULL)
        return;
    sl_effect_destroy(node->fx);
    free(node);
}

void sl__chain_node_preset(sl_chain_node *node, unsigned index, float value)
{
    node->values[index] = value;
    node->fx->params[index] = value;
    node->fx->vt->set_param(node->fx, index, value);
}

/* ---- snapshots and reclaiming (control side, lock held) ---------------- */

static size_t collect_locked(sl_chain *c)
{
    /* acquire: pairs with the audio side's release store in switch_to() */
    uint64_t from =
        atomic_load_explicit(&c->in_use_from, memory_order_acquire);
    sl_chain_node **link = &c->graveyard;
    size_t freed = 0;

    while (c->snaps_head != NULL && c->snaps_head->seq < from) {
        sl_chain_snapshot *s = c->snaps_head;
        c->snaps_head = s->next;
        if (c->snaps_tail == s)
            c->snaps_tail = NULL;
        free(s);
        freed++;
    }
    while (*link != NULL) {
        sl_chain_node *n = *link;
        if (n->removed_seq <= from) {
            *link = n->next_dead;
            sl__chain_node_free(n);
            freed++;
        } else {
            link = &n->next_dead;
        }
    }
    return freed;
}

/* Takes `s` out of the list of unfreed snapshots and frees it. */
static void drop_snapshot(sl_chain *c, sl_chain_snapshot *s)
{
    sl_chain_snapshot **link = &c->snaps_head, *prev = NULL;

    while (*link != s) {
        prev = *link;
        link = &(*link)->next;
    }
    *link = s->next;
    if (c->snaps_tail == s)
        c->snaps_tail = prev;
    free(s);
}

/* Publishes the current order as a new snapshot; returns its number via
 * *seq. Can fail only with SL_ENOMEM, leaving the audio side untouched. */
static int publish_locked(sl_chain *c, uint64_t *seq)
{
    sl_chain_snapshot *s, *old;

    s = malloc(sizeof *s + c->n * sizeof s->nodes[0]);
    if (s == NULL)
        return SL_ENOMEM;
    s->seq = ++c->next_seq;
    s->n = c->n;
    s->next = NULL;
    memcpy(s->nodes, c->order, c->n * sizeof s->nodes[0]);
    if (c->snaps_tail != NULL)
        c->snaps_tail->next = s;
    else
        c->snaps_head = s;
    c->snaps_tail = s;
    /* acq_rel: release publishes s and its nodes; acquire orders the
     * audio side's earlier use of `old` (it never took it) before us. */
    old = atomic_exchange_explicit(&c->pending, s, memory_order_acq_rel);
    if (old != NULL)
        drop_snapshot(c, old);
    if (seq != NULL)
        *seq = s->seq;
    return SL_OK;
}

static long find_locked(const sl_chain *c, unsigned id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->order[i]->id == id)
            return (long)i;
    return -1;
}

void sl_chain_destroy(sl_chain *chain)
{
    sl_chain_snapshot *s;

    if (chain == NULL)
        return;
    for (s = chain->snaps_head; s != NULL;) {
        sl_chain_snapshot *next = s->next;
        free(s);
        s = next;
    }
    while (chain->graveyard != NULL) {
        sl_chain_node *n = chain->graveyard;
        chain->graveyard = n->next_dead;
        sl__chain_node_free(n);
    }
    for (size_t i = 0; i < chain->n; i++)
        sl__chain_node_free(chain->order[i]);
    pthread_mutex_destroy(&chain->lock);
    free(chain->order);
    free(chain->dry);
    free(chain);
}

size_t sl_chain_collect(sl_chain *chain)
{
    size_t freed;

    if (chain == NULL)
        return 0;
    pthread_mutex_lock(&chain->lock);
    freed = collect_locked(chain);
    pthread_mutex_unlock(&chain->lock);
    return freed;
}

void sl__chain_census(sl_chain *chain, size_t *snapshots, size_t *nodes)
{
    size_t ns = 0, nn;

    pthread_mutex_lock(&chain->lock);
    for (sl_chain_snapshot *s = chain->snaps_head; s != NULL; s = s->next)
        ns++;
    nn = chain->n;
    for (sl_chain_node *n = chain->graveyard; n != NULL; n = n->next_dead)
        nn++;
    pthread_mutex_unlock(&chain->lock);
    *snapshots = ns;
    *nodes = nn;
}

/* ---- structural edits --------------------------------------------------- */

int sl__chain_insert_nodes(sl_chain *c, size_t pos, sl_chain_node **nodes,
                           size_t count)
{
    int err;

    if (pos > c->n)
        return SL_ERANGE;
    if (count > c->cfg.max_effects - c->n)
        return SL_EFULL;
    for (size_t i = 0; i < count; i++)
        sl_effect_reset(nodes[i]->fx); /* unpublished: jump to presets */
    memmove(c->order + pos + count, c->order + pos,
            (c->n - pos) * sizeof *c->order);
    memcpy(c->order + pos, nodes, count * sizeof *nodes);
    c->n += count;
    err = publish_locked(c, NULL);
    if (err != SL_OK) {
        c->n -= count;
        memmove(c->order + pos, c->order + pos + count,
                (c->n - pos) * sizeof *c->order);
    }
    return err;
}

/* Inserts a new effect at `pos`, or at the end when `append`. */
static int insert(sl_chain *chain, size_t pos, int append, const char *kind,
                  unsigned *id)
{
    sl_chain_node *node = NULL;
    int err;

    if (chain == NULL || kind == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&chain->lock);
    collect_locked(chain);
    if (append)
        pos = chain->n;
    err = pos > chain->n                       ? SL_ERANGE
          : chain->n == chain->cfg.max_effects ? SL_EFULL
                                               : SL_OK;
    if (err == SL_OK)
        err = sl__chain_node_new(chain, kind, &node);
    if (err == SL_OK)
        err = sl__chain_insert_nodes(chain, pos, &node, 1);
    if (err == SL_OK && id != NULL)
        *id = node->id;
    if (err != SL_OK)
        sl__chain_node_free(node);
    pthread_mutex_unlock(&chain->lock);
    return err;
}

int sl_chain_insert(sl_chain *chain, size_t pos, const char *kind,
                    unsigned *id)
{
    return insert(chain, pos, 0, kind, id);
}

int sl_chain_add(sl_chain *chain, const char *kind, unsigned *id)
{
    return insert(chain, 0, 1, kind, id);
}

int sl_chain_remove(sl_chain *chain, unsigned id)
{
    sl_chain_node *node;
    uint64_t seq = 0;
    long i;
    int err;

    if (chain == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&chain->lock);
    collect_locked(chain);
    i = find_locked(chain, id);
    if (i < 0) {
        pthread_mutex_unlock(&chain->lock);
        return SL_ENOTFOUND;
    }
    node = chain->order[i];
    memmove(chain->order + i, chain->order + i + 1,
            (chain->n - (size_t)i - 1) * sizeof *chain->order);
    chain->n--;
    err = publish_locked(chain, &seq);
    if (err != SL_OK) {
        memmove(chain->order + i + 1, chain->order + i,
                (chain->n - (size_t)i) * sizeof *chain->order);
        chain->order[i] = node;
        chain->n++;
    } else {
        node->removed_seq = seq;
        node->next_dead = chain->graveyard;
        chain->graveyard = node;
    }
    pthread_mutex_unlock(&chain->lock);
    return err;
}

/* Moves order[from] to order[to], shifting the ones between. */
static void shift(sl_chain_node **order, size_t from, size_t to)
{
    sl_chain_node *node = order[from];

    if (from < to)
        memmove(order + from, order + from + 1, (to - from) * sizeof *order);
    else
        memmove(order + to + 1, order + to, (from - to) * sizeof *order);
    order[to] = node;
}

int sl_chain_move(sl_chain *chain, unsigned id, size_t pos)
{
    long i;
    int err;

    if (chain == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&chain->lock);
    collect_locked(chain);
    i = find_locked(chain, id);
    if (i < 0 || pos >= chain->n) {
        pthread_mutex_unlock(&chain->lock);
        return i < 0 ? SL_ENOTFOUND : SL_ERANGE;
    }
    if ((size_t)i == pos) {
        pthread_mutex_unlock(&chain->lock);
        return SL_OK;
    }
    shift(chain->order, (size_t)i, pos);
    err = publish_locked(chain, NULL);
    if (err != SL_OK)
        shift(chain->order, pos, (size_t)i);
    pthread_mutex_unlock(&chain->lock);
    return err;
}

/* ---- per-effect settings ----------------------------------------------- */

int sl_chain_set_bypass(sl_chain *chain, unsigned id, int bypass)
{
    long i;

    if (chain == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&chain->lock);
    collect_locked(chain);
    i = find_locked(chain, id);
    if (i >= 0)
        /* relaxed: a flag that orders no other data */
        atomic_store_explicit(&chain->order[i]->bypass, bypass != 0,
                              memory_order_relaxed);
    pthread_mutex_unlock(&chain->lock);
    return i >= 0 ? SL_OK : SL_ENOTFOUND;
}

/* Finds node `id` and parameter `param`; lock held. */
static int lookup(sl_chain *c, unsigned id, const char *param,
                  sl_chain_node **node, unsigned *index)
{
    long i = find_locked(c, id);
    int p;

    if (i < 0)
        return SL_ENOTFOUND;
    p = sl_effect_param_index(c->order[i]->fx->vt, param);
    if (p < 0)
        return SL_ENOTFOUND;
    *node = c->order[i];
    *index = (unsigned)p;
    return SL_OK;
}

int sl_chain_set_param(sl_chain *chain, unsigned id, const char *param,
                       float value)
{
    sl_chain_node *node;
    unsigned idx;
    int err;

    if (chain == NULL || param == NULL || !isfinite(value))
        return SL_EINVAL;
    pthread_mutex_lock(&chain->lock);
    collect_locked(chain);
    err = lookup(chain, id, param, &node, &idx);
    if (err == SL_OK) {
        const sl_effect_param *p = &node->fx->vt->params[idx];
        if (value < p->min || value > p->max) {
            err = SL_ERANGE;
        } else {
            node->values[idx] = value;
            atomic_store_explicit(&node->pending[idx], value,
                                  memory_order_relaxed);
            /* release: the value above is visible once the bit is */
            atomic_fetch_or_explicit(&node->dirty, 1u << idx,
                                     memory_order_release);
        }
    }
    pthread_mutex_unlock(&chain->lock);
    return err;
}

int sl_chain_get_param(sl_chain *chain, unsigned id, const char *param,
                       float *value)
{
    sl_chain_node *node;
    unsigned idx;
    int err;

    if (chain == NULL || param == NULL || value == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&chain->lock);
    err = lookup(chain, id, param, &node, &idx);
    if (err == SL_OK)
        *value = node->values[idx];
    pthread_mutex_unlock(&chain->lock);
    return err;
}

size_t sl_chain_length(sl_chain *chain)
{
    size_t n;

    if (chain == NULL)
        return 0;
    pthread_mutex_lock(&chain->lock);
    n = chain->n;
    pthread_mutex_unlock(&chain->lock);
    return n;
}

int sl_chain_id_at(sl_chain *chain, size_t pos, unsigned *id)
{
    int err = SL_OK;

    if (chain == NULL || id == NULL)
        return SL_EINVAL;
    pthread_mutex_lock(&chain->lock);
    if (pos < chain->n)
        *id = chain->order[pos]->id;
    else
        err = SL_ERANGE;
    pthread_mutex_unlock(&chain->lock);
    return err;
}

const char *sl_chain_kind(sl_chain *chain, unsigned id)
{
    const char *name = NULL;
    long i;

    if (chain == NULL)
        return NULL;
    pthread_mutex_lock(&chain->lock);
    i = find_locked(chain, id);
    if (i >= 0)
        name = chain->order[i]->fx->vt->name;
    pthread_mutex_unlock(&chain->lock);
    return name;
}
