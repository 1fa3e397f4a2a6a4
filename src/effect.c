/*
 * effect.c: the effect registry (built-in kinds plus kinds a player
 * registers) and the generic instance functions that wrap each kind's
 * vtable with argument checks, the non-finite input policy and the
 * denormal guard.
 *
 * Registry functions run on control threads and serialize on one mutex;
 * set_param/reset/process run on the audio thread and take no lock.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include <sluice/effect.h>
#include "effect_priv.h"

#define MAX_USER_KINDS 64

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static const sl_effect_vtable *user_kinds[MAX_USER_KINDS];
static size_t n_user_kinds;

static size_t n_builtins(void)
{
    size_t n = 0;
    while (sl__builtin_effects[n] != NULL)
        n++;
    return n;
}

static const sl_effect_vtable *find_locked(const char *name)
{
    for (size_t i = 0; sl__builtin_effects[i] != NULL; i++)
        if (strcmp(sl__builtin_effects[i]->name, name) == 0)
            return sl__builtin_effects[i];
    for (size_t i = 0; i < n_user_kinds; i++)
        if (strcmp(user_kinds[i]->name, name) == 0)
            return user_kinds[i];
    return NULL;
}

static int valid_name(const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;

    if (len == 0 || len > SL_EFFECT_MAX_NAME)
        return 0;
    return strpbrk(name, " \t\r\n;") == NULL;
}

/* Checks everything sl_effect_register() promises to check. */
static int valid_vtable(const sl_effect_vtable *vt)
{
    if (vt == NULL || !valid_name(vt->name) || vt->create == NULL ||
        vt->destroy == NULL || vt->set_param == NULL || vt->reset == NULL ||
        vt->process == NULL || vt->n_params > SL_EFFECT_MAX_PARAMS ||
        (vt->n_params > 0 && vt->params == NULL))
        return 0;
    for (unsigned i = 0; i < vt->n_params; i++) {
        const sl_effect_param *p = &vt->params[i];
        if (!valid_name(p->name) || !(p->min <= p->max) ||
            !(p->def >= p->min && p->def <= p->max))
            return 0;
    }
    return 1;
}

int sl_effect_register(const sl_effect_vtable *vt)
{
    int err = SL_OK;

    if (!valid_vtable(vt))
        return SL_EINVAL;
    pthread_mutex_lock(&registry_lock);
    if (find_locked(vt->name) != NULL)
        err = SL_EBUSY;
    else if (n_user_kinds == MAX_USER_KINDS)
        err = SL_EFULL;
    else
        user_kinds[n_user_kinds++] = vt;
    pthread_mutex_unlock(&registry_lock);
    return err;
}

const sl_effect_vtable *sl_effect_find(const char *name)
{
    const sl_effect_vtable *vt;

    if (name == NULL)
        return NULL;
    pthread_mutex_lock(&registry_lock);
    vt = find_locked(name);
    pthread_mutex_unlock(&registry_lock);
    return vt;
}

const sl_effect_vtable *sl_effect_kind_at(size_t i)
{
    const sl_effect_vtable *vt = NULL;
    size_t nb = n_builtins();

    if (i < nb)
        return sl__builtin_effects[i];
    pthread_mutex_lock(&registry_lock);
    if (i - nb < n_user_kinds)
        vt = user_kinds[i - nb];
    pthread_mutex_unlock(&registry_lock);
    return vt;
}

int sl_effect_param_index(const sl_effect_vtable *vt, const char *name)
{
    if (vt == NULL || name == NULL)
        return -1;
    for (unsigned i = 0; i < vt->n_params; i++)
        if (strcmp(vt->params[i].name, name) == 0)
            return (int)i;
    return -1;
}

int sl_effect_create(sl_effect **out, const char *name, unsigned channels,
                     double sample_rate)
{
    const sl_effect_vtable *vt;
    sl_effect *fx = NULL;
    int err;

    if (out == NULL)
        return SL_EINVAL;
    *out = NULL;
    if (name == NULL || channels == 0 || channels > SL_EFFECT_MAX_CHANNELS ||
        !(sample_rate >= SL_EFFECT_MIN_RATE &&
          sample_rate <= SL_EFFECT_MAX_RATE))
        return SL_EINVAL;
    vt = sl_effect_find(name);
    if (vt == NULL)
        return SL_ENOTFOUND;
    err = vt->create(&fx, channels, sample_rate);
    if (err != SL_OK)
        return err;
    if (fx == NULL)
        return SL_ENOMEM;
    fx->vt = vt;
    fx->channels = channels;
    fx->sample_rate = sample_rate;
    for (unsigned i = 0; i < vt->n_params; i++) {
        fx->params[i] = vt->params[i].def;
        vt->set_param(fx, i, vt->params[i].def);
    }
    vt->reset(fx);
    *out = fx;
    return SL_OK;
}

void sl_effect_destroy(sl_effect *fx)
{
    if (fx != NULL)
        fx->vt->destroy(fx);
}

int sl_effect_set_param(sl_effect *fx, unsigned index, float value)
{
    const sl_effect_param *p;

    if (fx == NULL || index >= fx->vt->n_params || !isfinite(value))
        return SL_EINVAL;
    p = &fx->vt->params[index];
    if (value < p->min || value > p->max)
        return SL_ERANGE;
    fx->params[index] = value;
    fx->vt->set_param(fx, index, value);
    return SL_OK;
}

float sl_effect_get_param(const sl_effect *fx, unsigned index)
{
    if (fx == NULL || index >= fx->vt->n_params)
        return 0.0f;
    return fx->params[index];
}

void sl_effect_reset(sl_effect *fx)
{
    if (fx != NULL)
        fx->vt->reset(fx);
}

void sl__effect_sanitize(float *buf, size_t samples)
{
    /* Non-finite samples (the NaN policy) and magnitudes below -600 dBFS,
     * subnormals included, become 0, so no effect ever starts from a
     * value that can poison or denormalize its state. */
    for (size_t i = 0; i < samples; i++)
        if (!isfinite(buf[i]) || fabsf(buf[i]) < (float)SL__FLUSH_BELOW)
            buf[i] = 0.0f;
}

void sl__effect_run(sl_effect *fx, float *buf, size_t frames)
{
    sl__effect_sanitize(buf, frames * fx->channels);
    fx->vt->process(fx, buf, frames);
}

void sl_effect_process(sl_effect *fx, float *buf, size_t frames)
{
    sl_fpu_guard g;

    if (fx == NULL || buf == NULL || frames == 0)
        return;
    sl__fpu_enter(&g);
    sl__effect_run(fx, buf, frames);
    sl__fpu_leave(&g);
}
