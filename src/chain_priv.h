/*
 * chain_priv.h: the inside of sl_chain, shared by chain.c (editing,
 * reclaiming, the audio side), chain_parse.c (the text form) and the
 * tests. Which thread owns each field is written next to it; the protocol
 * is described in include/sluice/chain.h and src/chain.c.
 */
#ifndef SLUICE_CHAIN_PRIV_H
#define SLUICE_CHAIN_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <sluice/chain.h>
#include <sluice/effect.h>

typedef struct sl_chain_node sl_chain_node;
struct sl_chain_node {
    sl_effect *fx;
    unsigned id;
    /* control -> audio */
    _Atomic float pending[SL_EFFECT_MAX_PARAMS];
    atomic_uint dirty; /* bit i: pending[i] is new */
    atomic_int bypass;
    /* audio side only (or control before the node is first published) */
    float mix;  /* how much of the effect's output is heard, 0..1 */
    int fading; /* fading out for a structural change */
    int idle;   /* was skipped (fully dry) in the last block */
    int fresh;  /* has never been run: parameters may jump */
    /* control side only */
    float values[SL_EFFECT_MAX_PARAMS];
    uint64_t removed_seq; /* 0 while in the chain */
    sl_chain_node *next_dead;
};

typedef struct sl_chain_snapshot sl_chain_snapshot;
struct sl_chain_snapshot {
    uint64_t seq;
    size_t n;
    sl_chain_snapshot *next; /* control side: unfreed snapshots, by seq */
    sl_chain_node *nodes[];
};

struct sl_chain {
    sl_chain_config cfg;
    unsigned fade_frames;

    /* control side, under lock */
    pthread_mutex_t lock;
    sl_chain_node **order; /* the chain as edited */
    size_t n;
    unsigned next_id;
    uint64_t next_seq;
    sl_chain_snapshot *snaps_head, *snaps_tail;
    sl_chain_node *graveyard;

    /* shared */
    _Atomic(sl_chain_snapshot *) pending;
    atomic_uint_fast64_t in_use_from; /* audio no longer reaches seq < it */

    /* audio side only */
    sl_chain_snapshot *cur;  /* running */
    sl_chain_snapshot *next; /* being moved to (fade-out phase) */
    size_t old_lo, old_hi;   /* cur->nodes[lo, hi) differ from next */
    size_t new_lo, new_hi;   /* next->nodes[lo, hi) differ from cur */
    int started;             /* has processed audio */
    float *dry;              /* max_block * channels */
};

/* Creates a node for kind `vt` (not yet in any list). Control side. */
int sl__chain_node_new(sl_chain *chain, const char *kind, sl_chain_node **out);

/* Frees a node that was never published. Control side. */
void sl__chain_node_free(sl_chain_node *node);

/* Sets a parameter of a node that the audio side has not seen yet (no
 * ramp: the node is reset before it is published). Control side. */
void sl__chain_node_preset(sl_chain_node *node, unsigned index, float value);

/* Inserts already-created nodes at `pos` and publishes one snapshot.
 * Control side, lock held. */
int sl__chain_insert_nodes(sl_chain *chain, size_t pos, sl_chain_node **nodes,
                           size_t count);

/* Counts what the chain still holds: snapshots not yet freed and nodes
 * (live plus removed-but-not-freed). For tests. Control side. */
void sl__chain_census(sl_chain *chain, size_t *snapshots, size_t *nodes);

#endif /* SLUICE_CHAIN_PRIV_H */
