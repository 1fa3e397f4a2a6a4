/*
 * sluice/effect.h: audio effects: the vtable every effect implements, the
 * registry of effect kinds, and effect instances used on their own.
 *
 * An effect kind is a `const sl_effect_vtable` with a name and a parameter
 * table. The built-in kinds (gain, pan, lowpass, compress, reverb, ...) and
 * kinds a player registers with sl_effect_register() are found and used the
 * same way, by name.
 *
 * An instance processes interleaved float32 frames in place, for a channel
 * count and sample rate fixed when it is created. Its threads:
 *  - create/destroy: a control thread, never the audio thread (they
 *    allocate and free);
 *  - set_param, reset, process: the one thread that runs the audio (the
 *    "audio thread"); all three are real-time safe: no allocation, lock,
 *    I/O, logging or waiting. To change parameters from another thread,
 *    put the effect in an sl_chain (sluice/chain.h).
 *
 * Contract of every effect, built-in and user-defined:
 *  - parameter changes are smoothed: a new value is reached through a short
 *    ramp (SL_EFFECT_RAMP_MS for the built-ins), never a jump;
 *  - reset() (on seek) clears the signal state (delay lines, filter
 *    memories, envelopes) and moves every parameter to its target at once;
 *  - non-finite input: sl_effect_process() replaces NaN and +-Inf input
 *    samples by 0 before the effect sees them, so one bad sample costs one
 *    silent sample and can never poison an effect's state; the built-ins
 *    also clear their recursive state if it ever becomes non-finite;
 *  - denormals: sl_effect_process() runs the effect with flush-to-zero and
 *    denormals-are-zero set on x86 (restored afterwards), sets input
 *    samples below 1e-30 (-600 dBFS) to exact 0, and the built-ins flush
 *    recursive state below 1e-30 to exact zero, so they stay clean on
 *    architectures without a flush-to-zero mode too.
 */
#ifndef SLUICE_EFFECT_H
#define SLUICE_EFFECT_H

#include <stddef.h>
#include <sluice/common.h>

SL_BEGIN_DECLS

/* The most parameters an effect kind may declare. */
#define SL_EFFECT_MAX_PARAMS 32u
/* The most channels an effect instance may have. */
#define SL_EFFECT_MAX_CHANNELS 64u
/* The lowest and highest sample rate an effect instance accepts, in Hz. */
#define SL_EFFECT_MIN_RATE 8000.0
#define SL_EFFECT_MAX_RATE 384000.0
/* How long the built-in effects take to reach a new parameter value. */
#define SL_EFFECT_RAMP_MS 20.0
/* The longest effect kind name, without the terminating NUL. */
#define SL_EFFECT_MAX_NAME 31u

/* The effect does not make sound from silence and is linear: all-zero input
 * gives all-zero output. */
#define SL_EFFECT_LINEAR 0x1u

/* One parameter of an effect kind. Values are floats in [min, max]. */
typedef struct sl_effect_param {
    const char *name; /* short, lower case, unique within the kind */
    float min;
    float max;
    float def;        /* the value a new instance starts with */
    const char *unit; /* "dB", "Hz", "ms", "ratio", "" ... */
} sl_effect_param;

typedef struct sl_effect sl_effect;
typedef struct sl_effect_vtable sl_effect_vtable;

/* The common head of every effect instance. An implementation puts it first
 * in its own struct; the library fills it in after create() returns. */
struct sl_effect {
    const sl_effect_vtable *vt;
    unsigned channels;
    double sample_rate;
    /* The last value set for each parameter (its target). */
    float params[SL_EFFECT_MAX_PARAMS];
};

/* What an effect kind implements. Instances of built-in kinds are made with
 * designated initializers, one kind per file in effects/. */
struct sl_effect_vtable {
    const char *name;    /* the kind's name, as used by sl_effect_create() */
    const char *summary; /* one line for help output */
    const sl_effect_param *params;
    unsigned n_params;
    /* How many leading parameters the text form (sl_chain_parse()) requires;
     * the rest may be left out and keep their defaults. */
    unsigned n_required;
    unsigned flags; /* SL_EFFECT_* */
    /* Allocates an instance for `channels` channels at `sample_rate`,
     * including every buffer it will ever use, with its parameters at their
     * defaults. Control thread. Returns SL_OK or a negative SL_E* code. */
    int (*create)(sl_effect **out, unsigned channels, double sample_rate);
    /* Frees the instance. Control thread. */
    void (*destroy)(sl_effect *fx);
    /* Sets a new target for parameter `index` (already range-checked); the
     * effect ramps to it. Audio thread, RT-safe. */
    void (*set_param)(sl_effect *fx, unsigned index, float value);
    /* Clears the signal state, jumps parameters to their targets. Audio
     * thread, RT-safe. */
    void (*reset)(sl_effect *fx);
    /* Processes `frames` interleaved frames in place; every input sample is
     * finite. Audio thread, RT-safe. */
    void (*process)(sl_effect *fx, float *buf, size_t frames);
};

/* Registers a player's own effect kind so that sl_effect_create(), chains
 * and the text form can use it by name like a built-in. The vtable must
 * stay valid until the process ends; registrations are never removed.
 * Thread: any control thread (serialized internally); not RT-safe.
 * Errors: SL_EINVAL when vt, its name or a function pointer is NULL, the
 * name is empty, longer than SL_EFFECT_MAX_NAME or has a space or ';',
 * n_params exceeds SL_EFFECT_MAX_PARAMS, or a parameter has min > max or a
 * default outside [min, max]; SL_EBUSY when the name is taken; SL_EFULL
 * when 64 kinds are registered already. */
SL_API int sl_effect_register(const sl_effect_vtable *vt);

/* Finds an effect kind, built-in or registered, by name.
 * Returns NULL when there is none.
 * Thread: any thread; not RT-safe (may take the registry's lock).
 * Errors: none. */
SL_API const sl_effect_vtable *sl_effect_find(const char *name);

/* Returns the i-th known effect kind (built-ins first, then registered
 * ones, in registration order), or NULL when i is past the end.
 * Thread: any thread; not RT-safe.
 * Errors: none. */
SL_API const sl_effect_vtable *sl_effect_kind_at(size_t i);

/* Returns the index of the parameter called `name` in `vt`, or -1.
 * Thread: any thread; RT-safe.
 * Errors: none. */
SL_API int sl_effect_param_index(const sl_effect_vtable *vt, const char *name);

/* Creates an instance of the kind called `name` for `channels` interleaved
 * channels at `sample_rate` Hz, with every parameter at its default.
 * Thread: control thread; not RT-safe (allocates).
 * Errors: SL_EINVAL when out or name is NULL, channels is 0 or above
 * SL_EFFECT_MAX_CHANNELS, or the rate is outside [SL_EFFECT_MIN_RATE,
 * SL_EFFECT_MAX_RATE]; SL_ENOTFOUND when no kind has that name; SL_ENOMEM;
 * any code the kind's create() returns. *out is NULL on error. */
SL_API int sl_effect_create(sl_effect **out, const char *name,
                            unsigned channels, double sample_rate);

/* Frees an instance. NULL is ignored.
 * Thread: control thread, when the audio thread no longer uses it.
 * Errors: none. */
SL_API void sl_effect_destroy(sl_effect *fx);

/* Sets parameter `index` to `value`; the effect ramps there.
 * Thread: the audio thread (the one calling sl_effect_process()), or any
 * thread while no audio runs; RT-safe.
 * Errors: SL_EINVAL when fx is NULL, index is out of range or value is not
 * finite; SL_ERANGE when value is outside the parameter's [min, max]. */
SL_API int sl_effect_set_param(sl_effect *fx, unsigned index, float value);

/* Returns the current target of parameter `index`, or 0 when out of range.
 * Thread: the audio thread; RT-safe.
 * Errors: none. */
SL_API float sl_effect_get_param(const sl_effect *fx, unsigned index);

/* Clears the effect's signal state (use on seek) and moves parameters to
 * their targets without a ramp.
 * Thread: the audio thread; RT-safe.
 * Errors: none. */
SL_API void sl_effect_reset(sl_effect *fx);

/* Processes `frames` interleaved frames in place. Non-finite input samples
 * and samples below 1e-30 are replaced by 0 first; runs with denormals
 * flushed (see top of file).
 * Thread: the audio thread; RT-safe.
 * Errors: none. */
SL_API void sl_effect_process(sl_effect *fx, float *buf, size_t frames);

SL_END_DECLS

#endif /* SLUICE_EFFECT_H */
