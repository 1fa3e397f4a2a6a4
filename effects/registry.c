/*
 * registry.c: the built-in effect kinds. A new built-in effect is one new
 * file in effects/ defining `const sl_effect_vtable sl__fx_NAME` plus one
 * line in the list below. Read-only data; any thread.
 */
#include "config.h"

#include <stddef.h>
#include <sluice/effect.h>
#include "effect_priv.h"

#define SL__BUILTIN_EFFECTS(X)                                                 \
    X(gain)                                                                    \
    X(mute)                                                                    \
    X(pan)                                                                     \
    X(lowpass)                                                                 \
    X(highpass)                                                                \
    X(bandpass)                                                                \
    X(notch)                                                                   \
    X(allpass)                                                                 \
    X(equalizer)                                                               \
    X(bass)                                                                    \
    X(treble)                                                                  \
    X(eq)                                                                      \
    X(echo)                                                                    \
    X(chorus)                                                                  \
    X(compress)                                                                \
    X(limit)                                                                   \
    X(reverb)

#define SL__DECLARE(name) extern const sl_effect_vtable sl__fx_##name;
SL__BUILTIN_EFFECTS(SL__DECLARE)
#undef SL__DECLARE

const sl_effect_vtable *const sl__builtin_effects[] = {
#define SL__ENTRY(name) &sl__fx_##name,
    SL__BUILTIN_EFFECTS(SL__ENTRY)
#undef SL__ENTRY
    NULL,
};
