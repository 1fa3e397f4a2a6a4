/*
 * sluice/chain.h: an ordered chain of effects that a control thread edits
 * while one audio thread runs it.
 *
 * The control side (any thread, serialized by the chain's own lock, which
 * the audio side never takes) adds, inserts, removes, moves and bypasses
 * effects and sets their parameters. The audio side calls
 * sl_chain_process() on blocks of interleaved float32 frames and never
 * locks, allocates, frees or waits.
 *
 * How edits reach the audio side:
 *  - Parameters: each effect in the chain has one atomic slot per
 *    parameter and an atomic "dirty" bit mask. The control side stores the
 *    value (relaxed), then sets the bit (release); the audio side swaps the
 *    mask to zero (acquire) at each block start and hands the new values
 *    to the effect, which ramps to them (no zipper noise).
 *  - Bypass: an atomic flag per effect. The effect's output is crossfaded
 *    with its input over the crossfade time; once fully bypassed the
 *    effect is skipped, so the signal passes bit-exact.
 *  - Structure (add, insert, remove, move): the control side builds a new
 *    immutable snapshot (the ordered list of effects) and publishes it by
 *    swapping it into an atomic "pending" pointer. A snapshot the audio
 *    side never picked up is swapped back out and freed by the control
 *    side at once. At a block boundary the audio side takes the pending
 *    snapshot and moves to it with a crossfade: the effects that differ
 *    between the old and the new list (everything outside their common
 *    head and tail) first fade from wet to dry in the old order; then the
 *    new order takes over and its differing effects fade from dry to wet.
 *    For a single insert, remove or bypass, that is exactly a crossfade
 *    between the old and the new chain output (for the linear effects
 *    after it, and without gaps or jumps for every effect).
 *  - Reclaiming: when the audio side has finished moving to snapshot
 *    number s, it stores s in an atomic "in use from" counter (release).
 *    The control side (acquire) then frees every older snapshot and every
 *    removed effect whose removal was published in a snapshot numbered
 *    <= s: the audio side can no longer reach them. This happens at the
 *    start of every control call and in sl_chain_collect(), never on the
 *    audio thread.
 *
 * The very first snapshot the audio side sees (before it has processed
 * anything) is adopted at once, without a fade. An effect's parameters set
 * between its creation and the moment it first runs apply without a ramp
 * (nothing of it has been heard), so a chain built in code before playback
 * starts exactly as configured.
 */
#ifndef SLUICE_CHAIN_H
#define SLUICE_CHAIN_H

#include <stddef.h>
#include <sluice/common.h>

SL_BEGIN_DECLS

typedef struct sl_chain sl_chain;

/* How a chain is set up. Get the defaults from sl_chain_config_default()
 * and change what you need, so fields added later keep working. */
typedef struct sl_chain_config {
    unsigned channels;   /* interleaved channels; default 2 */
    double sample_rate;  /* Hz; default 48000 */
    unsigned max_effects; /* most effects at once; default 32 */
    size_t max_block;    /* frames processed per internal step; larger
                          * blocks are split; default 1024 */
    double crossfade_ms; /* structural and bypass crossfades; default 5 */
} sl_chain_config;

/* Fills *cfg with the defaults.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API void sl_chain_config_default(sl_chain_config *cfg);

/* Creates an empty chain (it passes audio through unchanged).
 * Thread: control thread; not RT-safe.
 * Errors: SL_EINVAL when out or cfg is NULL, channels or rate is outside
 * what effects accept (see sluice/effect.h), max_effects is 0 or above
 * 1024, max_block is 0 or above 65536, or crossfade_ms is outside
 * [0.1, 1000]; SL_ENOMEM. *out is NULL on error. */
SL_API int sl_chain_create(sl_chain **out, const sl_chain_config *cfg);

/* Frees the chain and every effect and snapshot it holds. NULL is ignored.
 * Thread: control thread, after the audio thread has stopped calling
 * sl_chain_process() for good.
 * Errors: none. */
SL_API void sl_chain_destroy(sl_chain *chain);

/* Appends a new effect of kind `kind` (see sl_effect_find()) at its
 * default parameters; stores its id in *id when id is not NULL. Ids are
 * never reused within a chain.
 * Thread: control thread; not RT-safe.
 * Errors: SL_EINVAL when chain or kind is NULL; SL_ENOTFOUND for an
 * unknown kind; SL_EFULL when max_effects are in the chain; SL_ENOMEM. */
SL_API int sl_chain_add(sl_chain *chain, const char *kind, unsigned *id);

/* Like sl_chain_add() but inserts at position `pos` (0 = first; the
 * length appends).
 * Thread: control thread; not RT-safe.
 * Errors: as sl_chain_add(); SL_ERANGE when pos > sl_chain_length(). */
SL_API int sl_chain_insert(sl_chain *chain, size_t pos, const char *kind,
                           unsigned *id);

/* Removes the effect `id`; it fades out and is freed later by a control
 * call once the audio side has let go of it.
 * Thread: control thread; not RT-safe.
 * Errors: SL_EINVAL when chain is NULL; SL_ENOTFOUND for an unknown id;
 * SL_ENOMEM. */
SL_API int sl_chain_remove(sl_chain *chain, unsigned id);

/* Moves the effect `id` to position `pos` (counted in the list after the
 * move; 0 = first).
 * Thread: control thread; not RT-safe.
 * Errors: SL_EINVAL when chain is NULL; SL_ENOTFOUND for an unknown id;
 * SL_ERANGE when pos >= sl_chain_length(); SL_ENOMEM. */
SL_API int sl_chain_move(sl_chain *chain, unsigned id, size_t pos);

/* Bypasses (nonzero) or re-enables (0) the effect `id`, with a crossfade.
 * Thread: control thread; RT-safe apart from the chain's control lock.
 * Errors: SL_EINVAL when chain is NULL; SL_ENOTFOUND for an unknown id. */
SL_API int sl_chain_set_bypass(sl_chain *chain, unsigned id, int bypass);

/* Sets parameter `param` of effect `id`; the effect ramps to it.
 * Thread: control thread; RT-safe apart from the chain's control lock.
 * Errors: SL_EINVAL when chain or param is NULL or value is not finite;
 * SL_ENOTFOUND for an unknown id or parameter name; SL_ERANGE when value
 * is outside the parameter's range. */
SL_API int sl_chain_set_param(sl_chain *chain, unsigned id, const char *param,
                              float value);

/* Reads back the value last set for parameter `param` of effect `id`.
 * Thread: control thread.
 * Errors: SL_EINVAL when an argument is NULL; SL_ENOTFOUND for an unknown
 * id or parameter. */
SL_API int sl_chain_get_param(sl_chain *chain, unsigned id, const char *param,
                              float *value);

/* Returns the number of effects in the chain (as edited, which the audio
 * side may not have reached yet).
 * Thread: control thread.
 * Errors: none (0 for NULL). */
SL_API size_t sl_chain_length(sl_chain *chain);

/* Stores the id of the effect at position `pos` in *id.
 * Thread: control thread.
 * Errors: SL_EINVAL when chain or id is NULL; SL_ERANGE when pos is past
 * the end. */
SL_API int sl_chain_id_at(sl_chain *chain, size_t pos, unsigned *id);

/* Returns the kind name of effect `id`, or NULL for an unknown id.
 * Thread: control thread.
 * Errors: none. */
SL_API const char *sl_chain_kind(sl_chain *chain, unsigned id);

/* Frees the snapshots and removed effects the audio side has let go of.
 * Every control call does this too; call it when the chain sits idle
 * after edits. Returns how many objects were freed.
 * Thread: control thread; not RT-safe (frees).
 * Errors: none. */
SL_API size_t sl_chain_collect(sl_chain *chain);

/* Runs `frames` interleaved frames in place through the chain, first
 * adopting a pending structural change if no crossfade is in progress.
 * Non-finite input samples become 0 at the first active effect; the
 * effects run with denormals flushed.
 * Thread: the audio thread (one thread at a time); RT-safe.
 * Errors: none. */
SL_API void sl_chain_process(sl_chain *chain, float *buf, size_t frames);

/* Clears every effect's signal state (use on seek) and completes any
 * crossfade in progress at once.
 * Thread: the audio thread; RT-safe.
 * Errors: none. */
SL_API void sl_chain_reset(sl_chain *chain);

/* Appends the effects described by `text`, in the form
 * "NAME ARG...; NAME ARG...", to the chain: all of them or, on error, none.
 * The names and arguments are documented in docs/EFFECTS.md (sox's where
 * sox has the effect). On error a one-line message naming the effect, the
 * argument and what was expected is written to err (NUL-terminated,
 * truncated to err_len) when err is not NULL.
 * Thread: control thread; not RT-safe.
 * Errors: SL_EINVAL when chain or text is NULL or the text does not parse
 * (the message says why); SL_ENOTFOUND for an unknown effect name;
 * SL_EFULL when the effects would not fit; SL_ENOMEM. */
SL_API int sl_chain_parse(sl_chain *chain, const char *text, char *err,
                          size_t err_len);

SL_END_DECLS

#endif /* SLUICE_CHAIN_H */
