/*
 * chain_audio.c: the audio side of sl_chain: sl_chain_process() and
 * sl_chain_reset(). Runs on the one audio thread; RT-safe: no lock, no
 * allocation, no free, no wait. It adopts published snapshots, moves to
 * them with a crossfade, hands parameters and bypass flags to the effects
 * and tells the control side, through `in_use_from`, what it no longer
 * reaches (the protocol is described in chain.c).
 */
#include "config.h"

#include <string.h>

#include "chain_priv.h"
#include "effect_priv.h"

/* Takes snapshot s as the target: marks the old list's nodes outside the
 * two lists' common head and tail as fading. */
static void begin(sl_chain *c, sl_chain_snapshot *s)
{
    sl_chain_snapshot *o = c->cur;
    size_t no = o != NULL ? o->n : 0, nn = s->n;
    size_t m = no < nn ? no : nn, p = 0, q = 0;

    while (p < m && o->nodes[p] == s->nodes[p])
        p++;
    while (q < m - p && o->nodes[no - 1 - q] == s->nodes[nn - 1 - q])
        q++;
    c->next = s;
    c->old_lo = p;
    c->old_hi = no - q;
    c->new_lo = p;
    c->new_hi = nn - q;
    for (size_t i = c->old_lo; i < c->old_hi; i++)
        o->nodes[i]->fading = 1;
}

/* True when every fading node of the old list is fully dry. */
static int faded_out(const sl_chain *c)
{
    for (size_t i = c->old_lo; i < c->old_hi; i++)
        if (c->cur->nodes[i]->mix != 0.0f)
            return 0;
    return 1;
}

static void take_params(sl_chain_node *n);

/* Makes the target list current. Its differing nodes start dry (or, when
 * `instant`, at their final mix). Nodes that have never run take the
 * parameters set since they were created without a ramp: nothing of them
 * has been heard yet. Then tells the control side that older snapshots
 * and the nodes only they held are no longer reached. */
static void switch_to(sl_chain *c, int instant)
{
    for (size_t i = c->old_lo; i < c->old_hi; i++)
        c->cur->nodes[i]->fading = 0;
    for (size_t i = c->new_lo; i < c->new_hi; i++) {
        sl_chain_node *n = c->next->nodes[i];
        int bypass = atomic_load_explicit(&n->bypass, memory_order_relaxed);
        if (n->fresh) {
            take_params(n);
            n->fx->vt->reset(n->fx);
            n->fresh = 0;
        }
        n->fading = 0;
        n->mix = instant && !bypass ? 1.0f : 0.0f;
    }
    c->cur = c->next;
    c->next = NULL;
    /* release: all our use of older snapshots and removed nodes happens
     * before the control side may free them (it loads with acquire). */
    atomic_store_explicit(&c->in_use_from, c->cur->seq, memory_order_release);
}

/* Hands the parameters the control side changed to the effect. */
static void take_params(sl_chain_node *n)
{
    /* acquire: pairs with the release fetch_or in sl_chain_set_param() */
    unsigned bits =
        atomic_exchange_explicit(&n->dirty, 0u, memory_order_acquire);

    while (bits != 0) {
        unsigned i = (unsigned)__builtin_ctz(bits);
        float v = atomic_load_explicit(&n->pending[i], memory_order_relaxed);
        bits &= bits - 1;
        n->fx->params[i] = v;
        n->fx->vt->set_param(n->fx, i, v);
    }
}

/* Runs one node over `frames` frames, crossfading between its input and
 * its output while its mix moves towards the target. */
static void run_node(sl_chain *c, sl_chain_node *n, float *buf, size_t frames)
{
    size_t samples = frames * c->cfg.channels;
    unsigned ch = c->cfg.channels;
    float target, step = 1.0f / (float)c->fade_frames;

    take_params(n);
    target = n->fading ||
                     atomic_load_explicit(&n->bypass, memory_order_relaxed)
                 ? 0.0f
                 : 1.0f;
    if (n->mix == 0.0f && target == 0.0f) {
        n->idle = 1; /* fully dry: skip it, the signal passes bit-exact */
        return;
    }
    if (n->idle) {
        n->fx->vt->reset(n->fx); /* coming back: no stale tails */
        n->idle = 0;
    }
    sl__effect_sanitize(buf, samples);
    if (n->mix == 1.0f && target == 1.0f) {
        n->fx->vt->process(n->fx, buf, frames);
        return;
    }
    memcpy(c->dry, buf, samples * sizeof *buf);
    n->fx->vt->process(n->fx, buf, frames);
    for (size_t i = 0; i < frames; i++) {
        float m = n->mix;
        m = target > m ? (m + step < target ? m + step : target)
                       : (m - step > target ? m - step : target);
        n->mix = m;
        for (unsigned k = 0; k < ch; k++) {
            float d = c->dry[i * ch + k];
            buf[i * ch + k] = d + m * (buf[i * ch + k] - d);
        }
    }
}

static void block(sl_chain *c, float *buf, size_t frames)
{
    if (c->next == NULL) {
        /* acquire: pairs with the control side's exchange in publish */
        sl_chain_snapshot *s =
            atomic_exchange_explicit(&c->pending, NULL, memory_order_acquire);
        if (s != NULL)
            begin(c, s);
    }
    if (c->next != NULL && (!c->started || faded_out(c)))
        switch_to(c, !c->started);
    c->started = 1;
    if (c->cur == NULL)
        return;
    for (size_t i = 0; i < c->cur->n; i++)
        run_node(c, c->cur->nodes[i], buf, frames);
}

void sl_chain_process(sl_chain *chain, float *buf, size_t frames)
{
    sl_fpu_guard g;
    size_t ch;

    if (chain == NULL || buf == NULL)
        return;
    ch = chain->cfg.channels;
    sl__fpu_enter(&g);
    while (frames > 0) {
        size_t n = frames < chain->cfg.max_block ? frames
                                                 : chain->cfg.max_block;
        block(chain, buf, n);
        buf += n * ch;
        frames -= n;
    }
    sl__fpu_leave(&g);
}

void sl_chain_reset(sl_chain *chain)
{
    if (chain == NULL)
        return;
    if (chain->next != NULL)
        switch_to(chain, 1);
    if (chain->cur == NULL)
        return;
    for (size_t i = 0; i < chain->cur->n; i++) {
        sl_chain_node *n = chain->cur->nodes[i];
        int bypass = atomic_load_explicit(&n->bypass, memory_order_relaxed);
        take_params(n);
        n->fx->vt->reset(n->fx);
        n->mix = bypass ? 0.0f : 1.0f;
        n->idle = bypass;
    }
}
