/*
 * chain_parse.c: the text form of a chain, "NAME ARG...; NAME ARG...".
 * Arguments are the effect kind's parameters in table order; the first
 * n_required must be given, the rest default. Frequencies may carry sox's
 * "k" suffix (2k = 2000 Hz), Q values sox's "q" suffix and shelf slopes
 * sox's "s" suffix. Errors name the effect, the argument and what was
 * expected. The whole text is checked before anything is added, so a
 * failed parse leaves the chain as it was. Control thread only.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "chain_priv.h"
#include "effect_priv.h"

#define MAX_TOKEN 64

typedef struct parsed {
    const sl_effect_vtable *vt;
    float values[SL_EFFECT_MAX_PARAMS];
    unsigned given;
} parsed;

/* printf-checked: clang's -Wformat=2 asks for the attribute. */
static int fail(char *err, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, int code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && len > 0) {
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* The parameter's name as the documentation writes it: upper case. */
static void upper(char *dst, const char *src)
{
    size_t i = 0;

    for (; src[i] != '\0' && i < MAX_TOKEN - 1; i++)
        dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

static const char *what(const char *unit)
{
    static const struct {
        const char *unit, *phrase;
    } phrases[] = {
        {"Hz", "a frequency in Hz"}, {"dB", "a level in dB"},
        {"ms", "a time in ms"},      {"Q", "a Q factor"},
        {"slope", "a shelf slope"},  {"ratio", "a ratio"},
        {"gain", "a gain factor"},   {"bool", "0 or 1, a flag"},
    };

    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
        if (strcmp(unit, phrases[i].unit) == 0)
            return phrases[i].phrase;
    return "a number";
}

/* The largest value the text form accepts: frequencies stop at Nyquist. */
static double range_max(const sl_effect_param *p, double rate)
{
    if (strcmp(p->unit, "Hz") == 0 && p->max > rate / 2.0)
        return rate / 2.0;
    return p->max;
}

/* Parses one argument; 0 or a message in err. */
static int parse_arg(const sl_effect_vtable *vt, unsigned i, const char *tok,
                     double rate, float *out, char *err, size_t len)
{
    const sl_effect_param *p = &vt->params[i];
    double max = range_max(p, rate), v;
    char *end, name[MAX_TOKEN];

    v = strtod(tok, &end);
    if (end != tok && strcmp(p->unit, "Hz") == 0 && *end == 'k')
        v *= 1000.0, end++;
    else if (end != tok && ((strcmp(p->unit, "Q") == 0 && *end == 'q') ||
                            (strcmp(p->unit, "slope") == 0 && *end == 's')))
        end++;
    if (end != tok && *end == '\0' && isfinite(v) && v >= p->min && v <= max) {
        *out = (float)v;
        return SL_OK;
    }
    upper(name, p->name);
    return fail(err, len, SL_EINVAL,
                "%s: %s: expected %s between %g and %g, got '%s'", vt->name,
                name, what(p->unit), (double)p->min, max, tok);
}

/* Lists a kind's arguments, e.g. "FREQ [Q]". */
static void usage(const sl_effect_vtable *vt, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < vt->n_params && used < len; i++) {
        char name[MAX_TOKEN];
        upper(name, vt->params[i].name);
        used += (size_t)snprintf(buf + used, len - used, "%s%s%s%s",
                                 i ? " " : "", i >= vt->n_required ? "[" : "",
                                 name, i >= vt->n_required ? "]" : "");
    }
}

/* The message for a required argument that was left out. */
static int missing(const sl_effect_vtable *vt, unsigned i, double rate,
                   char *err, size_t len)
{
    const sl_effect_param *p = &vt->params[i];
    char name[MAX_TOKEN];

    upper(name, p->name);
    return fail(err, len, SL_EINVAL,
                "%s: %s: missing, expected %s between %g and %g", vt->name,
                name, what(p->unit), (double)p->min, range_max(p, rate));
}

/* Parses one "NAME ARG..." segment of `len` characters. */
static int parse_one(const char *s, size_t len, double rate, parsed *out,
                     char *err, size_t elen)
{
    char tok[MAX_TOKEN], name[MAX_TOKEN] = "", args[256];
    unsigned n = 0;
    const char *end = s + len;

    out->vt = NULL;
    out->given = 0;
    while (s < end) {
        while (s < end && isspace((unsigned char)*s))
            s++;
        if (s == end)
            break;
        size_t t = 0;
        while (s < end && !isspace((unsigned char)*s) && t < MAX_TOKEN - 1)
            tok[t++] = *s++;
        tok[t] = '\0';
        if (s < end && !isspace((unsigned char)*s))
            return fail(err, elen, SL_EINVAL, "%s%sargument too long: '%s...'",
                        name, *name ? ": " : "", tok);
        if (n++ == 0) {
            memcpy(name, tok, t + 1);
            out->vt = sl_effect_find(name);
            if (out->vt == NULL)
                return fail(err, elen, SL_ENOTFOUND,
                            "%s: unknown effect", name);
            for (unsigned i = 0; i < out->vt->n_params; i++)
                out->values[i] = out->vt->params[i].def;
            continue;
        }
        if (out->given == out->vt->n_params) {
            usage(out->vt, args, sizeof args);
            return fail(err, elen, SL_EINVAL,
                        "%s: too many arguments: expected %s, got '%s'", name,
                        args[0] ? args : "none", tok);
        }
        int e = parse_arg(out->vt, out->given, tok, rate,
                          &out->values[out->given], err, elen);
        if (e != SL_OK)
            return e;
        out->given++;
    }
    if (out->vt == NULL)
        return fail(err, elen, SL_EINVAL, "expected an effect name");
    if (out->given < out->vt->n_required)
        return missing(out->vt, out->given, rate, err, elen);
    return SL_OK;
}

/* Creates the nodes for the parsed effects and appends them; lock held. */
static int apply(sl_chain *chain, const parsed *list, size_t count)
{
    sl_chain_node **nodes = calloc(count ? count : 1, sizeof *nodes);
    size_t made = 0;
    int err = SL_ENOMEM;

    if (nodes == NULL)
        return SL_ENOMEM;
    for (; made < count; made++) {
        err = sl__chain_node_new(chain, list[made].vt->name, &nodes[made]);
        if (err != SL_OK)
            goto fail;
        for (unsigned i = 0; i < list[made].given; i++)
            sl__chain_node_preset(nodes[made], i, list[made].values[i]);
    }
    err = sl__chain_insert_nodes(chain, chain->n, nodes, count);
    if (err != SL_OK)
        goto fail;
    free(nodes);
    return SL_OK;

fail:
    for (size_t i = 0; i < made; i++)
        sl__chain_node_free(nodes[i]);
    free(nodes);
    return err;
}

int sl_chain_parse(sl_chain *chain, const char *text, char *err,
                   size_t err_len)
{
    parsed *list;
    size_t count = 0, cap;
    int rc = SL_OK;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (chain == NULL || text == NULL)
        return fail(err, err_len, SL_EINVAL, "no chain or no text");
    cap = chain->cfg.max_effects;
    list = calloc(cap, sizeof *list);
    if (list == NULL)
        return fail(err, err_len, SL_ENOMEM, "out of memory");
    for (const char *s = text;;) {
        const char *semi = strchr(s, ';');
        size_t len = semi != NULL ? (size_t)(semi - s) : strlen(s);
        size_t blank = strspn(s, " \t\r\n");
        if (blank < len) { /* empty segments (";;", a trailing ';') skip */
            if (count == cap) {
                rc = fail(err, err_len, SL_EFULL,
                          "too many effects: a chain holds at most %u",
                          chain->cfg.max_effects);
                break;
            }
            rc = parse_one(s, len, chain->cfg.sample_rate, &list[count++],
                           err, err_len);
            if (rc != SL_OK)
                break;
        }
        if (semi == NULL)
            break;
        s = semi + 1;
    }
    if (rc == SL_OK && count == 0)
        rc = fail(err, err_len, SL_EINVAL, "expected an effect name");
    if (rc == SL_OK) {
        pthread_mutex_lock(&chain->lock);
        rc = apply(chain, list, count);
        pthread_mutex_unlock(&chain->lock);
        if (rc == SL_EFULL)
            fail(err, err_len, rc, "too many effects: a chain holds at most %u",
                 chain->cfg.max_effects);
        else if (rc != SL_OK)
            fail(err, err_len, rc, "%s", sl_strerror(rc));
    }
    free(list);
    return rc;
}
